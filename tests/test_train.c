/* End to end: mlp-ae learns Fashion-MNIST (a subset) below a loss threshold, the
 * swiss-roll autoencoder learns, training is reproducible from its seed, validation
 * and early stopping work, bad data are refused, and gradient-norm clipping (clipnorm,
 * global_clipnorm) matches the host's and keeps recurrent training stable. Runs on
 * LATENT_DEVICE's backend. */
#include "model.h"
#include "harness.h"

static lt_ctx *ctx;

/* mlp-ae, Adam 1e-3, on 6000 training images for 3 epochs: test MSE well below the
 * 0.0x of an untrained model. */
static void test_fashion_mnist(void)
{
    lt_dataset *train = NULL, *test = NULL, *tr = NULL, *te = NULL;
    if (lt_dataset_fashion_mnist(ctx, NULL, 1, &train) != LT_OK) {
        printf("SKIP fashion-mnist: %s\n", lt_ctx_error(ctx));
        return;
    }
    CHECK(lt_dataset_fashion_mnist(ctx, NULL, 0, &test) == LT_OK, "test split: %s", lt_ctx_error(ctx));
    lt_dataset_slice(ctx, train, 0, 6000, &tr);
    lt_dataset_slice(ctx, test, 0, 1000, &te);
    lt_model *m = NULL;
    CHECK(lt_arch_build(ctx, "mlp-ae", 784, 1, &m) == LT_OK, "mlp-ae: %s", lt_ctx_error(ctx));
    lt_optimizer o = lt_optimizer_defaults(LT_ADAM);
    lt_compile(m, LT_LOSS_MSE, &o);
    float before = 0, after = 0;
    lt_evaluate(m, te, NULL, &before);
    lt_fit_opts fo = {.epochs = 3, .batch = 64, .seed = 7, .verbose = -1, .validation_split = 0.1f};
    lt_history h;
    lt_status st = lt_fit(m, tr, NULL, &fo, &h);
    CHECK(st == LT_OK, "fit: %s", lt_ctx_error(ctx));
    CHECK(lt_evaluate(m, te, NULL, &after) == LT_OK, "evaluate: %s", lt_ctx_error(ctx));
    printf("fashion-mnist subset: test mse %.5f before, %.5f after (val %.5f, %.0f samples/s)\n", (double)before,
           (double)after, (double)h.val_loss, h.samples_per_s);
    CHECK(after < 0.030f, "test MSE %.5f below 0.030", (double)after);
    CHECK(after < 0.5f * before, "training helped: %.5f -> %.5f", (double)before, (double)after);
    CHECK(h.epochs_run == 3 && isfinite(h.val_loss), "history: %d epochs, val %g", h.epochs_run, (double)h.val_loss);
    lt_model_free(m);
    lt_dataset_free(train); lt_dataset_free(test); lt_dataset_free(tr); lt_dataset_free(te);
}

/* A model of arch (input width in, initial weights from seed) compiled for MSE with
 * optimizer o (NULL: the default). */
static lt_model *mse_model(const char *arch, int in, uint64_t seed, const lt_optimizer *o)
{
    lt_model *m = NULL;
    lt_arch_build(ctx, arch, in, seed, &m);
    lt_compile(m, LT_LOSS_MSE, o);
    return m;
}

/* A swiss roll of n points with noise, drawn from seed. */
static lt_dataset *swiss_roll(size_t n, float noise, uint64_t seed)
{
    lt_dataset *x = NULL;
    lt_dataset_swiss_roll(ctx, n, noise, seed, &x);
    return x;
}

/* Runs swissroll-ae training with a seed; returns the final loss. */
static float roll_loss(uint64_t seed, lt_optim_kind kind)
{
    lt_dataset *roll = swiss_roll(1000, 0.0f, 1), *x = NULL;
    size_t n = lt_dataset_count(roll);
    float *d = malloc(n * 3 * sizeof *d);
    for (size_t i = 0; i < n * 3; i++) d[i] = lt_dataset_data(roll)[i] / 15.0f;
    lt_dataset_from_array(ctx, n, 3, d, NULL, &x);
    free(d);
    lt_optimizer o = lt_optimizer_defaults(kind);
    if (kind == LT_SGD) { o.momentum = 0.9f; o.nesterov = 1; }
    lt_model *m = mse_model("swissroll-ae", 3, seed, &o);
    lt_fit_opts fo = {.epochs = 20, .batch = 32, .seed = seed, .verbose = -1};
    lt_history h = {0};
    lt_status st = lt_fit(m, x, NULL, &fo, &h);
    CHECK(st == LT_OK, "swiss roll fit: %s", lt_ctx_error(ctx));
    float first = 0;
    lt_model_free(m);
    m = mse_model("swissroll-ae", 3, seed, &o);
    lt_evaluate(m, x, NULL, &first);
    CHECK(h.loss < 0.8f * first, "swiss roll (%d): loss %.4f from %.4f", (int)kind, (double)h.loss, (double)first);
    lt_model_free(m);
    lt_dataset_free(roll);
    lt_dataset_free(x);
    return h.loss;
}

