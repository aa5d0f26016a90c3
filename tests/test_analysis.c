/* Tests of the analysis functions: PCA (known directions and variance ratios, round
 * trips, reconstruction error, errors), exact t-SNE (separated clusters stay separated,
 * determinism, errors), ROC AUC (hand-computed cases, a brute-force comparison, errors)
 * and the class-coloured scatter plot. Runs on the CPU context. Prints one line per
 * failed check; exits 0 only if none failed. */
#include "latent.h"
#include "harness.h"

/* stb_image decodes the plot so its pixels can be checked. */
#include "stb_png.h"

/* Standard normal number i of a test stream. */
static float gauss(uint64_t seed, uint64_t i) { return lt_philox_normal(seed, 0, i); }

/* Checks that st is LT_OK, naming what failed (printf-style) and the context's message;
 * returns 1 when it is. */
static int check_ok(lt_status st, const lt_ctx *ctx, const char *fmt, ...) HARNESS_PRINTF(3, 4);
static int check_ok(lt_status st, const lt_ctx *ctx, const char *fmt, ...)
{
    char what[256];
    FORMAT_WHAT(what, fmt);
    CHECK(st == LT_OK, "%s: %s (%s)", what, lt_status_name(st), lt_ctx_error(ctx));
    return st == LT_OK;
}

#ifdef LT_HAVE_LAPACKE
/* Mean squared difference of two arrays of m floats. */
static double mse(const float *a, const float *b, size_t m)
{
    double s = 0.0;
    for (size_t i = 0; i < m; i++) s += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    return s / (double)m;
}

/* Component c of p, recovered as inverse(e_c) - inverse(0) (the API keeps them opaque). */
static void component(lt_ctx *ctx, const lt_pca *p, int c, size_t dim, double *v)
{
    int k = lt_pca_components(p);
    float *codes = calloc(2 * (size_t)k, sizeof *codes), *x = malloc(2 * dim * sizeof *x);
    if (!codes || !x) exit(1);
    codes[k + c] = 1.0f; /* row 0: zeros (the mean), row 1: e_c */
    CHECK(lt_pca_inverse(ctx, p, codes, 2, x) == LT_OK, "inverse for component %d: %s", c, lt_ctx_error(ctx));
    for (size_t j = 0; j < dim; j++) v[j] = (double)x[dim + j] - x[j];
    free(codes);
    free(x);
}

/* A tilted plane in 5-D (spread 3 along u, 1 along w, noise 1e-3): PCA finds u and w,
 * their variance ratios, orthonormal components with a positive largest entry. */
