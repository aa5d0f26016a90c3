/* Shared per-backend test harness for the backend op tests: the tester state, check
 * counting, the splitmix64 test-data generator, and guarded device buffers (make_buf
 * uploads into a range surrounded by GUARD cells, fetch downloads it and checks that
 * the guard cells were left alone). Every function is static; include it once per test. */
#ifndef LT_TESTS_BACKEND_HARNESS_H
#define LT_TESTS_BACKEND_HARNESS_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "backend.h"

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
    lt_status st = be->ops->buf_alloc(be, total, &b);
    if (st == LT_OK) st = be->ops->fill(be, b, 0, total, GUARD);
    if (st == LT_OK && data) st = be->ops->upload(be, b, off, data, n);
    if (st != LT_OK) {
        check(t, 0, "%s: making a buffer of %zu: %s", what, total, be->error);
        be->ops->buf_free(be, b);
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
    lt_status st = be->ops->download(be, b, 0, all, total);
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

#endif /* LT_TESTS_BACKEND_HARNESS_H */
