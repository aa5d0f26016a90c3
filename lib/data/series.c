/* Time series: sliding windows over the rows of a dataset (rows are time steps,
 * columns features), the samples of sequence models. */
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include "internal.h"

lt_status lt_dataset_windows(lt_ctx *ctx, const lt_dataset *series, size_t window, size_t stride, lt_dataset **out)
{
    if (!out) return lt_set_error(ctx, LT_ERR_ARG, "lt_dataset_windows: out is NULL");
    *out = NULL;
    if (!series) return lt_set_error(ctx, LT_ERR_ARG, "lt_dataset_windows: series is NULL");
    if (window == 0 || stride == 0)
        return lt_set_error(ctx, LT_ERR_ARG, "lt_dataset_windows: window = %zu, stride = %zu (both must be >= 1)", window,
                            stride);
    if (window > series->n)
        return lt_set_error(ctx, LT_ERR_SHAPE, "a window of %zu rows is longer than the series of %zu rows", window,
                            series->n);
    /* the sequence shape is kept in ints, as model shapes are */
    if (window > INT_MAX || series->dim > INT_MAX || window > (size_t)INT_MAX / series->dim)
        return lt_set_error(ctx, LT_ERR_ARG, "windows of %zu rows x %zu features are too large", window, series->dim);
    size_t count = (series->n - window) / stride + 1, width = window * series->dim;
    lt_dataset *ds;
    lt_status st = lt_dataset_alloc(ctx, count, width, 0, 0, &ds);
    if (st != LT_OK) return st;
    /* a window's rows are contiguous in the row-major series: one copy each */
    for (size_t i = 0; i < count; i++)
        memcpy(ds->x + i * width, series->x + i * stride * series->dim, width * sizeof(float));
    ds->steps = (int)window;
    ds->features = (int)series->dim;
    *out = ds;
    return LT_OK;
}

lt_status lt_dataset_center_windows(lt_ctx *ctx, lt_dataset *ds)
{
    if (!ds) return lt_set_error(ctx, LT_ERR_ARG, "lt_dataset_center_windows: dataset is NULL");
    if (ds->steps <= 0 || ds->features <= 0)
        return lt_set_error(ctx, LT_ERR_ARG, "centering windows: the samples are not windows of a series");
    size_t steps = (size_t)ds->steps, features = (size_t)ds->features;
    for (size_t i = 0; i < ds->n; i++) {
        float *w = ds->x + i * ds->dim;
        for (size_t j = 0; j < features; j++) {
            double mean = 0.0;
            for (size_t s = 0; s < steps; s++) mean += w[s * features + j];
            mean /= (double)steps;
            for (size_t s = 0; s < steps; s++) w[s * features + j] = (float)(w[s * features + j] - mean);
        }
    }
    return LT_OK;
}