static void test_pca_plane(lt_ctx *ctx)
{
    enum { N = 4000, D = 5 };
    const double s3 = 1.0 / sqrt(3.0);
    const double u[D] = {s3, s3, 0, 0, s3}, w[D] = {s3, -s3, s3, 0, 0}, mean[D] = {1, -2, 3, 0.5, 7};
    float *x = malloc(N * D * sizeof *x);
    if (!x) exit(1);
    double va = 0, vb = 0; /* sample variances of the two plane coordinates */
    for (size_t i = 0; i < N; i++) {
        double a = 3.0 * gauss(1, 2 * i), b = gauss(1, 2 * i + 1);
        va += a * a;
        vb += b * b;
        for (size_t j = 0; j < D; j++)
            x[i * D + j] = (float)(mean[j] + a * u[j] + b * w[j] + 1e-3 * gauss(2, i * D + j));
    }
    lt_pca *p = NULL;
    lt_status st = lt_pca_fit(ctx, x, N, D, D, &p);
    if (!p) {
        CHECK(0, "fit of the plane: %s", lt_ctx_error(ctx));
        free(x);
        return;
    }
    CHECK(st == LT_OK && lt_pca_components(p) == D, "components = %d", lt_pca_components(p));
    double ra = va / (va + vb), sum = 0.0;
    CHECK(fabs(lt_pca_explained(p, 0) - ra) < 0.01, "explained 0 = %g, expected about %g", lt_pca_explained(p, 0), ra);
    CHECK(fabs(lt_pca_explained(p, 1) - (1 - ra)) < 0.01, "explained 1 = %g, expected about %g",
          lt_pca_explained(p, 1), 1 - ra);
    for (int c = 0; c < D; c++) {
        sum += lt_pca_explained(p, c);
        if (c > 0) CHECK(lt_pca_explained(p, c) <= lt_pca_explained(p, c - 1), "explained not descending at %d", c);
        if (c >= 2) CHECK(lt_pca_explained(p, c) < 1e-6, "explained %d = %g (noise only)", c, lt_pca_explained(p, c));
    }
    CHECK(fabs(sum - 1.0) < 1e-9, "explained ratios sum to %.12f", sum);
    CHECK(isnan(lt_pca_explained(p, D)) && isnan(lt_pca_explained(p, -1)) && isnan(lt_pca_explained(NULL, 0)),
          "explained out of range is not NaN");

    double v[D][D];
    for (int c = 0; c < D; c++) component(ctx, p, c, D, v[c]);
    double du = 0, dw = 0;
    for (int j = 0; j < D; j++) {
        du += v[0][j] * u[j];
        dw += v[1][j] * w[j];
    }
    CHECK(fabs(fabs(du) - 1.0) < 1e-4, "component 0 . u = %g", du);
    CHECK(fabs(fabs(dw) - 1.0) < 1e-4, "component 1 . w = %g", dw);
    for (int c = 0; c < D; c++) {
        int big = 0;
        for (int j = 1; j < D; j++)
            if (fabs(v[c][j]) > fabs(v[c][big])) big = j;
        CHECK(v[c][big] > 0, "component %d: largest entry %g is negative", c, v[c][big]);
        for (int e = 0; e <= c; e++) {
            double d = 0;
            for (int j = 0; j < D; j++) d += v[c][j] * v[e][j];
            CHECK(fabs(d - (c == e)) < 1e-5, "components %d . %d = %g", c, e, d);
        }
    }

    /* codes: zero mean, variance along component 0 about var(a), uncorrelated */
    float *codes = malloc(N * D * sizeof *codes);
    if (!codes) exit(1);
    CHECK(lt_pca_transform(ctx, p, x, N, codes) == LT_OK, "transform: %s", lt_ctx_error(ctx));
    double m0 = 0, v0 = 0, c01 = 0;
    for (size_t i = 0; i < N; i++) {
        m0 += codes[i * D];
        v0 += (double)codes[i * D] * codes[i * D];
        c01 += (double)codes[i * D] * codes[i * D + 1];
    }
    CHECK(fabs(m0 / N) < 1e-4, "code 0 mean %g", m0 / N);
    CHECK(fabs(v0 / va - 1.0) < 0.01, "code 0 variance %g, plane %g", v0 / N, va / N);
    CHECK(fabs(c01 / N) < 1e-3, "codes 0 and 1 correlate: %g", c01 / N);
    free(codes);
    lt_pca_free(p);
    free(x);
}

#else
/* A build without LAPACKE: every PCA call says so. */
static void test_pca_plane(lt_ctx *ctx)
{
    float x[4] = {1, 2, 3, 5}, y[4];
    lt_pca *p = (lt_pca *)x;
    CHECK(lt_pca_fit(ctx, x, 2, 2, 1, &p) == LT_ERR_UNSUPPORTED && says(ctx, "LAPACKE") && p == NULL,
          "fit without LAPACKE: %s", lt_ctx_error(ctx));
    CHECK(lt_pca_transform(ctx, NULL, x, 1, y) == LT_ERR_UNSUPPORTED && says(ctx, "liblapacke-dev"),
          "transform without LAPACKE");
    CHECK(lt_pca_inverse(ctx, NULL, x, 1, y) == LT_ERR_UNSUPPORTED, "inverse without LAPACKE");
    CHECK(lt_pca_components(NULL) == 0 && isnan(lt_pca_explained(NULL, 0)), "accessors without LAPACKE");
    lt_pca_free(NULL);
}
#endif

/* Random data: round trip with k = dim, reconstruction error falling with k, and
 * PCA of a single repeated direction. */
