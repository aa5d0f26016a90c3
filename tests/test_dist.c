/* Data-parallel training over MPI (lt_fit_opts.comm), run as `mpirun -np N test_dist`
 * on LATENT_DEVICE's backend. Every process trains the same model on the same data with
 * the communicator; rank 0 also trains a copy alone with the same global batch, and the
 * two must end on the same weights to float rounding (the ranks' partial gradient sums
 * add in another order than one process's GEMM), for a dense autoencoder with dropout,
 * input noise and a validation split, a convolutional one with augmentation, a VAE and a
 * stacked recurrent model, with batches that do not divide among the ranks and a last
 * step smaller than the number of ranks. Every rank must hold the very same weights.
 * Then the failures: data that differ on one rank, a rank whose options are refused, a
 * rank whose checkpoint fails midway, a stop asked for on one rank, and a Sparsity layer
 * (its batch mean cannot be split) all end lt_fit on every rank, naming the rank. */
#include <mpi.h>
#include "latent_mpi.h"
#include "model.h"
#include "harness.h"

static lt_ctx *ctx;
static lt_comm *comm;
static int rank, size;

/* A training case: an architecture for an input shape, its data, targets (NULL: the
 * inputs) and fit options (comm is set here). */
typedef struct dist_case {
    const char *name;
    const char *arch;
    int in_rank, dims[3];
    lt_loss loss;
    lt_dataset *x, *y;
    lt_fit_opts fo;
    double tolerance; /* largest weight difference allowed, relative to the largest weight */
} dist_case;

/* A fresh model of the case, compiled with Adam. */
static lt_model *fresh(const dist_case *c)
{
    lt_model *m = NULL;
    lt_status st = lt_arch_build_shape(ctx, c->arch, c->in_rank, c->dims, 5, &m);
    if (!CHECK(st == LT_OK, "%s: build: %s", c->name, lt_ctx_error(ctx))) return NULL;
    lt_optimizer o = lt_optimizer_defaults(LT_ADAM);
    o.lr = 0.005f;
    CHECK(lt_compile(m, c->loss, &o) == LT_OK, "%s: compile: %s", c->name, lt_ctx_error(ctx));
    return m;
}

/* The model's weights (malloc'd), or NULL. */
static float *weights(lt_model *m)
{
    float *w = malloc((m->n_params ? m->n_params : 1) * sizeof *w);
    if (w && lt_be_download(LT_BE(m), m->params, m->poff, w, m->n_params) != LT_OK) {
        free(w);
        return NULL;
    }
    return w;
}

