/* The latent program's helpers shared by several commands: messages, warnings and
 * progress counts, the device context, seeds, loading and closing a model, checks of
 * inputs and output paths, the samples a picture shows, and what commands ask of any
 * model (its encoder and decoder, accuracy, one-hot labels).
 * It calls nothing else in apps/: every other file may call it. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* access, stat, clock_gettime, strcasecmp */
#endif

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "latent.h"

/* ------------------------------------------------------------------ messages */

/* Prints "latent CMD: message" on stderr, then a --help hint when status is CLI_USAGE;
 * returns status. The one place both kinds of error (cli_fail, cli_usage_error) are worded. */
int cli_report(const cli_opts *o, int status, const char *fmt, ...)
{
    va_list ap;
    char msg[4096];
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (o->mpi && o->mpi->size > 1) fprintf(stderr, "latent %s: rank %d of %d: %s", o->cmd_name, o->mpi->rank, o->mpi->size, msg);
    else fprintf(stderr, "latent %s: %s", o->cmd_name, msg);
    /* A bad value the user did not type, but the MODEL's notes gave: not a usage error. */
    size_t len = strcspn(msg, ": =");
    char name[72];
    if (status == CLI_USAGE && o->recorded_from && strncmp(msg, "--", 2) == 0 && len < sizeof name - 2) {
        snprintf(name, sizeof name, " %.*s ", (int)len, msg);
        if (strstr(o->recorded_names, name)) {
            fprintf(stderr, " (%.*s is not on the command line: it was taken from '%s', which records the options it "
                    "was trained with; give %.*s to override it)\n", (int)len, msg, o->recorded_from, (int)len, msg);
            return CLI_RUNTIME;
        }
    }
    if (status == CLI_USAGE) fprintf(stderr, "\nTry 'latent %s --help' for more information.\n", o->cmd_name);
    else fputc('\n', stderr);
    return status;
}

/* Reports a failed library call: what we were doing, then the context's message. */
int cli_fail_lt(const cli_opts *o, const lt_ctx *ctx, int status, const char *what)
{
    const char *msg = ctx ? lt_ctx_error(ctx) : "";
    return cli_fail(o, "%s: %s", what, msg && *msg ? msg : lt_status_name((lt_status)status));
}

/* Progress note "latent: message" on stderr, unless --quiet. */
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

/* Warning "latent CMD: warning: message" on stderr, --quiet or not: it is about the
 * result, not progress. */
