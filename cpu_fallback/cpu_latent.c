/* Latent-space layers and activity penalties for the CPU fallback: the slots of
 * lib/backend/backend.h's section "latent-space layers and activity penalties" (VAE sampling
 * and its KL term, the sparsity KL, the L1 activity penalty).
 *
 * The pointwise parts compute in float (exp through libm: latent widths are small, so
 * these loops are cheap next to the GEMMs around them); the KL terms are evaluated and
 * summed in double. Reductions split their input into chunks whose size depends only on
 * the sizes, never on the thread count, and add the per-chunk partial sums in a fixed
 * order (as cpu_backend.c's sum and loss do): results are identical for any number of
 * threads. */
#include <math.h>
#include <stdint.h>
#include "cpu_internal.h"

/* Reduction chunks: at least LT_MIN_CHUNK elements, at most LT_MAX_CHUNKS of them (the
 * constants of cpu_backend.c's sum, so a chunk's partial stays in one thread's cache). */
#define LT_MIN_CHUNK 4096
#define LT_MAX_CHUNKS 1024

/* Clamp of the sparsity penalty's mean activation (lib/backend/backend.h). */
#define LT_SPARSITY_EPS 1e-6

/* Smaller of two sizes. */
static inline size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }

/* Rows per reduction chunk of rows x d elements: a function of the sizes alone, at least
 * LT_MIN_CHUNK elements and at most LT_MAX_CHUNKS chunks. */
static size_t chunk_rows(size_t rows, size_t d)
{
    size_t per = (rows + LT_MAX_CHUNKS - 1) / LT_MAX_CHUNKS, min = (LT_MIN_CHUNK + d - 1) / d;
    return per < min ? min : per;
}

/* Adds part[0, count) in order. */
static double sum_parts(const double *part, size_t count)
{
    double s = 0.0;
    for (size_t i = 0; i < count; i++) s += part[i];
    return s;
}

/* ------------------------------------------------------------------ VAE sampling */

/* y = mean + exp(logvar / 2) * eps, or y = mean when eps == NULL. */
lt_status lt_cpu_vae_sample_forward(lt_backend *be, size_t rows, size_t d, const lt_buf *x, size_t xoff,
                                    const lt_buf *eps, size_t eoff, lt_buf *y, size_t yoff)
{
    size_t n = rows * d;
    if (n == 0) return LT_OK;
    const float *px = lt_cpu_fp(x, xoff), *pe = eps ? lt_cpu_fp(eps, eoff) : NULL;
    float *py = lt_cpu_fp(y, yoff);
    int nt = lt_cpu_team(be, pe ? n * 8 : n); /* an exp costs about 8 simple operations */
    LT_PAR_FOR(nt)
    for (size_t r = 0; r < rows; r++) {
        const float *mean = px + r * 2 * d, *logvar = mean + d;
        float *out = py + r * d;
        if (!pe) {
            for (size_t j = 0; j < d; j++) out[j] = mean[j];
        } else {
            const float *e = pe + r * d;
            for (size_t j = 0; j < d; j++) out[j] = mean[j] + expf(0.5f * logvar[j]) * e[j];
        }
    }
    return LT_OK;
}

/* dx = the reparameterization's gradient plus kl_scale times the KL sum's, per backend.h.
 * exp(logvar) - 1 is taken as expm1, exact near the logvar ~ 0 of a fresh network. */
lt_status lt_cpu_vae_sample_backward(lt_backend *be, size_t rows, size_t d, const lt_buf *x, size_t xoff,
                                     const lt_buf *eps, size_t eoff, const lt_buf *dy, size_t dyoff, float kl_scale,
                                     lt_buf *dx, size_t dxoff)
{
    size_t n = rows * d;
    if (n == 0) return LT_OK;
    const float *px = lt_cpu_fp(x, xoff), *pe = eps ? lt_cpu_fp(eps, eoff) : NULL, *pdy = lt_cpu_fp(dy, dyoff);
    float *pdx = lt_cpu_fp(dx, dxoff);
    const float half_kl = 0.5f * kl_scale;
    int nt = lt_cpu_team(be, n * 16);
    LT_PAR_FOR(nt)
    for (size_t r = 0; r < rows; r++) {
        const float *mean = px + r * 2 * d, *logvar = mean + d, *g = pdy + r * d;
        float *dmean = pdx + r * 2 * d, *dlogvar = dmean + d;
        for (size_t j = 0; j < d; j++) {
            dmean[j] = g[j] + kl_scale * mean[j];
            float kl = half_kl * expm1f(logvar[j]);
            dlogvar[j] = pe ? 0.5f * g[j] * pe[r * d + j] * expf(0.5f * logvar[j]) + kl : kl;
        }
    }
    return LT_OK;
}

/* KL(N(mean, exp(logvar)) || N(0, 1)) of rows [r0, r0+count), summed in double in order:
 * each term -0.5 (1 + lv - m^2 - e^lv) = 0.5 (m^2 + expm1(lv) - lv). */