/* Swiss-roll training with each optimizer helps, and the same seed gives the same loss. */
static void test_swiss_roll_and_seeds(void)
{
    float a = roll_loss(5, LT_ADAM), b = roll_loss(5, LT_ADAM), c = roll_loss(6, LT_ADAM);
    CHECK(a == b, "same seed, same loss (%.9g vs %.9g)", (double)a, (double)b);
    CHECK(a != c, "another seed, another loss");
    roll_loss(5, LT_RMSPROP);
    roll_loss(5, LT_SGD);
}

/* Early stopping with an impossible min_delta stops after 1 + patience epochs. */
static void test_early_stopping(void)
{
    lt_dataset *x = swiss_roll(300, 0.1f, 2);
    lt_model *m = mse_model("swissroll-ae", 3, 1, NULL);
    lt_fit_opts fo = {.epochs = 50, .batch = 32, .validation_split = 0.2f, .patience = 2, .min_delta = 1e9f,
                      .restore_best = 1, .verbose = -1};
    lt_history h = {0};
    CHECK(lt_fit(m, x, NULL, &fo, &h) == LT_OK, "fit: %s", lt_ctx_error(ctx));
    CHECK(h.epochs_run == 3, "stopped after %d epochs (expected 3)", h.epochs_run);
    lt_model_free(m);
    lt_dataset_free(x);
}

/* Shape mismatches and bad options are refused with messages. */
static void test_bad_fit(void)
{
    lt_dataset *x = swiss_roll(100, 0.0f, 2);
    lt_model *m = mse_model("mlp-ae", 784, 1, NULL);
    lt_fit_opts fo = {.epochs = 1, .verbose = -1};
    CHECK(lt_fit(m, x, NULL, &fo, NULL) == LT_ERR_SHAPE && strstr(lt_ctx_error(ctx), "784"), "width mismatch named: %s", lt_ctx_error(ctx));
    float l;
    CHECK(lt_evaluate(m, x, NULL, &l) == LT_ERR_SHAPE, "evaluate mismatch");
    lt_model_free(m);
    m = mse_model("swissroll-ae", 3, 1, NULL);
    fo.batch = -3;
    CHECK(lt_fit(m, x, NULL, &fo, NULL) == LT_ERR_ARG, "negative batch refused");
    fo.batch = 8;
    fo.validation_split = 1.0f;
    CHECK(lt_fit(m, x, NULL, &fo, NULL) == LT_ERR_ARG, "validation split 1 refused");
    lt_model_free(m);
    lt_dataset_free(x);
}

/* An identity model for 6x5x1 images (a zeroed 1x1 convolution plus the input, kept
 * still by a learning rate of 1e-30), or with `kernel` 3 a fixed random 3x3 one. */
static lt_model *still_model(int kernel)
{
    lt_model *m = NULL;
    int dims[3] = {6, 5, 1};
    if (lt_arch_build_shape(ctx, kernel == 1 ? "conv:1:1x1,addinput" : "conv:1:3x3:same,addinput", 3, dims, 3, &m) != LT_OK)
        return NULL;
    if (kernel == 1) lt_be_fill(ctx->be, m->params, 0, m->n_params, 0.0f);
    lt_optimizer o = lt_optimizer_defaults(LT_SGD);
    o.lr = 1e-30f;
    lt_compile(m, LT_LOSS_MSE, &o);
    return m;
}

