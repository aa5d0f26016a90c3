/* Exact t-SNE (van der Maaten & Hinton 2008) to 2-D, after van der Maaten's reference
 * description: per-row gaussian bandwidths by binary search on the perplexity,
 * symmetrised affinities, a Student-t kernel in the map, early exaggeration, momentum
 * and per-coordinate gains. Every pair is visited, O(n^2) per step.
 *
 * Rows are split over OpenMP threads when the build has it. Each row's sums are kept in
 * TS_LANES partial sums, term j going to lane j % TS_LANES, and the lanes are added in a
 * fixed order, so the result is the same for any thread count, vector width or compiler
 * vectorization; a seed always gives the same layout on one machine. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "host_threads.h"
#include "backend/philox.h"

#define TSNE_MIN_N 4           /* 3 points or fewer lie in a plane as they are  */
#define TSNE_MAX_N 20000       /* the n x n affinities take 1.6 GB at this size */
#define TSNE_EXAGGERATION 12.0 /* early exaggeration factor ...                */
#define TSNE_EARLY_STEPS 250   /* ... for this many steps, with momentum 0.5   */
#define TSNE_MOMENTUM0 0.5
#define TSNE_MOMENTUM1 0.8
#define TSNE_MIN_GAIN 0.01
#define TSNE_INIT_STD 1e-2     /* N(0, 1e-4 I): variance 1e-4, as in the paper */
#define TSNE_PERP_TOL 1e-5     /* entropy tolerance of the bandwidth search (nats) */
#define TSNE_PERP_TRIES 100    /* bisection steps at most (the reference takes 50) */
#define TS_LANES 8             /* partial sums per row sum */

#if defined(__GNUC__) || defined(__clang__)
/* GCC vector extensions: TS_LANES doubles, unaligned. */
#define TS_VEC 1
typedef double ts_v8 __attribute__((vector_size(TS_LANES * sizeof(double)), aligned(8), may_alias));
typedef float ts_v8f __attribute__((vector_size(TS_LANES * sizeof(float)), aligned(4), may_alias));
#endif

/* Adds TS_LANES partial sums in a fixed order. */
static double lane_sum(const double *s)
{
    double t = 0.0;
    for (int l = 0; l < TS_LANES; l++) t += s[l];
    return t;
}

/* Squared euclidean distances from row i of x (n x dim doubles) to every row, into d. */
LT_HOST_CLONES static void row_distances(const double *x, size_t n, size_t dim, size_t i, double *d)
{
    const double *xi = x + i * dim;
    size_t body = dim - dim % TS_LANES;
    for (size_t j = 0; j < n; j++) {
        const double *xj = x + j * dim;
        double s[TS_LANES] = {0};
#ifdef TS_VEC
        ts_v8 acc = {0};
        for (size_t c = 0; c < body; c += TS_LANES) {
            ts_v8 t = *(const ts_v8 *)(xi + c) - *(const ts_v8 *)(xj + c);
            acc += t * t;
        }
        memcpy(s, &acc, sizeof s);
#else
        for (size_t c = 0; c < body; c += TS_LANES)
            for (int l = 0; l < TS_LANES; l++) {
                double t = xi[c + (size_t)l] - xj[c + (size_t)l];
                s[l] += t * t;
            }
#endif
        for (size_t c = body; c < dim; c++) {
            double t = xi[c] - xj[c];
            s[c - body] += t * t;
        }
        d[j] = lane_sum(s);
    }
}

/* Row i of the conditional affinities p_{j|i} (p_{i|i} = 0) into p: the gaussian
 * precision beta is bisected until the row's entropy is log(perplexity). Distances are
 * shifted by the row's smallest, which cancels in the normalisation and keeps the
 * nearest neighbour's weight at 1 however large beta grows. */
