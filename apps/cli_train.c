/* The latent program's model commands: devices, train (build, fit, save, report the
 * test loss, plot), eval, summary, reconstruct and bench. It calls only
 * apps/cli_common.c, apps/cli_data.c and apps/cli_args.c's recorded options. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* strtok_r */
#endif

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "latent.h"

/* Side of the square scatter plot, in pixels. */
#define SCATTER_PX 512
/* Enlargement of each image pixel in reconstruction grids. */
#define IMAGE_SCALE 2

/* ------------------------------------------------------------------ architectures */

/* The architecture when --arch is not given: mlp-ae for images, seq-ae for windows of
 * a series, else swissroll-ae. */
static const char *default_arch(const lt_dataset *ds)
{
    return ds && cli_is_image(ds) ? "mlp-ae" : ds && cli_is_windows(ds) ? "seq-ae" : "swissroll-ae";
}

/* --arch, or the data's default. */
static const char *arch_of(const cli_opts *o, const lt_dataset *ds) { return o->arch ? o->arch : default_arch(ds); }

/* The input width for an architecture when neither --input nor --data gives one:
 * its lecture data (28x28 gray; 63x63 RGB patches for denoise-rgb). */
static int default_input(const char *arch)
{
    if (strcmp(arch, "denoise-rgb") == 0) return 63 * 63 * 3;
    return strncmp(arch, "swissroll", 9) == 0 ? 3 : 784;
}

/* Builds --arch (or fallback) for the data's image shape when ds holds images, for
 * (steps, features) when ds holds windows of a series, else for input_dim inputs, read
 * as a square gray image (784 -> 28x28x1) when it is a perfect square, which
 * convolutional architectures need; an unknown name is a usage error. */
int cli_input_shape(const lt_dataset *ds, int input_dim, int dims[3])
{
    int rank = 1, h = 0, w = 0, c = 0, steps = 0, features = 0;
    dims[0] = input_dim;
    dims[1] = dims[2] = 0;
    if (ds) lt_dataset_image_shape(ds, &h, &w, &c);
    if (ds) lt_dataset_seq_shape(ds, &steps, &features);
    if (h > 0 && w > 0 && c > 0 && (size_t)h * w * c == (size_t)input_dim) {
        dims[0] = h; dims[1] = w; dims[2] = c;
        rank = 3;
    } else if (steps > 0 && (size_t)steps * features == (size_t)input_dim) {
        dims[0] = steps; dims[1] = features;
        rank = 2;
    } else { /* a square image: gray, else RGB */
        for (int ch = 1; rank == 1 && ch <= 3; ch += 2) {
            int side = 1, px = input_dim % ch == 0 ? input_dim / ch : 0;
            while ((long)side * side < px) side++;
            if ((long)side * side == px && px > 1) { dims[0] = dims[1] = side; dims[2] = ch; rank = 3; }
        }
    }
    return rank;
}

static int build_arch(const cli_opts *o, lt_ctx *ctx, const char *arch, const lt_dataset *ds, int input_dim, lt_model **m)
{
    int dims[3], rank = cli_input_shape(ds, input_dim, dims);
    lt_status st = lt_arch_build_shape(ctx, arch, rank, dims, o->seed, m);
    if (st == LT_ERR_ARG) return cli_usage_error(o, "--arch '%s': %s", arch, lt_ctx_error(ctx));
    cli_data_kind kind;
    if (st == LT_ERR_SHAPE && rank == 1 && o->data && !o->window && cli_data_kind_of(o, &kind) == CLI_OK && kind == DATA_CSV)
        return cli_fail(o, "--arch '%s': %s (--window cuts a CSV series into windows)", arch, lt_ctx_error(ctx));
    if (st != LT_OK) return cli_fail_lt(o, ctx, st, "--arch");
    return CLI_OK;
}

/* The default loss of an architecture: cce for the classifier rnn-clf, bce-sum (the
 * ELBO's reconstruction term) for the variational built-ins, else mse. */
static const char *default_loss(const char *arch)
{
    if (arch && strcmp(arch, "rnn-clf") == 0) return "cce"; /* a classifier: one-hot labels as targets */
    return arch && (strcmp(arch, "vae") == 0 || strcmp(arch, "conv-vae") == 0) ? "bce-sum" : "mse";
}

/* Turns --loss (or the architecture's default) into a loss kind. */
static int loss_from_opts(const cli_opts *o, lt_loss *loss)
{
    const char *name = o->loss ? o->loss : default_loss(o->arch);
    static const struct { const char *name; lt_loss loss; } names[] = {
        {"mse", LT_LOSS_MSE}, {"bce", LT_LOSS_BCE}, {"bce-logits", LT_LOSS_BCE_LOGITS}, {"cce", LT_LOSS_CCE},
        {"mse-sum", LT_LOSS_MSE_SUM}, {"bce-sum", LT_LOSS_BCE_SUM}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(names[i].name, name) == 0) {
            *loss = names[i].loss;
            return CLI_OK;
        }
    }
    return cli_usage_error(o, "--loss: unknown loss '%s' (expected mse, bce, bce-logits, cce, mse-sum or bce-sum)", name);
}

/* ------------------------------------------------------------------ results */

/* Evaluates m on ds against targets (NULL: ds) into *loss, the ranks of an MPI run
 * each taking their share. */
