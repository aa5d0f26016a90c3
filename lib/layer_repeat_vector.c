/* RepeatVector(n): (features) -> (n, features), every step a copy of the input; its
 * backward sums the steps' gradients. One strided copy forward (a zero stride over the
 * steps), n accumulating copies backward. */
#include <stdio.h>
#include "layer.h"

typedef struct repeat_layer {
    lt_layer base;
    int n; /* copies */
} repeat_layer;

/* (features) -> (n, features). */
static lt_status repeat_build(lt_layer *l, lt_ctx *ctx, const lt_shape *in)
{
    if (in->rank != 1) return lt_shape_error(ctx, in, "%s (RepeatVector) needs vectors (None, features)", l->name);
    lt_layer_set_output(l, &(lt_shape){2, {((repeat_layer *)l)->n, in->d[0], 0}}, 0);
    return LT_OK;
}

/* Every step a copy of the input: one copy with a zero stride over the steps. */
static lt_status repeat_forward(lt_layer *l, const lt_pass *p, size_t batch, const lt_buf *x, size_t xoff, lt_buf *y,
                                size_t yoff)
{
    size_t n = (size_t)((repeat_layer *)l)->n, F = (size_t)l->in_dim;
    return lt_be_copy_strided(p->be, batch, n, F, x, xoff, (ptrdiff_t)F, 0, 0.0f, y, yoff, (ptrdiff_t)(n * F),
                                    (ptrdiff_t)F);
}

/* dx = the sum of the steps' gradients. */
static lt_status repeat_backward(lt_layer *l, const lt_pass *p, size_t batch, const lt_buf *x, size_t xoff,
                                 const lt_buf *y, size_t yoff, lt_buf *dy, size_t dyoff, lt_buf *dx, size_t dxoff)
{
    size_t n = (size_t)((repeat_layer *)l)->n, F = (size_t)l->in_dim;
    lt_status st = LT_OK;
    for (size_t t = 0; t < n && st == LT_OK && dx; t++)
        st = lt_be_copy_strided(p->be, batch, 1, F, dy, dyoff + t * F, (ptrdiff_t)(n * F), 0, t ? 1.0f : 0.0f, dx,
                                      dxoff, (ptrdiff_t)F, 0);
    return st;
}

/* "n=28". */
static void repeat_write_config(const lt_layer *l, char *buf, size_t len)
{
    snprintf(buf, len, "n=%d", ((const repeat_layer *)l)->n);
}

/* Reads "n=28". */
static lt_layer *repeat_from_config(const lt_kv *kv, char *err, size_t errlen)
{
    int n;
    const char *v = lt_kv_get(kv, "n");
    lt_layer *l = v && lt_parse_int(v, 1, 1 << 20, &n) == 0 ? lt_repeat_vector(n) : NULL;
    if (!l) snprintf(err, errlen, "repeat_vector: needs n in 1..1048576");
    return l;
}

const lt_layer_ops lt_repeat_vector_ops = {
    .type = "RepeatVector", .file_tag = "repeat_vector", .from_config = repeat_from_config, .build = repeat_build,
    .forward = repeat_forward, .backward = repeat_backward, .write_config = repeat_write_config,
};

/* A RepeatVector layer; NULL for n outside 1..2^20. */
lt_layer *lt_repeat_vector(int n)
{
    if (n < 1 || n > (1 << 20)) return NULL;
    repeat_layer *r = (repeat_layer *)lt_layer_new(&lt_repeat_vector_ops, sizeof *r);
    if (r) r->n = n;
    return r ? &r->base : NULL;
}
