/* GaussianNoise: in training y = x + N(0, stddev^2) from the seeded Philox stream;
 * at inference y = x. The denoising autoencoder's corruption step. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "layer.h"

typedef struct noise_layer {
    lt_layer base;
    float stddev; /* noise standard deviation, >= 0 */
} noise_layer;

/* Same width, no parameters. */
static lt_status noise_build(lt_layer *l, lt_ctx *ctx, const lt_shape *in)
{
    l->out_shape = *in;
    l->n_params = 0;
    l->ws_floats = 0;
    return LT_OK;
}

/* Nothing to initialise. */
static lt_status noise_init(lt_layer *l, lt_backend *be, uint64_t seed, uint64_t counter) { return LT_OK; }

/* y = noise, then y += x. */
static lt_status noise_forward(lt_layer *l, const lt_pass *p, size_t batch,
                               const lt_buf *x, size_t xoff, lt_buf *y, size_t yoff)
{
    noise_layer *g = (noise_layer *)l;
    size_t n = batch * (size_t)l->out_dim;
    if (!p->training || g->stddev == 0.0f) return lt_be_copy(p->be, x, xoff, y, yoff, n);
    lt_status st = lt_be_random_normal(p->be, y, yoff, n, 0.0f, g->stddev, p->seed, p->step << 32);
    if (st != LT_OK) return st;
    return lt_be_axpby(p->be, n, 1.0f, x, xoff, 1.0f, y, yoff);
}

/* The noise is additive: dx = dy. */
static lt_status noise_backward(lt_layer *l, const lt_pass *p, size_t batch,
                                const lt_buf *x, size_t xoff, const lt_buf *y, size_t yoff,
                                lt_buf *dy, size_t dyoff, lt_buf *dx, size_t dxoff)
{
    if (!dx) return LT_OK;
    return lt_be_copy(p->be, dy, dyoff, dx, dxoff, batch * (size_t)l->out_dim);
}

/* "stddev=0.1". */
static void noise_write_config(const lt_layer *l, char *buf, size_t len)
{
    snprintf(buf, len, "stddev=%.9g", (double)((const noise_layer *)l)->stddev);
}

/* Frees the layer. */
static void noise_destroy(lt_layer *l) { free(l); }

static const lt_layer_ops noise_ops = {
    "GaussianNoise", "gaussian_noise", noise_build, noise_init, noise_forward, noise_backward,
    noise_write_config, noise_destroy, NULL,
    0,
};

lt_layer *lt_gaussian_noise(float stddev)
{
    if (!(stddev >= 0.0f) || !isfinite(stddev)) return NULL;
    noise_layer *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->base.ops = &noise_ops;
    g->stddev = stddev;
    return &g->base;
}

lt_layer *lt_noise_from_config(const lt_kv *kv, char *err, size_t errlen)
{
    const char *s = lt_kv_get(kv, "stddev");
    char *end = NULL;
    float v = s ? strtof(s, &end) : -1.0f;
    if (!s || *end || !(v >= 0.0f) || !isfinite(v)) { snprintf(err, errlen, "gaussian_noise: stddev must be >= 0"); return NULL; }
    lt_layer *l = lt_gaussian_noise(v);
    if (!l) snprintf(err, errlen, "out of host memory");
    return l;
}
