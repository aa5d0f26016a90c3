/* Conv2DTranspose: y = act(conv^T(x, W) + b), the adjoint of a convolution from y's
 * shape to x's, with W laid out (k_h, k_w, filters, in_channels) as Keras's kernel.
 * Its forward pass is the backend's conv2d_backward_data, its backward pass
 * conv2d_forward, its kernel gradient conv2d_backward_filter with the roles swapped. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "layer.h"

typedef struct deconv_layer {
    lt_layer base;
    lt_conv_opts o;  /* settings, defaults filled in                          */
    float alpha;     /* leaky slope / elu alpha                               */
    lt_conv_geom g;  /* the convolution this layer transposes: from the output
                        image (g.in_*) to the input image (g.out_*)           */
} deconv_layer;

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
    deconv_layer *c = (deconv_layer *)l;
    lt_status st = lt_need_image(ctx, l, in);
    if (st != LT_OK) return st;
    const lt_conv_opts *o = &c->o;
    long oh = deconv_len(in->d[0], o->kernel_h, o->stride_h, o->dilation_h, o->padding, o->output_padding, o->output_pad_h);
    long ow = deconv_len(in->d[1], o->kernel_w, o->stride_w, o->dilation_w, o->padding, o->output_padding, o->output_pad_w);
    if (oh < 1 || ow < 1 || oh > (1 << 24) || ow > (1 << 24))
        return lt_set_error(ctx, LT_ERR_SHAPE, "%s: output size %ldx%ld out of range", l->name, oh, ow);
    lt_conv_geom g = {0, (int)oh, (int)ow, o->filters, in->d[0], in->d[1], in->d[2], o->kernel_h, o->kernel_w,
                      o->stride_h, o->stride_w, o->dilation_h, o->dilation_w,
                      lt_conv_pad_before((int)oh, in->d[0], o->kernel_h, o->stride_h, o->dilation_h, o->padding),
                      lt_conv_pad_before((int)ow, in->d[1], o->kernel_w, o->stride_w, o->dilation_w, o->padding)};
    c->g = g;
    l->out_shape = (lt_shape){3, {(int)oh, (int)ow, o->filters}};
    lt_layer_set_tensors(l, 2, (size_t[]){(size_t)o->kernel_h * o->kernel_w * o->filters * in->d[2], (size_t)o->filters});
    l->ws_floats = 0;
    return LT_OK;
}

/* Elements of the kernel (without the bias). */
static size_t kernel_size(const deconv_layer *c) { return (size_t)c->g.k_h * c->g.k_w * c->g.in_c * c->g.out_c; }

/* Glorot uniform: fan_in + fan_out = kh*kw*(filters + in); zero bias. */
static lt_status deconv_init(lt_layer *l, lt_backend *be, uint64_t seed, uint64_t counter)
{
    deconv_layer *c = (deconv_layer *)l;
    size_t rf = (size_t)c->o.kernel_h * c->o.kernel_w;
    float limit = sqrtf(6.0f / (float)(rf * (size_t)(c->g.in_c + c->g.out_c)));
    lt_status st = lt_be_random_uniform(be, l->slot.params, l->slot.off, kernel_size(c), -limit, limit, seed, counter);
    if (st != LT_OK) return st;
    return lt_be_fill(be, l->slot.params, l->slot.off + kernel_size(c), (size_t)c->o.filters, 0.0f);
}

/* conv^T, then bias + activation. */
static lt_status deconv_forward(lt_layer *l, const lt_pass *p, size_t batch,
                                const lt_buf *x, size_t xoff, lt_buf *y, size_t yoff)
{
    deconv_layer *c = (deconv_layer *)l;
    lt_backend *be = p->be;
    lt_conv_geom g = c->g;
    g.batch = (int)batch;
    lt_status st = lt_be_conv2d_backward_data(be, &g, x, xoff, l->slot.params, l->slot.off, y, yoff);
    if (st != LT_OK) return st;
    return lt_be_bias_act_forward(be, batch * g.in_h * g.in_w, (size_t)g.in_c, y, yoff, l->slot.params,
                                     l->slot.off + kernel_size(c), lt_act_to_backend(c->o.act), c->alpha, y, yoff);
}

/* dz = dy * act'(y); dW = filter gradient of the transposed conv; db; dx = conv(dz). */
static lt_status deconv_backward(lt_layer *l, const lt_pass *p, size_t batch,
                                 const lt_buf *x, size_t xoff, const lt_buf *y, size_t yoff,
                                 lt_buf *dy, size_t dyoff, lt_buf *dx, size_t dxoff)
{
    deconv_layer *c = (deconv_layer *)l;
    lt_backend *be = p->be;
    lt_conv_geom g = c->g;
    g.batch = (int)batch;
    size_t rows = batch * g.in_h * g.in_w;
    lt_status st = lt_bias_act_grad(be, rows, (size_t)g.in_c, c->o.act, c->alpha, y, yoff, dy, dyoff, l->slot.grads,
                                    l->slot.off + kernel_size(c));
    /* The transposed layer's output plays the convolution's input, its input the output. */
    if (st == LT_OK) st = lt_be_conv2d_backward_filter(be, &g, dy, dyoff, x, xoff, l->slot.grads, l->slot.off);
    if (st == LT_OK && dx) st = lt_be_conv2d_forward(be, &g, dy, dyoff, l->slot.params, l->slot.off, dx, dxoff);
    return st;
}

/* Settings line for the model file. */
static void deconv_write_config(const lt_layer *l, char *buf, size_t len)
{
    const deconv_layer *c = (const deconv_layer *)l;
    lt_conv_opts_write(&c->o, c->alpha, buf, len);
}

/* Frees the layer. */
static void deconv_destroy(lt_layer *l) { free(l); }

static const lt_layer_ops deconv_ops = {
    "Conv2DTranspose", "conv2d_transpose", deconv_build, deconv_init, deconv_forward, deconv_backward,
    deconv_write_config, deconv_destroy, NULL,
    0,
};

/* A transposed-conv layer with normalized settings, or NULL. */
static lt_layer *deconv_new(const lt_conv_opts *o, float alpha)
{
    lt_conv_opts n = *o;
    if (lt_conv_opts_normalize(&n, 1) != 0) return NULL;
    deconv_layer *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->base.ops = &deconv_ops;
    c->o = n;
    c->alpha = alpha;
    return &c->base;
}

lt_layer *lt_conv2d_transpose(const lt_conv_opts *o)
{
    return o ? deconv_new(o, lt_act_default_alpha(o->act)) : NULL;
}

lt_layer *lt_conv2d_transpose_from_config(const lt_kv *kv, char *err, size_t errlen)
{
    lt_conv_opts o;
    float alpha;
    if (lt_conv_opts_read(kv, 1, &o, &alpha) != 0) { snprintf(err, errlen, "conv2d_transpose: bad or missing settings"); return NULL; }
    lt_layer *l = deconv_new(&o, alpha);
    if (!l) snprintf(err, errlen, "out of host memory");
    return l;
}

/* Sets alpha when l is a Conv2DTranspose layer. */
void lt_conv2d_transpose_set_alpha(lt_layer *l, float alpha)
{
    if (l && l->ops == &deconv_ops) ((deconv_layer *)l)->alpha = alpha;
}
