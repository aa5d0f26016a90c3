/* Backend op tests: every op of every available backend (the CPU fallback and each
 * OpenCL device) on random inputs against a naive double-precision reference written
 * here, OpenCL against the CPU backend, and the Philox fills bit for bit against
 * lib/backend/philox.h. Tolerances grow with the length of the reduction behind a
 * value. Prints one line per check; exits 0 only when every check passed.
 *
 * LT_OPS=vectors,gemm,... (environment) runs only the listed groups of test_backend
 * and, unless "opencl" is listed, none of the OpenCL-specific checks: for slow
 * simulators (the oclgrind stage of tests/run_all.sh). */
#include "harness.h"

#ifdef LT_HAVE_OPENCL
#include "../cl_kernels/cl_hooks.h"
#endif

/* ------------------------------------------------------------------ buffers and vectors */

/* Parameters shared by the simple vector ops. */
typedef struct vec_params {
    size_t n, off0, off1, off2; /* element count and per-buffer offsets */
    float a, b;                 /* scalars (fill value, alpha, beta)    */
    int alias;                  /* mul: z is x                          */
} vec_params;

/* fill b0[off0..] then copy b0[off1..] to b1[off2..], plus n == 0 no-ops. */
static lt_status op_fill_copy(lt_backend *be, lt_buf *const *b, const void *pp)
{
    const vec_params *p = pp;
    lt_status st = lt_be_fill(be, b[0], p->off0, p->n, p->a);
    if (st == LT_OK) st = lt_be_fill(be, b[0], 0, 0, 99.0f);
    if (st == LT_OK) st = lt_be_copy(be, b[0], p->off1, b[1], p->off2, p->n);
    if (st == LT_OK) st = lt_be_copy(be, b[0], 0, b[1], 0, 0);
    return st;
}

/* y = a*x + b*y. */
static lt_status op_axpby(lt_backend *be, lt_buf *const *b, const void *pp)
{
    const vec_params *p = pp;
    return lt_be_axpby(be, p->n, p->a, b[0], p->off0, p->b, b[1], p->off1);
}

/* z = x*y (z aliasing x when p->alias). */
static lt_status op_mul(lt_backend *be, lt_buf *const *b, const void *pp)
{
    const vec_params *p = pp;
    if (p->alias) return lt_be_mul(be, p->n, b[0], p->off0, b[1], p->off1, b[0], p->off0);
    return lt_be_mul(be, p->n, b[0], p->off0, b[1], p->off1, b[2], p->off2);
}

/* b1[off1] = sum of b0[off0..off0+n). */
static lt_status op_sum(lt_backend *be, lt_buf *const *b, const void *pp)
{
    const vec_params *p = pp;
    return lt_be_sum(be, p->n, b[0], p->off0, b[1], p->off1);
}

/* b1[off1] = non-finite count of b0[off0..off0+n). */
static lt_status op_count(lt_backend *be, lt_buf *const *b, const void *pp)
{
    const vec_params *p = pp;
    return lt_be_count_nonfinite(be, p->n, b[0], p->off0, b[1], p->off1);
}

/* fill, copy, axpby, mul, sum, count_nonfinite. */
static void test_vectors(tester *t)
{
    char what[160];
    float *outs[MAX_SLOTS] = { 0 }, *cpu[MAX_SLOTS];
    { /* fill + copy */
        size_t len = 97;
        float *a = rand_floats(t, len, -1, 1), *b = rand_floats(t, len, -1, 1);
        vec_params p = { .n = 41, .off0 = 5, .off1 = 3, .off2 = 50, .a = 2.5f };
        double *ra = malloc(len * sizeof *ra), *rb = malloc(len * sizeof *rb);
        for (size_t i = 0; i < len; i++) { ra[i] = a[i]; rb[i] = b[i]; }
        for (size_t i = 0; i < p.n; i++) ra[p.off0 + i] = p.a;
        for (size_t i = 0; i < p.n; i++) rb[p.off2 + i] = ra[p.off1 + i];
        slot s[2] = { { a, len, 0 }, { b, len, 0 } };
        outs[0] = malloc(len * sizeof(float));
        outs[1] = malloc(len * sizeof(float));
        if (run_pair(t, "fill+copy", s, 2, op_fill_copy, &p, outs, cpu)) {
            expect_close(t, outs[0], cpu[0], ra, NULL, len, 0, "fill n=41 off=5");
            expect_close(t, outs[1], cpu[1], rb, NULL, len, 0, "copy n=41 soff=3 doff=50");
        }
        free_outs(cpu, 2);
        free_outs(outs, 2);
        FREE_ALL(a, b, ra, rb);
    }
    for (int beta0 = 0; beta0 < 2; beta0++) { /* axpby, beta 0 must overwrite NaN */
        size_t n = 1003, len = n + 9;
        float *x = rand_floats(t, len, -1, 1), *y = beta0 ? const_floats(len, NAN) : rand_floats(t, len, -1, 1);
        vec_params p = { .n = n, .off0 = 3, .off1 = 5, .a = -1.25f, .b = beta0 ? 0.0f : 0.5f };
        double *r = malloc(len * sizeof *r);
        for (size_t i = 0; i < len; i++) r[i] = y[i];
        for (size_t i = 0; i < n; i++)
            r[p.off1 + i] = (double)p.a * x[p.off0 + i] + (beta0 ? 0.0 : (double)p.b * y[p.off1 + i]);
        slot s[2] = { { x, len, 0 }, { y, len, 0 } };
        outs[1] = malloc(len * sizeof(float));
        snprintf(what, sizeof what, "axpby n=%zu beta=%g%s", n, (double)p.b, beta0 ? " (NaN-filled y)" : "");
        if (run_pair(t, what, s, 2, op_axpby, &p, outs, cpu))
            expect_close(t, outs[1], cpu[1], r, NULL, len, 1e-6, "%s", what);
        free_outs(cpu, 2);
        free_outs(outs, 2);
        FREE_ALL(x, y, r);
    }
    for (int alias = 0; alias < 2; alias++) { /* mul, optionally in place */
        size_t n = 1001, len = n + 7;
        float *x = rand_floats(t, len, -2, 2), *y = rand_floats(t, len, -2, 2), *z = rand_floats(t, len, -1, 1);
        vec_params p = { .n = n, .off0 = 2, .off1 = 7, .off2 = 4, .alias = alias };
        double *r = malloc(len * sizeof *r);
        const float *dst = alias ? x : z;
        size_t doff = alias ? p.off0 : p.off2;
        for (size_t i = 0; i < len; i++) r[i] = dst[i];
        for (size_t i = 0; i < n; i++) r[doff + i] = (double)x[p.off0 + i] * y[p.off1 + i];
        slot s[3] = { { x, len, 0 }, { y, len, 0 }, { z, len, 0 } };
        int o = alias ? 0 : 2;
        outs[o] = malloc(len * sizeof(float));
        snprintf(what, sizeof what, "mul n=%zu%s", n, alias ? " (z aliases x)" : "");
        if (run_pair(t, what, s, 3, op_mul, &p, outs, cpu))
            expect_close(t, outs[o], cpu[o], r, NULL, len, 1e-6, "%s", what);
        free_outs(cpu, 3);
        free_outs(outs, 3);
        FREE_ALL(x, y, z, r);
    }
    static const size_t sum_ns[] = { 0, 1, 255, 256, 257, 1000, 65537, 300001 };
    for (size_t c = 0; c < sizeof sum_ns / sizeof sum_ns[0]; c++) {
        size_t n = sum_ns[c], len = n + 7;
        float *x = rand_floats(t, len, -1, 1), *o = const_floats(4, NAN);
        vec_params p = { .n = n, .off0 = 7 % len, .off1 = 2 };
        double r[4] = { NAN, NAN, 0, NAN }, mag[4] = { 1, 1, 0, 1 };
        for (size_t i = 0; i < n; i++) { r[2] += x[p.off0 + i]; mag[2] += fabs(x[p.off0 + i]); }
        slot s[2] = { { x, len, 0 }, { o, 4, 0 } };
        outs[1] = malloc(4 * sizeof(float));
        snprintf(what, sizeof what, "sum n=%zu", n);
        if (run_pair(t, what, s, 2, op_sum, &p, outs, cpu))
            expect_close(t, outs[1], cpu[1], r, mag, 4, tol_k(n), "%s", what);
        free_outs(cpu, 2);
        free_outs(outs, 2);
        free(x); free(o);
    }
    static const size_t cnt_ns[] = { 0, 5, 10007 };
    for (size_t c = 0; c < sizeof cnt_ns / sizeof cnt_ns[0]; c++) {
        size_t n = cnt_ns[c], len = n + 8;
        float *x = rand_floats(t, len, -1, 1), *o = const_floats(3, 0);
        static const float bad[3] = { NAN, INFINITY, -INFINITY };
        /* the two elements just outside the range are non-finite and must not count */
        x[2] = NAN;
        x[3 + n] = INFINITY;
        double want = 0;
        for (size_t i = 0; i < n; i += 7) { x[3 + i] = bad[i % 3]; want += 1; }
        vec_params p = { .n = n, .off0 = 3, .off1 = 1 };
        double r[3] = { 0, want, 0 };
        slot s[2] = { { x, len, 0 }, { o, 3, 0 } };
        outs[1] = malloc(3 * sizeof(float));
        snprintf(what, sizeof what, "count_nonfinite n=%zu (%g bad)", n, want);
        if (run_pair(t, what, s, 2, op_count, &p, outs, cpu))
            expect_close(t, outs[1], cpu[1], r, NULL, 3, 0, "%s", what);
        free_outs(cpu, 2);
        free_outs(outs, 2);
        free(x); free(o);
    }
}

/* ------------------------------------------------------------------ gemm */

/* One GEMM call's parameters. */
typedef struct gemm_case {
    int ta, tb;
    size_t m, n, k, lda, ldb, ldc, aoff, boff, coff;
    float alpha, beta;
} gemm_case;

/* Issues the GEMM on b[0] (A), b[1] (B), b[2] (C). */
static lt_status op_gemm(lt_backend *be, lt_buf *const *b, const void *pp)
{
    const gemm_case *g = pp;
    return lt_be_gemm(be, g->ta, g->tb, g->m, g->n, g->k, g->alpha, b[0], g->aoff, g->lda,
                         b[1], g->boff, g->ldb, g->beta, b[2], g->coff, g->ldc);
}

