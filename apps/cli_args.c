/* The latent program's option parsing, and the options a model file records from its
 * training. Table-driven: each option names its value type, its range and the
 * subcommands that accept it, so every subcommand reports unknown options, missing
 * values and bad numbers alike. It calls only apps/cli_commands.c and
 * apps/cli_common.c's messages. */
#include "cli.h"

#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "latent.h"

/* Value types of options. */
typedef enum opt_kind { K_FLAG, K_INT, K_LONG, K_U64, K_FLOAT, K_DOUBLE, K_STR } opt_kind;

/* One option: its name, value type, where the value goes, accepted range and the
 * subcommands (cli_cmd bits) that accept it. */
typedef struct opt_spec {
    cli_opt_id id;       /* identity, also the bit in cli_opts.given            */
    const char *name;    /* long name without the leading "--"                  */
    opt_kind kind;       /* value type                                          */
    size_t offset;       /* field of cli_opts that receives the value           */
    double lo, hi;       /* numeric range                                       */
    int lo_open;         /* 1: the range excludes lo                            */
    int hi_open;         /* 1: the range excludes hi                            */
    unsigned cmds;       /* subcommands that accept it                          */
} opt_spec;

#define IMAGE_CMDS (CMD_DENOISE | CMD_UPSCALE | CMD_SCORE)
#define LATENT_CMDS (CMD_GENERATE | CMD_EMBED | CMD_ANOMALY | CMD_PCA | CMD_CLASSIFY)
#define ALL_CMDS (CMD_DEVICES | CMD_TRAIN | CMD_EVAL | CMD_SUMMARY | CMD_RECONSTRUCT | CMD_BENCH | IMAGE_CMDS | LATENT_CMDS | CMD_IMPORT | CMD_EXPORT)
#define DATA_CMDS (CMD_TRAIN | CMD_EVAL | CMD_SUMMARY | CMD_RECONSTRUCT | CMD_SCORE | LATENT_CMDS)
#define OFF(f) offsetof(cli_opts, f)