static void row_affinities(double *d, size_t n, size_t i, double perplexity, float *p)
{
    double dmin = INFINITY;
    for (size_t j = 0; j < n; j++)
        if (j != i && d[j] < dmin) dmin = d[j];
    for (size_t j = 0; j < n; j++) d[j] = j == i ? 0.0 : d[j] - dmin;
    double target = log(perplexity), beta = 1.0, lo = -INFINITY, hi = INFINITY, sum = 1.0;
    for (int t = 0; t < TSNE_PERP_TRIES; t++) {
        double s = 0.0, sd = 0.0;
        for (size_t j = 0; j < n; j++) {
            if (j == i) continue;
            double e = exp(-beta * d[j]);
            s += e;
            sd += d[j] * e;
        }
        sum = s;
        double h = log(s) + beta * sd / s; /* s >= 1: the nearest neighbour has e = 1 */
        if (fabs(h - target) < TSNE_PERP_TOL) break;
        if (h > target) { /* too flat: sharpen */
            lo = beta;
            beta = isinf(hi) ? beta * 2.0 : (beta + hi) / 2.0;
        } else {
            hi = beta;
            beta = isinf(lo) ? beta / 2.0 : (beta + lo) / 2.0;
        }
    }
    for (size_t j = 0; j < n; j++) p[j] = j == i ? 0.0f : (float)(exp(-beta * d[j]) / sum);
}

/* One row of the gradient's sums over j for y_i = (yx[i], yy[i]), with q_ij
 * = 1 / (1 + |y_i - y_j|^2): out[0] = sum_j q_ij (self included), out[1..2] = sum_j
 * p_ij q_ij (y_i - y_j), out[3..4] = sum_j q_ij^2 (y_i - y_j). */
LT_HOST_CLONES static void row_forces(const float *p, const double *yx, const double *yy, size_t n, size_t i,
                                 double *out)
{
    double s[5][TS_LANES] = {{0}};
    size_t j = 0;
#ifdef TS_VEC
    size_t body = n - n % TS_LANES;
    ts_v8 vs = {0}, va0 = {0}, va1 = {0}, vb0 = {0}, vb1 = {0};
    for (; j < body; j += TS_LANES) {
        ts_v8 dx = yx[i] - *(const ts_v8 *)(yx + j), dy = yy[i] - *(const ts_v8 *)(yy + j);
        ts_v8 q = 1.0 / (1.0 + (dx * dx + dy * dy));
        ts_v8 pq = __builtin_convertvector(*(const ts_v8f *)(p + j), ts_v8) * q, qq = q * q;
        vs += q;
        va0 += pq * dx;
        va1 += pq * dy;
        vb0 += qq * dx;
        vb1 += qq * dy;
    }
    memcpy(s[0], &vs, sizeof s[0]);
    memcpy(s[1], &va0, sizeof s[1]);
    memcpy(s[2], &va1, sizeof s[2]);
    memcpy(s[3], &vb0, sizeof s[3]);
    memcpy(s[4], &vb1, sizeof s[4]);
#endif
    for (; j < n; j++) {
        size_t l = j % TS_LANES;
        double dx = yx[i] - yx[j], dy = yy[i] - yy[j];
        double q = 1.0 / (1.0 + (dx * dx + dy * dy));
        double pq = (double)p[j] * q, qq = q * q;
        s[0][l] += q;
        s[1][l] += pq * dx;
        s[2][l] += pq * dy;
        s[3][l] += qq * dx;
        s[4][l] += qq * dy;
    }
    for (int k = 0; k < 5; k++) out[k] = lane_sum(s[k]);
}

