/* The one test harness, included once by every test program. It holds:
 * - checks: a tester (one run's counts, its backend, its test-data generator), check()
 *   and CHECK() that count a check and print it when it failed, and DONE(), the final
 *   "N passed, M failed" line and exit status;
 * - test data: the splitmix64 generator and arrays drawn from it;
 * - files and fixtures: whole-file reads and writes, a temporary fixture folder removed
 *   again when every check passed, a context opened for the test, EXPECT for a status
 *   and the context's message;
 * - backends: run_backends, which runs a test's checks on the CPU backend and on each
 *   OpenCL device, with the CPU backend at hand to compare with;
 * - buffers: guarded device buffers (make_buf uploads into a range surrounded by GUARD
 *   cells, fetch downloads it and checks that the guard cells were left alone), and
 *   run_slots / run_pair, which run an op on fresh guarded buffers on the backend under
 *   test and on the CPU backend;
 * - comparisons: relative errors against a double-precision reference and against the
 *   CPU backend's result, bit-for-bit comparisons, refused calls and their messages;
 * - finite differences: central_diff and a worst-case tracker, and (where model.h is
 *   included before this header) grad_check, which compares a model's backpropagated
 *   gradients with central differences of its loss.
 * Every function is static inline: a test uses what it needs. */
#ifndef LT_TESTS_HARNESS_H
#define LT_TESTS_HARNESS_H

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "backend/dispatch.h"
#include "backend/philox.h"

#if defined(__GNUC__)
#define HARNESS_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define HARNESS_PRINTF(f, a)
#endif

/* ------------------------------------------------------------------ checks */

/* One run's state: host-only checks (be == NULL) or one backend's. */
typedef struct tester {
    lt_backend *be;  /* backend under test, or NULL                                  */
    lt_backend *cpu; /* CPU backend to compare with; NULL on the CPU backend's run     */
    char tag[32];    /* "host", "cpu", "opencl:0", ...                               */
    int is_cpu;      /* be is the CPU backend (thread-count checks apply)            */
    int device;      /* OpenCL device index, or -1                                   */
    int verbose;     /* print passing checks too                                     */
    uint64_t rng;    /* test-data generator state                                    */
    int pass, fail;  /* check counts                                                 */
} tester;

/* The program's totals: CHECK counts here, and every backend run adds its counts. */
static tester harness_host = {.tag = "host", .device = -1, .rng = 1};

/* Counts a check; prints it when it failed (or always when t->verbose), with file and
 * line when file is not NULL, else with t's tag. Returns ok. */
static inline int check_v(tester *t, int ok, const char *file, int line, const char *fmt, va_list ap)
{
    if (ok) t->pass++;
    else t->fail++;
    if (ok && !t->verbose) return 1;
    if (file) printf("%s %s:%d: ", ok ? "PASS" : "FAIL", file, line);
    else printf("%s [%s] ", ok ? "PASS" : "FAIL", t->tag);
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
    return ok;
}

/* Counts a check of t's run; prints it when it failed. Returns ok. */
static inline int check(tester *t, int ok, const char *fmt, ...) HARNESS_PRINTF(3, 4);
static inline int check(tester *t, int ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ok = check_v(t, ok != 0, NULL, 0, fmt, ap);
    va_end(ap);
    return ok;
}

/* Counts a check of the program's totals, naming file and line when it failed. */
static inline int check_at(const char *file, int line, int ok, const char *fmt, ...) HARNESS_PRINTF(4, 5);
static inline int check_at(const char *file, int line, int ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ok = check_v(&harness_host, ok != 0, file, line, fmt, ap);
    va_end(ap);
    return ok;
}
/* The message's arguments are evaluated only when the check failed, after cond: they
 * may read what cond's call wrote (a function's arguments have no order). */
#define CHECK(cond, ...) ((cond) ? check_at(__FILE__, __LINE__, 1, "%s", "") : check_at(__FILE__, __LINE__, 0, __VA_ARGS__))

/* Prints the program's totals; the exit status (1 when a check failed). */
static inline int harness_done(void)
{
    printf("%d passed, %d failed\n", harness_host.pass, harness_host.fail);
    return harness_host.fail ? 1 : 0;
}
#define DONE() harness_done()

