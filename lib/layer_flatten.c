/* Flatten: (h, w, c) -> (h*w*c); the data are already contiguous, so a view (the
 * executor aliases y to x; forward and backward copy, for wrappers). */
#include <stdio.h>
#include <stdlib.h>
#include "layer.h"

/* One axis of all the elements. */
static lt_status flatten_build(lt_layer *l, lt_ctx *ctx, const lt_shape *in)
{
    l->out_shape = (lt_shape){1, {(int)lt_shape_size(in), 0, 0}};
    l->n_params = 0;
    l->ws_floats = 0;
    return LT_OK;
}

/* Nothing to initialise. */
static lt_status flatten_init(lt_layer *l, lt_backend *be, uint64_t seed, uint64_t counter) { return LT_OK; }

/* y = x. */
static lt_status flatten_forward(lt_layer *l, const lt_pass *p, size_t batch,
                                 const lt_buf *x, size_t xoff, lt_buf *y, size_t yoff)
{
    return lt_be_copy(p->be, x, xoff, y, yoff, batch * (size_t)l->out_dim);
}

/* dx = dy. */
static lt_status flatten_backward(lt_layer *l, const lt_pass *p, size_t batch,
                                  const lt_buf *x, size_t xoff, const lt_buf *y, size_t yoff,
                                  lt_buf *dy, size_t dyoff, lt_buf *dx, size_t dxoff)
{
    return dx ? lt_be_copy(p->be, dy, dyoff, dx, dxoff, batch * (size_t)l->out_dim) : LT_OK;
}

/* No settings. */
static void flatten_write_config(const lt_layer *l, char *buf, size_t len) { if (len) buf[0] = 0; }

/* Frees the layer. */
static void flatten_destroy(lt_layer *l) { free(l); }

static const lt_layer_ops flatten_ops = {
    "Flatten", "flatten", flatten_build, flatten_init, flatten_forward, flatten_backward, flatten_write_config, flatten_destroy, NULL,
    1,
};

lt_layer *lt_flatten(void)
{
    lt_layer *l = calloc(1, sizeof *l);
    if (l) l->ops = &flatten_ops;
    return l;
}

lt_layer *lt_flatten_from_config(const lt_kv *kv, char *err, size_t errlen)
{
    lt_layer *l = lt_flatten();
    if (!l) snprintf(err, errlen, "out of host memory");
    return l;
}
