/* Shared layer plumbing: activation names, model-file settings, the type registry. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include "layer.h"

static const char *const act_names[] = {"linear", "relu", "leaky_relu", "elu", "sigmoid", "tanh", "softmax"};

const char *lt_act_name(lt_act act)
{
    if ((int)act < 0 || (size_t)act >= sizeof act_names / sizeof act_names[0]) return "unknown";
    return act_names[act];
}

int lt_act_parse(const char *name, lt_act *act)
{
    if (!name || !act) return -1;
    for (size_t i = 0; i < sizeof act_names / sizeof act_names[0]; i++)
        if (strcmp(name, act_names[i]) == 0) { *act = (lt_act)i; return 0; }
    if (strcmp(name, "none") == 0) { *act = LT_LINEAR; return 0; }
    return -1;
}

lt_backend_act lt_act_to_backend(lt_act act)
{
    switch (act) {
    case LT_LINEAR: return LT_BACT_LINEAR;
    case LT_RELU: return LT_BACT_RELU;
    case LT_LEAKY_RELU: return LT_BACT_LEAKY_RELU;
    case LT_ELU: return LT_BACT_ELU;
    case LT_SIGMOID: return LT_BACT_SIGMOID;
    case LT_TANH: return LT_BACT_TANH;
    case LT_SOFTMAX: return LT_BACT_SOFTMAX;
    }
    return LT_BACT_LINEAR;
}

lt_status lt_bias_act_grad(lt_backend *be, size_t rows, size_t cols, lt_act act, float alpha, const lt_buf *y,
                           size_t yoff, lt_buf *dy, size_t dyoff, lt_buf *db, size_t dboff)
{
    lt_status st = LT_OK;
    if (act == LT_SOFTMAX) { /* not pointwise: its own op, then the plain sums */
        st = lt_be_act_backward(be, rows, cols, LT_BACT_SOFTMAX, alpha, y, yoff, dy, dyoff, dy, dyoff);
        act = LT_LINEAR;
    }
    int linear = act == LT_LINEAR;
    return st != LT_OK ? st
                       : lt_be_bias_act_backward(be, rows, cols, lt_act_to_backend(act), alpha, linear ? NULL : y,
                                                    yoff, dy, dyoff, linear ? NULL : dy, dyoff, 0.0f, db, dboff);
}

void lt_layer_set_tensors(lt_layer *l, int n, const size_t *sizes)
{
    l->n_tensors = n; /* above LT_MAX_TENSORS: the model's build refuses the layer */
    l->n_params = 0;
    for (int i = 0; i < n; i++) {
        if (i < LT_MAX_TENSORS) l->tensor_size[i] = sizes[i];
        l->n_params += sizes[i];
    }
}

float lt_act_default_alpha(lt_act act)
{
    return act == LT_LEAKY_RELU ? 0.3f : act == LT_ELU ? 1.0f : 0.0f;
}

const char *lt_kv_get(const lt_kv *kv, const char *key)
{
    for (int i = 0; i < kv->n; i++)
        if (strcmp(kv->key[i], key) == 0) return kv->val[i];
    return NULL;
}

lt_layer *lt_layer_from_config(const char *tag, const lt_kv *kv, char *err, size_t errlen)
{
    if (strcmp(tag, "dense") == 0) return lt_dense_from_config(kv, err, errlen);
    if (strcmp(tag, "activation") == 0) return lt_activation_from_config(kv, err, errlen);
    if (strcmp(tag, "dropout") == 0) return lt_dropout_from_config(kv, err, errlen);
    if (strcmp(tag, "gaussian_noise") == 0) return lt_noise_from_config(kv, err, errlen);
    if (strcmp(tag, "conv2d") == 0) return lt_conv2d_from_config(kv, err, errlen);
    if (strcmp(tag, "conv2d_transpose") == 0) return lt_conv2d_transpose_from_config(kv, err, errlen);
    if (strcmp(tag, "max_pooling2d") == 0) return lt_maxpool2d_from_config(kv, err, errlen);
    if (strcmp(tag, "up_sampling2d") == 0) return lt_upsampling2d_from_config(kv, err, errlen);
    if (strcmp(tag, "flatten") == 0) return lt_flatten_from_config(kv, err, errlen);
    if (strcmp(tag, "reshape") == 0) return lt_reshape_from_config(kv, err, errlen);
    if (strcmp(tag, "add_input") == 0) return lt_add_input_from_config(kv, err, errlen);
    if (strcmp(tag, "sampling") == 0) return lt_sampling_from_config(kv, err, errlen);
    if (strcmp(tag, "sparsity") == 0) return lt_sparsity_from_config(kv, err, errlen);
    if (strcmp(tag, "activity_l1") == 0) return lt_activity_l1_from_config(kv, err, errlen);
    if (strcmp(tag, "simple_rnn") == 0) return lt_simple_rnn_from_config(kv, err, errlen);
    if (strcmp(tag, "lstm") == 0) return lt_lstm_from_config(kv, err, errlen);
    if (strcmp(tag, "gru") == 0) return lt_gru_from_config(kv, err, errlen);
    if (strcmp(tag, "bidirectional") == 0) return lt_bidirectional_from_config(kv, err, errlen);
    if (strcmp(tag, "repeat_vector") == 0) return lt_repeat_vector_from_config(kv, err, errlen);
    if (strcmp(tag, "time_distributed") == 0) return lt_time_distributed_from_config(kv, err, errlen);
    snprintf(err, errlen, "unknown layer type '%s'", tag);
    return NULL;
}