/* Checks the arguments and fills in the defaults. */
static lt_status check_args(lt_ctx *ctx, const float *x, size_t n, size_t dim, const lt_tsne_opts *o,
                            const float *xy, lt_tsne_opts *use)
{
    const char *fn = "lt_tsne";
    if (!x || !xy) return lt_set_error(ctx, LT_ERR_ARG, "%s: %s is NULL", fn, !x ? "x" : "xy");
    if (n < TSNE_MIN_N)
        return lt_set_error(ctx, LT_ERR_ARG, "%s: n = %zu point%s: t-SNE needs at least %d points (3 or fewer lie in a "
                            "plane as they are: plot them directly)", fn, n, n == 1 ? "" : "s", TSNE_MIN_N);
    if (n > TSNE_MAX_N)
        return lt_set_error(ctx, LT_ERR_ARG, "%s: n = %zu points: at most %d (exact t-SNE is O(n^2))", fn, n,
                            TSNE_MAX_N);
    if (dim == 0) return lt_set_error(ctx, LT_ERR_ARG, "%s: dim = 0 (must be >= 1)", fn);
    if (dim > SIZE_MAX / sizeof(double) / n)
        return lt_set_error(ctx, LT_ERR_ARG, "%s: %zu x %zu floats overflow", fn, n, dim);
    lt_tsne_opts d = {30.0f, 1000, 200.0f, 0};
    if (o) d.seed = o->seed;
    if (o && o->perplexity != 0.0f) d.perplexity = o->perplexity;
    if (o && o->iterations != 0) d.iterations = o->iterations;
    if (o && o->learning_rate != 0.0f) d.learning_rate = o->learning_rate;
    /* a row's entropy is at most log(n - 1), all others alike: a larger perplexity is
     * out of the bandwidth search's reach */
    if (!(d.perplexity >= 1.0f) || !((double)d.perplexity <= (double)(n - 1)))
        return lt_set_error(ctx, LT_ERR_ARG, "%s: perplexity = %g (must be at least 1 and at most n - 1 = %zu, the "
                            "neighbours a point has)", fn, (double)d.perplexity, n - 1);
    if (d.iterations < 1) return lt_set_error(ctx, LT_ERR_ARG, "%s: iterations = %d (must be >= 1)", fn, d.iterations);
    if (!(d.learning_rate > 0.0f) || !isfinite(d.learning_rate))
        return lt_set_error(ctx, LT_ERR_ARG, "%s: learning_rate = %g (must be positive and finite)", fn,
                            (double)d.learning_rate);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < dim; j++)
            if (!isfinite(x[i * dim + j]))
                return lt_set_error(ctx, LT_ERR_NONFINITE, "%s: x[%zu][%zu] (row %zu, column %zu, 0-based) is %s", fn,
                                    i, j, i, j, isnan(x[i * dim + j]) ? "NaN" : "infinite");
    *use = d;
    return LT_OK;
}

/* Affinities: conditional rows in parallel, then P = (P + P^T) / 2n in place, in tiles
 * so both orientations stay in cache; tiny values are raised to 1e-12 as in the
 * reference. */
static lt_status affinities(lt_ctx *ctx, const float *x, size_t n, size_t dim, double perplexity, int nt,
                            float *p)
{
    double *xd = malloc(n * dim * sizeof *xd);
    double *dist = malloc((size_t)nt * n * sizeof *dist);
    if (!xd || !dist) {
        free(xd);
        free(dist);
        return lt_set_error(ctx, LT_ERR_NOMEM, "lt_tsne: out of memory for the distances");
    }
    for (size_t i = 0; i < n * dim; i++) xd[i] = x[i];
    LT_OMP(omp parallel num_threads(nt) if (nt > 1))
    {
        double *d = dist + lt_host_thread_num() * n;
        LT_OMP(omp for schedule(dynamic, 8))
        for (size_t i = 0; i < n; i++) {
            row_distances(xd, n, dim, i, d);
            row_affinities(d, n, i, perplexity, p + i * n);
        }
    }
    free(xd);
    free(dist);
    const size_t tile = 64;
    const double scale = 1.0 / (2.0 * (double)n);
    LT_PAR_FOR_DYNAMIC(nt)
    for (size_t i0 = 0; i0 < n; i0 += tile)
        for (size_t j0 = i0; j0 < n; j0 += tile)
            for (size_t i = i0; i < i0 + tile && i < n; i++)
                for (size_t j = j0 > i + 1 ? j0 : i + 1; j < j0 + tile && j < n; j++) {
                    double v = ((double)p[i * n + j] + (double)p[j * n + i]) * scale;
                    p[i * n + j] = p[j * n + i] = (float)(v > 1e-12 ? v : 1e-12);
                }
    return LT_OK;
}

