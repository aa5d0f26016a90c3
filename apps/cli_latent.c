/* The latent program's latent-space commands: generate (decoded codes: a VAE's prior,
 * a class's mean code and its variations, an interpolation, a 2-D manifold), embed
 * (codes plotted by class), pca (the linear baseline) and classify (a classifier from
 * few labels, pretrained or not). It calls only apps/cli_common.c and apps/cli_data.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "latent.h"

/* Gap between grid cells, in pixels. */
#define GRID_GAP 1

/* ------------------------------------------------------------------ generate */

/* A standard normal draw from state *s (Box-Muller on two 53-bit uniforms). */
static double normal_draw(uint64_t *s)
{
    double u1 = ((double)(cli_mix64(*s += 0x9E3779B97F4A7C15ull) >> 11) + 0.5) / 9007199254740992.0;
    double u2 = (double)(cli_mix64(*s += 0x9E3779B97F4A7C15ull) >> 11) / 9007199254740992.0;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* The standard normal quantile for p in (0, 1): Acklam's rational approximation
 * (relative error below 1.2e-9), as scipy's norm.ppf places Keras's manifold grid. */
static double normal_quantile(double p)
{
    static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                               1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                               6.680131188771972e+01, -1.328068155288572e+01};
    static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                               -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00};
    static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                               3.754408661907416e+00};
    if (p < 0.02425) {
        double q = sqrt(-2.0 * log(p));
        return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
               ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
    }
    if (p > 1.0 - 0.02425) return -normal_quantile(1.0 - p);
    double q = p - 0.5, r = q * q;
    return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
           (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
}

/* The image shape of a model's output: its own when it is an image, else a square gray
 * image when the width is a perfect square (784 -> 28x28x1); 0 when neither. */
static int output_image_shape(const lt_model *m, int dims[3])
{
    if (lt_output_shape(m, dims) == 3) return 1;
    int n = lt_output_dim(m), side = 1;
    while ((long)side * side < n) side++;
    if ((long)side * side != n) return 0;
    dims[0] = dims[1] = side;
    dims[2] = 1;
    return 1;
}

/* Writes n images (h x w x c) as a grid of `cols` columns, each pixel enlarged 2x when
 * the images are small. */
static lt_status save_grid(lt_ctx *ctx, const char *path, const float *imgs, int n, int cols, int h, int w, int c)
{
    int rows = (n + cols - 1) / cols, scale = h <= 64 && w <= 64 ? 2 : 1;
    int cw = w * scale + GRID_GAP, ch = h * scale + GRID_GAP, pw = cols * cw - GRID_GAP, ph = rows * ch - GRID_GAP;
    float *pic = malloc((size_t)pw * ph * c * sizeof *pic);
    if (!pic) return LT_ERR_NOMEM;
    for (size_t k = 0; k < (size_t)pw * ph * c; k++) pic[k] = 1.0f;
    for (int i = 0; i < n; i++) {
        const float *img = imgs + (size_t)i * h * w * c;
        int y0 = (i / cols) * ch, x0 = (i % cols) * cw;
        for (int y = 0; y < h * scale; y++)
            for (int x = 0; x < w * scale; x++)
                memcpy(pic + ((size_t)(y0 + y) * pw + x0 + x) * c, img + ((size_t)(y / scale) * w + x / scale) * c,
                       (size_t)c * sizeof *pic);
    }
    lt_status st = lt_image_save_png(ctx, path, pic, ph, pw, c);
    free(pic);
    return st;
}