/* Frees every pointer of an array (NULL entries included). */
static inline void free_ptrs(void *const *p, size_t n)
{
    for (size_t i = 0; i < n; i++) free(p[i]);
}
/* Frees each of its arguments (any of them may be NULL). */
#define FREE_ALL(...) free_ptrs((void *const[]){__VA_ARGS__}, sizeof((void *const[]){__VA_ARGS__}) / sizeof(void *))

/* ------------------------------------------------------------------ test data */

/* splitmix64 step. */
static inline uint64_t next_u64(uint64_t *s)
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

/* Uniform integer in [lo, hi]. */
static inline int irand(tester *t, int lo, int hi)
{
    return lo + (int)(next_u64(&t->rng) % (uint64_t)(hi - lo + 1));
}

/* n floats uniform in [lo, hi) (malloc'd, at least one element). */
static inline float *rand_floats(tester *t, size_t n, double lo, double hi)
{
    float *a = malloc((n ? n : 1) * sizeof *a);
    for (size_t i = 0; i < n; i++) a[i] = (float)drand(t, lo, hi);
    return a;
}

/* n copies of v (malloc'd, at least one element). */
static inline float *const_floats(size_t n, float v)
{
    float *a = malloc((n ? n : 1) * sizeof *a);
    for (size_t i = 0; i < n; i++) a[i] = v;
    return a;
}

/* n zeroed doubles (malloc'd, at least one element). */
static inline double *dzeros(size_t n) { return calloc(n ? n : 1, sizeof(double)); }

/* n doubles converted from floats (malloc'd, at least one element). */
static inline double *to_doubles(const float *a, size_t n)
{
    double *d = malloc((n ? n : 1) * sizeof *d);
    for (size_t i = 0; i < n; i++) d[i] = a[i];
    return d;
}

/* ------------------------------------------------------------------ files and fixtures */

/* Writes len bytes to path; 0 on success. */
static inline int write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = fwrite(data, 1, len, f) == len;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

/* Reads up to cap bytes of path into buf; the count read (0 on failure). */
static inline size_t read_bytes(const char *path, void *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

/* Reads a whole file into *out (malloc'd, one byte more than read); its size (0 on
 * failure, *out then NULL). */
static inline size_t read_whole(const char *path, unsigned char **out)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    long n = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (n < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return 0;
    }
    *out = malloc((size_t)n + 1);
    size_t got = *out ? fread(*out, 1, (size_t)n, f) : 0;
    fclose(f);
    return got;
}

/* Removes dir and everything below it. */
static inline void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char p[1200];
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) >= (int)sizeof p) continue;
        struct stat sb;
        if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) remove_tree(p);
        else remove(p);
    }
    closedir(d);
    rmdir(dir);
}

/* Whether the 8-bit RGB pixel p is within tol of (r, g, b) in every channel. */
static inline int near_rgb(const unsigned char *p, int r, int g, int b, int tol)
{
    return abs(p[0] - r) <= tol && abs(p[1] - g) <= tol && abs(p[2] - b) <= tol;
}

/* Seconds on the monotonic clock (for the benchmarks). */
static inline double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A test's fixture folder and the context its checks use. */
typedef struct fixture {
    char dir[512];
    lt_ctx *ctx;
} fixture;

/* Makes a fresh folder $TMPDIR/latent-test-NAME-XXXXXX (/tmp without TMPDIR) for f;
 * 0 on failure (recorded). */
static inline int fixture_open(fixture *f, const char *name)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(f->dir, sizeof f->dir, "%s/latent-test-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", name);
    return CHECK(mkdtemp(f->dir) != NULL, "mkdtemp %s: %s", f->dir, strerror(errno));
}

/* The path of fixture file name (dir/name) into buf; buf. */
static inline const char *fx(const fixture *f, char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", f->dir, name);
    return buf;
}

/* Removes the fixture folder when every check so far passed; else says where it is. */
static inline void fixture_close(const fixture *f)
{
    if (harness_host.fail == 0) remove_tree(f->dir);
    else printf("fixtures kept in %s\n", f->dir);
}

