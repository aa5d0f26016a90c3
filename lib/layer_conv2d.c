/* Conv2D: y = act(conv(x, W) + b) over channels-last images, W laid out
 * (k_h, k_w, in_channels, filters) as Keras's kernel; Glorot-uniform W, zero b.
 * The backend's conv ops do the convolution; bias and activation reuse the fused dense
 * op, since an NHWC output is a (batch*h*w) x filters matrix. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "layer.h"

typedef struct conv_layer {
    lt_layer base;
    lt_conv_opts o;  /* settings, defaults filled in */
    float alpha;     /* leaky slope / elu alpha       */
    lt_conv_geom g;  /* geometry for one image, set by build (batch filled per call) */
} conv_layer;

/* Fills Keras's defaults and checks the settings; 0 when usable. */
int lt_conv_opts_normalize(lt_conv_opts *o, int transposed)
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
    if (lt_act_name(o->act)[0] == 'u') return -1;
    if (o->output_padding) {
        if (!transposed || o->output_pad_h < 0 || o->output_pad_w < 0 || o->output_pad_h >= o->stride_h ||
            o->output_pad_w >= o->stride_w)
            return -1;
    }
    return 0;
}

/* "filters=16 kernel=3x3 strides=1x1 dilation=1x1 padding=valid activation=elu alpha=1". */
void lt_conv_opts_write(const lt_conv_opts *o, float alpha, char *buf, size_t len)
{
    int n = snprintf(buf, len, "filters=%d kernel=%dx%d strides=%dx%d dilation=%dx%d padding=%s activation=%s alpha=%.9g",
                     o->filters, o->kernel_h, o->kernel_w, o->stride_h, o->stride_w, o->dilation_h, o->dilation_w,
                     o->padding == LT_SAME ? "same" : "valid", lt_act_name(o->act), (double)alpha);
    if (o->output_padding && n > 0 && (size_t)n < len)
        snprintf(buf + n, len - (size_t)n, " output_padding=%dx%d", o->output_pad_h, o->output_pad_w);
}

/* Reads settings written by lt_conv_opts_write; 0 on success. */
int lt_conv_opts_read(const lt_kv *kv, int transposed, lt_conv_opts *o, float *alpha)
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
    return lt_conv_opts_normalize(o, transposed);
}

/* Output shape by Keras's rules; 'same' pads as TensorFlow (extra cell at the end). */
static lt_status conv_build(lt_layer *l, lt_ctx *ctx, const lt_shape *in)
{
    conv_layer *c = (conv_layer *)l;
    lt_status st = lt_need_image(ctx, l, in);
    if (st != LT_OK) return st;
    const lt_conv_opts *o = &c->o;
    int oh = lt_conv_out_len(in->d[0], o->kernel_h, o->stride_h, o->dilation_h, o->padding);
    int ow = lt_conv_out_len(in->d[1], o->kernel_w, o->stride_w, o->dilation_w, o->padding);
    if (oh < 1 || ow < 1)
        return lt_set_error(ctx, LT_ERR_SHAPE, "%s: a %dx%d kernel (dilation %dx%d) does not fit a %dx%d image with valid padding",
                            l->name, o->kernel_h, o->kernel_w, o->dilation_h, o->dilation_w, in->d[0], in->d[1]);
    lt_conv_geom g = {0, in->d[0], in->d[1], in->d[2], oh, ow, o->filters, o->kernel_h, o->kernel_w, o->stride_h,
                      o->stride_w, o->dilation_h, o->dilation_w,
                      lt_conv_pad_before(in->d[0], oh, o->kernel_h, o->stride_h, o->dilation_h, o->padding),
                      lt_conv_pad_before(in->d[1], ow, o->kernel_w, o->stride_w, o->dilation_w, o->padding)};
    c->g = g;
    l->out_shape = (lt_shape){3, {oh, ow, o->filters}};
    lt_layer_set_tensors(l, 2, (size_t[]){(size_t)o->kernel_h * o->kernel_w * in->d[2] * o->filters, (size_t)o->filters});
    l->ws_floats = 0;
    return LT_OK;
}

