/* End to end: mlp-ae learns Fashion-MNIST (a subset) below a loss threshold, the
 * swiss-roll autoencoder learns, training is reproducible from its seed, validation
 * and early stopping work, and bad data are refused. Runs on LATENT_DEVICE's backend. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "latent.h"

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

/* Runs swissroll-ae training with a seed; returns the final loss. */
static float roll_loss(uint64_t seed, lt_optim_kind kind)
{
    lt_dataset *roll = NULL, *x = NULL;
    lt_dataset_swiss_roll(ctx, 1000, 0.0f, 1, &roll);
    size_t n = lt_dataset_count(roll);
    float *d = malloc(n * 3 * sizeof *d);
    for (size_t i = 0; i < n * 3; i++) d[i] = lt_dataset_data(roll)[i] / 15.0f;
    lt_dataset_from_array(ctx, n, 3, d, NULL, &x);
    free(d);
    lt_model *m = NULL;
    lt_arch_build(ctx, "swissroll-ae", 3, seed, &m);
    lt_optimizer o = lt_optimizer_defaults(kind);
    if (kind == LT_SGD) { o.momentum = 0.9f; o.nesterov = 1; }
    lt_compile(m, LT_LOSS_MSE, &o);
    lt_fit_opts fo = {.epochs = 20, .batch = 32, .seed = seed, .verbose = -1};
    lt_history h = {0};
    lt_status st = lt_fit(m, x, NULL, &fo, &h);
    CHECK(st == LT_OK, "swiss roll fit: %s", lt_ctx_error(ctx));
    float first = 0;
    lt_model_free(m);
    lt_arch_build(ctx, "swissroll-ae", 3, seed, &m);
    lt_compile(m, LT_LOSS_MSE, &o);
    lt_evaluate(m, x, NULL, &first);
    CHECK(h.loss < 0.8f * first, "swiss roll (%d): loss %.4f from %.4f", (int)kind, (double)h.loss, (double)first);
    lt_model_free(m);
    lt_dataset_free(roll);
    lt_dataset_free(x);
    return h.loss;
}

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
    lt_dataset *x = NULL;
    lt_dataset_swiss_roll(ctx, 300, 0.1f, 2, &x);
    lt_model *m = NULL;
    lt_arch_build(ctx, "swissroll-ae", 3, 1, &m);
    lt_compile(m, LT_LOSS_MSE, NULL);
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
    lt_dataset *x = NULL;
    lt_dataset_swiss_roll(ctx, 100, 0.0f, 2, &x);
    lt_model *m = NULL;
    lt_arch_build(ctx, "mlp-ae", 784, 1, &m);
    lt_compile(m, LT_LOSS_MSE, NULL);
    lt_fit_opts fo = {.epochs = 1, .verbose = -1};
    CHECK(lt_fit(m, x, NULL, &fo, NULL) == LT_ERR_SHAPE && strstr(lt_ctx_error(ctx), "784"), "width mismatch named: %s", lt_ctx_error(ctx));
    float l;
    CHECK(lt_evaluate(m, x, NULL, &l) == LT_ERR_SHAPE, "evaluate mismatch");
    lt_model_free(m);
    lt_arch_build(ctx, "swissroll-ae", 3, 1, &m);
    lt_compile(m, LT_LOSS_MSE, NULL);
    fo.batch = -3;
    CHECK(lt_fit(m, x, NULL, &fo, NULL) == LT_ERR_ARG, "negative batch refused");
    fo.batch = 8;
    fo.validation_split = 1.0f;
    CHECK(lt_fit(m, x, NULL, &fo, NULL) == LT_ERR_ARG, "validation split 1 refused");
    lt_model_free(m);
    lt_dataset_free(x);
}

int main(void)
{
    char err[512];
    if (lt_ctx_open(&ctx, NULL, err, sizeof err) != LT_OK) { printf("cannot open device: %s\n", err); return 1; }
    printf("device: %s (%s)\n", lt_ctx_backend(ctx), lt_ctx_device(ctx));
    test_bad_fit();
    test_early_stopping();
    test_swiss_roll_and_seeds();
    test_fashion_mnist();
    lt_ctx_close(ctx);
    return DONE();
}
