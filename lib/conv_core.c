/* What Conv2D and Conv2DTranspose share: settings, parameters (a Glorot-uniform kernel
 * and a zero bias) and the passes. Conv2D's forward pass is the backend's
 * conv2d_forward; Conv2DTranspose's is conv2d_backward_data, its backward pass
 * conv2d_forward and its kernel gradient conv2d_backward_filter with x and dy swapped.
 * The bias and activation after the convolution reuse the fused dense op, since an NHWC
 * output is a (batch*h*w) x filters matrix. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "conv_core.h"

/* Fills Keras's defaults and checks the settings; 0 when usable. */
static int conv_opts_normalize(lt_conv_opts *o, int transposed)
{
    if (o->stride_h == 0) o->stride_h = 1;
    if (o->stride_w == 0) o->stride_w = 1;
    if (o->dilation_h == 0) o->dilation_h = 1;
    if (o->dilation_w == 0) o->dilation_w = 1;
    const int lim = 1 << 12;
    if (o->filters < 1 || o->filters > (1 << 16) || o->kernel_h < 1 || o->kernel_w < 1 || o->kernel_h > lim ||
        o->kernel_w > lim || o->stride_h < 1 || o->stride_w < 1 || o->stride_h > lim || o->stride_w > lim ||
        o->dilation_h < 1 || o->dilation_w < 1 || o->dilation_h > lim || o->dilation_w > lim)
        return -1;
    if (o->padding != LT_VALID && o->padding != LT_SAME) return -1;
    if (!lt_act_valid(o->act)) return -1;
    if (o->output_padding) {
        if (!transposed || o->output_pad_h < 0 || o->output_pad_w < 0 || o->output_pad_h >= o->stride_h ||
            o->output_pad_w >= o->stride_w)
            return -1;
    }
    return 0;
}

/* Reads settings written by lt_conv_layer_write_config; 0 on success. */
static int conv_opts_read(const lt_kv *kv, int transposed, lt_conv_opts *o, float *alpha)
{
    memset(o, 0, sizeof *o);
    const char *pad = lt_kv_get(kv, "padding"), *act = lt_kv_get(kv, "activation"), *op = lt_kv_get(kv, "output_padding");
    if (lt_parse_int(lt_kv_get(kv, "filters"), 1, 1 << 16, &o->filters) != 0) return -1;
    if (lt_parse_pair(lt_kv_get(kv, "kernel"), 1 << 12, &o->kernel_h, &o->kernel_w) != 0) return -1;
    if (lt_parse_pair(lt_kv_get(kv, "strides"), 1 << 12, &o->stride_h, &o->stride_w) != 0) return -1;
    if (lt_parse_pair(lt_kv_get(kv, "dilation"), 1 << 12, &o->dilation_h, &o->dilation_w) != 0) return -1;
    if (!pad || (strcmp(pad, "same") != 0 && strcmp(pad, "valid") != 0)) return -1;
    o->padding = strcmp(pad, "same") == 0 ? LT_SAME : LT_VALID;
    if (!act || lt_act_parse(act, &o->act) != 0) return -1;
    if (op) {
        char buf[32];
        if (strlen(op) >= sizeof buf) return -1;
        strcpy(buf, op);
        char *x = strchr(buf, 'x');
        if (!x) return -1;
        *x = 0;
        o->output_padding = 1;
        if (lt_parse_int(buf, 0, 1 << 12, &o->output_pad_h) != 0 || lt_parse_int(x + 1, 0, 1 << 12, &o->output_pad_w) != 0) return -1;
    }
    *alpha = lt_act_default_alpha(o->act);
    const char *al = lt_kv_get(kv, "alpha");
    if (al && lt_parse_float(al, alpha) != 0) return -1;
    if ((o->act == LT_LEAKY_RELU || o->act == LT_ELU) && !(*alpha > 0.0f)) return -1;
    return conv_opts_normalize(o, transposed);
}

/* The build-time geometry with the batch filled in. */
static lt_conv_geom batch_geom(const lt_conv_layer *c, size_t batch)
{
    lt_conv_geom g = c->g;
    g.batch = (int)batch;
    return g;
}

