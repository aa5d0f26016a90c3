/* Library-internal declarations shared across lib/: the context and error helpers.
 * Not installed. */
#ifndef LT_INTERNAL_H
#define LT_INTERNAL_H

#include "latent.h"
#include "backend/dispatch.h"

/* A device and its error channel. */
struct lt_ctx {
    lt_backend *be;        /* the device every model of this context runs on */
    int threads;           /* host threads for CPU work (<= 0: all)          */
    int model_counter;     /* for Keras-style default names "sequential_N"  */
    struct { char tag[24]; int count; } layer_names[32]; /* per-type name counters */
};

/* Writes a printf-style message into the context's error channel (its backend's
 * error, lt_ctx_error) and returns status (ctx may be NULL). */
lt_status lt_set_error(lt_ctx *ctx, lt_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Allocates n floats on ctx's device for the tensor `what` names ("the training
 * inputs"); on failure the context's message starts with that name. */
lt_status lt_alloc_named(lt_ctx *ctx, size_t n, const char *what, lt_buf **out);

/* A dataset: host rows plus optional labels and values. */
struct lt_dataset {
    size_t n, dim;          /* rows and floats per row                  */
    float *x;               /* n * dim                                  */
    int32_t *labels;        /* n, or NULL                               */
    float *values;          /* n, or NULL                               */
    int h, w, c;            /* image shape, or 0 when not images        */
    int steps, features;    /* sequence shape of windows, or 0          */
};

/* Allocates an empty dataset of n x dim (zeroed) with optional labels/values. */
lt_status lt_dataset_alloc(lt_ctx *ctx, size_t n, size_t dim, int with_labels, int with_values,
                           lt_dataset **out);

/* Encodes w x h pixels of comp bytes as a PNG at path (plot.c); no partial file on failure. */
lt_status lt_write_png(lt_ctx *ctx, const char *path, int w, int h, int comp, const unsigned char *px);

/* Opens path for reading when it is a regular file (lib/file.c); else NULL, with *st
 * and the context's message saying why (missing, a folder, a pipe or a device). */
FILE *lt_fopen_regular(lt_ctx *ctx, const char *path, lt_status *st);

#endif
