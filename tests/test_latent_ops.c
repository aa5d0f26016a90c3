/* The latent-space backend ops of lib/backend/backend.h (vae_sample_forward,
 * vae_sample_backward, kl_normal, sparsity_kl, l1_penalty) on the CPU fallback and on
 * each OpenCL device.
 *
 * Every op is checked against a double-precision reference written here from
 * backend.h's formulas, at nonzero buffer offsets with guard cells around each output,
 * over several sizes (one row, odd widths, sizes that span several reduction chunks and
 * work-groups); the eps == NULL (inference) paths; vae_sample_backward against central
 * finite differences of sum(y * w) + kl_scale * kl_normal computed with the backend's own
 * forward ops (it is the true gradient of forward + KL); sparsity_kl's grad against
 * finite differences of scale * out with respect to one row's activation (that is, the
 * column sum); the clamp of sparsity_kl's mean; l1_penalty's dx exactly, with dy NULL,
 * dx NULL, and dx aliasing dy; NaN propagation; OpenCL against the CPU; the CPU's bits
 * against its thread count and OpenCL's sums run twice; bad arguments refused with
 * LT_ERR_ARG and a message, and empty sizes accepted (reductions writing 0).
 *
 * Prints one line per failure and a final tally; exits 0 only when everything passed. */
#include "harness.h"

/* Buffer offsets of the operands (all different, all nonzero). */
#define XOFF 3
#define EOFF 6
#define YOFF 5
#define DYOFF 9
#define DXOFF 4
#define OOFF 2
#define COFF 7
#define GOFF 8

/* rows x [mean (d) | logvar (d)] with means in [-2, 2] and log-variances in [-lv, lv]. */
static float *rand_latent(tester *t, size_t rows, size_t d, double lv)
{
    float *x = malloc((rows * d > 0 ? 2 * rows * d : 1) * sizeof *x);
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < d; j++) {
            x[r * 2 * d + j] = (float)drand(t, -2.0, 2.0);
            x[r * 2 * d + d + j] = (float)drand(t, -lv, lv);
        }
    return x;
}

/* ------------------------------------------------------------------ runners */

/* vae_sample_forward of rows x d (x rows x 2d, eps rows x d or NULL) on guarded buffers;
 * y gets rows x d. 0 on failure (recorded). */
static int run_forward(tester *t, const char *what, size_t rows, size_t d, const float *x, const float *eps, float *y)
{
    lt_backend *be = t->be;
    size_t n = rows * d;
    lt_buf *b[3] = {make_buf(t, what, XOFF, x, 2 * n), eps ? make_buf(t, what, EOFF, eps, n) : NULL,
                    make_buf(t, what, YOFF, NULL, n)};
    int ok = 0;
    if (b[0] && b[2] && (!eps || b[1])) {
        lt_status st = lt_be_vae_sample_forward(be, rows, d, b[0], XOFF, b[1], EOFF, b[2], YOFF);
        if (check(t, st == LT_OK, "%s: vae_sample_forward: %s", what, be->error)) ok = fetch(t, what, "y", b[2], YOFF, y, n);
    }
    free_bufs(t, b, 3);
    return ok;
}

/* vae_sample_backward of rows x d on guarded buffers; dx gets rows x 2d. 0 on failure. */
static int run_backward(tester *t, const char *what, size_t rows, size_t d, const float *x, const float *eps,
                        const float *dy, float kl_scale, float *dx)
{
    lt_backend *be = t->be;
    size_t n = rows * d;
    lt_buf *b[4] = {make_buf(t, what, XOFF, x, 2 * n), eps ? make_buf(t, what, EOFF, eps, n) : NULL,
                    make_buf(t, what, DYOFF, dy, n), make_buf(t, what, DXOFF, NULL, 2 * n)};
    int ok = 0;
    if (b[0] && b[2] && b[3] && (!eps || b[1])) {
        lt_status st = lt_be_vae_sample_backward(be, rows, d, b[0], XOFF, b[1], EOFF, b[2], DYOFF, kl_scale, b[3],
                                                    DXOFF);
        if (check(t, st == LT_OK, "%s: vae_sample_backward: %s", what, be->error))
            ok = fetch(t, what, "dx", b[3], DXOFF, dx, 2 * n);
    }
    free_bufs(t, b, 4);
    return ok;
}

/* kl_normal of rows x d on guarded buffers into *out. 0 on failure. */
static int run_kl(tester *t, const char *what, size_t rows, size_t d, const float *x, float *out)
{
    lt_backend *be = t->be;
    lt_buf *b[2] = {make_buf(t, what, XOFF, x, 2 * rows * d), make_buf(t, what, OOFF, NULL, 1)};
    int ok = 0;
    if (b[0] && b[1]) {
        lt_status st = lt_be_kl_normal(be, rows, d, b[0], XOFF, b[1], OOFF);
        if (check(t, st == LT_OK, "%s: kl_normal: %s", what, be->error)) ok = fetch(t, what, "out", b[1], OOFF, out, 1);
    }
    free_bufs(t, b, 2);
    return ok;
}

/* sparsity_kl on guarded buffers into *out and, when grad != NULL, grad (cols). 0 on failure. */
static int run_sparsity(tester *t, const char *what, size_t rows, size_t cols, const float *colsum, float rho,
                        float scale, float *out, float *grad)
{
    lt_backend *be = t->be;
    lt_buf *b[3] = {make_buf(t, what, COFF, colsum, cols), make_buf(t, what, OOFF, NULL, 1),
                    grad ? make_buf(t, what, GOFF, NULL, cols) : NULL};
    int ok = 0;
    if (b[0] && b[1] && (!grad || b[2])) {
        lt_status st = lt_be_sparsity_kl(be, rows, cols, b[0], COFF, rho, b[1], OOFF, scale, b[2], GOFF);
        if (check(t, st == LT_OK, "%s: sparsity_kl: %s", what, be->error))
            ok = fetch(t, what, "out", b[1], OOFF, out, 1) && (!grad || fetch(t, what, "grad", b[2], GOFF, grad, cols));
    }
    free_bufs(t, b, 3);
    return ok;
}

/* How l1_penalty is called: with a separate dx, with dx aliasing dy, with dy NULL, or
 * with dx NULL (value only). */
enum { L1_DX, L1_ALIAS, L1_NO_DY, L1_VALUE };

