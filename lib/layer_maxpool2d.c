/* MaxPooling2D over channels-last images; the argmax of each window is kept in the
 * layer's workspace so the backward pass routes the gradient to the winning input. */
#include <stdio.h>
#include <string.h>
#include "layer.h"

typedef struct pool_layer {
    lt_layer base;
    int pool_h, pool_w, stride_h, stride_w; /* window and strides            */
    lt_padding padding;                     /* valid or same                 */
    lt_pool_geom g;                         /* set by build (batch per call) */
} pool_layer;

/* Output shape by Keras's rules; one argmax per output element. */
static lt_status pool_build(lt_layer *l, lt_ctx *ctx, const lt_shape *in)
{
    pool_layer *p = (pool_layer *)l;
    lt_status st = lt_need_image(ctx, l, in);
    if (st != LT_OK) return st;
    int oh = lt_conv_out_len(in->d[0], p->pool_h, p->stride_h, 1, p->padding);
    int ow = lt_conv_out_len(in->d[1], p->pool_w, p->stride_w, 1, p->padding);
    if (oh < 1 || ow < 1)
        return lt_set_error(ctx, LT_ERR_SHAPE, "%s: a %dx%d pool does not fit a %dx%d image", l->name, p->pool_h, p->pool_w, in->d[0], in->d[1]);
    lt_pool_geom g = {0, in->d[0], in->d[1], in->d[2], oh, ow, p->pool_h, p->pool_w, p->stride_h, p->stride_w,
                      lt_conv_pad_before(in->d[0], oh, p->pool_h, p->stride_h, 1, p->padding),
                      lt_conv_pad_before(in->d[1], ow, p->pool_w, p->stride_w, 1, p->padding)};
    p->g = g;
    lt_layer_set_output(l, &(lt_shape){3, {oh, ow, in->d[2]}}, (size_t)oh * ow * in->d[2]);
    return LT_OK;
}

/* Max of each window, remembering where it was. */
static lt_status pool_forward(lt_layer *l, const lt_pass *p, size_t batch,
                              const lt_buf *x, size_t xoff, lt_buf *y, size_t yoff)
{
    lt_pool_geom g = ((pool_layer *)l)->g;
    g.batch = (int)batch;
    return lt_be_maxpool_forward(p->be, &g, x, xoff, y, yoff, p->ws, p->ws_off);
}

/* The gradient goes to each window's maximum. */
static lt_status pool_backward(lt_layer *l, const lt_pass *p, size_t batch,
                               const lt_buf *x, size_t xoff, const lt_buf *y, size_t yoff,
                               lt_buf *dy, size_t dyoff, lt_buf *dx, size_t dxoff)
{
    if (!dx) return LT_OK;
    lt_pool_geom g = ((pool_layer *)l)->g;
    g.batch = (int)batch;
    return lt_be_maxpool_backward(p->be, &g, dy, dyoff, p->ws, p->ws_off, dx, dxoff);
}

/* "pool=2x2 strides=2x2 padding=valid". */
static void pool_write_config(const lt_layer *l, char *buf, size_t len)
{
    const pool_layer *p = (const pool_layer *)l;
    snprintf(buf, len, "pool=%dx%d strides=%dx%d padding=%s", p->pool_h, p->pool_w, p->stride_h, p->stride_w,
             p->padding == LT_SAME ? "same" : "valid");
}

/* Reads "pool=2x2 strides=2x2 padding=valid". */
static lt_layer *pool_from_config(const lt_kv *kv, char *err, size_t errlen)
{
    int ph, pw, sh, sw;
    const char *pad = lt_kv_get(kv, "padding");
    if (lt_parse_pair(lt_kv_get(kv, "pool"), 1 << 12, &ph, &pw) != 0 || lt_parse_pair(lt_kv_get(kv, "strides"), 1 << 12, &sh, &sw) != 0 ||
        !pad || (strcmp(pad, "same") != 0 && strcmp(pad, "valid") != 0)) {
        snprintf(err, errlen, "max_pooling2d: bad or missing settings");
        return NULL;
    }
    return lt_layer_or_nomem(lt_maxpool2d(ph, pw, sh, sw, strcmp(pad, "same") == 0 ? LT_SAME : LT_VALID), err, errlen);
}

const lt_layer_ops lt_maxpool2d_ops = {
    .type = "MaxPooling2D", .file_tag = "max_pooling2d", .from_config = pool_from_config, .build = pool_build,
    .forward = pool_forward, .backward = pool_backward, .write_config = pool_write_config,
};

/* A MaxPooling2D layer; stride 0 means the pool size; NULL for settings out of range. */
lt_layer *lt_maxpool2d(int pool_h, int pool_w, int stride_h, int stride_w, lt_padding padding)
{
    if (stride_h == 0) stride_h = pool_h;
    if (stride_w == 0) stride_w = pool_w;
    const int lim = 1 << 12;
    if (pool_h < 1 || pool_w < 1 || pool_h > lim || pool_w > lim || stride_h < 1 || stride_w < 1 || stride_h > lim ||
        stride_w > lim || (padding != LT_VALID && padding != LT_SAME))
        return NULL;
    pool_layer *p = (pool_layer *)lt_layer_new(&lt_maxpool2d_ops, sizeof *p);
    if (!p) return NULL;
    p->pool_h = pool_h;
    p->pool_w = pool_w;
    p->stride_h = stride_h;
    p->stride_w = stride_w;
    p->padding = padding;
    return &p->base;
}
