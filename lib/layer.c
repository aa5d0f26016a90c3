/* Shared layer plumbing: activation names, model-file settings, the type registry and
 * the helpers the layer files share. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include "layer.h"

static const char *const act_names[] = {"linear", "relu", "leaky_relu", "elu", "sigmoid", "tanh", "softmax"};

/* Nonzero when act is one of the lt_act values. */
int lt_act_valid(lt_act act)
{
    return (int)act >= 0 && (size_t)act < sizeof act_names / sizeof act_names[0];
}

/* The activation's name ("relu"), or "unknown". */
const char *lt_act_name(lt_act act)
{
    return lt_act_valid(act) ? act_names[act] : "unknown";
}

/* Reads an activation name ("none" is linear); 0 on success. */
int lt_act_parse(const char *name, lt_act *act)
{
    if (!name || !act) return -1;
    for (size_t i = 0; i < sizeof act_names / sizeof act_names[0]; i++)
        if (strcmp(name, act_names[i]) == 0) { *act = (lt_act)i; return 0; }
    if (strcmp(name, "none") == 0) { *act = LT_LINEAR; return 0; }
    return -1;
}

/* Maps a public activation to the backend's. */
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

/* dy <- dy * act'(y) in place, db = its column sums (Dense's and the convolutions'). */
lt_status lt_bias_act_grad(lt_backend *be, size_t rows, size_t cols, lt_act act, float alpha, const lt_buf *y,
                           size_t yoff, lt_buf *dy, size_t dyoff, lt_buf *db, size_t dboff)
{
    if (!db) /* no bias: the activation's derivative alone, in place */
        return act == LT_LINEAR ? LT_OK
                                : lt_be_act_backward(be, rows, cols, lt_act_to_backend(act), alpha, y, yoff, dy, dyoff, dy, dyoff);
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

/* Sets the parameter tensors' sizes and n_params, their total. */
void lt_layer_set_tensors(lt_layer *l, int n, const size_t *sizes)
{
    l->n_tensors = n; /* above LT_MAX_TENSORS: the model's build refuses the layer */
    l->n_params = 0;
    for (int i = 0; i < n; i++) {
        if (i < LT_MAX_TENSORS) l->tensor_size[i] = sizes[i];
        l->n_params += sizes[i];
    }
}

/* splitmix64's finaliser: a bijection of 64-bit words that mixes every bit. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Distinct (layer, tensor) pairs give distinct ids, and for one seed distinct ids give
 * distinct keys (each step is a bijection); Philox streams of distinct keys are
 * independent, which counter offsets of one key (overlapping stretches) are not. */
uint64_t lt_init_key(uint64_t seed, uint64_t layer, int tensor)
{
    uint64_t id = (layer << 8) | (uint64_t)(tensor & 0xff);
    return mix64(seed ^ mix64(id + 0x9e3779b97f4a7c15ull));
}

/* Keras 3's defaults for the activation functions: keras.activations.leaky_relu's
 * negative_slope 0.2 (the LeakyReLU layer's own default, 0.3, is that layer's), elu's
 * alpha 1.0, else 0. */
float lt_act_default_alpha(lt_act act)
{
    return act == LT_LEAKY_RELU ? 0.2f : act == LT_ELU ? 1.0f : 0.0f;
}

/* Reads a Dense or Activation alpha; 0 when usable for act. */
int lt_act_alpha_parse(const char *s, lt_act act, float *alpha)
{
    float v;
    if (lt_parse_strtof(s, &v) != 0 || !isfinite(v) || (!(v > 0.0f) && (act == LT_LEAKY_RELU || act == LT_ELU))) return -1;
    *alpha = v;
    return 0;
}

int lt_kv_parse(char *s, lt_kv *kv)
{
    kv->n = 0;
    char *save = NULL;
    for (char *tok = s ? strtok_r(s, " \t", &save) : NULL; tok; tok = strtok_r(NULL, " \t", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq || kv->n == LT_KV_MAX || eq - tok >= (long)sizeof kv->key[0] || strlen(eq + 1) >= sizeof kv->val[0]) return -1;
        memcpy(kv->key[kv->n], tok, (size_t)(eq - tok));
        kv->key[kv->n][eq - tok] = 0;
        strcpy(kv->val[kv->n], eq + 1);
        kv->n++;
    }
    return 0;
}

/* The value of key in kv, or NULL. */
const char *lt_kv_get(const lt_kv *kv, const char *key)
{
    for (int i = 0; i < kv->n; i++)
        if (strcmp(kv->key[i], key) == 0) return kv->val[i];
    return NULL;
}

/* Every layer type a model file can name: adding a type is its file and a row here. */
static const lt_layer_ops *const layer_types[] = {
    &lt_dense_ops, &lt_activation_ops, &lt_leaky_relu_ops, &lt_dropout_ops, &lt_gaussian_noise_ops, &lt_conv2d_ops,
    &lt_conv2d_transpose_ops, &lt_maxpool2d_ops, &lt_upsampling2d_ops, &lt_flatten_ops, &lt_reshape_ops,
    &lt_add_input_ops, &lt_sampling_ops, &lt_sparsity_ops, &lt_activity_l1_ops, &lt_simple_rnn_ops, &lt_lstm_ops,
    &lt_gru_ops, &lt_bidirectional_ops, &lt_repeat_vector_ops, &lt_time_distributed_ops,
};

/* Creates a layer from a model file's tag and settings, through its type's constructor. */
lt_layer *lt_layer_from_config(const char *tag, const lt_kv *kv, char *err, size_t errlen)
{
    for (size_t i = 0; i < sizeof layer_types / sizeof layer_types[0]; i++)
        if (strcmp(tag, layer_types[i]->file_tag) == 0) return layer_types[i]->from_config(kv, err, errlen);
    snprintf(err, errlen, "unknown layer type '%s'", tag);
    return NULL;
}

/* Frees a layer through its type (NULL is a no-op). */
void lt_layer_free(lt_layer *layer)
{
    if (!layer) return;
    if (layer->ops->destroy) layer->ops->destroy(layer);
    else free(layer);
}

/* Sets the activation's alpha of a type that has one; other types are left alone. */
lt_status lt_layer_set_alpha(lt_layer *layer, float alpha)
{
    if (!layer || !(alpha > 0.0f) || !isfinite(alpha)) return LT_ERR_ARG;
    if (layer->ops->set_alpha) layer->ops->set_alpha(layer, alpha);
    return LT_OK;
}

lt_status lt_layer_set_use_bias(lt_layer *layer, int use_bias)
{
    if (!layer || (!use_bias && !layer->ops->has_bias) || layer->slot.params) return LT_ERR_ARG;
    layer->no_bias = !use_bias;
    return LT_OK;
}

/* A zeroed layer struct of type ops, or NULL. */
lt_layer *lt_layer_new(const lt_layer_ops *ops, size_t size)
{
    lt_layer *l = calloc(1, size);
    if (l) l->ops = ops;
    return l;
}

/* l, with "out of host memory" in err when it is NULL. */
lt_layer *lt_layer_or_nomem(lt_layer *l, char *err, size_t errlen)
{
    if (!l) snprintf(err, errlen, "out of host memory");
    return l;
}

/* Output shape and workspace of a layer without parameters. */
void lt_layer_set_output(lt_layer *l, const lt_shape *out, size_t ws_floats)
{
    l->out_shape = *out;
    lt_layer_set_tensors(l, 0, NULL);
    l->ws_floats = ws_floats;
}

/* Output shape = input shape; no parameters, no workspace. */
lt_status lt_layer_build_same_shape(lt_layer *l, lt_ctx *ctx, const lt_shape *in)
{
    lt_layer_set_output(l, in, 0);
    return LT_OK;
}

/* y = x. */
lt_status lt_layer_forward_copy(lt_layer *l, const lt_pass *p, size_t batch,
                                const lt_buf *x, size_t xoff, lt_buf *y, size_t yoff)
{
    return lt_be_copy(p->be, x, xoff, y, yoff, batch * (size_t)l->out_dim);
}

/* dx = dy, when dx is wanted. */
lt_status lt_layer_backward_copy(lt_layer *l, const lt_pass *p, size_t batch,
                                 const lt_buf *x, size_t xoff, const lt_buf *y, size_t yoff,
                                 lt_buf *dy, size_t dyoff, lt_buf *dx, size_t dxoff)
{
    return dx ? lt_be_copy(p->be, dy, dyoff, dx, dxoff, batch * (size_t)l->out_dim) : LT_OK;
}

/* No settings: an empty line. */
void lt_layer_write_no_config(const lt_layer *l, char *buf, size_t len)
{
    if (len) buf[0] = 0;
}

/* LT_ERR_SHAPE with the message and ", got (None, ...)". */
lt_status lt_shape_error(lt_ctx *ctx, const lt_shape *got, const char *fmt, ...)
{
    char msg[512], shape[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    lt_shape_format(got, shape, sizeof shape);
    return lt_set_error(ctx, LT_ERR_SHAPE, "%s, got %s", msg, shape);
}

/* Elements in a shape. */
size_t lt_shape_size(const lt_shape *s)
{
    size_t n = 1;
    for (int i = 0; i < s->rank; i++) n *= (size_t)s->d[i];
    return n;
}

/* "(None, 26, 26, 16)". */
void lt_shape_format(const lt_shape *s, char *buf, size_t len)
{
    int o = snprintf(buf, len, "(None");
    for (int i = 0; i < s->rank && o > 0 && (size_t)o < len; i++) o += snprintf(buf + o, len - (size_t)o, ", %d", s->d[i]);
    if (o > 0 && (size_t)o < len) snprintf(buf + o, len - (size_t)o, ")");
}

/* 0 when rank and sizes are in range. */
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

/* Keras's output length of a window along one axis. */
int lt_conv_out_len(int in, int k, int stride, int dil, lt_padding pad)
{
    int keff = dil * (k - 1) + 1;
    if (pad == LT_SAME) return (in + stride - 1) / stride;
    return in >= keff ? (in - keff) / stride + 1 : 0;
}

/* TensorFlow's padding before the first cell for 'same'. */
int lt_conv_pad_before(int in, int out, int k, int stride, int dil, lt_padding pad)
{
    if (pad != LT_SAME) return 0;
    long total = (long)(out - 1) * stride + (long)dil * (k - 1) + 1 - in;
    return total > 0 ? (int)(total / 2) : 0;
}

/* An integer in lo..hi; 0 on success. */
int lt_parse_int(const char *s, int lo, int hi, int *v)
{
    char *end;
    if (!s || !*s) return -1;
    long x = strtol(s, &end, 10);
    if (*end || x < lo || x > hi) return -1;
    *v = (int)x;
    return 0;
}

/* "3x5" or "3" into two ints in 1..limit; 0 on success. */
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

/* "AxBxC" (1 to 3 sizes, each 1..2^24) into dims; the rank, or -1. */
int lt_parse_dims(const char *s, int dims[3])
{
    char buf[64];
    if (!s || strlen(s) >= sizeof buf) return -1;
    strcpy(buf, s);
    int rank = 0;
    char *save, *tok;
    for (tok = strtok_r(buf, "x", &save); tok; tok = strtok_r(NULL, "x", &save)) {
        if (rank == 3 || lt_parse_int(tok, 1, 1 << 24, &dims[rank]) != 0) return -1;
        rank++;
    }
    return rank ? rank : -1;
}

/* A finite float; 0 on success. */
int lt_parse_float(const char *s, float *v)
{
    if (!s || !*s) return -1;
    return lt_parse_strtof(s, v) != 0 || !isfinite(*v) ? -1 : 0;
}

/* s whole through strtof; 0 on success. */
int lt_parse_strtof(const char *s, float *v)
{
    char *end;
    if (!s) return -1;
    *v = strtof(s, &end);
    return *end ? -1 : 0;
}

/* LT_OK when in is an image (rank 3), else LT_ERR_SHAPE naming the layer. */
lt_status lt_need_image(lt_ctx *ctx, const lt_layer *l, const lt_shape *in)
{
    if (in->rank == 3) return LT_OK;
    return lt_shape_error(ctx, in, "%s (%s) needs images (None, height, width, channels)", l->name, l->ops->type);
}