/* l1_penalty of n elements on guarded buffers into *out and (unless L1_VALUE) dx. */
static int run_l1(tester *t, const char *what, int mode, size_t n, const float *x, const float *dy, float scale,
                  float *out, float *dx)
{
    lt_backend *be = t->be;
    lt_buf *b[4] = {make_buf(t, what, XOFF, x, n), make_buf(t, what, OOFF, NULL, 1),
                    mode == L1_DX || mode == L1_ALIAS ? make_buf(t, what, DYOFF, dy, n) : NULL,
                    mode == L1_DX || mode == L1_NO_DY ? make_buf(t, what, DXOFF, NULL, n) : NULL};
    lt_buf *bdx = mode == L1_ALIAS ? b[2] : b[3];
    size_t dxoff = mode == L1_ALIAS ? DYOFF : DXOFF;
    int need_dy = mode == L1_DX || mode == L1_ALIAS, need_dx = mode != L1_VALUE;
    int ok = 0;
    if (b[0] && b[1] && (!need_dy || b[2]) && (!need_dx || bdx)) {
        lt_status st = lt_be_l1_penalty(be, n, b[0], XOFF, b[1], OOFF, b[2], DYOFF, scale, need_dx ? bdx : NULL,
                                           dxoff);
        if (check(t, st == LT_OK, "%s: l1_penalty: %s", what, be->error))
            ok = fetch(t, what, "out", b[1], OOFF, out, 1) && (!need_dx || fetch(t, what, "dx", bdx, dxoff, dx, n));
    }
    free_bufs(t, b, 4);
    return ok;
}

/* ------------------------------------------------------------------ references */

/* y = mean + exp(logvar / 2) * eps (mean when eps == NULL); mag: the terms' sizes. */
static void ref_forward(size_t rows, size_t d, const float *x, const float *eps, double *y, double *mag)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < d; j++) {
            double m = x[r * 2 * d + j], lv = x[r * 2 * d + d + j], s = eps ? exp(lv / 2) * eps[r * d + j] : 0.0;
            y[r * d + j] = m + s;
            mag[r * d + j] = fabs(m) + fabs(s);
        }
}

/* dx as backend.h writes it: dmean = dy + k * mean; dlogvar = 0.5 dy eps exp(lv/2) +
 * 0.5 k (exp(lv) - 1), no dy term without eps; mag: the terms' sizes. */
static void ref_backward(size_t rows, size_t d, const float *x, const float *eps, const float *dy, double k,
                         double *dx, double *mag)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < d; j++) {
            double m = x[r * 2 * d + j], lv = x[r * 2 * d + d + j], g = dy[r * d + j];
            double s = eps ? 0.5 * g * eps[r * d + j] * exp(lv / 2) : 0.0, kl = 0.5 * k * (exp(lv) - 1);
            dx[r * 2 * d + j] = g + k * m;
            mag[r * 2 * d + j] = fabs(g) + fabs(k * m);
            dx[r * 2 * d + d + j] = s + kl;
            mag[r * 2 * d + d + j] = fabs(s) + 0.5 * fabs(k) * (exp(lv) + 1);
        }
}

/* The KL sum of backend.h, -0.5 (1 + lv - m^2 - exp(lv)) over rows and d; *mag: the
 * sum of the terms' parts' sizes. */
static double ref_kl(size_t rows, size_t d, const float *x, double *mag)
{
    double s = 0.0, a = 0.0;
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < d; j++) {
            double m = x[r * 2 * d + j], lv = x[r * 2 * d + d + j];
            s += -0.5 * (1 + lv - m * m - exp(lv));
            a += 0.5 * (1 + fabs(lv) + m * m + exp(lv));
        }
    *mag = a;
    return s;
}

/* sparsity_kl as backend.h says: out (returned), grad (cols) with its terms' sizes in
 * gmag, *mag the sum of the KL terms' sizes. */
static double ref_sparsity(size_t rows, size_t cols, const float *colsum, double rho, double scale, double *grad,
                           double *gmag, double *mag)
{
    double s = 0.0, a = 0.0;
    for (size_t c = 0; c < cols; c++) {
        double p = (double)colsum[c] / (double)rows;
        p = fmin(fmax(p, 1e-6), 1 - 1e-6);
        double t1 = rho * log(rho / p), t2 = (1 - rho) * log((1 - rho) / (1 - p));
        s += t1 + t2;
        a += fabs(t1) + fabs(t2);
        grad[c] = scale * (-rho / p + (1 - rho) / (1 - p)) / (double)rows;
        gmag[c] = fabs(scale) * (rho / p + (1 - rho) / (1 - p)) / (double)rows;
    }
    *mag = a;
    return s;
}

/* dx = dy + scale * sign(x) in float (the one rounding both backends make); dy NULL: 0. */
static void ref_l1_dx(size_t n, const float *x, const float *dy, float scale, float *dx)
{
    for (size_t i = 0; i < n; i++) {
        float s = x[i] > 0.0f ? scale : x[i] < 0.0f ? -scale : 0.0f;
        dx[i] = (dy ? dy[i] : 0.0f) + s;
    }
}

/* ------------------------------------------------------------------ VAE sampling */

/* Sizes (rows, d) of the VAE checks: one row, odd widths, several chunks and groups. */
static const size_t vae_sizes[][2] = {{1, 1}, {1, 5}, {3, 1}, {4, 7}, {17, 3}, {64, 32}, {129, 9}, {2000, 33}};