/* Opens a context on device (NULL: the one LATENT_DEVICE names) and says which it is;
 * NULL on failure (recorded). */
static inline lt_ctx *harness_ctx(const char *device)
{
    lt_ctx *ctx = NULL;
    char err[512];
    if (!CHECK(lt_ctx_open(&ctx, device, err, sizeof err) == LT_OK, "cannot open a context on %s: %s",
               device ? device : "LATENT_DEVICE's device", err))
        return NULL;
    printf("device: %s (%s)\n", lt_ctx_backend(ctx), lt_ctx_device(ctx));
    return ctx;
}

/* A group of checks on a fixture folder and its context. */
typedef void (*fixture_group)(fixture *f);

/* Runs the n groups on a fresh fixture folder NAME and a CPU context (no device to wait
 * for), closes both and gives DONE()'s exit status. */
static inline int run_fixture_groups(const char *name, const fixture_group *groups, size_t n)
{
    fixture f;
    if ((f.ctx = harness_ctx("cpu")) && fixture_open(&f, name)) {
        for (size_t i = 0; i < n; i++) groups[i](&f);
        fixture_close(&f);
    }
    lt_ctx_close(f.ctx);
    return DONE();
}

/* Whether the context's message contains needle. */
static inline int says(const lt_ctx *ctx, const char *needle) { return strstr(lt_ctx_error(ctx), needle) != NULL; }

/* Checks that got is want and that the context's message contains needle (when not
 * NULL); 1 when both hold. */
static inline int expect_at(const char *file, int line, const lt_ctx *ctx, lt_status got, lt_status want,
                            const char *needle, const char *what)
{
    int ok = check_at(file, line, got == want, "%s: status %s, expected %s (message: %s)", what,
                      lt_status_name(got), lt_status_name(want), lt_ctx_error(ctx));
    if (needle)
        ok &= check_at(file, line, says(ctx, needle), "%s: message \"%s\" does not contain \"%s\"", what,
                       lt_ctx_error(ctx), needle);
    return ok;
}
#define EXPECT(ctx, got, want, needle, what) expect_at(__FILE__, __LINE__, (ctx), (got), (want), (needle), (what))

/* ------------------------------------------------------------------ backends */

/* Opens a CPU backend of `threads` threads (0: OpenMP's default); NULL on failure
 * (recorded in t). */
static inline lt_backend *open_cpu(tester *t, int threads)
{
    lt_backend *be = NULL;
    char err[1024];
    if (!check(t, lt_cpu_backend_open(&be, threads, err, sizeof err) == LT_OK, "open cpu (%d threads): %s",
               threads, err))
        return NULL;
    return be;
}

/* One backend's checks: t->be is open, t->tag names it and t->cpu is the CPU backend to
 * compare with (NULL during the CPU backend's own run, or when it failed to open). */
typedef void (*backend_checks)(tester *t, void *ctx);

/* How run_backends runs a test's checks. */
typedef struct backend_run {
    backend_checks checks; /* called once per backend that opened                 */
    void *ctx;             /* passed on to checks                                  */
    uint64_t seed;         /* every tester's rng                                   */
    int cpu_threads;       /* the CPU backend's threads (0: OpenMP's default)      */
    int verbose;           /* print passing checks too                             */
} backend_run;

/* Prints a run's tally and adds it to the program's totals. */
static inline void harness_tally(const tester *t)
{
    printf("[%s] %d passed, %d failed\n", t->tag, t->pass, t->fail);
    fflush(stdout);
    harness_host.pass += t->pass;
    harness_host.fail += t->fail;
}

/* Runs r->checks on the CPU backend (tag "cpu"), then on each OpenCL device in turn
 * (tag "opencl:N"; "SKIP no OpenCL device" when there is none) with the CPU backend as
 * t->cpu, destroying each device's backend after its checks and the CPU backend last. A
 * backend that fails to open counts as one failed check. Each run's tally is printed
 * and added to the program's totals. */
