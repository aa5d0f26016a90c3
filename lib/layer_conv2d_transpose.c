/* Conv2DTranspose: y = act(conv^T(x, W) + b), the adjoint of a convolution from y's
 * shape to x's, with W laid out (k_h, k_w, filters, in_channels) as Keras's kernel.
 * Everything but the output size is shared with Conv2D (conv_core.c), which runs the
 * convolution's ops the other way round for it. */
#include "conv_core.h"

/* Keras's deconv_output_length along one axis. */
static long deconv_len(int in, int k, int stride, int dil, lt_padding pad, int use_op, int op)
{
    long keff = (long)dil * (k - 1) + 1;
    if (!use_op) return pad == LT_SAME ? (long)in * stride : (long)in * stride + (keff > stride ? keff - stride : 0);
    long p = pad == LT_SAME ? keff / 2 : 0;
    return (long)(in - 1) * stride + keff - 2 * p + op;
}

/* Output shape by Keras's rules. */
static lt_status deconv_build(lt_layer *l, lt_ctx *ctx, const lt_shape *in)
{
    lt_conv_layer *c = (lt_conv_layer *)l;
    lt_status st = lt_need_image(ctx, l, in);
    if (st != LT_OK) return st;
    const lt_conv_opts *o = &c->o;
    long oh = deconv_len(in->d[0], o->kernel_h, o->stride_h, o->dilation_h, o->padding, o->output_padding, o->output_pad_h);
    long ow = deconv_len(in->d[1], o->kernel_w, o->stride_w, o->dilation_w, o->padding, o->output_padding, o->output_pad_w);
    if (oh < 1 || ow < 1 || oh > (1 << 24) || ow > (1 << 24))
        return lt_set_error(ctx, LT_ERR_SHAPE, "%s: output size %ldx%ld out of range", l->name, oh, ow);
    lt_conv_layer_set_shape(c, in, (int)oh, (int)ow);
    return LT_OK;
}

/* Reads a Conv2DTranspose settings line. */
static lt_layer *deconv_from_config(const lt_kv *kv, char *err, size_t errlen)
{
    return lt_conv_layer_from_config(&lt_conv2d_transpose_ops, 1, kv, err, errlen);
}

const lt_layer_ops lt_conv2d_transpose_ops = {
    .type = "Conv2DTranspose", .file_tag = "conv2d_transpose", .from_config = deconv_from_config,
    .build = deconv_build, .forward = lt_conv_layer_forward, .backward = lt_conv_layer_backward,
    .write_config = lt_conv_layer_write_config, .init = lt_conv_layer_init, .set_alpha = lt_conv_layer_set_alpha,
    .has_bias = 1,
};

/* A Conv2DTranspose layer with Keras's default alpha; NULL for settings out of range. */
lt_layer *lt_conv2d_transpose(const lt_conv_opts *o)
{
    return o ? lt_conv_layer_new(&lt_conv2d_transpose_ops, 1, o, lt_act_default_alpha(o->act)) : NULL;
}