void lt_layer_free(lt_layer *layer)
{
    if (layer) layer->ops->destroy(layer);
}

lt_status lt_layer_set_alpha(lt_layer *layer, float alpha)
{
    if (!layer || !(alpha > 0.0f) || !isfinite(alpha)) return LT_ERR_ARG;
    lt_dense_set_alpha(layer, alpha);
    lt_activation_set_alpha(layer, alpha);
    lt_conv2d_set_alpha(layer, alpha);
    lt_conv2d_transpose_set_alpha(layer, alpha);
    return LT_OK;
}

size_t lt_shape_size(const lt_shape *s)
{
    size_t n = 1;
    for (int i = 0; i < s->rank; i++) n *= (size_t)s->d[i];
    return n;
}

void lt_shape_format(const lt_shape *s, char *buf, size_t len)
{
    int o = snprintf(buf, len, "(None");
    for (int i = 0; i < s->rank && o > 0 && (size_t)o < len; i++) o += snprintf(buf + o, len - (size_t)o, ", %d", s->d[i]);
    if (o > 0 && (size_t)o < len) snprintf(buf + o, len - (size_t)o, ")");
}

int lt_shape_check(const lt_shape *s)
{
    if (s->rank < 1 || s->rank > 3) return -1;
    size_t n = 1; /* checked at every factor: three of 2^24 would wrap a 64-bit product */
    for (int i = 0; i < s->rank; i++) {
        if (s->d[i] < 1 || s->d[i] > (1 << 24)) return -1;
        n *= (size_t)s->d[i];
        if (n > ((size_t)1 << 30)) return -1;
    }
    return 0;
}

int lt_conv_out_len(int in, int k, int stride, int dil, lt_padding pad)
{
    int keff = dil * (k - 1) + 1;
    if (pad == LT_SAME) return (in + stride - 1) / stride;
    return in >= keff ? (in - keff) / stride + 1 : 0;
}

int lt_conv_pad_before(int in, int out, int k, int stride, int dil, lt_padding pad)
{
    if (pad != LT_SAME) return 0;
    long total = (long)(out - 1) * stride + (long)dil * (k - 1) + 1 - in;
    return total > 0 ? (int)(total / 2) : 0;
}

int lt_parse_int(const char *s, int lo, int hi, int *v)
{
    char *end;
    if (!s || !*s) return -1;
    long x = strtol(s, &end, 10);
    if (*end || x < lo || x > hi) return -1;
    *v = (int)x;
    return 0;
}

int lt_parse_pair(const char *s, int limit, int *a, int *b)
{
    char buf[32];
    if (!s || strlen(s) >= sizeof buf) return -1;
    strcpy(buf, s);
    char *x = strchr(buf, 'x');
    if (!x) return lt_parse_int(buf, 1, limit, a) == 0 && (*b = *a, 1) ? 0 : -1;
    *x = 0;
    return lt_parse_int(buf, 1, limit, a) == 0 && lt_parse_int(x + 1, 1, limit, b) == 0 ? 0 : -1;
}

int lt_parse_float(const char *s, float *v)
{
    char *end;
    if (!s || !*s) return -1;
    *v = strtof(s, &end);
    return *end || !isfinite(*v) ? -1 : 0;
}

lt_status lt_need_image(lt_ctx *ctx, const lt_layer *l, const lt_shape *in)
{
    const lt_backend_ops *ops = ctx->be->ops;
    if (!ops->conv2d_forward || !ops->conv2d_backward_data || !ops->conv2d_backward_filter || !ops->maxpool_forward ||
        !ops->maxpool_backward || !ops->upsample_forward || !ops->upsample_backward)
        return lt_set_error(ctx, LT_ERR_UNSUPPORTED, "%s (%s): the %s backend has no image operations in this build",
                            l->name, l->ops->type, ops->name);
    if (in->rank == 3) return LT_OK;
    char buf[64];
    lt_shape_format(in, buf, sizeof buf);
    return lt_set_error(ctx, LT_ERR_SHAPE, "%s (%s) needs images (None, height, width, channels), got %s",
                        l->name, l->ops->type, buf);
}