static inline void run_backends(const backend_run *r)
{
    tester c = {.tag = "cpu", .is_cpu = 1, .device = -1, .verbose = r->verbose, .rng = r->seed};
    c.be = open_cpu(&c, r->cpu_threads);
    if (c.be) {
        printf("backend cpu: %s\n", c.be->device_name);
        r->checks(&c, r->ctx);
    }
    harness_tally(&c);
#ifdef LT_HAVE_OPENCL
    int ndev = lt_opencl_list_devices(NULL, 0);
    lt_opencl_device_info *infos = calloc(ndev > 0 ? (size_t)ndev : 1, sizeof *infos);
    ndev = lt_opencl_list_devices(infos, ndev);
    if (ndev == 0) printf("SKIP no OpenCL device\n");
    for (int i = 0; i < ndev; i++) {
        tester o = {.cpu = c.be, .device = i, .verbose = r->verbose, .rng = r->seed};
        snprintf(o.tag, sizeof o.tag, "opencl:%d", i);
        printf("device opencl:%d: %s (%s, %s, %s)\n", i, infos[i].name, infos[i].platform, infos[i].version,
               infos[i].is_gpu ? "GPU" : "not a GPU");
        char err[1024];
        if (check(&o, lt_opencl_backend_open(&o.be, i, err, sizeof err) == LT_OK, "open: %s", err)) {
            r->checks(&o, r->ctx);
            lt_be_destroy(o.be);
        }
        harness_tally(&o);
    }
    free(infos);
#endif
    if (c.be) lt_be_destroy(c.be);
}

/* A tester on t's CPU backend (t->cpu), for the CPU's side of a comparison; its counts
 * go back to t with twin_done. */
static inline tester cpu_twin(const tester *t)
{
    tester c = {.be = t->cpu, .is_cpu = 1, .device = -1, .verbose = t->verbose};
    snprintf(c.tag, sizeof c.tag, "cpu (vs %.20s)", t->tag);
    return c;
}

/* Adds the twin's counts to t's. */
static inline void twin_done(tester *t, const tester *twin)
{
    t->pass += twin->pass;
    t->fail += twin->fail;
}

/* ------------------------------------------------------------------ buffers */

/* Guard value written around every buffer's range; outputs must leave it alone. */
#define GUARD 1234.5f
/* Guard cells after each range. */
#define TAIL 5

/* A buffer of off + n + TAIL elements, all GUARD, with data (when not NULL) uploaded
 * at off. NULL on failure (recorded). */
static inline lt_buf *make_buf(tester *t, const char *what, size_t off, const void *data, size_t n)
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

/* Count of the cells of all[0, total) outside [off, off + n) that are not GUARD. */
static inline size_t guards_written(const float *all, size_t total, size_t off, size_t n)
{
    size_t bad = 0;
    for (size_t i = 0; i < total; i++)
        if ((i < off || i >= off + n) && memcmp(&all[i], &(float){GUARD}, sizeof(float)) != 0) bad++;
    return bad;
}

/* Downloads b's range [off, off+n) into out and checks the guard cells around it;
 * geo ("" for none) follows what in failure messages. 0 on failure (recorded). */
static inline int fetch(tester *t, const char *what, const char *geo, const lt_buf *b, size_t off, void *out,
                        size_t n)
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
    size_t bad = guards_written(all, total, off, n);
    free(all);
    return check(t, bad == 0, "%s%s%s: %zu guard cells outside the output range were written", what, sep, geo,
                 bad);
}

/* Frees count buffers of t's backend (NULL entries are fine). */
static inline void free_bufs(tester *t, lt_buf *const *b, int count)
{
    for (int i = 0; i < count; i++) lt_be_buf_free(t->be, b[i]);
}
/* Frees each of its buffers of t's backend (any of them may be NULL). */
#define FREE_BUFS(t, ...) \
    free_bufs((t), (lt_buf *const[]){__VA_ARGS__}, (int)(sizeof((lt_buf *const[]){__VA_ARGS__}) / sizeof(lt_buf *)))

/* One buffer of an op run: n elements at offset off of a guarded buffer, uploaded from
 * in (NULL: left GUARD). */
typedef struct slot {
    const void *in; /* initial contents, or NULL */
    size_t n;       /* elements                  */
    size_t off;     /* offset of the range       */
} slot;