/* Codes for --class: the mean code of the class's training images, then variations. */
static int class_codes(const cli_opts *o, lt_ctx *ctx, lt_model *enc, int d, float *codes)
{
    lt_dataset *train = NULL;
    int rc = cli_load_split(o, ctx, 1, enc, &train);
    if (rc != CLI_OK) return rc;
    const int32_t *labels = lt_dataset_labels(train);
    size_t count = lt_dataset_count(train), dim = lt_dataset_dim(train), k = 0;
    int max_label = -1;
    for (size_t i = 0; labels && i < count; i++) {
        if (labels[i] == o->class_id) k++;
        if (labels[i] > max_label) max_label = labels[i];
    }
    if (!labels) rc = cli_fail(o, "--class needs labelled data, and --data '%s' has no labels", o->data);
    else if (k == 0) rc = cli_fail(o, "--class %d: no training sample of that class in --data '%s' (classes 0..%d)",
                                  o->class_id, o->data, max_label);
    else if ((size_t)lt_input_dim(enc) != dim)
        rc = cli_fail(o, "the model takes inputs of width %d, --data '%s' has %zu", lt_input_dim(enc), o->data, dim);
    float *x = rc == CLI_OK ? malloc(k * dim * sizeof *x) : NULL;
    float *z = rc == CLI_OK ? malloc(k * (size_t)d * sizeof *z) : NULL;
    if (rc == CLI_OK && (!x || !z)) rc = cli_fail(o, "out of memory");
    lt_status st;
    if (rc == CLI_OK) {
        for (size_t i = 0, j = 0; i < count; i++)
            if (labels[i] == o->class_id) memcpy(x + j++ * dim, lt_dataset_data(train) + i * dim, dim * sizeof *x);
        if ((st = lt_predict(enc, x, k, z)) != LT_OK) rc = cli_fail_lt(o, ctx, st, "cannot encode");
    }
    if (rc == CLI_OK) {
        uint64_t s = o->seed * 0x9E3779B97F4A7C15ull + 7;
        for (int j = 0; j < d; j++) {
            double mean = 0, var = 0;
            for (size_t i = 0; i < k; i++) mean += z[i * d + j];
            mean /= (double)k;
            for (size_t i = 0; i < k; i++) var += (z[i * d + j] - mean) * (z[i * d + j] - mean);
            double sd = sqrt(var / (double)k);
            codes[j] = (float)mean;
            for (int i = 1; i < o->n; i++) codes[(size_t)i * d + j] = (float)(mean + o->spread * sd * normal_draw(&s));
        }
        cli_note(o, "class %d: mean code of %zu training image%s, then %d variation%s", o->class_id, k,
                 k == 1 ? "" : "s", o->n - 1, o->n == 2 ? "" : "s");
        if (k == 1) {
            char cut[48] = "";
            if (o->limit > 0) snprintf(cut, sizeof cut, " (in its first %ld, --limit)", o->limit);
            cli_warn(o, "--class %d: --data '%s' has only one training image of that class%s, so the mean code is "
                     "just that image's code and the spread around it is 0: every image generated is that one "
                     "image's reconstruction", o->class_id, o->data, cut);
        }
    }
    free(x);
    free(z);
    lt_dataset_free(train);
    return rc;
}

