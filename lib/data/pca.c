/* Principal component analysis: the mean, the dim x dim covariance accumulated in double
 * by a register-blocked loop over row blocks, and its top k eigenpairs from LAPACK's
 * dsyevr (MRRR) through LAPACKE. A build without LAPACKE keeps the API and reports
 * LT_ERR_UNSUPPORTED.
 *
 * The covariance is threaded with OpenMP when the build has it. Every element is summed
 * by one thread over the rows in their order, so results do not depend on the thread
 * count. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef LT_HAVE_LAPACKE
#include <lapacke.h>
#endif
#include "host_threads.h"

/* Rows per block of the covariance: a block's column panels (PB x 8 doubles, 16 KiB)
 * stay in L1 while a tile is summed. */
#define PCA_PB 256
/* Columns per packed panel (a tile is 4 x PCA_PW covariance entries), and rows
 * transformed together (each component row is then read once per group): both one
 * vector of 8 doubles. */
#define PCA_PW 8
#define PCA_RG 8

/* A fitted PCA. */
struct lt_pca {
    size_t dim;        /* floats per row                                  */
    int k;             /* components                                      */
    double *mean;      /* dim                                             */
    double *comp;      /* k x dim, row c = component c (unit length)      */
    double *explained; /* k: eigenvalue / total variance                  */
};

#ifdef LT_HAVE_LAPACKE

#if defined(__GNUC__) || defined(__clang__)
/* GCC vector extensions: 8 doubles, one or more machine vectors, unaligned. */
#define PCA_VEC 1
typedef double pca_v8 __attribute__((vector_size(8 * sizeof(double)), aligned(8), may_alias));
#endif

/* Adds the 4 x PCA_PW block of X^T X of two packed panels (rows of PCA_PW doubles,
 * `rows` of them; a from column 4h of its panel) into c (row stride ldc). */
LT_HOST_CLONES static void cov_tile(const double *a, const double *b, size_t rows, double *c, size_t ldc)
{
#ifdef PCA_VEC
    /* one accumulator per tile row, kept in registers */
    pca_v8 s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
    for (size_t r = 0; r < rows; r++) {
        pca_v8 bv = *(const pca_v8 *)(b + r * PCA_PW);
        const double *ar = a + r * PCA_PW;
        s0 += ar[0] * bv;
        s1 += ar[1] * bv;
        s2 += ar[2] * bv;
        s3 += ar[3] * bv;
    }
    double tmp[4][PCA_PW];
    memcpy(tmp[0], &s0, sizeof s0);
    memcpy(tmp[1], &s1, sizeof s1);
    memcpy(tmp[2], &s2, sizeof s2);
    memcpy(tmp[3], &s3, sizeof s3);
#else
    double tmp[4][PCA_PW] = {{0}};
    for (size_t r = 0; r < rows; r++)
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < PCA_PW; j++) tmp[i][j] += a[r * PCA_PW + i] * b[r * PCA_PW + j];
#endif
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < PCA_PW; j++) c[(size_t)i * ldc + (size_t)j] += tmp[i][j];
}

/* Sums X^T X of the centred rows into cov (dp x dp, dp = dim rounded up to PCA_PW; only
 * blocks on and above the diagonal), packing each block of rows into column panels. */
static void covariance(const float *x, size_t n, size_t dim, const double *mean, double *pack, double *cov,
                       int nt)
{
    size_t np = (dim + PCA_PW - 1) / PCA_PW, dp = np * PCA_PW;
    for (size_t r0 = 0; r0 < n; r0 += PCA_PB) {
        size_t rows = n - r0 < PCA_PB ? n - r0 : PCA_PB;
        /* panel p holds columns [8p, 8p+8) of the block's rows, row after row; the
         * columns past dim stay zero */
        LT_PAR_FOR(nt)
        for (size_t p = 0; p < np; p++) {
            double *dst = pack + p * PCA_PB * PCA_PW;
            for (size_t r = 0; r < rows; r++) {
                const float *src = x + (r0 + r) * dim;
                for (size_t j = 0; j < PCA_PW; j++) {
                    size_t col = p * PCA_PW + j;
                    dst[r * PCA_PW + j] = col < dim ? (double)src[col] - mean[col] : 0.0;
                }
            }
        }
        /* tiles: 4 rows (half a panel) against every panel on or right of it; the
         * triangle is uneven, so half-panels are dealt out dynamically */
        LT_PAR_FOR_DYNAMIC(nt)
        for (size_t h = 0; h < 2 * np; h++) {
            size_t p = h / 2;
            const double *a = pack + p * PCA_PB * PCA_PW + (h % 2) * 4;
            for (size_t q = p; q < np; q++)
                cov_tile(a, pack + q * PCA_PB * PCA_PW, rows, cov + (h * 4) * dp + q * PCA_PW, dp);
        }
    }
}

