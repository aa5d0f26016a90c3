/* A small program against the installed latent library: trains the swiss-roll
 * autoencoder (3 -> 2 -> 3) for a few epochs and prints its loss.
 *
 *   cc -std=c11 example.c $(pkg-config --cflags --libs latent) -o example
 *   # installed with a --prefix the loader does not search: its lib folder as rpath
 *   cc -std=c11 example.c $(pkg-config --cflags --libs latent) \
 *       -Wl,-rpath,$(pkg-config --variable=libdir latent) -o example
 *   ./example                      # device from $LATENT_DEVICE, else auto
 *   LATENT_DEVICE=cpu ./example    # the plain-C fallback
 */
#include <stdio.h>

#include <latent.h>

/* Trains, evaluates and prints; every call's status is checked, and on failure the
 * context's message says what went wrong. */
int main(void)
{
    char err[256] = "";
    lt_ctx *ctx = NULL;
    if (lt_ctx_open(&ctx, NULL, err, sizeof err) != LT_OK) {
        fprintf(stderr, "example: %s\n", err);
        return 1;
    }
    printf("device: %s (%s)\n", lt_ctx_device(ctx), lt_ctx_backend(ctx));

    lt_dataset *train = NULL, *test = NULL;
    lt_model *ae = NULL;
    lt_optimizer adam = lt_optimizer_defaults(LT_ADAM);
    lt_fit_opts fit = {.epochs = 10, .batch = 32, .seed = 1, .verbose = -1};
    lt_history hist;
    float test_mse = 0.0f;

    /* Two independent draws of the roll: 2000 points to train on, 500 to test. */
    lt_status st = lt_dataset_swiss_roll(ctx, 2000, 0.0f, 1, &train);
    if (st == LT_OK) st = lt_dataset_swiss_roll(ctx, 500, 0.0f, 2, &test);
    if (st == LT_OK) st = lt_arch_build(ctx, "swissroll-ae", 3, 1, &ae);
    if (st == LT_OK) st = lt_compile(ae, LT_LOSS_MSE, &adam);
    if (st == LT_OK) st = lt_fit(ae, train, NULL, &fit, &hist); /* y NULL: reconstruct x */
    if (st == LT_OK) st = lt_evaluate(ae, test, NULL, &test_mse);

    if (st == LT_OK) {
        /* The encoder (submodel 0) maps a 3-D point to its 2-D code. */
        float code[2];
        st = lt_predict(lt_submodel(ae, 0), lt_dataset_data(test), 1, code);
        if (st == LT_OK) {
            printf("%d epochs: train mse %.5f, test mse %.5f\n", hist.epochs_run, (double)hist.loss,
                   (double)test_mse);
            printf("first test point's code: (%.4f, %.4f)\n", (double)code[0], (double)code[1]);
        }
    }
    if (st != LT_OK) fprintf(stderr, "example: %s: %s\n", lt_status_name(st), lt_ctx_error(ctx));

    lt_model_free(ae);
    lt_dataset_free(train);
    lt_dataset_free(test);
    lt_ctx_close(ctx);
    return st == LT_OK ? 0 : 1;
}