static const opt_spec opt_table[] = {
    {OPT_HELP, "help", K_FLAG, 0, 0, 0, 0, 0, ALL_CMDS},
    {OPT_DEVICE, "device", K_STR, OFF(device), 0, 0, 0, 0, ALL_CMDS},
    {OPT_SEED, "seed", K_U64, OFF(seed), 0, 0, 0, 0, ALL_CMDS},
    {OPT_THREADS, "threads", K_INT, OFF(threads), 0, 4096, 0, 0, ALL_CMDS},
    {OPT_QUIET, "quiet", K_FLAG, OFF(quiet), 0, 0, 0, 0, ALL_CMDS},
    {OPT_DATA, "data", K_STR, OFF(data), 0, 0, 0, 0, DATA_CMDS},
    {OPT_LIMIT, "limit", K_LONG, OFF(limit), 1, (double)LONG_MAX, 0, 0,
     CMD_TRAIN | CMD_EVAL | CMD_RECONSTRUCT | CMD_SCORE | LATENT_CMDS},
    {OPT_ARCH, "arch", K_STR, OFF(arch), 0, 0, 0, 0, CMD_TRAIN | CMD_SUMMARY | CMD_BENCH | CMD_IMPORT},
    {OPT_INPUT, "input", K_INT, OFF(input), 1, 1 << 24, 0, 0, CMD_SUMMARY | CMD_BENCH | CMD_IMPORT},
    {OPT_EPOCHS, "epochs", K_INT, OFF(epochs), 1, 1000000, 0, 0, CMD_TRAIN | CMD_CLASSIFY},
    {OPT_BATCH, "batch", K_INT, OFF(batch), 1, 1 << 20, 0, 0, CMD_TRAIN | CMD_BENCH | CMD_CLASSIFY},
    {OPT_OPTIMIZER, "optimizer", K_STR, OFF(optimizer), 0, 0, 0, 0, CMD_TRAIN | CMD_BENCH | CMD_CLASSIFY},
    {OPT_LR, "lr", K_FLOAT, OFF(lr), 0, FLT_MAX, 1, 0, CMD_TRAIN | CMD_BENCH | CMD_CLASSIFY},
    {OPT_MOMENTUM, "momentum", K_FLOAT, OFF(momentum), 0, 1, 0, 1, CMD_TRAIN | CMD_BENCH},
    {OPT_NESTEROV, "nesterov", K_FLAG, OFF(nesterov), 0, 0, 0, 0, CMD_TRAIN | CMD_BENCH},
    {OPT_CLIPNORM, "clipnorm", K_FLOAT, OFF(clipnorm), 0, FLT_MAX, 0, 0, CMD_TRAIN | CMD_BENCH | CMD_CLASSIFY},
    {OPT_GLOBAL_CLIPNORM, "global-clipnorm", K_FLOAT, OFF(global_clipnorm), 0, FLT_MAX, 0, 0,
     CMD_TRAIN | CMD_BENCH | CMD_CLASSIFY},
    {OPT_LOSS, "loss", K_STR, OFF(loss), 0, 0, 0, 0, CMD_TRAIN | CMD_BENCH},
    {OPT_VALIDATION_SPLIT, "validation-split", K_FLOAT, OFF(validation_split), 0, 1, 0, 1, CMD_TRAIN},
    {OPT_PATIENCE, "patience", K_INT, OFF(patience), 0, 1000000, 0, 0, CMD_TRAIN},
    {OPT_OUT, "out", K_STR, OFF(out), 0, 0, 0, 0,
     CMD_TRAIN | CMD_RECONSTRUCT | CMD_GENERATE | CMD_EMBED | CMD_ANOMALY | CMD_CLASSIFY},
    {OPT_PNG, "png", K_STR, OFF(png), 0, 0, 0, 0, CMD_TRAIN | CMD_SCORE | CMD_ANOMALY},
    {OPT_N, "n", K_INT, OFF(n), 1, 1000, 0, 0, CMD_RECONSTRUCT | CMD_SCORE | CMD_GENERATE},
    {OPT_SECONDS, "seconds", K_DOUBLE, OFF(seconds), 0, 3600, 1, 0, CMD_BENCH},
    {OPT_PREDICT, "predict", K_FLAG, OFF(predict), 0, 0, 0, 0, CMD_BENCH},
    {OPT_NOISE, "noise", K_FLOAT, OFF(noise), 0, 10, 0, 0, CMD_TRAIN | CMD_EVAL | CMD_SCORE | CMD_CLASSIFY},
    {OPT_AUGMENT, "augment", K_STR, OFF(augment), 0, 0, 0, 0, CMD_TRAIN},
    {OPT_DOWNSCALE, "downscale", K_INT, OFF(downscale), 2, 16, 0, 0, CMD_TRAIN | CMD_EVAL | CMD_SCORE},
    {OPT_PATCH, "patch", K_INT, OFF(patch), 1, 4096, 0, 0, CMD_TRAIN | CMD_EVAL | CMD_SUMMARY | CMD_RECONSTRUCT},
    {OPT_STRIDE, "stride", K_INT, OFF(stride), 1, 1 << 24, 0, 0, DATA_CMDS},
    {OPT_WINDOW, "window", K_INT, OFF(window), 1, 1 << 24, 0, 0, DATA_CMDS},
    {OPT_COLUMNS, "columns", K_STR, OFF(columns), 0, 0, 0, 0, DATA_CMDS},
    {OPT_TEST_SPLIT, "test-split", K_FLOAT, OFF(test_split), 0, 1, 1, 1, DATA_CMDS},
    {OPT_INTERPOLATE, "interpolate", K_FLAG, OFF(interpolate), 0, 0, 0, 0, DATA_CMDS},
    {OPT_WIDE, "wide", K_FLAG, OFF(wide), 0, 0, 0, 0, DATA_CMDS},
    {OPT_CENTER_WINDOWS, "center-windows", K_FLAG, OFF(center_windows), 0, 0, 0, 0, DATA_CMDS},
    {OPT_CHANNELS, "channels", K_INT, OFF(channels), 1, 3, 0, 0, DATA_CMDS},
    {OPT_KL_WARMUP, "kl-warmup", K_FLOAT, OFF(kl_warmup), 0, 1e6, 0, 0, CMD_TRAIN},
    {OPT_CLASS, "class", K_INT, OFF(class_id), 0, 1 << 30, 0, 0, CMD_GENERATE | CMD_TRAIN | CMD_ANOMALY},
    {OPT_METHOD, "method", K_STR, OFF(method), 0, 0, 0, 0, CMD_EMBED},
    {OPT_PERCENTILE, "percentile", K_FLOAT, OFF(percentile), 0, 100, 0, 0, CMD_ANOMALY},
    {OPT_K, "k", K_STR, OFF(k_list), 0, 0, 0, 0, CMD_PCA},
    {OPT_HIDDEN, "hidden", K_STR, OFF(hidden), 0, 0, 0, 0, CMD_CLASSIFY},
    {OPT_LABELS, "labels", K_LONG, OFF(labels), 1, (double)LONG_MAX, 0, 0, CMD_CLASSIFY},
    {OPT_PRETRAIN, "pretrain", K_FLAG, OFF(pretrain), 0, 0, 0, 0, CMD_CLASSIFY},
    {OPT_PRETRAIN_EPOCHS, "pretrain-epochs", K_INT, OFF(pretrain_epochs), 1, 1000000, 0, 0, CMD_CLASSIFY},
    {OPT_BETWEEN, "between", K_STR, OFF(between), 0, 0, 0, 0, CMD_GENERATE},
    {OPT_GRID, "grid", K_INT, OFF(grid), 2, 40, 0, 0, CMD_GENERATE},
    {OPT_SPREAD, "spread", K_FLOAT, OFF(spread), 0, 100, 0, 0, CMD_GENERATE},
    {OPT_RESUME, "resume", K_STR, OFF(resume), 0, 0, 0, 0, CMD_TRAIN},
    {OPT_INIT_FROM, "init-from", K_STR, OFF(init_from), 0, 0, 0, 0, CMD_TRAIN},
    {OPT_CHECKPOINT_EVERY, "checkpoint-every", K_INT, OFF(checkpoint_every), 1, 1000000, 0, 0, CMD_TRAIN},
    {OPT_CHECKPOINT_MINUTES, "checkpoint-minutes", K_DOUBLE, OFF(checkpoint_minutes), 0, 1e6, 1, 0, CMD_TRAIN},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Reports value v (spelled text) outside an option's range, spelling the range out. */
static int range_error(const cli_opts *o, const opt_spec *s, const char *text, double v)
{
    if (s->hi >= 1e15) { /* no upper bound worth naming unless v passed it */
        if (v > s->lo) return cli_usage_error(o, "--%s: '%s' is out of range: at most %.15g", s->name, text, s->hi);
        return cli_usage_error(o, "--%s: '%s' is out of range: must be %s %.15g", s->name, text,
                               s->lo_open ? "greater than" : "at least", s->lo);
    }
    return cli_usage_error(o, "--%s: '%s' is out of range: must be in %c%.15g, %.15g%c", s->name, text,
                           s->lo_open ? '(' : '[', s->lo, s->hi, s->hi_open ? ')' : ']');
}

/* Whether v lies in the option's range. */
static int in_range(const opt_spec *s, double v)
{
    if (s->lo_open ? !(v > s->lo) : !(v >= s->lo)) return 0;
    if (s->hi_open ? !(v < s->hi) : !(v <= s->hi)) return 0;
    return 1;
}

/* Judges a number strtol or strtod read from text, up to end: not `what` it should be
 * ("a whole number", "a number") unless it is all of text, then whether it is finite
 * and, as the option will hold it (*v rounded to a float for K_FLOAT), in range.
 * Returns -1, or a usage exit status. */
static int check_number(cli_opts *o, const opt_spec *s, const char *text, const char *end, const char *what, double *v)
{
    if (end == text || *end || !*text) return cli_usage_error(o, "--%s: '%s' is not %s", s->name, text, what);
    if (isnan(*v) || (isinf(*v) && errno != ERANGE))
        return cli_usage_error(o, "--%s: '%s' is not a finite number", s->name, text);
    /* Judge a float by the value it will hold: 1e-50 becomes 0, 1e99 infinity. */
    if (s->kind == K_FLOAT && fabs(*v) <= FLT_MAX) *v = (float)*v;
    if (errno == ERANGE || !in_range(s, *v)) return range_error(o, s, text, *v);
    return -1;
}

/* Stores a checked number in an option's field as its kind holds it: K_INT and K_LONG
 * from whole, K_FLOAT and K_DOUBLE from real. */
static void store_number(char *field, opt_kind kind, long whole, double real)
{
    int i32 = (int)whole;
    float f32 = (float)real;
    if (kind == K_INT) memcpy(field, &i32, sizeof i32);
    else if (kind == K_LONG) memcpy(field, &whole, sizeof whole);
    else if (kind == K_FLOAT) memcpy(field, &f32, sizeof f32);
    else memcpy(field, &real, sizeof real);
}

/* Parses text as the option's value into *o; returns -1 or a usage exit status. */
static int parse_value(cli_opts *o, const opt_spec *s, const char *text)
{
    char *field = (char *)o + s->offset;
    char *end = NULL;
    errno = 0;
    switch (s->kind) {
    case K_STR:
        if (!*text) return cli_usage_error(o, "--%s: the value is empty", s->name);
        memcpy(field, &text, sizeof text);
        return -1;
    case K_INT:
    case K_LONG:
    case K_FLOAT:
    case K_DOUBLE: {
        int whole = s->kind == K_INT || s->kind == K_LONG;
        long lv = whole ? strtol(text, &end, 10) : 0;
        double v = whole ? (double)lv : strtod(text, &end);
        int rc = check_number(o, s, text, end, whole ? "a whole number" : "a number", &v);
        if (rc < 0) store_number(field, s->kind, lv, v);
        return rc;
    }
    case K_U64: {
        /* strtoull accepts a sign and wraps "-1" around, so insist on digits. */
        if (*text < '0' || *text > '9')
            return cli_usage_error(o, "--%s: '%s' is not a non-negative whole number", s->name, text);
        unsigned long long v = strtoull(text, &end, 10);
        if (*end) return cli_usage_error(o, "--%s: '%s' is not a non-negative whole number", s->name, text);
        if (errno == ERANGE) return cli_usage_error(o, "--%s: '%s' is too large", s->name, text);
        uint64_t u = (uint64_t)v;
        memcpy(field, &u, sizeof u);
        return -1;
    }
    case K_FLAG:
        break;
    }
    return -1;
}

/* Finds an option by the name in arg (which may continue with "=value"). */
static const opt_spec *find_option(const char *name, size_t len)
{
    for (size_t i = 0; i < COUNT(opt_table); i++)
        if (strlen(opt_table[i].name) == len && strncmp(opt_table[i].name, name, len) == 0)
            return &opt_table[i];
    return NULL;
}

/* Whether text names a device: auto, cpu, opencl or opencl:N. */
static int valid_device(const char *text)
{
    if (!strcmp(text, "auto") || !strcmp(text, "cpu") || !strcmp(text, "opencl")) return 1;
    if (strncmp(text, "opencl:", 7) != 0 || !text[7]) return 0;
    for (const char *p = text + 7; *p; p++)
        if (*p < '0' || *p > '9') return 0;
    return 1;
}

/* ------------------------------------------------ options a model remembers */

/* The options of `train` a model file records (as notes "train.NAME"): those the
 * commands reading a model and data (readers) take from it when they are not given
 * (the data, how a series is cut and scaled, the corruption a denoiser or upscaler
 * undoes, the subset a test figure was taken on), and those of the run that only
 * `train --resume` takes (readers 0). `always`: recorded at its default too. */
typedef struct recorded_opt {
    cli_opt_id id;
    unsigned readers; /* commands that take it as their default */
    int always;
} recorded_opt;
/* Commands that read a MODEL operand and data, and so take recorded options. */
#define RECORDED_CMDS (CMD_EVAL | CMD_RECONSTRUCT | CMD_SCORE | CMD_GENERATE | CMD_EMBED | CMD_ANOMALY)
static const recorded_opt recorded_opts[] = {
    {OPT_DATA, RECORDED_CMDS, 1}, {OPT_WINDOW, RECORDED_CMDS, 0}, {OPT_STRIDE, RECORDED_CMDS, 0},
    {OPT_COLUMNS, RECORDED_CMDS, 0}, {OPT_TEST_SPLIT, RECORDED_CMDS, 0}, {OPT_INTERPOLATE, RECORDED_CMDS, 0},
    {OPT_WIDE, RECORDED_CMDS, 0}, {OPT_CENTER_WINDOWS, RECORDED_CMDS, 0}, {OPT_NOISE, RECORDED_CMDS, 0},
    {OPT_DOWNSCALE, RECORDED_CMDS, 0}, {OPT_CLASS, CMD_ANOMALY, 0}, {OPT_LIMIT, CMD_EVAL | CMD_RECONSTRUCT, 0},
    {OPT_SEED, CMD_EVAL, 1}, {OPT_PATCH, 0, 0}, {OPT_CHANNELS, 0, 0},
    /* the run's own */
    {OPT_ARCH, 0, 1}, {OPT_LOSS, 0, 1}, {OPT_EPOCHS, 0, 1}, {OPT_BATCH, 0, 1}, {OPT_OPTIMIZER, 0, 1},
    {OPT_LR, 0, 0}, {OPT_MOMENTUM, 0, 0}, {OPT_NESTEROV, 0, 0}, {OPT_CLIPNORM, 0, 0}, {OPT_GLOBAL_CLIPNORM, 0, 0},
    {OPT_VALIDATION_SPLIT, 0, 0}, {OPT_PATIENCE, 0, 0}, {OPT_AUGMENT, 0, 0}, {OPT_KL_WARMUP, 0, 0},
};
/* What `train --resume` may change: the run's length, where and how it runs and saves. */
#define RESUME_FREE ((1ull << OPT_EPOCHS) | (1ull << OPT_DEVICE) | (1ull << OPT_THREADS) | (1ull << OPT_QUIET) | \
                     (1ull << OPT_OUT) | (1ull << OPT_PNG) | (1ull << OPT_RESUME) | (1ull << OPT_CHECKPOINT_EVERY) | \
                     (1ull << OPT_CHECKPOINT_MINUTES))

