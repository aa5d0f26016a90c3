/* Activation: y = act(x), pointwise (softmax row-wise); no parameters. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "layer.h"

typedef struct activation_layer {
    lt_layer base;
    lt_act act;  /* which function            */
    float alpha; /* leaky slope or elu alpha  */
} activation_layer;

/* Same width out as in. */
static lt_status activation_build(lt_layer *l, lt_ctx *ctx, const lt_shape *in)
{
    l->out_shape = *in;
    l->n_params = 0;
    l->ws_floats = 0;
    return LT_OK;
}

/* Nothing to initialise. */
static lt_status activation_init(lt_layer *l, lt_backend *be, uint64_t seed, uint64_t counter)
{
    return LT_OK;
}

/* y = act(x) through the fused bias+activation op with no bias. */
static lt_status activation_forward(lt_layer *l, const lt_pass *p, size_t batch,
                                    const lt_buf *x, size_t xoff, lt_buf *y, size_t yoff)
{
    activation_layer *a = (activation_layer *)l;
    return lt_be_bias_act_forward(p->be, batch, (size_t)l->out_dim, x, xoff, NULL, 0,
                                        lt_act_to_backend(a->act), a->alpha, y, yoff);
}

/* dx = dy * act'(y). */
static lt_status activation_backward(lt_layer *l, const lt_pass *p, size_t batch,
                                     const lt_buf *x, size_t xoff, const lt_buf *y, size_t yoff,
                                     lt_buf *dy, size_t dyoff, lt_buf *dx, size_t dxoff)
{
    activation_layer *a = (activation_layer *)l;
    if (!dx) return LT_OK;
    return lt_be_act_backward(p->be, batch, (size_t)l->out_dim, lt_act_to_backend(a->act), a->alpha,
                                    y, yoff, dy, dyoff, dx, dxoff);
}

/* "activation=relu alpha=0". */
static void activation_write_config(const lt_layer *l, char *buf, size_t len)
{
    const activation_layer *a = (const activation_layer *)l;
    snprintf(buf, len, "activation=%s alpha=%.9g", lt_act_name(a->act), (double)a->alpha);
}

/* Frees the layer. */
static void activation_destroy(lt_layer *l) { free(l); }

static const lt_layer_ops activation_ops = {
    "Activation", "activation", activation_build, activation_init, activation_forward,
    activation_backward, activation_write_config, activation_destroy, NULL,
    0,
};

lt_layer *lt_activation(lt_act act)
{
    if (lt_act_name(act)[0] == 'u') return NULL;
    activation_layer *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    a->base.ops = &activation_ops;
    a->act = act;
    a->alpha = lt_act_default_alpha(act);
    return &a->base;
}

lt_layer *lt_activation_from_config(const lt_kv *kv, char *err, size_t errlen)
{
    const char *s = lt_kv_get(kv, "activation"), *al = lt_kv_get(kv, "alpha");
    lt_act act;
    if (!s || lt_act_parse(s, &act) != 0) { snprintf(err, errlen, "activation: bad or missing activation"); return NULL; }
    lt_layer *l = lt_activation(act);
    if (!l) { snprintf(err, errlen, "out of host memory"); return NULL; }
    if (al) {
        char *end;
        float v = strtof(al, &end);
        if (*end || !isfinite(v) || (!(v > 0.0f) && (act == LT_LEAKY_RELU || act == LT_ELU))) { lt_layer_free(l); snprintf(err, errlen, "activation: bad alpha '%s'", al); return NULL; }
        ((activation_layer *)l)->alpha = v;
    }
    return l;
}

/* Sets alpha when l is an activation layer. */
void lt_activation_set_alpha(lt_layer *l, float alpha)
{
    if (l && l->ops == &activation_ops) ((activation_layer *)l)->alpha = alpha;
}