/* One GEMM against the reference; beta == 0 runs on a NaN-filled C. */
static void gemm_one(tester *t, int ta, int tb, size_t m, size_t n, size_t k, float beta)
{
    gemm_case g = { ta, tb, m, n, k, 0, 0, 0, 5, 3, 7, 0.75f, beta };
    size_t ar = ta ? k : m, ac = ta ? m : k, br = tb ? n : k, bc = tb ? k : n;
    g.lda = ac + 3;
    g.ldb = bc + 1;
    g.ldc = n + 2;
    size_t na = g.aoff + ar * g.lda + 2, nb = g.boff + br * g.ldb + 2, nc = g.coff + m * g.ldc + 2;
    float *a = rand_floats(t, na, -1, 1), *b = rand_floats(t, nb, -1, 1);
    float *c = beta == 0.0f ? const_floats(nc, NAN) : rand_floats(t, nc, -1, 1);
    double *r = malloc(nc * sizeof *r), *mag = malloc(nc * sizeof *mag);
    for (size_t i = 0; i < nc; i++) { r[i] = c[i]; mag[i] = 1; }
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double acc = 0, am = 0;
            for (size_t p = 0; p < k; p++) {
                double av = a[g.aoff + (ta ? p * g.lda + i : i * g.lda + p)];
                double bv = b[g.boff + (tb ? j * g.ldb + p : p * g.ldb + j)];
                acc += av * bv;
                am += fabs(av * bv);
            }
            size_t ci = g.coff + i * g.ldc + j;
            double old = beta == 0.0f ? 0.0 : (double)beta * c[ci];
            r[ci] = (double)g.alpha * acc + old;
            mag[ci] = fabs((double)g.alpha) * am + fabs(old);
        }
    char what[160];
    snprintf(what, sizeof what, "gemm %c%c m=%zu n=%zu k=%zu beta=%g%s", ta ? 'T' : 'N', tb ? 'T' : 'N',
             m, n, k, (double)beta, beta == 0.0f ? " (NaN-filled C)" : "");
    slot s[3] = { { a, na, 0 }, { b, nb, 0 }, { c, nc, 0 } };
    float *outs[3] = { NULL, NULL, malloc(nc * sizeof(float)) }, *cpu[3];
    if (run_pair(t, what, s, 3, op_gemm, &g, outs, cpu))
        expect_close(t, outs[2], cpu[2], r, mag, nc, tol_k(k), "%s", what);
    free_outs(cpu, 3);
    free(outs[2]);
    FREE_ALL(a, b, c, r, mag);
}

/* Every shape of shapes in all four transpose combinations, both beta cases. */
static void gemm_shapes(tester *t, const size_t (*shapes)[3], size_t count)
{
    for (size_t s = 0; s < count; s++)
        for (int tr = 0; tr < 4; tr++)
            for (int bz = 0; bz < 2; bz++)
                gemm_one(t, tr >> 1, tr & 1, shapes[s][0], shapes[s][1], shapes[s][2], bz ? 0.0f : -0.5f);
}

/* Odd shapes. */
static void test_gemm(tester *t)
{
    static const size_t shapes[][3] = {
        { 1, 1, 1 }, { 3, 17, 65 }, { 17, 3, 130 }, { 65, 130, 17 }, { 130, 65, 3 },
        { 1, 130, 17 }, { 130, 1, 65 }, { 17, 17, 1 }, { 65, 65, 65 }, { 3, 1, 130 },
        { 130, 130, 130 },
    };
    gemm_shapes(t, shapes, sizeof shapes / sizeof shapes[0]);
}

/* The edge sizes: an empty sum (k = 0: C = beta*C) and an empty C. */
static void test_gemm_edge(tester *t)
{
    static const size_t shapes[][3] = { { 17, 3, 0 }, { 0, 5, 3 }, { 4, 0, 3 } };
    gemm_shapes(t, shapes, sizeof shapes / sizeof shapes[0]);
}

/* GEMMs large enough for CLBlast's other kernels (their own group: slow on simulators). */
static void test_gemm_large(tester *t)
{
    /* above 384^3: CLBlast's indirect (padded) kernel on many GPUs */
    for (int tr = 0; tr < 4; tr++)
        for (int bz = 0; bz < 2; bz++) gemm_one(t, tr >> 1, tr & 1, 400, 385, 390, bz ? 0.0f : -0.5f);
    /* above 896^3, where CLBlast switches to the indirect kernel on PoCL: padded copies go
     * through the backend's temp buffer, the second call reusing the first one's */
    gemm_one(t, 0, 0, 905, 911, 903, -0.5f);
    gemm_one(t, 1, 1, 905, 911, 903, 0.0f);
}

/* ------------------------------------------------------------------ layers */

/* Parameters of the activation, bias and gather ops. */
typedef struct layer_params {
    size_t rows, cols, off0, off1, off2, off3;
    lt_backend_act act;
    float alpha, beta;
    int has_bias, alias;
} layer_params;

/* Name of an activation. */
static const char *act_name(lt_backend_act a)
{
    static const char *names[] = { "linear", "relu", "leaky_relu", "elu", "sigmoid", "tanh", "softmax" };
    return (unsigned)a < 7 ? names[a] : "?";
}

/* Reference derivative times dy, from the output y. */
static double ref_act_grad(lt_backend_act a, double y, double dy, double alpha)
{
    switch (a) {
    case LT_BACT_RELU: return y > 0 ? dy : 0;
    case LT_BACT_LEAKY_RELU: return y > 0 ? dy : alpha * dy;
    case LT_BACT_ELU: return y > 0 ? dy : dy * (y + alpha);
    case LT_BACT_SIGMOID: return dy * y * (1 - y);
    case LT_BACT_TANH: return dy * (1 - y * y);
    default: return dy;
    }
}

/* Forward on b[0] (x), b[1] (bias), b[2] (y) or in place on b[0]. */
static lt_status op_act_forward(lt_backend *be, lt_buf *const *b, const void *pp)
{
    const layer_params *p = pp;
    lt_buf *y = p->alias ? b[0] : b[2];
    size_t yoff = p->alias ? p->off0 : p->off2;
    return lt_be_bias_act_forward(be, p->rows, p->cols, b[0], p->off0, p->has_bias ? b[1] : NULL,
                                     p->off1, p->act, p->alpha, y, yoff);
}

/* Backward on b[0] (y), b[1] (dy), b[2] (dx) or in place on b[1]. */
static lt_status op_act_backward(lt_backend *be, lt_buf *const *b, const void *pp)
{
    const layer_params *p = pp;
    lt_buf *dx = p->alias ? b[1] : b[2];
    size_t dxoff = p->alias ? p->off1 : p->off2;
    return lt_be_act_backward(be, p->rows, p->cols, p->act, p->alpha, b[0], p->off0, b[1], p->off1,
                                 dx, dxoff);
}

/* One activation forward and backward, with and without bias/aliasing. */
static void act_case(tester *t, lt_backend_act act, float alpha, size_t rows, size_t cols, int has_bias, int alias)
{
    char what[160];
    size_t n = rows * cols;
    layer_params p = { rows, cols, 3, 2, 1, 0, act, alpha, 0, has_bias, alias };
    size_t lx = n + p.off0 + 1, lb = cols + p.off1, ly = n + p.off2 + 2;
    float *x = rand_floats(t, lx, -3, 3), *bias = rand_floats(t, lb, -1, 1), *y0 = rand_floats(t, ly, -1, 1);
    if (act == LT_BACT_RELU || act == LT_BACT_LEAKY_RELU) x[p.off0] = 0.0f; /* the kink itself */
    /* forward reference, and its float outputs as the backward pass's input */
    float *yf = malloc(n * sizeof *yf);
    double *fwd = malloc(n * sizeof *fwd);
    for (size_t r = 0; r < rows; r++) {
        double m = -INFINITY, s = 0;
        for (size_t c = 0; c < cols; c++) {
            /* the backend adds the bias in float; so does the reference, so inputs agree exactly */
            double v = (double)(x[p.off0 + r * cols + c] + (has_bias ? bias[p.off1 + c] : 0.0f));
            if (act == LT_BACT_SOFTMAX) {
                fwd[r * cols + c] = v;
                if (v > m) m = v;
            } else {
                fwd[r * cols + c] = ref_act(act, v, alpha);
            }
        }
        if (act == LT_BACT_SOFTMAX) {
            for (size_t c = 0; c < cols; c++) s += exp(fwd[r * cols + c] - m);
            for (size_t c = 0; c < cols; c++) fwd[r * cols + c] = exp(fwd[r * cols + c] - m) / s;
        }
    }
    for (size_t i = 0; i < n; i++) yf[i] = (float)fwd[i];
    /* forward */
    {
        const float *dst = alias ? x : y0;
        size_t doff = alias ? p.off0 : p.off2, ld = alias ? lx : ly;
        double *r = malloc(ld * sizeof *r);
        for (size_t i = 0; i < ld; i++) r[i] = dst[i];
        for (size_t i = 0; i < n; i++) r[doff + i] = fwd[i];
        slot s[3] = { { x, lx, 0 }, { bias, lb, 0 }, { y0, ly, 0 } };
        int o = alias ? 0 : 2;
        float *outs[3] = { NULL, NULL, NULL }, *cpu[3];
        outs[o] = malloc(ld * sizeof(float));
        snprintf(what, sizeof what, "%s forward %zux%zu%s%s", act_name(act), rows, cols,
                 has_bias ? " +bias" : "", alias ? " in place" : "");
        if (run_pair(t, what, s, 3, op_act_forward, &p, outs, cpu))
            expect_close(t, outs[o], cpu[o], r, NULL, ld, act == LT_BACT_SOFTMAX ? tol_k(cols) : 1e-5, "%s", what);
        free_outs(cpu, 3);
        free(outs[o]);
        free(r);
    }
    /* backward from the float outputs */
    {
        layer_params q = { rows, cols, 1, 4, 2, 0, act, alpha, 0, 0, alias };
        size_t l0 = n + q.off0, l1 = n + q.off1 + 3, l2 = n + q.off2;
        float *yb = rand_floats(t, l0, -1, 1), *dy = rand_floats(t, l1, -1, 1), *dx = rand_floats(t, l2, -1, 1);
        memcpy(yb + q.off0, yf, n * sizeof *yf);
        const float *dst = alias ? dy : dx;
        size_t doff = alias ? q.off1 : q.off2, ld = alias ? l1 : l2;
        double *r = malloc(ld * sizeof *r), *mag = malloc(ld * sizeof *mag);
        for (size_t i = 0; i < ld; i++) { r[i] = dst[i]; mag[i] = 1; }
        for (size_t row = 0; row < rows; row++) {
            double dot = 0, dm = 0;
            for (size_t c = 0; c < cols; c++) {
                double v = (double)dy[q.off1 + row * cols + c] * yf[row * cols + c];
                dot += v;
                dm += fabs(v);
            }
            for (size_t c = 0; c < cols; c++) {
                size_t i = row * cols + c;
                double yv = yf[i], dv = dy[q.off1 + i];
                r[doff + i] = act == LT_BACT_SOFTMAX ? yv * (dv - dot) : ref_act_grad(act, yv, dv, alpha);
                if (act == LT_BACT_SOFTMAX) mag[doff + i] = fabs(yv) * (fabs(dv) + dm);
            }
        }
        slot s[3] = { { yb, l0, 0 }, { dy, l1, 0 }, { dx, l2, 0 } };
        int o = alias ? 1 : 2;
        float *outs[3] = { NULL, NULL, NULL }, *cpu[3];
        outs[o] = malloc(ld * sizeof(float));
        snprintf(what, sizeof what, "%s backward %zux%zu%s", act_name(act), rows, cols, alias ? " in place" : "");
        if (run_pair(t, what, s, 3, op_act_backward, &q, outs, cpu))
            expect_close(t, outs[o], cpu[o], r, mag, ld, act == LT_BACT_SOFTMAX ? tol_k(cols) : 1e-5, "%s", what);
        free_outs(cpu, 3);
        free(outs[o]);
        FREE_ALL(r, mag, yb, dy, dx);
    }
    FREE_ALL(x, bias, y0, yf, fwd);
}

/* dz = dy * act'(y) and db = column sums of dz (+ beta*db) on b[0] (dy), b[1] (db), b[2]
 * (y) and b[3] (dz), or dz in place on b[0]; linear: dy summed, y and dz not given. */