/* The table entry of option id. */
static const opt_spec *option_by_id(cli_opt_id id)
{
    for (size_t i = 0; i < COUNT(opt_table); i++)
        if (opt_table[i].id == id) return &opt_table[i];
    return NULL;
}

/* Whether id is among the options that say how a series is read. */
static int shapes_series(cli_opt_id id)
{
    return id == OPT_WINDOW || id == OPT_STRIDE || id == OPT_COLUMNS || id == OPT_TEST_SPLIT ||
           id == OPT_INTERPOLATE || id == OPT_WIDE || id == OPT_CENTER_WINDOWS;
}

/* Writes option s's value in o as a note holds it into value (size bytes); 0 when the
 * kind is not one a note holds. */
static int format_value(const cli_opts *o, const opt_spec *s, char *value, size_t size)
{
    const char *field = (const char *)o + s->offset;
    int i32;
    long l;
    float f32;
    uint64_t u64;
    const char *str;
    switch (s->kind) {
    case K_FLAG:
    case K_INT: memcpy(&i32, field, sizeof i32); snprintf(value, size, "%d", i32); return 1;
    case K_LONG: memcpy(&l, field, sizeof l); snprintf(value, size, "%ld", l); return 1;
    case K_U64: memcpy(&u64, field, sizeof u64); snprintf(value, size, "%llu", (unsigned long long)u64); return 1;
    case K_FLOAT: /* the shortest of 7 or 9 digits that reads back as the same float */
        memcpy(&f32, field, sizeof f32);
        snprintf(value, size, "%.7g", (double)f32);
        if (strtof(value, NULL) != f32) snprintf(value, size, "%.9g", (double)f32);
        return 1;
    case K_STR: memcpy(&str, field, sizeof str); snprintf(value, size, "%s", str ? str : ""); return 1;
    case K_DOUBLE: return 0;
    }
    return 0;
}