void cli_warn(const cli_opts *o, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "latent %s: warning: ", o->cmd_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* Seconds on a monotonic clock. */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Starts a progress counter of total items (say what is counted, "images scored"). */
void cli_progress_start(cli_progress *p, const cli_opts *o, const char *what, size_t total)
{
    memset(p, 0, sizeof *p);
    p->o = o;
    p->what = what;
    p->total = total;
    p->t0 = p->last = now_s();
    p->tty = isatty(fileno(stderr));
}

/* Shows "latent: N of TOTAL what, about S s left" on stderr, unless --quiet: nothing in
 * the first CLI_PROGRESS_AFTER seconds, then on a terminal a line redrawn in place a
 * few times a second, elsewhere a line then and every CLI_PROGRESS_EVERY seconds. */
void cli_progress_update(cli_progress *p, size_t done)
{
    if (!p->o || p->o->quiet || done == 0) return;
    double t = now_s(), elapsed = t - p->t0;
    if (elapsed < CLI_PROGRESS_AFTER || (p->shown && t - p->last < (p->tty ? 0.25 : CLI_PROGRESS_EVERY))) return;
    double left = elapsed * (double)(p->total - (done < p->total ? done : p->total)) / (double)done;
    fprintf(stderr, "%slatent: %zu of %zu %s, about %.0f s left%s", p->tty ? "\r" : "", done, p->total, p->what,
            ceil(left), p->tty ? "\033[K" : "\n");
    fflush(stderr);
    p->last = t;
    p->shown = 1;
}

/* Ends a counter: after one that was shown, "latent: TOTAL what in S s" when the work
 * succeeded (rc CLI_OK); on a terminal the redrawn line is cleared either way. */
void cli_progress_end(cli_progress *p, int rc)
{
    if (!p->o || p->o->quiet || !p->shown) return;
    if (p->tty) fputs("\r\033[K", stderr);
    if (rc == CLI_OK) fprintf(stderr, "latent: %zu %s in %.1f s\n", p->total, p->what, now_s() - p->t0);
    p->shown = 0;
}

/* ------------------------------------------------------------------ context and model */

/* Opens the --device context, applies --threads, says which device "auto" took. */
int cli_open_ctx(const cli_opts *o, lt_ctx **ctx)
{
    char err[512] = "", made[32];
    int share = 0; /* with several ranks on a machine's CPU, the cores this one takes */
    const char *device = cli_mpi_device(o, made, sizeof made, &share);
    lt_status st = lt_ctx_open(ctx, device, err, sizeof err);
    if (st != LT_OK) return cli_fail(o, "device '%s': %s", device, *err ? err : lt_status_name(st));
    if (cli_given(o, OPT_THREADS)) lt_ctx_set_threads(*ctx, o->threads);
    else if (share > 0) lt_ctx_set_threads(*ctx, share);
    if (o->mpi && o->mpi->size > 1) {
        cli_mpi_report_devices(o, *ctx);
    } else if (strcmp(o->device, "auto") == 0) {
        if (strcmp(lt_ctx_backend(*ctx), "cpu") == 0)
            cli_note(o, "no OpenCL GPU found, using cpu: %s", lt_ctx_device(*ctx));
        else
            cli_note(o, "using %s: %s", lt_ctx_backend(*ctx), lt_ctx_device(*ctx));
    }
    return CLI_OK;
}

/* Loads the MODEL operand (the first) into *m; a failure says why. */
int cli_load_model(const cli_opts *o, lt_ctx *ctx, lt_model **m)
{
    lt_status st = lt_load(ctx, o->positional[0], m);
    return st == LT_OK ? CLI_OK : cli_fail_lt(o, ctx, st, "cannot load the model");
}

/* Frees model m and closes ctx (either may be NULL); returns rc, the command's status. */
int cli_close(lt_ctx *ctx, lt_model *m, int rc)
{
    lt_model_free(m);
    if (ctx) lt_ctx_close(ctx);
    return rc;
}

/* ------------------------------------------------------------------ seeds */

/* SplitMix64's output mixing of z. */
uint64_t cli_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A seed for stream `stream` of --seed, decorrelated from the other streams'. */
uint64_t cli_derive_seed(uint64_t seed, uint64_t stream)
{
    return cli_mix64(seed + stream * 0x9E3779B97F4A7C15ull);
}

/* ------------------------------------------------------------------ inputs */

/* Whether the dataset holds images. */
int cli_is_image(const lt_dataset *ds)
{
    int h, w, c;
    lt_dataset_image_shape(ds, &h, &w, &c);
    return h > 0 && w > 0 && c > 0;
}

/* Whether the samples are windows of a series. */
int cli_is_windows(const lt_dataset *ds)
{
    int steps;
    lt_dataset_seq_shape(ds, &steps, NULL);
    return steps > 0;
}

/* Checks that model m (from model_path) takes ds's samples; an error names both shapes. */
int cli_check_input(const cli_opts *o, const lt_model *m, const char *model_path, const lt_dataset *ds)
{
    int dims[3] = {0, 0, 0}, rank = lt_input_shape(m, dims), in = lt_input_dim(m), steps, features;
    size_t dim = lt_dataset_dim(ds);
    lt_dataset_seq_shape(ds, &steps, &features);
    if (rank == 2 && steps > 0 && (dims[0] != steps || dims[1] != features))
        return cli_fail(o, "model '%s' takes sequences of %d steps x %d feature%s, but --data '%s' gives windows of %d "
                        "steps x %d feature%s (--window sets the steps, --columns the features)", model_path, dims[0],
                        dims[1], dims[1] == 1 ? "" : "s", o->data, steps, features, features == 1 ? "" : "s");
    if (rank == 2 && steps == 0 && !cli_is_image(ds) && (size_t)in != dim)
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

/* The fit options every training command takes alike: --epochs, --batch, --seed, and
 * progress on stderr unless --quiet. */
lt_fit_opts cli_fit_opts(const cli_opts *o)
{
    lt_fit_opts fo = {0};
    fo.epochs = o->epochs;
    fo.batch = o->batch;
    fo.seed = o->seed;
    fo.verbose = o->quiet ? -1 : 0;
    fo.log = stderr;
    return fo;
}

/* ------------------------------------------------------------------ output paths */

/* --png, or --out with its .lt or .csv suffix swapped for .png (malloc'd; NULL: no memory). */
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

/* The format a file name's extension promises, for messages ("" when none is known). */
static const char *format_of_extension(const char *ext)
{
    static const struct { const char *ext, *format; } known[] = {
        {".jpg", "JPEG"}, {".jpeg", "JPEG"}, {".jpe", "JPEG"}, {".bmp", "BMP"}, {".gif", "GIF"}, {".tif", "TIFF"},
        {".tiff", "TIFF"}, {".webp", "WebP"}, {".ppm", "PPM"}, {".pgm", "PGM"}, {".svg", "SVG"}, {".pdf", "PDF"},
        {".eps", "EPS"}, {".lt", "a latent model"}, {".csv", "CSV"}, {".txt", "text"}};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcasecmp(ext, known[i].ext) == 0) return known[i].format;
    return "";
}

/* A usage error unless path's name ends in .png (any case): pictures are written as PNG
 * whatever the name says, so a name promising another format is refused, not honoured. */
static int check_png_name(const cli_opts *o, const char *opt, const char *path)
{
    const char *base = strrchr(path, '/'), *dot;
    base = base ? base + 1 : path;
    dot = strrchr(base, '.');
    if (dot && dot != base && strcasecmp(dot, ".png") == 0) return CLI_OK;
    if (!dot || dot == base || dot[1] == '\0')
        return cli_usage_error(o, "%s '%s': pictures are written as PNG, and the name has no .png extension: name "
                               "it .png", opt, path);
    const char *format = format_of_extension(dot);
    return cli_usage_error(o, "%s '%s': pictures are written as PNG, but the name ends in '%s'%s%s%s: name it .png "
                           "(latent writes no other picture format)", opt, path, dot, *format ? " (" : "", format,
                           *format ? ")" : "");
}

/* Fails early when path is a folder, its folder takes no new files or, for a picture or
 * table, it is an existing model file; a picture's name must end in .png. */
int cli_check_output_path(const cli_opts *o, const char *opt, const char *path, cli_out_kind kind)
{
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) return cli_fail(o, "%s '%s' is a folder", opt, path);
    if (kind != CLI_OUT_MODEL && lt_file_is_model(path))
        return cli_fail(o, "%s '%s' is a latent model file; refusing to write over it (choose another name)", opt, path);
    if (kind == CLI_OUT_PNG && check_png_name(o, opt, path) != CLI_OK) return CLI_USAGE;
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

/* Fails when two outputs of one command name the same file (the second would replace the first). */
int cli_check_distinct_outputs(const cli_opts *o, const char *opt_a, const char *a, const char *opt_b, const char *b)
{
    struct stat sa, sb;
    int same = strcmp(a, b) == 0 || (stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino);
    return same ? cli_usage_error(o, "%s and %s both name '%s': give them different files", opt_a, opt_b, b) : CLI_OK;
}

/* ------------------------------------------------------------------ pictures */

/* How much detail image img (h x w x c) holds: the mean squared difference between
 * neighbouring pixels, across and down, over the channels. Flat sky scores near 0;
 * texture and edges high; a smooth gradient little. */
static double detail_of(const float *img, int h, int w, int c)
{
    double s = 0.0;
    size_t pairs = 0, row = (size_t)w * c;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int ch = 0; ch < c; ch++) {
                const float *p = img + (size_t)y * row + (size_t)x * c + ch;
                if (x + 1 < w) { s += ((double)p[c] - p[0]) * ((double)p[c] - p[0]); pairs++; }
                if (y + 1 < h) { s += ((double)p[row] - p[0]) * ((double)p[row] - p[0]); pairs++; }
            }
    return pairs ? s / (double)pairs : 0.0;
}