static lt_status op_bias_act_backward(lt_backend *be, lt_buf *const *b, const void *pp)
{
    const layer_params *p = pp;
    int linear = p->act == LT_BACT_LINEAR;
    lt_buf *dz = linear ? NULL : p->alias ? b[0] : b[3];
    return lt_be_bias_act_backward(be, p->rows, p->cols, p->act, p->alpha, linear ? NULL : b[2], p->off2, b[0],
                                      p->off0, dz, p->alias ? p->off0 : p->off3, p->beta, b[1], p->off1);
}

/* dst = src rows picked by idx on b[0] (src), b[1] (idx), b[2] (dst). */
static lt_status op_gather(lt_backend *be, lt_buf *const *b, const void *pp)
{
    const layer_params *p = pp;
    return lt_be_gather_rows(be, p->rows, p->cols, b[0], p->off0, b[1], p->off1, b[2], p->off2);
}

/* Every activation, bias_act_backward and gather_rows. */
static void test_layers(tester *t)
{
    static const struct { lt_backend_act act; float alpha; } acts[] = {
        { LT_BACT_LINEAR, 0 }, { LT_BACT_RELU, 0 }, { LT_BACT_LEAKY_RELU, 0.3f },
        { LT_BACT_ELU, 1.0f }, { LT_BACT_ELU, 0.7f }, { LT_BACT_SIGMOID, 0 }, { LT_BACT_TANH, 0 },
        { LT_BACT_SOFTMAX, 0 },
    };
    for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++) {
        act_case(t, acts[a].act, acts[a].alpha, 33, 70, 1, 0);
        act_case(t, acts[a].act, acts[a].alpha, 33, 70, 0, 1);
    }
    act_case(t, LT_BACT_SOFTMAX, 0, 5, 1, 1, 0);
    act_case(t, LT_BACT_SOFTMAX, 0, 3, 1000, 1, 0);
    act_case(t, LT_BACT_SOFTMAX, 0, 2, 4099, 0, 1);

    char what[160];
    /* tall shapes split their rows into chunks on OpenCL (a second pass adds them) */
    static const size_t bshapes[][2] = { { 0, 5 }, { 1, 1 }, { 257, 3 }, { 64, 300 }, { 1000, 1 }, { 7, 33 },
                                         { 20000, 16 }, { 40000, 3 }, { 2500, 1000 } };
    static const struct { lt_backend_act act; float alpha; int alias; } bacts[] = {
        { LT_BACT_LINEAR, 0, 0 }, { LT_BACT_ELU, 1.0f, 1 }, { LT_BACT_TANH, 0, 0 }, { LT_BACT_LEAKY_RELU, 0.3f, 1 } };
    for (size_t c = 0; c < sizeof bshapes / sizeof bshapes[0]; c++)
        for (int k = 0; k < 4; k++) {
            int bz = k & 1; /* beta 0 with a NaN-filled db, else 0.7 */
            size_t ai = c < 6 ? (size_t)k : (size_t)(k ^ 1); /* every activation on small shapes, two on tall */
            lt_backend_act act = bacts[ai].act;
            size_t rows = bshapes[c][0], cols = bshapes[c][1], n = rows * cols;
            layer_params p = { rows, cols, 3, 2, 1, 4, act, bacts[ai].alpha, bz ? 0.0f : 0.7f, 0, bacts[ai].alias };
            size_t l0 = n + p.off0, l1 = cols + p.off1 + 1, l2 = n + p.off2, l3 = n + p.off3 + 2;
            float *dy = rand_floats(t, l0, -1, 1), *db = bz ? const_floats(l1, NAN) : rand_floats(t, l1, -1, 1);
            float *y = rand_floats(t, l2, -0.99, 2), *dz = rand_floats(t, l3, -1, 1);
            int sep = act != LT_BACT_LINEAR && !p.alias; /* dz written apart from dy */
            double *r = malloc(l1 * sizeof *r), *mag = malloc(l1 * sizeof *mag), *rz = malloc((sep ? l3 : l0) * sizeof *rz);
            const float *zsrc = sep ? dz : dy;
            size_t zoff = sep ? p.off3 : p.off0, lz = sep ? l3 : l0;
            for (size_t i = 0; i < lz; i++) rz[i] = zsrc[i];
            for (size_t i = 0; i < l1; i++) { r[i] = db[i]; mag[i] = 1; }
            for (size_t i = 0; i < n; i++)
                rz[zoff + i] = ref_act_grad(act, y[p.off2 + i], dy[p.off0 + i], bacts[ai].alpha);
            for (size_t j = 0; j < cols; j++) {
                double sum = 0, m = 0;
                for (size_t i = 0; i < rows; i++) { sum += (float)rz[zoff + i * cols + j]; m += fabs(rz[zoff + i * cols + j]); }
                double old = bz ? 0.0 : (double)p.beta * db[p.off1 + j];
                r[p.off1 + j] = sum + old;
                mag[p.off1 + j] = m + fabs(old);
            }
            slot s[4] = { { dy, l0, 0 }, { db, l1, 0 }, { y, l2, 0 }, { dz, l3, 0 } };
            int zo = sep ? 3 : 0;
            float *outs[4] = { NULL, malloc(l1 * sizeof(float)), NULL, NULL }, *cpu[4];
            if (act != LT_BACT_LINEAR) outs[zo] = malloc(lz * sizeof(float));
            snprintf(what, sizeof what, "bias_act_backward %s %zux%zu beta=%g%s%s", act_name(act), rows, cols,
                     (double)p.beta, bz ? " (NaN-filled db)" : "", p.alias ? " in place" : "");
            if (run_pair(t, what, s, 4, op_bias_act_backward, &p, outs, cpu)) {
                expect_close(t, outs[1], cpu[1], r, mag, l1, tol_k(rows), "%s", what);
                if (outs[zo] && act != LT_BACT_LINEAR)
                    expect_close(t, outs[zo], cpu[zo], rz, NULL, lz, 1e-5, "%s", what);
            }
            free_outs(cpu, 4);
            free(outs[1]);
            if (act != LT_BACT_LINEAR) free(outs[zo]);
            FREE_ALL(dy, db, y, dz, r, mag, rz);
        }

    { /* gather_rows */
        size_t src_rows = 50, cols = 13, rows = 37;
        layer_params p = { rows, cols, 4, 2, 3, 0, LT_BACT_LINEAR, 0, 0, 0, 0 };
        size_t ls = src_rows * cols + p.off0, li = rows + p.off1, ld = rows * cols + p.off2 + 1;
        float *src = rand_floats(t, ls, -1, 1), *dst = rand_floats(t, ld, -1, 1);
        uint32_t *idx = malloc(li * sizeof *idx);
        for (size_t i = 0; i < li; i++) idx[i] = (uint32_t)(next_u64(&t->rng) % src_rows);
        idx[p.off1] = (uint32_t)src_rows - 1;
        double *r = malloc(ld * sizeof *r);
        for (size_t i = 0; i < ld; i++) r[i] = dst[i];
        for (size_t i = 0; i < rows; i++)
            for (size_t j = 0; j < cols; j++)
                r[p.off2 + i * cols + j] = src[p.off0 + idx[p.off1 + i] * cols + j];
        slot s[3] = { { src, ls, 0 }, { idx, li, 0 }, { dst, ld, 0 } };
        float *outs[3] = { NULL, NULL, malloc(ld * sizeof(float)) }, *cpu[3];
        snprintf(what, sizeof what, "gather_rows %zu of %zu rows x %zu", rows, src_rows, cols);
        if (run_pair(t, what, s, 3, op_gather, &p, outs, cpu))
            expect_close(t, outs[2], cpu[2], r, NULL, ld, 0, "%s", what);
        free_outs(cpu, 3);
        free(outs[2]);
        FREE_ALL(src, dst, idx, r);
    }
}

/* ------------------------------------------------------------------ losses */

/* Parameters of one loss call. */
typedef struct loss_params {
    lt_backend_loss kind;
    size_t rows, cols, poff, toff, ooff, goff;
    float scale;
    int grad; /* 0: no gradient, 1: into b[3], 2: in place over pred */
} loss_params;

/* Loss on b[0] (pred), b[1] (target), b[2] (out), b[3] (grad). */
static lt_status op_loss(lt_backend *be, lt_buf *const *b, const void *pp)
{
    const loss_params *p = pp;
    lt_buf *g = p->grad == 1 ? b[3] : p->grad == 2 ? b[0] : NULL;
    size_t goff = p->grad == 2 ? p->poff : p->goff;
    return lt_be_loss(be, p->kind, p->rows, p->cols, b[0], p->poff, b[1], p->toff, b[2], p->ooff,
                         p->scale, g, goff);
}

/* Reference per-element loss and derivative, with the float clip bounds of the backends. */
static void ref_loss(lt_backend_loss kind, double p, double t, double *l, double *d)
{
    const double lo = (double)1e-7f, hi = (double)(1.0f - 1e-7f);
    switch (kind) {
    case LT_BLOSS_BCE_LOGITS:
        *l = (p > 0 ? p : 0) - p * t + log1p(exp(-fabs(p)));
        *d = 1 / (1 + exp(-p)) - t;
        break;
    case LT_BLOSS_BCE_PROBS: {
        double c = p < lo ? lo : p > hi ? hi : p;
        *l = -(t * log(c) + (1 - t) * log(1 - c));
        *d = (p < 0 || p > 1) ? 0 : (p - t) / (p * (1 - p) > 1e-12 ? p * (1 - p) : 1e-12);
        break;
    }
    case LT_BLOSS_CCE_PROBS: {
        double c = p < lo ? lo : p > hi ? hi : p;
        *l = -t * log(c);
        *d = (p < lo || p > hi) ? 0 : -t / c;
        break;
    }
    default:
        *l = (p - t) * (p - t);
        *d = 2 * (p - t);
        break;
    }
}

/* Reference total loss over n elements with element i's prediction replaced by v. */
static double ref_total(lt_backend_loss kind, const float *p, const float *t, size_t n, size_t i, double v)
{
    double s = 0, l, d;
    for (size_t j = 0; j < n; j++) {
        ref_loss(kind, j == i ? v : p[j], t[j], &l, &d);
        s += l;
    }
    return s;
}