/* Elements of the kernel, k_h * k_w * in_c * out_c (the bias follows it). */
static size_t kernel_size(const lt_conv_layer *c)
{
    return (size_t)c->g.k_h * c->g.k_w * c->g.in_c * c->g.out_c;
}

/* Output pixels of a batch: the rows of the bias and activation's matrix. */
static size_t out_pixels(const lt_conv_layer *c, size_t batch)
{
    return batch * c->base.out_shape.d[0] * c->base.out_shape.d[1];
}

/* A layer with normalized settings, or NULL. */
lt_layer *lt_conv_layer_new(const lt_layer_ops *ops, int transposed, const lt_conv_opts *o, float alpha)
{
    lt_conv_opts n = *o;
    if (conv_opts_normalize(&n, transposed) != 0) return NULL;
    lt_conv_layer *c = (lt_conv_layer *)lt_layer_new(ops, sizeof *c);
    if (!c) return NULL;
    c->o = n;
    c->alpha = alpha;
    c->transposed = transposed;
    return &c->base;
}

/* A layer from its settings line, or NULL and a message. */
lt_layer *lt_conv_layer_from_config(const lt_layer_ops *ops, int transposed, const lt_kv *kv, char *err,
                                    size_t errlen)
{
    lt_conv_opts o;
    float alpha;
    int use_bias = 1;
    if (conv_opts_read(kv, transposed, &o, &alpha) != 0 ||
        (lt_kv_get(kv, "use_bias") && lt_parse_int(lt_kv_get(kv, "use_bias"), 0, 1, &use_bias) != 0)) {
        snprintf(err, errlen, "%s: bad or missing settings", ops->file_tag);
        return NULL;
    }
    lt_layer *l = lt_layer_or_nomem(lt_conv_layer_new(ops, transposed, &o, alpha), err, errlen);
    if (l) l->no_bias = !use_bias;
    return l;
}

/* Geometry, output shape (out_h, out_w, filters) and tensors from the output size. */
void lt_conv_layer_set_shape(lt_conv_layer *c, const lt_shape *in, int out_h, int out_w)
{
    const lt_conv_opts *o = &c->o;
    /* The convolution's source and destination images: Conv2DTranspose runs it backwards. */
    const int src[3] = {c->transposed ? out_h : in->d[0], c->transposed ? out_w : in->d[1],
                        c->transposed ? o->filters : in->d[2]};
    const int dst[3] = {c->transposed ? in->d[0] : out_h, c->transposed ? in->d[1] : out_w,
                        c->transposed ? in->d[2] : o->filters};
    lt_conv_geom g = {0, src[0], src[1], src[2], dst[0], dst[1], dst[2], o->kernel_h, o->kernel_w,
                      o->stride_h, o->stride_w, o->dilation_h, o->dilation_w,
                      lt_conv_pad_before(src[0], dst[0], o->kernel_h, o->stride_h, o->dilation_h, o->padding),
                      lt_conv_pad_before(src[1], dst[1], o->kernel_w, o->stride_w, o->dilation_w, o->padding)};
    c->g = g;
    c->base.out_shape = (lt_shape){3, {out_h, out_w, o->filters}};
    lt_layer_set_tensors(&c->base, c->base.no_bias ? 1 : 2, (size_t[]){kernel_size(c), (size_t)o->filters});
    c->base.ws_floats = 0;
}

/* The convolution (Conv2DTranspose: its adjoint), then bias + activation in one op. */
lt_status lt_conv_layer_forward(lt_layer *l, const lt_pass *p, size_t batch,
                                const lt_buf *x, size_t xoff, lt_buf *y, size_t yoff)
{
    const lt_conv_layer *c = (const lt_conv_layer *)l;
    lt_conv_geom g = batch_geom(c, batch);
    lt_status st = c->transposed ? lt_be_conv2d_backward_data(p->be, &g, x, xoff, l->slot.params, l->slot.off, y, yoff)
                                 : lt_be_conv2d_forward(p->be, &g, x, xoff, l->slot.params, l->slot.off, y, yoff);
    if (st != LT_OK) return st;
    return lt_be_bias_act_forward(p->be, out_pixels(c, batch), (size_t)c->o.filters, y, yoff, l->no_bias ? NULL : l->slot.params,
                                  l->slot.off + kernel_size(c), lt_act_to_backend(c->o.act), c->alpha, y, yoff);
}