/* Codes for --between A,B: the line between two test images' codes. */
static int between_codes(const cli_opts *o, lt_ctx *ctx, lt_model *enc, int d, float *codes)
{
    char *end = NULL;
    long a = strtol(o->between, &end, 10), b = -1;
    if (end != o->between && *end == ',') {
        const char *rest = end + 1;
        b = strtol(rest, &end, 10);
        if (end == rest || *end) b = -1;
    }
    if (a < 0 || b < 0) return cli_usage_error(o, "--between: expected two test image numbers, like 0,7");
    lt_dataset *test = NULL;
    int rc = cli_load_split(o, ctx, 0, enc, &test);
    if (rc != CLI_OK) return rc;
    size_t count = lt_dataset_count(test), dim = lt_dataset_dim(test);
    float *z = malloc(2 * (size_t)d * sizeof *z);
    float *x = malloc(2 * dim * sizeof *x);
    lt_status st;
    if (!z || !x) rc = cli_fail(o, "out of memory");
    else if ((size_t)a >= count || (size_t)b >= count)
        rc = cli_fail(o, "--between %ld,%ld: the test split has %zu images (0..%zu)", a, b, count, count - 1);
    else if ((size_t)lt_input_dim(enc) != dim)
        rc = cli_fail(o, "the model takes inputs of width %d, --data '%s' has %zu", lt_input_dim(enc), o->data, dim);
    if (rc == CLI_OK) {
        memcpy(x, lt_dataset_data(test) + (size_t)a * dim, dim * sizeof *x);
        memcpy(x + dim, lt_dataset_data(test) + (size_t)b * dim, dim * sizeof *x);
        if ((st = lt_predict(enc, x, 2, z)) != LT_OK) rc = cli_fail_lt(o, ctx, st, "cannot encode");
    }
    for (int i = 0; rc == CLI_OK && i < o->n; i++) {
        float t = o->n > 1 ? (float)i / (float)(o->n - 1) : 0.0f;
        for (int j = 0; j < d; j++) codes[(size_t)i * d + j] = (1.0f - t) * z[j] + t * z[d + j];
    }
    free(x);
    free(z);
    lt_dataset_free(test);
    return rc;
}

/* latent generate MODEL */
int cli_cmd_generate(const cli_opts *o)
{
    lt_ctx *ctx = NULL;
    lt_model *m = NULL;
    float *codes = NULL, *imgs = NULL;
    lt_status st;
    int dims[3] = {0, 0, 0};
    if (o->npositional < 1) return cli_usage_error(o, "missing the MODEL file");
    int rc = cli_check_output_path(o, "--out", o->out, CLI_OUT_PNG);
    if (rc == CLI_OK) rc = cli_open_ctx(o, &ctx);
    if (rc == CLI_OK) rc = cli_load_model(o, ctx, &m);
    if (rc == CLI_OK && !cli_decoder(m))
        rc = cli_fail(o, "model '%s' has no encoder and decoder to generate with (an autoencoder nests the two: the "
                         "encoder takes the model's input, the decoder the encoder's output)", o->positional[0]);
    lt_model *enc = rc == CLI_OK ? cli_encoder(m) : NULL, *dec = rc == CLI_OK ? cli_decoder(m) : NULL;
    int d = enc ? lt_output_dim(enc) : 0, n = o->grid ? o->grid * o->grid : o->n;
    int variational = enc && lt_model_layer_count(enc, "Sampling") > 0;
    if (rc == CLI_OK && !output_image_shape(dec, dims))
        rc = cli_fail(o, "the decoder of '%s' does not output images (%d values)", o->positional[0], lt_output_dim(dec));
    if (rc == CLI_OK && o->grid && d != 2)
        rc = cli_fail(o, "--grid needs a 2-D code; the code of '%s' has %d dimensions", o->positional[0], d);
    if (rc == CLI_OK && !cli_given(o, OPT_CLASS) && !o->between && !o->grid && !variational)
        rc = cli_fail(o, "'%s' is not a VAE (no Sampling layer), so it has no prior to sample: use --class, "
                         "--between or --grid", o->positional[0]);
    if (rc == CLI_OK) {
        codes = malloc((size_t)n * d * sizeof *codes);
        imgs = malloc((size_t)n * lt_output_dim(dec) * sizeof *imgs);
        if (!codes || !imgs) rc = cli_fail(o, "out of memory");
    }
    if (rc == CLI_OK) {
        if (cli_given(o, OPT_CLASS)) {
            rc = class_codes(o, ctx, enc, d, codes);
        } else if (o->between) {
            rc = between_codes(o, ctx, enc, d, codes);
        } else if (o->grid) { /* as a scatter plot of the codes: x to the right, y upward */
            for (int i = 0; i < o->grid; i++)
                for (int j = 0; j < o->grid; j++) {
                    double step = 0.9 / (o->grid - 1);
                    codes[((size_t)i * o->grid + j) * 2] = (float)normal_quantile(0.05 + step * j);
                    codes[((size_t)i * o->grid + j) * 2 + 1] = (float)normal_quantile(0.95 - step * i);
                }
        } else {
            uint64_t s = o->seed * 0x9E3779B97F4A7C15ull + 3;
            for (size_t i = 0; i < (size_t)n * d; i++) codes[i] = (float)normal_draw(&s);
        }
    }
    if (rc == CLI_OK && (st = lt_predict(dec, codes, (size_t)n, imgs)) != LT_OK) rc = cli_fail_lt(o, ctx, st, "cannot decode");
    if (rc == CLI_OK) {
        int cols = o->grid ? o->grid : o->between && n <= 20 ? n : (int)ceil(sqrt((double)n)); /* a line: one row */
        if ((st = save_grid(ctx, o->out, imgs, n, cols, dims[0], dims[1], dims[2])) != LT_OK)
            rc = cli_fail_lt(o, ctx, st, "cannot write the picture");
        else
            cli_note(o, "wrote %s (%d images)", o->out, n);
    }
    free(codes);
    free(imgs);
    return cli_close(ctx, m, rc);
}