/* Forward, backward and kl_normal against the references, with and without eps. */
static void test_vae_reference(tester *t)
{
    for (size_t s = 0; s < sizeof vae_sizes / sizeof vae_sizes[0]; s++) {
        const size_t rows = vae_sizes[s][0], d = vae_sizes[s][1], n = rows * d;
        float *x = rand_latent(t, rows, d, 3.0), *eps = rand_floats(t, n, -2.5, 2.5), *dy = rand_floats(t, n, -1, 1);
        float *y = malloc(n * sizeof *y), *dx = malloc(2 * n * sizeof *dx);
        double *ref = malloc(2 * n * sizeof *ref), *mag = malloc(2 * n * sizeof *mag);
        for (int with_eps = 0; with_eps < 2; with_eps++) {
            const float *e = with_eps ? eps : NULL;
            char what[96];
            snprintf(what, sizeof what, "vae %zux%zu%s", rows, d, with_eps ? "" : " (eps NULL)");
            if (run_forward(t, what, rows, d, x, e, y)) {
                ref_forward(rows, d, x, e, ref, mag);
                expect_close(t, y, NULL, ref, mag, n, 2e-6, "%s forward", what);
                if (!with_eps) /* inference: y is the mean, bit for bit */
                    for (size_t i = 0; i < n; i++)
                        if (memcmp(&y[i], &x[(i / d) * 2 * d + i % d], sizeof(float)) != 0) {
                            check(t, 0, "%s forward: y[%zu] is not the mean", what, i);
                            break;
                        }
            }
            const float ks[3] = {0.37f, 0.0f, -1.25f};
            for (int k = 0; k < 3; k++) {
                char wk[128];
                snprintf(wk, sizeof wk, "%s kl_scale %g", what, (double)ks[k]);
                if (!run_backward(t, wk, rows, d, x, e, dy, ks[k], dx)) continue;
                ref_backward(rows, d, x, e, dy, ks[k], ref, mag);
                expect_close(t, dx, NULL, ref, mag, 2 * n, 2e-6, "%s backward", wk);
            }
        }
        float kl;
        char what[64];
        snprintf(what, sizeof what, "kl_normal %zux%zu", rows, d);
        if (run_kl(t, what, rows, d, x, &kl)) {
            double m, want = ref_kl(rows, d, x, &m);
            check(t, fabs(kl - want) <= 1e-5 * m, "%s: %.9g, want %.9g", what, (double)kl, want);
        }
        FREE_ALL(x, eps, dy, y, dx, ref, mag);
    }
}

/* The objective of the gradient checks: f = sum(y * w) + k * kl_normal(x), with x in
 * b[0] at XOFF, eps in b[1] (or NULL), y in b[2] and the KL sum in b[3]. */
typedef struct vae_objective {
    tester *t;
    const char *what;
    size_t rows, d;
    lt_buf *b[4];
    const float *w;
    double k;
    float *y; /* room for y */
} vae_objective;

/* fd_fn of the objective: sets x[i] to v and evaluates f in double from the backend's
 * own forward and kl_normal; 0 on failure (recorded). */
static int objective(void *ctx, size_t i, float v, double *f)
{
    vae_objective *o = ctx;
    lt_backend *be = o->t->be;
    size_t n = o->rows * o->d;
    float kl = 0.0f;
    lt_status st = lt_be_upload(be, o->b[0], XOFF + i, &v, 1);
    if (f && st == LT_OK)
        st = lt_be_vae_sample_forward(be, o->rows, o->d, o->b[0], XOFF, o->b[1], EOFF, o->b[2], YOFF);
    if (f && st == LT_OK) st = lt_be_kl_normal(be, o->rows, o->d, o->b[0], XOFF, o->b[3], OOFF);
    if (f && st == LT_OK) st = lt_be_download(be, o->b[2], YOFF, o->y, n);
    if (f && st == LT_OK) st = lt_be_download(be, o->b[3], OOFF, &kl, 1);
    if (!f) return st == LT_OK || check(o->t, 0, "%s: restoring x[%zu]: %s", o->what, i, be->error);
    if (!check(o->t, st == LT_OK, "%s: objective: %s", o->what, be->error)) return 0;
    *f = dot(o->y, o->w, n) + o->k * kl;
    return 1;
}

/* vae_sample_backward with dy = w is the gradient of sum(y * w) + k * kl_normal: central
 * differences through the backend's own ops, one element of x at a time. */
static void test_vae_gradient(tester *t)
{
    const size_t sizes[][2] = {{1, 1}, {1, 4}, {3, 5}, {2, 3}};
    const float ks[] = {0.7f, 0.0f, 2.0f};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (int with_eps = 0; with_eps < 2; with_eps++) {
            const size_t rows = sizes[s][0], d = sizes[s][1], n = rows * d;
            const float k = ks[(s + (size_t)with_eps) % 3];
            char what[96];
            snprintf(what, sizeof what, "gradient %zux%zu%s kl_scale %g", rows, d, with_eps ? "" : " (eps NULL)",
                     (double)k);
            float *x = rand_latent(t, rows, d, 2.0), *eps = rand_floats(t, n, -2, 2), *w = rand_floats(t, n, -1, 1);
            float *dx = malloc(2 * n * sizeof *dx), *y = malloc(n * sizeof *y);
            vae_objective o = {t, what, rows, d,
                               {make_buf(t, what, XOFF, x, 2 * n), with_eps ? make_buf(t, what, EOFF, eps, n) : NULL,
                                make_buf(t, what, YOFF, NULL, n), make_buf(t, what, OOFF, NULL, 1)},
                               w, k, y};
            if (run_backward(t, what, rows, d, x, with_eps ? eps : NULL, w, k, dx) && o.b[0] && o.b[2] && o.b[3] &&
                (!with_eps || o.b[1])) {
                maxerr worst = {0, 0, 0, 0};
                for (size_t i = 0; i < 2 * n; i++) {
                    double fd = 0;
                    if (!check(t, central_diff(objective, &o, i, x[i], 1e-2f, &fd), "%s: element %zu", what, i)) break;
                    maxerr_note(&worst, i, fabs(fd - dx[i]) / (2e-3 * (1 + fabs(fd))), dx[i], fd);
                }
                check(t, worst.err <= 1, "%s: dx[%zu] = %.7g, finite differences %.7g", what, worst.at, worst.got,
                      worst.want);
            }
            free_bufs(t, o.b, 4);
            FREE_ALL(x, eps, w, dx, y);
        }
}

/* ------------------------------------------------------------------ sparsity */

/* Column sums of rows activations per column, each column's around its own mean in
 * [lo, hi]; with extremes, some columns (every 9th from 2) sit at or past the clamp:
 * 0, rows, negative, past rows, and a mean below 1e-6. Malloc'd. */