/* Glorot uniform over fan_in = kh*kw*in, fan_out = kh*kw*filters; zero bias. */
static lt_status conv_init(lt_layer *l, lt_backend *be, uint64_t seed, uint64_t counter)
{
    conv_layer *c = (conv_layer *)l;
    size_t rf = (size_t)c->o.kernel_h * c->o.kernel_w, nw = rf * c->g.in_c * c->g.out_c;
    float limit = sqrtf(6.0f / (float)(rf * (size_t)(c->g.in_c + c->g.out_c)));
    lt_status st = lt_be_random_uniform(be, l->slot.params, l->slot.off, nw, -limit, limit, seed, counter);
    if (st != LT_OK) return st;
    return lt_be_fill(be, l->slot.params, l->slot.off + nw, (size_t)c->o.filters, 0.0f);
}

/* Elements of the kernel (without the bias). */
static size_t kernel_size(const conv_layer *c) { return (size_t)c->g.k_h * c->g.k_w * c->g.in_c * c->g.out_c; }

/* conv, then bias + activation in one op. */
static lt_status conv_forward(lt_layer *l, const lt_pass *p, size_t batch,
                              const lt_buf *x, size_t xoff, lt_buf *y, size_t yoff)
{
    conv_layer *c = (conv_layer *)l;
    lt_backend *be = p->be;
    lt_conv_geom g = c->g;
    g.batch = (int)batch;
    lt_status st = lt_be_conv2d_forward(be, &g, x, xoff, l->slot.params, l->slot.off, y, yoff);
    if (st != LT_OK) return st;
    return lt_be_bias_act_forward(be, batch * g.out_h * g.out_w, (size_t)g.out_c, y, yoff, l->slot.params,
                                     l->slot.off + kernel_size(c), lt_act_to_backend(c->o.act), c->alpha, y, yoff);
}

/* dz = dy * act'(y); dW from x and dz; db = sum dz; dx = conv^T(dz). */
static lt_status conv_backward(lt_layer *l, const lt_pass *p, size_t batch,
                               const lt_buf *x, size_t xoff, const lt_buf *y, size_t yoff,
                               lt_buf *dy, size_t dyoff, lt_buf *dx, size_t dxoff)
{
    conv_layer *c = (conv_layer *)l;
    lt_backend *be = p->be;
    lt_conv_geom g = c->g;
    g.batch = (int)batch;
    size_t rows = batch * g.out_h * g.out_w;
    lt_status st = lt_bias_act_grad(be, rows, (size_t)g.out_c, c->o.act, c->alpha, y, yoff, dy, dyoff, l->slot.grads,
                                    l->slot.off + kernel_size(c));
    if (st == LT_OK) st = lt_be_conv2d_backward_filter(be, &g, x, xoff, dy, dyoff, l->slot.grads, l->slot.off);
    if (st == LT_OK && dx) st = lt_be_conv2d_backward_data(be, &g, dy, dyoff, l->slot.params, l->slot.off, dx, dxoff);
    return st;
}

/* Settings line for the model file. */
static void conv_write_config(const lt_layer *l, char *buf, size_t len)
{
    const conv_layer *c = (const conv_layer *)l;
    lt_conv_opts_write(&c->o, c->alpha, buf, len);
}

/* Frees the layer. */
static void conv_destroy(lt_layer *l) { free(l); }

static const lt_layer_ops conv_ops = {
    "Conv2D", "conv2d", conv_build, conv_init, conv_forward, conv_backward, conv_write_config, conv_destroy, NULL,
    0,
};

/* A conv layer with normalized settings, or NULL. */
static lt_layer *conv_new(const lt_conv_opts *o, float alpha)
{
    lt_conv_opts n = *o;
    if (lt_conv_opts_normalize(&n, 0) != 0) return NULL;
    conv_layer *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->base.ops = &conv_ops;
    c->o = n;
    c->alpha = alpha;
    return &c->base;
}

lt_layer *lt_conv2d(const lt_conv_opts *o)
{
    return o ? conv_new(o, lt_act_default_alpha(o->act)) : NULL;
}

lt_layer *lt_conv2d_from_config(const lt_kv *kv, char *err, size_t errlen)
{
    lt_conv_opts o;
    float alpha;
    if (lt_conv_opts_read(kv, 0, &o, &alpha) != 0) { snprintf(err, errlen, "conv2d: bad or missing settings"); return NULL; }
    lt_layer *l = conv_new(&o, alpha);
    if (!l) snprintf(err, errlen, "out of host memory");
    return l;
}

/* Sets alpha when l is a Conv2D layer. */
void lt_conv2d_set_alpha(lt_layer *l, float alpha)
{
    if (l && l->ops == &conv_ops) ((conv_layer *)l)->alpha = alpha;
}