/* ------------------------------------------------------------------ embed */

/* Fashion-MNIST's class names, for legends. */
static const char *const fashion_names[] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                            "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};

/* Runs the encoder of m over ds; *codes (n x d, malloc'd) and *d. */
static int encode_all(const cli_opts *o, lt_ctx *ctx, lt_model *m, const lt_dataset *ds, float **codes, int *d)
{
    lt_model *enc = cli_encoder(m);
    if (!enc)
        return cli_fail(o, "model '%s' has no encoder (a first nested model that takes the model's input), so it has "
                        "no code layer", o->positional[0]);
    if ((size_t)lt_input_dim(enc) != lt_dataset_dim(ds))
        return cli_fail(o, "model '%s' takes inputs of width %d, --data '%s' has %zu", o->positional[0],
                        lt_input_dim(enc), o->data, lt_dataset_dim(ds));
    size_t n = lt_dataset_count(ds);
    *d = lt_output_dim(enc);
    *codes = malloc(n * (size_t)*d * sizeof **codes);
    if (!*codes) return cli_fail(o, "out of memory");
    lt_status st = lt_predict(enc, lt_dataset_data(ds), n, *codes);
    if (st != LT_OK) {
        free(*codes);
        *codes = NULL;
        return cli_fail_lt(o, ctx, st, "cannot encode");
    }
    return CLI_OK;
}