static float *rand_colsum(tester *t, size_t rows, size_t cols, double lo, double hi, int extremes)
{
    float *cs = malloc((cols ? cols : 1) * sizeof *cs);
    for (size_t c = 0; c < cols; c++) {
        double mu = drand(t, lo + 0.05, hi - 0.05), s = 0.0;
        for (size_t r = 0; r < rows; r++) s += (float)(mu + drand(t, -0.05, 0.05));
        cs[c] = (float)s;
        if (!extremes || c % 9 < 2) continue;
        switch (c % 9) {
        case 2: cs[c] = 0.0f; break;
        case 3: cs[c] = (float)rows; break;
        case 4: cs[c] = -0.5f; break;
        case 5: cs[c] = (float)rows + 0.25f; break;
        case 6: cs[c] = (float)(2e-7 * (double)rows); break;
        default: break;
        }
    }
    return cs;
}

/* out and grad against the reference over sizes, targets and scales, clamps included;
 * grad == NULL gives the same out. */
static void test_sparsity_reference(tester *t)
{
    const size_t sizes[][2] = {{1, 1}, {1, 6}, {5, 1}, {7, 13}, {64, 100}, {33, 1000}, {10, 3000}};
    const float rhos[] = {0.05f, 0.3f, 0.5f, 0.9f}, scales[] = {2.5f, -0.5f, 0.0f};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        const size_t rows = sizes[s][0], cols = sizes[s][1];
        const float rho = rhos[s % 4], scale = scales[s % 3];
        float *cs = rand_colsum(t, rows, cols, 0.0, 1.0, 1), *grad = malloc(cols * sizeof *grad), out, out2;
        double *ref = malloc(cols * sizeof *ref), *gmag = malloc(cols * sizeof *gmag), mag;
        char what[96];
        snprintf(what, sizeof what, "sparsity_kl %zux%zu rho %g scale %g", rows, cols, (double)rho, (double)scale);
        if (run_sparsity(t, what, rows, cols, cs, rho, scale, &out, grad)) {
            double want = ref_sparsity(rows, cols, cs, rho, scale, ref, gmag, &mag);
            check(t, fabs(out - want) <= 1e-5 * mag + 1e-6 * (double)cols, "%s: out %.9g, want %.9g", what,
                  (double)out, want);
            expect_close(t, grad, NULL, ref, gmag, cols, 1e-5, "%s: grad", what);
            if (run_sparsity(t, what, rows, cols, cs, rho, scale, &out2, NULL))
                check(t, memcmp(&out, &out2, sizeof out) == 0, "%s: out without grad %.9g, with grad %.9g", what,
                      (double)out2, (double)out);
        }
        FREE_ALL(cs, grad, ref, gmag);
    }
    /* the clamp by hand: a column sum of 0 is p = 1e-6, of rows (or more) 1 - 1e-6 */
    const float cs[3] = {0.0f, 4.0f, 9.0f};
    float out, grad[3];
    if (run_sparsity(t, "sparsity_kl clamp", 4, 3, cs, 0.25f, 1.0f, &out, grad)) {
        double lo = 1e-6, hi = 1 - 1e-6, r = 0.25;
        /* column 0: p = lo, 1 - p = hi; columns 1 and 2: p = hi, 1 - p = lo */
        double want = r * log(r / lo) + (1 - r) * log((1 - r) / hi) + 2 * (r * log(r / hi) + (1 - r) * log((1 - r) / lo));
        double g0 = (-r / lo + (1 - r) / hi) / 4, g1 = (-r / hi + (1 - r) / lo) / 4;
        check(t, fabs(out - want) <= 1e-5 * want, "sparsity_kl clamp: out %.9g, want %.9g", (double)out, want);
        check(t, fabs(grad[0] - g0) <= 1e-5 * fabs(g0) && fabs(grad[1] - g1) <= 1e-5 * fabs(g1) &&
                     fabs(grad[2] - g1) <= 1e-5 * fabs(g1),
              "sparsity_kl clamp: grad %.9g %.9g %.9g, want %.9g %.9g %.9g", (double)grad[0], (double)grad[1],
              (double)grad[2], g0, g1, g1);
    }
}

/* sparsity_kl's out as a function of one column sum: the column sums in b[0] at COFF,
 * out in b[1] at OOFF. */
typedef struct sparsity_out {
    tester *t;
    const char *what;
    size_t rows, cols;
    float rho;
    lt_buf *b[2];
} sparsity_out;

/* fd_fn of sparsity_out: sets column sum i to v and evaluates out (no gradient); 0 on
 * failure (recorded). */
static int sparsity_at(void *ctx, size_t i, float v, double *f)
{
    sparsity_out *o = ctx;
    lt_backend *be = o->t->be;
    float out = 0;
    lt_status st = lt_be_upload(be, o->b[0], COFF + i, &v, 1);
    if (f && st == LT_OK)
        st = lt_be_sparsity_kl(be, o->rows, o->cols, o->b[0], COFF, o->rho, o->b[1], OOFF, 0.0f, NULL, 0);
    if (f && st == LT_OK) st = lt_be_download(be, o->b[1], OOFF, &out, 1);
    if (st != LT_OK) return check(o->t, 0, "%s: %s", o->what, be->error);
    if (f) *f = out;
    return 1;
}

/* grad[c] is d(scale * out)/d(activation of any one row in column c): central differences
 * of the backend's own out with the column sum moved by h. */
static void test_sparsity_gradient(tester *t)
{
    const size_t sizes[][2] = {{5, 7}, {1, 3}, {40, 4}, {3, 1}};
    const float rhos[] = {0.2f, 0.05f, 0.6f, 0.5f}, scales[] = {1.7f, 3.0f, -0.8f, 1.0f};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        const size_t rows = sizes[s][0], cols = sizes[s][1];
        const float rho = rhos[s], scale = scales[s];
        char what[96];
        snprintf(what, sizeof what, "sparsity gradient %zux%zu rho %g", rows, cols, (double)rho);
        float *cs = rand_colsum(t, rows, cols, 0.15, 0.85, 0), *grad = malloc(cols * sizeof *grad), out;
        double *ref = malloc(cols * sizeof *ref), *gmag = malloc(cols * sizeof *gmag), mag;
        sparsity_out o = {t, what, rows, cols, rho,
                          {make_buf(t, what, COFF, cs, cols), make_buf(t, what, OOFF, NULL, 1)}};
        if (run_sparsity(t, what, rows, cols, cs, rho, scale, &out, grad) && o.b[0] && o.b[1]) {
            ref_sparsity(rows, cols, cs, rho, scale, ref, gmag, &mag);
            maxerr worst = {0, 0, 0, 0};
            for (size_t c = 0; c < cols; c++) {
                double fd = 0;
                if (!check(t, central_diff(sparsity_at, &o, c, cs[c], 2e-3f * (float)rows, &fd), "%s: column %zu",
                           what, c))
                    break;
                fd *= scale;
                maxerr_note(&worst, c, fabs(fd - grad[c]) / (2e-3 * gmag[c]), grad[c], fd);
            }
            check(t, worst.err <= 1, "%s: grad[%zu] = %.7g, finite differences %.7g", what, worst.at, worst.got,
                  worst.want);
        }
        free_bufs(t, o.b, 2);
        FREE_ALL(cs, grad, ref, gmag);
    }
}

