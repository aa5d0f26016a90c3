/* Optimizers: Keras's defaults and rules; one update over a model's whole contiguous
 * parameter range is one backend call, and gradient-norm clipping before it two more
 * (sum_squares, clip_by_norm), whatever the number of tensors. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "model.h"

lt_optimizer lt_optimizer_defaults(lt_optim_kind kind)
{
    lt_optimizer o = {0};
    o.kind = kind;
    o.lr = kind == LT_SGD ? 0.01f : 0.001f;
    o.rho = 0.9f;
    o.beta1 = 0.9f;
    o.beta2 = 0.999f;
    o.epsilon = 1e-7f;
    return o;
}

int lt_optim_moments(const lt_optimizer *opt)
{
    switch (opt->kind) {
    case LT_SGD: return opt->momentum != 0.0f ? 1 : 0;
    case LT_RMSPROP: return opt->momentum != 0.0f ? 2 : 1;
    case LT_ADAM: return 2;
    }
    return 0;
}

lt_status lt_optimizer_check(lt_ctx *ctx, const lt_optimizer *o)
{
    if (o->kind != LT_SGD && o->kind != LT_RMSPROP && o->kind != LT_ADAM)
        return lt_set_error(ctx, LT_ERR_ARG, "unknown optimizer kind %d", (int)o->kind);
    if (!(o->lr > 0.0f) || !isfinite(o->lr)) return lt_set_error(ctx, LT_ERR_ARG, "learning rate must be a positive number, got %g", (double)o->lr);
    if (!(o->momentum >= 0.0f && o->momentum < 1.0f)) return lt_set_error(ctx, LT_ERR_ARG, "momentum must be in [0, 1), got %g", (double)o->momentum);
    if (o->kind == LT_RMSPROP && !(o->rho > 0.0f && o->rho < 1.0f)) return lt_set_error(ctx, LT_ERR_ARG, "rho must be in (0, 1), got %g", (double)o->rho);
    if (o->kind == LT_ADAM && !(o->beta1 >= 0.0f && o->beta1 < 1.0f && o->beta2 >= 0.0f && o->beta2 < 1.0f))
        return lt_set_error(ctx, LT_ERR_ARG, "Adam betas must be in [0, 1), got %g and %g", (double)o->beta1, (double)o->beta2);
    if (o->kind != LT_SGD && !(o->epsilon > 0.0f)) return lt_set_error(ctx, LT_ERR_ARG, "epsilon must be positive, got %g", (double)o->epsilon);
    if (!(o->clipnorm >= 0.0f) || !isfinite(o->clipnorm))
        return lt_set_error(ctx, LT_ERR_ARG, "clipnorm must be a finite number >= 0 (0: off), got %g", (double)o->clipnorm);
    if (!(o->global_clipnorm >= 0.0f) || !isfinite(o->global_clipnorm))
        return lt_set_error(ctx, LT_ERR_ARG, "global_clipnorm must be a finite number >= 0 (0: off), got %g",
                            (double)o->global_clipnorm);
    if (o->clipnorm > 0.0f && o->global_clipnorm > 0.0f)
        return lt_set_error(ctx, LT_ERR_ARG, "clipnorm and global_clipnorm cannot both be set (as in Keras): choose one");
    return LT_OK;
}

/* Scales the gradients in place as clipnorm (each tensor to that norm at most) or
 * global_clipnorm (all together) asks; the norms stay on the device. */
static lt_status clip_gradients(lt_model *m)
{
    const lt_trainer *t = &m->train;
    lt_backend *be = LT_BE(m);
    float limit = t->opt.clipnorm > 0.0f ? t->opt.clipnorm : t->opt.global_clipnorm;
    lt_status st = lt_be_sum_squares(be, m->n_params, m->grads, m->poff, t->clip_segments, t->clip_starts, 0,
                                        t->clip_sumsq, 0);
    if (st == LT_OK)
        st = lt_be_clip_by_norm(be, m->n_params, m->grads, m->poff, t->clip_segments, t->clip_starts, 0,
                                   t->clip_sumsq, 0, limit);
    return st;
}