/* Fits a still model for `epochs` and returns the history. */
static lt_history still_fit(int kernel, const lt_dataset *x, const lt_dataset *y, float noise, const lt_augment *aug,
                            int epochs, float val_split, lt_status *st)
{
    lt_history h = {0};
    lt_model *m = still_model(kernel);
    lt_fit_opts fo = {.epochs = epochs, .batch = 16, .seed = 5, .verbose = -1, .noise = noise, .augment = aug,
                      .validation_split = val_split};
    *st = m ? lt_fit(m, x, y, &fo, &h) : LT_ERR_ARG;
    lt_model_free(m);
    return h;
}

/* fit's --noise and augmentation: noisy inputs against clean targets, and targets
 * transformed with their inputs. */
static void test_noise_and_augment(void)
{
    size_t n = 200, dim = 30;
    float *px = malloc(n * dim * sizeof *px);
    for (size_t i = 0; i < n * dim; i++) px[i] = lt_philox_uniform(21, 0, i, 0, 1);
    lt_dataset *x = NULL, *flat = NULL;
    lt_dataset_from_array(ctx, n, dim, px, NULL, &x);
    lt_status st;
    lt_history h = still_fit(1, x, NULL, 0.0f, NULL, 1, 0.0f, &st);
    CHECK(st == LT_OK && h.loss == 0.0f, "identity model, no noise: loss %g (%s)", (double)h.loss, lt_ctx_error(ctx));
    h = still_fit(1, x, NULL, 0.3f, NULL, 2, 0.2f, &st);
    CHECK(st == LT_OK && fabsf(h.loss - 0.09f) < 0.01f, "noise 0.3 against clean targets: loss %g, want ~0.09", (double)h.loss);
    CHECK(fabsf(h.val_loss - 0.09f) < 0.015f, "validation inputs get noise too: val loss %g", (double)h.val_loss);
    lt_history h1 = still_fit(1, x, NULL, 0.3f, NULL, 1, 0.2f, &st);
    CHECK(h1.val_loss == h.val_loss, "the validation noise is the same every epoch: %g vs %g", (double)h1.val_loss,
          (double)h.val_loss);
    lt_history h2 = still_fit(1, x, NULL, 0.3f, NULL, 2, 0.2f, &st);
    CHECK(h2.loss == h.loss, "noise is seeded: %g vs %g", (double)h2.loss, (double)h.loss);
    /* Augmentation moves input and target together: the identity stays exact. */
    lt_augment flips = {.horizontal_flip = 1, .vertical_flip = 1}, lecture = {360, 0.1f, 0.1f, 0.1f, 0.1f, 1, 1};
    h = still_fit(1, x, NULL, 0.0f, &lecture, 2, 0.0f, &st);
    CHECK(st == LT_OK && h.loss < 1e-12f, "augmented identity: loss %g (%s)", (double)h.loss, lt_ctx_error(ctx));
    h = still_fit(1, x, NULL, 0.3f, &lecture, 1, 0.0f, &st);
    CHECK(st == LT_OK && fabsf(h.loss - 0.09f) < 0.01f, "augmentation then noise: loss %g", (double)h.loss);
    /* It really changes the data: a lopsided 3x3 model sees other inputs. */
    lt_history plain = still_fit(3, x, NULL, 0.0f, NULL, 1, 0.0f, &st), aug = still_fit(3, x, NULL, 0.0f, &flips, 1, 0.0f, &st);
    CHECK(st == LT_OK && plain.loss > 0.0f && plain.loss != aug.loss, "flips change the loss: %g vs %g", (double)plain.loss,
          (double)aug.loss);
    lt_history again = still_fit(3, x, NULL, 0.0f, &flips, 1, 0.0f, &st);
    CHECK(again.loss == aug.loss, "augmentation is seeded: %g vs %g", (double)again.loss, (double)aug.loss);
    /* Refusals. */
    lt_augment bad = {.zoom_range = 1.5f};
    still_fit(1, x, NULL, 0.0f, &bad, 1, 0.0f, &st);
    CHECK(st == LT_ERR_ARG && strstr(lt_ctx_error(ctx), "zoom"), "zoom 1.5 refused: %s", lt_ctx_error(ctx));
    still_fit(1, x, x, 0.0f, &flips, 1, 0.0f, &st);
    CHECK(st == LT_OK, "targets given as the inputs themselves are fine: %s", lt_ctx_error(ctx));
    lt_dataset_from_array(ctx, n, dim, px, NULL, &flat);
    still_fit(1, x, flat, 0.0f, &flips, 1, 0.0f, &st);
    CHECK(st == LT_ERR_ARG && strstr(lt_ctx_error(ctx), "targets"), "augmentation with other targets refused: %s",
          lt_ctx_error(ctx));
    still_fit(1, x, NULL, -1.0f, NULL, 1, 0.0f, &st);
    CHECK(st == LT_ERR_ARG && strstr(lt_ctx_error(ctx), "noise"), "negative noise refused: %s", lt_ctx_error(ctx));
    lt_optimizer o = lt_optimizer_defaults(LT_ADAM);
    lt_model *dense = mse_model("dense:30", 30, 1, &o);
    lt_fit_opts fo = {.epochs = 1, .verbose = -1, .augment = &flips};
    CHECK(lt_fit(dense, x, NULL, &fo, NULL) == LT_ERR_SHAPE && strstr(lt_ctx_error(ctx), "image"),
          "augmentation of flat inputs refused: %s", lt_ctx_error(ctx));
    lt_model_free(dense);
    lt_dataset_free(x);
    lt_dataset_free(flat);
    free(px);
}