/* ------------------------------------------------------------------ L1 */

/* x in [-1, 1] with exact zeros (every 7th) and negative zeros (every 11th). Malloc'd. */
static float *rand_l1_x(tester *t, size_t n)
{
    float *x = rand_floats(t, n, -1, 1);
    for (size_t i = 0; i < n; i++) {
        if (i % 7 == 3) x[i] = 0.0f;
        if (i % 11 == 5) x[i] = -0.0f;
    }
    return x;
}

/* out = sum |x| within tolerance and dx = dy + scale * sign(x) bit for bit, in each
 * calling mode. */
static void test_l1_reference(tester *t)
{
    const size_t sizes[] = {1, 7, 1000, 4099, 100000};
    const float scales[] = {0.3f, -2.0f, 0.0f, 1e-5f};
    const char *modes[] = {"dx", "dx aliasing dy", "dy NULL", "dx NULL"};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        const size_t n = sizes[s];
        const float scale = scales[s % 4];
        float *x = rand_l1_x(t, n), *dy = rand_floats(t, n, -1, 1), *dx = malloc(n * sizeof *dx);
        float *want = malloc(n * sizeof *want);
        double sum = 0.0;
        for (size_t i = 0; i < n; i++) sum += fabs((double)x[i]);
        for (int mode = L1_DX; mode <= L1_VALUE; mode++) {
            char what[96];
            float out;
            snprintf(what, sizeof what, "l1_penalty n %zu scale %g (%s)", n, (double)scale, modes[mode]);
            if (!run_l1(t, what, mode, n, x, dy, scale, &out, dx)) continue;
            check(t, fabs(out - sum) <= 1e-6 * sum, "%s: out %.9g, want %.9g", what, (double)out, sum);
            if (mode == L1_VALUE) continue;
            ref_l1_dx(n, x, mode == L1_NO_DY ? NULL : dy, scale, want);
            size_t bad = 0, first = 0;
            for (size_t i = 0; i < n; i++)
                if (memcmp(&dx[i], &want[i], sizeof(float)) != 0 && bad++ == 0) first = i;
            check(t, bad == 0, "%s: %zu dx differ, first dx[%zu] = %.9g, want %.9g (x %.9g)", what, bad, first,
                  (double)dx[first], (double)want[first], (double)x[first]);
        }
        FREE_ALL(x, dy, dx, want);
    }
}

/* ------------------------------------------------------------------ edge cases */

/* NaN inputs come out as NaN in the sums and gradients they reach. */
static void test_nan(tester *t)
{
    float x[8] = {0.5f, NAN, -1.0f, 0.25f, 0.1f, 0.2f, NAN, 0.3f}, eps[4] = {1, 1, 1, 1}, dy[4] = {1, 1, 1, 1};
    float y[4], dx[8], out, g[3];
    if (run_forward(t, "NaN forward", 2, 2, x, eps, y))
        check(t, !isnan(y[0]) && isnan(y[1]) && isnan(y[2]) && !isnan(y[3]), "NaN forward: y = %g %g %g %g",
              (double)y[0], (double)y[1], (double)y[2], (double)y[3]);
    if (run_backward(t, "NaN backward", 2, 2, x, eps, dy, 0.5f, dx))
        check(t, isnan(dx[1]) && isnan(dx[6]) && !isnan(dx[0]) && !isnan(dx[2]) && !isnan(dx[3]) && !isnan(dx[4]) &&
                     !isnan(dx[5]) && !isnan(dx[7]),
              "NaN backward: dx = %g %g %g %g %g %g %g %g", (double)dx[0], (double)dx[1], (double)dx[2], (double)dx[3],
              (double)dx[4], (double)dx[5], (double)dx[6], (double)dx[7]);
    if (run_kl(t, "NaN kl_normal", 2, 2, x, &out)) check(t, isnan(out), "NaN kl_normal: out %g", (double)out);
    const float cs[3] = {1.0f, NAN, 2.0f};
    if (run_sparsity(t, "NaN sparsity_kl", 4, 3, cs, 0.1f, 1.0f, &out, g))
        check(t, isnan(out) && isnan(g[1]) && !isnan(g[0]) && !isnan(g[2]), "NaN sparsity_kl: out %g, grad %g %g %g",
              (double)out, (double)g[0], (double)g[1], (double)g[2]);
    if (run_l1(t, "NaN l1_penalty", L1_DX, 4, x, dy, 0.5f, &out, dx))
        check(t, isnan(out) && dx[1] == 1.0f && dx[0] == 1.5f && dx[2] == 0.5f, "NaN l1_penalty: out %g, dx %g %g %g",
              (double)out, (double)dx[0], (double)dx[1], (double)dx[2]);
}

/* Empty sizes do nothing (buffers may be NULL) and the reductions write 0. */
static void test_empty(tester *t)
{
    lt_backend *be = t->be;
    lt_buf *bo = make_buf(t, "empty", OOFF, NULL, 1);
    if (!bo) return;
    check(t, lt_be_vae_sample_forward(be, 0, 3, NULL, 0, NULL, 0, NULL, 0) == LT_OK,
          "vae_sample_forward rows 0: %s", be->error);
    check(t, lt_be_vae_sample_backward(be, 0, 3, NULL, 0, NULL, 0, NULL, 0, 1.0f, NULL, 0) == LT_OK,
          "vae_sample_backward rows 0: %s", be->error);
    const char *names[3] = {"kl_normal rows 0", "sparsity_kl cols 0", "l1_penalty n 0"};
    for (int k = 0; k < 3; k++) {
        const float seven = 7.0f;
        float out = -1.0f;
        lt_status st = lt_be_upload(be, bo, OOFF, &seven, 1);
        if (st == LT_OK) {
            if (k == 0) st = lt_be_kl_normal(be, 0, 4, NULL, 0, bo, OOFF);
            else if (k == 1) st = lt_be_sparsity_kl(be, 3, 0, NULL, 0, 0.1f, bo, OOFF, 1.0f, NULL, 0);
            else st = lt_be_l1_penalty(be, 0, NULL, 0, bo, OOFF, NULL, 0, 1.0f, NULL, 0);
        }
        if (check(t, st == LT_OK, "%s: %s", names[k], be->error) && fetch(t, names[k], "out", bo, OOFF, &out, 1))
            check(t, out == 0.0f, "%s: out %g, want 0", names[k], (double)out);
    }
    lt_be_buf_free(be, bo);
}

