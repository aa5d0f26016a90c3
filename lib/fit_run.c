/* The record of a training run that a model carries (lt_fit_run), so that a run
 * stopped and saved can be resumed exactly: its data's digest and options, checked on
 * resume, and how far it got. In a model file it is the PROG section, text lines
 * "key value" in a fixed order; floating-point values are written in C's hexadecimal
 * notation (%a), which reads back bit for bit. */
#include <inttypes.h>
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model.h"

/* Value kinds of the record's fields. */
typedef enum { F_U64, F_INT, F_FLOAT, F_DOUBLE } field_kind;

/* One field of the PROG text: its key, kind and place in lt_fit_run. */
typedef struct run_field {
    const char *key;
    field_kind kind;
    size_t offset;
} run_field;

#define RF(key, kind, member) {key, kind, offsetof(lt_fit_run, member)}
static const run_field fields[] = {
    RF("start_epoch", F_U64, start_epoch), RF("epochs_done", F_U64, epochs_done), RF("epoch_step", F_U64, epoch_step),
    RF("epoch_loss", F_DOUBLE, epoch_loss), RF("best", F_DOUBLE, best), RF("since_best", F_U64, since_best),
    RF("early_stopped", F_INT, early_stopped), RF("epochs", F_U64, epochs), RF("steps", F_U64, steps),
    RF("samples", F_U64, n), RF("dim", F_U64, dim), RF("target_dim", F_U64, ydim), RF("data_digest", F_U64, x_digest),
    RF("target_digest", F_U64, y_digest), RF("batch", F_U64, batch), RF("seed", F_U64, seed),
    RF("shuffle", F_INT, shuffle), RF("patience", F_INT, patience), RF("restore_best", F_INT, restore_best),
    RF("validation_split", F_FLOAT, validation_split), RF("min_delta", F_FLOAT, min_delta), RF("noise", F_FLOAT, noise),
    RF("kl_warmup", F_FLOAT, kl_warmup), RF("rotation", F_FLOAT, augment.rotation_range),
    RF("zoom", F_FLOAT, augment.zoom_range), RF("shear", F_FLOAT, augment.shear_range),
    RF("width_shift", F_FLOAT, augment.width_shift_range), RF("height_shift", F_FLOAT, augment.height_shift_range),
    RF("hflip", F_INT, augment.horizontal_flip), RF("vflip", F_INT, augment.vertical_flip),
};
#undef RF
#define NFIELDS (sizeof fields / sizeof fields[0])

uint64_t lt_data_digest(const float *x, size_t count)
{
    /* 32-bit words folded through a multiply and rotate: fast (the data can be hundreds
     * of megabytes) and sensitive to any changed, added or moved value. */
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (uint64_t)count;
    for (size_t i = 0; i < count; i++) {
        uint32_t w;
        memcpy(&w, &x[i], sizeof w);
        h = (h ^ w) * 0xFF51AFD7ED558CCDull;
        h ^= h >> 29;
    }
    return h;
}

void lt_fit_run_begin(lt_model *m, const lt_dataset *x, const lt_dataset *y, const lt_fit_opts *o, size_t steps)
{
    lt_fit_run *r = &m->train.run;
    uint64_t done = r->active ? r->epochs_done + (r->epoch_step > 0) : 0; /* a partial epoch counts */
    memset(r, 0, sizeof *r);
    r->active = 1;
    r->start_epoch = r->epochs_done = done;
    r->best = INFINITY;
    r->epochs = (uint64_t)o->epochs;
    r->steps = steps;
    r->n = x->n;
    r->dim = x->dim;
    r->ydim = y->dim;
    r->x_digest = lt_data_digest(x->x, x->n * x->dim);
    r->y_digest = y == x ? 0 : lt_data_digest(y->x, y->n * y->dim);
    r->batch = (uint64_t)o->batch;
    r->seed = o->seed;
    r->shuffle = o->shuffle < 0; /* 1: no shuffling */
    r->patience = o->patience;
    r->restore_best = o->restore_best != 0;
    r->validation_split = o->validation_split;
    r->min_delta = o->min_delta;
    r->noise = o->noise;
    r->kl_warmup = o->kl_warmup;
    if (o->augment) r->augment = *o->augment;
}

