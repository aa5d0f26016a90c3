/* The CPU fallback's GEMM against a naive double-precision reference: all four
 * transpose combinations, sizes 1..~300 (odd ones included), element offsets,
 * leading dimensions wider than the matrices, alpha/beta variants, beta == 0 over NaN,
 * untouched padding, argument errors, and 1 vs 2 threads (results must be identical);
 * the portable and AVX2 micro-kernels are forced and checked too where the CPU would
 * otherwise pick a wider one.
 *
 * `test_cpu_gemm --bench` instead prints GFLOP/s for the MLP autoencoder's shapes. */
#include "../cpu_fallback/cpu_gemm.h"
#include "harness.h"

/* The state of the test data's generator. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
/* A small deterministic generator for test data (xorshift64*): the next 32 bits. */
static uint32_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545F4914F6CDD1Dull) >> 32);
}
/* Uniform in [-1, 1). */
static float rndf(void) { return (float)rnd() * (2.0f / 4294967296.0f) - 1.0f; }

/* One GEMM problem: shape, layout and scalars. */
typedef struct gemm_case {
    int ta, tb;
    size_t m, n, k;
    size_t lda, ldb, ldc;
    size_t aoff, boff, coff;
    float alpha, beta;
} gemm_case;

/* Elements a matrix of rows x cols with leading dimension ld spans from its first. */
static size_t span(size_t rows, size_t cols, size_t ld) { return rows ? (rows - 1) * ld + cols : 0; }

/* Checks out (a whole C buffer after the GEMM) against the double reference, and that
 * nothing outside the m x n window changed. */
static void check_result(const gemm_case *g, const char *who, const float *a, const float *b,
                         const float *c0, const float *out, size_t nc)
{
    /* error bound from the magnitudes: |err| <= gamma_(k+3) * (|alpha| sum|a||b| + |beta c|) */
    size_t bad = 0, first_i = 0, first_j = 0;
    for (size_t i = 0; i < g->m; i++) {
        for (size_t j = 0; j < g->n; j++) {
            double s = 0.0, mag = 0.0;
            for (size_t p = 0; p < g->k; p++) {
                double x = g->ta ? a[g->aoff + p * g->lda + i] : a[g->aoff + i * g->lda + p];
                double y = g->tb ? b[g->boff + j * g->ldb + p] : b[g->boff + p * g->ldb + j];
                s += x * y;
                mag += fabs(x * y);
            }
            double cold = c0[g->coff + i * g->ldc + j];
            double ref = g->alpha * s + (g->beta == 0.0f ? 0.0 : g->beta * cold);
            double bound = fabs(g->alpha) * mag + (g->beta == 0.0f ? 0.0 : fabs(g->beta * cold));
            double tol = 2.0 * (double)(g->k + 3) * 5.96e-8 * bound + 1e-30;
            if (!(fabs(out[g->coff + i * g->ldc + j] - ref) <= tol)) {
                if (!bad) { first_i = i; first_j = j; }
                bad++;
            }
        }
    }
    CHECK(bad == 0,
          "%s gemm %c%c m=%zu n=%zu k=%zu lda=%zu ldb=%zu ldc=%zu offs=%zu/%zu/%zu alpha=%g "
          "beta=%g: %zu wrong, first at (%zu, %zu)",
          who, g->ta ? 'T' : 'N', g->tb ? 'T' : 'N', g->m, g->n, g->k, g->lda, g->ldb, g->ldc,
          g->aoff, g->boff, g->coff, (double)g->alpha, (double)g->beta, bad, first_i, first_j);
    size_t clobbered = 0;
    for (size_t e = 0; e < nc; e++) {
        int inside = e >= g->coff && (e - g->coff) / g->ldc < g->m && (e - g->coff) % g->ldc < g->n;
        if (!inside && memcmp(&out[e], &c0[e], 4) != 0) clobbered++;
    }
    CHECK(clobbered == 0, "%s gemm m=%zu n=%zu ldc=%zu coff=%zu: %zu elements outside C changed",
          who, g->m, g->n, g->ldc, g->coff, clobbered);
}