/* Bad arguments are LT_ERR_ARG with a message and write nothing. */
static void test_bad_args(tester *t)
{
    lt_backend *be = t->be;
    const size_t rows = 3, d = 2, n = rows * d, big = SIZE_MAX / 2;
    /* one buffer per operand (its range at offset 0 and TAIL guard cells: an offset past
     * TAIL runs off the end), and one shared by overlapping operands */
    lt_buf *bx = make_buf(t, "bad args", 0, NULL, 2 * n), *be_ = make_buf(t, "bad args", 0, NULL, n);
    lt_buf *bdy = make_buf(t, "bad args", 0, NULL, n), *by = make_buf(t, "bad args", 0, NULL, n);
    lt_buf *bdx = make_buf(t, "bad args", 0, NULL, 2 * n), *bo = make_buf(t, "bad args", 0, NULL, 1);
    lt_buf *shared = make_buf(t, "bad args", 0, NULL, 4 * n);
    if (!bx || !be_ || !bdy || !by || !bdx || !bo || !shared) goto out;
    be->error[0] = '\0';
    expect_refused(t, lt_be_vae_sample_forward(be, rows, 0, bx, 0, be_, 0, by, 0), NULL, "forward d 0");
    expect_refused(t, lt_be_vae_sample_forward(be, rows, d, bx, TAIL + 1, be_, 0, by, 0),
                   NULL, "forward x past its end");
    expect_refused(t, lt_be_vae_sample_forward(be, rows, d, bx, 0, be_, TAIL + 1, by, 0),
                   NULL, "forward eps past its end");
    expect_refused(t, lt_be_vae_sample_forward(be, rows, d, bx, 0, be_, 0, by, TAIL + 1),
                   NULL, "forward y past its end");
    expect_refused(t, lt_be_vae_sample_forward(be, rows, d, NULL, 0, be_, 0, by, 0), NULL, "forward NULL x");
    expect_refused(t, lt_be_vae_sample_forward(be, rows, d, bx, 0, be_, 0, NULL, 0), NULL, "forward NULL y");
    expect_refused(t, lt_be_vae_sample_forward(be, big, d, bx, 0, be_, 0, by, 0), NULL, "forward rows x 2d overflow");
    expect_refused(t, lt_be_vae_sample_forward(be, 1, big + 1, bx, 0, be_, 0, by, 0), NULL, "forward 2d overflow");
    expect_refused(t, lt_be_vae_sample_forward(be, rows, d, shared, 0, be_, 0, shared, 2 * n - 1),
                   NULL, "forward y overlaps x");
    expect_refused(t, lt_be_vae_sample_forward(be, rows, d, bx, 0, shared, 0, shared, n - 1),
                   NULL, "forward y overlaps eps");
    expect_refused(t, lt_be_vae_sample_backward(be, rows, 0, bx, 0, be_, 0, bdy, 0, 1.0f, bdx, 0),
                   NULL, "backward d 0");
    expect_refused(t, lt_be_vae_sample_backward(be, rows, d, bx, TAIL + 1, be_, 0, bdy, 0, 1.0f, bdx, 0),
                   NULL, "backward x past its end");
    expect_refused(t, lt_be_vae_sample_backward(be, rows, d, bx, 0, be_, TAIL + 1, bdy, 0, 1.0f, bdx, 0),
                   NULL, "backward eps past its end");
    expect_refused(t, lt_be_vae_sample_backward(be, rows, d, bx, 0, be_, 0, bdy, TAIL + 1, 1.0f, bdx, 0),
                   NULL, "backward dy past its end");
    expect_refused(t, lt_be_vae_sample_backward(be, rows, d, bx, 0, be_, 0, bdy, 0, 1.0f, bdx, TAIL + 1),
                   NULL, "backward dx past its end");
    expect_refused(t, lt_be_vae_sample_backward(be, rows, d, bx, 0, be_, 0, NULL, 0, 1.0f, bdx, 0),
                   NULL, "backward NULL dy");
    expect_refused(t, lt_be_vae_sample_backward(be, rows, d, bx, 0, be_, 0, bdy, 0, 1.0f, NULL, 0),
                   NULL, "backward NULL dx");
    expect_refused(t, lt_be_vae_sample_backward(be, big, d, bx, 0, be_, 0, bdy, 0, 1.0f, bdx, 0),
                   NULL, "backward overflow");
    expect_refused(t, lt_be_vae_sample_backward(be, rows, d, shared, 0, be_, 0, bdy, 0, 1.0f, shared, 1),
                   NULL, "backward dx overlaps x");
    expect_refused(t, lt_be_vae_sample_backward(be, rows, d, bx, 0, shared, 2 * n + 1, bdy, 0, 1.0f, shared, 2),
                   NULL, "backward dx overlaps eps");
    expect_refused(t, lt_be_vae_sample_backward(be, rows, d, bx, 0, be_, 0, shared, 0, 1.0f, shared, 0),
                   NULL, "backward dx overlaps dy");
    expect_refused(t, lt_be_kl_normal(be, rows, 0, bx, 0, bo, 0), NULL, "kl_normal d 0");
    expect_refused(t, lt_be_kl_normal(be, rows, d, bx, TAIL + 1, bo, 0), NULL, "kl_normal x past its end");
    expect_refused(t, lt_be_kl_normal(be, rows, d, bx, 0, bo, TAIL + 1), NULL, "kl_normal out past its end");
    expect_refused(t, lt_be_kl_normal(be, rows, d, bx, 0, NULL, 0), NULL, "kl_normal NULL out");
    expect_refused(t, lt_be_kl_normal(be, big, d, bx, 0, bo, 0), NULL, "kl_normal overflow");
    expect_refused(t, lt_be_kl_normal(be, rows, d, shared, 0, shared, 3), NULL, "kl_normal out inside x");
    expect_refused(t, lt_be_sparsity_kl(be, 0, n, by, 0, 0.1f, bo, 0, 1.0f, bdy, 0), NULL, "sparsity_kl rows 0");
    const float bad_rho[] = {0.0f, 1.0f, -0.1f, 1.5f, NAN};
    for (size_t k = 0; k < sizeof bad_rho / sizeof bad_rho[0]; k++) {
        char what[64];
        snprintf(what, sizeof what, "sparsity_kl rho %g", (double)bad_rho[k]);
        expect_refused(t, lt_be_sparsity_kl(be, rows, n, by, 0, bad_rho[k], bo, 0, 1.0f, bdy, 0), NULL, what);
    }
    expect_refused(t, lt_be_sparsity_kl(be, rows, n, by, TAIL + 1, 0.1f, bo, 0, 1.0f, bdy, 0),
                   NULL, "sparsity_kl colsum past its end");
    expect_refused(t, lt_be_sparsity_kl(be, rows, n, by, 0, 0.1f, bo, TAIL + 1, 1.0f, bdy, 0),
                   NULL, "sparsity_kl out past its end");
    expect_refused(t, lt_be_sparsity_kl(be, rows, n, by, 0, 0.1f, bo, 0, 1.0f, bdy, TAIL + 1),
                   NULL, "sparsity_kl grad past its end");
    expect_refused(t, lt_be_sparsity_kl(be, rows, n, NULL, 0, 0.1f, bo, 0, 1.0f, bdy, 0),
                   NULL, "sparsity_kl NULL colsum");
    expect_refused(t, lt_be_sparsity_kl(be, rows, n, by, 0, 0.1f, NULL, 0, 1.0f, bdy, 0), NULL, "sparsity_kl NULL out");
    expect_refused(t, lt_be_sparsity_kl(be, rows, n, shared, 0, 0.1f, bo, 0, 1.0f, shared, 3),
                   NULL, "sparsity_kl grad overlaps colsum");
    expect_refused(t, lt_be_sparsity_kl(be, rows, n, shared, 0, 0.1f, shared, 2, 1.0f, bdy, 0),
                   NULL, "sparsity_kl out inside colsum");
    expect_refused(t, lt_be_sparsity_kl(be, rows, n, by, 0, 0.1f, shared, 2, 1.0f, shared, 0),
                   NULL, "sparsity_kl out inside grad");
    expect_refused(t, lt_be_l1_penalty(be, n, by, TAIL + 1, bo, 0, bdy, 0, 1.0f, be_, 0),
                   NULL, "l1_penalty x past its end");
    expect_refused(t, lt_be_l1_penalty(be, n, by, 0, bo, TAIL + 1, bdy, 0, 1.0f, be_, 0),
                   NULL, "l1_penalty out past its end");
    expect_refused(t, lt_be_l1_penalty(be, n, by, 0, bo, 0, bdy, TAIL + 1, 1.0f, be_, 0),
                   NULL, "l1_penalty dy past its end");
    expect_refused(t, lt_be_l1_penalty(be, n, by, 0, bo, 0, bdy, 0, 1.0f, be_, TAIL + 1),
                   NULL, "l1_penalty dx past its end");
    expect_refused(t, lt_be_l1_penalty(be, n, NULL, 0, bo, 0, bdy, 0, 1.0f, be_, 0), NULL, "l1_penalty NULL x");
    expect_refused(t, lt_be_l1_penalty(be, n, by, 0, NULL, 0, bdy, 0, 1.0f, be_, 0), NULL, "l1_penalty NULL out");
    expect_refused(t, lt_be_l1_penalty(be, n, shared, 0, bo, 0, bdy, 0, 1.0f, shared, n - 1),
                   NULL, "l1_penalty dx overlaps x");
    expect_refused(t, lt_be_l1_penalty(be, n, by, 0, bo, 0, shared, 0, 1.0f, shared, 1),
                   NULL, "l1_penalty dx shifted over dy");
    expect_refused(t, lt_be_l1_penalty(be, n, by, 0, shared, 3, bdy, 0, 1.0f, shared, 0),
                   NULL, "l1_penalty out inside dx");
    /* the refused calls wrote nothing: every output buffer still holds only GUARD */
    lt_buf *outs[5] = {by, bdx, bo, be_, shared};
    const size_t lens[5] = {n + TAIL, 2 * n + TAIL, 1 + TAIL, n + TAIL, 4 * n + TAIL};
    size_t bad = 0;
    for (int k = 0; k < 5; k++) {
        float *all = malloc(lens[k] * sizeof *all);
        bad += lt_be_download(be, outs[k], 0, all, lens[k]) != LT_OK ? lens[k] : guards_written(all, lens[k], 0, 0);
        free(all);
    }
    check(t, bad == 0, "refused calls wrote %zu values", bad);
out:
    FREE_BUFS(t, bx, be_, bdy, by, bdx, bo, shared);
}

