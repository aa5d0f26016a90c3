/* Reshape: the same elements under another per-sample shape; a view (the executor
 * aliases y to x; forward and backward copy, for wrappers). */
#include <stdio.h>
#include "layer.h"

typedef struct reshape_layer {
    lt_layer base;
    lt_shape target; /* the new shape */
} reshape_layer;

/* Checks the element counts agree. */
static lt_status reshape_build(lt_layer *l, lt_ctx *ctx, const lt_shape *in)
{
    reshape_layer *r = (reshape_layer *)l;
    if (lt_shape_size(&r->target) != lt_shape_size(in)) {
        char a[64], b[64];
        lt_shape_format(in, a, sizeof a);
        lt_shape_format(&r->target, b, sizeof b);
        return lt_set_error(ctx, LT_ERR_SHAPE, "%s: cannot reshape %s (%zu elements) to %s (%zu)", l->name, a,
                            lt_shape_size(in), b, lt_shape_size(&r->target));
    }
    lt_layer_set_output(l, &r->target, 0);
    return LT_OK;
}

/* "shape=24x24x16". */
static void reshape_write_config(const lt_layer *l, char *buf, size_t len)
{
    const lt_shape *t = &((const reshape_layer *)l)->target;
    int n = snprintf(buf, len, "shape=%d", t->d[0]);
    for (int i = 1; i < t->rank && n > 0 && (size_t)n < len; i++) n += snprintf(buf + n, len - (size_t)n, "x%d", t->d[i]);
}

/* Reads "shape=24x24x16". */
static lt_layer *reshape_from_config(const lt_kv *kv, char *err, size_t errlen)
{
    int dims[3], rank = lt_parse_dims(lt_kv_get(kv, "shape"), dims);
    lt_layer *l = rank > 0 ? lt_reshape(rank, dims) : NULL;
    if (!l) snprintf(err, errlen, "reshape: bad or missing shape");
    return l;
}

const lt_layer_ops lt_reshape_ops = {
    .type = "Reshape", .file_tag = "reshape", .from_config = reshape_from_config, .build = reshape_build,
    .forward = lt_layer_forward_copy, .backward = lt_layer_backward_copy, .write_config = reshape_write_config,
    .is_view = 1,
};

/* A Reshape layer; NULL for a shape out of range. */
lt_layer *lt_reshape(int rank, const int *dims)
{
    if (rank < 1 || rank > 3 || !dims) return NULL;
    lt_shape t = {rank, {0, 0, 0}};
    for (int i = 0; i < rank; i++) t.d[i] = dims[i];
    if (lt_shape_check(&t) != 0) return NULL;
    reshape_layer *r = (reshape_layer *)lt_layer_new(&lt_reshape_ops, sizeof *r);
    if (r) r->target = t;
    return r ? &r->base : NULL;
}
