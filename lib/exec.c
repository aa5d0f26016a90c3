/* Running a model: the device workspace, forward and backward passes, one training
 * step, prediction and evaluation. Everything stays on the device; the host only
 * uploads inputs and downloads outputs or loss slots. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "fit_dist.h"
#include "model.h"

/* The per-layer random key: the run's seed mixed with the layer's position. */
static uint64_t layer_key(uint64_t seed, int layer)
{
    return seed ^ ((uint64_t)(layer + 1) * 0x9E3779B97F4A7C15ull);
}

void lt_workspace_free(lt_model *m)
{
    lt_backend *be = LT_BE(m);
    lt_workspace *w = &m->ws;
    lt_be_buf_free(be, w->acts);
    lt_be_buf_free(be, w->grad);
    lt_be_buf_free(be, w->layer_ws);
    lt_be_buf_free(be, w->target);
    lt_be_buf_free(be, w->loss);
    free(w->act_off);
    free(w->layer_ws_off);
    memset(w, 0, sizeof *w);
}

lt_status lt_workspace_reserve(lt_model *m, size_t batch, size_t loss_slots)
{
    lt_ctx *ctx = m->ctx;
    lt_backend *be = ctx->be;
    lt_workspace *w = &m->ws;
    if (!m->built) return lt_set_error(ctx, LT_ERR_ARG, "%s: model is not built", m->name);
    if (batch == 0) batch = 1;
    if (loss_slots == 0) loss_slots = 1;
    if (w->batch >= batch && w->loss_slots >= loss_slots) return LT_OK;
    if (w->batch > batch) batch = w->batch;
    if (w->loss_slots > loss_slots) loss_slots = w->loss_slots;
    lt_workspace_free(m);
    size_t n = (size_t)m->n_flat;
    w->act_off = calloc(n + 1, sizeof *w->act_off);
    w->layer_ws_off = calloc(n, sizeof *w->layer_ws_off);
    if (!w->act_off || !w->layer_ws_off) { lt_workspace_free(m); return lt_set_error(ctx, LT_ERR_NOMEM, "out of host memory"); }
    size_t acts = (size_t)m->in_dim * batch, maxw = (size_t)m->in_dim, lws = 0;
    for (size_t i = 0; i < n; i++) {
        lt_layer *l = m->flat[i];
        w->act_off[i + 1] = l->ops->is_view ? w->act_off[i] : acts; /* a view's output is its input */
        if (!l->ops->is_view) acts += (size_t)l->out_dim * batch;
        if ((size_t)l->out_dim > maxw) maxw = (size_t)l->out_dim;
        w->layer_ws_off[i] = lws;
        lws += l->ws_floats * batch;
    }
    w->grad_half = maxw * batch;
    lt_status st = lt_alloc_named(ctx, acts, "the activations", &w->acts);
    if (st == LT_OK) st = lt_alloc_named(ctx, 2 * w->grad_half, "the gradients of the activations", &w->grad);
    if (st == LT_OK) st = lt_alloc_named(ctx, lws ? lws : 1, "the layers' workspace", &w->layer_ws);
    if (st == LT_OK) st = lt_alloc_named(ctx, (size_t)m->out_dim * batch, "the targets", &w->target);
    if (st == LT_OK) st = lt_alloc_named(ctx, loss_slots, "the loss slots", &w->loss);
    if (st != LT_OK) {
        lt_workspace_free(m);
        return lt_set_error(ctx, st, "%s: cannot allocate the workspace for batch %zu (%s)", m->name, batch, lt_be_message(be));
    }
    w->batch = batch;
    w->loss_slots = loss_slots;
    return LT_OK;
}

/* The global batch rows (of a training pass) are normalized over. */
static size_t norm_rows(const lt_model *m, size_t rows)
{
    return m->train.norm_rows ? m->train.norm_rows : rows;
}