static int test_loss(const cli_opts *o, lt_ctx *ctx, lt_model *m, const lt_dataset *ds, const lt_dataset *targets,
                     float *loss)
{
    lt_status st = lt_evaluate_comm(m, ds, targets, o->mpi ? o->mpi->comm : NULL, loss);
    if (st == LT_OK) return CLI_OK;
    /* a rank other than 0 says only what happened to itself: rank 0 names the rank */
    if (!cli_is_root(o) && strncmp(lt_ctx_error(ctx), "rank ", 5) == 0) return CLI_RUNTIME;
    return cli_fail_lt(o, ctx, st, "evaluate");
}

/* Prints "test mse: X" (loss_kind MSE) or "test loss: X". */
static void print_test_loss(const lt_model *m, float loss, int loss_kind)
{
    /* "mse" only when that is all it is: penalty layers add their terms */
    int mse = loss_kind == (int)LT_LOSS_MSE && !lt_model_has_penalties(m);
    printf("test %s: %.5f\n", mse ? "mse" : "loss", (double)loss);
}

/* Outcome of write_plot besides CLI_OK and CLI_RUNTIME: nothing to plot. */
#define PLOT_NONE 3

/* Writes path: for images the first n samples above their reconstructions, otherwise
 * the encoder's 2-D codes of all samples colored by value (or label). Returns CLI_OK,
 * CLI_RUNTIME after a message, or PLOT_NONE when the model has no 2-D code. */
static int write_plot(const cli_opts *o, lt_ctx *ctx, lt_model *m, const lt_dataset *ds, const char *path, int n)
{
    size_t count = lt_dataset_count(ds), dim = lt_dataset_dim(ds);
    const float *x = lt_dataset_data(ds);
    lt_status st;
    int h, w, c;
    lt_dataset_image_shape(ds, &h, &w, &c);

    if (h > 0 && w > 0 && c > 0) {
        size_t k = (size_t)n < count ? (size_t)n : count;
        if ((size_t)lt_output_dim(m) != dim)
            return cli_fail(o, "cannot plot reconstructions: the model's output width %d is not the image size %zu",
                        lt_output_dim(m), dim);
        float *recon = cli_picture_buffer(ds, k, &x); /* its samples: patches with detail */
        if (!recon) return cli_fail(o, "out of memory");
        st = lt_predict(m, x, k, recon);
        if (st == LT_OK) st = lt_plot_image_rows(ctx, path, x, recon, (int)k, h, w, c, IMAGE_SCALE);
        free(recon);
        return st == LT_OK ? CLI_OK : cli_fail_lt(o, ctx, st, "cannot write the picture");
    }

    lt_model *enc = cli_encoder(m);
    if (!enc || lt_output_dim(enc) != 2) return PLOT_NONE;
    float *codes = malloc(count * 2 * sizeof *codes);
    float *shade = malloc(count * sizeof *shade);
    if (!codes || !shade) {
        free(codes);
        free(shade);
        return cli_fail(o, "out of memory");
    }
    /* Color by the swiss roll's position, else by label, else by sample order. */
    const float *values = lt_dataset_values(ds);
    const int32_t *labels = lt_dataset_labels(ds);
    for (size_t i = 0; i < count; i++)
        shade[i] = values ? values[i] : labels ? (float)labels[i] : (float)i;
    st = lt_predict(enc, x, count, codes);
    if (st == LT_OK)
        st = lt_plot_scatter_labeled(ctx, path, codes, shade, count, SCATTER_PX,
                                     values ? "position along the roll" : labels ? "label" : "sample number");
    free(codes);
    free(shade);
    return st == LT_OK ? CLI_OK : cli_fail_lt(o, ctx, st, "cannot write the picture");
}

/* ------------------------------------------------------------------ devices and train */

/* latent devices: backends and OpenCL devices. */
int cli_cmd_devices(const cli_opts *o)
{
    (void)o;
    lt_print_devices(stdout);
    return CLI_OK;
}

/* Parses --augment: "lecture" or a comma list of key=value and flags (see --help). */
static int augment_from_opts(const cli_opts *o, lt_augment *a)
{
    memset(a, 0, sizeof *a);
    if (!o->augment) return CLI_OK;
    if (strcmp(o->augment, "lecture") == 0) { /* the lecture's ImageDataGenerator */
        *a = (lt_augment){360.0f, 0.1f, 0.1f, 0.1f, 0.1f, 1, 1};
        return CLI_OK;
    }
    char buf[256];
    if (strlen(o->augment) >= sizeof buf) return cli_usage_error(o, "--augment: spec too long");
    strcpy(buf, o->augment);
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(t, '=');
        if (!eq) {
            if (strcmp(t, "hflip") == 0) a->horizontal_flip = 1;
            else if (strcmp(t, "vflip") == 0) a->vertical_flip = 1;
            else if (strcmp(t, "flip") == 0) a->horizontal_flip = a->vertical_flip = 1;
            else return cli_usage_error(o, "--augment: unknown item '%s' (expected rotation=, zoom=, shear=, "
                                           "width-shift=, height-shift=, shift=, hflip, vflip, flip or 'lecture')", t);
            continue;
        }
        *eq = '\0';
        char *end = NULL;
        float v = strtof(eq + 1, &end);
        if (end == eq + 1 || *end || !(v >= 0.0f) || v > 1e6f)
            return cli_usage_error(o, "--augment: %s='%s' is not a number >= 0", t, eq + 1);
        if (strcmp(t, "rotation") == 0) a->rotation_range = v;
        else if (strcmp(t, "zoom") == 0) a->zoom_range = v;
        else if (strcmp(t, "shear") == 0) a->shear_range = v;
        else if (strcmp(t, "width-shift") == 0) a->width_shift_range = v;
        else if (strcmp(t, "height-shift") == 0) a->height_shift_range = v;
        else if (strcmp(t, "shift") == 0) a->width_shift_range = a->height_shift_range = v;
        else return cli_usage_error(o, "--augment: unknown item '%s'", t);
    }
    return CLI_OK;
}