static double kl_rows(const float *x, size_t d, size_t r0, size_t count)
{
    double acc = 0.0;
    for (size_t r = r0; r < r0 + count; r++) {
        const float *mean = x + r * 2 * d, *logvar = mean + d;
        for (size_t j = 0; j < d; j++) {
            double m = mean[j], lv = logvar[j];
            acc += 0.5 * (m * m + expm1(lv) - lv);
        }
    }
    return acc;
}

/* out[ooff] = the KL sum over rows and d, in double over fixed chunks of rows. */
lt_status lt_cpu_kl_normal(lt_backend *be, size_t rows, size_t d, const lt_buf *x, size_t xoff, lt_buf *out,
                           size_t ooff)
{
    size_t n = rows * d;
    const float *px = n ? lt_cpu_fp(x, xoff) : NULL;
    size_t per = chunk_rows(rows, d), chunks = (rows + per - 1) / per;
    double part[LT_MAX_CHUNKS];
    int nt = lt_cpu_team(be, n * 16);
    LT_PAR_FOR(nt)
    for (size_t c = 0; c < chunks; c++) part[c] = kl_rows(px, d, c * per, min_sz(per, rows - c * per));
    *lt_cpu_fp(out, ooff) = (float)sum_parts(part, chunks);
    return LT_OK;
}

/* ------------------------------------------------------------------ activity penalties */

/* out[ooff] = sum_c KL(rho || p_c) and, unless grad is NULL (value only, as in loss),
 * grad[c] = scale * dKL/dp_c / rows, p_c the clamped mean activation; in double, columns
 * in order (a layer's width: no threads needed). A NaN column sum gives NaN (the clamp's
 * comparisons let it through). */
lt_status lt_cpu_sparsity_kl(lt_backend *be, size_t rows, size_t cols, const lt_buf *colsum, size_t csoff, float rho,
                             lt_buf *out, size_t ooff, float scale, lt_buf *grad, size_t goff)
{
    const float *pc = cols ? lt_cpu_fp(colsum, csoff) : NULL;
    float *pg = cols && grad ? lt_cpu_fp(grad, goff) : NULL;
    const double r = rho, nr = rows, lo = LT_SPARSITY_EPS, hi = 1.0 - LT_SPARSITY_EPS;
    const double gscale = (double)scale / nr;
    double acc = 0.0;
    for (size_t c = 0; c < cols; c++) {
        /* q = 1 - p, computed as OpenCL does (there for precision, here to match) */
        double p = pc[c] / nr, q = (nr - pc[c]) / nr;
        p = p < lo ? lo : p > hi ? hi : p;
        q = q < lo ? lo : q > hi ? hi : q;
        acc += r * log(r / p) + (1.0 - r) * log((1.0 - r) / q);
        if (pg) pg[c] = (float)(gscale * (-r / p + (1.0 - r) / q));
    }
    *lt_cpu_fp(out, ooff) = (float)acc;
    return LT_OK;
}

/* |x| summed over x[0, n) in double, and, when dx != NULL, dx = dy + scale * sign(x)
 * (dy NULL: 0). Element i of dy is read before dx[i] is written, so dx may be dy. */
static double l1_run(const float *x, const float *dy, float *dx, float scale, size_t n)
{
    double acc = 0.0;
    for (size_t i = 0; i < n; i++) acc += fabsf(x[i]);
    if (dx)
        for (size_t i = 0; i < n; i++) {
            float s = x[i] > 0.0f ? scale : x[i] < 0.0f ? -scale : 0.0f; /* sign(0) = sign(NaN) = 0 */
            dx[i] = (dy ? dy[i] : 0.0f) + s;
        }
    return acc;
}

/* out[ooff] = sum |x| (double, fixed chunks); dx = dy + scale * sign(x) when dx != NULL
 * (dy == NULL counts as zeros); dx may alias dy exactly. */
lt_status lt_cpu_l1_penalty(lt_backend *be, size_t n, const lt_buf *x, size_t xoff, lt_buf *out, size_t ooff,
                            const lt_buf *dy, size_t dyoff, float scale, lt_buf *dx, size_t dxoff)
{
    const float *px = n ? lt_cpu_fp(x, xoff) : NULL, *pdy = n && dx && dy ? lt_cpu_fp(dy, dyoff) : NULL;
    float *pdx = n && dx ? lt_cpu_fp(dx, dxoff) : NULL;
    size_t len = chunk_rows(n, 1), chunks = (n + len - 1) / len;
    double part[LT_MAX_CHUNKS];
    int nt = lt_cpu_team(be, n);
    LT_PAR_FOR(nt)
    for (size_t c = 0; c < chunks; c++) {
        size_t o = c * len;
        part[c] = l1_run(px + o, pdy ? pdy + o : NULL, pdx ? pdx + o : NULL, scale, min_sz(len, n - o));
    }
    *lt_cpu_fp(out, ooff) = (float)sum_parts(part, chunks);
    return LT_OK;
}