/* Every loss: value, gradient (into its own buffer, in place, or none), finite differences. */
static void test_losses(tester *t)
{
    static const char *names[] = { "mse", "bce_logits", "bce_probs", "cce_probs" };
    char what[160];
    /* the second shape is over OpenCL's one-group limit: partials, then a final pass */
    static const size_t shapes[2][2] = { { 17, 29 }, { 300, 250 } };
    for (int ck = 0; ck < 8; ck++) {
        int sh = ck / 4, kind = ck % 4;
        size_t rows = shapes[sh][0], cols = shapes[sh][1], n = rows * cols;
        loss_params p = { (lt_backend_loss)kind, rows, cols, 3, 1, 2, 5, 0, 0 };
        p.scale = kind == LT_BLOSS_CCE_PROBS ? 1.0f / (float)rows : 1.0f / (float)n;
        size_t lp = n + p.poff, lt = n + p.toff + 2, lo = 4, lg = n + p.goff;
        float *pred = malloc(lp * sizeof *pred), *tgt = malloc(lt * sizeof *tgt);
        for (size_t i = 0; i < lp; i++) pred[i] = (float)drand(t, -2, 2);
        for (size_t i = 0; i < lt; i++) tgt[i] = (float)drand(t, -2, 2);
        float *pv = pred + p.poff, *tv = tgt + p.toff;
        if (kind == LT_BLOSS_BCE_LOGITS) {
            for (size_t i = 0; i < n; i++) { pv[i] = (float)drand(t, -6, 6); tv[i] = (float)drand(t, 0, 1); }
            pv[0] = 0.0f;
        } else if (kind == LT_BLOSS_BCE_PROBS) {
            for (size_t i = 0; i < n; i++) { pv[i] = (float)drand(t, 0.01f, 0.99f); tv[i] = (float)drand(t, 0, 1); }
            pv[0] = 0.0f; pv[1] = 1.0f; pv[2] = 1e-9f; pv[3] = 1.0f - 1e-9f; /* clipped */
        } else if (kind == LT_BLOSS_CCE_PROBS) {
            for (size_t r = 0; r < rows; r++) {
                double s = 0;
                for (size_t c = 0; c < cols; c++) { pv[r * cols + c] = (float)drand(t, 0.01f, 1); s += pv[r * cols + c]; }
                for (size_t c = 0; c < cols; c++) { pv[r * cols + c] = (float)(pv[r * cols + c] / s); tv[r * cols + c] = 0; }
                tv[r * cols + (size_t)(next_u64(&t->rng) % cols)] = 1;
            }
            pv[0] = 0.0f; tv[0] = 1.0f; pv[cols] = 1.0f; /* clipped */
        }
        /* reference */
        double total = 0, tmag = 0, *rg = malloc(lg * sizeof *rg), *rgin = malloc(lp * sizeof *rgin);
        float *g0 = rand_floats(t, lg, -1, 1), *o0 = const_floats(lo, NAN);
        for (size_t i = 0; i < lg; i++) rg[i] = g0[i];
        for (size_t i = 0; i < lp; i++) rgin[i] = pred[i];
        for (size_t i = 0; i < n; i++) {
            double l, d;
            ref_loss(p.kind, pv[i], tv[i], &l, &d);
            total += l;
            tmag += fabs(l);
            rg[p.goff + i] = (double)p.scale * d;
            rgin[p.poff + i] = (double)p.scale * d;
        }
        double rout[4] = { NAN, NAN, total, NAN }, mout[4] = { 1, 1, tmag, 1 };
        for (int mode = 0; mode < 3; mode++) {
            loss_params q = p;
            q.grad = mode;
            slot s[4] = { { pred, lp, 0 }, { tgt, lt, 0 }, { o0, lo, 0 }, { g0, lg, 0 } };
            float *outs[4] = { mode == 2 ? malloc(lp * sizeof(float)) : NULL, NULL, malloc(lo * sizeof(float)),
                               mode == 1 ? malloc(lg * sizeof(float)) : NULL };
            float *cpu[4];
            static const char *modes[] = { "no grad", "grad", "grad in place" };
            snprintf(what, sizeof what, "loss %s %zux%zu (%s)", names[kind], rows, cols, modes[mode]);
            if (run_pair(t, what, s, 4, op_loss, &q, outs, cpu)) {
                expect_close(t, outs[2], cpu[2], rout, mout, lo, tol_k(n), "%s value", what);
                if (mode) {
                    int o = mode == 1 ? 3 : 0;
                    expect_close(t, outs[o], cpu[o], mode == 1 ? rg : rgin, NULL, mode == 1 ? lg : lp, 1e-5,
                                 "%s gradient", what);
                }
                if (mode == 1 && sh == 0) { /* the gradient against finite differences of the reference loss */
                    double worst = 0;
                    int checked = 0;
                    const double lob = (double)1e-7f, hib = (double)(1.0f - 1e-7f);
                    for (size_t i = 0; i < n; i += 23) {
                        double h = 1e-6 * (fabs(pv[i]) > 1 ? fabs(pv[i]) : 1);
                        if (kind >= LT_BLOSS_BCE_PROBS) {
                            h = 1e-7;
                            if (fabs(pv[i] - lob) < 4 * h || fabs(pv[i] - hib) < 4 * h || pv[i] < 1e-4) continue;
                        }
                        double fd = (ref_total(p.kind, pv, tv, n, i, pv[i] + h) -
                                     ref_total(p.kind, pv, tv, n, i, pv[i] - h)) / (2 * h) * p.scale;
                        double got = outs[3][p.goff + i];
                        double e = fabs(got - fd) / (fabs(fd) > p.scale ? fabs(fd) : p.scale);
                        if (e > worst) worst = e;
                        checked++;
                    }
                    check(t, worst <= 1e-4 && checked > 0, "%s gradient vs finite differences (%d elements): max err %.3g (tol 1e-4)",
                           what, checked, worst);
                }
            }
            free_outs(cpu, 4);
            free_outs(outs, 4);
        }
        FREE_ALL(pred, tgt, rg, rgin, g0, o0);
    }
}

/* ------------------------------------------------------------------ optimizers */

/* Parameters of a few optimizer steps. */
typedef struct optim_params {
    lt_backend_optim kind;
    lt_backend_optim_hyper h; /* lr is the base rate; Adam's is corrected per step */
    size_t n, poff, goff, soff, steps;
    const float *grads;       /* steps * n gradients, uploaded before each step */
    int no_state;             /* plain SGD: pass no state buffer */
} optim_params;

/* Adam's bias-corrected rate for step t (1-based), as the host library computes it. */
static float adam_lr(const lt_backend_optim_hyper *h, size_t t)
{
    return (float)((double)h->lr * sqrt(1 - pow((double)h->beta2, (double)t)) / (1 - pow((double)h->beta1, (double)t)));
}

/* Runs p->steps updates on b[0] (params), b[1] (grads), b[2] (state). */
static lt_status op_optim(lt_backend *be, lt_buf *const *b, const void *pp)
{
    const optim_params *p = pp;
    lt_status st = LT_OK;
    for (size_t s = 0; s < p->steps && st == LT_OK; s++) {
        lt_backend_optim_hyper h = p->h;
        if (p->kind == LT_BOPT_ADAM) h.lr = adam_lr(&p->h, s + 1);
        st = lt_be_upload(be, b[1], p->goff, p->grads + s * p->n, p->n);
        if (st == LT_OK)
            st = lt_be_optim_step(be, p->kind, &h, p->n, b[0], p->poff, b[1], p->goff,
                                     p->no_state ? NULL : b[2], p->soff);
    }
    return st;
}

/* SGD (plain, momentum, Nesterov), RMSprop and Adam over three steps. */
static void test_optimizers(tester *t)
{
    static const struct { const char *name; lt_backend_optim kind; lt_backend_optim_hyper h; } cases[] = {
        { "sgd", LT_BOPT_SGD, { .lr = 0.1f } },
        { "sgd momentum", LT_BOPT_SGD, { .lr = 0.05f, .momentum = 0.9f } },
        { "sgd nesterov", LT_BOPT_SGD, { .lr = 0.05f, .momentum = 0.9f, .nesterov = 1 } },
        { "rmsprop", LT_BOPT_RMSPROP, { .lr = 0.01f, .rho = 0.9f, .epsilon = 1e-7f } },
        { "rmsprop momentum", LT_BOPT_RMSPROP, { .lr = 0.01f, .rho = 0.9f, .epsilon = 1e-3f, .momentum = 0.5f } },
        { "adam", LT_BOPT_ADAM, { .lr = 0.001f, .beta1 = 0.9f, .beta2 = 0.999f, .epsilon = 1e-7f } },
    };
    char what[160];
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        optim_params p = { cases[c].kind, cases[c].h, 1000, 3, 5, 2, 3, NULL, 0 };
        size_t n = p.n, moments = p.kind == LT_BOPT_ADAM || (p.kind == LT_BOPT_RMSPROP && p.h.momentum != 0.0f) ? 2 : 1;
        p.no_state = p.kind == LT_BOPT_SGD && p.h.momentum == 0.0f;
        size_t lp = n + p.poff, lg = n + p.goff, ls = moments * n + p.soff + 1;
        float *par = rand_floats(t, lp, -1, 1), *g = rand_floats(t, lg, -1, 1);
        float *st = rand_floats(t, ls, 0, 0.5f), *gs = rand_floats(t, p.steps * n, -1, 1);
        if (p.kind == LT_BOPT_SGD) /* velocities take either sign; mean squares do not */
            for (size_t i = 0; i < ls; i++) st[i] -= 0.25f;
        p.grads = gs;
        double *rp = malloc(lp * sizeof *rp), *rs = malloc(ls * sizeof *rs);
        for (size_t i = 0; i < lp; i++) rp[i] = par[i];
        for (size_t i = 0; i < ls; i++) rs[i] = st[i];
        const lt_backend_optim_hyper *h = &p.h;
        for (size_t s = 0; s < p.steps; s++)
            for (size_t i = 0; i < n; i++) {
                double gi = gs[s * n + i], *pi = &rp[p.poff + i], *m = &rs[p.soff + i];
                if (p.kind == LT_BOPT_SGD) {
                    if (h->momentum == 0.0f) { *pi -= (double)h->lr * gi; continue; }
                    *m = (double)h->momentum * *m - (double)h->lr * gi;
                    *pi += h->nesterov ? (double)h->momentum * *m - (double)h->lr * gi : *m;
                } else if (p.kind == LT_BOPT_RMSPROP) {
                    /* Keras: the epsilon inside the square root */
                    *m = (double)h->rho * *m + (1 - (double)h->rho) * gi * gi;
                    double u = (double)h->lr * gi / sqrt(*m + (double)h->epsilon);
                    if (h->momentum != 0.0f) {
                        double *mom = &rs[p.soff + n + i];
                        *mom = (double)h->momentum * *mom + u;
                        u = *mom;
                    }
                    *pi -= u;
                } else {
                    double *v = &rs[p.soff + n + i];
                    *m = (double)h->beta1 * *m + (1 - (double)h->beta1) * gi;
                    *v = (double)h->beta2 * *v + (1 - (double)h->beta2) * gi * gi;
                    *pi -= (double)adam_lr(h, s + 1) * *m / (sqrt(*v) + (double)h->epsilon);
                }
            }
        slot sl[3] = { { par, lp, 0 }, { g, lg, 0 }, { st, ls, 0 } };
        float *outs[3] = { malloc(lp * sizeof(float)), NULL, malloc(ls * sizeof(float)) }, *cpu[3];
        snprintf(what, sizeof what, "%s n=%zu, %zu steps", cases[c].name, n, p.steps);
        if (run_pair(t, what, sl, 3, op_optim, &p, outs, cpu)) {
            expect_close(t, outs[0], cpu[0], rp, NULL, lp, 1e-5, "%s params", what);
            expect_close(t, outs[2], cpu[2], rs, NULL, ls, 1e-5, "%s state", what);
        }
        free_outs(cpu, 3);
        free_outs(outs, 3);
        FREE_ALL(par, g, st, gs, rp, rs);
    }
}

/* ------------------------------------------------------------------ gradient-norm clipping */

/* Parameters of sum_squares and clip_by_norm runs on b[0] (x), b[1] (starts), b[2]
 * (out / sumsq). */
typedef struct clip_params {
    size_t n, xoff, count, stoff, voff;
    int no_starts;  /* pass starts == NULL                                    */
    float max_norm;
    int op;         /* 0 sum_squares, 1 clip_by_norm, 2 sum_squares then clip */
} clip_params;

/* The op (or both, in turn) that p->op names. */
static lt_status op_clip(lt_backend *be, lt_buf *const *b, const void *pp)
{
    const clip_params *p = pp;
    const lt_buf *starts = p->no_starts ? NULL : b[1];
    lt_status st = LT_OK;
    if (p->op != 1) st = lt_be_sum_squares(be, p->n, b[0], p->xoff, p->count, starts, p->stoff, b[2], p->voff);
    if (st == LT_OK && p->op != 0)
        st = lt_be_clip_by_norm(be, p->n, b[0], p->xoff, p->count, starts, p->stoff, b[2], p->voff, p->max_norm);
    return st;
}

