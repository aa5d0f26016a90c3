/* Dropout (inverted, as Keras): in training y = x * mask with mask in {0, 1/(1-rate)}
 * from the seeded Philox stream; at inference y = x. The mask lives in the layer's
 * workspace so backward reuses it. */
#include <stdio.h>
#include "layer.h"

typedef struct dropout_layer {
    lt_layer base;
    float rate; /* fraction dropped, in [0, 1) */
} dropout_layer;

/* Same shape; one mask float per element. */
static lt_status dropout_build(lt_layer *l, lt_ctx *ctx, const lt_shape *in)
{
    lt_layer_set_output(l, in, lt_shape_size(in));
    return LT_OK;
}

/* Nonzero when the pass applies a mask (training with a rate above 0). */
static int masks(const dropout_layer *d, const lt_pass *p) { return p->training && d->rate != 0.0f; }

/* Draws the mask for this step, multiplies; a copy at inference. */
static lt_status dropout_forward(lt_layer *l, const lt_pass *p, size_t batch,
                                 const lt_buf *x, size_t xoff, lt_buf *y, size_t yoff)
{
    dropout_layer *d = (dropout_layer *)l;
    size_t n = batch * (size_t)l->out_dim;
    if (!masks(d, p)) return lt_layer_forward_copy(l, p, batch, x, xoff, y, yoff);
    lt_status st = lt_be_dropout_mask(p->be, p->ws, p->ws_off, n, d->rate, p->seed, p->step << 32,
                                      p->row0 * (size_t)l->out_dim);
    return st == LT_OK ? lt_be_mul(p->be, n, x, xoff, p->ws, p->ws_off, y, yoff) : st;
}

/* dx = dy * mask (the same mask). */
static lt_status dropout_backward(lt_layer *l, const lt_pass *p, size_t batch,
                                  const lt_buf *x, size_t xoff, const lt_buf *y, size_t yoff,
                                  lt_buf *dy, size_t dyoff, lt_buf *dx, size_t dxoff)
{
    if (!dx || !masks((dropout_layer *)l, p)) return lt_layer_backward_copy(l, p, batch, x, xoff, y, yoff, dy, dyoff, dx, dxoff);
    return lt_be_mul(p->be, batch * (size_t)l->out_dim, dy, dyoff, p->ws, p->ws_off, dx, dxoff);
}

/* "rate=0.2". */
static void dropout_write_config(const lt_layer *l, char *buf, size_t len)
{
    snprintf(buf, len, "rate=%.9g", (double)((const dropout_layer *)l)->rate);
}

/* Reads "rate=0.2". */
static lt_layer *dropout_from_config(const lt_kv *kv, char *err, size_t errlen)
{
    float rate;
    if (lt_parse_strtof(lt_kv_get(kv, "rate"), &rate) != 0 || !(rate >= 0.0f && rate < 1.0f)) { snprintf(err, errlen, "dropout: rate must be in [0, 1)"); return NULL; }
    return lt_layer_or_nomem(lt_dropout(rate), err, errlen);
}

const lt_layer_ops lt_dropout_ops = {
    .type = "Dropout", .file_tag = "dropout", .from_config = dropout_from_config, .build = dropout_build,
    .forward = dropout_forward, .backward = dropout_backward, .write_config = dropout_write_config,
};

/* A Dropout layer; NULL for a rate outside [0, 1). */
lt_layer *lt_dropout(float rate)
{
    if (!(rate >= 0.0f && rate < 1.0f)) return NULL;
    dropout_layer *d = (dropout_layer *)lt_layer_new(&lt_dropout_ops, sizeof *d);
    if (d) d->rate = rate;
    return d ? &d->base : NULL;
}
