/* Activation: y = act(x), pointwise (softmax row-wise); no parameters. LeakyReLU is the
 * same layer with Keras's other class name and default slope (0.3, where the
 * activation function 'leaky_relu' has 0.2). */
#include <math.h>
#include <stdio.h>
#include "layer.h"

typedef struct activation_layer {
    lt_layer base;
    lt_act act;  /* which function            */
    float alpha; /* leaky slope or elu alpha  */
} activation_layer;

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

/* Sets the leaky slope or elu alpha. */
static void activation_set_alpha(lt_layer *l, float alpha) { ((activation_layer *)l)->alpha = alpha; }

/* Reads "activation=relu alpha=0" (alpha optional: the activation's default). */
static lt_layer *activation_from_config(const lt_kv *kv, char *err, size_t errlen)
{
    const char *s = lt_kv_get(kv, "activation"), *al = lt_kv_get(kv, "alpha");
    lt_act act;
    if (!s || lt_act_parse(s, &act) != 0) { snprintf(err, errlen, "activation: bad or missing activation"); return NULL; }
    float alpha = lt_act_default_alpha(act);
    if (al && lt_act_alpha_parse(al, act, &alpha) != 0) { snprintf(err, errlen, "activation: bad alpha '%s'", al); return NULL; }
    lt_layer *l = lt_layer_or_nomem(lt_activation(act), err, errlen);
    if (l) activation_set_alpha(l, alpha);
    return l;
}

/* "negative_slope=0.3". */
static void leaky_relu_write_config(const lt_layer *l, char *buf, size_t len)
{
    snprintf(buf, len, "negative_slope=%.9g", (double)((const activation_layer *)l)->alpha);
}

/* Reads "negative_slope=0.3" (optional: Keras's default). */
static lt_layer *leaky_relu_from_config(const lt_kv *kv, char *err, size_t errlen)
{
    const char *s = lt_kv_get(kv, "negative_slope");
    float slope = LT_LEAKY_RELU_SLOPE;
    if (s && (lt_parse_strtof(s, &slope) != 0 || !isfinite(slope) || slope < 0.0f)) {
        snprintf(err, errlen, "leaky_re_lu: bad negative_slope '%s'", s);
        return NULL;
    }
    return lt_layer_or_nomem(lt_leaky_relu(slope), err, errlen);
}

const lt_layer_ops lt_leaky_relu_ops = {
    .type = "LeakyReLU", .file_tag = "leaky_re_lu", .from_config = leaky_relu_from_config,
    .build = lt_layer_build_same_shape, .forward = activation_forward, .backward = activation_backward,
    .write_config = leaky_relu_write_config, .set_alpha = activation_set_alpha,
};

const lt_layer_ops lt_activation_ops = {
    .type = "Activation", .file_tag = "activation", .from_config = activation_from_config,
    .build = lt_layer_build_same_shape, .forward = activation_forward, .backward = activation_backward,
    .write_config = activation_write_config, .set_alpha = activation_set_alpha,
};

/* An activation layer of either class. */
static lt_layer *new_activation(const lt_layer_ops *ops, lt_act act, float alpha)
{
    activation_layer *a = (activation_layer *)lt_layer_new(ops, sizeof *a);
    if (!a) return NULL;
    a->act = act;
    a->alpha = alpha;
    return &a->base;
}

/* An Activation layer with Keras's default alpha; NULL for an unknown activation. */
lt_layer *lt_activation(lt_act act)
{
    return lt_act_valid(act) ? new_activation(&lt_activation_ops, act, lt_act_default_alpha(act)) : NULL;
}

/* A LeakyReLU layer; NULL unless the slope is finite and >= 0. */
lt_layer *lt_leaky_relu(float negative_slope)
{
    return isfinite(negative_slope) && negative_slope >= 0.0f
               ? new_activation(&lt_leaky_relu_ops, LT_LEAKY_RELU, negative_slope)
               : NULL;
}