/* Projects rows r0..r0+rows-1 (rows <= PCA_RG) of x onto the components. The group's
 * centred rows are transposed into xt (dim x PCA_RG) so that one pass over a component
 * row serves them all, one vector lane per row. */
LT_HOST_CLONES static void project_group(const lt_pca *p, const float *x, size_t r0, size_t rows, double *xt,
                                     float *codes)
{
    size_t dim = p->dim, k = (size_t)p->k;
    for (size_t j = 0; j < dim; j++)
        for (size_t r = 0; r < PCA_RG; r++)
            xt[j * PCA_RG + r] = r < rows ? (double)x[(r0 + r) * dim + j] - p->mean[j] : 0.0;
    for (size_t c = 0; c < k; c++) {
        const double *v = p->comp + c * dim;
        double s[PCA_RG] = {0};
#ifdef PCA_VEC
        pca_v8 acc = {0};
        for (size_t j = 0; j < dim; j++) acc += *(const pca_v8 *)(xt + j * PCA_RG) * v[j];
        memcpy(s, &acc, sizeof s);
#else
        for (size_t j = 0; j < dim; j++)
            for (size_t r = 0; r < PCA_RG; r++) s[r] += xt[j * PCA_RG + r] * v[j];
#endif
        for (size_t r = 0; r < rows; r++) codes[(r0 + r) * k + c] = (float)s[r];
    }
}

/* Maps codes of rows r0..r0+rows-1 (rows <= PCA_RG) back to x, summing the rows side by
 * side in acc (dim x PCA_RG, one vector lane per row). */
LT_HOST_CLONES static void restore_group(const lt_pca *p, const float *codes, size_t r0, size_t rows, double *acc,
                                     float *x)
{
    size_t dim = p->dim, k = (size_t)p->k;
    for (size_t j = 0; j < dim; j++)
        for (size_t r = 0; r < PCA_RG; r++) acc[j * PCA_RG + r] = p->mean[j];
    for (size_t c = 0; c < k; c++) {
        const double *v = p->comp + c * dim;
        double a[PCA_RG] = {0};
        for (size_t r = 0; r < rows; r++) a[r] = codes[(r0 + r) * k + c];
#ifdef PCA_VEC
        pca_v8 av;
        memcpy(&av, a, sizeof av);
        for (size_t j = 0; j < dim; j++) *(pca_v8 *)(acc + j * PCA_RG) += av * v[j];
#else
        for (size_t j = 0; j < dim; j++)
            for (size_t r = 0; r < PCA_RG; r++) acc[j * PCA_RG + r] += a[r] * v[j];
#endif
    }
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < dim; j++) x[(r0 + r) * dim + j] = (float)acc[j * PCA_RG + r];
}

/* Transform (inverse = 0: in is n x dim, out n x k) or inverse (in n x k, out n x dim),
 * groups of rows split over threads. */
static lt_status apply(lt_ctx *ctx, const char *fn, const lt_pca *p, const float *in, size_t n, float *out,
                       int inverse)
{
    if (!p) return lt_set_error(ctx, LT_ERR_ARG, "%s: the PCA is NULL", fn);
    if (n > 0 && (!in || !out))
        return lt_set_error(ctx, LT_ERR_ARG, "%s: %s is NULL for %zu rows", fn, !in ? "the input" : "the output", n);
    if (n > SIZE_MAX / sizeof(float) / p->dim)
        return lt_set_error(ctx, LT_ERR_ARG, "%s: %zu rows of %zu floats overflow", fn, n, p->dim);
    if (n == 0) return LT_OK;
    size_t groups = (n + PCA_RG - 1) / PCA_RG;
    int nt = lt_host_threads(ctx);
    if ((size_t)nt > groups) nt = (int)groups;
    double *buf = malloc((size_t)nt * p->dim * PCA_RG * sizeof *buf);
    if (!buf) return lt_set_error(ctx, LT_ERR_NOMEM, "%s: out of memory", fn);
    LT_OMP(omp parallel num_threads(nt) if (nt > 1))
    {
        size_t tid = lt_host_thread_num();
        LT_OMP(omp for schedule(static))
        for (size_t g = 0; g < groups; g++) {
            size_t r0 = g * PCA_RG, rows = n - r0 < PCA_RG ? n - r0 : PCA_RG;
            double *work = buf + tid * p->dim * PCA_RG;
            if (inverse) restore_group(p, in, r0, rows, work, out);
            else project_group(p, in, r0, rows, work, out);
        }
    }
    free(buf);
    return LT_OK;
}