/* Segment s's range, lib/backend/backend.h's definition for ascending starts (NULL: [0, n)). */
static void ref_segment(const uint32_t *starts, size_t count, size_t n, size_t s, size_t *lo, size_t *hi)
{
    *lo = starts ? starts[s] : 0;
    *hi = starts && s + 1 < count ? starts[s + 1] : n;
}

/* Elements of got and want (both len) that differ bitwise where keep[i] is set. */
static size_t changed_bits(const float *got, const float *want, const unsigned char *keep, size_t len)
{
    size_t bad = 0;
    for (size_t i = 0; i < len; i++) bad += keep[i] && memcmp(&got[i], &want[i], sizeof got[i]) != 0;
    return bad;
}

/* sum_squares, clip_by_norm from given squared norms, and the two in turn, over n
 * random elements cut into count segments at starts (NULL: one segment) against a
 * double-precision reference. Every other segment is made ten times larger and the
 * norm cap lies between the norms, so that some segments are clipped and some are left
 * exactly as they were (checked bit for bit, with everything outside the segments). */
static void clip_case(tester *t, size_t n, size_t count, const uint32_t *starts)
{
    char what[200], tag[80];
    clip_params p = { n, 3, count, 2, 1, starts == NULL, 0, 0 };
    size_t lx = p.xoff + n + 2, ls = p.stoff + count + 1, lv = p.voff + count + 2;
    float *x = rand_floats(t, lx, -1, 1), *v0 = const_floats(lv, NAN);
    uint32_t *st = malloc(ls * sizeof *st);
    for (size_t i = 0; i < ls; i++) st[i] = 0xDEADBEEFu; /* cells outside the table: never read */
    if (starts) memcpy(st + p.stoff, starts, count * sizeof *st);
    double *sq = malloc((count ? count : 1) * sizeof *sq), *rv = malloc(lv * sizeof *rv);
    double *norms = malloc((count ? count : 1) * sizeof *norms);
    for (size_t i = 0; i < lv; i++) rv[i] = NAN;
    for (size_t s = 0; s < count; s++) {
        size_t lo, hi;
        ref_segment(starts, count, n, s, &lo, &hi);
        sq[s] = 0;
        for (size_t j = lo; j < hi; j++) {
            if (s % 2) x[p.xoff + j] *= 10.0f;
            sq[s] += (double)x[p.xoff + j] * x[p.xoff + j];
        }
        rv[p.voff + s] = sq[s];
        norms[s] = sqrt(sq[s]);
    }
    /* the cap: between the smallest and the largest norm (their geometric mean) */
    double nmin = INFINITY, nmax = 0;
    for (size_t s = 0; s < count; s++)
        if (norms[s] > 0) { nmin = fmin(nmin, norms[s]); nmax = fmax(nmax, norms[s]); }
    p.max_norm = nmax > 0 ? (float)sqrt(nmin * nmax) : 1.0f;
    snprintf(tag, sizeof tag, "n=%zu, %zu segment%s%s", n, count, count == 1 ? "" : "s", starts ? "" : " (no starts)");

    slot s3[3] = { { x, lx, 0 }, { st, ls, 0 }, { v0, lv, 0 } };
    float *outs[3] = { NULL, NULL, malloc(lv * sizeof(float)) }, *cpu[3];
    p.op = 0;
    snprintf(what, sizeof what, "sum_squares %s", tag);
    if (run_pair(t, what, s3, 3, op_clip, &p, outs, cpu))
        expect_close(t, outs[2], cpu[2], rv, NULL, lv, tol_k(n), "%s", what);
    free_outs(cpu, 3);
    free(outs[2]);

    /* clip_by_norm from the reference's squared norms, rounded to float as given */
    float *v = const_floats(lv, NAN);
    for (size_t s = 0; s < count; s++) v[p.voff + s] = (float)sq[s];
    double *rx = malloc(lx * sizeof *rx);
    float *want = malloc(lx * sizeof *want);
    unsigned char *keep = malloc(lx);
    for (size_t i = 0; i < lx; i++) { rx[i] = x[i]; want[i] = x[i]; keep[i] = 1; }
    size_t clipped = 0;
    for (size_t s = 0; s < count; s++) {
        double norm = sqrt((double)v[p.voff + s]);
        if (!(norm > p.max_norm)) continue;
        clipped++;
        size_t lo, hi;
        ref_segment(starts, count, n, s, &lo, &hi);
        for (size_t j = lo; j < hi; j++) {
            rx[p.xoff + j] = x[p.xoff + j] * ((double)p.max_norm / norm);
            keep[p.xoff + j] = 0;
        }
    }
    slot c3[3] = { { x, lx, 0 }, { st, ls, 0 }, { v, lv, 0 } };
    outs[0] = malloc(lx * sizeof(float));
    outs[2] = NULL;
    p.op = 1;
    snprintf(what, sizeof what, "clip_by_norm %s, cap %.4g (%zu clipped)", tag, (double)p.max_norm, clipped);
    if (run_pair(t, what, c3, 3, op_clip, &p, outs, cpu)) {
        expect_close(t, outs[0], cpu[0], rx, NULL, lx, 2e-6, "%s", what);
        size_t bad = changed_bits(outs[0], want, keep, lx);
        check(t, bad == 0, "%s: %zu elements within the cap or outside the segments changed", what, bad);
    }
    free_outs(cpu, 3);

    /* both on the device in turn, as the optimizer runs them: the clipped norms */
    p.op = 2;
    snprintf(what, sizeof what, "sum_squares + clip_by_norm %s", tag);
    if (run_pair(t, what, s3, 3, op_clip, &p, outs, cpu)) {
        double worst = 0;
        for (size_t s = 0; s < count; s++) {
            size_t lo, hi;
            ref_segment(starts, count, n, s, &lo, &hi);
            double got = 0;
            for (size_t j = lo; j < hi; j++) got += (double)outs[0][p.xoff + j] * outs[0][p.xoff + j];
            double want_norm = fmin(norms[s], (double)p.max_norm);
            if (want_norm > 0) worst = fmax(worst, fabs(sqrt(got) - want_norm) / want_norm);
        }
        check(t, worst <= 1e-5, "%s: segment norms min(norm, cap) within %.3g (tol 1e-5)", what, worst);
        if (cpu[0]) {
            double e = 0;
            for (size_t i = 0; i < lx; i++) e = fmax(e, fabs((double)outs[0][i] - cpu[0][i]) / fmax(1.0, fabs(cpu[0][i])));
            check(t, e <= 2e-5, "%s vs cpu: max err %.3g (tol 2e-5)", what, e);
        }
    }
    free_outs(cpu, 3);
    free(outs[0]);
    FREE_ALL(x, v0, v, st, sq, rv, norms, rx, want, keep);
}

/* Edge cases of clip_by_norm: a norm exactly at the cap is left alone, a NaN norm
 * makes its segment NaN, an infinite one zeroes finite elements (as Keras). */
static void clip_edges(tester *t)
{
    const size_t n = 9;
    uint32_t starts[3] = { 0, 3, 6 };
    float x[9], v[3] = { 4.0f, NAN, INFINITY };
    for (size_t i = 0; i < n; i++) x[i] = (float)i - 4.0f;
    clip_params p = { n, 0, 3, 0, 0, 0, 2.0f, 1 };
    slot s3[3] = { { x, n, 0 }, { starts, 3, 0 }, { v, 3, 0 } };
    float *outs[3] = { malloc(n * sizeof(float)), NULL, NULL }, *cpu[3];
    const char *what = "clip_by_norm: norm 2 at cap 2, NaN norm, infinite norm";
    if (run_pair(t, what, s3, 3, op_clip, &p, outs, cpu)) {
        int ok = memcmp(outs[0], x, 3 * sizeof(float)) == 0;
        for (size_t i = 3; i < 6; i++) ok &= isnan(outs[0][i]);
        for (size_t i = 6; i < 9; i++) ok &= outs[0][i] == 0.0f;
        check(t, ok, "%s: [%g %g %g | %g %g %g | %g %g %g]", what, (double)outs[0][0], (double)outs[0][1],
               (double)outs[0][2], (double)outs[0][3], (double)outs[0][4], (double)outs[0][5], (double)outs[0][6],
               (double)outs[0][7], (double)outs[0][8]);
    }
    free_outs(cpu, 3);
    free(outs[0]);
}

/* Bad calls are refused with a message on every backend: starts missing for several
 * segments, ranges past a buffer, outputs over inputs, a cap that is not positive. */
static void clip_errors(tester *t)
{
    lt_backend *be = t->be;
    lt_buf *x = NULL, *s = NULL;
    if (lt_be_buf_alloc(be, 16, &x) != LT_OK || lt_be_buf_alloc(be, 4, &s) != LT_OK ||
        lt_be_fill(be, x, 0, 16, 1.0f) != LT_OK || lt_be_fill(be, s, 0, 4, 0.0f) != LT_OK) {
        check(t, 0, "clip errors: setup: %s", be->error);
        lt_be_buf_free(be, x);
        lt_be_buf_free(be, s);
        return;
    }
    be->error[0] = 0;
    expect_refused(t, lt_be_sum_squares(be, 8, x, 0, 2, NULL, 0, x, 8), NULL, "sum_squares of 2 segments without starts");
    expect_refused(t, lt_be_sum_squares(be, 12, x, 8, 1, NULL, 0, s, 0), NULL, "sum_squares past the end of x");
    expect_refused(t, lt_be_sum_squares(be, 8, x, 0, 5, s, 0, x, 8), NULL, "sum_squares with 5 starts in a buffer of 4");
    expect_refused(t, lt_be_sum_squares(be, 8, x, 0, 2, s, 0, x, 7), NULL, "sum_squares writing over x");
    expect_refused(t, lt_be_clip_by_norm(be, 8, x, 0, 1, NULL, 0, s, 0, 0.0f), NULL, "clip_by_norm with cap 0");
    expect_refused(t, lt_be_clip_by_norm(be, 8, x, 0, 1, NULL, 0, s, 0, NAN), NULL, "clip_by_norm with a NaN cap");
    expect_refused(t, lt_be_clip_by_norm(be, 8, x, 0, 1, NULL, 0, x, 4, 1.0f), NULL, "clip_by_norm with sumsq inside x");
    expect_refused(t, lt_be_clip_by_norm(be, 8, x, 0, 2, x, 6, s, 0, 1.0f), NULL, "clip_by_norm with starts inside x");
    float h[16];
    lt_status st = lt_be_download(be, x, 0, h, 16);
    int same = st == LT_OK;
    for (int i = 0; i < 16; i++) same &= h[i] == 1.0f;
    check(t, same, "refused calls left x alone");
    lt_be_buf_free(be, x);
    lt_be_buf_free(be, s);
}

/* sum_squares and clip_by_norm: no, one, a few, many (more than a reduction's groups),
 * empty and one-element segments, one segment over a large range, and errors. */
static void test_clipping(tester *t)
{
    clip_case(t, 0, 1, NULL);
    clip_case(t, 1, 1, NULL);
    clip_case(t, 300001, 1, NULL);
    static const uint32_t few[] = { 0, 1, 10, 10, 500 };
    clip_case(t, 1000, 5, few);
    static const uint32_t gap[] = { 5, 12 }; /* the first 5 elements belong to no segment */
    clip_case(t, 20, 2, gap);
    static const uint32_t big[] = { 0, 150000, 150064, 154160, 160000, 199999 };
    clip_case(t, 200000, 6, big);
    uint32_t many[300];
    many[0] = 0;
    for (size_t i = 1; i < 300; i++) many[i] = many[i - 1] + 1 + (uint32_t)(next_u64(&t->rng) % 600);
    clip_case(t, (size_t)many[299] + 77, 300, many);
    clip_edges(t);
    clip_errors(t);
}