/* dz = dy * act'(y) and db = sum dz; dW from x and dz; dx from dz by the op that
 * undoes forward's. */
lt_status lt_conv_layer_backward(lt_layer *l, const lt_pass *p, size_t batch,
                                 const lt_buf *x, size_t xoff, const lt_buf *y, size_t yoff,
                                 lt_buf *dy, size_t dyoff, lt_buf *dx, size_t dxoff)
{
    const lt_conv_layer *c = (const lt_conv_layer *)l;
    lt_backend *be = p->be;
    lt_conv_geom g = batch_geom(c, batch);
    lt_status st = lt_bias_act_grad(be, out_pixels(c, batch), (size_t)c->o.filters, c->o.act, c->alpha, y, yoff, dy,
                                    dyoff, l->no_bias ? NULL : l->slot.grads, l->slot.off + kernel_size(c));
    if (st != LT_OK) return st;
    if (c->transposed) { /* the layer's output plays the convolution's input, its input the output */
        st = lt_be_conv2d_backward_filter(be, &g, dy, dyoff, x, xoff, l->slot.grads, l->slot.off);
        if (st == LT_OK && dx) st = lt_be_conv2d_forward(be, &g, dy, dyoff, l->slot.params, l->slot.off, dx, dxoff);
    } else {
        st = lt_be_conv2d_backward_filter(be, &g, x, xoff, dy, dyoff, l->slot.grads, l->slot.off);
        if (st == LT_OK && dx) st = lt_be_conv2d_backward_data(be, &g, dy, dyoff, l->slot.params, l->slot.off, dx, dxoff);
    }
    return st;
}

/* Glorot uniform over fan_in + fan_out = kh*kw*(in + out channels) (or zeros, when
 * asked); zero bias. */
lt_status lt_conv_layer_init(lt_layer *l, lt_backend *be, uint64_t seed, uint64_t layer)
{
    lt_conv_layer *c = (lt_conv_layer *)l;
    size_t rf = (size_t)c->o.kernel_h * c->o.kernel_w, nw = kernel_size(c);
    float limit = sqrtf(6.0f / (float)(rf * (size_t)(c->g.in_c + c->g.out_c)));
    lt_status st = l->zero_kernel ? lt_be_fill(be, l->slot.params, l->slot.off, nw, 0.0f)
                                  : lt_be_random_uniform(be, l->slot.params, l->slot.off, nw, -limit, limit,
                                                         lt_init_key(seed, layer, 0), 0, 0);
    if (st != LT_OK || l->no_bias) return st;
    return lt_be_fill(be, l->slot.params, l->slot.off + nw, (size_t)c->o.filters, 0.0f);
}

/* "filters=16 kernel=3x3 strides=1x1 dilation=1x1 padding=valid activation=elu alpha=1",
 * then " output_padding=1x1" when set and " use_bias=0" without a bias. */
void lt_conv_layer_write_config(const lt_layer *l, char *buf, size_t len)
{
    const lt_conv_layer *c = (const lt_conv_layer *)l;
    const lt_conv_opts *o = &c->o;
    int n = snprintf(buf, len, "filters=%d kernel=%dx%d strides=%dx%d dilation=%dx%d padding=%s activation=%s alpha=%.9g",
                     o->filters, o->kernel_h, o->kernel_w, o->stride_h, o->stride_w, o->dilation_h, o->dilation_w,
                     o->padding == LT_SAME ? "same" : "valid", lt_act_name(o->act), (double)c->alpha);
    if (o->output_padding && n > 0 && (size_t)n < len)
        n += snprintf(buf + n, len - (size_t)n, " output_padding=%dx%d", o->output_pad_h, o->output_pad_w);
    if (l->no_bias && n > 0 && (size_t)n < len) snprintf(buf + n, len - (size_t)n, " use_bias=0");
}

/* Sets the leaky slope or elu alpha. */
void lt_conv_layer_set_alpha(lt_layer *l, float alpha) { ((lt_conv_layer *)l)->alpha = alpha; }