/* latent embed [MODEL] --method code|pca|tsne */
int cli_cmd_embed(const cli_opts *o)
{
    lt_ctx *ctx = NULL;
    lt_model *m = NULL;
    lt_dataset *test = NULL, *train = NULL;
    lt_pca *pca = NULL;
    float *codes = NULL, *xy = NULL;
    int d = 0;
    lt_status st;
    int rc = cli_check_output_path(o, "--out", o->out, CLI_OUT_PNG);
    if (rc == CLI_OK) rc = cli_open_ctx(o, &ctx);
    if (rc == CLI_OK && o->npositional > 0) rc = cli_load_model(o, ctx, &m);
    if (rc == CLI_OK) rc = cli_load_split(o, ctx, 0, m, &test);
    const int32_t *labels = test ? lt_dataset_labels(test) : NULL;
    if (rc == CLI_OK && !labels) rc = cli_fail(o, "--data '%s' has no labels to colour the plot by", o->data);
    size_t n = test ? lt_dataset_count(test) : 0;
    if (rc == CLI_OK && !(xy = malloc(n * 2 * sizeof *xy))) rc = cli_fail(o, "out of memory");
    if (rc == CLI_OK && strcmp(o->method, "pca") == 0) {
        rc = cli_load_split(o, ctx, 1, m, &train);
        if (rc == CLI_OK)
            cli_note(o, "PCA: fitting on %zu training samples (their %zu x %zu covariance), then projecting %zu test "
                     "samples", lt_dataset_count(train), lt_dataset_dim(train), lt_dataset_dim(train), n);
        if (rc == CLI_OK && (st = lt_pca_fit(ctx, lt_dataset_data(train), lt_dataset_count(train), lt_dataset_dim(train), 2,
                                             &pca)) != LT_OK)
            rc = cli_fail_lt(o, ctx, st, "PCA");
        if (rc == CLI_OK && (st = lt_pca_transform(ctx, pca, lt_dataset_data(test), n, xy)) != LT_OK)
            rc = cli_fail_lt(o, ctx, st, "PCA");
    } else if (rc == CLI_OK) {
        if (strcmp(o->method, "tsne") == 0 && n < 4) { /* 3 points or fewer lie in a plane as they are */
            char cut[48] = "";
            if (o->limit > 0 && (size_t)o->limit == n) snprintf(cut, sizeof cut, " (--limit %ld)", o->limit);
            rc = cli_fail(o, "--method tsne needs at least 4 samples, but the test split of --data '%s' has %zu%s: "
                          "with 3 or fewer, plot the codes directly (--method code for a 2-D code)", o->data, n, cut);
        }
        if (rc == CLI_OK) cli_note(o, "encoding %zu test samples", n);
        if (rc == CLI_OK) rc = encode_all(o, ctx, m, test, &codes, &d);
        if (rc == CLI_OK && strcmp(o->method, "code") == 0) {
            if (d != 2) rc = cli_fail(o, "the code of '%s' has %d dimensions; --method code plots 2-D codes (try "
                                         "--method tsne)", o->positional[0], d);
            else memcpy(xy, codes, n * 2 * sizeof *xy);
        } else if (rc == CLI_OK) {
            lt_tsne_opts to = {0};
            to.seed = o->seed;
            if (n < 91) to.perplexity = (float)(n - 1) / 3.0f; /* 30 needs 91 points */
            cli_note(o, "t-SNE of %zu codes of width %d (exact: its time grows with the square of the samples; "
                     "--limit takes fewer)", n, d);
            if ((st = lt_tsne(ctx, codes, n, (size_t)d, &to, xy)) != LT_OK) rc = cli_fail_lt(o, ctx, st, "t-SNE");
        }
    }
    if (rc == CLI_OK) {
        int classes = 0;
        for (size_t i = 0; i < n; i++)
            if (labels[i] >= classes) classes = labels[i] + 1;
        if (classes > 20) classes = 20; /* the palette's size; later classes are left out */
        const char *const *names = strcmp(o->data, "fashion-mnist") == 0 && classes <= 10 ? fashion_names : NULL;
        if ((st = lt_plot_scatter_classes(ctx, o->out, xy, labels, n, names, classes, 640)) != LT_OK)
            rc = cli_fail_lt(o, ctx, st, "cannot write the plot");
        else
            cli_note(o, "wrote %s (%zu points, %s)", o->out, n, o->method);
    }
    free(codes);
    free(xy);
    lt_pca_free(pca);
    lt_dataset_free(test);
    lt_dataset_free(train);
    return cli_close(ctx, m, rc);
}

/* ------------------------------------------------------------------ pca */

