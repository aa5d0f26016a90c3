/* The CPU backend's team under load (cpu_fallback/cpu_team.c): the governor's decisions
 * on given samples of waiting threads, and that a real backend reads its samples. */
#include "harness.h"
#include "../cpu_fallback/cpu_internal.h"

#define MS 1000000ull

int main(void)
{
    lt_cpu_governor g;
    lt_cpu_governor_init(&g, 4);
    CHECK(g.team == 4 && !g.disabled, "starts with the whole team: %d", g.team);
    lt_cpu_governor_judge(&g, 0.1, 0.05, 50 * MS);
    CHECK(g.team == 4, "5%% of the time waiting is no load: team %d", g.team);
    lt_cpu_governor_judge(&g, 0.15, 0.2, 75 * MS);
    CHECK(g.team == 4, "one busy period alone changes nothing: team %d", g.team);
    lt_cpu_governor_judge(&g, 0.15, 0.2, 100 * MS);
    CHECK(g.team == 3, "few waiting but a fifth of the time, twice: one thread fewer, team %d", g.team);
    lt_cpu_governor_init(&g, 4);
    lt_cpu_governor_judge(&g, 1.3, 0.3, 80 * MS);
    lt_cpu_governor_judge(&g, 1.3, 0.3, 100 * MS);
    CHECK(g.team == 3, "1.3 waiting: one thread fewer, team %d", g.team);
    lt_cpu_governor_judge(&g, 2.6, 0.5, 130 * MS);
    lt_cpu_governor_judge(&g, 2.6, 0.5, 150 * MS);
    CHECK(g.team == 1, "2.6 more waiting at 3: team %d (want 1)", g.team);
    lt_cpu_governor_judge(&g, 0.0, 0.0, 500 * MS);
    CHECK(g.team == 1 && !g.probing, "no trial before the back-off: team %d", g.team);
    lt_cpu_governor_judge(&g, 0.0, 0.0, 2150 * MS);
    CHECK(g.team == 4 && g.probing, "after 2 s the whole team on trial: team %d", g.team);
    lt_cpu_governor_judge(&g, 0.8, 0.3, 2170 * MS);
    CHECK(g.team == 3 && !g.probing && g.backoff_ns == 4000 * MS,
          "a failed trial: smaller again, back-off doubled (team %d, %llu ms)", g.team,
          (unsigned long long)(g.backoff_ns / MS));
    lt_cpu_governor_judge(&g, 0.0, 0.0, 5000 * MS);
    CHECK(g.team == 3, "no trial before the doubled back-off: team %d", g.team);
    lt_cpu_governor_judge(&g, 0.0, 0.0, 6200 * MS);
    CHECK(g.team == 4 && g.probing, "a trial after 4 s: team %d", g.team);
    lt_cpu_governor_judge(&g, 0.05, 0.02, 6220 * MS);
    CHECK(g.team == 4 && !g.probing && g.backoff_ns == 2000 * MS, "a good trial keeps the team, back-off reset");
    for (int i = 0; i < 10; i++) lt_cpu_governor_judge(&g, 3.0, 0.6, (7000 + 50 * (uint64_t)i) * MS);
    CHECK(g.team == 1, "never below one thread: team %d", g.team);

    lt_cpu_governor one;
    lt_cpu_governor_init(&one, 1);
    CHECK(one.disabled && lt_cpu_governor_team(&one) == 1, "one thread: nothing to govern");

    /* a live governor samples (on Linux with schedstat) and stays within 1..cap */
    lt_cpu_governor live;
    lt_cpu_governor_init(&live, 2);
    int t = lt_cpu_governor_team(&live);
    CHECK(t >= 1 && t <= 2, "a live governor's team is within 1..2: %d", t);
    return DONE();
}