/* Runs one case through the backends with 1 and 2 threads, and through lt_cpu_gemm
 * with the portable and AVX2 kernels forced, checking every result. */
static void run_case(lt_backend *be1, lt_backend *be2, const gemm_case *g)
{
    size_t ar = g->ta ? g->k : g->m, ac = g->ta ? g->m : g->k;
    size_t br = g->tb ? g->n : g->k, bc = g->tb ? g->k : g->n;
    size_t na = g->aoff + span(ar, ac, g->lda) + 3, nb = g->boff + span(br, bc, g->ldb) + 3;
    size_t nc = g->coff + span(g->m, g->n, g->ldc) + 3;
    float *a = malloc(na * 4), *b = malloc(nb * 4), *c0 = malloc(nc * 4);
    float *c1 = malloc(nc * 4), *c2 = malloc(nc * 4), *cv = malloc(nc * 4);
    for (size_t i = 0; i < na; i++) a[i] = rndf();
    for (size_t i = 0; i < nb; i++) b[i] = rndf();
    for (size_t i = 0; i < nc; i++) c0[i] = g->beta == 0.0f ? NAN : rndf();

    lt_backend *bes[2] = {be1, be2};
    float *outs[2] = {c1, c2};
    for (int t = 0; t < 2; t++) {
        lt_backend *be = bes[t];
        lt_buf *ba = NULL, *bb = NULL, *bc_ = NULL;
        lt_status st = lt_be_buf_alloc(be, na, &ba);
        if (st == LT_OK) st = lt_be_buf_alloc(be, nb, &bb);
        if (st == LT_OK) st = lt_be_buf_alloc(be, nc, &bc_);
        if (st == LT_OK) st = lt_be_upload(be, ba, 0, a, na);
        if (st == LT_OK) st = lt_be_upload(be, bb, 0, b, nb);
        if (st == LT_OK) st = lt_be_upload(be, bc_, 0, c0, nc);
        if (st == LT_OK)
            st = lt_be_gemm(be, g->ta, g->tb, g->m, g->n, g->k, g->alpha, ba, g->aoff, g->lda,
                               bb, g->boff, g->ldb, g->beta, bc_, g->coff, g->ldc);
        if (st == LT_OK) st = lt_be_download(be, bc_, 0, outs[t], nc);
        CHECK(st == LT_OK, "gemm %s: %s", lt_status_name(st), be->error);
        lt_be_buf_free(be, ba);
        lt_be_buf_free(be, bb);
        lt_be_buf_free(be, bc_);
    }
    check_result(g, "backend", a, b, c0, c1, nc);
    CHECK(memcmp(c1, c2, nc * 4) == 0, "gemm m=%zu n=%zu k=%zu: 1 and 2 threads differ",
          g->m, g->n, g->k);

    /* the other kernel variants this CPU can run (the default one was just tested) */
    static const lt_gemm_kernel variants[] = {LT_GEMM_GENERIC, LT_GEMM_AVX2};
    for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++) {
        const char *name = lt_cpu_gemm_kernel_name(variants[v]);
        if (strcmp(name, lt_cpu_gemm_kernel_name(LT_GEMM_AUTO)) == 0) continue;
        if (v > 0 && strcmp(name, lt_cpu_gemm_kernel_name(variants[0])) == 0) continue;
        lt_gemm_ws ws = {NULL, 0, variants[v]};
        memcpy(cv, c0, nc * 4);
        size_t failed = lt_cpu_gemm(&ws, 2, g->ta, g->tb, g->m, g->n, g->k, g->alpha, a + g->aoff,
                                    g->lda, b + g->boff, g->ldb, g->beta, cv + g->coff, g->ldc);
        CHECK(failed == 0, "lt_cpu_gemm (%s) failed to allocate %zu bytes", name, failed);
        check_result(g, name, a, b, c0, cv, nc);
        lt_gemm_ws_free(&ws);
    }
    FREE_ALL(a, b, c0, c1, c2, cv);
}

