/* AddInput: y = x + the model's input, a global skip connection (Keras: the functional
 * `Add()([inputs, x])` at the end of a network). A super-resolution or denoising net
 * then learns only the residual, which trains far faster than learning the identity
 * through every layer (Kim et al., VDSR, 2016). The model's input is data, so the skip
 * path needs no gradient: dx = dy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "layer.h"

/* Same shape as its input, which must be the model's input shape. */
static lt_status add_input_build(lt_layer *l, lt_ctx *ctx, const lt_shape *in)
{
    const lt_shape *root = &l->model_in_shape;
    if (in->rank != root->rank || memcmp(in->d, root->d, (size_t)in->rank * sizeof in->d[0]) != 0) {
        char a[64], b[64];
        lt_shape_format(in, a, sizeof a);
        lt_shape_format(root, b, sizeof b);
        return lt_set_error(ctx, LT_ERR_SHAPE, "%s: its input %s must have the model's input shape %s", l->name, a, b);
    }
    l->out_shape = *in;
    l->n_params = 0;
    l->ws_floats = 0;
    return LT_OK;
}

/* Nothing to initialise. */
static lt_status add_input_init(lt_layer *l, lt_backend *be, uint64_t seed, uint64_t counter) { return LT_OK; }

/* y = x + input. */
static lt_status add_input_forward(lt_layer *l, const lt_pass *p, size_t batch,
                                   const lt_buf *x, size_t xoff, lt_buf *y, size_t yoff)
{
    /* Run as part of a nested model, "the model's input" is that model's: refuse a
     * mismatch rather than read the wrong rows. */
    if (!p->model_in || p->model_in_dim != l->out_dim) return LT_ERR_SHAPE;
    size_t n = batch * (size_t)l->out_dim;
    lt_status st = lt_be_copy(p->be, x, xoff, y, yoff, n);
    return st == LT_OK ? lt_be_axpby(p->be, n, 1.0f, p->model_in, p->model_in_off, 1.0f, y, yoff) : st;
}

/* dx = dy (the skip path ends at data). */
static lt_status add_input_backward(lt_layer *l, const lt_pass *p, size_t batch,
                                    const lt_buf *x, size_t xoff, const lt_buf *y, size_t yoff,
                                    lt_buf *dy, size_t dyoff, lt_buf *dx, size_t dxoff)
{
    return dx ? lt_be_copy(p->be, dy, dyoff, dx, dxoff, batch * (size_t)l->out_dim) : LT_OK;
}

/* No settings. */
static void add_input_write_config(const lt_layer *l, char *buf, size_t len) { if (len) buf[0] = 0; }

/* Frees the layer. */
static void add_input_destroy(lt_layer *l) { free(l); }

static const lt_layer_ops add_input_ops = {
    "Add", "add_input", add_input_build, add_input_init, add_input_forward, add_input_backward,
    add_input_write_config, add_input_destroy, NULL,
    0,
};

lt_layer *lt_add_input(void)
{
    lt_layer *l = calloc(1, sizeof *l);
    if (l) l->ops = &add_input_ops;
    return l;
}

lt_layer *lt_add_input_from_config(const lt_kv *kv, char *err, size_t errlen)
{
    lt_layer *l = lt_add_input();
    if (!l) snprintf(err, errlen, "out of host memory");
    return l;
}
