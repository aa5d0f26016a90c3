/* An application that embeds latent runs two contexts in two of its own threads at
 * once: two trainings in one process, each with its own context on LATENT_DEVICE, give
 * the same weights and losses as each alone (bit for bit: the CPU fallback's sums run in
 * a fixed order for any team size, and OpenCL's in a fixed order per device). Each
 * context caps its threads (lt_ctx_set_threads), as an application sizing latent from
 * its own thread pool would. */
#include <pthread.h>
#include "harness.h"

/* One training: its recipe, and what it gave. */
typedef struct job {
    const char *arch; /* a spec over swiss-roll's 3-D points            */
    int threads;      /* lt_ctx_set_threads                              */
    uint64_t seed;    /* weights, shuffling and data                     */
    float loss;       /* final training loss                             */
    float out[6];     /* its reconstruction of the first two points      */
    char err[256];    /* "" or what failed                               */
} job;

/* Trains job j on its own context (a thread's body). */
static void *train(void *arg)
{
    job *j = arg;
    lt_ctx *ctx = NULL;
    lt_dataset *data = NULL;
    lt_model *m = NULL;
    if (lt_ctx_open(&ctx, NULL, j->err, sizeof j->err) != LT_OK) return NULL;
    lt_ctx_set_threads(ctx, j->threads);
    lt_optimizer adam = lt_optimizer_defaults(LT_ADAM);
    lt_fit_opts fit = {.epochs = 3, .batch = 256, .seed = j->seed, .verbose = -1};
    lt_history hist;
    lt_status st = lt_dataset_swiss_roll(ctx, 4096, 0.0f, j->seed, &data);
    if (st == LT_OK) st = lt_arch_build(ctx, j->arch, 3, j->seed, &m);
    if (st == LT_OK) st = lt_compile(m, LT_LOSS_MSE, &adam);
    if (st == LT_OK) st = lt_fit(m, data, NULL, &fit, &hist);
    if (st == LT_OK) st = lt_predict(m, lt_dataset_data(data), 2, j->out);
    if (st == LT_OK) j->loss = hist.loss;
    else snprintf(j->err, sizeof j->err, "%s: %s", lt_status_name(st), lt_ctx_error(ctx));
    lt_model_free(m);
    lt_dataset_free(data);
    lt_ctx_close(ctx);
    return NULL;
}

int main(void)
{
    /* wide enough that the CPU fallback's ops run as parallel regions */
    job alone[2] = {
        {.arch = "dense:256:elu,dense:128:elu,dense:2|dense:128:elu,dense:256:elu,dense:3", .threads = 2, .seed = 1},
        {.arch = "dense:192:tanh,dense:2|dense:192:tanh,dense:3", .threads = 0, .seed = 2},
    };
    job both[2];
    memcpy(both, alone, sizeof both);
    for (int i = 0; i < 2; i++) {
        train(&alone[i]);
        CHECK(alone[i].err[0] == 0, "training %d alone: %s", i, alone[i].err);
    }
    pthread_t th[2];
    int started[2];
    for (int i = 0; i < 2; i++) started[i] = pthread_create(&th[i], NULL, train, &both[i]) == 0;
    for (int i = 0; i < 2; i++) {
        CHECK(started[i], "thread %d started", i);
        if (started[i]) pthread_join(th[i], NULL);
    }
    for (int i = 0; i < 2; i++) {
        CHECK(both[i].err[0] == 0, "training %d beside the other: %s", i, both[i].err);
        CHECK(memcmp(&alone[i].loss, &both[i].loss, sizeof(float)) == 0 &&
                  memcmp(alone[i].out, both[i].out, sizeof alone[i].out) == 0,
              "training %d: the same loss (%.7g, alone %.7g) and outputs in two threads as alone", i,
              (double)both[i].loss, (double)alone[i].loss);
    }
    return DONE();
}
