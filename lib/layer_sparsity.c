/* Activity penalties on a hidden layer's output, as identity layers placed after it:
 *   Sparsity (Ng's sparse autoencoder): beta * sum_j KL(rho || rho_j), rho_j the mean
 *   activation of unit j over the batch (activations in (0, 1): put it after a sigmoid);
 *   ActivityL1 (Keras's ActivityRegularization(l1=...)): lambda * sum_j |a_j|, averaged
 *   over samples.
 * Both add their penalty to the reported loss as it stands (not rescaled by the loss's
 * own normalisation) and its gradient in backward. */
#include <math.h>
#include <stdio.h>
#include "layer.h"

typedef struct penalty_layer {
    lt_layer base;
    int l1;       /* 1: ActivityL1, 0: Sparsity            */
    float weight; /* beta (sparsity) or lambda (L1), >= 0   */
    float rho;    /* sparsity target in (0, 1)              */
} penalty_layer;

/* Same shape; workspace: column sums, per-unit gradient, one scratch sum. */
static lt_status penalty_build(lt_layer *l, lt_ctx *ctx, const lt_shape *in)
{
    /* Per sample, but used per batch: room for 2 * units + 1 even at batch 1. */
    lt_layer_set_output(l, in, 2 * lt_shape_size(in) + 1);
    return LT_OK;
}

/* Sparsity: the column sums of x into ws[0..cols), then the KL sum into ws[2*cols] and,
 * with grad_scale, the per-unit gradient into ws[cols..2*cols). */
static lt_status sparsity_terms(const penalty_layer *s, const lt_pass *p, size_t batch, const lt_buf *x, size_t xoff,
                                float grad_scale)
{
    size_t cols = (size_t)s->base.out_dim, o = p->ws_off;
    lt_status st = lt_be_bias_act_backward(p->be, batch, cols, LT_BACT_LINEAR, 0.0f, NULL, 0, x, xoff, NULL, 0, 0.0f,
                                                 p->ws, o);
    return st == LT_OK ? lt_be_sparsity_kl(p->be, batch, cols, p->ws, o, s->rho, p->ws, o + 2 * cols, grad_scale,
                                                 p->ws, o + cols)
                       : st;
}

/* dx = dy + the penalty's gradient. */
static lt_status penalty_backward(lt_layer *l, const lt_pass *p, size_t batch,
                                  const lt_buf *x, size_t xoff, const lt_buf *y, size_t yoff,
                                  lt_buf *dy, size_t dyoff, lt_buf *dx, size_t dxoff)
{
    if (!dx) return LT_OK;
    const penalty_layer *s = (const penalty_layer *)l;
    size_t cols = (size_t)l->out_dim;
    if (s->l1) /* d(lambda * sum|a| / norm_rows) */
        return lt_be_l1_penalty(p->be, batch * cols, x, xoff, p->ws, p->ws_off, dy, dyoff, s->weight / (float)p->norm_rows,
                                      dx, dxoff);
    lt_status st = sparsity_terms(s, p, batch, x, xoff, s->weight);
    if (st != LT_OK) return st;
    /* The same gradient for every row: add it as a bias. */
    return lt_be_bias_act_forward(p->be, batch, cols, dy, dyoff, p->ws, p->ws_off + cols, LT_BACT_LINEAR, 0.0f,
                                        dx, dxoff);
}

/* loss[slot] += the penalty / loss_scale, so the reported loss grows by the penalty. */
static lt_status penalty_add_loss(lt_layer *l, const lt_pass *p, size_t batch, const lt_buf *x, size_t xoff,
                                  lt_buf *loss, size_t slot)
{
    const penalty_layer *s = (const penalty_layer *)l;
    size_t cols = (size_t)l->out_dim, sum_at = p->ws_off + 2 * cols;
    lt_status st;
    float alpha;
    if (s->l1) {
        sum_at = p->ws_off;
        st = lt_be_l1_penalty(p->be, batch * cols, x, xoff, p->ws, sum_at, NULL, 0, 0.0f, NULL, 0);
        alpha = s->weight / (float)p->norm_rows / p->loss_scale;
    } else {
        st = sparsity_terms(s, p, batch, x, xoff, 0.0f);
        alpha = s->weight / p->loss_scale;
    }
    return st == LT_OK ? lt_be_axpby(p->be, 1, alpha, p->ws, sum_at, 1.0f, loss, slot) : st;
}

/* "rho=0.05 beta=3" or "lambda=1e-05". */
static void penalty_write_config(const lt_layer *l, char *buf, size_t len)
{
    const penalty_layer *s = (const penalty_layer *)l;
    if (s->l1) snprintf(buf, len, "lambda=%.9g", (double)s->weight);
    else snprintf(buf, len, "rho=%.9g beta=%.9g", (double)s->rho, (double)s->weight);
}

/* A penalty layer, or NULL for settings out of range. */
static lt_layer *penalty_new(int l1, float weight, float rho)
{
    if (!(weight >= 0.0f) || !isfinite(weight) || (!l1 && !(rho > 0.0f && rho < 1.0f))) return NULL;
    penalty_layer *s = (penalty_layer *)lt_layer_new(l1 ? &lt_activity_l1_ops : &lt_sparsity_ops, sizeof *s);
    if (!s) return NULL;
    s->l1 = l1;
    s->weight = weight;
    s->rho = rho;
    return &s->base;
}

/* A Sparsity layer; NULL for rho outside (0, 1) or a negative beta. */
lt_layer *lt_sparsity(float rho, float beta) { return penalty_new(0, beta, rho); }

/* An ActivityL1 layer; NULL for a negative lambda. */
lt_layer *lt_activity_l1(float lambda) { return penalty_new(1, lambda, 0.5f); }

/* Reads "rho=0.05 beta=3". */
static lt_layer *sparsity_from_config(const lt_kv *kv, char *err, size_t errlen)
{
    float rho = 0, beta = 0;
    const char *r = lt_kv_get(kv, "rho"), *b = lt_kv_get(kv, "beta");
    lt_layer *l = r && b && lt_parse_float(r, &rho) == 0 && lt_parse_float(b, &beta) == 0 ? lt_sparsity(rho, beta) : NULL;
    if (!l) snprintf(err, errlen, "sparsity: needs rho in (0, 1) and beta >= 0");
    return l;
}

/* Reads "lambda=1e-05". */
static lt_layer *activity_l1_from_config(const lt_kv *kv, char *err, size_t errlen)
{
    float lambda = 0;
    const char *v = lt_kv_get(kv, "lambda");
    lt_layer *l = v && lt_parse_float(v, &lambda) == 0 ? lt_activity_l1(lambda) : NULL;
    if (!l) snprintf(err, errlen, "activity_l1: needs lambda >= 0");
    return l;
}

/* The two types: y = x forward, the penalty's gradient added backward. */
const lt_layer_ops lt_sparsity_ops = {
    .type = "Sparsity", .file_tag = "sparsity", .from_config = sparsity_from_config, .build = penalty_build,
    .forward = lt_layer_forward_copy, .backward = penalty_backward, .write_config = penalty_write_config,
    .add_loss = penalty_add_loss,
};
const lt_layer_ops lt_activity_l1_ops = {
    .type = "ActivityL1", .file_tag = "activity_l1", .from_config = activity_l1_from_config, .build = penalty_build,
    .forward = lt_layer_forward_copy, .backward = penalty_backward, .write_config = penalty_write_config,
    .add_loss = penalty_add_loss,
};