/* The pass settings of layer i. */
static lt_pass make_pass(lt_model *m, int i, size_t rows, int training, uint64_t seed, uint64_t step)
{
    lt_workspace *w = &m->ws;
    size_t norm = norm_rows(m, rows);
    lt_pass p = {LT_BE(m), training, layer_key(seed, i), step, w->layer_ws, w->layer_ws_off[i], w->acts, 0, m->in_dim,
                 lt_loss_scale(m->train.loss, norm, (size_t)m->out_dim), m->train.compiled ? m->train.kl_factor : 1.0f,
                 m->train.row0, norm};
    return p;
}

lt_status lt_add_layer_losses(lt_model *m, size_t rows, int training, uint64_t seed, uint64_t step, size_t slot)
{
    lt_workspace *w = &m->ws;
    for (int i = 0; i < m->n_flat; i++) {
        lt_layer *l = m->flat[i];
        if (!l->ops->add_loss) continue;
        lt_pass p = make_pass(m, i, rows, training, seed, step);
        lt_status st = l->ops->add_loss(l, &p, rows, w->acts, w->act_off[i], w->loss, slot);
        if (st != LT_OK) return st;
    }
    return LT_OK;
}

lt_status lt_forward(lt_model *m, size_t rows, int training, uint64_t seed, uint64_t step)
{
    lt_workspace *w = &m->ws;
    for (int i = 0; i < m->n_flat; i++) {
        lt_layer *l = m->flat[i];
        if (l->ops->is_view) continue; /* its output is its input's storage */
        lt_pass p = make_pass(m, i, rows, training, seed, step);
        lt_status st = l->ops->forward(l, &p, rows, w->acts, w->act_off[i], w->acts, w->act_off[i + 1]);
        if (st != LT_OK) return st;
    }
    return LT_OK;
}

/* Backward through every layer from the loss gradient in grad half 0. */
static lt_status backward(lt_model *m, size_t rows, uint64_t seed, uint64_t step)
{
    lt_workspace *w = &m->ws;
    size_t dy = 0, dx = w->grad_half;
    for (int i = m->n_flat - 1; i >= 0; i--) {
        lt_layer *l = m->flat[i];
        if (l->ops->is_view) continue; /* dx is dy, in the same half */
        lt_pass p = make_pass(m, i, rows, 1, seed, step);
        lt_status st = l->ops->backward(l, &p, rows, w->acts, w->act_off[i], w->acts, w->act_off[i + 1],
                                        w->grad, dy, i > 0 ? w->grad : NULL, dx);
        if (st == LT_OK && m->train.grads_done) st = m->train.grads_done(m->train.grads_done_user, m, i);
        if (st != LT_OK) return st;
        size_t t = dy; dy = dx; dx = t;
    }
    return LT_OK;
}

float lt_loss_scale(lt_loss loss, size_t rows, size_t cols)
{
    return (float)(1.0 / lt_loss_normalizer(loss, rows, cols));
}

double lt_loss_normalizer(lt_loss loss, size_t rows, size_t cols)
{
    int per_sample = loss == LT_LOSS_CCE || loss == LT_LOSS_MSE_SUM || loss == LT_LOSS_BCE_SUM;
    return per_sample ? (double)rows : (double)rows * (double)cols;
}

lt_backend_loss lt_loss_to_backend(lt_loss loss)
{
    switch (loss) {
    case LT_LOSS_MSE: return LT_BLOSS_MSE;
    case LT_LOSS_MSE_SUM: return LT_BLOSS_MSE;
    case LT_LOSS_BCE_SUM: return LT_BLOSS_BCE_PROBS;
    case LT_LOSS_BCE: return LT_BLOSS_BCE_PROBS;
    case LT_LOSS_BCE_LOGITS: return LT_BLOSS_BCE_LOGITS;
    case LT_LOSS_CCE: return LT_BLOSS_CCE_PROBS;
    }
    return LT_BLOSS_MSE;
}

