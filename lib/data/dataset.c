/* Datasets: host-side rows of floats with optional labels and per-sample values. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "backend/philox.h"

/* Zeroed n x dim floats plus optional zeroed labels and values; n, dim >= 1. */
lt_status lt_dataset_alloc(lt_ctx *ctx, size_t n, size_t dim, int with_labels, int with_values,
                           lt_dataset **out)
{
    if (!out) return lt_set_error(ctx, LT_ERR_ARG, "lt_dataset_alloc: out is NULL");
    *out = NULL;
    if (n == 0 || dim == 0)
        return lt_set_error(ctx, LT_ERR_ARG, "dataset of %zu x %zu: rows and dim must be >= 1", n, dim);
    if (n > SIZE_MAX / sizeof(float) / dim)
        return lt_set_error(ctx, LT_ERR_NOMEM, "dataset of %zu x %zu floats: size overflows", n, dim);
    lt_dataset *ds = calloc(1, sizeof *ds);
    if (!ds) return lt_set_error(ctx, LT_ERR_NOMEM, "out of host memory for a dataset");
    ds->n = n;
    ds->dim = dim;
    ds->x = calloc(n * dim, sizeof(float));
    /* n * dim fits size_t (checked above), so n alone does for labels and values */
    if (ds->x && with_labels) ds->labels = calloc(n, sizeof(int32_t));
    if (ds->x && with_values) ds->values = calloc(n, sizeof(float));
    if (!ds->x || (with_labels && !ds->labels) || (with_values && !ds->values)) {
        lt_dataset_free(ds);
        return lt_set_error(ctx, LT_ERR_NOMEM, "out of host memory for a dataset of %zu x %zu floats",
                            n, dim);
    }
    *out = ds;
    return LT_OK;
}

/* Copies a caller's array after checking every value is finite. */
lt_status lt_dataset_from_array(lt_ctx *ctx, size_t n, size_t dim, const float *x,
                                const int32_t *labels, lt_dataset **out)
{
    if (!out) return lt_set_error(ctx, LT_ERR_ARG, "lt_dataset_from_array: out is NULL");
    *out = NULL;
    if (!x) return lt_set_error(ctx, LT_ERR_ARG, "lt_dataset_from_array: x is NULL");
    if (n == 0 || dim == 0)
        return lt_set_error(ctx, LT_ERR_ARG, "lt_dataset_from_array: n = %zu, dim = %zu (both must be >= 1)",
                            n, dim);
    if (n > SIZE_MAX / sizeof(float) / dim)
        return lt_set_error(ctx, LT_ERR_ARG, "lt_dataset_from_array: %zu x %zu floats overflow", n, dim);
    /* check before allocating: a bad array costs no memory */
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < dim; j++)
            if (!isfinite(x[i * dim + j]))
                return lt_set_error(ctx, LT_ERR_NONFINITE,
                                    "lt_dataset_from_array: x[%zu][%zu] (row %zu, column %zu, 0-based) is %s",
                                    i, j, i, j,
                                    isnan(x[i * dim + j]) ? "NaN" : "infinite");
    lt_dataset *ds;
    lt_status st = lt_dataset_alloc(ctx, n, dim, labels != NULL, 0, &ds);
    if (st != LT_OK) return st;
    memcpy(ds->x, x, n * dim * sizeof(float));
    if (labels) memcpy(ds->labels, labels, n * sizeof(int32_t));
    *out = ds;
    return LT_OK;
}

/* Gives dst the image and sequence shape of src. */
static void copy_shape(lt_dataset *dst, const lt_dataset *src)
{
    dst->h = src->h;
    dst->w = src->w;
    dst->c = src->c;
    dst->steps = src->steps;
    dst->features = src->features;
}