/* latent pca --k 2,8,32: test reconstruction MSE from k principal components. */
int cli_cmd_pca(const cli_opts *o)
{
    lt_ctx *ctx = NULL;
    lt_dataset *train = NULL, *test = NULL;
    int ks[32], nk = 0, kmax = 0, given = cli_given(o, OPT_K);
    for (const char *p = o->k_list; *p && nk < 32;) {
        char *end = NULL;
        long k = strtol(p, &end, 10);
        if (end == p || k < 1 || k > 1 << 20 || (*end && *end != ','))
            return cli_usage_error(o, "--k: expected a list of component counts like 2,8,32, got '%s'", o->k_list);
        ks[nk++] = (int)k;
        if (k > kmax) kmax = (int)k;
        p = *end ? end + 1 : end;
    }
    int rc = cli_open_ctx(o, &ctx);
    if (rc == CLI_OK) rc = cli_load_splits(o, ctx, NULL, &train, &test);
    size_t dim = train ? lt_dataset_dim(train) : 0, n = test ? lt_dataset_count(test) : 0;
    if (rc == CLI_OK && !given) { /* the default list, trimmed to the data's width */
        int kept = 0;
        for (int i = 0; i < nk; i++)
            if ((size_t)ks[i] <= dim) ks[kept++] = ks[i];
        nk = kept;
        kmax = nk ? ks[nk - 1] : 0;
        if (nk == 0) rc = cli_fail(o, "the data have only %zu dimension%s", dim, dim == 1 ? "" : "s");
    }
    if (rc == CLI_OK && (size_t)kmax > dim) rc = cli_fail(o, "--k %d: the data have only %zu dimensions", kmax, dim);
    float *codes = NULL, *back = NULL;
    if (rc == CLI_OK && (!(codes = malloc(n * (size_t)kmax * sizeof *codes)) || !(back = malloc(n * dim * sizeof *back))))
        rc = cli_fail(o, "out of memory");
    for (int i = 0; rc == CLI_OK && i < nk; i++) {
        lt_pca *p = NULL;
        cli_note(o, "pca k=%d: fitting on %zu training samples (their %zu x %zu covariance, then its top %d "
                 "eigenvectors), then the test mse on %zu", ks[i], lt_dataset_count(train), dim, dim, ks[i], n);
        lt_status st = lt_pca_fit(ctx, lt_dataset_data(train), lt_dataset_count(train), dim, ks[i], &p);
        if (st == LT_OK) st = lt_pca_transform(ctx, p, lt_dataset_data(test), n, codes);
        if (st == LT_OK) st = lt_pca_inverse(ctx, p, codes, n, back);
        if (st != LT_OK) {
            rc = cli_fail_lt(o, ctx, st, "PCA");
        } else {
            double mse = 0, explained = 0;
            const float *x = lt_dataset_data(test);
            for (size_t j = 0; j < n * dim; j++) mse += ((double)back[j] - x[j]) * ((double)back[j] - x[j]);
            for (int c = 0; c < ks[i]; c++) explained += lt_pca_explained(p, c);
            printf("pca k=%d: test mse %.5f, explained variance %.4f\n", ks[i], mse / (double)(n * dim), explained);
        }
        lt_pca_free(p);
    }
    free(codes);
    free(back);
    lt_dataset_free(train);
    lt_dataset_free(test);
    return cli_close(ctx, NULL, rc);
}

/* ------------------------------------------------------------------ classify */

/* Parses "256,64" into at most max widths; the count, or -1. */
static int parse_widths(const char *s, int *w, int max)
{
    int n = 0;
    while (*s) {
        char *end = NULL;
        long v = strtol(s, &end, 10);
        if (end == s || v < 1 || v > 1 << 20 || (*end && *end != ',') || n == max) return -1;
        w[n++] = (int)v;
        s = *end ? end + 1 : end;
    }
    return n;
}