static void test_pca_roundtrip(lt_ctx *ctx)
{
#ifdef LT_HAVE_LAPACKE
    enum { N = 300, D = 12 };
    float *x = malloc(N * D * sizeof *x), *codes = malloc(N * D * sizeof *codes), *y = malloc(N * D * sizeof *y);
    if (!x || !codes || !y) exit(1);
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < D; j++) /* columns of different spreads, some correlated */
            x[i * D + j] = (float)((double)(j + 1) * 0.3 * gauss(3, i * D + j) + (j % 3 == 0) * gauss(4, i) + 0.1 * j);
    double total = 0; /* the sum of the columns' variances */
    for (size_t j = 0; j < D; j++) {
        double m = 0, v = 0;
        for (size_t i = 0; i < N; i++) m += x[i * D + j];
        m /= N;
        for (size_t i = 0; i < N; i++) v += ((double)x[i * D + j] - m) * ((double)x[i * D + j] - m);
        total += v / (N - 1);
    }
    double last = INFINITY;
    for (int k = 1; k <= D; k++) {
        lt_pca *p = NULL;
        if (!check_ok(lt_pca_fit(ctx, x, N, D, k, &p), ctx, "fit k = %d", k)) continue;
        CHECK(lt_pca_transform(ctx, p, x, N, codes) == LT_OK, "transform k = %d", k);
        CHECK(lt_pca_inverse(ctx, p, codes, N, y) == LT_OK, "inverse k = %d", k);
        double e = mse(x, y, N * D);
        CHECK(e < last || (k == D && e < 1e-9), "reconstruction error %g at k = %d, %g at k - 1", e, k, last);
        if (k == D) {
            double worst = 0;
            for (size_t i = 0; i < N * D; i++) worst = fmax(worst, fabs((double)x[i] - y[i]));
            CHECK(worst < 1e-4, "round trip with k = dim: largest error %g", worst);
        }
        /* the error is the variance left out: the dropped ratios times the total */
        double kept = 0;
        for (int c = 0; c < k; c++) kept += lt_pca_explained(p, c);
        double want = (1.0 - kept) * total * (N - 1) / N / D;
        CHECK(fabs(e - want) < 1e-4 * want + 1e-10, "k = %d: reconstruction error %g, dropped variance %g", k, e, want);
        last = e;
        lt_pca_free(p);
    }
    /* n = 2 is enough; k = 1 of two distinct rows explains everything */
    float two[2 * D];
    for (int j = 0; j < 2 * D; j++) two[j] = (float)j;
    lt_pca *p = NULL;
    CHECK(lt_pca_fit(ctx, two, 2, D, 1, &p) == LT_OK && fabs(lt_pca_explained(p, 0) - 1.0) < 1e-9,
          "two rows: %s", lt_ctx_error(ctx));
    /* zero rows to transform is fine */
    CHECK(lt_pca_transform(ctx, p, NULL, 0, NULL) == LT_OK, "transform of 0 rows");
    lt_pca_free(p);
    /* constant data: no variance, ratios 0, codes 0 */
    for (int j = 0; j < 2 * D; j++) two[j] = 5.0f;
    p = NULL;
    CHECK(lt_pca_fit(ctx, two, 2, D, 2, &p) == LT_OK && lt_pca_explained(p, 0) == 0.0, "constant data: %s",
          lt_ctx_error(ctx));
    lt_pca_free(p);
    FREE_ALL(x, codes, y);
#else
    (void)ctx;
#endif
}

/* Argument errors of the PCA functions. */
static void test_pca_errors(lt_ctx *ctx)
{
    float x[4 * 3] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 0, 2};
    lt_pca *p = (lt_pca *)x; /* must be reset to NULL on failure */
#ifdef LT_HAVE_LAPACKE
    const lt_status unsup = LT_OK;
#else
    const lt_status unsup = LT_ERR_UNSUPPORTED;