/* A case with tight leading dimensions and no offsets. */
static gemm_case plain(int ta, int tb, size_t m, size_t n, size_t k, float alpha, float beta)
{
    gemm_case g = {ta, tb, m, n, k, ta ? m : k, tb ? k : n, n, 0, 0, 0, alpha, beta};
    return g;
}

/* Argument errors come back as LT_ERR_ARG with a message, never a crash. */
static void check_errors(lt_backend *be)
{
    lt_buf *a = NULL, *c = NULL;
    CHECK(lt_be_buf_alloc(be, 100, &a) == LT_OK && lt_be_buf_alloc(be, 100, &c) == LT_OK,
          "alloc");
    lt_status st = lt_be_gemm(be, 0, 0, 10, 10, 10, 1.0f, a, 0, 5, a, 0, 10, 0.0f, c, 0, 10);
    CHECK(st == LT_ERR_ARG && be->error[0], "lda < k accepted (%d)", (int)st);
    st = lt_be_gemm(be, 0, 0, 10, 10, 10, 1.0f, a, 1, 10, a, 0, 10, 0.0f, c, 0, 10);
    CHECK(st == LT_ERR_ARG, "A past its buffer accepted (%d)", (int)st);
    st = lt_be_gemm(be, 0, 0, 11, 10, 10, 1.0f, a, 0, 10, a, 0, 10, 0.0f, c, 0, 10);
    CHECK(st == LT_ERR_ARG, "C past its buffer accepted (%d)", (int)st);
    st = lt_be_gemm(be, 0, 0, 2, 2, 2, 1.0f, a, 0, SIZE_MAX / 2, a, 0, 2, 0.0f, c, 0, 2);
    CHECK(st == LT_ERR_ARG, "overflowing lda accepted (%d)", (int)st);
    st = lt_be_gemm(be, 0, 0, 0, 10, 10, 1.0f, NULL, 0, 10, NULL, 0, 10, 0.0f, c, 0, 10);
    CHECK(st == LT_OK, "m == 0 is a no-op (%d)", (int)st);
    lt_buf *huge = NULL;
    st = lt_be_buf_alloc(be, SIZE_MAX / 2, &huge);
    CHECK(st == LT_ERR_NOMEM && huge == NULL && strstr(be->error, "bytes"),
          "absurd allocation: %d, '%s'", (int)st, be->error);
    lt_be_buf_free(be, a);
    lt_be_buf_free(be, c);
}

/* k == 0 and alpha == 0 leave C = beta*C without reading A or B. */
static void check_degenerate(lt_backend *be)
{
    lt_buf *c = NULL;
    float h[6] = {1, 2, 3, 4, NAN, 6}, out[6];
    CHECK(lt_be_buf_alloc(be, 6, &c) == LT_OK, "alloc");
    lt_be_upload(be, c, 0, h, 6);
    CHECK(lt_be_gemm(be, 0, 0, 2, 3, 0, 1.0f, NULL, 0, 0, NULL, 0, 3, 0.5f, c, 0, 3) == LT_OK,
          "k == 0: %s", be->error);
    lt_be_download(be, c, 0, out, 6);
    CHECK(out[0] == 0.5f && out[3] == 2.0f && isnan(out[4]), "k == 0 scales C by beta");
    CHECK(lt_be_gemm(be, 0, 0, 2, 3, 0, 1.0f, NULL, 0, 0, NULL, 0, 3, 0.0f, c, 0, 3) == LT_OK,
          "k == 0, beta == 0");
    lt_be_download(be, c, 0, out, 6);
    CHECK(out[0] == 0.0f && out[4] == 0.0f, "k == 0, beta == 0 zeroes C (NaN included)");
    lt_be_buf_free(be, c);
}