/* Copies rows [start, start+count) with their labels, values, image and sequence shape. */
lt_status lt_dataset_slice(lt_ctx *ctx, const lt_dataset *ds, size_t start, size_t count,
                           lt_dataset **out)
{
    if (!out) return lt_set_error(ctx, LT_ERR_ARG, "lt_dataset_slice: out is NULL");
    *out = NULL;
    if (!ds) return lt_set_error(ctx, LT_ERR_ARG, "lt_dataset_slice: dataset is NULL");
    /* written so that start + count cannot wrap */
    if (count == 0 || start >= ds->n || count > ds->n - start)
        return lt_set_error(ctx, LT_ERR_ARG,
                            "lt_dataset_slice: rows [%zu, %zu + %zu) are not a non-empty range of the "
                            "dataset's %zu rows", start, start, count, ds->n);
    lt_dataset *s;
    lt_status st = lt_dataset_alloc(ctx, count, ds->dim, ds->labels != NULL, ds->values != NULL, &s);
    if (st != LT_OK) return st;
    memcpy(s->x, ds->x + start * ds->dim, count * ds->dim * sizeof(float));
    if (ds->labels) memcpy(s->labels, ds->labels + start, count * sizeof(int32_t));
    if (ds->values) memcpy(s->values, ds->values + start, count * sizeof(float));
    copy_shape(s, ds);
    *out = s;
    return LT_OK;
}

/* Frees a dataset and its arrays; NULL is a no-op. */
void lt_dataset_free(lt_dataset *ds)
{
    if (!ds) return;
    free(ds->x);
    free(ds->labels);
    free(ds->values);
    free(ds);
}

/* Accessors: a NULL dataset reads as empty. */
size_t lt_dataset_count(const lt_dataset *ds) { return ds ? ds->n : 0; }
size_t lt_dataset_dim(const lt_dataset *ds) { return ds ? ds->dim : 0; }
const float *lt_dataset_data(const lt_dataset *ds) { return ds ? ds->x : NULL; }
const int32_t *lt_dataset_labels(const lt_dataset *ds) { return ds ? ds->labels : NULL; }
const float *lt_dataset_values(const lt_dataset *ds) { return ds ? ds->values : NULL; }

/* Any of h, w, c may be NULL when the caller does not want it. */
void lt_dataset_image_shape(const lt_dataset *ds, int *h, int *w, int *c)
{
    if (h) *h = ds ? ds->h : 0;
    if (w) *w = ds ? ds->w : 0;
    if (c) *c = ds ? ds->c : 0;
}

/* Either pointer may be NULL when the caller does not want it. */
void lt_dataset_seq_shape(const lt_dataset *ds, int *steps, int *features)
{
    if (steps) *steps = ds ? ds->steps : 0;
    if (features) *features = ds ? ds->features : 0;
}

lt_status lt_dataset_moments(lt_ctx *ctx, const lt_dataset *ds, double *mean, double *sd)
{
    if (!ds || !mean || !sd) return lt_set_error(ctx, LT_ERR_ARG, "lt_dataset_moments: NULL argument");
    if (ds->n == 0) return lt_set_error(ctx, LT_ERR_ARG, "standardize: no samples to fit on");
    for (size_t j = 0; j < ds->dim; j++) mean[j] = sd[j] = 0.0;
    for (size_t i = 0; i < ds->n; i++)
        for (size_t j = 0; j < ds->dim; j++) mean[j] += ds->x[i * ds->dim + j];
    for (size_t j = 0; j < ds->dim; j++) mean[j] /= (double)ds->n;
    for (size_t i = 0; i < ds->n; i++)
        for (size_t j = 0; j < ds->dim; j++) {
            double d = ds->x[i * ds->dim + j] - mean[j];
            sd[j] += d * d;
        }
    for (size_t j = 0; j < ds->dim; j++) {
        sd[j] = sqrt(sd[j] / (double)ds->n);
        if (!(sd[j] > 1e-12)) sd[j] = 1.0; /* a constant column is only centred */
    }
    return LT_OK;
}