/* Solves the n x n system a x = b in place (Gaussian elimination with partial
 * pivoting); 0 on success. */
static int solve(double *a, double *b, int n)
{
    for (int c = 0; c < n; c++) {
        int p = c;
        for (int r = c + 1; r < n; r++)
            if (fabs(a[r * n + c]) > fabs(a[p * n + c])) p = r;
        if (fabs(a[p * n + c]) < 1e-12) return -1;
        for (int k = 0; k < n; k++) { double t = a[c * n + k]; a[c * n + k] = a[p * n + k]; a[p * n + k] = t; }
        double t = b[c]; b[c] = b[p]; b[p] = t;
        for (int r = 0; r < n; r++) {
            if (r == c) continue;
            double f = a[r * n + c] / a[c * n + c];
            for (int k = c; k < n; k++) a[r * n + k] -= f * a[c * n + k];
            b[r] -= f * b[c];
        }
    }
    for (int c = 0; c < n; c++) b[c] /= a[c * n + c];
    return 0;
}

/* Residual sum of squares of the least-squares fit x ~ [codes, 1] B over all columns. */
static double fit_residual(const float *x, const float *codes, size_t n, int d, int k)
{
    double total = 0;
    int m = k + 1;
    for (int j = 0; j < d; j++) {
        double a[64] = {0}, b[8] = {0}, f[8];
        for (size_t i = 0; i < n; i++) {
            for (int r = 0; r < k; r++) f[r] = codes[i * k + r];
            f[k] = 1.0;
            for (int r = 0; r < m; r++) {
                b[r] += f[r] * x[i * d + j];
                for (int c = 0; c < m; c++) a[r * m + c] += f[r] * f[c];
            }
        }
        if (solve(a, b, m) != 0) return INFINITY;
        for (size_t i = 0; i < n; i++) {
            double p = b[k] - x[i * d + j];
            for (int r = 0; r < k; r++) p += b[r] * codes[i * k + r];
            total += p * p;
        }
    }
    return total;
}

/* The codes of the first (linear, width k) layer of m's parameters w for x. */
static void first_codes(const float *w, const float *x, size_t n, int d, int k, float *codes)
{
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < k; c++) {
            double v = w[d * k + c]; /* bias after the kernel */
            for (int j = 0; j < d; j++) v += (double)x[i * d + j] * w[j * k + c];
            codes[i * k + c] = (float)v;
        }
}

/* Greedy layer-wise pretraining: data in a 5-D subspace of 10-D with falling variance
 * along its axes; a linear first layer of width 3 pretrained as a shallow autoencoder
 * learns the top of that subspace (what PCA would keep), so the data are explained by
 * its codes much better than by the random initial layer's; bad stacks are refused. */