lt_status cli_record_options(const cli_opts *o, lt_model *m)
{
    lt_status st = LT_OK;
    /* an earlier training's notes (a model trained on with --init-from) go first */
    for (int i = lt_model_meta_count(m) - 1; i >= 0 && st == LT_OK; i--) {
        const char *key = lt_model_meta_key(m, i);
        if (key && strncmp(key, "train.", 6) == 0) st = lt_model_set_meta(m, key, NULL);
    }
    for (size_t i = 0; i < COUNT(recorded_opts) && st == LT_OK; i++) {
        const opt_spec *s = option_by_id(recorded_opts[i].id);
        /* a series' test split even at its default, so the cut stays */
        int keep = cli_given(o, s->id) || recorded_opts[i].always || (s->id == OPT_TEST_SPLIT && o->window);
        char key[64], value[4200];
        if (!keep || !format_value(o, s, value, sizeof value)) continue;
        if (s->kind == K_STR && !value[0]) continue; /* no value (an --arch the data chose is filled in) */
        snprintf(key, sizeof key, "train.%s", s->name);
        st = lt_model_set_meta(m, key, value);
    }
    return st;
}

/* Appends " --NAME VALUE" (" --NAME" for a flag) to line (size bytes, used so far). */
static size_t say_option(char *line, size_t size, size_t used, const opt_spec *s, const char *value)
{
    if (used >= size) return used;
    int n = snprintf(line + used, size - used, s->kind == K_FLAG ? " --%s" : " --%s %s", s->name, value);
    return n < 0 ? used : used + (size_t)n;
}