/* ------------------------------------------------------------------ randomness */

/* Parameters of one Philox fill. */
typedef struct rand_params {
    int kind; /* 0 uniform, 1 normal, 2 dropout */
    size_t off, n;
    float a, b; /* lo/hi, mean/stddev, rate */
    uint64_t seed, counter, first;
} rand_params;

/* The fill on b[0]. */
static lt_status op_random(lt_backend *be, lt_buf *const *b, const void *pp)
{
    const rand_params *p = pp;
    if (p->kind == 0) return lt_be_random_uniform(be, b[0], p->off, p->n, p->a, p->b, p->seed, p->counter, p->first);
    if (p->kind == 1) return lt_be_random_normal(be, b[0], p->off, p->n, p->a, p->b, p->seed, p->counter, p->first);
    return lt_be_dropout_mask(be, b[0], p->off, p->n, p->a, p->seed, p->counter, p->first);
}

/* Uniform, normal and dropout fills compared bit for bit with lib/backend/philox.h. */
static void test_random(tester *t)
{
    static const struct { uint64_t seed, counter, first; size_t off, n; } cases[] = {
        { 42, 0, 0, 0, 1 },
        { 0xDEADBEEFCAFEull, 12345678901ull, 0, 3, 1001 },
        { 7, 0xFFFFFFFFull, 2, 5, 17 },        /* the block counter crosses 2^32 */
        { 0xFFFFFFFFFFFFFFFFull, 1, 0, 1, 65537 },
        { 99, 1ull << 32, 4097, 2, 333 },   /* a slice starting mid-block */
    };
    static const char *names[] = { "random_uniform", "random_normal", "dropout_mask" };
    char what[200];
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (int kind = 0; kind < 3; kind++)
            for (int v = 0; v < (kind == 2 ? 3 : 1); v++) {
                static const float rates[] = { 0.0f, 0.3f, 0.5f };
                rand_params p = { kind, cases[c].off, cases[c].n, 0, 0, cases[c].seed, cases[c].counter, cases[c].first };
                if (kind == 0) { p.a = -0.5f; p.b = 2.0f; }
                if (kind == 1) { p.a = 0.5f; p.b = 2.0f; }
                if (kind == 2) p.a = rates[v];
                size_t len = p.off + p.n + 2;
                float *init = const_floats(len, -7.0f), *want = const_floats(len, -7.0f);
                for (size_t i = 0; i < p.n; i++) {
                    float x;
                    uint64_t e = p.first + i;
                    if (kind == 0) x = lt_philox_uniform(p.seed, p.counter, e, p.a, p.b);
                    else if (kind == 1) x = p.a + p.b * lt_philox_normal(p.seed, p.counter, e);
                    else x = lt_philox_uniform(p.seed, p.counter, e, 0.0f, 1.0f) >= p.a ? 1.0f / (1.0f - p.a) : 0.0f;
                    want[p.off + i] = x;
                }
                slot s[1] = { { init, len, 0 } };
                float *outs[1] = { malloc(len * sizeof(float)) }, *cpu[1];
                snprintf(what, sizeof what, "%s seed=%llu counter=%llu first=%llu off=%zu n=%zu%s", names[kind],
                         (unsigned long long)p.seed, (unsigned long long)p.counter, (unsigned long long)p.first, p.off, p.n,
                         kind == 2 ? (v == 0 ? " rate=0" : v == 1 ? " rate=0.3" : " rate=0.5") : "");
                if (run_pair(t, what, s, 1, op_random, &p, outs, cpu))
                    expect_bits(t, outs[0], cpu[0], want, len, "%s", what);
                free_outs(cpu, 1);
                free(outs[0]);
                free(init); free(want);
            }
}

/* ------------------------------------------------------------------ operand checks */

/* Bad calls get the same message on every backend (lib/backend/backend_check.c checks
 * every op's operands for both); calls the ops allow, such as outputs aliasing inputs where
 * backend.h says they may, stay accepted. */
static void test_messages(tester *t)
{
    lt_backend *be = t->be;
    lt_buf *b = NULL;
    if (lt_be_buf_alloc(be, 16, &b) != LT_OK || lt_be_fill(be, b, 0, 16, 0.5f) != LT_OK) {
        check(t, 0, "messages: setup: %s", be->error);
        lt_be_buf_free(be, b);
        return;
    }
    const lt_backend_optim_hyper h = {0.01f, 0.0f, 0, 0.9f, 0.9f, 0.999f, 1e-7f};
    float host[8];
    char big[160];
    snprintf(big, sizeof big, "act_backward: %zu x 3 elements overflow size_t", SIZE_MAX / 2);
    expect_msg(t, lt_be_upload(be, b, 0, NULL, 4), "upload: src is NULL");
    expect_msg(t, lt_be_download(be, b, 10, host, 8),
               "download: buf range [10, 10 + 8) exceeds its buffer of 16 elements");
    expect_msg(t, lt_be_copy(be, b, 0, b, 4, 8), "copy: dst overlaps src");
    expect_msg(t, lt_be_fill(be, NULL, 0, 4, 1.0f), "fill: buffer buf is NULL");
    expect_msg(t, lt_be_gemm(be, 0, 0, 2, 2, 3, 1.0f, b, 0, 2, b, 0, 2, 0.0f, b, 8, 2),
               "gemm: leading dimension of A (2) < 3");
    expect_msg(t, lt_be_gemm(be, 0, 1, 2, 2, 3, 1.0f, b, 0, 3, b, 12, 3, 0.0f, b, 8, 2),
               "gemm: B range [12, 12 + 6) exceeds its buffer of 16 elements");
    expect_msg(t, lt_be_mul(be, 4, b, 0, b, 4, NULL, 0), "mul: buffer z is NULL");
    expect_msg(t, lt_be_sum(be, 0, NULL, 0, b, 16), "sum: out range [16, 16 + 1) exceeds its buffer of 16 elements");
    expect_msg(t, lt_be_bias_act_forward(be, 2, 2, b, 0, NULL, 0, (lt_backend_act)7, 0.0f, b, 0),
               "bias_act_forward: unknown activation 7");
    expect_msg(t, lt_be_bias_act_forward(be, 2, 2, b, 0, b, 15, LT_BACT_RELU, 0.0f, b, 0),
               "bias_act_forward: bias range [15, 15 + 2) exceeds its buffer of 16 elements");
    expect_msg(t, lt_be_act_backward(be, SIZE_MAX / 2, 3, LT_BACT_TANH, 0.0f, b, 0, b, 0, b, 0), big);
    static const struct {
        size_t cols;
        lt_backend_act act;
        float alpha;
        int y_dz; /* y and dz given */
        size_t yoff, dzoff, dboff;
        const char *want;
    } bab[] = {
        {4, LT_BACT_LINEAR, 0.0f, 0, 0, 0, 14,
         "bias_act_backward: db range [14, 14 + 4) exceeds its buffer of 16 elements"},
        {2, LT_BACT_LINEAR, 0.0f, 1, 4, 0, 8, "bias_act_backward: y and dz must be NULL when linear"},
        {2, LT_BACT_ELU, 1.0f, 0, 0, 0, 8, "bias_act_backward: activation 3 needs y and dz"},
        {2, LT_BACT_SOFTMAX, 0.0f, 1, 4, 0, 8, "bias_act_backward: softmax is not pointwise"},
        {2, LT_BACT_TANH, 0.0f, 1, 4, 0, 2, "bias_act_backward: db overlaps dy"},
        {2, LT_BACT_TANH, 0.0f, 1, 4, 6, 12, "bias_act_backward: dz overlaps y"},
        {2, LT_BACT_TANH, 0.0f, 1, 8, 2, 12, "bias_act_backward: dz overlaps dy"},
    };
    for (size_t k = 0; k < sizeof bab / sizeof bab[0]; k++)
        expect_msg(t,
                   lt_be_bias_act_backward(be, 2, bab[k].cols, bab[k].act, bab[k].alpha, bab[k].y_dz ? b : NULL,
                                           bab[k].yoff, b, 0, bab[k].y_dz ? b : NULL, bab[k].dzoff, 0.0f, b,
                                           bab[k].dboff),
                   bab[k].want);
    expect_msg(t, lt_be_gather_rows(be, 1, 4, b, 14, b, 0, b, 4),
               "gather_rows: src range [14, 14 + 4) exceeds its buffer of 16 elements");
    expect_msg(t, lt_be_loss(be, LT_BLOSS_MSE, 2, 2, b, 0, b, 4, b, 9, 1.0f, b, 8), "loss: out overlaps grad");
    expect_msg(t, lt_be_loss(be, LT_BLOSS_MSE, 2, 2, b, 0, b, 4, b, 5, 1.0f, NULL, 0), "loss: out overlaps target");
    expect_msg(t, lt_be_loss(be, (lt_backend_loss)9, 2, 2, b, 0, b, 4, b, 8, 1.0f, NULL, 0),
               "loss: unknown loss kind 9");
    expect_msg(t, lt_be_optim_step(be, LT_BOPT_ADAM, NULL, 4, b, 0, b, 4, b, 8),
               "optim_step: hyper-parameters are NULL");
    expect_msg(t, lt_be_optim_step(be, LT_BOPT_ADAM, &h, 8, b, 0, b, 0, b, 8),
               "optim_step: state range [8, 8 + 16) exceeds its buffer of 16 elements");
    expect_msg(t, lt_be_dropout_mask(be, b, 0, 4, 1.0f, 1, 0, 0), "dropout_mask: rate 1 is outside [0, 1)");
    expect_msg(t, lt_be_dropout_mask(be, NULL, 0, 4, 0.5f, 1, 0, 0), "dropout_mask: buffer mask is NULL");
    expect_msg(t, lt_be_random_normal(be, b, 17, 1, 0.0f, 1.0f, 1, 0, 0),
               "random_normal: buf range [17, 17 + 1) exceeds its buffer of 16 elements");
    expect_msg(t, lt_be_count_nonfinite(be, 4, NULL, 0, b, 0), "count_nonfinite: buffer x is NULL");
    expect_msg(t, lt_be_copy_strided(be, 2, 2, 2, b, 0, 4, 2, 0.5f, b, 8, 4, 2),
               "copy_strided: beta 0.5 is not 0 or 1");
    /* outputs that backend.h lets alias their inputs */
    lt_status st = lt_be_mul(be, 8, b, 0, b, 8, b, 0);
    check(t, st == LT_OK, "mul with z = x accepted: %s", be->error);
    st = lt_be_axpby(be, 8, 2.0f, b, 0, 1.0f, b, 0);
    check(t, st == LT_OK, "axpby with y = x accepted: %s", be->error);
    st = lt_be_bias_act_forward(be, 2, 4, b, 0, b, 8, LT_BACT_TANH, 0.0f, b, 0);
    check(t, st == LT_OK, "bias_act_forward with y = x accepted: %s", be->error);
    st = lt_be_loss(be, LT_BLOSS_MSE, 2, 2, b, 0, b, 4, b, 8, 1.0f, b, 0);
    check(t, st == LT_OK, "loss with grad = pred accepted: %s", be->error);
    st = lt_be_gemm(be, 0, 0, 2, 2, 2, 1.0f, b, 0, 4, b, 2, 4, 0.0f, b, 8, 4); /* A, B, C interleave in one buffer */
    check(t, st == LT_OK, "gemm with A, B and C interleaved in one buffer accepted: %s", be->error);
    lt_be_buf_free(be, b);
}