static void test_pretraining(void)
{
    enum { N = 800, D = 10, Z = 5, K = 3 };
    static const float scale[Z] = {1.0f, 0.8f, 0.6f, 0.15f, 0.1f};
    float *x = malloc(N * D * sizeof *x), *codes = malloc(N * K * sizeof *codes);
    for (size_t i = 0; i < N; i++) {
        float z[Z];
        for (int k = 0; k < Z; k++) z[k] = scale[k] * lt_philox_uniform(31, i, (uint64_t)k, -1, 1);
        for (int j = 0; j < D; j++) {
            float v = 0.5f;
            for (int k = 0; k < Z; k++) v += 0.3f * lt_philox_uniform(32, 0, (uint64_t)(j * Z + k), -1, 1) * z[k];
            x[i * D + j] = v;
        }
    }
    lt_dataset *ds = NULL;
    lt_dataset_from_array(ctx, N, D, x, NULL, &ds);
    lt_model *m = NULL;
    lt_arch_build(ctx, "dense:3,dropout:0.1,dense:2:elu", D, 4, &m);
    float before[D * K + K], after[D * K + K];
    lt_be_download(ctx->be, m->params, 0, before, D * K + K);
    lt_optimizer o = lt_optimizer_defaults(LT_ADAM);
    o.lr = 0.01f;
    lt_fit_opts fo = {.epochs = 150, .batch = 32, .seed = 3, .verbose = -1};
    CHECK(lt_pretrain_layerwise(m, ds, &o, &fo) == LT_OK, "pretraining: %s", lt_ctx_error(ctx));
    lt_be_download(ctx->be, m->params, 0, after, D * K + K);
    first_codes(before, x, N, D, K, codes);
    double r0 = fit_residual(x, codes, N, D, K);
    first_codes(after, x, N, D, K, codes);
    double r1 = fit_residual(x, codes, N, D, K);
    lt_pca *pca = NULL;
    double rp = NAN;
    if (lt_pca_fit(ctx, x, N, D, K, &pca) == LT_OK) { /* the best any 3 linear codes can do */
        lt_pca_transform(ctx, pca, x, N, codes);
        rp = fit_residual(x, codes, N, D, K);
        lt_pca_free(pca);
    }
    printf("pretraining: residual of the data given the first layer's codes %.4g before, %.4g after (PCA %.4g)\n",
           r0, r1, rp);
    CHECK(r1 < 0.6 * r0, "pretrained codes explain the data better: residual %.4g, random layer %.4g", r1, r0);
    CHECK(isnan(rp) || r1 < 1.5 * rp, "pretraining finds the principal subspace: residual %.4g, PCA's %.4g", r1, rp);
    lt_model_free(m);
    /* Refusals. */
    int img[3] = {6, 5, 1};
    lt_model *conv = NULL;
    lt_arch_build_shape(ctx, "conv:2:3x3,flatten,dense:4", 3, img, 1, &conv);
    CHECK(conv && lt_pretrain_layerwise(conv, ds, &o, &fo) != LT_OK, "a conv stack is refused: %s", lt_ctx_error(ctx));
    lt_model_free(conv);
    lt_model *wide = NULL;
    lt_arch_build(ctx, "dense:3", D + 1, 1, &wide);
    CHECK(lt_pretrain_layerwise(wide, ds, &o, &fo) == LT_ERR_SHAPE, "a width mismatch is refused: %s", lt_ctx_error(ctx));
    lt_model_free(wide);
    lt_dataset_free(ds);
    free(x);
    free(codes);
}

/* ------------------------------------------------------------------ gradient-norm clipping */

/* A GRU(3) on (5, 3) sequences, then Dense(2): Keras's variables are the GRU's kernel
 * (3 x 9), recurrent kernel (3 x 9) and (2, 9) bias, the Dense kernel (3 x 2) and bias. */
static const size_t gru_dense_tensors[] = {27, 27, 18, 6, 2};
enum { CLIP_STEPS = 5, CLIP_FEATURES = 3, CLIP_ROWS = 8 };

/* Builds that model (seed 3), compiled with SGD (lr 0.1) without clipping. */
static lt_model *clip_model(void)
{
    lt_model *m = NULL;
    lt_sequential(ctx, NULL, &m);
    lt_add(m, lt_rnn(LT_GRU, 3, LT_TANH, 0));
    lt_add(m, lt_dense(2, LT_LINEAR));
    int dims[2] = {CLIP_STEPS, CLIP_FEATURES};
    lt_optimizer o = lt_optimizer_defaults(LT_SGD);
    o.lr = 0.1f;
    if (lt_build_shape(m, 2, dims, 3) != LT_OK || lt_compile(m, LT_LOSS_MSE, &o) != LT_OK) {
        CHECK(0, "clip model: %s", lt_ctx_error(ctx));
        lt_model_free(m);
        return NULL;
    }
    return m;
}

/* Gradients of the model on fixed rows whose targets are scaled by target_scale (large
 * targets, large gradients), left in the model's gradient buffer and copied to g. */