/* Writes into line the options m records from training, as " --data X --wide"; 0 when none. */
int cli_recorded_options(const lt_model *m, char *line, size_t size)
{
    char key[64];
    size_t used = 0;
    line[0] = 0;
    for (size_t i = 0; i < COUNT(recorded_opts); i++) {
        const opt_spec *s = option_by_id(recorded_opts[i].id);
        snprintf(key, sizeof key, "train.%s", s->name);
        const char *value = lt_model_meta(m, key);
        if (value && (s->kind != K_FLAG || strcmp(value, "1") == 0)) used = say_option(line, size, used, s, value);
    }
    return used > 0;
}

/* The kind of a --data value, to tell whether a model's recorded series options fit
 * it: 0 a name (fashion-mnist, swiss-roll), 1 a file (a CSV), 2 a folder, -1 missing. */
static int data_path_kind(const char *data)
{
    struct stat sb;
    if (!strcmp(data, "fashion-mnist") || !strcmp(data, "swiss-roll")) return 0;
    if (stat(data, &sb) != 0) return -1;
    return S_ISDIR(sb.st_mode) ? 2 : 1;
}

/* Marks option s as given, by the notes of model. */
static void note_recorded(cli_opts *o, const opt_spec *s, const char *model)
{
    o->given |= (uint64_t)1 << s->id;
    o->recorded |= (uint64_t)1 << s->id;
    o->recorded_from = model;
    size_t used = strlen(o->recorded_names);
    if (used + strlen(s->name) + 4 < sizeof o->recorded_names)
        snprintf(o->recorded_names + used, sizeof o->recorded_names - used, "%s--%s ", used ? "" : " ", s->name);
}