/* Exact t-SNE: affinities, then gradient descent on KL(P || Q) with momentum and gains. */
lt_status lt_tsne(lt_ctx *ctx, const float *x, size_t n, size_t dim, const lt_tsne_opts *o, float *xy)
{
    lt_tsne_opts opt = {0};
    lt_status st = check_args(ctx, x, n, dim, o, xy, &opt);
    if (st != LT_OK) return st;
    int nt = lt_host_threads(ctx);
    if ((size_t)nt > n) nt = (int)n;
    float *p = n <= SIZE_MAX / sizeof(float) / n ? malloc(n * n * sizeof *p) : NULL;
    /* per coordinate: positions, their last step, gains, gradient; per row: 5 sums */
    double *y = malloc(n * 8 * sizeof *y), *sums = malloc(n * 5 * sizeof *sums);
    if (!p || !y || !sums) {
        st = lt_set_error(ctx, LT_ERR_NOMEM, "lt_tsne: out of memory for %zu x %zu affinities", n, n);
        goto done;
    }
    st = affinities(ctx, x, n, dim, opt.perplexity, nt, p);
    if (st != LT_OK) goto done;

    double *yx = y, *yy = y + n, *step = y + 2 * n, *gain = y + 4 * n, *grad = y + 6 * n;
    for (size_t i = 0; i < n; i++) {
        yx[i] = TSNE_INIT_STD * (double)lt_philox_normal(opt.seed, 0, 2 * i);
        yy[i] = TSNE_INIT_STD * (double)lt_philox_normal(opt.seed, 0, 2 * i + 1);
    }
    for (size_t i = 0; i < 2 * n; i++) {
        step[i] = 0.0;
        gain[i] = 1.0;
    }
    const double lr = opt.learning_rate;
    for (int it = 0; it < opt.iterations; it++) {
        int early = it < TSNE_EARLY_STEPS;
        double exag = early ? TSNE_EXAGGERATION : 1.0, mom = early ? TSNE_MOMENTUM0 : TSNE_MOMENTUM1;
        LT_PAR_FOR(nt)
        for (size_t i = 0; i < n; i++) row_forces(p + i * n, yx, yy, n, i, sums + 5 * i);
        /* Z = sum over pairs i != j of q_ij: each row counted itself once (q_ii = 1) */
        double z = 0.0;
        for (size_t i = 0; i < n; i++) z += sums[5 * i] - 1.0;
        /* dC/dy_i = 4 sum_j (exag p_ij - q_ij / Z) q_ij (y_i - y_j) */
        for (size_t i = 0; i < n; i++) {
            grad[i] = 4.0 * (exag * sums[5 * i + 1] - sums[5 * i + 3] / z);
            grad[n + i] = 4.0 * (exag * sums[5 * i + 2] - sums[5 * i + 4] / z);
        }
        /* gains grow where the gradient turned against the last step, else shrink */
        double mx = 0.0, my = 0.0;
        for (size_t c = 0; c < 2 * n; c++) {
            gain[c] = (grad[c] > 0.0) != (step[c] > 0.0) ? gain[c] + 0.2 : gain[c] * 0.8;
            if (gain[c] < TSNE_MIN_GAIN) gain[c] = TSNE_MIN_GAIN;
            step[c] = mom * step[c] - lr * gain[c] * grad[c];
            y[c] += step[c];
            if (c < n) mx += y[c];
            else my += y[c];
        }
        mx /= (double)n;
        my /= (double)n;
        if (!isfinite(mx) || !isfinite(my)) {
            st = lt_set_error(ctx, LT_ERR_NONFINITE, "lt_tsne: the layout diverged at step %d (learning rate %g "
                              "too large?)", it + 1, lr);
            goto done;
        }
        for (size_t i = 0; i < n; i++) { /* centred, as the reference does each step */
            yx[i] -= mx;
            yy[i] -= my;
        }
    }
    for (size_t i = 0; i < n; i++) {
        xy[2 * i] = (float)yx[i];
        xy[2 * i + 1] = (float)yy[i];
    }
done:
    free(p);
    free(y);
    free(sums);
    return st;
}