/* 1 when group is to run: LT_OPS unset, or a comma-separated list naming it. */
static int group_on(const char *group)
{
    const char *list = getenv("LT_OPS");
    if (!list || !list[0]) return 1;
    size_t len = strlen(group);
    for (const char *p = list; *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == len && strncmp(p, group, len) == 0) return 1;
        p += n + (end != NULL);
    }
    return 0;
}

/* Runs every op test on t->be (the groups LT_OPS names, when set). */
static void test_backend(tester *t)
{
    static const struct { const char *name; void (*run)(tester *); } groups[] = {
        {"vectors", test_vectors}, {"gemm", test_gemm}, {"gemm-edge", test_gemm_edge},
        {"gemm-large", test_gemm_large}, {"layers", test_layers},
        {"losses", test_losses}, {"optimizers", test_optimizers}, {"clipping", test_clipping},
        {"random", test_random}, {"messages", test_messages},
    };
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
        if (group_on(groups[i].name)) groups[i].run(t);
}

/* The CPU backend accounts its buffers against the machine's memory: a buffer larger
 * than what is left is NOMEM with a message at once (Linux would hand it out and kill
 * the process when it is touched), and freeing returns the room. */
static void test_cpu_memory_account(tester *t)
{
    lt_backend *be = t->be;
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0) { printf("SKIP [cpu] memory account: physical memory unknown\n"); return; }
    size_t ram = (size_t)pages * (size_t)page, half = ram / 2 / 4 + 1; /* just over half the RAM, in floats */
    lt_buf *a = NULL, *b = NULL;
    lt_status st = lt_be_buf_alloc(be, half, &a); /* never touched: costs no real memory */
    if (st != LT_OK && !strstr(be->error, "were asked for")) { /* the system itself refused (strict overcommit) */
        printf("SKIP [cpu] memory account: the system refuses %zu untouched bytes: %s\n", half * 4, be->error);
        return;
    }
    check(t, st == LT_OK, "buf_alloc of half the RAM: status %d, \"%s\"", (int)st, be->error);
    st = lt_be_buf_alloc(be, half, &b);
    /* the message names the bytes asked for and what is available */
    char asked[64];
    snprintf(asked, sizeof asked, "%zu bytes (", (half * 4 + 63) / 64 * 64);
    check(t, st == LT_ERR_NOMEM && !b && strstr(be->error, asked) && strstr(be->error, "were asked for, but only") &&
                 strstr(be->error, "are available"),
          "a second half of the RAM -> NOMEM naming the request and what is available: status %d, \"%s\"", (int)st,
          be->error);
    lt_be_buf_free(be, a);
    st = lt_be_buf_alloc(be, half, &b);
    check(t, st == LT_OK, "after freeing, half the RAM again: status %d, \"%s\"", (int)st, be->error);
    lt_be_buf_free(be, b);
}

#ifdef LT_HAVE_OPENCL
/* ------------------------------------------------------------------ OpenCL specifics */

/* Absurd sizes and bad arguments fail cleanly with a message and leave the backend usable. */
static void test_cl_errors(tester *t)
{
    lt_backend *be = t->be;
    lt_buf *buf = (lt_buf *)&buf; /* any non-NULL marker: a failed alloc must reset it */
    lt_status st = lt_be_buf_alloc(be, (size_t)1 << 40, &buf);
    check(t, st == LT_ERR_NOMEM && buf == NULL && be->error[0], "buf_alloc 2^40 floats -> NOMEM: status %d, \"%s\"", (int)st, be->error);
    be->error[0] = 0;
    st = lt_be_buf_alloc(be, SIZE_MAX / 2, &buf);
    check(t, st == LT_ERR_NOMEM && buf == NULL && be->error[0], "buf_alloc SIZE_MAX/2 floats -> NOMEM: status %d, \"%s\"", (int)st, be->error);
    st = lt_be_buf_alloc(be, 16, &buf);
    if (st != LT_OK) { check(t, 0, "buf_alloc 16: %s", be->error); return; }
    be->error[0] = 0;
    st = lt_be_fill(be, buf, 10, 7, 1.0f);
    check(t, st == LT_ERR_ARG && be->error[0], "fill past the end -> ARG: status %d, \"%s\"", (int)st, be->error);
    be->error[0] = 0;
    st = lt_be_gemm(be, 0, 0, 2, 2, 3, 1.0f, buf, 0, 2, buf, 0, 2, 0.0f, buf, 8, 2);
    check(t, st == LT_ERR_ARG && be->error[0], "gemm with lda < k -> ARG: status %d, \"%s\"", (int)st, be->error);
    be->error[0] = 0;
    st = lt_be_dropout_mask(be, buf, 0, 4, 1.0f, 1, 0, 0);
    check(t, st == LT_ERR_ARG && be->error[0], "dropout rate 1 -> ARG: status %d, \"%s\"", (int)st, be->error);
    float h[16] = { 0 };
    st = lt_be_fill(be, buf, 0, 16, 3.0f);
    if (st == LT_OK) st = lt_be_download(be, buf, 0, h, 16);
    check(t, st == LT_OK && h[0] == 3.0f && h[15] == 3.0f, "backend still works after the errors");
    lt_be_buf_free(be, buf);
    char err[512];
    lt_backend *other = NULL;
    st = lt_opencl_backend_open(&other, 1000, err, sizeof err);
    check(t, st == LT_ERR_DEVICE && other == NULL && err[0], "open opencl:1000 -> DEVICE: \"%s\"", err);
    if (other) lt_be_destroy(other);
}

/* CLBlast's GEMM temp buffer: made by the first GEMM, grown only when a GEMM needs more,
 * so repeating GEMMs of shapes already seen (steady-state training) allocates nothing. */
static void test_cl_gemm_temp(tester *t)
{
    lt_backend *be = t->be;
    size_t bytes[4] = { 0 };          /* [0] before, [r + 1] after round r */
    unsigned long allocs[4] = { 0 };
    if (!lt_cl_gemm_temp_info(be, &bytes[0], &allocs[0])) {
        printf("SKIP [%s] GEMM temp buffer: built with CLBlast's C API (no C++ compiler)\n", t->tag);
        return;
    }
    check(t, allocs[0] >= 1 && bytes[0] > 0, "GEMM temp buffer exists after the GEMM tests: %zu bytes, "
           "%lu allocation(s)", bytes[0], allocs[0]);
    /* more than the 64 KiB minimum only when a GEMM needed padded copies (device-dependent) */
    printf("INFO [%s] GEMM temp buffer %s CLBlast's indirect path (%zu bytes)\n", t->tag,
           bytes[0] > ((size_t)1 << 16) ? "was used by" : "was not needed by", bytes[0]);
    /* the big and a small shape in all four transpose combinations, three rounds */
    size_t m = 905, n = 911, k = 903, na = 5 + 911 * 906, nb = 3 + 911 * 912, nc = 7 + m * (n + 2);
    lt_buf *a = NULL, *b = NULL, *c = NULL;
    lt_status st = lt_be_buf_alloc(be, na, &a);
    if (st == LT_OK) st = lt_be_buf_alloc(be, nb, &b);
    if (st == LT_OK) st = lt_be_buf_alloc(be, nc, &c);
    if (st == LT_OK) st = lt_be_fill(be, a, 0, na, 0.5f);
    if (st == LT_OK) st = lt_be_fill(be, b, 0, nb, 0.25f);
    for (int round = 0; round < 3 && st == LT_OK; round++) {
        for (int tr = 0; tr < 4 && st == LT_OK; tr++) {
            int ta = tr >> 1, tb = tr & 1;
            st = lt_be_gemm(be, ta, tb, m, n, k, 1.0f, a, 5, (ta ? m : k) + 3, b, 3, (tb ? k : n) + 1,
                               0.0f, c, 7, n + 2);
            if (st == LT_OK)
                st = lt_be_gemm(be, ta, tb, 3, 17, 65, 1.0f, a, 5, 66, b, 3, 66, 1.0f, c, 7, 19);
        }
        lt_cl_gemm_temp_info(be, &bytes[round + 1], &allocs[round + 1]);
    }
    float h[2] = { 0 };
    if (st == LT_OK) st = lt_be_download(be, c, 7 + 4 * (n + 2), h, 2); /* row 4: big GEMM only */
    check(t, st == LT_OK && h[0] == 0.125f * (float)k && h[1] == h[0], "big GEMMs in three rounds: %g (want %g)%s%s",
           (double)h[0], 0.125 * (double)k, st == LT_OK ? "" : ": ", st == LT_OK ? "" : be->error);
    /* round 0 has seen every shape; rounds 1 and 2 must not allocate */
    check(t, st == LT_OK && allocs[3] == allocs[1] && bytes[3] == bytes[1],
           "repeated GEMMs allocate no temp: %lu -> %lu allocation(s), %zu -> %zu bytes",
           allocs[1], allocs[3], bytes[1], bytes[3]);
    lt_be_buf_free(be, a);
    lt_be_buf_free(be, b);
    lt_be_buf_free(be, c);
}

/* Two backends on one device in one process, used alternately. */
static void test_cl_two_backends(tester *t, int index)
{
    char err[1024];
    lt_backend *b2 = NULL;
    lt_status st = lt_opencl_backend_open(&b2, index, err, sizeof err);
    if (st != LT_OK) { check(t, 0, "second backend: %s", err); return; }
    lt_backend *bs[2] = { t->be, b2 };
    lt_buf *x[2] = { NULL, NULL };
    float h[2][5];
    st = LT_OK;
    for (int i = 0; i < 2 && st == LT_OK; i++) st = lt_be_buf_alloc(bs[i], 5, &x[i]);
    for (int i = 0; i < 2 && st == LT_OK; i++) st = lt_be_fill(bs[i], x[i], 0, 5, (float)(i + 1));
    for (int i = 0; i < 2 && st == LT_OK; i++) st = lt_be_sum(bs[i], 4, x[i], 0, x[i], 4);
    for (int i = 0; i < 2 && st == LT_OK; i++) st = lt_be_download(bs[i], x[i], 0, h[i], 5);
    check(t, st == LT_OK && h[0][4] == 4.0f && h[1][4] == 8.0f && h[1][0] == 2.0f,
           "two backends on one device in one process");
    for (int i = 0; i < 2; i++) lt_be_buf_free(bs[i], x[i]);
    lt_be_destroy(b2);
}

/* Sets environment variable name to value (NULL: unsets it). */
static void set_env(const char *name, const char *value)
{
    if (value) setenv(name, value, 1);
    else unsetenv(name);
}

/* The device limits latent keeps to, lowered through the environment: the limits the
 * run was started with are kept to (the capped meson runs), a backend opened with lower
 * ones keeps to those and still computes right, a buffer over the allocation limit is
 * refused with a message naming it, and a malformed value is refused at open. */