/* Buffers an op run may have. */
#define MAX_SLOTS 8

/* An op under test, issued on buffers b[0..] made from the slots. */
typedef lt_status (*op_fn)(lt_backend *be, lt_buf *const *b, const void *params);

/* Makes the slots' guarded buffers on t->be, runs fn, downloads slot i into outs[i]
 * (when outs and outs[i] are not NULL; the guard cells checked) and frees the buffers.
 * 0 on failure (recorded under what). */
static inline int run_slots(tester *t, const char *what, const slot *s, int ns, op_fn fn, const void *p,
                            void *const *outs)
{
    lt_buf *b[MAX_SLOTS] = {0};
    int ok = 1;
    for (int i = 0; i < ns && ok; i++) ok = (b[i] = make_buf(t, what, s[i].off, s[i].in, s[i].n)) != NULL;
    if (ok) {
        lt_status st = fn(t->be, b, p);
        ok = check(t, st == LT_OK, "%s: status %d: %s", what, (int)st, t->be->error);
    }
    for (int i = 0; i < ns && ok; i++)
        if (outs && outs[i]) ok = fetch(t, what, "", b[i], s[i].off, outs[i], s[i].n);
    free_bufs(t, b, ns);
    return ok;
}

/* run_slots on t's backend (outputs into outs) and, when t->cpu is there to compare
 * with, on it too (outputs into cpu_outs, allocated here for each outs[i] that is not
 * NULL; free them with free_outs). 1 when both ran; a failure is recorded. */
static inline int run_pair(tester *t, const char *what, const slot *s, int ns, op_fn fn, const void *p,
                           float *const *outs, float **cpu_outs)
{
    for (int i = 0; i < ns; i++) cpu_outs[i] = NULL;
    if (!run_slots(t, what, s, ns, fn, p, (void *const *)outs)) return 0;
    if (!t->cpu) return 1;
    for (int i = 0; i < ns; i++)
        if (outs[i]) cpu_outs[i] = malloc((s[i].n ? s[i].n : 1) * sizeof(float));
    tester c = cpu_twin(t);
    int ok = run_slots(&c, what, s, ns, fn, p, (void *const *)cpu_outs);
    twin_done(t, &c);
    return ok;
}

/* Frees ns outputs and sets them to NULL. */
static inline void free_outs(float **outs, int ns)
{
    for (int i = 0; i < ns; i++) {
        free(outs[i]);
        outs[i] = NULL;
    }
}

/* ------------------------------------------------------------------ comparisons */

/* Formats the printf-style arguments after fmt (the enclosing function's last named
 * parameter) into the char array what. */
#define FORMAT_WHAT(what, fmt)                  \
    do {                                        \
        va_list ap_;                            \
        va_start(ap_, fmt);                     \
        vsnprintf(what, sizeof what, fmt, ap_); \
        va_end(ap_);                            \
    } while (0)

/* Reduction tolerance for values summed over k terms (relative to the terms' magnitude). */
static inline double tol_k(size_t k) { return 2e-6 * sqrt((double)(k ? k : 1)) + 1e-6; }

/* |got - want| relative to the larger of |want| and mag (and 1e-30): equal values (NaN
 * and NaN, an infinity and itself) are 0, a NaN or an infinity against anything else
 * is infinite. */
static inline double rel_err(double got, double want, double mag)
{
    if (got == want || (isnan(got) && isnan(want))) return 0;
    if (isnan(got) || isnan(want) || isinf(got) || isinf(want)) return INFINITY;
    double den = fmax(fmax(fabs(want), mag), 1e-30);
    return fabs(got - want) / den;
}

/* The worst of a set of errors, and where it is. */
typedef struct maxerr {
    double err;       /* the worst error (NaN counts as infinite) */
    size_t at;        /* its index                                */
    double got, want; /* the values there                         */
} maxerr;

/* Notes error e of element i (got against want) when it is the worst so far. */
static inline void maxerr_note(maxerr *w, size_t i, double e, double got, double want)
{
    if (e <= w->err) return;
    w->err = isnan(e) ? INFINITY : e;
    w->at = i;
    w->got = got;
    w->want = want;
}