#else

/* Error for a build without LAPACKE. */
static lt_status no_lapacke(lt_ctx *ctx, const char *fn)
{
    return lt_set_error(ctx, LT_ERR_UNSUPPORTED, "%s: this build of latent lacks LAPACKE, which PCA needs "
                        "(install liblapacke-dev and rebuild)", fn);
}

/* Without LAPACKE no PCA is ever fitted: transform and inverse only say so. */
static lt_status apply(lt_ctx *ctx, const char *fn, const lt_pca *p, const float *in, size_t n, float *out,
                       int inverse)
{
    return no_lapacke(ctx, fn);
}

#endif /* LT_HAVE_LAPACKE */

/* Mean, covariance and top-k eigenvectors, sign-fixed so each one's largest-magnitude
 * entry is positive. */
lt_status lt_pca_fit(lt_ctx *ctx, const float *x, size_t n, size_t dim, int k, lt_pca **out)
{
    const char *fn = "lt_pca_fit";
    if (!out) return lt_set_error(ctx, LT_ERR_ARG, "%s: out is NULL", fn);
    *out = NULL;
#ifndef LT_HAVE_LAPACKE
    (void)x; (void)n; (void)dim; (void)k;
    return no_lapacke(ctx, fn);
#else
    if (!x) return lt_set_error(ctx, LT_ERR_ARG, "%s: x is NULL", fn);
    if (dim == 0) return lt_set_error(ctx, LT_ERR_ARG, "%s: dim = 0 (must be >= 1)", fn);
    if (n < 2) return lt_set_error(ctx, LT_ERR_ARG, "%s: n = %zu rows (at least 2 are needed)", fn, n);
    if (k < 1 || (size_t)k > dim)
        return lt_set_error(ctx, LT_ERR_ARG, "%s: k = %d (must be 1..dim = %zu)", fn, k, dim);
    if (n > SIZE_MAX / sizeof(float) / dim)
        return lt_set_error(ctx, LT_ERR_ARG, "%s: %zu x %zu floats overflow", fn, n, dim);
    /* LAPACK indexes with int; the covariance (dp^2 doubles) must be addressable */
    size_t np = (dim + PCA_PW - 1) / PCA_PW, dp = np * PCA_PW;
    if (dim > (size_t)INT32_MAX / 2 || dp > SIZE_MAX / sizeof(double) / dp)
        return lt_set_error(ctx, LT_ERR_NOMEM, "%s: dim = %zu: the %zu x %zu covariance is too large", fn, dim,
                            dim, dim);

    /* the mean, checking every value first */
    double *mean = calloc(dim, sizeof *mean);
    if (!mean) return lt_set_error(ctx, LT_ERR_NOMEM, "%s: out of memory", fn);
    for (size_t i = 0; i < n; i++) {
        const float *row = x + i * dim;
        for (size_t j = 0; j < dim; j++) {
            if (!isfinite(row[j])) {
                free(mean);
                return lt_set_error(ctx, LT_ERR_NONFINITE, "%s: x[%zu][%zu] (row %zu, column %zu, 0-based) is %s",
                                    fn, i, j, i, j, isnan(row[j]) ? "NaN" : "infinite");
            }
            mean[j] += row[j];
        }
    }
    for (size_t j = 0; j < dim; j++) mean[j] /= (double)n;

    lt_status st = LT_OK;
    int nt = lt_host_threads(ctx);
    double *cov = calloc(dp * dp, sizeof *cov);
    double *pack = calloc(np * PCA_PB * PCA_PW, sizeof *pack);
    double *w = malloc(dim * sizeof *w);
    double *z = malloc(dim * (size_t)k * sizeof *z);
    lapack_int *isuppz = malloc(2 * (size_t)k * sizeof *isuppz);
    lt_pca *p = calloc(1, sizeof *p);
    if (p) {
        p->comp = malloc(dim * (size_t)k * sizeof *p->comp);
        p->explained = malloc((size_t)k * sizeof *p->explained);
    }
    if (!cov || !pack || !w || !z || !isuppz || !p || !p->comp || !p->explained) {
        st = lt_set_error(ctx, LT_ERR_NOMEM, "%s: out of memory for the %zu x %zu covariance", fn, dim, dim);
        goto done;
    }
    p->dim = dim;
    p->k = k;
    p->mean = mean;
    mean = NULL;

    covariance(x, n, dim, p->mean, pack, cov, nt);
    /* the upper triangle, scaled, into a dense dim x dim matrix (in place: row stride
     * shrinks from dp to dim, and row i's new place never overtakes an unread row) */
    double total = 0.0;
    for (size_t i = 0; i < dim; i++)
        for (size_t j = i; j < dim; j++) cov[i * dim + j] = cov[i * dp + j] / (double)(n - 1);
    for (size_t i = 0; i < dim; i++) {
        total += cov[i * dim + i];
        for (size_t j = 0; j < i; j++) cov[i * dim + j] = cov[j * dim + i];
    }

    /* eigenpairs dim-k+1..dim (ascending): the k largest; the matrix is symmetric, so
     * row- and column-major are the same and z comes back column-major (dim x k) */
    lapack_int m = 0, nd = (lapack_int)dim;
    lapack_int info = LAPACKE_dsyevr(LAPACK_COL_MAJOR, 'V', 'I', 'U', nd, cov, nd, 0.0, 0.0, nd - k + 1, nd, 0.0,
                                     &m, w, z, nd, isuppz);
    if (info == LAPACK_WORK_MEMORY_ERROR || info == LAPACK_TRANSPOSE_MEMORY_ERROR) {
        st = lt_set_error(ctx, LT_ERR_NOMEM, "%s: out of memory in LAPACK's dsyevr", fn);
        goto done;
    }
    if (info != 0 || m != k) {
        st = lt_set_error(ctx, LT_ERR_ARG, "%s: LAPACK's dsyevr failed (info = %d, %d of %d eigenpairs)", fn,
                          (int)info, (int)m, k);
        goto done;
    }
    for (int c = 0; c < k; c++) {
        const double *v = z + (size_t)(k - 1 - c) * dim; /* largest first */
        size_t big = 0;
        for (size_t j = 1; j < dim; j++)
            if (fabs(v[j]) > fabs(v[big])) big = j;
        double sign = v[big] < 0.0 ? -1.0 : 1.0; /* a deterministic orientation */
        for (size_t j = 0; j < dim; j++) p->comp[(size_t)c * dim + j] = sign * v[j];
        double lambda = w[k - 1 - c] > 0.0 ? w[k - 1 - c] : 0.0; /* rounding can make 0 slightly negative */
        p->explained[c] = total > 0.0 ? lambda / total : 0.0;
    }
    *out = p;
    p = NULL;
done:
    lt_pca_free(p);
    free(mean);
    free(cov);
    free(pack);
    free(w);
    free(z);
    free(isuppz);
    return st;
#endif
}

/* codes = (x - mean) components^T, PCA_RG rows at a time. */
lt_status lt_pca_transform(lt_ctx *ctx, const lt_pca *p, const float *x, size_t n, float *codes)
{
    return apply(ctx, "lt_pca_transform", p, x, n, codes, 0);
}

/* x = mean + codes components, PCA_RG rows at a time. */
lt_status lt_pca_inverse(lt_ctx *ctx, const lt_pca *p, const float *codes, size_t n, float *x)
{
    return apply(ctx, "lt_pca_inverse", p, codes, n, x, 1);
}

/* Number of components (0 for NULL). */
int lt_pca_components(const lt_pca *p) { return p ? p->k : 0; }

/* Explained variance ratio of component i; NaN when p is NULL or i is out of range. */
double lt_pca_explained(const lt_pca *p, int i)
{
    if (!p || i < 0 || i >= p->k) return NAN;
    return p->explained[i];
}

/* Frees the PCA and its arrays. */
void lt_pca_free(lt_pca *p)
{
    if (!p) return;
    free(p->mean);
    free(p->comp);
    free(p->explained);
    free(p);
}