#endif
    lt_status st = lt_pca_fit(ctx, x, 4, 3, 0, &p);
    CHECK(st == (unsup ? unsup : LT_ERR_ARG) && p == NULL, "k = 0: %s", lt_ctx_error(ctx));
    if (unsup) return;
    CHECK(says(ctx, "k = 0"), "k = 0 message: %s", lt_ctx_error(ctx));
    CHECK(lt_pca_fit(ctx, x, 4, 3, 4, &p) == LT_ERR_ARG && says(ctx, "k = 4"), "k > dim: %s", lt_ctx_error(ctx));
    CHECK(lt_pca_fit(ctx, x, 1, 3, 1, &p) == LT_ERR_ARG && says(ctx, "n = 1"), "n = 1: %s", lt_ctx_error(ctx));
    CHECK(lt_pca_fit(ctx, x, 4, 0, 1, &p) == LT_ERR_ARG && says(ctx, "dim = 0"), "dim = 0: %s", lt_ctx_error(ctx));
    CHECK(lt_pca_fit(ctx, NULL, 4, 3, 1, &p) == LT_ERR_ARG && says(ctx, "x is NULL"), "NULL x: %s", lt_ctx_error(ctx));
    CHECK(lt_pca_fit(ctx, x, 4, 3, 1, NULL) == LT_ERR_ARG, "NULL out");
    CHECK(lt_pca_fit(ctx, x, SIZE_MAX / 2, 3, 1, &p) == LT_ERR_ARG && says(ctx, "overflow"), "huge n: %s",
          lt_ctx_error(ctx));
    x[2 * 3 + 1] = NAN;
    CHECK(lt_pca_fit(ctx, x, 4, 3, 1, &p) == LT_ERR_NONFINITE && says(ctx, "row 2, column 1") && says(ctx, "NaN"),
          "NaN: %s", lt_ctx_error(ctx));
    x[2 * 3 + 1] = -INFINITY;
    CHECK(lt_pca_fit(ctx, x, 4, 3, 1, &p) == LT_ERR_NONFINITE && says(ctx, "infinite"), "inf: %s",
          lt_ctx_error(ctx));
    x[2 * 3 + 1] = 8;
    CHECK(p == NULL, "out not NULL after failures");
    float codes[4 * 2], y[4 * 3];
    CHECK(lt_pca_transform(ctx, NULL, x, 4, codes) == LT_ERR_ARG && says(ctx, "NULL"), "transform NULL pca");
    if (!check_ok(lt_pca_fit(ctx, x, 4, 3, 2, &p), ctx, "small fit")) return;
    CHECK(lt_pca_transform(ctx, p, NULL, 4, codes) == LT_ERR_ARG, "transform NULL x");
    CHECK(lt_pca_transform(ctx, p, x, 4, NULL) == LT_ERR_ARG, "transform NULL codes");
    CHECK(lt_pca_inverse(ctx, p, NULL, 4, y) == LT_ERR_ARG, "inverse NULL codes");
    CHECK(lt_pca_inverse(ctx, NULL, codes, 4, y) == LT_ERR_ARG, "inverse NULL pca");
    CHECK(lt_pca_components(NULL) == 0, "components of NULL");
    lt_pca_free(p);
    lt_pca_free(NULL);
}

/* Three gaussian clusters in 10-D: the 2-D map keeps each point's 10 nearest map
 * neighbours in its own cluster, the same seed gives the same map (also on one thread),
 * another seed another. */
static void test_tsne_clusters(lt_ctx *ctx)
{
    enum { PER = 100, N = 3 * PER, D = 10, NB = 10 };
    float *x = malloc(N * D * sizeof *x), *xy = malloc(N * 2 * sizeof *xy), *xy2 = malloc(N * 2 * sizeof *xy2);
    if (!x || !xy || !xy2) exit(1);
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < D; j++) /* centres 8 apart on the first two axes, unit spread */
            x[i * D + j] = gauss(5, i * D + j) + (j == i / PER - 1 ? 8.0f : 0.0f);
    lt_tsne_opts o = {0};
    o.seed = 42;
    if (!check_ok(lt_tsne(ctx, x, N, D, &o, xy), ctx, "t-SNE of the clusters")) goto out;
    int same = 0, finite = 1;
    double mx = 0, my = 0;
    for (size_t i = 0; i < N; i++) {
        finite &= isfinite(xy[2 * i]) && isfinite(xy[2 * i + 1]);
        mx += xy[2 * i];
        my += xy[2 * i + 1];
        /* the NB nearest others by selection (N is small) */
        double best[NB];
        size_t who[NB];
        int have = 0;
        for (size_t j = 0; j < N; j++) {
            if (j == i) continue;
            double dx = xy[2 * i] - xy[2 * j], dy = xy[2 * i + 1] - xy[2 * j + 1], d = dx * dx + dy * dy;
            int at = have < NB ? have++ : NB;
            while (at > 0 && best[at - 1] > d) {
                if (at < NB) { best[at] = best[at - 1]; who[at] = who[at - 1]; }
                at--;
            }
            if (at < NB) { best[at] = d; who[at] = j; }
        }
        for (int k = 0; k < NB; k++) same += who[k] / PER == i / PER;
    }
    CHECK(finite, "non-finite map");
    CHECK(fabs(mx / N) < 1e-3 && fabs(my / N) < 1e-3, "map not centred: %g %g", mx / N, my / N);
    double purity = (double)same / (N * NB);
    CHECK(purity > 0.95, "nearest map neighbours in the same cluster: %.3f", purity);
    printf("t-SNE clusters: neighbour purity %.4f\n", purity);

    /* determinism: shorter runs suffice */
    o.iterations = 300;
    check_ok(lt_tsne(ctx, x, N, D, &o, xy), ctx, "t-SNE run 1");
    check_ok(lt_tsne(ctx, x, N, D, &o, xy2), ctx, "t-SNE run 2");
    CHECK(memcmp(xy, xy2, N * 2 * sizeof *xy) == 0, "same seed, different maps");
    lt_ctx_set_threads(ctx, 1);
    check_ok(lt_tsne(ctx, x, N, D, &o, xy2), ctx, "t-SNE on one thread");
    lt_ctx_set_threads(ctx, 0);
    CHECK(memcmp(xy, xy2, N * 2 * sizeof *xy) == 0, "one thread gives a different map");
    o.seed = 43;
    check_ok(lt_tsne(ctx, x, N, D, &o, xy2), ctx, "t-SNE seed 43");
    CHECK(memcmp(xy, xy2, N * 2 * sizeof *xy) != 0, "another seed, the same map");
    /* the smallest problem works, up to the largest perplexity it has (n - 1) */
    check_ok(lt_tsne(ctx, x, 4, D, &(lt_tsne_opts){2.0f, 50, 0, 0}, xy2), ctx, "4 points");
    check_ok(lt_tsne(ctx, x, 4, D, &(lt_tsne_opts){3.0f, 50, 0, 0}, xy2), ctx, "4 points, perplexity 3");
    int tiny_finite = 1;
    for (int i = 0; i < 8; i++) tiny_finite &= isfinite(xy2[i]);
    CHECK(tiny_finite, "4 points: a non-finite map");