/* The --downscale factor, or 2 for an sr2x architecture when it is not given, else 0. */
static int downscale_of(const cli_opts *o, const char *arch)
{
    if (cli_given(o, OPT_DOWNSCALE)) return o->downscale;
    return arch && strcmp(arch, "sr2x") == 0 && !cli_given(o, OPT_NOISE) ? 2 : 0;
}

/* The model inputs for clean data: with --noise a noisy copy (seeded), with a downscale
 * factor the shrunk-and-enlarged images; else *input = NULL (the data themselves). */
static int corrupt(const cli_opts *o, lt_ctx *ctx, const lt_dataset *clean, int downscale, uint64_t stream,
                   lt_dataset **input)
{
    lt_status st = LT_OK;
    *input = NULL;
    if (o->noise > 0.0f) {
        st = lt_dataset_slice(ctx, clean, 0, lt_dataset_count(clean), input);
        if (st == LT_OK) st = lt_dataset_add_noise(ctx, *input, o->noise, cli_derive_seed(o->seed, stream));
    } else if (downscale) {
        st = lt_dataset_down_up(ctx, clean, downscale, input);
    }
    if (st == LT_OK) return CLI_OK;
    lt_dataset_free(*input);
    *input = NULL;
    return cli_fail_lt(o, ctx, st, downscale ? "--downscale" : "--noise");
}

/* A classifier (--loss cce) gives one probability per class: an architecture whose
 * outputs are as many as its inputs and more than the data's classes is an
 * autoencoder, which cce would train as a classifier of that many classes. */
static int check_classifier(const cli_opts *o, const lt_model *m, const lt_dataset *train)
{
    const int32_t *labels = lt_dataset_labels(train);
    size_t n = lt_dataset_count(train), out = (size_t)lt_output_dim(m);
    int32_t top = -1;
    for (size_t i = 0; labels && i < n; i++) top = labels[i] > top ? labels[i] : top;
    if (!labels || out != lt_dataset_dim(train) || (int64_t)out <= (int64_t)top + 1) return CLI_OK;
    return cli_usage_error(o, "--loss cce trains a classifier on the labels (%d classes here), but --arch %s gives %zu "
                           "values per sample, one per input value: an autoencoder. Train it with --loss mse or bce, "
                           "or classify with an architecture of one output per class (rnn-clf, or a spec ending in "
                           "dense:%d:softmax)", (int)top + 1, arch_of(o, train), out, (int)top + 1);
}

/* Notes in m of how it was trained, for the commands that read it later: its task
 * (autoencoder, denoiser, super-resolution, classifier), the options that shaped its
 * data and, for a series, the scaling fitted on the training rows. */
static int record_training(const cli_opts *o, lt_ctx *ctx, lt_model *m, int downscale, int classifier,
                           const char *arch, const char *loss)
{
    const char *task = classifier ? "classifier" : downscale ? "super-resolution" : o->noise > 0.0f ? "denoiser"
                                                                                                   : "autoencoder";
    lt_status st = lt_model_set_meta(m, "task", task);
    /* What the run used, made explicit: sr2x's default factor, the data's default
     * architecture and its default loss. */
    cli_opts *with = malloc(sizeof *with);
    if (!with) return cli_fail(o, "out of memory");
    *with = *o;
    if (downscale && !cli_given(o, OPT_DOWNSCALE)) {
        with->downscale = downscale;
        with->given |= (uint64_t)1 << OPT_DOWNSCALE;
    }
    with->arch = arch;
    with->loss = loss;
    if (st == LT_OK) st = cli_record_options(with, m);
    free(with);
    if (st == LT_OK && o->window) {
        cli_series s;
        int rc = cli_load_series(o, ctx, NULL, &s);
        if (rc == CLI_OK) st = cli_record_series_moments(&s, m);
        cli_series_free(&s);
        if (rc != CLI_OK) return rc;
    }
    return st == LT_OK ? CLI_OK : cli_fail_lt(o, ctx, st, "cannot record the training settings");
}

/* Builds --arch for the training data, which must have the test data's width. */
static int build_for_data(const cli_opts *o, lt_ctx *ctx, const lt_dataset *train, const lt_dataset *test, lt_model **m)
{
    size_t dim = lt_dataset_dim(train);
    if (dim != lt_dataset_dim(test))
        return cli_fail(o, "--data '%s': train samples have width %zu, test samples %zu", o->data, dim,
                        lt_dataset_dim(test));
    if (dim > (size_t)1 << 24) return cli_fail(o, "--data '%s': samples of width %zu are too wide", o->data, dim);
    return build_arch(o, ctx, arch_of(o, train), train, (int)dim, m);
}

