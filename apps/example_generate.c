/* One-to-many with the public API: a recurrent generator that turns one vector, the
 * amplitude and frequency of a wave, into a whole sequence of STEPS values.
 *
 *   Dense(16, tanh)                       (2) -> (16): the vector becomes a state
 *   SimpleRNN(16) from that state         (16) -> (24, 16): Keras's initial_state,
 *                                         24 steps with no input of their own
 *   TimeDistributed(Dense(1))             (24, 16) -> (24, 1)
 *
 * It trains on random waves, prints the test mse beside the mse of always answering
 * the training set's mean sequence, and draws one generated wave next to the truth.
 * It exits 1 unless the generator beats that baseline by a factor of 4.
 *
 *   cc -std=c11 example_generate.c $(pkg-config --cflags --libs latent) -lm -o example_generate
 * (add -Wl,-rpath,$(pkg-config --variable=libdir latent) for a --prefix the loader
 * does not search, as for example.c)
 *   ./example_generate             # device from $LATENT_DEVICE, else auto
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <latent.h>

#define STEPS 24
#define N_TRAIN 2048
#define N_TEST 256

/* A small deterministic generator (xorshift64*), uniform in [lo, hi). */
static float uniform(unsigned long long *s, float lo, float hi)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    unsigned long long r = *s * 2685821657736338717ull;
    return lo + (hi - lo) * (float)((double)(r >> 11) / 9007199254740992.0);
}

/* n waves: x[i] = (amplitude, frequency), y[i][t] = amplitude * sin(frequency * t). */
static lt_status make_waves(lt_ctx *ctx, size_t n, unsigned long long seed, lt_dataset **x, lt_dataset **y)
{
    float *xs = malloc(n * 2 * sizeof *xs), *ys = malloc(n * STEPS * sizeof *ys);
    lt_status st = xs && ys ? LT_OK : LT_ERR_NOMEM;
    for (size_t i = 0; st == LT_OK && i < n; i++) {
        float a = uniform(&seed, 0.5f, 1.5f), f = uniform(&seed, 0.15f, 0.6f);
        xs[i * 2] = a;
        xs[i * 2 + 1] = f;
        for (int t = 0; t < STEPS; t++) ys[i * STEPS + (size_t)t] = a * sinf(f * (float)t);
    }
    if (st == LT_OK) st = lt_dataset_from_array(ctx, n, 2, xs, NULL, x);
    if (st == LT_OK) st = lt_dataset_from_array(ctx, n, STEPS, ys, NULL, y);
    free(xs);
    free(ys);
    return st;
}

/* The mse of answering every test wave with the training waves' mean sequence. */
static double mean_baseline(const lt_dataset *train_y, const lt_dataset *test_y)
{
    double mean[STEPS] = {0}, se = 0;
    const float *a = lt_dataset_data(train_y), *b = lt_dataset_data(test_y);
    size_t na = lt_dataset_count(train_y), nb = lt_dataset_count(test_y);
    for (size_t i = 0; i < na; i++)
        for (int t = 0; t < STEPS; t++) mean[t] += a[i * STEPS + (size_t)t] / (double)na;
    for (size_t i = 0; i < nb; i++)
        for (int t = 0; t < STEPS; t++) {
            double e = b[i * STEPS + (size_t)t] - mean[t];
            se += e * e;
        }
    return se / (double)(nb * STEPS);
}

/* Prints one generated wave beside the truth, a row per step. */
static void draw(const float *truth, const float *made)
{
    for (int t = 0; t < STEPS; t++) {
        char line[42];
        for (int c = 0; c < 41; c++) line[c] = c == 20 ? '|' : ' ';
        line[41] = '\0';
        int ct = (int)lroundf(20.0f + 12.0f * truth[t]), cm = (int)lroundf(20.0f + 12.0f * made[t]);
        if (ct >= 0 && ct < 41) line[ct] = 'o';
        if (cm >= 0 && cm < 41) line[cm] = cm == ct ? '@' : '*';
        printf("  t=%2d %s  truth %+.3f  generated %+.3f\n", t, line, (double)truth[t], (double)made[t]);
    }
}

int main(void)
{
    char err[256] = "";
    lt_ctx *ctx = NULL;
    if (lt_ctx_open(&ctx, NULL, err, sizeof err) != LT_OK) {
        fprintf(stderr, "example_generate: %s\n", err);
        return 1;
    }
    printf("device: %s (%s)\n", lt_ctx_device(ctx), lt_ctx_backend(ctx));

    lt_dataset *train_x = NULL, *train_y = NULL, *test_x = NULL, *test_y = NULL;
    lt_model *gen = NULL;
    lt_optimizer adam = lt_optimizer_defaults(LT_ADAM);
    adam.lr = 0.01f;
    lt_fit_opts fit = {.epochs = 60, .batch = 32, .seed = 1, .verbose = -1};
    lt_history hist;
    float test_mse = 0.0f, made[STEPS];

    lt_status st = make_waves(ctx, N_TRAIN, 1, &train_x, &train_y);
    if (st == LT_OK) st = make_waves(ctx, N_TEST, 2, &test_x, &test_y);
    if (st == LT_OK) st = lt_sequential(ctx, "generator", &gen);
    /* lt_add takes each layer, also on failure; NULL layers are refused there */
    if (st == LT_OK) st = lt_add(gen, lt_dense(16, LT_TANH));
    if (st == LT_OK) st = lt_add(gen, lt_rnn_from_state(LT_SIMPLE_RNN, 16, LT_TANH, LT_RETURN_SEQUENCES, STEPS));
    if (st == LT_OK) st = lt_add(gen, lt_time_distributed(lt_dense(1, LT_LINEAR)));
    if (st == LT_OK) st = lt_build(gen, 2, 1);
    if (st == LT_OK) st = lt_compile(gen, LT_LOSS_MSE, &adam);
    if (st == LT_OK) st = lt_summary(gen, stdout);
    if (st == LT_OK) st = lt_fit(gen, train_x, train_y, &fit, &hist);
    if (st == LT_OK) st = lt_evaluate(gen, test_x, test_y, &test_mse);
    if (st == LT_OK) st = lt_predict(gen, lt_dataset_data(test_x), 1, made);

    int rc = st == LT_OK ? 0 : 1;
    if (st == LT_OK) {
        double base = mean_baseline(train_y, test_y);
        const float *x0 = lt_dataset_data(test_x);
        printf("%d epochs: train mse %.5f, test mse %.5f; the mean sequence's mse %.5f\n", hist.epochs_run,
               (double)hist.loss, (double)test_mse, base);
        printf("test wave 0 (amplitude %.3f, frequency %.3f): o truth, * generated, @ both\n", (double)x0[0],
               (double)x0[1]);
        draw(lt_dataset_data(test_y), made);
        if (!(test_mse * 4.0 < base)) {
            fprintf(stderr, "example_generate: the generator did not learn (test mse %.5f, baseline %.5f)\n",
                    (double)test_mse, base);
            rc = 1;
        }
    } else {
        fprintf(stderr, "example_generate: %s: %s\n", lt_status_name(st), lt_ctx_error(ctx));
    }

    lt_model_free(gen);
    lt_dataset_free(train_x);
    lt_dataset_free(train_y);
    lt_dataset_free(test_x);
    lt_dataset_free(test_y);
    lt_ctx_close(ctx);
    return rc;
}