/* ------------------------------------------------------------------ determinism */

/* Sizes of the large runs of the determinism and cross-backend checks. */
#define BIG_ROWS 2000
#define BIG_D 33
#define BIG_N (BIG_ROWS * BIG_D)
#define BIG_SP_ROWS 20
#define BIG_COLS 3000
#define BIG_L1 100000

/* Inputs of the large runs. */
typedef struct big_inputs {
    float *x, *eps, *dy;  /* vae: BIG_ROWS x 2 BIG_D, BIG_N, BIG_N  */
    float *cs;            /* sparsity column sums: BIG_COLS         */
    float *lx, *ldy;      /* l1: BIG_L1 each                        */
} big_inputs;

/* Draws the large runs' inputs (the same ones every time). */
static big_inputs big_make(void)
{
    tester data = {.rng = 99};
    big_inputs in;
    in.x = rand_latent(&data, BIG_ROWS, BIG_D, 3.0);
    in.eps = rand_floats(&data, BIG_N, -2, 2);
    in.dy = rand_floats(&data, BIG_N, -1, 1);
    in.cs = rand_colsum(&data, BIG_SP_ROWS, BIG_COLS, 0.0, 1.0, 1);
    in.lx = rand_l1_x(&data, BIG_L1);
    in.ldy = rand_floats(&data, BIG_L1, -1, 1);
    return in;
}

