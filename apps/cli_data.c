/* The latent program's --data loading, shared by the commands: built-in sets
 * (fashion-mnist, swiss-roll), folders of IDX files or of images (cut into patches),
 * CSV tables, and CSV time series cut into standardized windows (--window). It calls
 * only apps/cli_common.c. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* access, stat */
#endif

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "latent.h"

/* Generated swiss-roll points per split. */
#define SWISS_TRAIN 2000
#define SWISS_TEST 1000


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
int cli_data_kind_of(const cli_opts *o, cli_data_kind *kind)
{
    struct stat sb;
    if (strcmp(o->data, "fashion-mnist") == 0) {
        *kind = DATA_FASHION;
    } else if (strcmp(o->data, "swiss-roll") == 0) {
        *kind = DATA_SWISS;
    } else if (stat(o->data, &sb) != 0) {
        return cli_fail(o, "--data '%s': %s (expected fashion-mnist, swiss-roll, a folder of IDX files, a folder "
                       "of PNG, JPEG or BMP images, or a CSV file)", o->data, strerror(errno));
    } else {
        *kind = !S_ISDIR(sb.st_mode) ? DATA_CSV : has_idx_files(o->data) ? DATA_IDX_DIR : DATA_IMAGES;
    }
    return CLI_OK;
}

/* SplitMix64 step: decorrelates the seeds of the swiss roll's train and test splits. */
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

/* Loads --data as a --window series, scaled as model m recorded (m may be NULL). */
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

/* Records the series' scaling in m's notes, for cli_load_series to apply later. */
lt_status cli_record_series_moments(const cli_series *s, lt_model *m)
{
    size_t dim = lt_dataset_dim(s->raw);
    lt_status st = put_doubles(m, "series.mean", s->mean, dim);
    return st == LT_OK ? put_doubles(m, "series.sd", s->sd, dim) : st;
}

/* Frees what cli_load_series made; a zeroed series is fine. */
void cli_series_free(cli_series *s)
{
    lt_dataset_free(s->raw);
    lt_dataset_free(s->scaled);
    free(s->mean);
    free(s->sd);
    memset(s, 0, sizeof *s);
}

/* Windows of --window rows every --stride rows of rows [first, first+count) of s. */
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
    cli_data_kind kind;
    lt_dataset *ds = NULL;
    lt_status st = LT_OK;
    int rc = cli_data_kind_of(o, &kind);
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
                                   cli_derive_seed(o->seed, train ? 1 : 2), &ds);
        if (st == LT_OK && !train) st = lt_dataset_swiss_roll(ctx, SWISS_TRAIN, 0.0f, cli_derive_seed(o->seed, 1), &fit);
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

/* Loads --data's train (train != 0) or test split as eval does for model m (m may be NULL). */
int cli_load_split(const cli_opts *o, lt_ctx *ctx, int train, const lt_model *m, lt_dataset **out)
{
    int dims[3] = {0, 0, 0};
    int image = m && lt_input_shape(m, dims) == 3;
    return load_split(o, ctx, m, train, image ? dims[0] : 32, image ? dims[2] : 3, out);
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

/* Loads --data's train (train != 0) or test split for an --arch not built yet. */
int cli_load_split_for_arch(const cli_opts *o, lt_ctx *ctx, int train, lt_dataset **out)
{
    return load_split(o, ctx, NULL, train, default_patch(o->arch), default_channels(o->arch), out);
}

/* Loads both splits of --data as cli_load_split does, the training split first. */
int cli_load_splits(const cli_opts *o, lt_ctx *ctx, const lt_model *m, lt_dataset **train, lt_dataset **test)
{
    int rc = cli_load_split(o, ctx, 1, m, train);
    return rc == CLI_OK ? cli_load_split(o, ctx, 0, m, test) : rc;
}
