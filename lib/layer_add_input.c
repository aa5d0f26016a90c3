/* AddInput: y = x + the model's input, a global skip connection (Keras: the functional
 * `Add()([inputs, x])` at the end of a network). A super-resolution or denoising net
 * then learns only the residual, which trains far faster than learning the identity
 * through every layer (Kim et al., VDSR, 2016). The model's input is data, so the skip
 * path needs no gradient: dx = dy. */
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
    return lt_layer_build_same_shape(l, ctx, in);
}

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

/* No settings to read. */
static lt_layer *add_input_from_config(const lt_kv *kv, char *err, size_t errlen)
{
    return lt_layer_or_nomem(lt_add_input(), err, errlen);
}

/* The type; backward is dx = dy, the skip path ending at data. */
const lt_layer_ops lt_add_input_ops = {
    .type = "Add", .file_tag = "add_input", .name = "add", .from_config = add_input_from_config, .build = add_input_build,
    .forward = add_input_forward, .backward = lt_layer_backward_copy, .write_config = lt_layer_write_no_config,
};

/* An AddInput layer. */
lt_layer *lt_add_input(void) { return lt_layer_new(&lt_add_input_ops, sizeof(lt_layer)); }