lt_status lt_compute_grads(lt_model *m, size_t rows, const lt_buf *target, size_t toff, size_t slot, uint64_t seed)
{
    lt_backend *be = LT_BE(m);
    lt_workspace *w = &m->ws;
    uint64_t step = m->train.steps;
    lt_status st = lt_forward(m, rows, 1, seed, step);
    if (st != LT_OK) return st;
    size_t cols = (size_t)m->out_dim;
    float scale = lt_loss_scale(m->train.loss, norm_rows(m, rows), cols);
    st = lt_be_loss(be, lt_loss_to_backend(m->train.loss), rows, cols, w->acts, w->act_off[m->n_flat],
                       target, toff, w->loss, slot, scale, w->grad, 0);
    if (st != LT_OK) return st;
    st = lt_add_layer_losses(m, rows, 1, seed, step, slot);
    return st == LT_OK ? backward(m, rows, seed, step) : st;
}

lt_status lt_train_step(lt_model *m, size_t rows, const lt_buf *target, size_t toff, size_t slot, uint64_t seed)
{
    lt_status st = lt_compute_grads(m, rows, target, toff, slot, seed);
    return st == LT_OK ? lt_optimizer_step(m) : st;
}

lt_status lt_check_finite(lt_ctx *ctx, const float *x, size_t n, size_t dim, const char *what)
{
    for (size_t i = 0; i < n * dim; i++)
        if (!isfinite(x[i]))
            return lt_set_error(ctx, LT_ERR_NONFINITE, "%s: non-finite value at row %zu, column %zu", what, i / dim, i % dim);
    return LT_OK;
}

lt_status lt_check_targets(lt_model *m, const lt_dataset *y, const char *what)
{
    lt_loss loss = m->train.loss;
    if (loss != LT_LOSS_BCE && loss != LT_LOSS_BCE_LOGITS && loss != LT_LOSS_BCE_SUM) return LT_OK;
    for (size_t i = 0; i < y->n * y->dim; i++)
        if (!(y->x[i] >= 0.0f && y->x[i] <= 1.0f))
            return lt_set_error(m->ctx, LT_ERR_ARG, "%s: binary cross-entropy needs targets in [0, 1] (probabilities, "
                                "pixel intensities), but row %zu, column %zu is %g: use mse for such data", what,
                                i / y->dim, i % y->dim, (double)y->x[i]);
    return LT_OK;
}

lt_status lt_predict(lt_model *m, const float *x, size_t n, float *out)
{
    if (!m || (!x && n) || (!out && n)) return m ? lt_set_error(m->ctx, LT_ERR_ARG, "lt_predict: NULL data") : LT_ERR_ARG;
    lt_ctx *ctx = m->ctx;
    lt_backend *be = ctx->be;
    if (!m->built) return lt_set_error(ctx, LT_ERR_ARG, "%s: model is not built", m->name);
    size_t in = (size_t)m->in_dim, outd = (size_t)m->out_dim;
    lt_status st = lt_check_finite(ctx, x, n, in, "predict input");
    if (st != LT_OK) return st;
    size_t chunk = m->ws.batch >= 256 ? m->ws.batch : 256;
    st = lt_workspace_reserve(m, chunk, 1);
    if (st != LT_OK) return st;
    for (size_t r = 0; r < n; r += chunk) {
        size_t rows = n - r < chunk ? n - r : chunk;
        st = lt_be_upload(be, m->ws.acts, 0, x + r * in, rows * in);
        if (st == LT_OK) st = lt_forward(m, rows, 0, 0, 0);
        if (st == LT_OK) st = lt_be_download(be, m->ws.acts, m->ws.act_off[m->n_flat], out + r * outd, rows * outd);
        if (st != LT_OK) return st;
    }
    return LT_OK;
}

lt_status lt_evaluate(lt_model *m, const lt_dataset *x, const lt_dataset *y, float *loss)
{
    return lt_evaluate_comm(m, x, y, NULL, loss);
}

