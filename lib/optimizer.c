/* Optimizers: Keras's defaults and rules; one update over a model's whole contiguous
 * parameter range is one backend call. */
#include <math.h>
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
    return LT_OK;
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
    lt_status st = be->ops->optim_step(be, kind, &h, m->n_params, m->params, m->poff, m->grads, m->poff, m->train.state, 0);
    return lt_from_backend(m->ctx, st);
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
    be->ops->buf_free(be, m->train.state);
    m->train.state = NULL;
    size_t n = (size_t)lt_optim_moments(&o) * m->n_params;
    st = be->ops->buf_alloc(be, n ? n : 1, &m->train.state);
    if (st == LT_OK) st = be->ops->fill(be, m->train.state, 0, n ? n : 1, 0.0f);
    if (st != LT_OK) { m->train.compiled = 0; return lt_from_backend(ctx, st); }
    m->train.loss = loss;
    m->train.opt = o;
    m->train.steps = 0;
    m->train.compiled = 1;
    m->train.kl_factor = 1.0f;
    return LT_OK;
}
