/* Reshape: the same elements under another per-sample shape; a view (the executor
 * aliases y to x; forward and backward copy, for wrappers). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    l->out_shape = r->target;
    l->n_params = 0;
    l->ws_floats = 0;
    return LT_OK;
}

/* Nothing to initialise. */
static lt_status reshape_init(lt_layer *l, lt_backend *be, uint64_t seed, uint64_t counter) { return LT_OK; }

/* y = x. */
static lt_status reshape_forward(lt_layer *l, const lt_pass *p, size_t batch,
                                 const lt_buf *x, size_t xoff, lt_buf *y, size_t yoff)
{
    return lt_be_copy(p->be, x, xoff, y, yoff, batch * (size_t)l->out_dim);
}

/* dx = dy. */
static lt_status reshape_backward(lt_layer *l, const lt_pass *p, size_t batch,
                                  const lt_buf *x, size_t xoff, const lt_buf *y, size_t yoff,
                                  lt_buf *dy, size_t dyoff, lt_buf *dx, size_t dxoff)
{
    return dx ? lt_be_copy(p->be, dy, dyoff, dx, dxoff, batch * (size_t)l->out_dim) : LT_OK;
}

/* "shape=24x24x16". */
static void reshape_write_config(const lt_layer *l, char *buf, size_t len)
{
    const lt_shape *t = &((const reshape_layer *)l)->target;
    int n = snprintf(buf, len, "shape=%d", t->d[0]);
    for (int i = 1; i < t->rank && n > 0 && (size_t)n < len; i++) n += snprintf(buf + n, len - (size_t)n, "x%d", t->d[i]);
}

/* Frees the layer. */
static void reshape_destroy(lt_layer *l) { free(l); }

static const lt_layer_ops reshape_ops = {
    "Reshape", "reshape", reshape_build, reshape_init, reshape_forward, reshape_backward, reshape_write_config, reshape_destroy, NULL,
    1,
};

lt_layer *lt_reshape(int rank, const int *dims)
{
    if (rank < 1 || rank > 3 || !dims) return NULL;
    lt_shape t = {rank, {0, 0, 0}};
    for (int i = 0; i < rank; i++) t.d[i] = dims[i];
    if (lt_shape_check(&t) != 0) return NULL;
    reshape_layer *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->base.ops = &reshape_ops;
    r->target = t;
    return &r->base;
}

/* Parses "AxBxC" (1 to 3 sizes) into dims; returns the rank or -1. */
int lt_parse_dims(const char *s, int dims[3])
{
    char buf[64];
    if (!s || strlen(s) >= sizeof buf) return -1;
    strcpy(buf, s);
    int rank = 0;
    char *save, *tok;
    for (tok = strtok_r(buf, "x", &save); tok; tok = strtok_r(NULL, "x", &save)) {
        if (rank == 3 || lt_parse_int(tok, 1, 1 << 24, &dims[rank]) != 0) return -1;
        rank++;
    }
    return rank ? rank : -1;
}

lt_layer *lt_reshape_from_config(const lt_kv *kv, char *err, size_t errlen)
{
    int dims[3], rank = lt_parse_dims(lt_kv_get(kv, "shape"), dims);
    lt_layer *l = rank > 0 ? lt_reshape(rank, dims) : NULL;
    if (!l) snprintf(err, errlen, "reshape: bad or missing shape");
    return l;
}