/* Whether two floats are the same value, bit for bit. */
static int same_float(float a, float b) { return memcmp(&a, &b, sizeof a) == 0; }

lt_status lt_fit_run_check(lt_model *m, const lt_dataset *x, const lt_dataset *y, const lt_fit_opts *o)
{
    lt_ctx *ctx = m->ctx;
    const lt_fit_run *r = &m->train.run;
    if (!r->active)
        return lt_set_error(ctx, LT_ERR_ARG, "%s: the model records no training run to resume (it was never trained, "
                            "or was saved without its optimizer state)", m->name);
    if (x->n != r->n || x->dim != r->dim || y->dim != r->ydim)
        return lt_set_error(ctx, LT_ERR_ARG, "%s: the run trained on %" PRIu64 " samples of width %" PRIu64 " (targets %"
                            PRIu64 "), not %zu of width %zu (targets %zu): resume it on the same data", m->name, r->n,
                            r->dim, r->ydim, x->n, x->dim, y->dim);
    if ((y == x) != (r->y_digest == 0))
        return lt_set_error(ctx, LT_ERR_ARG, "%s: the run trained %s, not %s", m->name,
                            r->y_digest ? "against separate targets" : "an autoencoder (targets = inputs)",
                            r->y_digest ? "an autoencoder" : "against separate targets");
    if (lt_data_digest(x->x, x->n * x->dim) != r->x_digest)
        return lt_set_error(ctx, LT_ERR_ARG, "%s: the data have the run's shape but other values than it trained on: "
                            "resume it on the same data", m->name);
    if (y != x && lt_data_digest(y->x, y->n * y->dim) != r->y_digest)
        return lt_set_error(ctx, LT_ERR_ARG, "%s: the targets have other values than the run trained on", m->name);
    const lt_augment none = {0}, *a = o->augment ? o->augment : &none;
    const char *differs = (uint64_t)o->batch != r->batch ? "batch"
                          : o->seed != r->seed ? "seed"
                          : (o->shuffle < 0) != r->shuffle ? "shuffling"
                          : !same_float(o->validation_split, r->validation_split) ? "validation split"
                          : o->patience != r->patience ? "patience"
                          : !same_float(o->min_delta, r->min_delta) ? "min_delta"
                          : (o->restore_best != 0) != r->restore_best ? "restore_best"
                          : !same_float(o->noise, r->noise) ? "noise"
                          : !same_float(o->kl_warmup, r->kl_warmup) ? "KL warm-up"
                          : memcmp(a, &r->augment, sizeof *a) != 0 ? "augmentation"
                          : NULL;
    if (differs)
        return lt_set_error(ctx, LT_ERR_ARG, "%s: the %s differs from the one the run began with; a resumed run keeps "
                            "its settings", m->name, differs);
    return LT_OK;
}

size_t lt_fit_run_text(const lt_fit_run *r, char *out, size_t size)
{
    size_t used = 0;
    for (size_t i = 0; i < NFIELDS; i++) {
        const char *p = (const char *)r + fields[i].offset;
        char line[128];
        uint64_t u;
        int v;
        float f;
        double d;
        switch (fields[i].kind) {
        case F_U64: memcpy(&u, p, sizeof u); snprintf(line, sizeof line, "%s %" PRIu64 "\n", fields[i].key, u); break;
        case F_INT: memcpy(&v, p, sizeof v); snprintf(line, sizeof line, "%s %d\n", fields[i].key, v); break;
        case F_FLOAT: memcpy(&f, p, sizeof f); snprintf(line, sizeof line, "%s %a\n", fields[i].key, (double)f); break;
        case F_DOUBLE: memcpy(&d, p, sizeof d); snprintf(line, sizeof line, "%s %a\n", fields[i].key, d); break;
        }
        size_t n = strlen(line);
        if (out && used + n <= size) memcpy(out + used, line, n);
        used += n;
    }
    return used;
}

