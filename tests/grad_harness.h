/* Finite-difference gradient checks through whole models, shared by test_model.c and
 * test_rnn.c: each includes it after defining `static lt_ctx *ctx;` and check.h. */
#ifndef LT_TESTS_GRAD_HARNESS_H
#define LT_TESTS_GRAD_HARNESS_H

#include <math.h>
#include <stdlib.h>
#include "check.h"
#include "model.h"
#include "backend/philox.h"

/* Loss (mean, as Keras reports) of the model on the rows already in acts[0]. */
static double loss_now(lt_model *m, size_t rows, const lt_buf *target, uint64_t seed)
{
    lt_backend *be = ctx->be;
    float sum = 0;
    if (lt_forward(m, rows, 1, seed, m->train.steps) != LT_OK) return NAN;
    lt_be_loss(be, lt_loss_to_backend(m->train.loss), rows, (size_t)m->out_dim, m->ws.acts, m->ws.act_off[m->n_flat],
                  target, 0, m->ws.loss, 0, 0.0f, NULL, 0);
    if (lt_add_layer_losses(m, rows, 1, seed, m->train.steps, 0) != LT_OK) return NAN; /* KL, sparsity, L1 */
    lt_be_download(be, m->ws.loss, 0, &sum, 1);
    return (double)sum * lt_loss_scale(m->train.loss, rows, (size_t)m->out_dim);
}

/* Compares backprop gradients with central differences for every parameter. */
static void grad_check(const char *what, lt_model *m, lt_loss loss)
{
    lt_backend *be = ctx->be;
    size_t rows = 4, in = (size_t)m->in_dim, out = (size_t)m->out_dim, np = m->n_params;
    lt_optimizer o = lt_optimizer_defaults(LT_SGD);
    if (lt_compile(m, loss, &o) != LT_OK || lt_workspace_reserve(m, rows, 1) != LT_OK) { CHECK(0, "%s: setup: %s", what, lt_ctx_error(ctx)); return; }
    float *x = malloc(rows * in * 4), *t = malloc(rows * out * 4), *p = malloc(np * 4), *g = malloc(np * 4);
    for (size_t i = 0; i < rows * in; i++) x[i] = lt_philox_uniform(11, 0, i, -1, 1);
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < out; c++) {
            float u = lt_philox_uniform(12, 0, r * out + c, 0, 1);
            t[r * out + c] = loss == LT_LOSS_CCE ? (c == r % out ? 1.0f : 0.0f) : loss == LT_LOSS_MSE ? 2 * u - 1 : u;
        }
    lt_buf *tb;
    lt_be_buf_alloc(be, rows * out, &tb);
    lt_be_upload(be, tb, 0, t, rows * out);
    lt_be_upload(be, m->ws.acts, 0, x, rows * in);
    uint64_t seed = 77;
    CHECK(lt_compute_grads(m, rows, tb, 0, 0, seed) == LT_OK, "%s: grads: %s", what, lt_ctx_error(ctx));
    lt_be_download(be, m->grads, 0, g, np);
    lt_be_download(be, m->params, 0, p, np);
    int bad = 0;
    double worst = 0;
    for (size_t i = 0; i < np; i++) {
        float h = 2e-3f * fmaxf(1.0f, fabsf(p[i]));
        float keep = p[i], v;
        v = keep + h; lt_be_upload(be, m->params, i, &v, 1);
        double lp = loss_now(m, rows, tb, seed);
        v = keep - h; lt_be_upload(be, m->params, i, &v, 1);
        double lm = loss_now(m, rows, tb, seed);
        lt_be_upload(be, m->params, i, &keep, 1);
        double fd = (lp - lm) / (2.0 * (double)h);
        double err = fabs(fd - (double)g[i]) / fmax(1e-2, fabs(fd) + fabs((double)g[i]));
        if (err > worst) worst = err;
        if (err > 3e-2) bad++;
    }
    CHECK(bad == 0, "%s: %d of %zu gradients disagree with finite differences (worst rel. err %.3g)", what, bad, np, worst);
    lt_be_buf_free(be, tb);
    free(x); free(t); free(p); free(g);
}

#endif
