/* GaussianNoise: in training y = x + N(0, stddev^2) from the seeded Philox stream;
 * at inference y = x. The denoising autoencoder's corruption step. */
#include <math.h>
#include <stdio.h>
#include "layer.h"

typedef struct noise_layer {
    lt_layer base;
    float stddev; /* noise standard deviation, >= 0 */
} noise_layer;

/* y = noise, then y += x; a copy at inference. */
static lt_status noise_forward(lt_layer *l, const lt_pass *p, size_t batch,
                               const lt_buf *x, size_t xoff, lt_buf *y, size_t yoff)
{
    noise_layer *g = (noise_layer *)l;
    size_t n = batch * (size_t)l->out_dim;
    if (!p->training || g->stddev == 0.0f) return lt_layer_forward_copy(l, p, batch, x, xoff, y, yoff);
    lt_status st = lt_be_random_normal(p->be, y, yoff, n, 0.0f, g->stddev, p->seed, p->step << 32,
                                       p->row0 * (size_t)l->out_dim);
    return st == LT_OK ? lt_be_axpby(p->be, n, 1.0f, x, xoff, 1.0f, y, yoff) : st;
}

/* "stddev=0.1". */
static void noise_write_config(const lt_layer *l, char *buf, size_t len)
{
    snprintf(buf, len, "stddev=%.9g", (double)((const noise_layer *)l)->stddev);
}

/* Reads "stddev=0.1". */
static lt_layer *noise_from_config(const lt_kv *kv, char *err, size_t errlen)
{
    float v;
    if (lt_parse_strtof(lt_kv_get(kv, "stddev"), &v) != 0 || !(v >= 0.0f) || !isfinite(v)) { snprintf(err, errlen, "gaussian_noise: stddev must be >= 0"); return NULL; }
    return lt_layer_or_nomem(lt_gaussian_noise(v), err, errlen);
}

/* The type; the noise is additive, so backward is dx = dy. */
const lt_layer_ops lt_gaussian_noise_ops = {
    .type = "GaussianNoise", .file_tag = "gaussian_noise", .from_config = noise_from_config,
    .build = lt_layer_build_same_shape, .forward = noise_forward, .backward = lt_layer_backward_copy,
    .write_config = noise_write_config,
};

/* A GaussianNoise layer; NULL for a negative or non-finite stddev. */
lt_layer *lt_gaussian_noise(float stddev)
{
    if (!(stddev >= 0.0f) || !isfinite(stddev)) return NULL;
    noise_layer *g = (noise_layer *)lt_layer_new(&lt_gaussian_noise_ops, sizeof *g);
    if (g) g->stddev = stddev;
    return g ? &g->base : NULL;
}
