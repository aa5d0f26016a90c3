/* How many threads a parallel op of the CPU backend takes, under load.
 *
 * Every op is an OpenMP region whose threads meet at a barrier at its end. When another
 * process keeps a core busy, the kernel deschedules one of the team for a time slice
 * (milliseconds) and every region waits for it at the barrier, while the waiting threads
 * spin and take CPU time themselves: a training step opens tens of regions, and on two
 * cores with one busy process two threads ran several times slower than one (README).
 *
 * The governor measures that harm directly: every 50 ms it reads how long this process's
 * threads waited, runnable, for a CPU (the run delay in /proc/self/task/TID/schedstat,
 * which counts only the CPUs this process runs on, whatever else the machine does). When
 * its threads spent more than LT_GOV_WAITING of their runnable time waiting in two
 * periods in a row, the team is larger than the CPUs it gets: it shrinks by the number
 * of threads that waited on average, at least one (to 1 on two cores). The share, not
 * the count, decides: when the ops are short and the threads sleep between them, few
 * wait at a time, yet each region still waits for a descheduled one. After a back-off
 * (2 s, doubling to 8 s while the load lasts) it tries the whole team again for 20 ms and
 * keeps it when nothing waits. The first period is 20 ms too: each such period at the
 * whole team under load runs at a fraction of one thread's speed. Where schedstat cannot
 * be read (not Linux, or a kernel without it), the team stays whole. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cpu_internal.h"

#define LT_GOV_PERIOD_NS 50000000ull      /* between samples                         */
#define LT_GOV_SHORT_NS 20000000ull       /* the first period, and a trial's         */
#define LT_GOV_BACKOFF_NS 2000000000ull   /* first wait before trying the whole team */
#define LT_GOV_BACKOFF_MAX_NS 8000000000ull
#define LT_GOV_WAITING 0.1                /* share of runnable time spent waiting    */

/* Monotonic nanoseconds. */
static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* Sum of the run delays (ns runnable but not running) of this process's threads, and of
 * their run times in *run; 0 with *ok = 0 when they cannot be read. */
static uint64_t process_run_delay(uint64_t *run_sum, int *ok)
{
    *ok = 0;
    *run_sum = 0;
    DIR *d = opendir("/proc/self/task");
    if (!d) return 0;
    uint64_t sum = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        char path[64];
        snprintf(path, sizeof path, "/proc/self/task/%.20s/schedstat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f) continue; /* the thread just ended */
        unsigned long long run = 0, delay = 0;
        if (fscanf(f, "%llu %llu", &run, &delay) == 2) {
            sum += delay;
            *run_sum += run;
            *ok = 1;
        }
        fclose(f);
    }
    closedir(d);
    return sum;
}

/* CPUs a cgroup v2 CPU quota allows this process (cpu.max "QUOTA PERIOD", rounded up),
 * or 0 when there is none or it cannot be read. */
int lt_cpu_quota_cpus(void)
{
    char line[512], path[600];
    const char *rel = "";
    FILE *f = fopen("/proc/self/cgroup", "r");
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "0::", 3) == 0) { /* the unified hierarchy's path */
            line[strcspn(line, "\n")] = 0;
            rel = line + 3;
            break;
        }
    int cpus = 0;
    for (int i = 0; i < 2 && !cpus; i++) { /* the process's own cgroup, then the root's */
        snprintf(path, sizeof path, "/sys/fs/cgroup%s/cpu.max", i == 0 ? rel : "");
        FILE *q = fopen(path, "r");
        unsigned long long quota = 0, period = 0;
        if (q && fscanf(q, "%llu %llu", &quota, &period) == 2 && period > 0 && quota > 0)
            cpus = (int)((quota + period - 1) / period);
        if (q) fclose(q);
    }
    if (f) fclose(f);
    return cpus;
}

/* Starts g with the whole team of cap threads. */
void lt_cpu_governor_init(lt_cpu_governor *g, int cap)
{
    g->cap = cap < 1 ? 1 : cap;
    g->team = g->cap;
    g->probing = 0;
    g->strikes = 0;
    g->backoff_ns = LT_GOV_BACKOFF_NS;
    g->probe_at = 0;
    g->last_ns = 0;
    g->last_delay = 0;
    g->last_run = 0;
    g->next_ns = 0;
    g->disabled = g->cap == 1;
}

/* Applies one sample taken at now (cpu_internal.h). */
void lt_cpu_governor_judge(lt_cpu_governor *g, double waiting, double share, uint64_t now)
{
    int busy = share > LT_GOV_WAITING;
    int fewer = (int)(waiting + 0.5) < 1 ? 1 : (int)(waiting + 0.5), trial = g->probing;
    if (g->probing) { /* the whole team's trial period */
        g->probing = 0;
        if (!busy) {
            g->backoff_ns = LT_GOV_BACKOFF_NS;
            return;
        }
        g->backoff_ns = g->backoff_ns * 2 > LT_GOV_BACKOFF_MAX_NS ? LT_GOV_BACKOFF_MAX_NS : g->backoff_ns * 2;
    }
    /* outside a trial, two busy periods in a row: a lone one is often a daemon's burst */
    g->strikes = busy ? g->strikes + 1 : 0;
    if (busy && (g->strikes >= 2 || trial)) {
        g->strikes = 0;
        g->team = g->team - fewer < 1 ? 1 : g->team - fewer;
        g->probe_at = now + g->backoff_ns;
    } else if (g->team < g->cap && now >= g->probe_at) {
        g->team = g->cap;
        g->probing = 1;
    }
}

/* The team a parallel op takes now (cpu_internal.h). */
int lt_cpu_governor_team(lt_cpu_governor *g)
{
    if (g->disabled) return g->team;
    uint64_t now = now_ns();
    if (now < g->next_ns) return g->team;
    int ok = 0;
    uint64_t run = 0, delay = process_run_delay(&run, &ok);
    if (!ok) { /* no schedstat here: the whole team, as set */
        g->disabled = 1;
        g->team = g->cap;
        return g->team;
    }
    if (g->last_ns && now > g->last_ns && delay >= g->last_delay && run >= g->last_run) {
        uint64_t waited = delay - g->last_delay, ran = run - g->last_run;
        lt_cpu_governor_judge(g, (double)waited / (double)(now - g->last_ns),
                              waited + ran ? (double)waited / (double)(waited + ran) : 0.0, now);
    }
    g->next_ns = now + (g->probing || !g->last_ns ? LT_GOV_SHORT_NS : LT_GOV_PERIOD_NS);
    g->last_ns = now;
    g->last_delay = delay;
    g->last_run = run;
    return g->team;
}