/* The worst rel_err of got against want (doubles in ref, or floats in reff when ref is
 * NULL), each relative to at least mag[i] (1 when mag is NULL). */
static inline maxerr worst_err(const float *got, const double *ref, const float *reff, const double *mag, size_t n)
{
    maxerr w = {0, 0, 0, 0};
    for (size_t i = 0; i < n; i++) {
        double want = ref ? ref[i] : (double)reff[i];
        maxerr_note(&w, i, rel_err(got[i], want, mag ? mag[i] : 1.0), got[i], want);
    }
    return w;
}

/* Checks got against the reference ref within tol (when ref is not NULL) and, when
 * cpu is given, against the CPU backend's result within 2 tol; errors are relative to
 * mag (see worst_err). The rest names the check, printf-style. 1 when all passed. */
static inline int expect_close(tester *t, const float *got, const float *cpu, const double *ref, const double *mag,
                               size_t n, double tol, const char *fmt, ...) HARNESS_PRINTF(8, 9);
static inline int expect_close(tester *t, const float *got, const float *cpu, const double *ref, const double *mag,
                               size_t n, double tol, const char *fmt, ...)
{
    char what[400];
    FORMAT_WHAT(what, fmt);
    int ok = 1;
    if (ref) {
        maxerr w = worst_err(got, ref, NULL, mag, n);
        ok &= check(t, w.err <= tol, "%s: max err %.3g (tol %.3g) at element %zu: got %.9g, want %.9g", what, w.err,
                    tol, w.at, w.got, w.want);
    }
    if (cpu) {
        maxerr w = worst_err(got, NULL, cpu, mag, n);
        ok &= check(t, w.err <= 2 * tol, "%s vs cpu: max err %.3g (tol %.3g) at element %zu: got %.9g, cpu %.9g",
                    what, w.err, 2 * tol, w.at, w.got, w.want);
    }
    return ok;
}

/* The activation act of x in double, as lib/backend/backend.h defines it (softmax, a row
 * operation, is not one of these: x is returned). */
static inline double ref_act(lt_backend_act act, double x, double alpha)
{
    switch (act) {
    case LT_BACT_RELU: return x > 0 ? x : 0;
    case LT_BACT_LEAKY_RELU: return x > 0 ? x : alpha * x;
    case LT_BACT_ELU: return x > 0 ? x : alpha * expm1(x);
    case LT_BACT_SIGMOID: return 1 / (1 + exp(-x));
    case LT_BACT_TANH: return tanh(x);
    default: return x;
    }
}

/* Elements of a and b (n floats each) that differ bitwise; *first gets the first one's
 * index (when first is not NULL and there is one). */
static inline size_t bits_differ(const float *a, const float *b, size_t n, size_t *first)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof a[i]) != 0 && bad++ == 0 && first) *first = i;
    return bad;
}

/* Checks got against want bit for bit (when want is not NULL) and against the CPU
 * backend's result (when cpu is given). The rest names the check. 1 when all passed. */
static inline int expect_bits(tester *t, const float *got, const float *cpu, const float *want, size_t n,
                              const char *fmt, ...) HARNESS_PRINTF(6, 7);
static inline int expect_bits(tester *t, const float *got, const float *cpu, const float *want, size_t n,
                              const char *fmt, ...)
{
    char what[400];
    FORMAT_WHAT(what, fmt);
    int ok = 1;
    for (int k = 0; k < 2; k++) {
        const float *other = k ? cpu : want;
        size_t first = 0, bad = other ? bits_differ(got, other, n, &first) : 0;
        if (other)
            ok &= check(t, bad == 0, "%s%s: %zu of %zu elements differ bitwise, the first at %zu: %.9g against %.9g",
                        what, k ? " vs cpu" : "", bad, n, first, bad ? (double)got[first] : 0.0,
                        bad ? (double)other[first] : 0.0);
    }
    return ok;
}