/* A sample's detail and index, for ranking. */
typedef struct ranked {
    double detail;
    size_t index;
} ranked;

/* Orders by detail, most first; ties by index. */
static int by_detail(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->detail != y->detail) return x->detail < y->detail ? 1 : -1;
    return (x->index > y->index) - (x->index < y->index);
}

/* Orders by index. */
static int by_index(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    return (x->index > y->index) - (x->index < y->index);
}

/* The k samples of ds a picture shows, into idx in ascending order. */
void cli_picture_picks(const lt_dataset *ds, size_t k, size_t *idx)
{
    size_t n = lt_dataset_count(ds), dim = lt_dataset_dim(ds);
    int h, w, c;
    lt_dataset_image_shape(ds, &h, &w, &c);
    if (k > n) k = n;
    ranked *r = h > 0 && w > 0 && c > 0 && !lt_dataset_labels(ds) && k < n ? malloc(n * sizeof *r) : NULL;
    if (!r) { /* the first k: labelled images, all of them, or no memory to rank */
        for (size_t i = 0; i < k; i++) idx[i] = i;
        return;
    }
    /* the quarter of the patches with the most detail (at least k), in their order,
     * then k spread evenly over them: patches follow their pictures row by row, so the
     * picks come from all over the pictures, not from one busy corner */
    const float *x = lt_dataset_data(ds);
    for (size_t i = 0; i < n; i++) {
        r[i].detail = detail_of(x + i * dim, h, w, c);
        r[i].index = i;
    }
    qsort(r, n, sizeof *r, by_detail);
    size_t m = n / 4 > k ? n / 4 : k;
    qsort(r, m, sizeof *r, by_index);
    for (size_t j = 0; j < k; j++) idx[j] = r[(2 * j + 1) * m / (2 * k)].index;
    free(r);
}