/* Takes option s's value recorded in model as if given: copied into o's recorded_text
 * (*used bytes taken so far), parsed, marked, and added to the list in said (*nsaid
 * bytes used). -1 to go on, else an exit status. */
static int take_recorded(cli_opts *o, const opt_spec *s, const char *value, const char *model, size_t *used, char *said,
                         size_t said_size, size_t *nsaid)
{
    size_t n = strlen(value) + 1;
    if (*used + n > sizeof o->recorded_text) return cli_fail(o, "'%s': its recorded options are too long", model);
    char *text = o->recorded_text + *used;
    memcpy(text, value, n);
    *used += n;
    if (s->kind == K_FLAG) {
        int on = strcmp(text, "1") == 0;
        memcpy((char *)o + s->offset, &on, sizeof on);
    } else if (parse_value(o, s, text) >= 0) {
        fprintf(stderr, "latent %s: (the value above is recorded in '%s')\n", o->cmd_name, model);
        return CLI_RUNTIME;
    }
    note_recorded(o, s, model);
    if (s->kind != K_FLAG || strcmp(text, "1") == 0) *nsaid = say_option(said, said_size, *nsaid, s, text);
    return -1;
}

/* Takes the options MODEL recorded at training that were not given here (the series
 * options only when --data is not given or is also a file); says which on stderr.
 * -1 to go on, else an exit status. */
static int apply_recorded(cli_opts *o, const char *model)
{
    char value[4200], key[64], said[1024] = "";
    size_t used = 0, nsaid = 0;
    int data_fits = 1;
    if (cli_given(o, OPT_DATA)) {
        if (lt_file_meta(model, "train.data", value, sizeof value) != 1) return -1;
        data_fits = data_path_kind(o->data) == 1 && data_path_kind(value) == 1;
    }
    for (size_t i = 0; i < COUNT(recorded_opts); i++) {
        const opt_spec *s = option_by_id(recorded_opts[i].id);
        if (cli_given(o, s->id) || !(s->cmds & o->cmd) || !(recorded_opts[i].readers & o->cmd)) continue;
        if (shapes_series(s->id) && !data_fits) continue;
        if ((s->id == OPT_NOISE || s->id == OPT_DOWNSCALE) && (cli_given(o, OPT_NOISE) || cli_given(o, OPT_DOWNSCALE)))
            continue;
        snprintf(key, sizeof key, "train.%s", s->name);
        int found = lt_file_meta(model, key, value, sizeof value);
        if (found != 1) continue; /* none recorded, or a file lt_load will judge */
        int rc = take_recorded(o, s, value, model, &used, said, sizeof said, &nsaid);
        if (rc >= 0) return rc;
    }
    if (nsaid && !o->quiet)
        fprintf(stderr, "latent: as '%s' was trained:%s%s\n", model, said, nsaid >= sizeof said ? "..." : "");
    return -1;
}

/* train --resume MODEL: takes every option the run of MODEL recorded. One also given
 * here must have the recorded value, and one the run did not record must not be given,
 * except those a resumed run may change (RESUME_FREE): a usage error names it. -1 to go
 * on (an unreadable MODEL too: loading it says why), else an exit status. */