static int clip_grads(lt_model *m, float target_scale, float *g)
{
    lt_backend *be = ctx->be;
    size_t in = CLIP_STEPS * CLIP_FEATURES, out = 2;
    float x[CLIP_ROWS * CLIP_STEPS * CLIP_FEATURES], t[CLIP_ROWS * 2];
    for (size_t i = 0; i < CLIP_ROWS * in; i++) x[i] = lt_philox_uniform(21, 0, i, -1, 1);
    for (size_t i = 0; i < CLIP_ROWS * out; i++) t[i] = target_scale * lt_philox_uniform(22, 0, i, -1, 1);
    lt_buf *tb = NULL;
    lt_status st = lt_workspace_reserve(m, CLIP_ROWS, 1);
    if (st == LT_OK) st = lt_be_buf_alloc(be, CLIP_ROWS * out, &tb);
    if (st == LT_OK) st = lt_be_upload(be, tb, 0, t, CLIP_ROWS * out);
    if (st == LT_OK) st = lt_be_upload(be, m->ws.acts, 0, x, CLIP_ROWS * in);
    if (st == LT_OK) st = lt_compute_grads(m, CLIP_ROWS, tb, 0, 0, 5);
    if (st == LT_OK) st = lt_be_download(be, m->grads, 0, g, m->n_params);
    lt_be_buf_free(be, tb);
    CHECK(st == LT_OK, "clip gradients: %s", lt_ctx_error(ctx));
    return st == LT_OK;
}

/* One lt_optimizer_step with clipnorm (some tensors above the cap, some below) and with
 * global_clipnorm gives exactly the SGD update of the gradients clipped on the host,
 * tensor by tensor as Keras's variables; and that update differs from the unclipped one. */
static void test_clip_step(void)
{
    lt_backend *be = ctx->be;
    enum { NT = sizeof gru_dense_tensors / sizeof gru_dense_tensors[0] };
    for (int global = 0; global < 2; global++) {
        lt_model *m = clip_model();
        if (!m) return;
        size_t np = m->n_params;
        float *g = malloc(np * 4), *p0 = malloc(np * 4), *p1 = malloc(np * 4);
        size_t total = 0;
        for (int i = 0; i < NT; i++) total += gru_dense_tensors[i];
        CHECK(np == total, "GRU + Dense: %zu parameters, Keras's variables hold %zu", np, total);
        int nt = 0;
        for (int i = 0; i < m->n_flat; i++) {
            const lt_layer *l = m->flat[i];
            for (int j = 0; j < l->n_tensors; j++, nt++)
                CHECK(nt < NT && l->tensor_size[j] == gru_dense_tensors[nt], "%s: tensor %d has %zu elements, Keras %zu",
                      l->name, j, l->tensor_size[j], nt < NT ? gru_dense_tensors[nt] : 0);
        }
        CHECK(nt == NT, "GRU + Dense: %d parameter tensors, Keras has %d", nt, (int)NT);
        if (np != total || nt != NT || !clip_grads(m, 10.0f, g)) {
            lt_model_free(m);
            FREE_ALL(g, p0, p1);
            return;
        }
        lt_be_download(be, m->params, 0, p0, np);
        /* each tensor's norm, and the global one, in double */
        double norm[NT], all = 0, lo = INFINITY, hi = 0;
        size_t off = 0;
        for (int i = 0; i < NT; i++) {
            double s = 0;
            for (size_t j = 0; j < gru_dense_tensors[i]; j++) s += (double)g[off + j] * g[off + j];
            norm[i] = sqrt(s);
            all += s;
            lo = fmin(lo, norm[i]);
            hi = fmax(hi, norm[i]);
            off += gru_dense_tensors[i];
        }
        all = sqrt(all);
        /* a cap between the tensors' norms, or half the global norm */
        float cap = global ? (float)(0.5 * all) : (float)sqrt(lo * hi);
        lt_optimizer o = lt_optimizer_defaults(LT_SGD);
        o.lr = 0.1f;
        if (global) o.global_clipnorm = cap;
        else o.clipnorm = cap;
        CHECK(lt_compile(m, LT_LOSS_MSE, &o) == LT_OK, "compile with clipping: %s", lt_ctx_error(ctx));
        CHECK(lt_optimizer_step(m) == LT_OK, "step: %s", lt_ctx_error(ctx));
        lt_be_download(be, m->params, 0, p1, np);
        double worst = 0, moved = 0;
        int clipped = 0, kept = 0;
        off = 0;
        for (int i = 0; i < NT; i++) {
            double n = global ? all : norm[i], f = n > cap ? (double)cap / n : 1.0;
            clipped += f < 1.0;
            kept += f == 1.0;
            for (size_t j = off; j < off + gru_dense_tensors[i]; j++) {
                double want = (double)p0[j] - 0.1 * (f * g[j]), plain = (double)p0[j] - 0.1 * g[j];
                worst = fmax(worst, fabs(p1[j] - want) / fmax(1.0, fabs(want)));
                moved = fmax(moved, fabs(p1[j] - plain));
            }
            off += gru_dense_tensors[i];
        }
        const char *what = global ? "global_clipnorm" : "clipnorm";
        CHECK(worst < 2e-6, "%s %.4g: step differs from the host's clipped SGD step by %.3g", what, (double)cap, worst);
        CHECK(global ? clipped == NT : clipped > 0 && kept > 0, "%s: %d tensors clipped, %d kept", what, clipped, kept);
        CHECK(moved > 1e-3, "%s changed the update (by up to %.3g)", what, moved);
        printf("%s %.4g: %d of %d tensors clipped, step within %.2g of the host's\n", what, (double)cap, clipped, (int)NT,
               worst);
        lt_model_free(m);
        FREE_ALL(g, p0, p1);
    }
}