/* Checks lt_evaluate's arguments. */
static lt_status check_evaluate(lt_model *m, const lt_dataset *x, const lt_dataset *y)
{
    lt_ctx *ctx = m->ctx;
    if (!m->built) return lt_set_error(ctx, LT_ERR_ARG, "%s: model is not built", m->name);
    if (!m->train.compiled) return lt_set_error(ctx, LT_ERR_ARG, "%s: compile the model (choose a loss) before evaluating", m->name);
    if (x->dim != (size_t)m->in_dim)
        return lt_set_error(ctx, LT_ERR_SHAPE, "%s: the model takes %d inputs per sample, the data have %zu", m->name, m->in_dim, x->dim);
    if (y->dim != (size_t)m->out_dim)
        return lt_set_error(ctx, LT_ERR_SHAPE, "%s: the model gives %d outputs per sample, the targets have %zu", m->name, m->out_dim, y->dim);
    if (x->n != y->n) return lt_set_error(ctx, LT_ERR_SHAPE, "inputs have %zu samples, targets %zu", x->n, y->n);
    if (x->n == 0) return lt_set_error(ctx, LT_ERR_ARG, "no samples to evaluate");
    return lt_check_targets(m, y, y == x ? "evaluation data (the targets)" : "evaluation targets");
}

lt_status lt_evaluate_comm(lt_model *m, const lt_dataset *x, const lt_dataset *y, const lt_comm *comm, float *loss)
{
    if (!m || !x || !loss) return m ? lt_set_error(m->ctx, LT_ERR_ARG, "lt_evaluate: NULL argument") : LT_ERR_ARG;
    lt_ctx *ctx = m->ctx;
    lt_backend *be = ctx->be;
    if (!y) y = x;
    lt_dist dist;
    lt_dist_attach(&dist, comm);
    /* each process its share of the chunks; every failure joins the sum below */
    size_t chunk = 256, in = x->dim, outd = y->dim, chunks = (x->n + chunk - 1) / chunk, c0 = 0, mine = 0;
    lt_status st = check_evaluate(m, x, y);
    float *sums = st == LT_OK ? malloc((chunks ? chunks : 1) * sizeof *sums) : NULL;
    if (st == LT_OK && !sums) st = lt_set_error(ctx, LT_ERR_NOMEM, "out of host memory");
    if (st == LT_OK) {
        lt_dist_chunks(&dist, chunks, &c0, &mine);
        st = lt_workspace_reserve(m, chunk, chunks);
    }
    lt_workspace *w = &m->ws;
    for (size_t c = c0; st == LT_OK && c < c0 + mine; c++) {
        size_t r = c * chunk, rows = x->n - r < chunk ? x->n - r : chunk;
        st = lt_be_upload(be, w->acts, 0, x->x + r * in, rows * in);
        if (st == LT_OK) st = lt_be_upload(be, w->target, 0, y->x + r * outd, rows * outd);
        if (st == LT_OK) st = lt_forward(m, rows, 0, 0, 0);
        if (st == LT_OK)
            st = lt_be_loss(be, lt_loss_to_backend(m->train.loss), rows, outd, w->acts, w->act_off[m->n_flat], w->target, 0,
                            w->loss, c, 0.0f, NULL, 0);
        if (st == LT_OK) st = lt_add_layer_losses(m, rows, 0, 0, 0, c);
    }
    if (st == LT_OK) st = lt_be_download(be, w->loss, 0, sums, chunks);
    /* the others' chunks are theirs: with exact zeros added every process sums the very
     * numbers one process would */
    for (size_t c = 0; sums && c < chunks; c++)
        if (st != LT_OK || c < c0 || c >= c0 + mine) sums[c] = 0.0f;
    st = lt_dist_check(m, &dist, st, NULL, LT_DIST_EVAL, 0);
    if (st == LT_OK) st = lt_dist_sum(m, &dist, sums, chunks);
    double total = 0;
    for (size_t c = 0; st == LT_OK && c < chunks; c++) total += sums[c];
    free(sums);
    lt_dist_end(m, &dist);
    if (st != LT_OK) return st;
    /* Mean over samples of the per-sample loss (MSE/BCE: also over columns). */
    double denom = lt_loss_normalizer(m->train.loss, x->n, outd);
    *loss = (float)(total / denom);
    if (!isfinite(*loss)) return lt_set_error(ctx, LT_ERR_NONFINITE, "%s: the loss is not finite", m->name);
    return LT_OK;
}