/* Frees the large runs' inputs. */
static void big_free(big_inputs *in)
{
    FREE_ALL(in->x, in->eps, in->dy, in->cs, in->lx, in->ldy);
}

/* Offsets in all_outputs' array: y, dx, KL, sparsity out, grad, L1 out, dx. */
#define BIG_AT_Y 0
#define BIG_AT_DX (BIG_AT_Y + BIG_N)
#define BIG_AT_KL (BIG_AT_DX + 2 * BIG_N)
#define BIG_AT_SP (BIG_AT_KL + 1)
#define BIG_AT_GRAD (BIG_AT_SP + 1)
#define BIG_AT_L1 (BIG_AT_GRAD + BIG_COLS)
#define BIG_AT_L1DX (BIG_AT_L1 + 1)
#define BIG_COUNT (BIG_AT_L1DX + BIG_L1)

/* Every op's outputs on the large inputs, concatenated (BIG_COUNT floats, malloc'd;
 * NULL on failure). */
static float *all_outputs(tester *t, const char *what, const big_inputs *in)
{
    float *all = malloc(BIG_COUNT * sizeof *all);
    int ok = run_forward(t, what, BIG_ROWS, BIG_D, in->x, in->eps, all + BIG_AT_Y) &&
             run_backward(t, what, BIG_ROWS, BIG_D, in->x, in->eps, in->dy, 0.4f, all + BIG_AT_DX) &&
             run_kl(t, what, BIG_ROWS, BIG_D, in->x, all + BIG_AT_KL) &&
             run_sparsity(t, what, BIG_SP_ROWS, BIG_COLS, in->cs, 0.1f, 3.0f, all + BIG_AT_SP, all + BIG_AT_GRAD) &&
             run_l1(t, what, L1_DX, BIG_L1, in->lx, in->ldy, 0.01f, all + BIG_AT_L1, all + BIG_AT_L1DX);
    if (!ok) {
        free(all);
        return NULL;
    }
    return all;
}

/* The same inputs give the same bits: on the CPU with 1 thread and with all, on OpenCL
 * twice in a row. */
static void test_repeatable(tester *t)
{
    lt_backend *be = t->be;
    int cpu = strcmp(lt_be_name(be), "cpu") == 0;
    big_inputs in = big_make();
    if (cpu) lt_be_set_threads(be, 1);
    float *a = all_outputs(t, cpu ? "1 thread" : "first run", &in);
    if (cpu) lt_be_set_threads(be, 0);
    float *b = all_outputs(t, cpu ? "all threads" : "second run", &in);
    if (a && b) expect_bits(t, b, NULL, a, BIG_COUNT, "%s", cpu ? "1 thread against all" : "two runs");
    FREE_ALL(a, b);
    big_free(&in);
}

/* OpenCL agrees with the CPU on the large runs: the elementwise outputs within a few ulp
 * of their terms' sizes, the sums (of nonnegative terms) within 1e-5, L1's dx bit for bit. */
static void test_cross(tester *o)
{
    tester c = cpu_twin(o);
    big_inputs in = big_make();
    float *a = all_outputs(&c, "cross", &in), *b = all_outputs(o, "cross", &in);
    twin_done(o, &c);
    double *ref = malloc(2 * BIG_N * sizeof *ref), *mag = malloc(2 * BIG_N * sizeof *mag);
    if (a && b) {
        ref_forward(BIG_ROWS, BIG_D, in.x, in.eps, ref, mag);
        expect_close(o, b + BIG_AT_Y, a + BIG_AT_Y, NULL, mag, BIG_N, 2e-6, "cross forward: y");
        ref_backward(BIG_ROWS, BIG_D, in.x, in.eps, in.dy, 0.4f, ref, mag);
        expect_close(o, b + BIG_AT_DX, a + BIG_AT_DX, NULL, mag, 2 * BIG_N, 2e-6, "cross backward: dx");
        check(o, fabs(a[BIG_AT_KL] - b[BIG_AT_KL]) <= 1e-5 * fabs(a[BIG_AT_KL]), "cross kl_normal: cpu %.9g, opencl %.9g",
              (double)a[BIG_AT_KL], (double)b[BIG_AT_KL]);
        check(o, fabs(a[BIG_AT_SP] - b[BIG_AT_SP]) <= 1e-5 * fabs(a[BIG_AT_SP]),
              "cross sparsity_kl out: cpu %.9g, opencl %.9g", (double)a[BIG_AT_SP], (double)b[BIG_AT_SP]);
        double spmag;
        ref_sparsity(BIG_SP_ROWS, BIG_COLS, in.cs, 0.1f, 3.0f, ref, mag, &spmag);
        expect_close(o, b + BIG_AT_GRAD, a + BIG_AT_GRAD, NULL, mag, BIG_COLS, 2e-6, "cross sparsity_kl grad");
        check(o, fabs(a[BIG_AT_L1] - b[BIG_AT_L1]) <= 1e-6 * fabs(a[BIG_AT_L1]), "cross l1 out: cpu %.9g, opencl %.9g",
              (double)a[BIG_AT_L1], (double)b[BIG_AT_L1]);
        expect_bits(o, b + BIG_AT_L1DX, a + BIG_AT_L1DX, NULL, BIG_L1, "cross l1 dx");
    }
    FREE_ALL(ref, mag, a, b);
    big_free(&in);
}

/* Every check on one backend; on OpenCL also against the CPU backend. */
static void backend_checks_latent(tester *t, void *ctx)
{
    (void)ctx;
    test_vae_reference(t);
    test_vae_gradient(t);
    test_sparsity_reference(t);
    test_sparsity_gradient(t);
    test_l1_reference(t);
    test_nan(t);
    test_empty(t);
    test_bad_args(t);
    test_repeatable(t);
    if (t->cpu) test_cross(t);
}

/* Runs every backend's checks. */
int main(void)
{
    run_backends(&(backend_run){.checks = backend_checks_latent, .seed = 20240612});
    return DONE();
}