/* FNV-1a of n floats' bits. */
static uint64_t digest(const float *x, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    const unsigned char *p = (const unsigned char *)x;
    for (size_t i = 0; i < n * sizeof *x; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

/* Whether every rank holds the weights w (n floats) bit for bit. */
static int same_on_every_rank(const float *w, size_t n)
{
    unsigned long long mine = digest(w, n), lo = 0, hi = 0;
    MPI_Allreduce(&mine, &lo, 1, MPI_UNSIGNED_LONG_LONG, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(&mine, &hi, 1, MPI_UNSIGNED_LONG_LONG, MPI_MAX, MPI_COMM_WORLD);
    return lo == hi;
}

/* Trains the case on every rank together and, on rank 0, alone; compares. */
static void equivalence(const dist_case *c)
{
    lt_model *m = fresh(c), *alone = NULL;
    if (!m) return;
    lt_fit_opts fo = c->fo;
    fo.comm = comm;
    lt_history h, ha;
    lt_status st = lt_fit(m, c->x, c->y, &fo, &h);
    CHECK(st == LT_OK, "%s: fit on %d ranks: %s", c->name, size, lt_ctx_error(ctx));
    float *w = weights(m);
    size_t n = m->n_params;
    CHECK(w && same_on_every_rank(w, n), "%s: every rank ends on the same weights, bit for bit", c->name);
    float shared = -1.0f, own = -2.0f; /* the ranks' shares summed: the very figure of one process */
    CHECK(lt_evaluate_comm(m, c->x, c->y, comm, &shared) == LT_OK && lt_evaluate(m, c->x, c->y, &own) == LT_OK &&
          shared == own, "%s: lt_evaluate_comm %.9g, lt_evaluate %.9g: %s", c->name, (double)shared, (double)own,
          lt_ctx_error(ctx));
    if (rank == 0 && st == LT_OK && w) {
        alone = fresh(c);
        st = alone ? lt_fit(alone, c->x, c->y, &c->fo, &ha) : LT_ERR_ARG;
        float *v = st == LT_OK ? weights(alone) : NULL;
        double worst = 0, big = 0;
        for (size_t i = 0; v && i < n; i++) {
            worst = fmax(worst, fabs((double)w[i] - (double)v[i]));
            big = fmax(big, fabs((double)v[i]));
        }
        size_t steps = (size_t)c->fo.epochs * (((size_t)((double)lt_dataset_count(c->x) *
                                                         (1.0 - (double)c->fo.validation_split)) +
                                                 (size_t)c->fo.batch - 1) / (size_t)c->fo.batch);
        CHECK(v && worst <= c->tolerance * big, "%s: %d ranks against one process after %zu steps: largest weight "
              "difference %.3g (%.3g of the largest weight, allowed %.3g)", c->name, size, steps, worst,
              big > 0 ? worst / big : 0, c->tolerance);
        CHECK(h.epochs_run == ha.epochs_run && fabs((double)h.loss - (double)ha.loss) <= 1e-3 * fabs((double)ha.loss) + 1e-6,
              "%s: the same epochs (%d, %d) and final loss (%.7g, %.7g)", c->name, h.epochs_run, ha.epochs_run,
              (double)h.loss, (double)ha.loss);
        if (c->fo.validation_split > 0)
            CHECK(fabs((double)h.val_loss - (double)ha.val_loss) <= 1e-3 * fabs((double)ha.val_loss) + 1e-6,
                  "%s: validation loss %.7g against %.7g", c->name, (double)h.val_loss, (double)ha.val_loss);
        const char *kb = getenv("LATENT_BUCKET_KB");
        printf("# %s, %s KiB buckets: %zu steps on %d ranks, largest weight difference %.3g (relative %.3g)\n", c->name,
               kb ? kb : "256", steps, size, worst, big > 0 ? worst / big : 0);
        free(v);
    }
    free(w);
    lt_model_free(m);
    lt_model_free(alone);
}

/* Windows of 12 steps of a noisy sine (*x) and the value after each (*y). */
static void sine_windows(size_t n, lt_dataset **x, lt_dataset **y)
{
    float *a = malloc(n * 12 * sizeof *a), *b = malloc(n * sizeof *b);
    for (size_t i = 0; a && b && i < n; i++) {
        for (int t = 0; t <= 12; t++) {
            double v = sin(0.3 * (double)(i + (size_t)t)) + 0.05 * sin(7.1 * (double)(i * 13 + (size_t)t));
            if (t < 12) a[i * 12 + (size_t)t] = (float)v;
            else b[i] = (float)v;
        }
    }
    if (a && b) {
        lt_dataset_from_array(ctx, n, 12, a, NULL, x);
        lt_dataset_from_array(ctx, n, 1, b, NULL, y);
    }
    free(a);
    free(b);
}

/* Dense, convolutional, VAE and recurrent models: a few hundred steps each. */
static void test_equivalence(void)
{
    lt_dataset *roll = roll_data(ctx, 601), *small = roll_data(ctx, 97), *images = square_images(ctx, 120), *seq = NULL, *next = NULL;
    sine_windows(400, &seq, &next);
    lt_augment aug = {.rotation_range = 15.0f, .zoom_range = 0.1f, .width_shift_range = 0.1f, .horizontal_flip = 1};
    dist_case cases[] = {
        /* 480 training samples in batches of 33 (the last 18): slices of 17 and 16 rows */
        {"dense AE, dropout, noise, validation", "dense:16:elu,dropout:0.2,dense:2|dense:16:elu,dense:3", 1, {3, 0, 0},
         LT_LOSS_MSE, roll, NULL,
         {.epochs = 20, .batch = 33, .seed = 9, .validation_split = 0.2f, .noise = 0.05f, .verbose = -1}, 1e-5},
        /* 97 samples in batches of 32: the last step has 1 row, so a rank has none */
        {"dense AE, a last step of 1 row", "dense:8:tanh,dense:2|dense:8:tanh,dense:3", 1, {3, 0, 0}, LT_LOSS_MSE,
         small, NULL, {.epochs = 75, .batch = 32, .seed = 3, .verbose = -1}, 1e-5},
        {"conv AE, augmented", "conv:4:3x3:relu:same,maxpool:2x2|upsample:2x2,conv:1:3x3:sigmoid:same", 3, {8, 8, 1},
         LT_LOSS_BCE, images, NULL, {.epochs = 20, .batch = 13, .seed = 4, .augment = &aug, .verbose = -1}, 1e-5},
        {"VAE", "dense:16:relu,dense:4,sampling|dense:16:relu,dense:3", 1, {3, 0, 0}, LT_LOSS_MSE, roll, NULL,
         {.epochs = 15, .batch = 25, .seed = 5, .kl_warmup = 3, .verbose = -1}, 1e-5},
        {"stacked RNN, many-to-one", "rnn:8:seq,rnn:6,dense:1", 2, {12, 1, 0}, LT_LOSS_MSE, seq, next,
         {.epochs = 15, .batch = 21, .seed = 6, .shuffle = 0, .verbose = -1}, 1e-5},
    };
    /* the gradients summed in one bucket, then in a bucket a layer (1 KiB each), started
     * while backward goes on: the same sums either way */
    for (int pass = 0; pass < 2; pass++) {
        if (pass) setenv("LATENT_BUCKET_KB", "1", 1);
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
            if (cases[i].x) equivalence(&cases[i]);
    }
    unsetenv("LATENT_BUCKET_KB");
    lt_dataset_free(roll);
    lt_dataset_free(small);
    lt_dataset_free(images);
    lt_dataset_free(seq);
    lt_dataset_free(next);
}

/* poll for the stop test: rank 1 alone asks to stop after epoch 2's third step. */
static int poll_rank1(void *user, const lt_fit_point *w)
{
    (void)user;
    return rank == 1 && w->epoch == 2 && w->step == 3 ? LT_FIT_STOP : 0;
}

/* checkpoint for the failure test: fails on rank 1. */
static lt_status failing_checkpoint(lt_model *m, void *user)
{
    (void)user;
    return rank == 1 ? lt_set_error(m->ctx, LT_ERR_IO, "test: rank 1 cannot write its checkpoint") : LT_OK;
}

/* poll asking for a checkpoint after epoch 1's second step. */
static int poll_checkpoint(void *user, const lt_fit_point *w)
{
    (void)user;
    return w->epoch == 1 && w->step == 2 ? LT_FIT_CHECKPOINT : 0;
}

/* Whether the context's message says rank `who` failed; rank `who` itself must have
 * failed with its own message. */
static void expect_named(lt_status st, int who, const char *own, const char *what)
{
    const char *msg = lt_ctx_error(ctx);
    char want[64];
    snprintf(want, sizeof want, "rank %d of %d failed", who, size);
    if (rank == who)
        CHECK(st != LT_OK && strstr(msg, own), "%s: rank %d says why: %s", what, rank, msg);
    else
        CHECK(st != LT_OK && strstr(msg, want), "%s: rank %d names rank %d: %s", what, rank, who, msg);
}

/* Failures on one rank end the run on all. */
static void test_failures(void)
{
    lt_dataset *x = roll_data(ctx, 200), *other = roll_data(ctx, 200);
    if (other && rank == 1) ((float *)lt_dataset_data(other))[5] += 0.25f;
    dist_case c = {"failures", "dense:8:elu,dense:2|dense:8:elu,dense:3", 1, {3, 0, 0}, LT_LOSS_MSE, x, NULL,
                   {.epochs = 3, .batch = 32, .seed = 2, .verbose = -1}, 0};
    lt_model *m = fresh(&c);
    lt_fit_opts fo = c.fo;
    fo.comm = comm;
    lt_history h;
    if (!m) goto out;

    lt_status st = lt_fit(m, rank == 1 ? other : x, NULL, &fo, &h);
    CHECK(st == LT_ERR_ARG && strstr(lt_ctx_error(ctx), "rank 1 holds other training data than rank 0"),
          "other data on rank 1: refused on rank %d: %s", rank, lt_ctx_error(ctx));

    fo.epochs = rank == 1 ? -1 : 3;
    st = lt_fit(m, x, NULL, &fo, &h);
    expect_named(st, 1, "epochs must be in", "rank 1's options refused");
    fo.epochs = 3;

    fo.poll = poll_checkpoint;
    fo.checkpoint = failing_checkpoint;
    st = lt_fit(m, x, NULL, &fo, &h);
    expect_named(st, 1, "cannot write its checkpoint", "rank 1's checkpoint failed");
    CHECK(rank == 1 || strstr(lt_ctx_error(ctx), "epoch 1, step 2") || strstr(lt_ctx_error(ctx), "epoch 1, step 3"),
          "the failure's place is named: %s", lt_ctx_error(ctx));

    fo.poll = poll_rank1;
    fo.checkpoint = NULL;
    st = lt_fit(m, x, NULL, &fo, &h);
    float *w = weights(m);
    lt_fit_point p = {0};
    lt_model_progress(m, &p);
    CHECK(st == LT_OK && h.stopped && p.epoch == 1 && p.step == 3, "a stop asked on rank 1 stops rank %d there "
          "(stopped %d, epoch %d done, step %zu): %s", rank, h.stopped, p.epoch, p.step, lt_ctx_error(ctx));
    CHECK(w && same_on_every_rank(w, m->n_params), "stopped ranks hold the same weights");
    free(w);
    lt_model_free(m);
    m = NULL;

    dist_case sp = c;
    sp.arch = "dense:8:sigmoid,sparsity:0.05:3,dense:2|dense:8:elu,dense:3";
    fo = sp.fo;
    fo.comm = comm;
    if ((m = fresh(&sp)) != NULL) {
        st = lt_fit(m, x, NULL, &fo, &h);
        CHECK(st == LT_ERR_UNSUPPORTED || (rank != 0 && strstr(lt_ctx_error(ctx), "rank 0 of")),
              "a Sparsity layer is refused with several ranks (rank %d): %s", rank, lt_ctx_error(ctx));
        CHECK(rank != 0 || strstr(lt_ctx_error(ctx), "Sparsity"), "...saying why: %s", lt_ctx_error(ctx));
    }
out:
    lt_model_free(m);
    lt_dataset_free(x);
    lt_dataset_free(other);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    comm = lt_comm_mpi(MPI_COMM_WORLD);
    rank = lt_comm_rank(comm);
    size = lt_comm_size(comm);
    snprintf(harness_host.tag, sizeof harness_host.tag, "rank %d", rank);
    if (!CHECK(comm != NULL, "a communicator over MPI_COMM_WORLD")) goto out;
    CHECK(lt_have_mpi() == 1 && lt_comm_node_size(comm) >= 1 && lt_comm_node_rank(comm) < lt_comm_node_size(comm),
          "node rank %d of %d", lt_comm_node_rank(comm), lt_comm_node_size(comm));
    if (!(ctx = harness_ctx(NULL))) goto out;
    test_equivalence();
    if (size >= 2) test_failures();
    lt_ctx_close(ctx);
out:
    lt_comm_free(comm);
    MPI_Finalize();
    return DONE();
}