static int apply_run(cli_opts *o, const char *model)
{
    char value[4200], key[64], mine[4200], said[2048] = "";
    size_t used = 0, nsaid = 0;
    uint64_t known = 0;
    int has_run = lt_file_meta(model, "train.epochs", value, sizeof value);
    if (has_run < 0) return -1;
    if (has_run == 0)
        return cli_fail(o, "--resume: '%s' records no run of 'latent train' to go on with (to train on from its "
                        "weights, use --init-from %s)", model, model);
    for (size_t i = 0; i < COUNT(recorded_opts); i++) {
        const opt_spec *s = option_by_id(recorded_opts[i].id);
        uint64_t bit = (uint64_t)1 << s->id;
        known |= bit;
        snprintf(key, sizeof key, "train.%s", s->name);
        int found = lt_file_meta(model, key, value, sizeof value);
        if (found < 0) return -1;
        if (cli_given(o, s->id) && !(RESUME_FREE & bit)) {
            if (found != 1)
                return cli_usage_error(o, "--%s: '%s' was trained without it, and a resumed run keeps its settings (to "
                                       "train on from its weights with other settings, use --init-from %s)", s->name,
                                       model, model);
            format_value(o, s, mine, sizeof mine);
            if (strcmp(mine, value) != 0)
                return cli_usage_error(o, "--%s %s: '%s' was trained with --%s %s, and a resumed run keeps its settings "
                                       "(to train on from its weights with other settings, use --init-from %s)", s->name,
                                       mine, model, s->name, value, model);
            continue;
        }
        if (found != 1 || cli_given(o, s->id)) continue;
        int rc = take_recorded(o, s, value, model, &used, said, sizeof said, &nsaid);
        if (rc >= 0) return rc;
    }
    for (size_t i = 0; i < COUNT(opt_table); i++) {
        uint64_t bit = (uint64_t)1 << opt_table[i].id;
        if (cli_given(o, opt_table[i].id) && !(known & bit) && !(RESUME_FREE & bit))
            return cli_usage_error(o, "--%s does not go with --resume: a resumed run keeps its settings (to train on "
                                   "from the weights of '%s' with other settings, use --init-from)", opt_table[i].name,
                                   model);
    }
    if (nsaid && !o->quiet)
        fprintf(stderr, "latent: resuming '%s' as it was trained:%s%s\n", model, said, nsaid >= sizeof said ? "..." : "");
    return -1;
}

/* Fills the defaults that do not depend on what was given. */
static void set_defaults(cli_opts *o)
{
    const char *env = getenv("LATENT_DEVICE");
    o->device = env && *env ? env : "auto";
    o->seed = 1;
    o->epochs = 5;
    o->batch = 256;
    o->optimizer = "adam";
    o->n = 10;
    o->spread = 0.5f;
    o->method = "code";
    o->percentile = 95.0f;
    o->k_list = "2,8,32,64";
    o->hidden = "256,64";
    o->pretrain_epochs = 5;
    o->seconds = 3.0;
    o->test_split = 0.2f;
}

