/* latent: the command-line program. Subcommands devices, train, eval, summary,
 * reconstruct and bench (the image commands are in cli_image.c), written against the
 * public API (latent.h) only.
 * Results go to stdout; progress and diagnostics to stderr. Exit status 0 on
 * success, 1 on a runtime error (with the library's message), 2 on a usage error. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* access, stat */
#endif

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "latent.h"

/* Side of the square scatter plot, in pixels. */
#define SCATTER_PX 512
/* Enlargement of each image pixel in reconstruction grids. */
#define IMAGE_SCALE 2
/* Generated swiss-roll points per split. */
#define SWISS_TRAIN 2000
#define SWISS_TEST 1000

/* ------------------------------------------------------------------ messages */

int cli_fail(const cli_opts *o, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "latent %s: ", o->cmd_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_RUNTIME;
}

int cli_fail_lt(const cli_opts *o, const lt_ctx *ctx, int status, const char *what)
{
    const char *msg = ctx ? lt_ctx_error(ctx) : "";
    return cli_fail(o, "%s: %s", what, msg && *msg ? msg : lt_status_name((lt_status)status));
}

void cli_note(const cli_opts *o, const char *fmt, ...)
{
    va_list ap;
    if (o->quiet) return;
    fputs("latent: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* ------------------------------------------------------------------ context */

int cli_open_ctx(const cli_opts *o, lt_ctx **ctx)
{
    char err[512] = "";
    lt_status st = lt_ctx_open(ctx, o->device, err, sizeof err);
    if (st != LT_OK) return cli_fail(o, "device '%s': %s", o->device, *err ? err : lt_status_name(st));
    if (cli_given(o, OPT_THREADS)) lt_ctx_set_threads(*ctx, o->threads);
    if (strcmp(o->device, "auto") == 0) {
        if (strcmp(lt_ctx_backend(*ctx), "cpu") == 0)
            cli_note(o, "no OpenCL GPU found, using cpu: %s", lt_ctx_device(*ctx));
        else
            cli_note(o, "using %s: %s", lt_ctx_backend(*ctx), lt_ctx_device(*ctx));
    }
    return CLI_OK;
}

/* ------------------------------------------------------------------ data */

/* Where --data points. */
typedef enum data_kind { DATA_FASHION, DATA_SWISS, DATA_IDX_DIR, DATA_CSV, DATA_IMAGES } data_kind;

/* Whether folder dir/sub exists. */
static int has_folder(const char *dir, const char *sub)
{
    char path[4096];
    struct stat sb;
    if (snprintf(path, sizeof path, "%s/%s", dir, sub) >= (int)sizeof path) return 0;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* Whether folder dir holds Fashion-MNIST style IDX files. */
static int has_idx_files(const char *dir)
{
    static const char *const names[] = {"train-images-idx3-ubyte", "train-images-idx3-ubyte.gz",
                                        "t10k-images-idx3-ubyte", "t10k-images-idx3-ubyte.gz"};
    char path[4096];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (snprintf(path, sizeof path, "%s/%s", dir, names[i]) < (int)sizeof path && access(path, F_OK) == 0) return 1;
    return 0;
}

/* Classifies --data: a built-in name, else an existing folder (IDX) or file (CSV). */
static int data_kind_of(const cli_opts *o, data_kind *kind)
{
    struct stat sb;
    if (strcmp(o->data, "fashion-mnist") == 0) {
        *kind = DATA_FASHION;
    } else if (strcmp(o->data, "swiss-roll") == 0) {
        *kind = DATA_SWISS;
    } else if (stat(o->data, &sb) != 0) {
        return cli_fail(o, "--data '%s': %s (expected fashion-mnist, swiss-roll, a folder of IDX files "
                       "or a CSV file)", o->data, strerror(errno));
    } else {
        *kind = !S_ISDIR(sb.st_mode) ? DATA_CSV : has_idx_files(o->data) ? DATA_IDX_DIR : DATA_IMAGES;
    }
    return CLI_OK;
}

/* SplitMix64 step: decorrelates the seeds of the swiss roll's train and test splits. */
static uint64_t derive_seed(uint64_t seed, uint64_t stream)
{
    uint64_t z = seed + stream * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Loads the CSV file --data with --columns and --interpolate; the message for an empty
 * cell names the option that fills gaps. */
static int load_csv(const cli_opts *o, lt_ctx *ctx, lt_dataset **out)
{
    lt_csv_opts co = {o->columns, o->interpolate};
    lt_status st = lt_dataset_load_csv_opts(ctx, o->data, &co, out);
    if (st == LT_ERR_FORMAT && !o->interpolate && strstr(lt_ctx_error(ctx), ": empty cell"))
        return cli_fail(o, "--data: %s; --interpolate fills gaps inside a column", lt_ctx_error(ctx));
    if (st == LT_ERR_ARG && o->columns) /* a malformed list or a name the header lacks */
        return cli_usage_error(o, "--columns: %s", lt_ctx_error(ctx));
    return st == LT_OK ? CLI_OK : cli_fail_lt(o, ctx, st, "--data");
}

/* Parses the n comma-separated numbers of note key of m into v; 0 when there are not
 * exactly n finite numbers. */
static int get_doubles(const lt_model *m, const char *key, size_t n, double *v)
{
    const char *p = lt_model_meta(m, key);
    for (size_t j = 0; p && j < n; j++) {
        char *end;
        v[j] = strtod(p, &end);
        if (end == p || !isfinite(v[j]) || *end != (j + 1 < n ? ',' : '\0')) return 0;
        p = end + (j + 1 < n);
    }
    return p != NULL;
}

/* The series scaling recorded in model m, for a series of dim columns. */
static int read_moments(const cli_opts *o, const lt_model *m, size_t dim, double *mean, double *sd)
{
    const char *model = o->positional[0];
    if (!get_doubles(m, "series.mean", dim, mean) || !get_doubles(m, "series.sd", dim, sd)) {
        const char *rec = lt_model_meta(m, "series.mean");
        size_t cols = 1;
        for (const char *p = rec; p && *p; p++) cols += *p == ',';
        return cli_fail(o, "model '%s' was trained on a series of %zu column%s, but --data '%s' gives %zu "
                        "(--columns picks them)", model, cols, cols == 1 ? "" : "s", o->data, dim);
    }
    for (size_t j = 0; j < dim; j++)
        if (!(sd[j] > 0.0)) return cli_fail(o, "model '%s': its recorded series scaling is not valid", model);
    return CLI_OK;
}

int cli_load_series(const cli_opts *o, lt_ctx *ctx, const lt_model *m, cli_series *s)
{
    memset(s, 0, sizeof *s);
    lt_dataset *fit = NULL;
    lt_status st;
    int rc = load_csv(o, ctx, &s->raw);
    if (rc != CLI_OK) return rc;
    size_t n = lt_dataset_count(s->raw), cols = lt_dataset_dim(s->raw), window = (size_t)o->window;
    if (o->wide && cols > 1) { /* row after row: the table's values in reading order are the series */
        lt_dataset *across = NULL;
        st = lt_dataset_from_array(ctx, n * cols, 1, lt_dataset_data(s->raw), NULL, &across);
        lt_dataset_free(s->raw);
        s->raw = across;
        if (st != LT_OK) return cli_fail_lt(o, ctx, st, "--wide");
        n *= cols;
    }
    size_t test_rows = (size_t)llround((double)o->test_split * (double)n);
    s->train_rows = n - test_rows;
    double test_pct = 100.0 * (double)o->test_split;
    if (window > n)
        rc = cli_fail(o, "--window %zu is longer than the series: '%s' has %zu %s", window, o->data, n,
                      o->wide ? "values read across its rows" : "rows");
    else if (s->train_rows < window)
        rc = cli_fail(o, "--window %zu: the training part has only %zu rows (the first %.4g%% of %zu); lower --window "
                      "or --test-split", window, s->train_rows, 100.0 - test_pct, n);
    else if (test_rows < window)
        rc = cli_fail(o, "--window %zu: the test part has only %zu rows (the last %.4g%% of %zu); lower --window or "
                      "raise --test-split", window, test_rows, test_pct, n);
    if (rc != CLI_OK) return rc;
    /* standardized with the training rows' statistics only: nothing of the test rows
     * leaks in; a model scales new data as its own training data were */
    size_t dim = lt_dataset_dim(s->raw);
    s->mean = calloc(dim, sizeof *s->mean);
    s->sd = calloc(dim, sizeof *s->sd);
    if (!s->mean || !s->sd) return cli_fail(o, "out of memory");
    if (m && lt_model_meta(m, "series.mean")) {
        rc = read_moments(o, m, dim, s->mean, s->sd);
        if (rc != CLI_OK) return rc;
        st = LT_OK;
    } else {
        st = lt_dataset_slice(ctx, s->raw, 0, s->train_rows, &fit);
        if (st == LT_OK) st = lt_dataset_moments(ctx, fit, s->mean, s->sd);
        lt_dataset_free(fit);
    }
    if (st == LT_OK) st = lt_dataset_slice(ctx, s->raw, 0, n, &s->scaled);
    if (st == LT_OK) st = lt_dataset_scale(ctx, s->scaled, s->mean, s->sd);
    return st == LT_OK ? CLI_OK : cli_fail_lt(o, ctx, st, "--window");
}

/* Writes "v1,v2,..." of n doubles (%.17g, so they read back exactly) as note key of m. */
static lt_status put_doubles(lt_model *m, const char *key, const double *v, size_t n)
{
    size_t cap = n * 26 + 1, used = 0;
    char *text = malloc(cap);
    if (!text) return LT_ERR_NOMEM;
    text[0] = 0;
    for (size_t j = 0; j < n; j++) used += (size_t)snprintf(text + used, cap - used, j ? ",%.17g" : "%.17g", v[j]);
    lt_status st = lt_model_set_meta(m, key, text);
    free(text);
    return st;
}

lt_status cli_record_series_moments(const cli_series *s, lt_model *m)
{
    size_t dim = lt_dataset_dim(s->raw);
    lt_status st = put_doubles(m, "series.mean", s->mean, dim);
    return st == LT_OK ? put_doubles(m, "series.sd", s->sd, dim) : st;
}

void cli_series_free(cli_series *s)
{
    lt_dataset_free(s->raw);
    lt_dataset_free(s->scaled);
    free(s->mean);
    free(s->sd);
    memset(s, 0, sizeof *s);
}

int cli_series_windows(const cli_opts *o, lt_ctx *ctx, const cli_series *s, size_t first, size_t count,
                       lt_dataset **out)
{
    lt_dataset *part = NULL;
    lt_status st = lt_dataset_slice(ctx, s->scaled, first, count, &part);
    if (st == LT_OK) st = lt_dataset_windows(ctx, part, (size_t)o->window, o->stride ? (size_t)o->stride : 1, out);
    if (st == LT_OK && o->center_windows) st = lt_dataset_center_windows(ctx, *out);
    lt_dataset_free(part);
    if (st == LT_OK) return CLI_OK;
    lt_dataset_free(*out);
    *out = NULL;
    return cli_fail_lt(o, ctx, st, "--window");
}

/* The training (train != 0) or test windows of the --window series of --data. */
static int series_split(const cli_opts *o, lt_ctx *ctx, const lt_model *m, int train, lt_dataset **out)
{
    cli_series s;
    int rc = cli_load_series(o, ctx, m, &s);
    size_t n = s.scaled ? lt_dataset_count(s.scaled) : 0;
    if (rc == CLI_OK) rc = cli_series_windows(o, ctx, &s, train ? 0 : s.train_rows, train ? s.train_rows : n - s.train_rows, out);
    if (rc == CLI_OK && train)
        cli_note(o, "series of %zu rows x %zu: training windows from rows 0-%zu, test windows from rows %zu-%zu "
                 "(window %d, stride %d%s)", n, lt_dataset_dim(s.scaled), s.train_rows - 1, s.train_rows, n - 1,
                 o->window, o->stride ? o->stride : 1, o->center_windows ? ", centred" : "");
    cli_series_free(&s);
    return rc;
}

/* Loads the train (train != 0) or test split of --data, cut to --limit samples; an
 * image folder is cut into --patch patches (default `patch`) of --channels channels
 * (default `channels`); a series is scaled as model m's was (m may be NULL). */
static int load_split(const cli_opts *o, lt_ctx *ctx, const lt_model *m, int train, int patch, int channels,
                      lt_dataset **out)
{
    data_kind kind;
    lt_dataset *ds = NULL;
    lt_status st = LT_OK;
    int rc = data_kind_of(o, &kind);
    if (rc != CLI_OK) return rc;
    if (kind != DATA_IMAGES && o->channels) return cli_usage_error(o, "--channels applies to folders of images only");
    if (kind != DATA_IMAGES && o->patch) return cli_usage_error(o, "--patch applies to folders of images only");
    if (kind != DATA_IMAGES && o->stride && !o->window)
        return cli_usage_error(o, "--stride applies to folders of images and to CSV series read with --window");
    if (kind != DATA_CSV && (o->window || o->columns || o->interpolate))
        return cli_usage_error(o, "--window, --columns and --interpolate apply to CSV files");
    switch (kind) {
    case DATA_FASHION: st = lt_dataset_fashion_mnist(ctx, NULL, train, &ds); break;
    case DATA_IDX_DIR: st = lt_dataset_fashion_mnist(ctx, o->data, train, &ds); break;
    case DATA_CSV:
        /* a table serves both splits; a series gives each its own rows */
        rc = o->window ? series_split(o, ctx, m, train, &ds) : load_csv(o, ctx, &ds);
        if (rc != CLI_OK) return rc;
        if (!o->window && !train && o->cmd == CMD_TRAIN)
            cli_note(o, "'%s' is a table with no test part: the test figures below are on its training rows", o->data);
        break;
    case DATA_IMAGES: {
        const char *sub = train ? "train" : "test";
        char path[4096];
        int split = has_folder(o->data, "train") && has_folder(o->data, "test");
        if (snprintf(path, sizeof path, "%s/%s", o->data, split ? sub : ".") >= (int)sizeof path)
            return cli_fail(o, "--data '%s': path too long", o->data);
        int side = o->patch ? o->patch : patch;
        st = lt_dataset_image_patches(ctx, path, side, side, o->stride ? o->stride : (side / 2 > 0 ? side / 2 : 1),
                                      o->channels ? o->channels : channels, o->limit > 0 ? (size_t)o->limit : 0, &ds);
        break;
    }
    case DATA_SWISS: {
        /* Standardized per coordinate with the training split's statistics: the raw roll
         * spans about -10..15, far outside what an ELU output reaches cheaply. */
        lt_dataset *fit = NULL;
        st = lt_dataset_swiss_roll(ctx, train ? SWISS_TRAIN : SWISS_TEST, 0.0f,
                                   derive_seed(o->seed, train ? 1 : 2), &ds);
        if (st == LT_OK && !train) st = lt_dataset_swiss_roll(ctx, SWISS_TRAIN, 0.0f, derive_seed(o->seed, 1), &fit);
        if (st == LT_OK) st = lt_dataset_standardize(ctx, ds, fit);
        lt_dataset_free(fit);
        break;
    }
    }

    if (st != LT_OK) return cli_fail_lt(o, ctx, st, "--data");
    if (lt_dataset_count(ds) == 0) {
        lt_dataset_free(ds);
        return cli_fail(o, "--data '%s': no samples", o->data);
    }
    if (o->limit > 0 && (size_t)o->limit < lt_dataset_count(ds)) {
        lt_dataset *cut = NULL;
        st = lt_dataset_slice(ctx, ds, 0, (size_t)o->limit, &cut);
        lt_dataset_free(ds);
        if (st != LT_OK) return cli_fail_lt(o, ctx, st, "--limit");
        ds = cut;
    }
    *out = ds;
    return CLI_OK;
}

int cli_load_split(const cli_opts *o, lt_ctx *ctx, int train, const lt_model *m, lt_dataset **out)
{
    int dims[3] = {0, 0, 0};
    int image = m && lt_input_shape(m, dims) == 3;
    return load_split(o, ctx, m, train, image ? dims[0] : 32, image ? dims[2] : 3, out);
}

/* Whether the dataset holds images. */
static int is_image(const lt_dataset *ds)
{
    int h, w, c;
    lt_dataset_image_shape(ds, &h, &w, &c);
    return h > 0 && w > 0 && c > 0;
}

/* Whether the samples are windows of a series. */
static int is_windows(const lt_dataset *ds)
{
    int steps;
    lt_dataset_seq_shape(ds, &steps, NULL);
    return steps > 0;
}

/* The architecture when --arch is not given: mlp-ae for images, seq-ae for windows of
 * a series, else swissroll-ae. */
static const char *default_arch(const lt_dataset *ds)
{
    return ds && is_image(ds) ? "mlp-ae" : ds && is_windows(ds) ? "seq-ae" : "swissroll-ae";
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

int cli_check_input(const cli_opts *o, const lt_model *m, const char *model_path, const lt_dataset *ds)
{
    int dims[3] = {0, 0, 0}, rank = lt_input_shape(m, dims), in = lt_input_dim(m), steps, features;
    size_t dim = lt_dataset_dim(ds);
    lt_dataset_seq_shape(ds, &steps, &features);
    if (rank == 2 && steps > 0 && (dims[0] != steps || dims[1] != features))
        return cli_fail(o, "model '%s' takes sequences of %d steps x %d feature%s, but --data '%s' gives windows of %d "
                        "steps x %d feature%s (--window sets the steps, --columns the features)", model_path, dims[0],
                        dims[1], dims[1] == 1 ? "" : "s", o->data, steps, features, features == 1 ? "" : "s");
    if (rank == 2 && steps == 0 && !is_image(ds) && (size_t)in != dim)
        return cli_fail(o, "model '%s' takes sequences of %d steps x %d feature%s, but --data '%s' has flat samples of "
                        "width %zu%s", model_path, dims[0], dims[1], dims[1] == 1 ? "" : "s", o->data, dim,
                        o->window ? "" : " (--window cuts a CSV series into windows)");
    if ((size_t)in != dim && steps > 0)
        return cli_fail(o, "model '%s' takes inputs of width %d, but --data '%s' gives windows of %d steps x %d feature%s "
                        "(width %zu)", model_path, in, o->data, steps, features, features == 1 ? "" : "s", dim);
    if ((size_t)in != dim)
        return cli_fail(o, "model '%s' takes inputs of width %d, but --data '%s' has samples of width %zu",
                    model_path, in, o->data, dim);
    return CLI_OK;
}

/* ------------------------------------------------------------------ models */

/* Builds --arch (or fallback) for the data's image shape when ds holds images, for
 * (steps, features) when ds holds windows of a series, else for input_dim inputs, read
 * as a square gray image (784 -> 28x28x1) when it is a perfect square, which
 * convolutional architectures need; an unknown name is a usage error. */
static int build_arch(const cli_opts *o, lt_ctx *ctx, const char *arch, const lt_dataset *ds, int input_dim, lt_model **m)
{
    int dims[3] = {input_dim, 0, 0}, rank = 1, h = 0, w = 0, c = 0, steps = 0, features = 0;
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
    lt_status st = lt_arch_build_shape(ctx, arch, rank, dims, o->seed, m);
    if (st == LT_ERR_ARG) return cli_usage_error(o, "--arch '%s': %s", arch, lt_ctx_error(ctx));
    data_kind kind;
    if (st == LT_ERR_SHAPE && rank == 1 && o->data && !o->window && data_kind_of(o, &kind) == CLI_OK && kind == DATA_CSV)
        return cli_fail(o, "--arch '%s': %s (--window cuts a CSV series into windows)", arch, lt_ctx_error(ctx));
    if (st != LT_OK) return cli_fail_lt(o, ctx, st, "--arch");
    return CLI_OK;
}

/* Turns --optimizer, --lr, --momentum, --nesterov, --clipnorm and --global-clipnorm
 * into optimizer settings. */
int cli_optimizer_from_opts(const cli_opts *o, lt_optimizer *opt)
{
    static const struct { const char *name; lt_optim_kind kind; } names[] = {
        {"sgd", LT_SGD}, {"rmsprop", LT_RMSPROP}, {"adam", LT_ADAM}};
    size_t i = 0;
    while (i < sizeof names / sizeof names[0] && strcmp(names[i].name, o->optimizer) != 0) i++;
    if (i == sizeof names / sizeof names[0])
        return cli_usage_error(o, "--optimizer: unknown optimizer '%s' (expected sgd, rmsprop or adam)", o->optimizer);
    *opt = lt_optimizer_defaults(names[i].kind);
    if ((cli_given(o, OPT_MOMENTUM) || o->nesterov) && opt->kind != LT_SGD)
        return cli_usage_error(o, "--momentum and --nesterov apply to --optimizer sgd only");
    if (cli_given(o, OPT_LR)) opt->lr = o->lr;
    if (cli_given(o, OPT_MOMENTUM)) opt->momentum = o->momentum;
    opt->nesterov = o->nesterov;
    if (o->clipnorm > 0.0f && o->global_clipnorm > 0.0f)
        return cli_usage_error(o, "--clipnorm and --global-clipnorm cannot be used together (as in Keras): choose one");
    opt->clipnorm = o->clipnorm;
    opt->global_clipnorm = o->global_clipnorm;
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

/* Evaluates m on ds against targets (NULL: ds) and prints "test mse: X" (loss_kind
 * MSE) or "test loss: X". */
static int print_test_loss(const cli_opts *o, lt_ctx *ctx, lt_model *m, const lt_dataset *ds, const lt_dataset *targets,
                           int loss_kind)
{
    float loss = 0.0f;
    lt_status st = lt_evaluate(m, ds, targets, &loss);
    if (st != LT_OK) return cli_fail_lt(o, ctx, st, "evaluate");
    /* "mse" only when that is all it is: penalty layers add their terms */
    int mse = loss_kind == (int)LT_LOSS_MSE && !lt_model_has_penalties(m);
    printf("test %s: %.5f\n", mse ? "mse" : "loss", (double)loss);
    return CLI_OK;
}

/* ------------------------------------------------------------------ plots */

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
        float *recon = malloc(k * dim * sizeof *recon);
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
    if (st == LT_OK) st = lt_plot_scatter(ctx, path, codes, shade, count, SCATTER_PX);
    free(codes);
    free(shade);
    return st == LT_OK ? CLI_OK : cli_fail_lt(o, ctx, st, "cannot write the picture");
}

char *cli_png_path(const cli_opts *o)
{
    const char *src = o->png ? o->png : o->out;
    size_t len = strlen(src);
    char *p = malloc(len + 5);
    if (!p) return NULL;
    memcpy(p, src, len + 1);
    if (o->png) return p;
    if (len >= 3 && strcmp(p + len - 3, ".lt") == 0) len -= 3;
    else if (len >= 4 && strcmp(p + len - 4, ".csv") == 0) len -= 4;
    memcpy(p + len, ".png", 5);
    return p;
}

int cli_check_output_path(const cli_opts *o, const char *opt, const char *path, cli_out_kind kind)
{
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) return cli_fail(o, "%s '%s' is a folder", opt, path);
    if (kind == CLI_OUT_FILE && lt_file_is_model(path))
        return cli_fail(o, "%s '%s' is a latent model file; refusing to write over it (choose another name)", opt, path);
    const char *slash = strrchr(path, '/');
    size_t len = slash ? (size_t)(slash - path) : 1;
    if (slash && len == 0) len = 1; /* "/file": the root folder */
    char *dir = malloc(len + 1);
    if (!dir) return cli_fail(o, "out of memory");
    memcpy(dir, slash ? path : ".", len);
    dir[len] = '\0';
    int rc = CLI_OK;
    if (access(dir, W_OK | X_OK) != 0) rc = cli_fail(o, "%s '%s': cannot write in folder '%s': %s", opt, path, dir, strerror(errno));
    free(dir);
    return rc;
}

int cli_check_distinct_outputs(const cli_opts *o, const char *opt_a, const char *a, const char *opt_b, const char *b)
{
    struct stat sa, sb;
    int same = strcmp(a, b) == 0 || (stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino);
    return same ? cli_usage_error(o, "%s and %s both name '%s': give them different files", opt_a, opt_b, b) : CLI_OK;
}

/* ------------------------------------------------------------------ subcommands */

/* latent devices: backends and OpenCL devices. */
static int cmd_devices(const cli_opts *o)
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

/* The patch side for image folders when --patch is not given: the input side of the
 * built-ins made for one size, else 32. */
static int default_patch(const char *arch)
{
    if (arch && strncmp(arch, "conv-ae", 7) == 0) return 28;
    if (arch && strcmp(arch, "denoise-rgb") == 0) return 63;
    return 32;
}

/* The channels of image-folder patches when --channels is not given: 1 for the gray
 * built-ins made for Fashion-MNIST, else 3. */
static int default_channels(const char *arch)
{
    return arch && (strncmp(arch, "conv-ae", 7) == 0 || strcmp(arch, "conv-vae") == 0) ? 1 : 3;
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
        if (st == LT_OK) st = lt_dataset_add_noise(ctx, *input, o->noise, derive_seed(o->seed, stream));
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
static int record_training(const cli_opts *o, lt_ctx *ctx, lt_model *m, int downscale, int classifier)
{
    const char *task = classifier ? "classifier" : downscale ? "super-resolution" : o->noise > 0.0f ? "denoiser"
                                                                                                   : "autoencoder";
    lt_status st = lt_model_set_meta(m, "task", task);
    if (st == LT_OK && downscale && !cli_given(o, OPT_DOWNSCALE)) { /* sr2x's default factor, made explicit */
        cli_opts *with = malloc(sizeof *with);
        if (!with) return cli_fail(o, "out of memory");
        *with = *o;
        with->downscale = downscale;
        with->given |= (uint64_t)1 << OPT_DOWNSCALE;
        st = cli_record_options(with, m);
        free(with);
    } else if (st == LT_OK) {
        st = cli_record_options(o, m);
    }
    if (st == LT_OK && o->window) {
        cli_series s;
        int rc = cli_load_series(o, ctx, NULL, &s);
        if (rc == CLI_OK) st = cli_record_series_moments(&s, m);
        cli_series_free(&s);
        if (rc != CLI_OK) return rc;
    }
    return st == LT_OK ? CLI_OK : cli_fail_lt(o, ctx, st, "cannot record the training settings");
}

/* latent train: build, compile, fit, save, report the test loss, plot. */
static int cmd_train(const cli_opts *o)
{
    lt_ctx *ctx = NULL;
    lt_dataset *train = NULL, *test = NULL, *train_in = NULL, *test_in = NULL, *train_t = NULL, *test_t = NULL;
    lt_model *m = NULL;
    lt_optimizer opt;
    lt_loss loss;
    lt_history hist;
    lt_augment aug;
    lt_status st;
    data_kind kind;
    char *png = NULL;
    int downscale = downscale_of(o, o->arch);

    int rc = cli_optimizer_from_opts(o, &opt);
    if (rc == CLI_OK) rc = loss_from_opts(o, &loss);
    if (rc == CLI_OK) rc = augment_from_opts(o, &aug);
    if (rc == CLI_OK && o->augment && downscale)
        rc = cli_usage_error(o, "--augment works with autoencoders (targets = inputs), not with --downscale");
    if (rc == CLI_OK && !(png = cli_png_path(o))) rc = cli_fail(o, "out of memory");
    if (rc == CLI_OK) rc = cli_check_output_path(o, "--out", o->out, CLI_OUT_MODEL);
    if (rc == CLI_OK) rc = cli_check_output_path(o, "--png", png, CLI_OUT_FILE);
    if (rc == CLI_OK) rc = cli_check_distinct_outputs(o, "--out", o->out, "--png", png);
    if (rc == CLI_OK) rc = data_kind_of(o, &kind); /* a bad path fails before the device opens */
    if (rc == CLI_OK) rc = cli_open_ctx(o, &ctx);
    if (rc == CLI_OK) rc = load_split(o, ctx, NULL, 1, default_patch(o->arch), default_channels(o->arch), &train);
    if (rc == CLI_OK) rc = load_split(o, ctx, NULL, 0, default_patch(o->arch), default_channels(o->arch), &test);
    if (rc == CLI_OK) {
        size_t dim = lt_dataset_dim(train);
        if (dim != lt_dataset_dim(test))
            rc = cli_fail(o, "--data '%s': train samples have width %zu, test samples %zu", o->data, dim,
                      lt_dataset_dim(test));
        else if (dim > (size_t)1 << 24)
            rc = cli_fail(o, "--data '%s': samples of width %zu are too wide", o->data, dim);
        else
            rc = build_arch(o, ctx, arch_of(o, train), train, (int)dim, &m);
    }
    /* --class K: only that class (an anomaly detector's normal data). */
    for (int split = 0; rc == CLI_OK && split < 2 && cli_given(o, OPT_CLASS); split++) {
        lt_dataset **ds = split ? &test : &train, *kept = NULL;
        if ((st = lt_dataset_filter_label(ctx, *ds, o->class_id, 1, &kept)) != LT_OK) {
            rc = o->limit > 0 ? cli_fail(o, "--class: %s among the first %ld samples of the %s split (--limit is applied "
                                         "first)", lt_ctx_error(ctx), o->limit, split ? "test" : "training")
                              : cli_fail_lt(o, ctx, st, "--class");
        } else {
            lt_dataset_free(*ds);
            *ds = kept;
        }
    }
    /* Super-resolution trains on degraded copies against the originals; denoising adds
     * its noise inside fit (fresh every step) and here only to the test inputs. */
    /* A classifier (cce) trains on the labels, one-hot, as targets. */
    int classifier = loss == LT_LOSS_CCE;
    if (rc == CLI_OK && classifier && (o->noise > 0.0f || o->augment || downscale))
        rc = cli_usage_error(o, "a classifier (--loss cce) trains on clean inputs: drop --noise, --augment and --downscale");
    if (rc == CLI_OK && classifier && cli_given(o, OPT_CLASS))
        rc = cli_usage_error(o, "--class %d keeps one class (an anomaly detector's normal data), but a classifier (--loss "
                             "cce) learns to tell the classes apart: drop --class", o->class_id);
    if (rc == CLI_OK && !classifier && (size_t)lt_output_dim(m) != lt_dataset_dim(train)) {
        /* targets are the (clean) inputs: an architecture of fixed output cannot learn them */
        int out = lt_output_dim(m);
        size_t in = lt_dataset_dim(train);
        rc = cli_fail(o, "--arch %s gives %d values per sample, but its targets (the inputs) have %zu%s",
                      arch_of(o, train), out, in,
                      in == 3 * (size_t)out ? ": it makes 1-channel images, so load the data with --channels 1" : "");
    }
    if (rc == CLI_OK && classifier) rc = check_classifier(o, m, train);
    if (rc == CLI_OK && classifier) rc = cli_onehot(o, ctx, train, lt_output_dim(m), &train_t);
    if (rc == CLI_OK && classifier) rc = cli_onehot(o, ctx, test, lt_output_dim(m), &test_t);
    if (rc == CLI_OK && downscale) rc = corrupt(o, ctx, train, downscale, 4, &train_in);
    if (rc == CLI_OK) rc = corrupt(o, ctx, test, downscale, 3, &test_in);
    if (rc == CLI_OK && (st = lt_compile(m, loss, &opt)) != LT_OK) rc = cli_fail_lt(o, ctx, st, "compile");
    if (rc == CLI_OK && !o->quiet) (void)lt_summary(m, stderr); /* informational only */
    if (rc == CLI_OK) {
        lt_fit_opts fo = {0};
        fo.epochs = o->epochs;
        fo.batch = o->batch;
        fo.validation_split = o->validation_split;
        fo.patience = o->patience;
        fo.restore_best = o->patience > 0;
        fo.seed = o->seed;
        fo.verbose = o->quiet ? -1 : 0;
        fo.log = stderr;
        fo.noise = o->noise;
        fo.augment = o->augment ? &aug : NULL;
        fo.kl_warmup = o->kl_warmup;
        /* On failure the model file is not written: an older one stays as it was. */
        st = lt_fit(m, train_in ? train_in : train, classifier ? train_t : train_in ? train : NULL, &fo, &hist);
        if (st != LT_OK) rc = cli_fail_lt(o, ctx, st, "training failed");
    }
    if (rc == CLI_OK) rc = record_training(o, ctx, m, downscale, classifier);
    if (rc == CLI_OK) {
        if ((st = lt_save(m, o->out, 1)) != LT_OK) rc = cli_fail_lt(o, ctx, st, "save");
        else cli_note(o, "saved %s (%d epoch%s, %.1f s, %.0f samples/s)", o->out, hist.epochs_run,
                      hist.epochs_run == 1 ? "" : "s", hist.seconds, hist.samples_per_s);
    }
    if (rc == CLI_OK && classifier) {
        rc = print_test_loss(o, ctx, m, test, test_t, (int)loss);
        if (rc == CLI_OK) rc = cli_print_accuracy(o, ctx, m, test);
    } else if (rc == CLI_OK) {
        rc = print_test_loss(o, ctx, m, test_in ? test_in : test, test_in ? test : NULL, (int)loss);
    }
    if (rc == CLI_OK && !classifier && is_windows(test)) {
        cli_note(o, "no picture for a series here: latent anomaly draws it with its anomalous windows");
    } else if (rc == CLI_OK && !classifier) {
        fflush(stdout); /* the result line before any later diagnostics */
        rc = write_plot(o, ctx, m, test_in ? test_in : test, png, 10);
        if (rc == PLOT_NONE) {
            cli_note(o, "no picture: the data are not images and the encoder's output is not 2-D");
            rc = CLI_OK;
        } else if (rc == CLI_OK) {
            cli_note(o, "wrote %s", png);
        }
    }
    free(png);
    lt_model_free(m);
    lt_dataset_free(train);
    lt_dataset_free(test);
    lt_dataset_free(train_in);
    lt_dataset_free(test_in);
    lt_dataset_free(train_t);
    lt_dataset_free(test_t);
    if (ctx) lt_ctx_close(ctx);
    return rc;
}

lt_model *cli_encoder(lt_model *m)
{
    lt_model *enc = lt_submodel_count(m) > 0 ? lt_submodel(m, 0) : NULL;
    int a[3] = {0, 0, 0}, b[3] = {0, 0, 0};
    int ra = lt_input_shape(m, a), rb = enc ? lt_input_shape(enc, b) : 0;
    return enc && ra == rb && memcmp(a, b, sizeof a) == 0 ? enc : NULL;
}

lt_model *cli_decoder(lt_model *m)
{
    lt_model *enc = cli_encoder(m), *dec = enc && lt_submodel_count(m) > 1 ? lt_submodel(m, 1) : NULL;
    return dec && lt_input_dim(dec) == lt_output_dim(enc) ? dec : NULL;
}

/* Loads the MODEL operand and the test split, and checks that their widths agree. */
static int load_model_and_test(const cli_opts *o, lt_ctx *ctx, lt_model **m, lt_dataset **test)
{
    lt_status st = lt_load(ctx, o->positional[0], m);
    if (st != LT_OK) return cli_fail_lt(o, ctx, st, "cannot load the model");
    int rc = cli_load_split(o, ctx, 0, *m, test);
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
static int cmd_eval(const cli_opts *o)
{
    lt_ctx *ctx = NULL;
    lt_model *m = NULL;
    lt_dataset *test = NULL;
    data_kind kind;
    if (o->npositional < 1) return cli_usage_error(o, "missing the MODEL file");
    int rc = data_kind_of(o, &kind);
    if (rc == CLI_OK) rc = cli_open_ctx(o, &ctx);
    lt_dataset *input = NULL;
    if (rc == CLI_OK) rc = load_model_and_test(o, ctx, &m, &test);
    if (rc == CLI_OK) rc = corrupt(o, ctx, test, cli_given(o, OPT_DOWNSCALE) ? o->downscale : 0, 3, &input);
    if (rc == CLI_OK && lt_model_loss(m) == LT_LOSS_CCE) { /* a classifier: accuracy on the labels */
        rc = cli_print_accuracy(o, ctx, m, test);
    } else {
        if (rc == CLI_OK) rc = print_test_loss(o, ctx, m, input ? input : test, input ? test : NULL, (int)lt_model_loss(m));
        if (rc == CLI_OK && cli_encoder(m)) rc = print_code_stats(o, ctx, cli_encoder(m), input ? input : test);
    }
    lt_model_free(m);
    lt_dataset_free(test);
    lt_dataset_free(input);
    if (ctx) lt_ctx_close(ctx);
    return rc;
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
static int cmd_summary(const cli_opts *o)
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
        if ((st = lt_load(ctx, o->positional[0], &m)) != LT_OK) rc = cli_fail_lt(o, ctx, st, "cannot load the model");
    } else if (rc == CLI_OK) {
        if (o->data) rc = load_split(o, ctx, NULL, 0, default_patch(o->arch), default_channels(o->arch), &ds);
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
    lt_model_free(m);
    lt_dataset_free(ds);
    if (ctx) lt_ctx_close(ctx);
    return rc;
}

/* latent reconstruct MODEL: the picture train writes, for a saved model. */
static int cmd_reconstruct(const cli_opts *o)
{
    lt_ctx *ctx = NULL;
    lt_model *m = NULL;
    lt_dataset *test = NULL;
    data_kind kind;
    if (o->npositional < 1) return cli_usage_error(o, "missing the MODEL file");
    int rc = cli_check_output_path(o, "--out", o->out, CLI_OUT_FILE);
    if (rc == CLI_OK) rc = data_kind_of(o, &kind);
    if (rc == CLI_OK) rc = cli_open_ctx(o, &ctx);
    if (rc == CLI_OK) rc = load_model_and_test(o, ctx, &m, &test);
    if (rc == CLI_OK) {
        rc = write_plot(o, ctx, m, test, o->out, o->n);
        if (rc == PLOT_NONE && is_windows(test))
            rc = cli_fail(o, "nothing to plot here for a series: latent anomaly draws it with its anomalous windows");
        else if (rc == PLOT_NONE)
            rc = cli_fail(o, "nothing to plot: the data are not images and the model has no encoder with a 2-D output");
        else if (rc == CLI_OK)
            cli_note(o, "wrote %s", o->out);
    }
    lt_model_free(m);
    lt_dataset_free(test);
    if (ctx) lt_ctx_close(ctx);
    return rc;
}

/* latent bench: training throughput of an architecture on synthetic data. */
static int cmd_bench(const cli_opts *o)
{
    lt_ctx *ctx = NULL;
    lt_model *m = NULL;
    lt_optimizer opt;
    lt_loss loss;
    lt_status st;
    double sps = 0.0;
    const char *arch = o->arch ? o->arch : "mlp-ae";
    int rc = cli_optimizer_from_opts(o, &opt);
    if (rc == CLI_OK) rc = loss_from_opts(o, &loss);
    if (rc == CLI_OK) rc = cli_open_ctx(o, &ctx);
    if (rc == CLI_OK) rc = build_arch(o, ctx, arch, NULL, cli_given(o, OPT_INPUT) ? o->input : default_input(arch), &m);
    if (rc == CLI_OK && (st = lt_compile(m, loss, &opt)) != LT_OK) rc = cli_fail_lt(o, ctx, st, "compile");
    if (rc == CLI_OK && (st = lt_bench_train(m, o->batch, o->seconds, &sps)) != LT_OK) rc = cli_fail_lt(o, ctx, st, "bench");
    if (rc == CLI_OK)
        printf("bench %s batch %d on %s (%s): %.0f samples/s\n", arch, o->batch, lt_ctx_backend(ctx),
               lt_ctx_device(ctx), sps);
    lt_model_free(m);
    if (ctx) lt_ctx_close(ctx);
    return rc;
}

/* ------------------------------------------------------------------ main */

/* Prints the one-line usage and a help hint to stderr; returns CLI_USAGE. */
static int main_usage(const char *problem)
{
    if (problem) fprintf(stderr, "latent: %s\n", problem);
    fputs("Usage: latent COMMAND [OPTIONS]  (commands: devices, train, eval, summary, reconstruct, bench,\n"
          "       denoise, upscale, score, generate, embed, anomaly, pca, classify)\n"
          "Try 'latent --help' for more information.\n", stderr);
    return CLI_USAGE;
}

/* Runs the subcommand named by argv[1]. */
static int run(int argc, char **argv)
{
    char problem[256];
    if (argc < 2) return main_usage("missing command");
    const char *name = argv[1];
    if (!strcmp(name, "--help") || !strcmp(name, "-h")) {
        cli_print_main_help();
        return CLI_OK;
    }
    if (!strcmp(name, "--version")) {
        printf("latent %d.%d.%d\n", LT_VERSION_MAJOR, LT_VERSION_MINOR, LT_VERSION_PATCH);
        return CLI_OK;
    }
    if (!strcmp(name, "help")) { /* "latent help train" reads like "latent train --help" */
        if (argc < 3) {
            cli_print_main_help();
            return CLI_OK;
        }
        if (cli_print_cmd_help(argv[2]) == 0) return CLI_OK;
        snprintf(problem, sizeof problem, "unknown command '%s'", argv[2]);
        return main_usage(problem);
    }
    if (name[0] == '-') {
        snprintf(problem, sizeof problem, "unknown option '%s' (options go after the command)", name);
        return main_usage(problem);
    }

    if (!cli_cmd_lookup(name)) {
        snprintf(problem, sizeof problem, "unknown command '%s'", name);
        return main_usage(problem);
    }

    cli_opts o;
    int rc = cli_parse(argc - 1, argv + 1, &o);
    if (rc >= 0) return rc;
    switch (o.cmd) {
    case CMD_DEVICES: return cmd_devices(&o);
    case CMD_TRAIN: return cmd_train(&o);
    case CMD_EVAL: return cmd_eval(&o);
    case CMD_SUMMARY: return cmd_summary(&o);
    case CMD_RECONSTRUCT: return cmd_reconstruct(&o);
    case CMD_BENCH: return cmd_bench(&o);
    case CMD_DENOISE: return cli_cmd_denoise(&o);
    case CMD_UPSCALE: return cli_cmd_upscale(&o);
    case CMD_SCORE: return cli_cmd_score(&o);
    case CMD_GENERATE: return cli_cmd_generate(&o);
    case CMD_EMBED: return cli_cmd_embed(&o);
    case CMD_ANOMALY: return cli_cmd_anomaly(&o);
    case CMD_PCA: return cli_cmd_pca(&o);
    case CMD_CLASSIFY: return cli_cmd_classify(&o);
    }
    return CLI_USAGE;
}

/* Entry point: runs the command, then makes sure stdout really took the results. */
int main(int argc, char **argv)
{
    int rc = run(argc, argv);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "latent: cannot write to stdout: %s\n", strerror(errno));
        if (rc == CLI_OK) rc = CLI_RUNTIME;
    }
    return rc;
}
