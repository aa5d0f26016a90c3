/* Dropout (inverted, as Keras): in training y = x * mask with mask in {0, 1/(1-rate)}
 * from the seeded Philox stream; at inference y = x. The mask lives in the layer's
 * workspace so backward reuses it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "layer.h"

typedef struct dropout_layer {
    lt_layer base;
    float rate; /* fraction dropped, in [0, 1) */
} dropout_layer;

/* Same width; one mask float per element. */
static lt_status dropout_build(lt_layer *l, lt_ctx *ctx, const lt_shape *in)
{
    l->out_shape = *in;
    l->n_params = 0;
    l->ws_floats = lt_shape_size(in);
    return LT_OK;
}

/* Nothing to initialise. */
static lt_status dropout_init(lt_layer *l, lt_backend *be, uint64_t seed, uint64_t counter) { return LT_OK; }

/* Draws the mask for this step, multiplies; a copy at inference. */
static lt_status dropout_forward(lt_layer *l, const lt_pass *p, size_t batch,
                                 const lt_buf *x, size_t xoff, lt_buf *y, size_t yoff)
{
    dropout_layer *d = (dropout_layer *)l;
    size_t n = batch * (size_t)l->out_dim;
    if (!p->training || d->rate == 0.0f) return lt_be_copy(p->be, x, xoff, y, yoff, n);
    lt_status st = lt_be_dropout_mask(p->be, p->ws, p->ws_off, n, d->rate, p->seed, p->step << 32);
    if (st != LT_OK) return st;
    return lt_be_mul(p->be, n, x, xoff, p->ws, p->ws_off, y, yoff);
}

/* dx = dy * mask (the same mask). */
static lt_status dropout_backward(lt_layer *l, const lt_pass *p, size_t batch,
                                  const lt_buf *x, size_t xoff, const lt_buf *y, size_t yoff,
                                  lt_buf *dy, size_t dyoff, lt_buf *dx, size_t dxoff)
{
    dropout_layer *d = (dropout_layer *)l;
    size_t n = batch * (size_t)l->out_dim;
    if (!dx) return LT_OK;
    if (!p->training || d->rate == 0.0f) return lt_be_copy(p->be, dy, dyoff, dx, dxoff, n);
    return lt_be_mul(p->be, n, dy, dyoff, p->ws, p->ws_off, dx, dxoff);
}

/* "rate=0.2". */
static void dropout_write_config(const lt_layer *l, char *buf, size_t len)
{
    snprintf(buf, len, "rate=%.9g", (double)((const dropout_layer *)l)->rate);
}

/* Frees the layer. */
static void dropout_destroy(lt_layer *l) { free(l); }

static const lt_layer_ops dropout_ops = {
    "Dropout", "dropout", dropout_build, dropout_init, dropout_forward, dropout_backward,
    dropout_write_config, dropout_destroy, NULL,
    0,
};

lt_layer *lt_dropout(float rate)
{
    if (!(rate >= 0.0f && rate < 1.0f)) return NULL;
    dropout_layer *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->base.ops = &dropout_ops;
    d->rate = rate;
    return &d->base;
}

lt_layer *lt_dropout_from_config(const lt_kv *kv, char *err, size_t errlen)
{
    const char *r = lt_kv_get(kv, "rate");
    char *end = NULL;
    float rate = r ? strtof(r, &end) : -1.0f;
    if (!r || *end || !(rate >= 0.0f && rate < 1.0f)) { snprintf(err, errlen, "dropout: rate must be in [0, 1)"); return NULL; }
    lt_layer *l = lt_dropout(rate);
    if (!l) snprintf(err, errlen, "out of host memory");
    return l;
}
