/* Greedy layer-wise pretraining: each Dense layer of a stack learns, in turn, to be the
 * encoder of a shallow autoencoder on the codes of the layers below it; then the whole
 * stack (usually with a classifier head) is fine-tuned on the few labelled samples.
 * This is how deep networks were first trained (Hinton & Salakhutdinov 2006, Bengio et
 * al. 2007), and still helps when labels are scarce. */
#include <stdio.h>
#include <string.h>
#include "model.h"

/* Checks that every layer of the stack is Dense (rank-1) or an identity at inference. */
static lt_status check_stack(lt_model *m)
{
    int dense = 0;
    for (int i = 0; i < m->n_flat; i++) {
        const char *t = m->flat[i]->ops->type;
        if (strcmp(t, "Dense") == 0) {
            if (m->flat[i]->in_shape.rank != 1)
                return lt_set_error(m->ctx, LT_ERR_UNSUPPORTED, "%s: layer-wise pretraining needs flat inputs",
                                    m->flat[i]->name);
            dense++;
        } else if (strcmp(t, "Dropout") != 0 && strcmp(t, "GaussianNoise") != 0) {
            return lt_set_error(m->ctx, LT_ERR_UNSUPPORTED, "%s: layer-wise pretraining handles Dense layers (with "
                                "Dropout or GaussianNoise between them), not %s", m->flat[i]->name, t);
        }
    }
    return dense ? LT_OK : lt_set_error(m->ctx, LT_ERR_ARG, "%s: no Dense layer to pretrain", m->name);
}

/* Trains a shallow autoencoder around a copy of dense layer l on x and copies the
 * learnt weights into l; *codes gets the copy's outputs for x (the next layer's data). */
static lt_status pretrain_one(lt_model *stack, lt_layer *l, const lt_dataset *x, const lt_optimizer *opt,
                              const lt_fit_opts *fo, uint64_t seed, lt_dataset **codes)
{
    lt_ctx *ctx = stack->ctx;
    lt_model *enc = NULL, *dec = NULL, *ae = NULL;
    lt_status st = lt_sequential(ctx, NULL, &enc);
    if (st == LT_OK) st = lt_add(enc, lt_dense_clone(l));
    if (st == LT_OK) st = lt_sequential(ctx, NULL, &dec);
    if (st == LT_OK) st = lt_add(dec, lt_dense(l->in_dim, LT_LINEAR));
    if (st == LT_OK) st = lt_sequential(ctx, NULL, &ae);
    if (st == LT_OK && (st = lt_add_model(ae, enc)) == LT_OK) enc = NULL;
    if (st == LT_OK && (st = lt_add_model(ae, dec)) == LT_OK) dec = NULL;
    lt_model_free(enc);
    lt_model_free(dec);
    if (st == LT_OK) st = lt_build(ae, l->in_dim, seed);
    if (st == LT_OK) st = lt_compile(ae, LT_LOSS_MSE, opt);
    if (st == LT_OK) st = lt_fit(ae, x, NULL, fo, NULL);
    lt_layer *trained = st == LT_OK ? ae->flat[0] : NULL;
    if (st == LT_OK && trained->n_params != l->n_params)
        st = lt_set_error(ctx, LT_ERR_ARG, "%s: pretrained copy has %zu parameters, not %zu", l->name, trained->n_params,
                          l->n_params);
    if (st == LT_OK)
        st = lt_be_copy(ctx->be, trained->slot.params, trained->slot.off, l->slot.params,
                                                     l->slot.off, l->n_params);
    if (st == LT_OK) st = lt_dataset_alloc(ctx, x->n, (size_t)l->out_dim, x->labels != NULL, 0, codes);
    if (st == LT_OK) st = lt_predict(lt_submodel(ae, 0), x->x, x->n, (*codes)->x);
    lt_model_free(ae);
    return st;
}

lt_status lt_pretrain_layerwise(lt_model *stack, const lt_dataset *x, const lt_optimizer *opt, const lt_fit_opts *fo)
{
    if (!stack || !x) return stack ? lt_set_error(stack->ctx, LT_ERR_ARG, "lt_pretrain_layerwise: no data") : LT_ERR_ARG;
    lt_ctx *ctx = stack->ctx;
    if (!stack->built) return lt_set_error(ctx, LT_ERR_ARG, "%s: build the model before pretraining", stack->name);
    if (x->dim != (size_t)stack->in_dim)
        return lt_set_error(ctx, LT_ERR_SHAPE, "%s: the model takes %d inputs per sample, the data have %zu", stack->name,
                            stack->in_dim, x->dim);
    lt_status st = check_stack(stack);
    if (st != LT_OK) return st;
    lt_fit_opts o = fo ? *fo : (lt_fit_opts){0};
    int total = 0, k = 0;
    for (int i = 0; i < stack->n_flat; i++) total += strcmp(stack->flat[i]->ops->type, "Dense") == 0;
    const lt_dataset *cur = x;
    lt_dataset *owned = NULL;
    for (int i = 0; st == LT_OK && i < stack->n_flat; i++) {
        lt_layer *l = stack->flat[i];
        if (strcmp(l->ops->type, "Dense") != 0) continue;
        if (o.verbose >= 0)
            fprintf(o.log ? o.log : stderr, "Pretraining %s (%d of %d): %d -> %d\n", l->name, ++k, total, l->in_dim,
                    l->out_dim);
        lt_dataset *next = NULL;
        st = pretrain_one(stack, l, cur, opt, &o, stack->seed + 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1), &next);
        lt_dataset_free(owned);
        owned = next;
        cur = next;
    }
    lt_dataset_free(owned);
    return st;
}