/* Settings Keras refuses, refused by lt_compile with a message naming them. */
static void test_clip_settings(void)
{
    lt_model *m = clip_model();
    if (!m) return;
    struct { float c, g; const char *word; } bad[] = {
        {1.0f, 1.0f, "both"}, {-1.0f, 0, "clipnorm"}, {0, -0.5f, "global_clipnorm"},
        {NAN, 0, "clipnorm"}, {0, INFINITY, "global_clipnorm"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lt_optimizer o = lt_optimizer_defaults(LT_ADAM);
        o.clipnorm = bad[i].c;
        o.global_clipnorm = bad[i].g;
        lt_status st = lt_compile(m, LT_LOSS_MSE, &o);
        CHECK(st == LT_ERR_ARG && strstr(lt_ctx_error(ctx), bad[i].word), "clipnorm %g, global_clipnorm %g refused: %d \"%s\"",
              (double)bad[i].c, (double)bad[i].g, (int)st, lt_ctx_error(ctx));
    }
    lt_model_free(m);
}

/* Sequences of 8 steps of 2 features; the targets are the first feature's mean and the
 * second's last value, times scale. */
static void sequence_task(size_t n, float scale, lt_dataset **x, lt_dataset **y)
{
    float *xs = malloc(n * 16 * sizeof *xs), *ys = malloc(n * 2 * sizeof *ys);
    for (size_t i = 0; i < n; i++) {
        double mean = 0;
        for (size_t s = 0; s < 8; s++) {
            xs[i * 16 + 2 * s] = lt_philox_uniform(31, i, 2 * s, -1, 1);
            xs[i * 16 + 2 * s + 1] = lt_philox_uniform(31, i, 2 * s + 1, -1, 1);
            mean += xs[i * 16 + 2 * s] / 8.0;
        }
        ys[i * 2] = scale * (float)mean;
        ys[i * 2 + 1] = scale * xs[i * 16 + 15];
    }
    lt_dataset_from_array(ctx, n, 16, xs, NULL, x);
    lt_dataset_from_array(ctx, n, 2, ys, NULL, y);
    free(xs);
    free(ys);
}

/* Trains SimpleRNN(16) + Dense(2) on the sequence task with SGD (lr) clipped as given;
 * returns the final training loss (NaN when fit failed), *first the untrained loss,
 * *st fit's status. */
static float rnn_fit(const lt_dataset *x, const lt_dataset *y, float lr, float clipnorm, float global_clipnorm, float *first,
                     lt_status *st)
{
    lt_model *m = NULL;
    lt_sequential(ctx, NULL, &m);
    lt_add(m, lt_rnn(LT_SIMPLE_RNN, 16, LT_TANH, 0));
    lt_add(m, lt_dense(2, LT_LINEAR));
    int dims[2] = {8, 2};
    lt_optimizer o = lt_optimizer_defaults(LT_SGD);
    o.lr = lr;
    o.clipnorm = clipnorm;
    o.global_clipnorm = global_clipnorm;
    lt_history h = {0};
    *st = lt_build_shape(m, 2, dims, 9);
    if (*st == LT_OK) *st = lt_compile(m, LT_LOSS_MSE, &o);
    if (*st == LT_OK) *st = lt_evaluate(m, x, y, first);
    lt_fit_opts fo = {.epochs = 15, .batch = 16, .seed = 4, .verbose = -1};
    if (*st == LT_OK) *st = lt_fit(m, x, y, &fo, &h);
    lt_model_free(m);
    return *st == LT_OK ? h.loss : NAN;
}

/* Backpropagation through time with clipping: an RNN still learns with each kind of
 * clipping; a cap above every norm changes nothing (bit for bit), a tiny one slows SGD
 * down; with large gradients (large targets) the same SGD rate that thrashes (or
 * diverges) unclipped learns clipped. */
static void test_clip_training(void)
{
    lt_dataset *x = NULL, *y = NULL, *yb = NULL, *xb = NULL;
    sequence_task(512, 1.0f, &x, &y);
    float first = 0, plain, capped, huge, tiny;
    lt_status st;
    plain = rnn_fit(x, y, 0.05f, 0, 0, &first, &st);
    CHECK(st == LT_OK, "rnn fit: %s", lt_ctx_error(ctx));
    capped = rnn_fit(x, y, 0.05f, 1.0f, 0, &first, &st);
    CHECK(st == LT_OK && capped < 0.5f * first, "rnn with clipnorm 1 learns: loss %.4g from %.4g (%s)", (double)capped,
          (double)first, lt_ctx_error(ctx));
    float glob = rnn_fit(x, y, 0.05f, 0, 1.0f, &first, &st);
    CHECK(st == LT_OK && glob < 0.5f * first, "rnn with global_clipnorm 1 learns: loss %.4g from %.4g (%s)", (double)glob,
          (double)first, lt_ctx_error(ctx));
    huge = rnn_fit(x, y, 0.05f, 1e30f, 0, &first, &st);
    CHECK(st == LT_OK && memcmp(&huge, &plain, sizeof huge) == 0, "a cap above every norm changes nothing: %.9g vs %.9g",
          (double)huge, (double)plain);
    tiny = rnn_fit(x, y, 0.05f, 1e-3f, 0, &first, &st);
    CHECK(st == LT_OK && tiny > plain * 1.5f, "a tiny cap slows SGD down: loss %.4g vs %.4g unclipped", (double)tiny,
          (double)plain);
    printf("rnn, SGD 0.05: loss %.4f from %.4f; clipnorm 1: %.4f; global_clipnorm 1: %.4f; 1e-3: %.4f\n", (double)plain,
           (double)first, (double)capped, (double)glob, (double)tiny);
    /* large targets, large gradients: unclipped steps overshoot, clipped ones learn */
    sequence_task(512, 30.0f, &xb, &yb);
    float wild = rnn_fit(xb, yb, 0.05f, 0, 0, &first, &st);
    lt_status wild_st = st;
    float tame = rnn_fit(xb, yb, 0.05f, 1.0f, 0, &first, &st);
    CHECK(st == LT_OK && tame < 0.5f * first, "large gradients, clipnorm 1: loss %.4g from %.4g (%s)", (double)tame,
          (double)first, lt_ctx_error(ctx));
    CHECK(wild_st != LT_OK || !(wild <= 2 * tame), "large gradients: unclipped %s (%.4g), clipped %.4g",
          wild_st == LT_OK ? "finished" : "diverged", (double)wild, (double)tame);
    printf("large targets, SGD 0.05: unclipped %s %.4g, clipnorm 1: %.4f from %.4f\n",
           wild_st == LT_OK ? "loss" : "diverged,", (double)wild, (double)tame, (double)first);
    lt_dataset_free(x); lt_dataset_free(y); lt_dataset_free(xb); lt_dataset_free(yb);
}

/* Runs every group of checks on the backend LATENT_DEVICE names. */
int main(void)
{
    if (!(ctx = harness_ctx(NULL))) return DONE();
    test_bad_fit();
    test_clip_settings();
    test_clip_step();
    test_clip_training();
    test_noise_and_augment();
    test_pretraining();
    test_early_stopping();
    test_swiss_roll_and_seeds();
    test_fashion_mnist();
    lt_ctx_close(ctx);
    return DONE();
}