out:
    FREE_ALL(x, xy, xy2);
}

/* Argument errors of lt_tsne. */
static void test_tsne_errors(lt_ctx *ctx)
{
    float x[40 * 2], xy[40 * 2];
    for (int i = 0; i < 80; i++) x[i] = (float)(i % 7);
    lt_tsne_opts o = {5.0f, 10, 0, 0};
    CHECK(lt_tsne(ctx, x, 2, 2, &o, xy) == LT_ERR_ARG && says(ctx, "n = 2"), "n = 2: %s", lt_ctx_error(ctx));
    /* fewer than 4 points: said plainly, whatever the perplexity */
    for (size_t n = 0; n < 4; n++) {
        lt_tsne_opts small = {1.0f, 10, 0, 0};
        CHECK(lt_tsne(ctx, x, n, 2, &small, xy) == LT_ERR_ARG && says(ctx, "t-SNE needs at least 4 points"),
              "n = %zu: %s", n, lt_ctx_error(ctx));
    }
    /* a perplexity between n - 1 and n cannot be reached by any bandwidth */
    lt_tsne_opts high = {4.5f, 10, 0, 0};
    CHECK(lt_tsne(ctx, x, 5, 2, &high, xy) == LT_ERR_ARG && says(ctx, "at most n - 1 = 4"), "perplexity 4.5 of 5 points: %s",
          lt_ctx_error(ctx));
    CHECK(lt_tsne(ctx, x, 20001, 2, &o, xy) == LT_ERR_ARG && says(ctx, "20000"), "n > 20000: %s", lt_ctx_error(ctx));
    CHECK(lt_tsne(ctx, x, 40, 0, &o, xy) == LT_ERR_ARG && says(ctx, "dim = 0"), "dim 0: %s", lt_ctx_error(ctx));
    CHECK(lt_tsne(ctx, NULL, 40, 2, &o, xy) == LT_ERR_ARG && says(ctx, "x is NULL"), "NULL x");
    CHECK(lt_tsne(ctx, x, 40, 2, &o, NULL) == LT_ERR_ARG && says(ctx, "xy is NULL"), "NULL xy");
    CHECK(lt_tsne(ctx, x, 5, 2, &o, xy) == LT_ERR_ARG && says(ctx, "perplexity = 5"), "perplexity = n: %s",
          lt_ctx_error(ctx));
    CHECK(lt_tsne(ctx, x, 10, 2, NULL, xy) == LT_ERR_ARG && says(ctx, "perplexity = 30"), "default perplexity >= n");
    o.perplexity = -1.0f;
    CHECK(lt_tsne(ctx, x, 40, 2, &o, xy) == LT_ERR_ARG && says(ctx, "perplexity"), "negative perplexity");
    o.perplexity = NAN;
    CHECK(lt_tsne(ctx, x, 40, 2, &o, xy) == LT_ERR_ARG && says(ctx, "perplexity"), "NaN perplexity");
    o.perplexity = 5.0f;
    o.iterations = -3;
    CHECK(lt_tsne(ctx, x, 40, 2, &o, xy) == LT_ERR_ARG && says(ctx, "iterations = -3"), "negative iterations");
    o.iterations = 10;
    o.learning_rate = -1.0f;
    CHECK(lt_tsne(ctx, x, 40, 2, &o, xy) == LT_ERR_ARG && says(ctx, "learning_rate"), "negative learning rate");
    o.learning_rate = INFINITY;
    CHECK(lt_tsne(ctx, x, 40, 2, &o, xy) == LT_ERR_ARG && says(ctx, "learning_rate"), "infinite learning rate");
    o.learning_rate = 0.0f;
    x[2 * 17 + 1] = INFINITY;
    CHECK(lt_tsne(ctx, x, 40, 2, &o, xy) == LT_ERR_NONFINITE && says(ctx, "row 17, column 1"), "inf in x: %s",
          lt_ctx_error(ctx));
    x[2 * 17 + 1] = 0.0f;
    check_ok(lt_tsne(ctx, x, 40, 2, &o, xy), ctx, "40 points with duplicates");
    /* a learning rate far too large blows the layout up: reported, not returned */
    o.learning_rate = 1e38f;
    o.iterations = 50;
    lt_status st = lt_tsne(ctx, x, 40, 2, &o, xy);
    CHECK(st == LT_OK || (st == LT_ERR_NONFINITE && says(ctx, "diverged")), "huge learning rate: %s",
          lt_ctx_error(ctx));
}

