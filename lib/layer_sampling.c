/* Sampling: the variational autoencoder's reparameterization (Kingma & Welling 2013).
 * Its input is [mean | log-variance] (2d values, from a Dense(2d) in front of it); in
 * training it outputs z = mean + exp(logvar / 2) * eps with eps ~ N(0, 1) drawn on the
 * device from the seeded Philox stream, at inference z = mean. It adds beta times the
 * KL divergence KL(N(mean, exp(logvar)) || N(0, 1)), averaged over samples, to the
 * reported loss; with a summed reconstruction loss (bce-sum) that is the negative ELBO. */
#include <math.h>
#include <stdio.h>
#include "layer.h"

typedef struct sampling_layer {
    lt_layer base;
    float beta; /* KL weight (1: the ELBO; beta-VAE above 1) */
} sampling_layer;

/* (2d) -> (d). */
static lt_status sampling_build(lt_layer *l, lt_ctx *ctx, const lt_shape *in)
{
    if (in->rank != 1 || in->d[0] % 2 != 0)
        return lt_shape_error(ctx, in, "%s: needs a flat input of [mean | log-variance], an even width", l->name);
    /* workspace: eps per sample, and room for the KL sum */
    lt_layer_set_output(l, &(lt_shape){1, {in->d[0] / 2, 0, 0}}, (size_t)in->d[0] / 2 + 1);
    return LT_OK;
}

/* z = mean + exp(logvar / 2) * eps in training, mean otherwise. */
static lt_status sampling_forward(lt_layer *l, const lt_pass *p, size_t batch,
                                  const lt_buf *x, size_t xoff, lt_buf *y, size_t yoff)
{
    size_t d = (size_t)l->out_dim;
    if (!p->training) return lt_be_vae_sample_forward(p->be, batch, d, x, xoff, NULL, 0, y, yoff);
    lt_status st = lt_be_random_normal(p->be, p->ws, p->ws_off, batch * d, 0.0f, 1.0f, p->seed, p->step << 32, p->row0 * d);
    return st == LT_OK ? lt_be_vae_sample_forward(p->be, batch, d, x, xoff, p->ws, p->ws_off, y, yoff) : st;
}

/* The reparameterization's gradient plus the KL term's. */
static lt_status sampling_backward(lt_layer *l, const lt_pass *p, size_t batch,
                                   const lt_buf *x, size_t xoff, const lt_buf *y, size_t yoff,
                                   lt_buf *dy, size_t dyoff, lt_buf *dx, size_t dxoff)
{
    if (!dx) return LT_OK; /* a model starting with Sampling has nothing to train before it */
    const sampling_layer *s = (const sampling_layer *)l;
    float kl_scale = s->beta * p->kl_factor / (float)p->norm_rows; /* d(mean KL)/dx */
    return lt_be_vae_sample_backward(p->be, batch, (size_t)l->out_dim, x, xoff, p->training ? p->ws : NULL,
                                           p->ws_off, dy, dyoff, kl_scale, dx, dxoff);
}

/* loss[slot] += beta * warm-up * (KL summed over the rows) / norm_rows, in the slot's
 * unscaled units (the host multiplies the slot by loss_scale). */
static lt_status sampling_add_loss(lt_layer *l, const lt_pass *p, size_t batch, const lt_buf *x, size_t xoff,
                                   lt_buf *loss, size_t slot)
{
    const sampling_layer *s = (const sampling_layer *)l;
    size_t d = (size_t)l->out_dim, kl = p->ws_off + batch * d;
    float alpha = s->beta * p->kl_factor / ((float)p->norm_rows * p->loss_scale);
    lt_status st = lt_be_kl_normal(p->be, batch, d, x, xoff, p->ws, kl);
    return st == LT_OK ? lt_be_axpby(p->be, 1, alpha, p->ws, kl, 1.0f, loss, slot) : st;
}

/* "beta=1". */
static void sampling_write_config(const lt_layer *l, char *buf, size_t len)
{
    snprintf(buf, len, "beta=%.9g", (double)((const sampling_layer *)l)->beta);
}

/* Reads "beta=1" (optional: 1). */
static lt_layer *sampling_from_config(const lt_kv *kv, char *err, size_t errlen)
{
    const char *v = lt_kv_get(kv, "beta");
    float beta = 1.0f;
    if (v && (lt_parse_float(v, &beta) != 0 || !(beta >= 0.0f))) {
        snprintf(err, errlen, "sampling: beta must be a number >= 0");
        return NULL;
    }
    return lt_layer_or_nomem(lt_sampling(beta), err, errlen);
}

const lt_layer_ops lt_sampling_ops = {
    .type = "Sampling", .file_tag = "sampling", .from_config = sampling_from_config, .build = sampling_build,
    .forward = sampling_forward, .backward = sampling_backward, .write_config = sampling_write_config,
    .add_loss = sampling_add_loss,
};

/* A Sampling layer; NULL for a negative or non-finite beta. */
lt_layer *lt_sampling(float beta)
{
    if (!(beta >= 0.0f) || !isfinite(beta)) return NULL;
    sampling_layer *s = (sampling_layer *)lt_layer_new(&lt_sampling_ops, sizeof *s);
    if (s) s->beta = beta;
    return s ? &s->base : NULL;
}