/* --class K: keeps only that class in both splits (an anomaly detector's normal data). */
static int keep_class(const cli_opts *o, lt_ctx *ctx, lt_dataset **train, lt_dataset **test)
{
    for (int split = 0; split < 2; split++) {
        lt_dataset **ds = split ? test : train, *kept = NULL;
        lt_status st = lt_dataset_filter_label(ctx, *ds, o->class_id, 1, &kept);
        if (st != LT_OK)
            return o->limit > 0 ? cli_fail(o, "--class: %s among the first %ld samples of the %s split (--limit is "
                                           "applied first)", lt_ctx_error(ctx), o->limit, split ? "test" : "training")
                                : cli_fail_lt(o, ctx, st, "--class");
        lt_dataset_free(*ds);
        *ds = kept;
    }
    return CLI_OK;
}

/* Checks that model m can learn its targets: a classifier (cce) the labels, from clean
 * inputs of all classes; any other model the inputs themselves. */
static int check_targets(const cli_opts *o, const lt_model *m, const lt_dataset *train, int classifier, int downscale)
{
    if (classifier && (o->noise > 0.0f || o->augment || downscale))
        return cli_usage_error(o, "a classifier (--loss cce) trains on clean inputs: drop --noise, --augment and --downscale");
    if (classifier && cli_given(o, OPT_CLASS))
        return cli_usage_error(o, "--class %d keeps one class (an anomaly detector's normal data), but a classifier "
                               "(--loss cce) learns to tell the classes apart: drop --class", o->class_id);
    if (classifier) return check_classifier(o, m, train);
    int out = lt_output_dim(m);
    size_t in = lt_dataset_dim(train);
    if ((size_t)out == in) return CLI_OK;
    /* targets are the (clean) inputs: an architecture of fixed output cannot learn them */
    return cli_fail(o, "--arch %s gives %d values per sample, but its targets (the inputs) have %zu%s", arch_of(o, train),
                    out, in, in == 3 * (size_t)out ? ": it makes 1-channel images, so load the data with --channels 1" : "");
}

/* ------------------------------------------------------------------ checkpoints */

/* The signal that asked training to stop (0: none yet). The program's one piece of
 * global state: a signal handler has nowhere else to leave it. */
static volatile sig_atomic_t stop_signal;

/* SIGINT and SIGTERM: the first asks training to stop after its step and save; a
 * second ends the program at once, writing nothing. */
static void on_stop_signal(int sig)
{
    if (stop_signal) {
        static const char msg[] = "\nlatent train: stopped at once; nothing more was written\n";
        ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
        (void)w;
        _exit(128 + sig);
    }
    stop_signal = sig;
}

/* Monotonic wall clock in seconds. */
static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* What train's checkpoints need: its options (--out, how often) and where it stands. */
typedef struct checkpointer {
    const cli_opts *o;
    double last;        /* when the last checkpoint was written, or training began */
    lt_fit_point where; /* where training was when the last checkpoint was asked for */
} checkpointer;

/* lt_fit's poll: a checkpoint (and a stop) after a stop signal, every --checkpoint-every
 * epochs but the last (the model is saved then anyway) and every --checkpoint-minutes. */
static int poll_checkpoint(void *user, const lt_fit_point *w)
{
    checkpointer *c = user;
    const cli_opts *o = c->o;
    int ask = 0;
    if (stop_signal) ask = LT_FIT_STOP | LT_FIT_CHECKPOINT;
    else if (o->checkpoint_every && w->step == w->steps && w->epoch % o->checkpoint_every == 0 && w->epoch < w->epochs)
        ask = LT_FIT_CHECKPOINT;
    else if (o->checkpoint_minutes > 0 && mono_now() - c->last >= 60.0 * o->checkpoint_minutes)
        ask = LT_FIT_CHECKPOINT;
    if (ask) c->where = *w;
    return ask;
}

/* lt_fit's checkpoint: saves the model, with its run's progress, to --out (atomically). */
static lt_status save_checkpoint(lt_model *m, void *user)
{
    checkpointer *c = user;
    c->last = mono_now();
    if (!cli_is_root(c->o)) return LT_OK; /* every rank holds the same model: rank 0 writes it */
    lt_status st = lt_save(m, c->o->out, 1);
    if (st == LT_OK && !stop_signal) {
        if (c->where.step == c->where.steps)
            cli_note(c->o, "checkpoint: %s after epoch %d of %d", c->o->out, c->where.epoch, c->where.epochs);
        else
            cli_note(c->o, "checkpoint: %s at epoch %d of %d, step %zu of %zu", c->o->out, c->where.epoch,
                     c->where.epochs, c->where.step, c->where.steps);
    }
    return st;
}

