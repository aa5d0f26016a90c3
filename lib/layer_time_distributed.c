/* TimeDistributed(inner): inner applied to every step of (steps, features) with shared
 * parameters. Steps of a sample are contiguous, so a batch of B sequences is simply
 * B*T rows for the inner layer: no copies, the inner layer's own ops do all the work. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "layer.h"

typedef struct td_layer {
    lt_layer base;
    lt_layer *inner; /* owned */
    int steps;       /* T, from the input shape */
} td_layer;

/* (steps, features) -> (steps, the inner layer's width), the inner layer built for one
 * step; its tensors and workspace are this layer's, the workspace once per step. */
static lt_status td_build(lt_layer *l, lt_ctx *ctx, const lt_shape *in)
{
    td_layer *t = (td_layer *)l;
    if (in->rank != 2)
        return lt_shape_error(ctx, in, "%s (TimeDistributed) needs sequences (None, steps, features)", l->name);
    lt_shape step = {1, {in->d[1], 0, 0}};
    lt_layer *i = t->inner;
    snprintf(i->name, sizeof i->name, "%s", l->name);
    i->in_shape = step;
    i->model_in_shape = l->model_in_shape;
    lt_status st = i->ops->build(i, ctx, &step);
    if (st != LT_OK) return st;
    if (i->out_shape.rank != 1)
        return lt_set_error(ctx, LT_ERR_SHAPE, "%s (TimeDistributed): the inner %s must map vectors to vectors", l->name,
                            i->ops->type);
    i->in_dim = in->d[1];
    i->out_dim = i->out_shape.d[0];
    t->steps = in->d[0];
    l->out_shape.rank = 2;
    l->out_shape.d[0] = in->d[0];
    l->out_shape.d[1] = i->out_shape.d[0];
    /* the inner layer's tensors, shared over the steps */
    if (i->n_tensors) lt_layer_set_tensors(l, i->n_tensors, i->tensor_size);
    else lt_layer_set_tensors(l, i->n_params ? 1 : 0, &i->n_params);
    l->ws_floats = i->ws_floats * (size_t)in->d[0];
    return LT_OK;
}

/* The inner layer's parameters, in this layer's slot. */
static lt_status td_init(lt_layer *l, lt_backend *be, uint64_t seed, uint64_t layer)
{
    td_layer *t = (td_layer *)l;
    t->inner->slot = l->slot;
    return t->inner->ops->init(t->inner, be, seed, layer);
}

/* The pass as the inner layer sees it: every sample is steps rows. */
static lt_pass inner_pass(const td_layer *t, const lt_pass *p)
{
    lt_pass q = *p;
    q.row0 *= (size_t)t->steps;
    q.norm_rows *= (size_t)t->steps;
    return q;
}

/* The inner layer over batch * steps rows. */
static lt_status td_forward(lt_layer *l, const lt_pass *p, size_t batch, const lt_buf *x, size_t xoff, lt_buf *y,
                            size_t yoff)
{
    td_layer *t = (td_layer *)l;
    t->inner->slot = l->slot; /* the model may have moved the parameters (loading) */
    lt_pass q = inner_pass(t, p);
    return t->inner->ops->forward(t->inner, &q, batch * (size_t)t->steps, x, xoff, y, yoff);
}

/* The inner layer's backward pass over batch * steps rows. */
static lt_status td_backward(lt_layer *l, const lt_pass *p, size_t batch, const lt_buf *x, size_t xoff,
                             const lt_buf *y, size_t yoff, lt_buf *dy, size_t dyoff, lt_buf *dx, size_t dxoff)
{
    td_layer *t = (td_layer *)l;
    t->inner->slot = l->slot;
    lt_pass q = inner_pass(t, p);
    return t->inner->ops->backward(t->inner, &q, batch * (size_t)t->steps, x, xoff, y, yoff, dy, dyoff, dx, dxoff);
}

/* "layer=dense units=28 activation=linear alpha=0". */
static void td_write_config(const lt_layer *l, char *buf, size_t len)
{
    const td_layer *t = (const td_layer *)l;
    int n = snprintf(buf, len, "layer=%s ", t->inner->ops->file_tag);
    if (n > 0 && (size_t)n < len) t->inner->ops->write_config(t->inner, buf + n, len - (size_t)n);
}

/* Frees the inner layer, then this one. */
static void td_destroy(lt_layer *l)
{
    lt_layer_free(((td_layer *)l)->inner);
    free(l);
}

/* Reads "layer=TAG" and the inner layer's own settings. */
static lt_layer *td_from_config(const lt_kv *kv, char *err, size_t errlen)
{
    const char *tag = lt_kv_get(kv, "layer");
    if (!tag || strcmp(tag, "time_distributed") == 0) {
        snprintf(err, errlen, "time_distributed: bad or missing inner layer");
        return NULL;
    }
    lt_kv rest = {0};
    for (int i = 0; i < kv->n; i++)
        if (strcmp(kv->key[i], "layer") != 0) {
            memcpy(rest.key[rest.n], kv->key[i], sizeof rest.key[0]);
            memcpy(rest.val[rest.n], kv->val[i], sizeof rest.val[0]);
            rest.n++;
        }
    lt_layer *inner = lt_layer_from_config(tag, &rest, err, errlen);
    return inner ? lt_layer_or_nomem(lt_time_distributed(inner), err, errlen) : NULL;
}

/* The type; init is called only when the inner layer has parameters, so it has an init. */
/* The type of the layer applied at every step. */
static const lt_layer_ops *td_wrapped(const lt_layer *l)
{
    return ((const td_layer *)l)->inner->ops;
}

const lt_layer_ops lt_time_distributed_ops = {
    .type = "TimeDistributed", .file_tag = "time_distributed", .from_config = td_from_config, .build = td_build,
    .forward = td_forward, .backward = td_backward, .write_config = td_write_config, .init = td_init,
    .destroy = td_destroy,
    .wrapped = td_wrapped,
};

/* Wraps inner (owned from here, freed on failure); NULL when inner is NULL. */
lt_layer *lt_time_distributed(lt_layer *inner)
{
    if (!inner) return NULL;
    td_layer *t = (td_layer *)lt_layer_new(&lt_time_distributed_ops, sizeof *t);
    if (!t) {
        lt_layer_free(inner);
        return NULL;
    }
    t->inner = inner;
    return &t->base;
}