/* Room for the outputs of the k samples a picture of ds shows, followed by those samples. */
float *cli_picture_buffer(const lt_dataset *ds, size_t k, const float **samples)
{
    size_t dim = lt_dataset_dim(ds), n = lt_dataset_count(ds);
    if (k > n) k = n;
    size_t *idx = malloc((k ? k : 1) * sizeof *idx);
    int fits = dim < SIZE_MAX / sizeof(float) / 2 / (k ? k : 1); /* 2 k dim floats, and one for k = 0 */
    float *buf = idx && fits ? malloc((2 * k * dim + 1) * sizeof *buf) : NULL;
    if (!buf) {
        free(idx);
        return NULL;
    }
    cli_picture_picks(ds, k, idx);
    float *picked = buf + k * dim;
    for (size_t i = 0; i < k; i++) memcpy(picked + i * dim, lt_dataset_data(ds) + idx[i] * dim, dim * sizeof *buf);
    free(idx);
    *samples = picked;
    return buf;
}

/* ------------------------------------------------------------------ models */

/* The encoder of an autoencoder m: its first nested model, when that takes m's input. */
lt_model *cli_encoder(lt_model *m)
{
    lt_model *enc = lt_submodel_count(m) > 0 ? lt_submodel(m, 0) : NULL;
    int a[3] = {0, 0, 0}, b[3] = {0, 0, 0};
    int ra = lt_input_shape(m, a), rb = enc ? lt_input_shape(enc, b) : 0;
    return enc && ra == rb && memcmp(a, b, sizeof a) == 0 ? enc : NULL;
}

/* The decoder: m's second nested model, when it takes the encoder's output. */
lt_model *cli_decoder(lt_model *m)
{
    lt_model *enc = cli_encoder(m), *dec = enc && lt_submodel_count(m) > 1 ? lt_submodel(m, 1) : NULL;
    return dec && lt_input_dim(dec) == lt_output_dim(enc) ? dec : NULL;
}

/* Prints "test accuracy: A" of classifier m on ds's labels (argmax of the outputs). */
int cli_print_accuracy(const cli_opts *o, lt_ctx *ctx, lt_model *m, const lt_dataset *ds)
{
    const int32_t *labels = lt_dataset_labels(ds);
    size_t n = lt_dataset_count(ds), k = (size_t)lt_output_dim(m), right = 0;
    if (!labels) return cli_fail(o, "--data '%s' has no labels to measure accuracy with", o->data);
    float *p = malloc(n * k * sizeof *p);
    if (!p) return cli_fail(o, "out of memory");
    lt_status st = lt_predict(m, lt_dataset_data(ds), n, p);
    for (size_t i = 0; st == LT_OK && i < n; i++) {
        size_t best = 0;
        for (size_t j = 1; j < k; j++)
            if (p[i * k + j] > p[i * k + best]) best = j;
        right += (int32_t)best == labels[i];
    }
    free(p);
    if (st != LT_OK) return cli_fail_lt(o, ctx, st, "cannot run the model");
    printf("test accuracy: %.4f\n", (double)right / (double)n);
    return CLI_OK;
}

/* One-hot targets (n x classes) for ds's labels; a label outside [0, classes) or no
 * labels at all is an error naming --data. */
int cli_onehot(const cli_opts *o, lt_ctx *ctx, const lt_dataset *ds, int classes, lt_dataset **out)
{
    const int32_t *labels = lt_dataset_labels(ds);
    size_t n = lt_dataset_count(ds);
    *out = NULL;
    if (!labels) return cli_fail(o, "--data '%s' has no labels to classify by", o->data);
    for (size_t i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= classes)
            return cli_fail(o, "label %d of sample %zu is outside the model's %d classes", (int)labels[i], i, classes);
    float *t = calloc(n * (size_t)classes + 1, sizeof *t);
    if (!t) return cli_fail(o, "out of memory");
    for (size_t i = 0; i < n; i++) t[i * (size_t)classes + (size_t)labels[i]] = 1.0f;
    lt_status st = lt_dataset_from_array(ctx, n, (size_t)classes, t, NULL, out);
    free(t);
    return st == LT_OK ? CLI_OK : cli_fail_lt(o, ctx, st, "labels");
}