/* Prints path for a shell command line: as it is when it is plain, else single-quoted. */
static void print_shell_word(FILE *f, const char *path)
{
    if (path[strspn(path, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._/+-=:,")] == 0) {
        fputs(path, f);
        return;
    }
    fputc('\'', f);
    for (const char *p = path; *p; p++) {
        if (*p == '\'') fputs("'\\''", f);
        else fputc(*p, f);
    }
    fputc('\'', f);
}

/* Fits m on inputs x against targets y (NULL: x itself) with train's options, going on
 * with the model's run for --resume, with checkpoints, and stopping cleanly on SIGINT or
 * SIGTERM: then the checkpoint is saved, how to resume said, and the status is 128 +
 * the signal's number. */
static int fit_model(const cli_opts *o, lt_ctx *ctx, lt_model *m, const lt_augment *aug, const lt_dataset *x,
                     const lt_dataset *y, lt_history *hist)
{
    lt_fit_opts fo = cli_fit_opts(o);
    fo.validation_split = o->validation_split;
    fo.patience = o->patience;
    fo.restore_best = o->patience > 0;
    fo.noise = o->noise;
    fo.augment = o->augment ? aug : NULL;
    fo.kl_warmup = o->kl_warmup;
    fo.resume = o->resume != NULL;
    checkpointer cp = {o, mono_now(), {0, 0, 0, 0, 0}};
    fo.poll = poll_checkpoint;
    fo.checkpoint = save_checkpoint;
    fo.user = &cp;
    fo.comm = o->mpi ? o->mpi->comm : NULL;
    struct sigaction act, old_int, old_term;
    memset(&act, 0, sizeof act);
    act.sa_handler = on_stop_signal;
    sigemptyset(&act.sa_mask);
    stop_signal = 0;
    sigaction(SIGINT, &act, &old_int);
    sigaction(SIGTERM, &act, &old_term);
    lt_status st = lt_fit(m, x, y, &fo, hist);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (o->mpi) o->mpi->agreed = 1; /* lt_fit returns on every rank together, failed or not */
    /* a rank other than 0 says only what happened to itself: rank 0 names the rank */
    if (st != LT_OK && !cli_is_root(o) && strncmp(lt_ctx_error(ctx), "rank ", 5) == 0) return CLI_RUNTIME;
    if (st != LT_OK) return cli_fail_lt(o, ctx, st, "training failed");
    if (!hist->stopped) return CLI_OK;
    if (!cli_is_root(o)) return 128 + (stop_signal ? stop_signal : SIGINT);
    int sig = stop_signal;
    fprintf(stderr, "latent train: stopped by %s at epoch %d of %d, step %zu of %zu; saved %s.\nResume with: latent "
            "train --resume ", sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "a signal", cp.where.epoch,
            cp.where.epochs, cp.where.step, cp.where.steps, o->out);
    print_shell_word(stderr, o->out);
    fputc('\n', stderr);
    return 128 + (sig ? sig : SIGINT);
}

/* --resume and --init-from: loads the model file into *m. A resumed run must have
 * epochs left (*finished says when it has none: nothing to do); a model trained on
 * from its weights forgets the notes of its earlier training. */
static int load_start_model(const cli_opts *o, lt_ctx *ctx, lt_model **m, int *finished)
{
    const char *path = o->resume ? o->resume : o->init_from;
    *finished = 0;
    lt_status st = lt_load(ctx, path, m);
    if (st != LT_OK) return cli_fail_lt(o, ctx, st, o->resume ? "--resume" : "--init-from");
    if (o->init_from) {
        for (int i = lt_model_meta_count(*m) - 1; i >= 0 && st == LT_OK; i--) {
            const char *key = lt_model_meta_key(*m, i);
            if (key && (strncmp(key, "train.", 6) == 0 || strncmp(key, "series.", 7) == 0 || !strcmp(key, "task")))
                st = lt_model_set_meta(*m, key, NULL);
        }
        return st == LT_OK ? CLI_OK : cli_fail_lt(o, ctx, st, "--init-from");
    }
    lt_fit_point p;
    if (lt_model_progress(*m, &p) != LT_OK)
        return cli_fail(o, "--resume: '%s' records no training run to go on with: it was saved without its optimizer "
                        "state (to train on from its weights, use --init-from)", path);
    if (p.early_stopped || p.epoch >= o->epochs) {
        cli_note(o, "'%s' has finished its run (%d epoch%s%s): nothing to train; a larger --epochs trains on", path,
                 p.epoch, p.epoch == 1 ? "" : "s", p.early_stopped ? ", stopped early" : "");
        *finished = 1;
        return CLI_OK;
    }
    if (p.step) cli_note(o, "resuming '%s' at epoch %d of %d, step %zu of %zu", path, p.epoch + 1, o->epochs, p.step + 1, p.steps);
    else cli_note(o, "resuming '%s' at epoch %d of %d", path, p.epoch + 1, o->epochs);
    return CLI_OK;
}

/* Writes train's picture of the (model input) test data ds to png, or says why there is none. */
static int write_train_picture(const cli_opts *o, lt_ctx *ctx, lt_model *m, const lt_dataset *ds, const char *png)
{
    fflush(stdout); /* the result line before any later diagnostics */
    int rc = write_plot(o, ctx, m, ds, png, 10);
    if (rc == PLOT_NONE) {
        cli_note(o, "no picture: the data are not images and the encoder's output is not 2-D");
        return CLI_OK;
    }
    if (rc == CLI_OK) cli_note(o, "wrote %s", png);
    return rc;
}

/* latent train: build, compile, fit, save, report the test loss, plot. */
int cli_cmd_train(const cli_opts *o)
{
    lt_ctx *ctx = NULL;
    lt_dataset *train = NULL, *test = NULL, *train_in = NULL, *test_in = NULL, *train_t = NULL, *test_t = NULL;
    lt_model *m = NULL;
    lt_optimizer opt;
    lt_loss loss;
    lt_history hist;
    lt_augment aug;
    lt_status st;
    cli_data_kind kind;
    char *png = NULL;
    int downscale = downscale_of(o, o->arch);

    int finished = 0, from_file = o->resume || o->init_from;
    int rc = cli_optimizer_from_opts(o, &opt);
    if (rc == CLI_OK) rc = loss_from_opts(o, &loss);
    if (rc == CLI_OK) rc = augment_from_opts(o, &aug);
    if (rc == CLI_OK && o->augment && downscale)
        rc = cli_usage_error(o, "--augment works with autoencoders (targets = inputs), not with --downscale");
    if (rc == CLI_OK && !(png = cli_png_path(o))) rc = cli_fail(o, "out of memory");
    if (rc == CLI_OK) rc = cli_check_output_path(o, "--out", o->out, CLI_OUT_MODEL);
    if (rc == CLI_OK) rc = cli_check_output_path(o, "--png", png, CLI_OUT_PNG);
    if (rc == CLI_OK) rc = cli_check_distinct_outputs(o, "--out", o->out, "--png", png);
    if (rc == CLI_OK) rc = cli_data_kind_of(o, &kind); /* a bad path fails before the device opens */
    if (rc == CLI_OK) rc = cli_open_ctx(o, &ctx);
    if (rc == CLI_OK && o->augment && lt_augment_check(ctx, &aug) != LT_OK) /* the library's ranges */
        rc = cli_usage_error(o, "--augment '%s': %s", o->augment, lt_ctx_error(ctx));
    if (rc == CLI_OK && from_file) rc = load_start_model(o, ctx, &m, &finished);
    if (rc == CLI_OK && finished) goto out;
    if (rc == CLI_OK && !from_file) rc = cli_load_split_for_arch(o, ctx, 1, &train);
    if (rc == CLI_OK && !from_file) rc = cli_load_split_for_arch(o, ctx, 0, &test);
    if (rc == CLI_OK && !from_file) rc = build_for_data(o, ctx, train, test, &m);
    if (rc == CLI_OK && from_file) rc = cli_load_splits(o, ctx, m, &train, &test);
    if (rc == CLI_OK && from_file) rc = cli_check_input(o, m, o->resume ? o->resume : o->init_from, train);
    /* the model's own loss, unless --loss changes it for training on from its weights */
    if (rc == CLI_OK && from_file && (o->resume || !cli_given(o, OPT_LOSS))) loss = lt_model_loss(m);
    if (rc == CLI_OK && cli_given(o, OPT_CLASS)) rc = keep_class(o, ctx, &train, &test);
    /* A classifier (cce) trains on the labels, one-hot, as targets. */
    int classifier = loss == LT_LOSS_CCE;
    if (rc == CLI_OK) rc = check_targets(o, m, train, classifier, downscale);
    if (rc == CLI_OK && classifier) rc = cli_onehot(o, ctx, train, lt_output_dim(m), &train_t);
    if (rc == CLI_OK && classifier) rc = cli_onehot(o, ctx, test, lt_output_dim(m), &test_t);
    /* Super-resolution trains on degraded copies against the originals; denoising adds
     * its noise inside fit (fresh every step) and here only to the test inputs. */
    if (rc == CLI_OK && downscale) rc = corrupt(o, ctx, train, downscale, 4, &train_in);
    if (rc == CLI_OK) rc = corrupt(o, ctx, test, downscale, 3, &test_in);
    /* A resumed run keeps the optimizer and its state from the file. */
    if (rc == CLI_OK && !o->resume && (st = lt_compile(m, loss, &opt)) != LT_OK) rc = cli_fail_lt(o, ctx, st, "compile");
    if (rc == CLI_OK && !o->quiet && !o->resume) (void)lt_summary(m, stderr); /* informational only */
    /* The notes first, so that checkpoints carry them too. */
    if (rc == CLI_OK)
        rc = record_training(o, ctx, m, downscale, classifier, from_file ? o->arch : arch_of(o, train),
                             o->loss ? o->loss : from_file ? NULL : default_loss(o->arch));
    /* On failure the model file is not written: an older one stays as it was. */
    if (rc == CLI_OK)
        rc = fit_model(o, ctx, m, &aug, train_in ? train_in : train, classifier ? train_t : train_in ? train : NULL, &hist);
    /* the test figure first: with several ranks each evaluates its share */
    float figure = 0.0f;
    if (rc == CLI_OK && classifier) rc = test_loss(o, ctx, m, test, test_t, &figure);
    else if (rc == CLI_OK) rc = test_loss(o, ctx, m, test_in ? test_in : test, test_in ? test : NULL, &figure);
    if (rc == CLI_OK && !cli_is_root(o)) goto out; /* rank 0 writes the model and reports */
    if (rc == CLI_OK) {
        if ((st = lt_save(m, o->out, 1)) != LT_OK) rc = cli_fail_lt(o, ctx, st, "save");
        else cli_note(o, "saved %s (%d epoch%s, %.1f s, %.0f samples/s)", o->out, hist.epochs_run,
                      hist.epochs_run == 1 ? "" : "s", hist.seconds, hist.samples_per_s);
    }
    if (rc == CLI_OK) print_test_loss(m, figure, (int)loss);
    if (rc == CLI_OK && classifier) rc = cli_print_accuracy(o, ctx, m, test);
    if (rc == CLI_OK && !classifier && cli_is_windows(test))
        cli_note(o, "no picture for a series here: latent anomaly draws it with its anomalous windows");
    else if (rc == CLI_OK && !classifier)
        rc = write_train_picture(o, ctx, m, test_in ? test_in : test, png);
out:
    free(png);
    lt_dataset_free(train);
    lt_dataset_free(test);
    lt_dataset_free(train_in);
    lt_dataset_free(test_in);
    lt_dataset_free(train_t);
    lt_dataset_free(test_t);
    return cli_close(ctx, m, rc);
}

/* ------------------------------------------------------------------ saved models */

/* The start of eval and reconstruct: checks --data (a bad path fails before the device
 * opens), opens the device, loads the MODEL operand and the test split, and checks
 * that their widths agree. */
static int open_model_and_test(const cli_opts *o, lt_ctx **ctx, lt_model **m, lt_dataset **test)
{
    cli_data_kind kind;
    int rc = cli_data_kind_of(o, &kind);
    if (rc == CLI_OK) rc = cli_open_ctx(o, ctx);
    if (rc == CLI_OK) rc = cli_load_model(o, *ctx, m);
    if (rc == CLI_OK) rc = cli_load_split(o, *ctx, 0, *m, test);
    if (rc == CLI_OK) rc = cli_check_input(o, *m, o->positional[0], *test);
    return rc;
}

/* Prints "code: W units, mean |value| M, P% of values below 0.1 in magnitude": how
 * sparse the encoder's codes of ds are (an overcomplete model that copies its input
 * uses its units densely). */
static int print_code_stats(const cli_opts *o, lt_ctx *ctx, lt_model *enc, const lt_dataset *ds)
{
    size_t n = lt_dataset_count(ds), d = (size_t)lt_output_dim(enc);
    float *z = malloc(n * d * sizeof *z);
    if (!z) return cli_fail(o, "out of memory");
    lt_status st = lt_predict(enc, lt_dataset_data(ds), n, z);
    if (st != LT_OK) {
        free(z);
        return cli_fail_lt(o, ctx, st, "cannot encode");
    }
    double sum = 0;
    size_t small = 0;
    for (size_t i = 0; i < n * d; i++) {
        sum += fabs((double)z[i]);
        small += fabs((double)z[i]) < 0.1;
    }
    printf("code: %zu units, mean |value| %.4f, %.1f%% of values below 0.1 in magnitude\n", d, sum / (double)(n * d),
           100.0 * (double)small / (double)(n * d));
    free(z);
    return CLI_OK;
}

/* latent eval MODEL: the test loss of a saved model. */
int cli_cmd_eval(const cli_opts *o)
{
    lt_ctx *ctx = NULL;
    lt_model *m = NULL;
    lt_dataset *test = NULL, *input = NULL;
    if (o->npositional < 1) return cli_usage_error(o, "missing the MODEL file");
    int rc = open_model_and_test(o, &ctx, &m, &test);
    if (rc == CLI_OK) rc = corrupt(o, ctx, test, cli_given(o, OPT_DOWNSCALE) ? o->downscale : 0, 3, &input);
    if (rc == CLI_OK && lt_model_loss(m) == LT_LOSS_CCE) { /* a classifier: accuracy on the labels */
        rc = cli_print_accuracy(o, ctx, m, test);
    } else {
        float figure = 0.0f;
        if (rc == CLI_OK) rc = test_loss(o, ctx, m, input ? input : test, input ? test : NULL, &figure);
        if (rc == CLI_OK) print_test_loss(m, figure, (int)lt_model_loss(m));
        if (rc == CLI_OK && cli_encoder(m)) rc = print_code_stats(o, ctx, cli_encoder(m), input ? input : test);
    }
    lt_dataset_free(test);
    lt_dataset_free(input);
    return cli_close(ctx, m, rc);
}

/* Prints what a model file records of its training: "Task: denoiser" and "Trained
 * with: --data ... --noise 0.3" (the options later commands take from it). */
static void print_training_notes(const lt_model *m)
{
    const char *task = lt_model_meta(m, "task");
    if (task) printf("\nTask: %s\n", task);
    char line[2048];
    if (cli_recorded_options(m, line, sizeof line)) printf("%sTrained with:%s\n", task ? "" : "\n", line);
    if (lt_model_meta(m, "series.mean")) printf("Series scaling: the training rows' mean and standard deviation, kept\n");
}

/* latent summary [MODEL]: layers of a model file, or of --arch built for a width. */
int cli_cmd_summary(const cli_opts *o)
{
    lt_ctx *ctx = NULL;
    lt_model *m = NULL;
    lt_dataset *ds = NULL;
    lt_status st;
    if (o->npositional > 0 && (o->arch || cli_given(o, OPT_INPUT) || o->data))
        return cli_usage_error(o, "give a MODEL file or --arch/--input/--data, not both");
    if (cli_given(o, OPT_INPUT) && o->data)
        return cli_usage_error(o, "--input and --data both set the input width; give one");
    int rc = cli_open_ctx(o, &ctx);
    if (rc == CLI_OK && o->npositional > 0) {
        rc = cli_load_model(o, ctx, &m);
    } else if (rc == CLI_OK) {
        if (o->data) rc = cli_load_split_for_arch(o, ctx, 0, &ds);
        const char *arch = o->arch ? o->arch : ds ? default_arch(ds) : "mlp-ae";
        int input = cli_given(o, OPT_INPUT) ? o->input : ds ? (int)lt_dataset_dim(ds) : default_input(arch);
        if (rc == CLI_OK) rc = build_arch(o, ctx, arch, cli_given(o, OPT_INPUT) ? NULL : ds, input, &m);
    }
    if (rc == CLI_OK && (st = lt_summary(m, stdout)) != LT_OK) rc = cli_fail_lt(o, ctx, st, "summary");
    /* Then each nested model's own layers, as the lecture prints enc.summary() and dec.summary(). */
    for (int i = 0; rc == CLI_OK && i < lt_submodel_count(m); i++) {
        printf("\n");
        if ((st = lt_summary(lt_submodel(m, i), stdout)) != LT_OK) rc = cli_fail_lt(o, ctx, st, "summary");
    }
    if (rc == CLI_OK) print_training_notes(m);
    lt_dataset_free(ds);
    return cli_close(ctx, m, rc);
}

/* latent reconstruct MODEL: the picture train writes, for a saved model. */
int cli_cmd_reconstruct(const cli_opts *o)
{
    lt_ctx *ctx = NULL;
    lt_model *m = NULL;
    lt_dataset *test = NULL;
    if (o->npositional < 1) return cli_usage_error(o, "missing the MODEL file");
    int rc = cli_check_output_path(o, "--out", o->out, CLI_OUT_PNG);
    if (rc == CLI_OK) rc = open_model_and_test(o, &ctx, &m, &test);
    if (rc == CLI_OK) {
        rc = write_plot(o, ctx, m, test, o->out, o->n);
        if (rc == PLOT_NONE && cli_is_windows(test))
            rc = cli_fail(o, "nothing to plot here for a series: latent anomaly draws it with its anomalous windows");
        else if (rc == PLOT_NONE)
            rc = cli_fail(o, "nothing to plot: the data are not images and the model has no encoder with a 2-D output");
        else if (rc == CLI_OK)
            cli_note(o, "wrote %s", o->out);
    }
    lt_dataset_free(test);
    return cli_close(ctx, m, rc);
}

/* latent bench: training (or, with --predict, prediction) throughput of an
 * architecture on synthetic data. */
int cli_cmd_bench(const cli_opts *o)
{
    lt_ctx *ctx = NULL;
    lt_model *m = NULL;
    lt_optimizer opt;
    lt_loss loss;
    lt_status st;
    const char *arch = o->arch ? o->arch : "mlp-ae";
    int rc = cli_optimizer_from_opts(o, &opt);
    if (rc == CLI_OK) rc = loss_from_opts(o, &loss);
    if (rc == CLI_OK) rc = cli_open_ctx(o, &ctx);
    if (rc == CLI_OK) rc = build_arch(o, ctx, arch, NULL, cli_given(o, OPT_INPUT) ? o->input : default_input(arch), &m);
    if (rc == CLI_OK && (st = lt_compile(m, loss, &opt)) != LT_OK) rc = cli_fail_lt(o, ctx, st, "compile");
    lt_bench_stats stats = {0};
    int ranks = o->mpi ? o->mpi->size : 1;
    if (rc == CLI_OK && o->predict && ranks > 1)
        rc = cli_usage_error(o, "--predict times one process's predictions: run it without mpirun");
    if (rc == CLI_OK) {
        st = o->predict ? lt_bench_predict(m, o->batch, o->seconds, &stats.samples_per_s)
                        : lt_bench_train_comm(m, o->batch, o->seconds, o->mpi ? o->mpi->comm : NULL, &stats);
        if (o->mpi) o->mpi->agreed = 1; /* the benchmark ends on every rank together */
        if (st != LT_OK && !(ranks > 1 && !cli_is_root(o) && strncmp(lt_ctx_error(ctx), "rank ", 5) == 0))
            rc = cli_fail_lt(o, ctx, st, "bench");
        else if (st != LT_OK)
            rc = CLI_RUNTIME;
    }
    if (rc == CLI_OK && ranks > 1 && cli_is_root(o))
        printf("bench %s batch %d on %d ranks (%s): %.0f samples/s, %.3f ms a step, %.1f%% of it summing gradients "
               "(%.0f bytes a rank a step)\n", arch, o->batch, ranks, lt_ctx_backend(ctx), stats.samples_per_s,
               stats.step_ms, 100.0 * stats.comm_share, stats.bytes_per_step);
    else if (rc == CLI_OK && cli_is_root(o))
        printf("bench %s%s batch %d on %s (%s): %.0f samples/s\n", o->predict ? "predict " : "", arch, o->batch,
               lt_ctx_backend(ctx), lt_ctx_device(ctx), stats.samples_per_s);
    return cli_close(ctx, m, rc);
}