/* Parses a subcommand's arguments into o: -1 to go on, else the exit status. */
int cli_parse(int argc, char **argv, cli_opts *o)
{
    cli_cmd cmd = cli_cmd_lookup(argv[0]);
    memset(o, 0, sizeof *o);
    o->cmd_name = argv[0];
    if (!cmd) return cli_usage_error(o, "unknown command");
    o->cmd = cmd;
    set_defaults(o);

    int options_done = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!options_done && strcmp(arg, "--") == 0) {
            options_done = 1;
            continue;
        }
        if (options_done || arg[0] != '-' || arg[1] == '\0') { /* an operand ("-" too) */
            if (o->npositional >= cli_cmd_max_operands(o->cmd))
                return cli_usage_error(o, "unexpected argument '%s'", arg);
            o->positional[o->npositional++] = arg;
            continue;
        }
        if (strcmp(arg, "-h") == 0) arg = "--help";
        if (arg[1] != '-') return cli_usage_error(o, "unknown option '%s' (options start with --)", arg);

        const char *name = arg + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const opt_spec *s = find_option(name, len);
        if (!s) return cli_usage_error(o, "unknown option '--%.*s'", (int)len, name);
        if (!(s->cmds & o->cmd)) return cli_usage_error(o, "option '--%s' does not apply to '%s'", s->name, o->cmd_name);
        if (s->id == OPT_HELP) {
            cli_print_cmd_help(o->cmd_name);
            return CLI_OK;
        }
        if (s->kind == K_FLAG) {
            if (eq) return cli_usage_error(o, "option '--%s' takes no value", s->name);
            int one = 1;
            memcpy((char *)o + s->offset, &one, sizeof one);
        } else {
            const char *value = eq ? eq + 1 : NULL;
            /* "--epochs --batch 3" forgot a value: an option never serves as one. */
            if (!eq && i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) value = argv[++i];
            if (!value) return cli_usage_error(o, "option '--%s' needs a value", s->name);
            int rc = parse_value(o, s, value);
            if (rc >= 0) return rc;
        }
        o->given |= (uint64_t)1 << s->id;
    }

    if ((o->cmd & RECORDED_CMDS) && o->npositional > 0) {
        int rc = apply_recorded(o, o->positional[0]);
        if (rc >= 0) return rc;
    }
    if (o->cmd == CMD_TRAIN && o->resume) {
        int rc = apply_run(o, o->resume);
        if (rc >= 0) return rc;
        if (!cli_given(o, OPT_OUT)) o->out = o->resume; /* the run goes on in its own file */
    }
    if (o->cmd == CMD_TRAIN && o->init_from && o->arch)
        return cli_usage_error(o, "--arch and --init-from: the architecture comes from '%s'; give one", o->init_from);
    if (!valid_device(o->device)) {
        if (cli_given(o, OPT_DEVICE))
            return cli_usage_error(o, "--device: unknown device '%s' (expected auto, cpu, opencl or opencl:N)", o->device);
        return cli_usage_error(o, "LATENT_DEVICE: unknown device '%s' (expected auto, cpu, opencl or opencl:N)", o->device);
    }
    if (!o->data && (o->cmd & (CMD_TRAIN | CMD_EVAL | CMD_RECONSTRUCT | CMD_SCORE | LATENT_CMDS))) o->data = "fashion-mnist";
    if (o->cmd == CMD_EMBED && strcmp(o->method, "code") != 0 && strcmp(o->method, "pca") != 0 &&
        strcmp(o->method, "tsne") != 0)
        return cli_usage_error(o, "--method: unknown method '%s' (expected code, pca or tsne)", o->method);
    if (o->cmd == CMD_EMBED && strcmp(o->method, "tsne") == 0 && !cli_given(o, OPT_LIMIT)) o->limit = 2000;
    if ((o->cmd & (CMD_ANOMALY | CMD_GENERATE)) && o->npositional < 1) return cli_usage_error(o, "missing the MODEL file");
    if (o->cmd == CMD_EMBED && o->npositional < 1 && strcmp(o->method, "pca") != 0)
        return cli_usage_error(o, "missing the MODEL file (only --method pca works without one)");
    if (!o->out)
        o->out = o->cmd == CMD_RECONSTRUCT ? "reconstruction.png" : o->cmd == CMD_GENERATE ? "generated.png"
               : o->cmd == CMD_EMBED ? "embed.png" : o->cmd == CMD_ANOMALY ? "anomaly.csv"
               : o->cmd == CMD_CLASSIFY ? "classifier.lt" : "model.lt";
    if (o->cmd == CMD_GENERATE && !cli_given(o, OPT_N)) o->n = 16;
    if (o->cmd == CMD_GENERATE && cli_given(o, OPT_CLASS) + (o->between != NULL) + cli_given(o, OPT_GRID) > 1)
        return cli_usage_error(o, "--class, --between and --grid: give one");
    if (o->window && o->cmd == CMD_TRAIN && !cli_given(o, OPT_BATCH)) o->batch = 32; /* a series gives few windows */
    if (!o->window && (cli_given(o, OPT_TEST_SPLIT) || o->wide || o->center_windows))
        return cli_usage_error(o, "--test-split, --wide and --center-windows apply to a CSV series read with --window");
    if (o->window && o->cmd == CMD_ANOMALY && cli_given(o, OPT_LIMIT))
        return cli_usage_error(o, "--limit: anomaly scores every window of a --window series");
    if (o->cmd == CMD_ANOMALY && o->png && !o->window)
        return cli_usage_error(o, "--png: anomaly draws a plot for a CSV series read with --window only");
    if (cli_given(o, OPT_CHANNELS) && o->channels == 2)
        return cli_usage_error(o, "--channels: '2' is not an image kind: 1 (gray) or 3 (RGB)");
    if (cli_given(o, OPT_NOISE) && cli_given(o, OPT_DOWNSCALE))
        return cli_usage_error(o, "--noise and --downscale: give one");
    if (o->cmd == CMD_SCORE && !cli_given(o, OPT_NOISE) && !cli_given(o, OPT_DOWNSCALE))
        return cli_usage_error(o, "say what to score: --noise S (denoising) or --downscale F (super-resolution)");
    if ((o->cmd & (CMD_DENOISE | CMD_UPSCALE)) && o->npositional != 3)
        return cli_usage_error(o, "expected MODEL IN OUT.png, got %d operand%s", o->npositional, o->npositional == 1 ? "" : "s");
    return -1;
}