/* Prints GFLOP/s (best of 5 timed runs) for the MLP autoencoder's GEMMs. */
static int bench(void)
{
    /* 784-64-64-64-64-64-784 at batch B: forward Y = X W, backward dW = X^T dY and
     * dX = dY W^T, with X B x in and W in x out (row-major, as the library stores them) */
    static const struct { int ta, tb; size_t m, n, k; const char *what; } shapes[] = {
        {0, 0, 256, 64, 784, "fwd  784->64"},  {0, 0, 256, 784, 64, "fwd  64->784"},
        {0, 0, 256, 64, 64, "fwd  64->64"},    {1, 0, 784, 64, 256, "dW   784x64"},
        {1, 0, 64, 784, 256, "dW   64x784"},   {1, 0, 64, 64, 256, "dW   64x64"},
        {0, 1, 256, 64, 784, "dX   64->784"},  {0, 1, 256, 784, 64, "dX   784->64"},
        {0, 1, 256, 64, 64, "dX   64->64"},    {0, 0, 32, 64, 784, "fwd  784->64"},
        {0, 0, 32, 784, 64, "fwd  64->784"},   {0, 0, 32, 64, 64, "fwd  64->64"},
        {1, 0, 784, 64, 32, "dW   784x64"},    {1, 0, 64, 784, 32, "dW   64x784"},
        {0, 1, 32, 64, 784, "dX   64->784"},   {0, 1, 32, 784, 64, "dX   784->64"},
        {0, 0, 1024, 1024, 1024, "square"},
    };
    lt_backend *bes[2];
    char err[256];
    for (int t = 0; t < 2; t++)
        if (lt_cpu_backend_open(&bes[t], t + 1, err, sizeof err) != LT_OK) {
            fprintf(stderr, "cannot open the CPU backend: %s\n", err);
            return 1;
        }
    printf("%s\n%s\n", bes[0]->device_name, bes[1]->device_name);
    printf("%-14s %-2s %5s %5s %5s  %12s %12s\n", "layer", "op", "m", "n", "k", "1 thread", "2 threads");
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        size_t m = shapes[s].m, n = shapes[s].n, k = shapes[s].k;
        double flops = 2.0 * (double)m * (double)n * (double)k, gf[2];
        for (int t = 0; t < 2; t++) {
            lt_backend *be = bes[t];
            lt_buf *a, *b, *c;
            lt_be_buf_alloc(be, m * k, &a);
            lt_be_buf_alloc(be, k * n, &b);
            lt_be_buf_alloc(be, m * n, &c);
            lt_be_random_uniform(be, a, 0, m * k, -1.0f, 1.0f, 1, 0, 0);
            lt_be_random_uniform(be, b, 0, k * n, -1.0f, 1.0f, 2, 0, 0);
            size_t lda = shapes[s].ta ? m : k, ldb = shapes[s].tb ? k : n;
            int reps = (int)(1e8 / flops) + 1; /* ~1 ms of work per timed run */
            double best = 1e30;
            for (int r = 0; r < 6; r++) {
                double t0 = now();
                for (int i = 0; i < reps; i++)
                    lt_be_gemm(be, shapes[s].ta, shapes[s].tb, m, n, k, 1.0f, a, 0, lda, b, 0,
                                  ldb, 0.0f, c, 0, n);
                double dt = (now() - t0) / reps;
                if (r > 0 && dt < best) best = dt; /* run 0 warms up */
            }
            gf[t] = flops / best * 1e-9;
            lt_be_buf_free(be, a);
            lt_be_buf_free(be, b);
            lt_be_buf_free(be, c);
        }
        printf("%-14s %c%c %5zu %5zu %5zu  %7.1f GF/s %7.1f GF/s\n", shapes[s].what,
               shapes[s].ta ? 'T' : 'N', shapes[s].tb ? 'T' : 'N', m, n, k, gf[0], gf[1]);
    }
    lt_be_destroy(bes[0]);
    lt_be_destroy(bes[1]);
    return 0;
}