/* AUC of n scores against labels, or NaN on failure. */
static double auc_of(lt_ctx *ctx, const float *s, const int32_t *pos, size_t n)
{
    double a = -1;
    return lt_roc_auc(ctx, s, pos, n, &a) == LT_OK ? a : NAN;
}

/* ROC AUC: perfect, inverted, all tied, hand-computed cases, brute force, errors. */
static void test_roc(lt_ctx *ctx)
{
    const float s4[4] = {0.1f, 0.2f, 0.8f, 0.9f};
    const int32_t up[4] = {0, 0, 1, 1}, down[4] = {1, 1, 0, 0}, mixed_lab[4] = {0, 0, 1, 1};
    CHECK(auc_of(ctx, s4, up, 4) == 1.0, "perfect: %g", auc_of(ctx, s4, up, 4));
    CHECK(auc_of(ctx, s4, down, 4) == 0.0, "inverted: %g", auc_of(ctx, s4, down, 4));
    const float tied[4] = {0.5f, 0.5f, 0.5f, 0.5f};
    CHECK(auc_of(ctx, tied, up, 4) == 0.5, "all tied: %g", auc_of(ctx, tied, up, 4));
    /* scikit-learn's example: pairs (0.35 vs 0.1, 0.4), (0.8 vs 0.1, 0.4): 3 of 4 */
    const float sk[4] = {0.1f, 0.4f, 0.35f, 0.8f};
    CHECK(fabs(auc_of(ctx, sk, mixed_lab, 4) - 0.75) < 1e-15, "sklearn example: %g", auc_of(ctx, sk, mixed_lab, 4));
    /* positives 2, 3 against negatives 1, 2: wins 1 + 1 + 1, one tie: 3.5 / 4 */
    const float tie_s[4] = {1, 2, 2, 3};
    const int32_t tie_l[4] = {0, 7, 0, -1}; /* any nonzero is positive */
    CHECK(fabs(auc_of(ctx, tie_s, tie_l, 4) - 0.875) < 1e-15, "ties across classes: %g", auc_of(ctx, tie_s, tie_l, 4));
    /* infinities order as usual */
    const float inf_s[3] = {-INFINITY, INFINITY, 0};
    const int32_t inf_l[3] = {0, 1, 0};
    CHECK(auc_of(ctx, inf_s, inf_l, 3) == 1.0, "infinite scores");

    /* against the pair count on quantised random scores (many ties) */
    enum { M = 777 };
    float s[M];
    int32_t l[M];
    for (size_t i = 0; i < M; i++) {
        l[i] = gauss(6, 2 * i) > 0.3f;
        s[i] = roundf(4.0f * (gauss(6, 2 * i + 1) + 0.7f * (float)l[i])) / 4.0f;
    }
    double wins = 0, pairs = 0;
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < M; j++)
            if (l[i] && !l[j]) {
                pairs++;
                wins += s[i] > s[j] ? 1.0 : s[i] == s[j] ? 0.5 : 0.0;
            }
    double got = auc_of(ctx, s, l, M);
    CHECK(fabs(got - wins / pairs) < 1e-12, "random: %.15f, pair count %.15f", got, wins / pairs);

    double a = 7;
    CHECK(lt_roc_auc(ctx, s4, (const int32_t[4]){1, 1, 1, 1}, 4, &a) == LT_ERR_ARG && says(ctx, "both classes") &&
              isnan(a), "all positive: %s", lt_ctx_error(ctx));
    CHECK(lt_roc_auc(ctx, s4, (const int32_t[4]){0}, 4, &a) == LT_ERR_ARG && says(ctx, "both classes"),
          "all negative");
    CHECK(lt_roc_auc(ctx, s4, up, 0, &a) == LT_ERR_ARG, "no samples");
    CHECK(lt_roc_auc(ctx, NULL, up, 4, &a) == LT_ERR_ARG && says(ctx, "scores is NULL"), "NULL scores");
    CHECK(lt_roc_auc(ctx, s4, NULL, 4, &a) == LT_ERR_ARG && says(ctx, "positive is NULL"), "NULL labels");
    CHECK(lt_roc_auc(ctx, s4, up, 4, NULL) == LT_ERR_ARG, "NULL auc");
    const float nan_s[4] = {0.1f, NAN, 0.3f, 0.4f};
    CHECK(lt_roc_auc(ctx, nan_s, up, 4, &a) == LT_ERR_NONFINITE && says(ctx, "scores[1]"), "NaN score: %s",
          lt_ctx_error(ctx));
}