/* latent classify: Dense stack + softmax head from few labels, pretrained or not. */
int cli_cmd_classify(const cli_opts *o)
{
    lt_ctx *ctx = NULL;
    lt_dataset *train = NULL, *test = NULL, *labelled = NULL, *onehot = NULL;
    lt_model *stack = NULL, *head = NULL, *clf = NULL;
    lt_optimizer opt;
    lt_status st = LT_OK;
    int widths[16];
    int nw = parse_widths(o->hidden, widths, 16);
    if (nw < 1) return cli_usage_error(o, "--hidden: expected up to 16 widths like 256,64, got '%s'", o->hidden);
    int rc = cli_optimizer_from_opts(o, &opt);
    if (rc == CLI_OK) rc = cli_check_output_path(o, "--out", o->out, CLI_OUT_MODEL);
    if (rc == CLI_OK) rc = cli_open_ctx(o, &ctx);
    if (rc == CLI_OK) rc = cli_load_splits(o, ctx, NULL, &train, &test);
    const int32_t *labels = train ? lt_dataset_labels(train) : NULL;
    if (rc == CLI_OK && (!labels || !lt_dataset_labels(test)))
        rc = cli_fail(o, "--data '%s' has no labels to classify by", o->data);
    size_t n = train ? lt_dataset_count(train) : 0, dim = train ? lt_dataset_dim(train) : 0;
    size_t n_lab = o->labels > 0 && (size_t)o->labels < n ? (size_t)o->labels : n;
    int classes = 0;
    for (size_t i = 0; rc == CLI_OK && i < n; i++)
        if (labels[i] >= classes && labels[i] <= 1000) classes = labels[i] + 1;
    if (rc == CLI_OK && (st = lt_dataset_slice(ctx, train, 0, n_lab, &labelled)) != LT_OK)
        rc = cli_fail_lt(o, ctx, st, "labels");
    if (rc == CLI_OK) rc = cli_onehot(o, ctx, labelled, classes, &onehot);
    if (rc == CLI_OK) {
        st = lt_sequential(ctx, "stack", &stack);
        for (int i = 0; st == LT_OK && i < nw; i++) st = lt_add(stack, lt_dense(widths[i], LT_ELU));
        if (st == LT_OK) st = lt_sequential(ctx, "head", &head);
        if (st == LT_OK) st = lt_add(head, lt_dense(classes, LT_SOFTMAX));
        if (st == LT_OK) st = lt_sequential(ctx, "classifier", &clf);
        if (st == LT_OK && (st = lt_add_model(clf, stack)) == LT_OK) stack = NULL;
        if (st == LT_OK && (st = lt_add_model(clf, head)) == LT_OK) head = NULL;
        if (st == LT_OK) st = lt_build(clf, (int)dim, o->seed);
        if (st != LT_OK) rc = cli_fail_lt(o, ctx, st, "classifier");
    }
    lt_fit_opts fo = cli_fit_opts(o);
    if (rc == CLI_OK && o->pretrain) {
        fo.epochs = o->pretrain_epochs;
        fo.noise = o->noise; /* stacked denoising autoencoders (Vincent et al. 2010) when > 0 */
        cli_note(o, "pretraining on %zu training samples without labels", n);
        if ((st = lt_pretrain_layerwise(lt_submodel(clf, 0), train, &opt, &fo)) != LT_OK)
            rc = cli_fail_lt(o, ctx, st, "pretraining failed");
    }
    if (rc == CLI_OK) {
        fo.epochs = o->epochs;
        fo.noise = 0.0f;
        cli_note(o, "fine-tuning on %zu labelled samples, %d classes", n_lab, classes);
        if ((st = lt_compile(clf, LT_LOSS_CCE, &opt)) != LT_OK || (st = lt_fit(clf, labelled, onehot, &fo, NULL)) != LT_OK)
            rc = cli_fail_lt(o, ctx, st, "training failed");
    }
    if (rc == CLI_OK && (st = lt_save(clf, o->out, 1)) != LT_OK) rc = cli_fail_lt(o, ctx, st, "save");
    if (rc == CLI_OK) cli_note(o, "saved %s; classifying %zu test samples", o->out, lt_dataset_count(test));
    if (rc == CLI_OK) rc = cli_print_accuracy(o, ctx, clf, test);
    lt_model_free(stack);
    lt_model_free(head);
    lt_dataset_free(train);
    lt_dataset_free(test);
    lt_dataset_free(labelled);
    lt_dataset_free(onehot);
    return cli_close(ctx, clf, rc);
}