lt_status lt_optimizer_step(lt_model *m)
{
    lt_backend *be = LT_BE(m);
    const lt_optimizer *o = &m->train.opt;
    lt_backend_optim_hyper h = {o->lr, o->momentum, o->nesterov, o->rho, o->beta1, o->beta2, o->epsilon};
    lt_backend_optim kind = o->kind == LT_SGD ? LT_BOPT_SGD : o->kind == LT_RMSPROP ? LT_BOPT_RMSPROP : LT_BOPT_ADAM;
    uint64_t t = ++m->train.steps;
    if (o->kind == LT_ADAM) /* bias correction folded into the step size, as Keras does */
        h.lr = (float)((double)o->lr * sqrt(1.0 - pow((double)o->beta2, (double)t)) / (1.0 - pow((double)o->beta1, (double)t)));
    if (m->n_params == 0) return LT_OK;
    lt_status st = m->train.clip_segments ? clip_gradients(m) : LT_OK;
    if (st == LT_OK)
        st = lt_be_optim_step(be, kind, &h, m->n_params, m->params, m->poff, m->grads, m->poff, m->train.state, 0);
    return st;
}

void lt_optimizer_release(lt_model *m)
{
    lt_backend *be = LT_BE(m);
    lt_trainer *t = &m->train;
    lt_be_buf_free(be, t->state);
    lt_be_buf_free(be, t->clip_starts);
    lt_be_buf_free(be, t->clip_sumsq);
    lt_be_buf_free(be, t->best);
    t->state = t->clip_starts = t->clip_sumsq = t->best = NULL;
    t->clip_segments = 0;
}

/* Makes the device tables clipping needs under optimizer o: with clipnorm one segment
 * per parameter tensor of m's layers, their starts uploaded once here; with
 * global_clipnorm one segment for all. A backend status. */
static lt_status make_clip_tables(lt_model *m, const lt_optimizer *o)
{
    lt_backend *be = LT_BE(m);
    lt_trainer *t = &m->train;
    size_t count = o->global_clipnorm > 0.0f ? 1 : 0;
    for (int i = 0; o->clipnorm > 0.0f && i < m->n_flat; i++) count += (size_t)m->flat[i]->n_tensors;
    if (count == 0) return LT_OK;
    lt_status st = lt_alloc_named(m->ctx, count, "the clipping norms", &t->clip_sumsq);
    if (st != LT_OK || o->clipnorm <= 0.0f) {
        t->clip_segments = st == LT_OK ? count : 0;
        return st;
    }
    uint32_t *starts = malloc(count * sizeof *starts);
    if (!starts) return lt_backend_set_error(be, LT_ERR_NOMEM, "out of host memory for %zu clipping segments", count);
    size_t k = 0;
    for (int i = 0; i < m->n_flat; i++) {
        const lt_layer *l = m->flat[i];
        size_t off = l->slot.off - m->poff; /* below 2^32: build caps the parameters there */
        for (int j = 0; j < l->n_tensors; j++) {
            starts[k++] = (uint32_t)off;
            off += l->tensor_size[j];
        }
    }
    st = lt_alloc_named(m->ctx, count, "the clipping segments", &t->clip_starts);
    if (st == LT_OK) st = lt_be_upload(be, t->clip_starts, 0, starts, count);
    free(starts);
    if (st == LT_OK) t->clip_segments = count;
    return st;
}

lt_status lt_compile(lt_model *m, lt_loss loss, const lt_optimizer *opt)
{
    if (!m) return LT_ERR_ARG;
    lt_ctx *ctx = m->ctx;
    lt_backend *be = ctx->be;
    if (!m->built) return lt_set_error(ctx, LT_ERR_ARG, "%s: build the model before compiling it", m->name);
    if ((int)loss < (int)LT_LOSS_MSE || (int)loss > (int)LT_LOSS_BCE_SUM)
        return lt_set_error(ctx, LT_ERR_ARG, "unknown loss %d", (int)loss);
    lt_optimizer o = opt ? *opt : lt_optimizer_defaults(LT_ADAM);
    lt_status st = lt_optimizer_check(ctx, &o);
    if (st != LT_OK) return st;
    lt_optimizer_release(m);
    size_t n = (size_t)lt_optim_moments(&o) * m->n_params;
    st = lt_alloc_named(ctx, n ? n : 1, "the optimizer's moments", &m->train.state);
    if (st == LT_OK) st = lt_be_fill(be, m->train.state, 0, n ? n : 1, 0.0f);
    if (st == LT_OK) st = make_clip_tables(m, &o);
    if (st != LT_OK) { m->train.compiled = 0; return st; }
    m->train.loss = loss;
    m->train.opt = o;
    m->train.steps = 0;
    memset(&m->train.run, 0, sizeof m->train.run); /* a new optimizer begins a new history */
    m->train.compiled = 1;
    m->train.kl_factor = 1.0f;
    return LT_OK;
}