/* Parses one field's value text into r; 0, or -1 when it is not a value of its kind. */
static int parse_field(lt_fit_run *r, const run_field *fd, const char *text)
{
    char *p = (char *)r + fd->offset, *end = NULL;
    if (fd->kind == F_U64 || fd->kind == F_INT) {
        if (*text < '0' || *text > '9') return -1;
        unsigned long long u = strtoull(text, &end, 10);
        if (*end || (fd->kind == F_INT && u > 1000000000ull)) return -1;
        uint64_t u64 = (uint64_t)u;
        int v = (int)u;
        if (fd->kind == F_U64) memcpy(p, &u64, sizeof u64);
        else memcpy(p, &v, sizeof v);
        return 0;
    }
    double d = strtod(text, &end);
    /* a float field takes a float's range: 1e300 would become inf, written back as
     * "inf", which no loader takes */
    if (end == text || *end || isnan(d) || (fd->kind == F_FLOAT && !(fabs(d) <= FLT_MAX))) return -1;
    float f = (float)d;
    if (fd->kind == F_FLOAT) memcpy(p, &f, sizeof f);
    else memcpy(p, &d, sizeof d);
    return 0;
}

int lt_fit_run_parse(lt_fit_run *r, const char *text, size_t n, char *why, size_t why_size)
{
    memset(r, 0, sizeof *r);
    size_t pos = 0;
    for (size_t i = 0; i < NFIELDS; i++) {
        const char *line = text + pos, *nl = memchr(line, '\n', n - pos);
        size_t klen = strlen(fields[i].key);
        char value[96];
        if (!nl || (size_t)(nl - line) <= klen + 1 || (size_t)(nl - line) - klen - 1 >= sizeof value ||
            memcmp(line, fields[i].key, klen) != 0 || line[klen] != ' ') {
            snprintf(why, why_size, "expected the line '%s VALUE'", fields[i].key);
            return -1;
        }
        memcpy(value, line + klen + 1, (size_t)(nl - line) - klen - 1);
        value[(size_t)(nl - line) - klen - 1] = 0;
        if (parse_field(r, &fields[i], value) != 0) {
            snprintf(why, why_size, "'%s' is not a valid %s", value, fields[i].key);
            return -1;
        }
        pos = (size_t)(nl - text) + 1;
    }
    if (pos != n) {
        snprintf(why, why_size, "%zu unexpected bytes after the last line", n - pos);
        return -1;
    }
    /* What lt_fit relies on: counts it can index with, a step inside an epoch. */
    if (r->epochs < 1 || r->epochs > 1000000 || r->steps < 1 || r->steps > ((uint64_t)1 << 32) ||
        r->epoch_step >= r->steps || r->epochs_done > ((uint64_t)1 << 40) || r->start_epoch > r->epochs_done ||
        r->epochs_done - r->start_epoch > (uint64_t)r->epochs || /* this run's epochs done: at most its epochs */
        r->batch < 1 || r->batch > ((uint64_t)1 << 20) || r->since_best > r->epochs_done || r->early_stopped > 1 ||
        r->restore_best > 1 || r->shuffle > 1 || r->patience > 1000000) {
        snprintf(why, why_size, "inconsistent counts");
        return -1;
    }
    r->active = 1;
    return 0;
}

lt_status lt_model_progress(const lt_model *m, lt_fit_point *where)
{
    if (!m || !where) return LT_ERR_ARG;
    const lt_fit_run *r = &m->train.run;
    if (!r->active)
        return lt_set_error(m->ctx, LT_ERR_ARG, "%s: the model records no training run (it was never trained, or was "
                            "saved without its optimizer state)", m->name);
    where->epoch = (int)(r->epochs_done - r->start_epoch);
    where->epochs = (int)r->epochs;
    where->step = (size_t)r->epoch_step;
    where->steps = (size_t)r->steps;
    where->early_stopped = r->early_stopped;
    return LT_OK;
}
