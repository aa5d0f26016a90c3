/* Conv2D: y = act(conv(x, W) + b) over channels-last images, W laid out
 * (k_h, k_w, in_channels, filters) as Keras's kernel; Glorot-uniform W, zero b.
 * Everything but the output size is shared with Conv2DTranspose (conv_core.c). */
#include "conv_core.h"

/* Output shape by Keras's rules; 'same' pads as TensorFlow (extra cell at the end). */
static lt_status conv_build(lt_layer *l, lt_ctx *ctx, const lt_shape *in)
{
    lt_conv_layer *c = (lt_conv_layer *)l;
    lt_status st = lt_need_image(ctx, l, in);
    if (st != LT_OK) return st;
    const lt_conv_opts *o = &c->o;
    int oh = lt_conv_out_len(in->d[0], o->kernel_h, o->stride_h, o->dilation_h, o->padding);
    int ow = lt_conv_out_len(in->d[1], o->kernel_w, o->stride_w, o->dilation_w, o->padding);
    if (oh < 1 || ow < 1)
        return lt_set_error(ctx, LT_ERR_SHAPE, "%s: a %dx%d kernel (dilation %dx%d) does not fit a %dx%d image with valid padding",
                            l->name, o->kernel_h, o->kernel_w, o->dilation_h, o->dilation_w, in->d[0], in->d[1]);
    lt_conv_layer_set_shape(c, in, oh, ow);
    return LT_OK;
}

/* Reads a Conv2D settings line. */
static lt_layer *conv_from_config(const lt_kv *kv, char *err, size_t errlen)
{
    return lt_conv_layer_from_config(&lt_conv2d_ops, 0, kv, err, errlen);
}

const lt_layer_ops lt_conv2d_ops = {
    .type = "Conv2D", .file_tag = "conv2d", .from_config = conv_from_config, .build = conv_build,
    .forward = lt_conv_layer_forward, .backward = lt_conv_layer_backward, .write_config = lt_conv_layer_write_config,
    .init = lt_conv_layer_init, .set_alpha = lt_conv_layer_set_alpha, .has_bias = 1,
};

/* A Conv2D layer with Keras's default alpha; NULL for settings out of range. */
lt_layer *lt_conv2d(const lt_conv_opts *o)
{
    return o ? lt_conv_layer_new(&lt_conv2d_ops, 0, o, lt_act_default_alpha(o->act)) : NULL;
}