static void test_cl_limits(tester *t, int index)
{
    static const char *const vars[3] = {"LATENT_CL_MAX_WORK_GROUP_SIZE", "LATENT_CL_LOCAL_MEM_SIZE",
                                        "LATENT_CL_MAX_MEM_ALLOC_SIZE"};
    size_t wg = 0, local = 0, alloc = 0;
    lt_cl_limits_info(t->be, &wg, &local, &alloc);
    const char *given_wg = getenv(vars[0]), *given_local = getenv(vars[1]);
    check(t, wg >= 1 && (wg & (wg - 1)) == 0 && (!given_wg || wg <= strtoull(given_wg, NULL, 10)) &&
          (!given_local || (local <= strtoull(given_local, NULL, 10) && wg * 4 <= local)),
          "limits: the largest work-group (%zu) and local memory (%zu bytes) keep to %s=%s, %s=%s", wg, local,
          vars[0], given_wg ? given_wg : "(unset)", vars[1], given_local ? given_local : "(unset)");
    char *saved[3];
    for (int i = 0; i < 3; i++) saved[i] = getenv(vars[i]) ? strdup(getenv(vars[i])) : NULL;

    /* 8 work-items by the group cap, then 64 bytes of local memory make it 16 floats: 8 */
    set_env(vars[0], "8");
    set_env(vars[1], "64");
    set_env(vars[2], "1048576");
    char err[1024];
    lt_backend *small = NULL;
    lt_status st = lt_opencl_backend_open(&small, index, err, sizeof err);
    if (check(t, st == LT_OK, "limits: opened with a work-group of 8, 64 bytes of local memory, 1 MiB buffers%s%s",
              st == LT_OK ? "" : ": ", st == LT_OK ? "" : err)) {
        lt_cl_limits_info(small, &wg, &local, &alloc);
        check(t, wg == 8 && local == 64 && alloc == 1048576, "limits: kept to (work-group %zu, local %zu, "
              "buffers %zu)", wg, local, alloc);
        /* sums and a column reduction, the kernels with __local arrays, against the CPU */
        size_t n = 100003, rows = 37, cols = 301;
        float *h = malloc(n * sizeof *h), got[3] = {0}, want[3] = {0};
        lt_buf *x = NULL, *out = NULL, *db = NULL, *y = NULL, *big = NULL;
        st = h ? lt_be_buf_alloc(small, n, &x) : LT_ERR_NOMEM;
        if (st == LT_OK) st = lt_be_buf_alloc(small, 3, &out);
        for (size_t i = 0; h && i < n; i++) h[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.25f;
        if (st == LT_OK) st = lt_be_upload(small, x, 0, h, n);
        if (st == LT_OK) st = lt_be_sum(small, n, x, 0, out, 0);
        if (st == LT_OK) st = lt_be_buf_alloc(small, rows * cols, &y);
        if (st == LT_OK) st = lt_be_buf_alloc(small, cols, &db);
        if (st == LT_OK) st = lt_be_fill(small, y, 0, rows * cols, 0.5f);
        if (st == LT_OK)
            st = lt_be_bias_act_backward(small, rows, cols, LT_BACT_LINEAR, 0.0f, NULL, 0, x, 0, NULL, 0, 0.0f, db, 0);
        if (st == LT_OK) st = lt_be_download(small, out, 0, got, 1);
        if (st == LT_OK) st = lt_be_download(small, db, cols - 2, got + 1, 2);
        double sum = 0, col[2] = {0, 0};
        for (size_t i = 0; h && i < n; i++) sum += h[i];
        for (size_t r = 0; h && r < rows; r++) {
            col[0] += h[r * cols + cols - 2];
            col[1] += h[r * cols + cols - 1];
        }
        want[0] = (float)sum;
        want[1] = (float)col[0];
        want[2] = (float)col[1];
        check(t, st == LT_OK && fabs(got[0] - want[0]) <= 1e-3 * fabs(want[0]) + 1e-2 &&
              fabs(got[1] - want[1]) <= 1e-4 + 1e-5 * fabs(want[1]) && fabs(got[2] - want[2]) <= 1e-4 + 1e-5 * fabs(want[2]),
              "limits: sum and column sums with 8-item groups: %g %g %g (want %g %g %g)%s%s", (double)got[0],
              (double)got[1], (double)got[2], (double)want[0], (double)want[1], (double)want[2],
              st == LT_OK ? "" : ": ", st == LT_OK ? "" : small->error);
        st = lt_be_buf_alloc(small, 262145, &big);
        check(t, st == LT_ERR_NOMEM && big == NULL && strstr(small->error, "CL_DEVICE_MAX_MEM_ALLOC_SIZE"),
              "limits: a buffer over 1 MiB is refused: \"%s\"", small->error);
        lt_be_buf_free(small, big);
        lt_be_buf_free(small, x);
        lt_be_buf_free(small, out);
        lt_be_buf_free(small, y);
        lt_be_buf_free(small, db);
        free(h);
        lt_be_destroy(small);
    }
    set_env(vars[2], NULL);
    set_env(vars[1], "0");
    small = NULL;
    st = lt_opencl_backend_open(&small, index, err, sizeof err);
    check(t, st == LT_ERR_ARG && !small && strstr(err, vars[1]), "limits: %s=0 refused at open: \"%s\"", vars[1],
          err);
    if (small) lt_be_destroy(small);
    for (int i = 0; i < 3; i++) {
        set_env(vars[i], saved[i]);
        free(saved[i]);
    }
}

/* Path of the single cl-*.bin entry in dir, or "" when there is not exactly one. */
static void find_entry(const char *dir, char *path, size_t len)
{
    path[0] = 0;
    DIR *d = opendir(dir);
    if (!d) return;
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strncmp(e->d_name, "cl-", 3) == 0 && strstr(e->d_name, ".bin") && !strstr(e->d_name, ".tmp")) {
            snprintf(path, len, "%s/%s", dir, e->d_name);
            count++;
        }
    closedir(d);
    if (count != 1) path[0] = 0;
}

/* Opens device index and checks a small op works; 1 on success. */
static int open_and_use(int index, char *err, size_t len)
{
    lt_backend *be = NULL;
    if (lt_opencl_backend_open(&be, index, err, len) != LT_OK) return 0;
    lt_buf *b = NULL;
    float h[3] = { 0 };
    int ok = lt_be_buf_alloc(be, 3, &b) == LT_OK && lt_be_random_uniform(be, b, 0, 3, 0, 1, 5, 6, 0) == LT_OK &&
             lt_be_download(be, b, 0, h, 3) == LT_OK && h[2] == lt_philox_uniform(5, 6, 2, 0, 1);
    if (!ok) snprintf(err, len, "%s", be->error);
    lt_be_buf_free(be, b);
    lt_be_destroy(be);
    return ok;
}

/* The program cache: an entry appears, and corrupt or foreign entries are rebuilt. */
static void test_cl_cache(tester *t, int index)
{
    char tmpl[] = "/tmp/latent-cache-test-XXXXXX";
    if (!mkdtemp(tmpl)) { check(t, 0, "program cache: mkdtemp failed"); return; }
    const char *old = getenv("XDG_CACHE_HOME");
    char *saved = old ? strdup(old) : NULL;
    setenv("XDG_CACHE_HOME", tmpl, 1);
    char dir[256], path[600], err[1024];
    snprintf(dir, sizeof dir, "%s/latent", tmpl);
    int ok = open_and_use(index, err, sizeof err);
    find_entry(dir, path, sizeof path);
    check(t, ok && path[0], "program cache: entry written under $XDG_CACHE_HOME/latent%s%s", ok ? "" : ": ", ok ? "" : err);
    if (path[0]) {
        FILE *f = fopen(path, "r+b");
        long size = 0;
        if (f) { /* flip bytes in the middle of the binary */
            fseek(f, 0, SEEK_END);
            size = ftell(f);
            fseek(f, size / 2, SEEK_SET);
            fwrite("corrupt!", 1, 8, f);
            fclose(f);
        }
        ok = open_and_use(index, err, sizeof err);
        f = fopen(path, "rb");
        long size2 = -1;
        if (f) { fseek(f, 0, SEEK_END); size2 = ftell(f); fclose(f); }
        check(t, ok && size2 == size, "program cache: corrupt entry ignored and rewritten%s%s", ok ? "" : ": ", ok ? "" : err);
        f = fopen(path, "wb");
        if (f) { fputs("not a program", f); fclose(f); }
        ok = open_and_use(index, err, sizeof err);
        check(t, ok, "program cache: truncated entry ignored%s%s", ok ? "" : ": ", ok ? "" : err);
        ok = open_and_use(index, err, sizeof err);
        check(t, ok, "program cache: reopened from the rebuilt entry%s%s", ok ? "" : ": ", ok ? "" : err);
        remove(path);
    }
    rmdir(dir);
    rmdir(tmpl);
    if (saved) { setenv("XDG_CACHE_HOME", saved, 1); free(saved); }
    else unsetenv("XDG_CACHE_HOME");
}

/* Split-K GEMM (gemm.cl): a backend opened with LATENT_CL_SPLIT_K=5 splits every GEMM it
 * can and matches the CPU in all four transpose cases, on slices that do not divide k,
 * with and without beta; a malformed value is refused at open. */
static void test_cl_split_k(tester *t, int index)
{
    const char *var = "LATENT_CL_SPLIT_K";
    char *saved = getenv(var) ? strdup(getenv(var)) : NULL;
    char err[1024];
    lt_backend *split = NULL;
    set_env(var, "5");
    lt_status st = lt_opencl_backend_open(&split, index, err, sizeof err);
    if (check(t, st == LT_OK, "split-K: opened with %s=5%s%s", var, st == LT_OK ? "" : ": ", st == LT_OK ? "" : err)) {
        static const size_t shapes[][3] = { { 16, 144, 1000 }, { 28, 128, 1800 }, { 3, 17, 65 }, { 33, 1, 47 },
                                            { 130, 65, 3 } };
        lt_backend *own = t->be;
        unsigned long before = 0, after = 0;
        int fits = 0;
        lt_cl_split_k_info(split, &before, &fits);
        t->be = split;
        for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
            for (int tr = 0; tr < 4; tr++)
                gemm_one(t, tr >> 1, tr & 1, shapes[i][0], shapes[i][1], shapes[i][2], (tr + i) & 1 ? 0.0f : -0.5f);
        t->be = own;
        lt_cl_split_k_info(split, &after, NULL);
        /* k = 3 is one tile deep: those 4 stay whole; under a work-group cap below 16 x 16
         * (the capped runs) none is split */
        check(t, after - before == (fits ? 16u : 0u), "split-K: %lu of 20 GEMMs split (want %d)", after - before,
              fits ? 16 : 0);
        lt_be_destroy(split);
    }
    set_env(var, "five");
    st = lt_opencl_backend_open(&split, index, err, sizeof err);
    check(t, st == LT_ERR_ARG && strstr(err, var), "split-K: %s=five refused at open: \"%s\"", var, err);
    if (st == LT_OK) lt_be_destroy(split);
    set_env(var, saved);
    free(saved);
}
#endif

/* Every op test on one backend; then the CPU's memory accounting, or OpenCL's GEMM
 * temp buffer, error paths, second backend and program cache. */
static void backend_checks_ops(tester *t, void *ctx)
{
    (void)ctx;
    test_backend(t);
    if (t->is_cpu) {
        test_cpu_memory_account(t);
        return;
    }
#ifdef LT_HAVE_OPENCL
    if (!group_on("opencl")) return;
    test_cl_gemm_temp(t);
    test_cl_errors(t);
    test_cl_two_backends(t, t->device);
    test_cl_limits(t, t->device);
    test_cl_split_k(t, t->device);
    test_cl_cache(t, t->device);
#endif
}

/* Runs every backend's checks. */
int main(void)
{
    run_backends(&(backend_run){.checks = backend_checks_ops, .seed = 12345, .verbose = 1});
    return DONE();
}