/* <a, b> in double. */
static inline double dot(const float *a, const float *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

/* Checks that the call just made was refused: LT_ERR_ARG with a message that contains
 * needle (any message when needle is NULL). Clears the message for the next call. The
 * rest names the call. 1 when it was. */
static inline int expect_refused(tester *t, lt_status st, const char *needle, const char *fmt, ...)
    HARNESS_PRINTF(4, 5);
static inline int expect_refused(tester *t, lt_status st, const char *needle, const char *fmt, ...)
{
    char what[400];
    FORMAT_WHAT(what, fmt);
    const char *msg = lt_be_message(t->be);
    int ok = check(t, st == LT_ERR_ARG && msg[0] && (!needle || strstr(msg, needle)),
                   "%s -> LT_ERR_ARG%s%s%s: got status %d, \"%s\"", what, needle ? " \"" : "", needle ? needle : "",
                   needle ? "\"" : "", (int)st, t->be->error);
    t->be->error[0] = 0;
    return ok;
}

/* Checks that the call just made was refused with exactly the message want (the same
 * words on every backend: lib/backend/backend_check.c). Clears the message. */
static inline int expect_msg(tester *t, lt_status st, const char *want)
{
    int ok = check(t, st == LT_ERR_ARG && strcmp(lt_be_message(t->be), want) == 0, "\"%s\": got status %d, \"%s\"",
                   want, (int)st, t->be->error);
    t->be->error[0] = 0;
    return ok;
}

/* ------------------------------------------------------------------ finite differences */

/* Sets element i of a function's input to v and, when f is not NULL, evaluates the
 * function into *f. 0 on failure. */
typedef int (*fd_fn)(void *ctx, size_t i, float v, double *f);

/* The central difference at element i, whose value is x: (f(x + h) - f(x - h)) divided
 * by the step as rounded to float, into *fd; the element is set back to x. 0 when an
 * evaluation failed. */
static inline int central_diff(fd_fn fn, void *ctx, size_t i, float x, float h, double *fd)
{
    const float xp = x + h, xm = x - h;
    double fp = 0, fm = 0;
    int ok = fn(ctx, i, xp, &fp) && fn(ctx, i, xm, &fm);
    ok = fn(ctx, i, x, NULL) && ok;
    if (ok) *fd = (fp - fm) / ((double)xp - (double)xm);
    return ok;
}

#ifdef LT_MODEL_H
/* ------------------------------------------------------------------ models (model.h) */

/* A model's loss on a fixed batch, as grad_check perturbs its parameters. */
typedef struct model_loss {
    lt_model *m;
    size_t rows;
    const lt_buf *target;
    uint64_t seed;
} model_loss;

/* fd_fn over a model's parameters: sets parameter i to v and evaluates the loss (the
 * mean, as Keras reports it, with the layers' own losses) on the rows in acts[0]. */
static inline int model_loss_at(void *ctx, size_t i, float v, double *f)
{
    model_loss *l = ctx;
    lt_model *m = l->m;
    lt_backend *be = LT_BE(m);
    if (lt_be_upload(be, m->params, i, &v, 1) != LT_OK) return 0;
    if (!f) return 1;
    float sum = 0;
    if (lt_forward(m, l->rows, 1, l->seed, m->train.steps) != LT_OK) return 0;
    lt_be_loss(be, lt_loss_to_backend(m->train.loss), l->rows, (size_t)m->out_dim, m->ws.acts,
               m->ws.act_off[m->n_flat], l->target, 0, m->ws.loss, 0, 0.0f, NULL, 0);
    if (lt_add_layer_losses(m, l->rows, 1, l->seed, m->train.steps, 0) != LT_OK) return 0; /* KL, sparsity, L1 */
    lt_be_download(be, m->ws.loss, 0, &sum, 1);
    *f = (double)sum * lt_loss_scale(m->train.loss, l->rows, (size_t)m->out_dim);
    return 1;
}

/* Compares backprop gradients with central differences for every parameter. */
static inline void grad_check(const char *what, lt_model *m, lt_loss loss)
{
    lt_ctx *ctx = m->ctx;
    lt_backend *be = ctx->be;
    size_t rows = 4, in = (size_t)m->in_dim, out = (size_t)m->out_dim, np = m->n_params;
    lt_optimizer o = lt_optimizer_defaults(LT_SGD);
    if (lt_compile(m, loss, &o) != LT_OK || lt_workspace_reserve(m, rows, 1) != LT_OK) {
        CHECK(0, "%s: setup: %s", what, lt_ctx_error(ctx));
        return;
    }
    float *x = malloc(rows * in * 4), *t = malloc(rows * out * 4), *p = malloc(np * 4), *g = malloc(np * 4);
    for (size_t i = 0; i < rows * in; i++) x[i] = lt_philox_uniform(11, 0, i, -1, 1);
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < out; c++) {
            float u = lt_philox_uniform(12, 0, r * out + c, 0, 1);
            t[r * out + c] = loss == LT_LOSS_CCE ? (c == r % out ? 1.0f : 0.0f) : loss == LT_LOSS_MSE ? 2 * u - 1 : u;
        }
    lt_buf *tb;
    lt_be_buf_alloc(be, rows * out, &tb);
    lt_be_upload(be, tb, 0, t, rows * out);
    lt_be_upload(be, m->ws.acts, 0, x, rows * in);
    model_loss l = {m, rows, tb, 77};
    CHECK(lt_compute_grads(m, rows, tb, 0, 0, l.seed) == LT_OK, "%s: grads: %s", what, lt_ctx_error(ctx));
    lt_be_download(be, m->grads, 0, g, np);
    lt_be_download(be, m->params, 0, p, np);
    int bad = 0;
    maxerr w = {0, 0, 0, 0};
    for (size_t i = 0; i < np; i++) {
        /* A step that crosses a kink (ReLU at 0, a max pool's tie) disagrees; smaller
         * steps then leave the kink outside, where a wrong gradient still disagrees. */
        double fd = NAN, err = INFINITY;
        for (float h = 2e-3f; h >= 1e-4f && !(err <= 3e-2); h /= 4) {
            central_diff(model_loss_at, &l, i, p[i], h * fmaxf(1.0f, fabsf(p[i])), &fd);
            err = fabs(fd - (double)g[i]) / fmax(1e-2, fabs(fd) + fabs((double)g[i]));
        }
        maxerr_note(&w, i, err, g[i], fd);
        if (!(err <= 3e-2)) bad++;
    }
    CHECK(bad == 0, "%s: %d of %zu gradients disagree with finite differences (worst rel. err %.3g: parameter %zu, "
          "%.6g against %.6g)", what, bad, np, w.err, w.at, w.got, w.want);
    lt_be_buf_free(be, tb);
    FREE_ALL(x, t, p, g);
}
#endif /* LT_MODEL_H */