/* lt_plot_scatter_classes: a PNG of the right size with the class colours and a
 * legend; bad arguments write nothing. */
static void test_plot(lt_ctx *ctx, const char *dir)
{
    enum { NP = 600, S = 400 };
    static unsigned char buf[1 << 20];
    char path[600];
    float xy[2 * NP];
    int32_t cls[NP];
    for (size_t i = 0; i < NP; i++) {
        cls[i] = (int32_t)(i % 3);
        xy[2 * i] = gauss(7, 2 * i) + 4.0f * (float)cls[i];
        xy[2 * i + 1] = gauss(7, 2 * i + 1) + 3.0f * (float)(cls[i] == 1);
    }
    cls[5] = 3;      /* outside the classes: skipped */
    cls[6] = -1;     /* likewise */
    xy[2 * 7] = NAN; /* non-finite: skipped */
    const char *names[3] = {"T-shirt/top", "Trouser", NULL};
    snprintf(path, sizeof path, "%s/classes.png", dir);
    check_ok(lt_plot_scatter_classes(ctx, path, xy, cls, NP, names, 3, S), ctx, "scatter classes");
    size_t len = read_bytes(path, buf, sizeof buf);
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    CHECK(len > 2000 && memcmp(buf, sig, 8) == 0, "classes.png: %zu bytes, signature %s", len,
          len >= 8 && memcmp(buf, sig, 8) == 0 ? "ok" : "wrong");
    if (len > 24) { /* IHDR: width and height, big-endian, at bytes 16..23 */
        uint32_t w = (uint32_t)buf[16] << 24 | (uint32_t)buf[17] << 16 | (uint32_t)buf[18] << 8 | buf[19];
        uint32_t h = (uint32_t)buf[20] << 24 | (uint32_t)buf[21] << 16 | (uint32_t)buf[22] << 8 | buf[23];
        CHECK(w == S && h == S, "classes.png is %ux%u", w, h);
    }
#ifdef HAVE_STB_IMAGE
    int iw, ih, ic;
    unsigned char *img = stbi_load(path, &iw, &ih, &ic, 3);
    CHECK(img && iw == S && ih == S, "classes.png: stb_image cannot decode it");
    if (img && iw == S && ih == S) {
        /* the three class colours among the dots (left) and in the legend (right);
         * black text in the legend */
        const int pal[3][3] = {{0x1f, 0x77, 0xb4}, {0xff, 0x7f, 0x0e}, {0x2c, 0xa0, 0x2c}};
        int dots[3] = {0}, legend[3] = {0}, text = 0, fourth = 0;
        for (int y = 0; y < ih; y++)
            for (int x = 0; x < iw; x++) {
                const unsigned char *q = img + 3 * (y * iw + x);
                for (int c = 0; c < 3; c++) {
                    int hit = near_rgb(q, pal[c][0], pal[c][1], pal[c][2], 0);
                    if (x < iw * 6 / 10) dots[c] += hit;
                    else legend[c] += hit;
                }
                fourth += near_rgb(q, 0xd6, 0x27, 0x28, 0); /* class 3's colour: never drawn */
                if (x > iw * 7 / 10 && y < ih / 2) text += near_rgb(q, 0, 0, 0, 0);
            }
        for (int c = 0; c < 3; c++)
            CHECK(dots[c] > 100 && legend[c] > 0, "class %d: %d dot pixels, %d legend pixels", c, dots[c], legend[c]);
        CHECK(fourth == 0, "class 3's colour drawn (%d pixels)", fourth);
        CHECK(text > 50, "no legend text (%d black pixels)", text);
        CHECK(near_rgb(img, 255, 255, 255, 0), "background not white");
    }
    stbi_image_free(img);
#endif
    snprintf(path, sizeof path, "%s/classes20.png", dir);
    int32_t many[NP];
    for (size_t i = 0; i < NP; i++) many[i] = (int32_t)(i % 20);
    check_ok(lt_plot_scatter_classes(ctx, path, xy, many, NP, NULL, 20, 64), ctx, "20 classes at 64 pixels");
    CHECK(read_bytes(path, buf, sizeof buf) > 100, "classes20.png missing");
    snprintf(path, sizeof path, "%s/classes_big.png", dir);
    const char *odd[2] = {"a name far too long to fit into the legend panel at all \xc3\xa9\x01~", ""};
    check_ok(lt_plot_scatter_classes(ctx, path, xy, cls, NP, odd, 2, 1200), ctx, "long and odd names");
    snprintf(path, sizeof path, "%s/classes_empty.png", dir);
    check_ok(lt_plot_scatter_classes(ctx, path, NULL, NULL, 0, NULL, 1, 64), ctx, "no points");

    snprintf(path, sizeof path, "%s/bad.png", dir);
    CHECK(lt_plot_scatter_classes(ctx, path, xy, cls, NP, names, 3, 63) == LT_ERR_ARG && says(ctx, "size_px = 63"),
          "size 63: %s", lt_ctx_error(ctx));
    CHECK(lt_plot_scatter_classes(ctx, path, xy, cls, NP, names, 3, 4097) == LT_ERR_ARG, "size 4097");
    CHECK(lt_plot_scatter_classes(ctx, path, xy, many, NP, NULL, 21, 200) == LT_ERR_ARG &&
              says(ctx, "n_classes = 21"), "21 classes: %s", lt_ctx_error(ctx));
    CHECK(lt_plot_scatter_classes(ctx, path, xy, cls, NP, NULL, 0, 200) == LT_ERR_ARG, "0 classes");
    CHECK(lt_plot_scatter_classes(ctx, path, xy, NULL, NP, NULL, 3, 200) == LT_ERR_ARG && says(ctx, "cls is NULL"),
          "NULL cls");
    CHECK(lt_plot_scatter_classes(ctx, path, NULL, cls, NP, NULL, 3, 200) == LT_ERR_ARG && says(ctx, "xy is NULL"),
          "NULL xy");
    CHECK(lt_plot_scatter_classes(ctx, NULL, xy, cls, NP, NULL, 3, 200) == LT_ERR_ARG, "NULL path");
    struct stat sb;
    CHECK(stat(path, &sb) != 0, "bad.png written despite bad arguments");
    snprintf(path, sizeof path, "%s/no-such-dir/out.png", dir);
    CHECK(lt_plot_scatter_classes(ctx, path, xy, cls, NP, names, 3, 100) == LT_ERR_IO && says(ctx, "cannot create"),
          "unwritable: %s", lt_ctx_error(ctx));
}

/* Runs every group on a CPU context, plot fixtures in a fresh temporary directory. */
int main(void)
{
    lt_ctx *ctx = harness_ctx("cpu");
    if (!ctx) return DONE();
    test_pca_plane(ctx);
    test_pca_roundtrip(ctx);
    test_pca_errors(ctx);
    test_tsne_clusters(ctx);
    test_tsne_errors(ctx);
    test_roc(ctx);
    fixture f;
    if (fixture_open(&f, "analysis")) {
        test_plot(ctx, f.dir);
        fixture_close(&f);
    }
    lt_ctx_close(ctx);
    return DONE();
}