lt_status lt_dataset_scale(lt_ctx *ctx, lt_dataset *ds, const double *mean, const double *sd)
{
    if (!ds || !mean || !sd) return lt_set_error(ctx, LT_ERR_ARG, "lt_dataset_scale: NULL argument");
    for (size_t j = 0; j < ds->dim; j++)
        if (!isfinite(mean[j]) || !isfinite(sd[j]) || !(sd[j] > 0.0))
            return lt_set_error(ctx, LT_ERR_ARG, "scale: column %zu has mean %g and standard deviation %g (need finite, "
                                "and a deviation above 0)", j + 1, mean[j], sd[j]);
    for (size_t i = 0; i < ds->n; i++)
        for (size_t j = 0; j < ds->dim; j++)
            ds->x[i * ds->dim + j] = (float)((ds->x[i * ds->dim + j] - mean[j]) * (1.0 / sd[j]));
    return LT_OK;
}

lt_status lt_dataset_standardize(lt_ctx *ctx, lt_dataset *ds, const lt_dataset *fit)
{
    if (!ds) return lt_set_error(ctx, LT_ERR_ARG, "lt_dataset_standardize: dataset is NULL");
    if (!fit) fit = ds;
    if (fit->dim != ds->dim)
        return lt_set_error(ctx, LT_ERR_SHAPE, "standardize: fitted on %zu columns, data have %zu", fit->dim, ds->dim);
    double *mean = calloc(ds->dim + 1, sizeof *mean), *sd = calloc(ds->dim + 1, sizeof *sd);
    lt_status st = mean && sd ? LT_OK : lt_set_error(ctx, LT_ERR_NOMEM, "out of host memory");
    /* Fitted before writing, so ds == fit works. */
    if (st == LT_OK) st = lt_dataset_moments(ctx, fit, mean, sd);
    if (st == LT_OK) st = lt_dataset_scale(ctx, ds, mean, sd);
    free(mean);
    free(sd);
    return st;
}

lt_status lt_dataset_add_noise(lt_ctx *ctx, lt_dataset *ds, float stddev, uint64_t seed)
{
    if (!ds) return lt_set_error(ctx, LT_ERR_ARG, "lt_dataset_add_noise: NULL dataset");
    if (!(stddev >= 0.0f) || !isfinite(stddev)) return lt_set_error(ctx, LT_ERR_ARG, "noise stddev must be a finite number >= 0");
    /* Row i draws from counter region i << 32 (element j uses block (i << 32) + j/4), so
     * a sample's noise depends on neither the rows before it nor their width. */
    for (size_t i = 0; i < ds->n; i++)
        for (size_t j = 0; j < ds->dim; j++) ds->x[i * ds->dim + j] += stddev * lt_philox_normal(seed, (uint64_t)i << 32, j);
    return LT_OK;
}

lt_status lt_dataset_filter_label(lt_ctx *ctx, const lt_dataset *ds, int32_t label, int keep, lt_dataset **out)
{
    if (!out) return lt_set_error(ctx, LT_ERR_ARG, "lt_dataset_filter_label: out is NULL");
    *out = NULL;
    if (!ds) return lt_set_error(ctx, LT_ERR_ARG, "lt_dataset_filter_label: dataset is NULL");
    if (!ds->labels) return lt_set_error(ctx, LT_ERR_ARG, "the data have no labels to select class %d by", (int)label);
    size_t k = 0;
    int32_t max_label = -1;
    for (size_t i = 0; i < ds->n; i++) {
        k += (ds->labels[i] == label) == (keep != 0);
        if (ds->labels[i] > max_label) max_label = ds->labels[i];
    }
    if (k == 0)
        return lt_set_error(ctx, LT_ERR_ARG, "no sample %s class %d (labels 0..%d)", keep ? "of" : "outside",
                            (int)label, (int)max_label);
    lt_dataset *s;
    lt_status st = lt_dataset_alloc(ctx, k, ds->dim, 1, ds->values != NULL, &s);
    if (st != LT_OK) return st;
    for (size_t i = 0, j = 0; i < ds->n; i++) {
        if ((ds->labels[i] == label) != (keep != 0)) continue;
        memcpy(s->x + j * ds->dim, ds->x + i * ds->dim, ds->dim * sizeof(float));
        s->labels[j] = ds->labels[i];
        if (ds->values) s->values[j] = ds->values[i];
        j++;
    }
    copy_shape(s, ds);
    *out = s;
    return LT_OK;
}
