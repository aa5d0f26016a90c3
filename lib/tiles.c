/* Image-to-image models on images of any size: the image is cut into overlapping tiles
 * of the model's input size, the tiles run in batches, and the outputs are blended with
 * weights that fall off toward each tile's border, so no seam shows where tiles meet
 * (a model's output is least reliable at its edges, where it saw the least context). */
#include <stdlib.h>
#include <string.h>
#include "model.h"

/* Tiles run per lt_predict call. */
#define TILE_BATCH 64

/* Tile origins along an axis of length n for tiles of t (n >= t): every t/2, the last
 * flush with the end. Writes them to pos (room for n / max(t/2, 1) + 2) and returns the
 * count. */
static int tile_origins(int n, int t, int *pos)
{
    int step = t / 2 > 0 ? t / 2 : 1, k = 0;
    for (int p = 0;; p += step) {
        if (p + t >= n) { pos[k++] = n - t; break; }
        pos[k++] = p;
    }
    return k;
}

/* Blending weight of cell i of a tile of t cells: a tent, highest in the middle and
 * still positive at the border, so every pixel has weight even where one tile covers it. */
static float tent(int i, int t)
{
    float a = (float)i + 0.5f, b = (float)(t - i) - 0.5f;
    return a < b ? a : b;
}

lt_status lt_predict_image(lt_model *m, const float *img, int ih, int iw, int c, float *out)
{
    if (!m || !img || !out) return m ? lt_set_error(m->ctx, LT_ERR_ARG, "lt_predict_image: NULL argument") : LT_ERR_ARG;
    lt_ctx *ctx = m->ctx;
    if (!m->built) return lt_set_error(ctx, LT_ERR_ARG, "%s: model is not built", m->name);
    const lt_shape *si = &m->in_shape, *so = &m->out_shape;
    if (si->rank != 3 || so->rank != 3 || memcmp(si->d, so->d, sizeof si->d) != 0)
        return lt_set_error(ctx, LT_ERR_SHAPE, "%s: not an image-to-image model (its input and output must be the same "
                            "height x width x channels)", m->name);
    int th = si->d[0], tw = si->d[1], tc = si->d[2];
    if (c != tc)
        return lt_set_error(ctx, LT_ERR_SHAPE, "%s: the model takes %d-channel images, this one has %d channel%s", m->name,
                            tc, c, c == 1 ? "" : "s");
    if (ih < 1 || iw < 1 || ih > LT_IMAGE_MAX_SIDE || iw > LT_IMAGE_MAX_SIDE ||
        (uint64_t)ih * (uint64_t)iw > LT_IMAGE_MAX_PIXELS)
        return lt_set_error(ctx, LT_ERR_ARG, "lt_predict_image: image size %dx%d out of range", ih, iw);
    /* Work on a copy padded (edges replicated) to at least one tile. */
    int ph = ih > th ? ih : th, pw = iw > tw ? iw : tw;
    size_t tile = (size_t)th * tw * c, plane = (size_t)ph * pw * c;
    int *ys = malloc(((size_t)ph / (th / 2 > 0 ? th / 2 : 1) + 2) * sizeof *ys);
    int *xs = malloc(((size_t)pw / (tw / 2 > 0 ? tw / 2 : 1) + 2) * sizeof *xs);
    float *pad = malloc(plane * sizeof *pad), *acc = calloc(plane, sizeof *acc), *wsum = calloc((size_t)ph * pw, sizeof *wsum);
    float *in = malloc(TILE_BATCH * tile * sizeof *in), *res = malloc(TILE_BATCH * tile * sizeof *res);
    lt_status st = LT_OK;
    if (!ys || !xs || !pad || !acc || !wsum || !in || !res) { st = lt_set_error(ctx, LT_ERR_NOMEM, "out of host memory"); goto done; }
    for (int y = 0; y < ph; y++)
        for (int x = 0; x < pw; x++) {
            int sy = y < ih ? y : ih - 1, sx = x < iw ? x : iw - 1;
            memcpy(pad + ((size_t)y * pw + x) * c, img + ((size_t)sy * iw + sx) * c, (size_t)c * sizeof *pad);
        }
    int ny = tile_origins(ph, th, ys), nx = tile_origins(pw, tw, xs), total = ny * nx;
    for (int t0 = 0; t0 < total && st == LT_OK; t0 += TILE_BATCH) {
        int nb = total - t0 < TILE_BATCH ? total - t0 : TILE_BATCH;
        for (int b = 0; b < nb; b++) {
            int oy = ys[(t0 + b) / nx], ox = xs[(t0 + b) % nx];
            for (int y = 0; y < th; y++)
                memcpy(in + b * tile + (size_t)y * tw * c, pad + ((size_t)(oy + y) * pw + ox) * c, (size_t)tw * c * sizeof *in);
        }
        st = lt_predict(m, in, (size_t)nb, res);
        for (int b = 0; b < nb && st == LT_OK; b++) {
            int oy = ys[(t0 + b) / nx], ox = xs[(t0 + b) % nx];
            for (int y = 0; y < th; y++)
                for (int x = 0; x < tw; x++) {
                    float wt = tent(y, th) * tent(x, tw);
                    size_t p = (size_t)(oy + y) * pw + (ox + x);
                    const float *r = res + b * tile + ((size_t)y * tw + x) * c;
                    for (int k = 0; k < c; k++) acc[p * c + k] += wt * r[k];
                    wsum[p] += wt;
                }
        }
    }
    if (st == LT_OK)
        for (int y = 0; y < ih; y++)
            for (int x = 0; x < iw; x++) {
                size_t p = (size_t)y * pw + x;
                for (int k = 0; k < c; k++) out[((size_t)y * iw + x) * c + k] = acc[p * c + k] / wsum[p];
            }
done:
    free(ys); free(xs); free(pad); free(acc); free(wsum); free(in); free(res);
    return st;
}
