/* UpSampling2D: repeats (nearest) or interpolates (bilinear, TensorFlow's half-pixel
 * centres) rows and columns by integer factors. */
#include <stdio.h>
#include <string.h>
#include "layer.h"

typedef struct upsample_layer {
    lt_layer base;
    int size_h, size_w; /* factors                   */
    int bilinear;       /* 0 nearest, 1 bilinear     */
    lt_pool_geom g;     /* set by build              */
} upsample_layer;

/* (h, w, c) -> (h*size_h, w*size_w, c). */
static lt_status upsample_build(lt_layer *l, lt_ctx *ctx, const lt_shape *in)
{
    upsample_layer *u = (upsample_layer *)l;
    lt_status st = lt_need_image(ctx, l, in);
    if (st != LT_OK) return st;
    long oh = (long)in->d[0] * u->size_h, ow = (long)in->d[1] * u->size_w;
    if (oh > (1 << 24) || ow > (1 << 24)) return lt_set_error(ctx, LT_ERR_SHAPE, "%s: output too large", l->name);
    lt_pool_geom g = {0, in->d[0], in->d[1], in->d[2], (int)oh, (int)ow, u->size_h, u->size_w, 1, 1, 0, 0};
    u->g = g;
    lt_layer_set_output(l, &(lt_shape){3, {(int)oh, (int)ow, in->d[2]}}, 0);
    return LT_OK;
}

/* Nearest or bilinear up-sampling. */
static lt_status upsample_forward(lt_layer *l, const lt_pass *p, size_t batch,
                                  const lt_buf *x, size_t xoff, lt_buf *y, size_t yoff)
{
    upsample_layer *u = (upsample_layer *)l;
    lt_pool_geom g = u->g;
    g.batch = (int)batch;
    return lt_be_upsample_forward(p->be, &g, u->bilinear ? LT_INTERP_BILINEAR : LT_INTERP_NEAREST, x, xoff, y, yoff);
}

/* The adjoint: each input cell gathers the gradient of the outputs it fed. */
static lt_status upsample_backward(lt_layer *l, const lt_pass *p, size_t batch,
                                   const lt_buf *x, size_t xoff, const lt_buf *y, size_t yoff,
                                   lt_buf *dy, size_t dyoff, lt_buf *dx, size_t dxoff)
{
    upsample_layer *u = (upsample_layer *)l;
    if (!dx) return LT_OK;
    lt_pool_geom g = u->g;
    g.batch = (int)batch;
    return lt_be_upsample_backward(p->be, &g, u->bilinear ? LT_INTERP_BILINEAR : LT_INTERP_NEAREST, dy, dyoff, dx, dxoff);
}

/* "size=2x2 interpolation=nearest". */
static void upsample_write_config(const lt_layer *l, char *buf, size_t len)
{
    const upsample_layer *u = (const upsample_layer *)l;
    snprintf(buf, len, "size=%dx%d interpolation=%s", u->size_h, u->size_w, u->bilinear ? "bilinear" : "nearest");
}

/* Reads "size=2x2 interpolation=nearest". */
static lt_layer *upsample_from_config(const lt_kv *kv, char *err, size_t errlen)
{
    int h, w;
    const char *in = lt_kv_get(kv, "interpolation");
    if (lt_parse_pair(lt_kv_get(kv, "size"), 1 << 12, &h, &w) != 0 || !in ||
        (strcmp(in, "nearest") != 0 && strcmp(in, "bilinear") != 0)) {
        snprintf(err, errlen, "up_sampling2d: bad or missing settings");
        return NULL;
    }
    return lt_layer_or_nomem(lt_upsampling2d(h, w, strcmp(in, "bilinear") == 0), err, errlen);
}

const lt_layer_ops lt_upsampling2d_ops = {
    .type = "UpSampling2D", .file_tag = "up_sampling2d", .from_config = upsample_from_config, .build = upsample_build,
    .forward = upsample_forward, .backward = upsample_backward, .write_config = upsample_write_config,
};

/* An UpSampling2D layer; NULL for factors outside 1..2^12. */
lt_layer *lt_upsampling2d(int size_h, int size_w, int bilinear)
{
    if (size_h < 1 || size_w < 1 || size_h > (1 << 12) || size_w > (1 << 12)) return NULL;
    upsample_layer *u = (upsample_layer *)lt_layer_new(&lt_upsampling2d_ops, sizeof *u);
    if (!u) return NULL;
    u->size_h = size_h;
    u->size_w = size_w;
    u->bilinear = bilinear != 0;
    return &u->base;
}
