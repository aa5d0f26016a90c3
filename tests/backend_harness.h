/* Shared per-backend test harness for the backend op tests: the tester state, check
 * counting, the splitmix64 test-data generator, guarded device buffers (make_buf
 * uploads into a range surrounded by GUARD cells, fetch downloads it and checks that
 * the guard cells were left alone), and run_backends, which runs a test's checks on the
 * CPU backend and on each OpenCL device. Every function is static; include it once per
 * test. */
#ifndef LT_TESTS_BACKEND_HARNESS_H
#define LT_TESTS_BACKEND_HARNESS_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "backend/dispatch.h"

/* State of one run (a backend's, or host-only checks' with be == NULL). */
typedef struct tester {
    lt_backend *be;  /* backend under test, or NULL                 */
    char tag[32];    /* "host", "cpu", "opencl:0", ...              */
    int is_cpu;      /* CPU-only checks (aliasing, threads) apply   */
    uint64_t rng;    /* test-data generator state                   */
    int pass, fail;  /* check counts                                */
} tester;

/* Counts a check; prints it only when it failed. */
static int check(tester *t, int ok, const char *fmt, ...)
{
    if (ok) {
        t->pass++;
        return 1;
    }
    va_list ap;
    va_start(ap, fmt);
    printf("FAIL [%s] ", t->tag);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
    t->fail++;
    return 0;
}

/* splitmix64 step. */
static uint64_t next_u64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform double in [lo, hi) from the tester's generator. */
static inline double drand(tester *t, double lo, double hi)
{
    return lo + (hi - lo) * (double)(next_u64(&t->rng) >> 11) / 9007199254740992.0;
}

/* n floats uniform in [lo, hi) (malloc'd, at least one element). */
static inline float *rand_floats(tester *t, size_t n, double lo, double hi)
{
    float *a = malloc((n ? n : 1) * sizeof *a);
    for (size_t i = 0; i < n; i++) a[i] = (float)drand(t, lo, hi);
    return a;
}

/* Guard value written around every buffer's range; outputs must leave it alone. */
#define GUARD 1234.5f
/* Guard cells after each range. */
#define TAIL 5

/* A buffer of off + n + TAIL elements, all GUARD, with data (when not NULL) uploaded
 * at off. NULL on failure (recorded). */
static lt_buf *make_buf(tester *t, const char *what, size_t off, const void *data, size_t n)
{
    lt_backend *be = t->be;
    lt_buf *b = NULL;
    size_t total = off + n + TAIL;
    lt_status st = lt_be_buf_alloc(be, total, &b);
    if (st == LT_OK) st = lt_be_fill(be, b, 0, total, GUARD);
    if (st == LT_OK && data) st = lt_be_upload(be, b, off, data, n);
    if (st != LT_OK) {
        check(t, 0, "%s: making a buffer of %zu: %s", what, total, be->error);
        lt_be_buf_free(be, b);
        return NULL;
    }
    return b;
}

/* Downloads b's range [off, off+n) into out and checks the guard cells around it;
 * geo ("" for none) follows what in failure messages. 0 on failure (recorded). */
static int fetch(tester *t, const char *what, const char *geo, const lt_buf *b, size_t off, void *out, size_t n)
{
    lt_backend *be = t->be;
    const char *sep = *geo ? " " : "";
    size_t total = off + n + TAIL;
    float *all = malloc(total * sizeof *all);
    lt_status st = lt_be_download(be, b, 0, all, total);
    if (!check(t, st == LT_OK, "%s%s%s: download: %s", what, sep, geo, be->error)) {
        free(all);
        return 0;
    }
    memcpy(out, all + off, n * sizeof *all);
    size_t bad = 0;
    for (size_t i = 0; i < total; i++)
        if ((i < off || i >= off + n) && memcmp(&all[i], &(float){GUARD}, sizeof(float)) != 0) bad++;
    free(all);
    return check(t, bad == 0, "%s%s%s: %zu guard cells outside the output range were written", what, sep, geo,
                 bad);
}

/* Totals of check counts over several testers. */
typedef struct check_totals {
    int pass, fail;
} check_totals;

/* One backend's checks: t->be is open and t->tag names it; cpu is the CPU backend to
 * compare with, NULL during the CPU backend's own run or when it failed to open. */
typedef void (*backend_checks)(tester *t, lt_backend *cpu, void *ctx);

/* How run_backends runs a test's checks. */
typedef struct backend_run {
    backend_checks checks; /* called once per backend that opened                  */
    void *ctx;             /* passed on to checks                                   */
    uint64_t seed;         /* every tester's rng                                    */
    int cpu_threads;       /* lt_cpu_backend_open's threads (0: OpenMP's default)   */
    int summary;           /* print "[tag] P passed, F failed" after the CPU
                              backend's checks and after each OpenCL device         */
} backend_run;

/* Opens the CPU backend (tag "cpu", is_cpu set) and runs r->checks on it, then each
 * OpenCL device in turn (tag "opencl:N"; "SKIP no OpenCL device" when there is none),
 * destroying each device's backend after its checks and the CPU backend last. A backend
 * that fails to open counts as one failed check. Returns the counts of every run. */
static check_totals run_backends(const backend_run *r)
{
    check_totals tot = {0, 0};
    char err[1024];
    tester c = {.tag = "cpu", .is_cpu = 1, .rng = r->seed};
    if (lt_cpu_backend_open(&c.be, r->cpu_threads, err, sizeof err) != LT_OK) {
        c.be = NULL;
        check(&c, 0, "open: %s", err);
    } else {
        printf("backend cpu: %s\n", c.be->device_name);
        r->checks(&c, NULL, r->ctx);
        if (r->summary) printf("[%s] %d passed, %d failed\n", c.tag, c.pass, c.fail);
    }
    tot.pass += c.pass;
    tot.fail += c.fail;
#ifdef LT_HAVE_OPENCL
    int ndev = lt_opencl_list_devices(NULL, 0);
    lt_opencl_device_info *infos = calloc(ndev > 0 ? (size_t)ndev : 1, sizeof *infos);
    ndev = lt_opencl_list_devices(infos, ndev);
    if (ndev == 0) printf("SKIP no OpenCL device\n");
    for (int i = 0; i < ndev; i++) {
        tester o = {.rng = r->seed};
        snprintf(o.tag, sizeof o.tag, "opencl:%d", i);
        printf("device opencl:%d: %s (%s, %s)\n", i, infos[i].name, infos[i].platform,
               infos[i].is_gpu ? "GPU" : "not a GPU");
        if (lt_opencl_backend_open(&o.be, i, err, sizeof err) != LT_OK) {
            check(&o, 0, "open: %s", err);
        } else {
            r->checks(&o, c.be, r->ctx);
            lt_be_destroy(o.be);
        }
        if (r->summary) printf("[%s] %d passed, %d failed\n", o.tag, o.pass, o.fail);
        tot.pass += o.pass;
        tot.fail += o.fail;
    }
    free(infos);
#endif
    if (c.be) lt_be_destroy(c.be);
    return tot;
}

#endif /* LT_TESTS_BACKEND_HARNESS_H */
