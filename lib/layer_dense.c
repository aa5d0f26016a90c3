/* Dense: y = act(x W + b), W stored in_dim x out_dim row-major (Keras's kernel shape),
 * then b; Glorot-uniform W and zero b, as Keras initialises them. */
#include <math.h>
#include <stdio.h>
#include "layer.h"

typedef struct dense_layer {
    lt_layer base;
    int units;   /* output width         */
    lt_act act;  /* activation           */
    float alpha; /* leaky slope/elu alpha */
} dense_layer;

/* Width of the last axis, the one Dense acts on. */
static size_t last_axis(const lt_shape *s) { return (size_t)s->d[s->rank - 1]; }

/* As Keras, Dense acts on the last axis: (..., k) -> (..., units), k*units + units
 * parameters; leading axes are batch-like rows. */
static lt_status dense_build(lt_layer *l, lt_ctx *ctx, const lt_shape *in)
{
    dense_layer *d = (dense_layer *)l;
    l->out_shape = *in;
    l->out_shape.d[in->rank - 1] = d->units;
    lt_layer_set_tensors(l, l->no_bias ? 1 : 2, (size_t[]){last_axis(in) * (size_t)d->units, (size_t)d->units}); /* kernel, bias */
    l->ws_floats = 0;
    return LT_OK;
}

/* Glorot uniform: U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out)); zero bias. */
static lt_status dense_init(lt_layer *l, lt_backend *be, uint64_t seed, uint64_t layer)
{
    size_t fan_in = last_axis(&l->in_shape), fan_out = last_axis(&l->out_shape), nw = fan_in * fan_out;
    float limit = sqrtf(6.0f / (float)(fan_in + fan_out));
    lt_status st = lt_be_random_uniform(be, l->slot.params, l->slot.off, nw, -limit, limit,
                                          lt_init_key(seed, layer, 0), 0, 0);
    if (st != LT_OK || l->no_bias) return st;
    return lt_be_fill(be, l->slot.params, l->slot.off + nw, fan_out, 0.0f);
}

/* One GEMM, then bias and activation fused in one op. */
static lt_status dense_forward(lt_layer *l, const lt_pass *p, size_t batch,
                               const lt_buf *x, size_t xoff, lt_buf *y, size_t yoff)
{
    dense_layer *d = (dense_layer *)l;
    lt_backend *be = p->be;
    size_t in = last_axis(&l->in_shape), out = (size_t)d->units;
    batch *= (size_t)l->in_dim / in; /* rows: every position of the leading axes */
    lt_status st = lt_be_gemm(be, 0, 0, batch, out, in, 1.0f, x, xoff, in,
                                 l->slot.params, l->slot.off, out, 0.0f, y, yoff, out);
    if (st != LT_OK) return st;
    return lt_be_bias_act_forward(be, batch, out, y, yoff, l->no_bias ? NULL : l->slot.params, l->slot.off + in * out,
                                     lt_act_to_backend(d->act), d->alpha, y, yoff);
}

/* dz = dy * act'(y); dW = x^T dz; db = sum_rows dz; dx = dz W^T. */
static lt_status dense_backward(lt_layer *l, const lt_pass *p, size_t batch,
                                const lt_buf *x, size_t xoff, const lt_buf *y, size_t yoff,
                                lt_buf *dy, size_t dyoff, lt_buf *dx, size_t dxoff)
{
    dense_layer *d = (dense_layer *)l;
    lt_backend *be = p->be;
    size_t in = last_axis(&l->in_shape), out = (size_t)d->units;
    batch *= (size_t)l->in_dim / in;
    lt_status st = lt_bias_act_grad(be, batch, out, d->act, d->alpha, y, yoff, dy, dyoff, l->no_bias ? NULL : l->slot.grads,
                                    l->slot.off + in * out);
    if (st == LT_OK)
        st = lt_be_gemm(be, 1, 0, in, out, batch, 1.0f, x, xoff, in, dy, dyoff, out,
                           0.0f, l->slot.grads, l->slot.off, out);
    if (st == LT_OK && dx)
        st = lt_be_gemm(be, 0, 1, batch, in, out, 1.0f, dy, dyoff, out, l->slot.params, l->slot.off, out,
                           0.0f, dx, dxoff, in);
    return st;
}

/* "units=64 activation=elu alpha=1", then " use_bias=0" without a bias. */
static void dense_write_config(const lt_layer *l, char *buf, size_t len)
{
    const dense_layer *d = (const dense_layer *)l;
    snprintf(buf, len, "units=%d activation=%s alpha=%.9g%s", d->units, lt_act_name(d->act), (double)d->alpha,
             l->no_bias ? " use_bias=0" : "");
}

/* Sets the leaky slope or elu alpha. */
static void dense_set_alpha(lt_layer *l, float alpha) { ((dense_layer *)l)->alpha = alpha; }

/* Reads "units=64 activation=elu alpha=1" (alpha optional: the activation's default). */
static lt_layer *dense_from_config(const lt_kv *kv, char *err, size_t errlen)
{
    const char *u = lt_kv_get(kv, "units"), *a = lt_kv_get(kv, "activation"), *al = lt_kv_get(kv, "alpha");
    lt_act act;
    int units;
    if (lt_parse_int(u, 1, 1 << 24, &units) != 0) { snprintf(err, errlen, "dense: bad or missing units"); return NULL; }
    if (!a || lt_act_parse(a, &act) != 0) { snprintf(err, errlen, "dense: bad or missing activation"); return NULL; }
    float alpha = lt_act_default_alpha(act);
    if (al && lt_act_alpha_parse(al, act, &alpha) != 0) { snprintf(err, errlen, "dense: bad alpha '%s'", al); return NULL; }
    int use_bias = 1;
    if (lt_kv_get(kv, "use_bias") && lt_parse_int(lt_kv_get(kv, "use_bias"), 0, 1, &use_bias) != 0) {
        snprintf(err, errlen, "dense: bad use_bias");
        return NULL;
    }
    lt_layer *l = lt_layer_or_nomem(lt_dense(units, act), err, errlen);
    if (l) dense_set_alpha(l, alpha);
    if (l) l->no_bias = !use_bias;
    return l;
}

const lt_layer_ops lt_dense_ops = {
    .type = "Dense", .file_tag = "dense", .from_config = dense_from_config, .build = dense_build, .has_bias = 1,
    .forward = dense_forward, .backward = dense_backward, .write_config = dense_write_config, .init = dense_init,
    .set_alpha = dense_set_alpha,
};

/* A Dense layer with Keras's default alpha; NULL for units outside 1..2^24 or an unknown
 * activation. */
lt_layer *lt_dense(int units, lt_act act)
{
    if (units <= 0 || units > (1 << 24) || !lt_act_valid(act)) return NULL;
    dense_layer *d = (dense_layer *)lt_layer_new(&lt_dense_ops, sizeof *d);
    if (!d) return NULL;
    d->units = units;
    d->act = act;
    d->alpha = lt_act_default_alpha(act);
    return &d->base;
}

/* A new, unbuilt copy of a Dense layer's settings. */
lt_layer *lt_dense_clone(const lt_layer *l)
{
    if (!l || l->ops != &lt_dense_ops) return NULL;
    const dense_layer *d = (const dense_layer *)l;
    dense_layer *c = (dense_layer *)lt_dense(d->units, d->act);
    if (c) c->alpha = d->alpha;
    return c ? &c->base : NULL;
}
