/* RepeatVector(n): (features) -> (n, features), every step a copy of the input; its
 * backward sums the steps' gradients. One strided copy forward (a zero stride over the
 * steps), n accumulating copies backward. */
#include <stdio.h>
#include <stdlib.h>
#include "layer.h"

typedef struct repeat_layer {
    lt_layer base;
    int n; /* copies */
} repeat_layer;

static lt_status repeat_build(lt_layer *l, lt_ctx *ctx, const lt_shape *in)
{
    repeat_layer *r = (repeat_layer *)l;
    if (in->rank != 1) {
        char buf[64];
        lt_shape_format(in, buf, sizeof buf);
        return lt_set_error(ctx, LT_ERR_SHAPE, "%s (RepeatVector) needs vectors (None, features), got %s", l->name, buf);
    }
    l->out_shape.rank = 2;
    l->out_shape.d[0] = r->n;
    l->out_shape.d[1] = in->d[0];
    l->n_params = 0;
    l->ws_floats = 0;
    return LT_OK;
}

static lt_status repeat_init(lt_layer *l, lt_backend *be, uint64_t seed, uint64_t counter) { return LT_OK; }

static lt_status repeat_forward(lt_layer *l, const lt_pass *p, size_t batch, const lt_buf *x, size_t xoff, lt_buf *y,
                                size_t yoff)
{
    size_t n = (size_t)((repeat_layer *)l)->n, F = (size_t)l->in_dim;
    return lt_be_copy_strided(p->be, batch, n, F, x, xoff, (ptrdiff_t)F, 0, 0.0f, y, yoff, (ptrdiff_t)(n * F),
                                    (ptrdiff_t)F);
}

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

static void repeat_write_config(const lt_layer *l, char *buf, size_t len)
{
    snprintf(buf, len, "n=%d", ((const repeat_layer *)l)->n);
}

static void repeat_destroy(lt_layer *l) { free(l); }

static const lt_layer_ops repeat_ops = {
    "RepeatVector", "repeat_vector", repeat_build, repeat_init, repeat_forward, repeat_backward,
    repeat_write_config, repeat_destroy, NULL,
    0,
};

lt_layer *lt_repeat_vector(int n)
{
    if (n < 1 || n > (1 << 20)) return NULL;
    repeat_layer *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->base.ops = &repeat_ops;
    r->n = n;
    return &r->base;
}

lt_layer *lt_repeat_vector_from_config(const lt_kv *kv, char *err, size_t errlen)
{
    int n;
    const char *v = lt_kv_get(kv, "n");
    lt_layer *l = v && lt_parse_int(v, 1, 1 << 20, &n) == 0 ? lt_repeat_vector(n) : NULL;
    if (!l) snprintf(err, errlen, "repeat_vector: needs n in 1..1048576");
    return l;
}