/* Runs every case, or with --bench the benchmark. */
int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--bench") == 0) return bench();

    lt_backend *be1 = open_cpu(&harness_host, 1), *be2 = be1 ? open_cpu(&harness_host, 2) : NULL;
    if (!be2) {
        lt_be_destroy(be1);
        return DONE();
    }
    printf("%s / %s\n", be1->device_name, be2->device_name);
    printf("kernels checked: %s, %s, %s\n", lt_cpu_gemm_kernel_name(LT_GEMM_AUTO),
           lt_cpu_gemm_kernel_name(LT_GEMM_AVX2), lt_cpu_gemm_kernel_name(LT_GEMM_GENERIC));
    static const float alphas[] = {1.0f, -0.5f, 2.25f}, betas[] = {0.0f, 1.0f, -0.75f};

    /* every small size combination, every transpose pair, tight layout */
    static const size_t small[] = {1, 2, 3, 7, 8, 16, 17, 33};
    size_t ns = sizeof small / sizeof small[0];
    int idx = 0;
    for (size_t im = 0; im < ns; im++)
        for (size_t in = 0; in < ns; in++)
            for (size_t ik = 0; ik < ns; ik++)
                for (int t = 0; t < 4; t++, idx++) {
                    gemm_case g = plain(t & 1, t >> 1, small[im], small[in], small[ik],
                                        alphas[idx % 3], betas[(idx / 3) % 3]);
                    run_case(be1, be2, &g);
                }

    /* random shapes up to ~300 with offsets, padded leading dimensions, scalars */
    for (int r = 0; r < 400; r++) {
        gemm_case g;
        g.ta = (int)(rnd() & 1);
        g.tb = (int)(rnd() & 1);
        g.m = 1 + rnd() % 300;
        g.n = 1 + rnd() % 300;
        g.k = 1 + rnd() % 300;
        g.lda = (g.ta ? g.m : g.k) + (rnd() % 3 ? rnd() % 9 : 0);
        g.ldb = (g.tb ? g.k : g.n) + (rnd() % 3 ? rnd() % 9 : 0);
        g.ldc = g.n + (rnd() % 3 ? rnd() % 9 : 0);
        g.aoff = rnd() % 8;
        g.boff = rnd() % 8;
        g.coff = rnd() % 8;
        g.alpha = alphas[rnd() % 3];
        g.beta = betas[rnd() % 3];
        run_case(be1, be2, &g);
    }

    /* the shapes that cross blocking boundaries: several k blocks, several row blocks,
     * tiles wider than NC, 4 KiB-multiple strides (packed instead of read in place) */
    static const gemm_case big[] = {
        {0, 0, 300, 40, 700, 700, 40, 40, 0, 0, 0, 1.0f, 0.0f},
        {1, 1, 37, 1100, 20, 37, 20, 1100, 1, 2, 3, 1.0f, 1.0f},
        {0, 0, 20, 300, 1024, 1024, 1024, 300, 0, 0, 0, 1.0f, 0.0f},
        {1, 0, 50, 300, 40, 1024, 1024, 300, 5, 3, 0, -1.0f, 0.5f},
        {0, 0, 256, 64, 784, 784, 64, 64, 0, 0, 0, 1.0f, 0.0f},
        {0, 1, 256, 784, 64, 64, 64, 784, 0, 0, 0, 1.0f, 0.0f},
        {1, 0, 784, 64, 256, 784, 64, 64, 0, 0, 0, 1.0f, 1.0f},
    };
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) run_case(be1, be2, &big[i]);

    check_errors(be1);
    check_degenerate(be1);
    check_degenerate(be2);
    lt_be_destroy(be1);
    lt_be_destroy(be2);
    return DONE();
}