/* ------------------------------------------------------------------ small training sets
 * (only where latent.h's dataset calls are at hand: the model tests) */
#ifdef LATENT_H
/* n swiss-roll points scaled to about [-1, 1] (NULL on failure). */
static inline lt_dataset *roll_data(lt_ctx *ctx, size_t n)
{
    lt_dataset *roll = NULL, *x = NULL;
    lt_dataset_swiss_roll(ctx, n, 0.1f, 3, &roll);
    float *d = malloc(n * 3 * sizeof *d);
    for (size_t i = 0; d && roll && i < n * 3; i++) d[i] = lt_dataset_data(roll)[i] / 15.0f;
    if (d) lt_dataset_from_array(ctx, n, 3, d, NULL, &x);
    free(d);
    lt_dataset_free(roll);
    return x;
}

/* n gray 8x8 images with a bright 3x3 square each (NULL on failure). */
static inline lt_dataset *square_images(lt_ctx *ctx, size_t n)
{
    float *d = calloc(n * 64, sizeof *d);
    lt_dataset *x = NULL;
    for (size_t i = 0; d && i < n; i++) {
        int r = (int)(i % 5), c = (int)((i / 5) % 5);
        for (int y = r; y < r + 3; y++)
            for (int xx = c; xx < c + 3; xx++) d[i * 64 + (size_t)y * 8 + (size_t)xx] = 0.5f + 0.05f * (float)(i % 7);
    }
    if (d) lt_dataset_from_array(ctx, n, 64, d, NULL, &x);
    free(d);
    return x;
}
#endif

#endif /* LT_TESTS_HARNESS_H */
