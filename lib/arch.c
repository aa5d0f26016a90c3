/* Architectures by name (the lecture's models) and a short textual spec for custom
 * dense stacks: "dense:64:elu,dropout:0.2|dense:64:elu,dense:in:sigmoid". '|' splits
 * an encoder from a decoder (each becomes a nested model, as Sequential([enc, dec]));
 * "in" as a width means the model's input width. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model.h"
#include "rnn_core.h"

/* The built-ins: name, encoder spec, decoder spec. */
static const struct { const char *name, *enc, *dec; } builtins[] = {
    {"swissroll-ae", "dense:2:elu", "dense:in:elu"},
    {"swissroll-deep-ae", "dense:2:elu,dense:2:elu,dense:2:elu", "dense:2:elu,dense:2:elu,dense:in:elu"},
    {"mlp-ae", "dense:64:elu,dense:64:elu,dense:64:elu", "dense:64:elu,dense:64:elu,dense:in:elu"},
    /* The lecture's Conv2D/Conv2DTranspose autoencoder for 28x28x1 images (LAB 12-3). */
    {"conv-ae", "conv:16:3x3:elu,conv:16:3x3:elu,flatten,dense:100:elu",
     "dense:9216:elu,reshape:24x24x16,deconv:16:3x3:elu,deconv:1:3x3:elu"},
    {"conv-ae64", "conv:16:3x3:elu,conv:16:3x3:elu,flatten,dense:64:elu",
     "dense:9216:elu,reshape:24x24x16,deconv:16:3x3:elu,deconv:1:3x3:elu"},
    /* The lecture's denoising mini-project on 63x63 colour images. */
    {"denoise-rgb", "conv:16:3x3:elu:s3,conv:8:3x3:elu,flatten,dense:1024:elu",
     "dense:2888:elu,reshape:19x19x8,deconv:16:3x3:elu,deconv:3:3x3:elu:s3"},
    /* Super-resolution on a bicubic 2x upscale: three 'same' convolutions (SRCNN's
     * 9-5-5 shape, narrowed to train in minutes on a CPU) that predict the residual
     * the last layer adds to the input. Fully convolutional, so any image size and
     * channel count ("c": the input's channels). The last convolution's kernel starts
     * at zero ("zeros"), so the residual starts at zero: from a random one (a noisy
     * image added to the upscale) the first steps killed every ReLU on 2 of 3 seeds. */
    {"sr2x", "conv:32:9x9:relu:same,conv:16:5x5:relu:same,conv:c:5x5:same:zeros,addinput", NULL},
    /* The same residual stack trained with --noise: it learns to subtract the noise
     * (residual learning, as DnCNN), for images of any size and channel count. */
    {"denoise-res", "conv:32:9x9:relu:same,conv:16:5x5:relu:same,conv:c:5x5:same:zeros,addinput", NULL},
    /* Variational autoencoders: the lecture's 784 -> 512 relu -> 2x20 | 20 -> 512 relu
     * -> 784 sigmoid, and Keras's convolutional VAE example with a 2-D code. */
    {"vae", "dense:512:relu,dense:40,sampling", "dense:512:relu,dense:in:sigmoid"},
    {"conv-vae", "conv:32:3x3:relu:s2:same,conv:64:3x3:relu:s2:same,flatten,dense:16:relu,dense:4,sampling",
     "dense:3136:relu,reshape:7x7x64,deconv:64:3x3:relu:s2:same,deconv:32:3x3:relu:s2:same,deconv:1:3x3:sigmoid:same"},
    /* Recurrent models; images are read as sequences of rows ("t": the input's steps,
     * "c": its features). Many-to-one: the lecture's SimpleRNN classifier. */
    {"rnn-clf", "rnn:128,dense:10:softmax", NULL},
    /* Many-to-many: two stacked bidirectional SimpleRNNs, a per-step Dense back to the
     * features (sigmoid: pixels are in [0, 1]). */
    {"birnn-ae", "birnn:64:seq,birnn:64:seq,td:c:sigmoid", NULL},
    /* The LSTM sequence autoencoder of time-series anomaly detection: the last state
     * of an LSTM encoder, repeated over the steps, decoded by an LSTM. */
    {"seq-ae", "lstm:64", "repeat:t,lstm:64:seq,td:c"},
};

static const char *const builtin_names[] = {"swissroll-ae", "swissroll-deep-ae", "mlp-ae", "conv-ae", "conv-ae64",
                                            "denoise-rgb", "denoise-res", "sr2x", "vae", "conv-vae",
                                            "rnn-clf", "birnn-ae", "seq-ae", NULL};

/* The built-in architectures' names, NULL-terminated. */
const char *const *lt_arch_names(void) { return builtin_names; }

/* Parses a width: a positive integer or "in". */
static int parse_width(const char *s, int input_dim)
{
    if (strcmp(s, "in") == 0) return input_dim;
    char *end;
    long v = strtol(s, &end, 10);
    return *end || v <= 0 || v > (1 << 24) ? -1 : (int)v;
}

/* Reads the optional fields of a conv/deconv/maxpool/upsample token: an activation
 * name, sN (strides), dN (dilation), opN (output padding), same/valid,
 * nearest/bilinear. Returns the offending field or NULL. */
static const char *conv_fields(char *const *f, int nf, lt_conv_opts *o, int *bilinear)
{
    for (int i = 0; i < nf; i++) {
        const char *t = f[i];
        int v;
        if (strcmp(t, "same") == 0) o->padding = LT_SAME;
        else if (strcmp(t, "valid") == 0) o->padding = LT_VALID;
        else if (strcmp(t, "bilinear") == 0 && bilinear) *bilinear = 1;
        else if (strcmp(t, "nearest") == 0 && bilinear) *bilinear = 0;
        else if (t[0] == 's' && lt_parse_int(t + 1, 1, 1 << 12, &v) == 0) o->stride_h = o->stride_w = v;
        else if (t[0] == 'd' && lt_parse_int(t + 1, 1, 1 << 12, &v) == 0) o->dilation_h = o->dilation_w = v;
        else if (t[0] == 'o' && t[1] == 'p' && lt_parse_int(t + 2, 0, 1 << 12, &v) == 0) {
            o->output_padding = 1;
            o->output_pad_h = o->output_pad_w = v;
        } else if (lt_act_parse(t, &o->act) != 0) return t;
    }
    return NULL;
}

/* Reads the optional fields of a recurrent token: an activation, "seq"
 * (return_sequences), "back" (go_backwards) and, when merge is not NULL, a
 * Bidirectional merge mode; else also "state" (return_state) and "init" or "initN"
 * (the input is the initial state; N steps, or the model input's steps), which sets
 * *state_steps. Returns the offending field or NULL. */
static const char *rnn_fields(char *const *f, int nf, int steps, lt_act *act, unsigned *flags, int *state_steps,
                              lt_merge *merge)
{
    for (int i = 0; i < nf; i++) {
        if (strcmp(f[i], "seq") == 0) *flags |= LT_RETURN_SEQUENCES;
        else if (strcmp(f[i], "back") == 0 && !merge) *flags |= LT_GO_BACKWARDS;
        else if (strcmp(f[i], "state") == 0 && !merge) *flags |= LT_RETURN_STATE;
        else if (strncmp(f[i], "init", 4) == 0 && !merge) {
            const char *n = f[i] + 4; /* "init" alone: the model input's steps */
            if (!*n ? steps <= 0 : *n < '0' || *n > '9' || lt_parse_int(n, 1, 1 << 20, state_steps) != 0) return f[i];
            if (!*n) *state_steps = steps;
        } else if (merge && lt_merge_parse(f[i], merge) == 0) continue;
        else if (lt_act_parse(f[i], act) != 0 || *act == LT_SOFTMAX) return f[i];
    }
    return NULL;
}

/* The cell of a recurrent token's kind ("rnn", "lstm", "gru", with or without a "bi"
 * prefix); -1 when kind is not recurrent. */
static int rnn_kind(const char *kind, int *bidirectional)
{
    *bidirectional = strncmp(kind, "bi", 2) == 0;
    const char *k = kind + (*bidirectional ? 2 : 0);
    return strcmp(k, "rnn") == 0 ? LT_SIMPLE_RNN : strcmp(k, "lstm") == 0 ? LT_LSTM : strcmp(k, "gru") == 0 ? LT_GRU : -1;
}

/* One token of a spec, split at ':', and what its fields may refer to. */
typedef struct spec_token {
    lt_ctx *ctx;
    char *f[8];         /* the fields; f[0] is the kind                         */
    int nf;             /* fields used                                          */
    const char *kind;   /* f[0]                                                 */
    const char *a1, *a2; /* f[1] and f[2], or NULL                              */
    int input_dim;      /* the model input's elements (for widths "in")         */
    int channels;       /* its last axis (for filters and widths "c")           */
    int steps;          /* its first axis when it is a sequence, else 0 (for "t") */
} spec_token;

/* "dense:WIDTH[:ACT]". */
static lt_status dense_token(const spec_token *t, lt_layer **out)
{
    lt_act act = LT_LINEAR;
    int w = t->a1 ? parse_width(t->a1, t->input_dim) : -1, nf = t->nf, bias = 1;
    if (w < 0) return lt_set_error(t->ctx, LT_ERR_ARG, "dense: width '%s' is not a positive integer or 'in'", t->a1 ? t->a1 : "");
    if (nf > 2 && strcmp(t->f[nf - 1], "nobias") == 0) { /* use_bias=False, as the last field */
        bias = 0;
        nf--;
    }
    if (nf > 2 && lt_act_parse(t->a2, &act) != 0) return lt_set_error(t->ctx, LT_ERR_ARG, "dense: unknown activation '%s'", t->a2);
    if (nf > 3) return lt_set_error(t->ctx, LT_ERR_ARG, "dense: too many fields");
    *out = lt_dense(w, act);
    if (*out && !bias) lt_layer_set_use_bias(*out, 0);
    return LT_OK;
}

/* "leakyrelu[:SLOPE]": Keras's LeakyReLU layer (slope 0.3 unless given). */
static lt_status leaky_relu_token(const spec_token *t, lt_layer **out)
{
    float slope = LT_LEAKY_RELU_SLOPE;
    if (t->nf > 2 || (t->a1 && (lt_parse_strtof(t->a1, &slope) != 0 || !isfinite(slope) || slope < 0.0f)))
        return lt_set_error(t->ctx, LT_ERR_ARG, "leakyrelu: slope '%s' is not a number >= 0", t->a1 ? t->a1 : "");
    *out = lt_leaky_relu(slope);
    return LT_OK;
}

/* "act:ACT" (or "activation:ACT"). */
static lt_status act_token(const spec_token *t, lt_layer **out)
{
    lt_act act;
    if (!t->a1 || lt_act_parse(t->a1, &act) != 0 || t->nf > 2)
        return lt_set_error(t->ctx, LT_ERR_ARG, "act: unknown activation '%s'", t->a1 ? t->a1 : "");
    *out = lt_activation(act);
    return LT_OK;
}

/* "dropout:RATE". */
static lt_status dropout_token(const spec_token *t, lt_layer **out)
{
    float v;
    if (!t->a1 || t->nf > 2 || lt_parse_float(t->a1, &v) != 0 || !(v >= 0.0f && v < 1.0f))
        return lt_set_error(t->ctx, LT_ERR_ARG, "dropout: rate '%s' not in [0, 1)", t->a1 ? t->a1 : "");
    *out = lt_dropout(v);
    return LT_OK;
}

/* "noise:STDDEV". */
static lt_status noise_token(const spec_token *t, lt_layer **out)
{
    float v;
    if (!t->a1 || t->nf > 2 || lt_parse_float(t->a1, &v) != 0 || !(v >= 0.0f && v < 1e6f))
        return lt_set_error(t->ctx, LT_ERR_ARG, "noise: stddev '%s' is not a number >= 0", t->a1 ? t->a1 : "");
    *out = lt_gaussian_noise(v);
    return LT_OK;
}

/* "conv:FILTERS:KHxKW[:fields]" or "deconv:...", filters "c" meaning the input's channels. */
static lt_status conv_token(const spec_token *t, lt_layer **out)
{
    lt_conv_opts o = {0};
    if (t->a1 && strcmp(t->a1, "c") == 0) o.filters = t->channels;
    else if (!t->a1 || lt_parse_int(t->a1, 1, 1 << 16, &o.filters) != 0)
        return lt_set_error(t->ctx, LT_ERR_ARG, "%s: filters '%s' is not a positive integer or 'c'", t->kind, t->a1 ? t->a1 : "");
    if (!t->a2 || lt_parse_pair(t->a2, 1 << 12, &o.kernel_h, &o.kernel_w) != 0)
        return lt_set_error(t->ctx, LT_ERR_ARG, "%s: kernel '%s' is not like 3x3", t->kind, t->a2 ? t->a2 : "");
    int nf = t->nf, bias = 1, zeros = 0;
    for (; nf > 3; nf--) { /* use_bias=False and a zero kernel, as the last fields */
        if (strcmp(t->f[nf - 1], "nobias") == 0) bias = 0;
        else if (strcmp(t->f[nf - 1], "zeros") == 0) zeros = 1;
        else break;
    }
    const char *bad = conv_fields(t->f + 3, nf - 3, &o, NULL);
    if (bad) return lt_set_error(t->ctx, LT_ERR_ARG, "%s: unknown field '%s'", t->kind, bad);
    *out = t->kind[0] == 'c' ? lt_conv2d(&o) : lt_conv2d_transpose(&o);
    if (!*out) return lt_set_error(t->ctx, LT_ERR_ARG, "%s: settings out of range", t->kind);
    if (!bias) lt_layer_set_use_bias(*out, 0);
    (*out)->zero_kernel = zeros;
    return LT_OK;
}

/* "maxpool:PHxPW[:sN][:same|valid]". */
static lt_status maxpool_token(const spec_token *t, lt_layer **out)
{
    lt_conv_opts o = {0};
    int ph, pw;
    if (!t->a1 || lt_parse_pair(t->a1, 1 << 12, &ph, &pw) != 0)
        return lt_set_error(t->ctx, LT_ERR_ARG, "maxpool: size '%s' is not like 2x2", t->a1 ? t->a1 : "");
    const char *bad = conv_fields(t->f + 2, t->nf - 2, &o, NULL);
    if (bad || o.dilation_h || o.output_padding || o.act != LT_LINEAR)
        return lt_set_error(t->ctx, LT_ERR_ARG, "maxpool: unknown field '%s'", bad ? bad : "");
    *out = lt_maxpool2d(ph, pw, o.stride_h, o.stride_w, o.padding);
    return LT_OK;
}

/* "upsample:FHxFW[:nearest|bilinear]". */
static lt_status upsample_token(const spec_token *t, lt_layer **out)
{
    lt_conv_opts o = {0};
    int fh, fw, bilinear = 0;
    if (!t->a1 || lt_parse_pair(t->a1, 1 << 12, &fh, &fw) != 0)
        return lt_set_error(t->ctx, LT_ERR_ARG, "upsample: factor '%s' is not like 2x2", t->a1 ? t->a1 : "");
    const char *bad = conv_fields(t->f + 2, t->nf - 2, &o, &bilinear);
    if (bad || o.stride_h || o.dilation_h || o.output_padding || o.padding || o.act != LT_LINEAR)
        return lt_set_error(t->ctx, LT_ERR_ARG, "upsample: unknown field '%s'", bad ? bad : "");
    *out = lt_upsampling2d(fh, fw, bilinear);
    return LT_OK;
}

/* "sampling[:BETA]". */
static lt_status sampling_token(const spec_token *t, lt_layer **out)
{
    float v = 1.0f;
    if (t->nf > 2 || (t->a1 && (lt_parse_float(t->a1, &v) != 0 || !(v >= 0.0f))))
        return lt_set_error(t->ctx, LT_ERR_ARG, "sampling: beta '%s' is not a number >= 0", t->a1 ? t->a1 : "");
    *out = lt_sampling(v);
    return LT_OK;
}

/* "sparsity:RHO:BETA". */
static lt_status sparsity_token(const spec_token *t, lt_layer **out)
{
    float rho, beta = 0.0f;
    if (!t->a1 || !t->a2 || t->nf > 3 || lt_parse_float(t->a1, &rho) != 0 || !(rho > 0.0f && rho < 1.0f) ||
        lt_parse_float(t->a2, &beta) != 0 || !(beta >= 0.0f))
        return lt_set_error(t->ctx, LT_ERR_ARG, "sparsity: expected sparsity:RHO:BETA, RHO in (0, 1), BETA >= 0");
    *out = lt_sparsity(rho, beta);
    return LT_OK;
}

/* "l1:WEIGHT". */
static lt_status l1_token(const spec_token *t, lt_layer **out)
{
    float v;
    if (!t->a1 || t->nf > 2 || lt_parse_float(t->a1, &v) != 0 || !(v >= 0.0f))
        return lt_set_error(t->ctx, LT_ERR_ARG, "l1: weight '%s' is not a number >= 0", t->a1 ? t->a1 : "");
    *out = lt_activity_l1(v);
    return LT_OK;
}

/* The message for a recurrent token's field bad (not NULL), as rnn_fields returned it. */
static lt_status rnn_field_error(const spec_token *t, int bidir, const char *bad)
{
    const char *kind = t->kind;
    if (bidir && (strncmp(bad, "init", 4) == 0 || strcmp(bad, "state") == 0))
        return lt_set_error(t->ctx, LT_ERR_ARG, "%s: '%s' is not supported inside Bidirectional", kind, bad);
    if (strcmp(bad, "init") == 0)
        return lt_set_error(t->ctx, LT_ERR_ARG, "%s: 'init' takes the model input's steps, but the input is not a "
                            "sequence: give the steps, as in init28", kind);
    if (strncmp(bad, "init", 4) == 0)
        return lt_set_error(t->ctx, LT_ERR_ARG, "%s: '%s': the steps of a layer started from its input are 1 to "
                            "1048576", kind, bad);
    return lt_set_error(t->ctx, LT_ERR_ARG, "%s: unknown field '%s'", kind, bad);
}

/* "rnn|lstm|gru|birnn|bilstm|bigru:UNITS[:fields]". */
static lt_status rnn_token(const spec_token *t, lt_layer **out)
{
    const char *kind = t->kind;
    int bidir, cell = rnn_kind(kind, &bidir), units, state_steps = 0;
    unsigned flags = 0;
    lt_merge merge = LT_MERGE_CONCAT;
    lt_act act = LT_TANH;
    if (!t->a1 || lt_parse_int(t->a1, 1, 1 << 16, &units) != 0)
        return lt_set_error(t->ctx, LT_ERR_ARG, "%s: units '%s' is not a positive integer", kind, t->a1 ? t->a1 : "");
    const char *bad = rnn_fields(t->f + 2, t->nf - 2, t->steps, &act, &flags, &state_steps, bidir ? &merge : NULL);
    if (bad) return rnn_field_error(t, bidir, bad);
    if ((flags & LT_RETURN_STATE) && (flags & LT_RETURN_SEQUENCES))
        return lt_set_error(t->ctx, LT_ERR_ARG, "%s: 'state' (return_state) does not go with 'seq': a sequential "
                            "model passes one tensor", kind);
    if (state_steps > (1 << 20))
        return lt_set_error(t->ctx, LT_ERR_ARG, "%s: 'init' would run the input's %d steps; a layer started from "
                            "its input runs at most 1048576", kind, state_steps);
    if (state_steps && (flags & LT_GO_BACKWARDS))
        return lt_set_error(t->ctx, LT_ERR_ARG, "%s: 'back' does nothing in a layer started from its input (it has "
                            "no input steps to reverse)", kind);
    *out = bidir ? lt_bidirectional((lt_rnn_cell)cell, units, act, flags, merge)
           : state_steps ? lt_rnn_from_state((lt_rnn_cell)cell, units, act, flags, state_steps)
                         : lt_rnn((lt_rnn_cell)cell, units, act, flags);
    return LT_OK;
}

/* "td:WIDTH[:ACT]": a Dense applied at every step, width "c" meaning the input's features. */
static lt_status td_token(const spec_token *t, lt_layer **out)
{
    lt_act act = LT_LINEAR;
    int w = t->a1 && strcmp(t->a1, "c") == 0 ? t->channels : t->a1 ? parse_width(t->a1, t->input_dim) : -1;
    if (w < 0) return lt_set_error(t->ctx, LT_ERR_ARG, "td: width '%s' is not a positive integer", t->a1 ? t->a1 : "");
    if (t->a2 && lt_act_parse(t->a2, &act) != 0) return lt_set_error(t->ctx, LT_ERR_ARG, "td: unknown activation '%s'", t->a2);
    if (t->nf > 3) return lt_set_error(t->ctx, LT_ERR_ARG, "td: too many fields");
    lt_layer *inner = lt_dense(w, act);
    *out = inner ? lt_time_distributed(inner) : NULL;
    return LT_OK;
}

/* "repeat:N", N "t" meaning the input's steps. */
static lt_status repeat_token(const spec_token *t, lt_layer **out)
{
    int n;
    if (t->a1 && strcmp(t->a1, "t") == 0 && t->steps == 0)
        return lt_set_error(t->ctx, LT_ERR_SHAPE, "repeat: count 't' is the input's steps, and the input is not a "
                            "sequence (steps, features)");
    if (t->a1 && strcmp(t->a1, "t") == 0) n = t->steps;
    else if (!t->a1 || t->nf > 2 || lt_parse_int(t->a1, 1, 1 << 20, &n) != 0)
        return lt_set_error(t->ctx, LT_ERR_ARG, "repeat: count '%s' is not a positive integer (or t, the input's steps)",
                            t->a1 ? t->a1 : "");
    *out = lt_repeat_vector(n);
    return LT_OK;
}

/* "addinput" or "flatten": no fields. */
static lt_status plain_token(const spec_token *t, lt_layer **out)
{
    if (t->nf > 1) return lt_set_error(t->ctx, LT_ERR_ARG, "%s takes no fields", t->kind);
    *out = t->kind[0] == 'a' ? lt_add_input() : lt_flatten();
    return LT_OK;
}

/* "reshape:AxBxC". */
static lt_status reshape_token(const spec_token *t, lt_layer **out)
{
    int dims[3], rank = t->a1 && t->nf == 2 ? lt_parse_dims(t->a1, dims) : -1;
    if (rank < 0) return lt_set_error(t->ctx, LT_ERR_ARG, "reshape: shape '%s' is not like 24x24x16", t->a1 ? t->a1 : "");
    *out = lt_reshape(rank, dims);
    if (!*out) return lt_set_error(t->ctx, LT_ERR_ARG, "reshape: shape '%s' out of range", t->a1);
    return LT_OK;
}

/* Every token kind, in the order the unknown-kind message lists them; an alias row is
 * left out of that list. */
static const struct {
    const char *kind;
    lt_status (*parse)(const spec_token *t, lt_layer **out); /* sets *out (NULL: out of memory) or an error */
    int alias;
} token_kinds[] = {
    {"dense", dense_token, 0},     {"act", act_token, 0},           {"activation", act_token, 1},
    {"leakyrelu", leaky_relu_token, 0},
    {"dropout", dropout_token, 0}, {"noise", noise_token, 0},       {"conv", conv_token, 0},
    {"deconv", conv_token, 0},     {"maxpool", maxpool_token, 0},   {"upsample", upsample_token, 0},
    {"flatten", plain_token, 0},   {"reshape", reshape_token, 0},   {"addinput", plain_token, 0},
    {"sampling", sampling_token, 0}, {"sparsity", sparsity_token, 0}, {"l1", l1_token, 0},
    {"rnn", rnn_token, 0},         {"lstm", rnn_token, 0},          {"gru", rnn_token, 0},
    {"birnn", rnn_token, 0},       {"bilstm", rnn_token, 0},        {"bigru", rnn_token, 0},
    {"td", td_token, 0},           {"repeat", repeat_token, 0},
};

/* The error for an unknown kind, listing the known ones ("a, b, ... or z"). */
static lt_status unknown_kind(lt_ctx *ctx, const char *kind)
{
    const size_t n = sizeof token_kinds / sizeof token_kinds[0];
    size_t last = n - 1, o = 0;
    char list[256] = "";
    while (token_kinds[last].alias) last--;
    for (size_t i = 0; i < n; i++) {
        if (token_kinds[i].alias) continue;
        o += (size_t)snprintf(list + o, o < sizeof list ? sizeof list - o : 0, "%s%s",
                              o == 0 ? "" : i == last ? " or " : ", ", token_kinds[i].kind);
    }
    return lt_set_error(ctx, LT_ERR_ARG, "unknown layer '%s' in architecture spec (expected %s)", kind, list);
}

/* Parses one token ("dense:64:elu", "conv:16:3x3:elu:s2") into a layer, or sets an
 * error; channels is the model input's last axis (for filters and widths "c"), steps its
 * first axis when it is a sequence (for "t"). */
static lt_status parse_token(lt_ctx *ctx, char *tok, int input_dim, int channels, int steps, lt_layer **out)
{
    spec_token t = {.ctx = ctx, .input_dim = input_dim, .channels = channels, .steps = steps};
    char *save;
    for (char *f = strtok_r(tok, ":", &save); f; f = strtok_r(NULL, ":", &save)) {
        if (t.nf == 8) return lt_set_error(ctx, LT_ERR_ARG, "layer '%s': too many fields", t.f[0]);
        t.f[t.nf++] = f;
    }
    *out = NULL;
    if (t.nf == 0) return lt_set_error(ctx, LT_ERR_ARG, "empty layer in architecture spec");
    t.kind = t.f[0];
    t.a1 = t.nf > 1 ? t.f[1] : NULL;
    t.a2 = t.nf > 2 ? t.f[2] : NULL;
    for (size_t i = 0; i < sizeof token_kinds / sizeof token_kinds[0]; i++) {
        if (strcmp(t.kind, token_kinds[i].kind) != 0) continue;
        lt_status st = token_kinds[i].parse(&t, out);
        if (st != LT_OK) return st;
        return *out ? LT_OK : lt_set_error(ctx, LT_ERR_NOMEM, "out of host memory");
    }
    return unknown_kind(ctx, t.kind);
}

/* Fills model m with the comma-separated layers of spec. */
static lt_status add_layers(lt_ctx *ctx, lt_model *m, const char *spec, int input_dim, int channels, int steps)
{
    char *copy = strdup(spec), *save;
    if (!copy) return lt_set_error(ctx, LT_ERR_NOMEM, "out of host memory");
    lt_status st = LT_OK;
    int count = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok && st == LT_OK; tok = strtok_r(NULL, ",", &save)) {
        lt_layer *l;
        st = parse_token(ctx, tok, input_dim, channels, steps, &l);
        if (st == LT_OK) st = lt_add(m, l);
        count++;
    }
    free(copy);
    if (st == LT_OK && count == 0) st = lt_set_error(ctx, LT_ERR_ARG, "architecture spec has an empty part");
    return st;
}

/* Builds Sequential([enc, dec]) from two specs. */
static lt_status build_ae(lt_ctx *ctx, const char *enc_spec, const char *dec_spec, int input_dim, int channels,
                          int steps, lt_model **out)
{
    lt_model *enc = NULL, *dec = NULL, *ae = NULL;
    lt_status st = lt_sequential(ctx, NULL, &enc);
    if (st == LT_OK) st = add_layers(ctx, enc, enc_spec, input_dim, channels, steps);
    if (st == LT_OK) st = lt_sequential(ctx, NULL, &dec);
    if (st == LT_OK) st = add_layers(ctx, dec, dec_spec, input_dim, channels, steps);
    if (st == LT_OK) st = lt_sequential(ctx, NULL, &ae);
    if (st == LT_OK) st = lt_add_model(ae, enc);
    if (st == LT_OK) enc = NULL;
    if (st == LT_OK) st = lt_add_model(ae, dec);
    if (st == LT_OK) dec = NULL;
    lt_model_free(enc);
    lt_model_free(dec);
    if (st != LT_OK) { lt_model_free(ae); return st; }
    *out = ae;
    return LT_OK;
}

/* An architecture for flat samples of input_dim values. */
lt_status lt_arch_build(lt_ctx *ctx, const char *arch, int input_dim, uint64_t seed, lt_model **out)
{
    return lt_arch_build_shape(ctx, arch, 1, &input_dim, seed, out);
}

/* The spec text of arch: a built-in's "enc|dec", or arch itself. */
static const char *arch_spec(const char *arch, char *buf, size_t len)
{
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
        if (strcmp(arch, builtins[i].name) == 0) {
            if (builtins[i].dec) snprintf(buf, len, "%s|%s", builtins[i].enc, builtins[i].dec);
            else snprintf(buf, len, "%s", builtins[i].enc); /* one model, no encoder/decoder split */
            return buf;
        }
    return arch;
}

/* An architecture (a built-in's name or a spec) for samples of the given shape, built. */
lt_status lt_arch_build_shape(lt_ctx *ctx, const char *arch, int rank, const int *dims, uint64_t seed, lt_model **out)
{
    if (!ctx || !arch || !out || !dims) return lt_set_error(ctx, LT_ERR_ARG, "lt_arch_build: NULL argument");
    *out = NULL;
    if (rank < 1 || rank > 3) return lt_set_error(ctx, LT_ERR_SHAPE, "input rank %d (expected 1 to 3)", rank);
    long size = 1;
    for (int i = 0; i < rank; i++) {
        if (dims[i] <= 0 || dims[i] > (1 << 24)) return lt_set_error(ctx, LT_ERR_SHAPE, "input size %d out of range", dims[i]);
        size *= dims[i];
        if (size > (1L << 30)) return lt_set_error(ctx, LT_ERR_SHAPE, "input too large");
    }
    int input_dim = (int)size, channels = rank == 3 ? dims[2] : 1;
    char buf[512];
    const char *spec = arch_spec(arch, buf, sizeof buf);
    /* A dense-first architecture takes the sample flattened, as a Keras user writes
     * input_shape=(784,) for an MLP on images. */
    int flat = strncmp(spec, "dense", 5) == 0 || strncmp(spec, "dropout", 7) == 0 || strncmp(spec, "noise", 5) == 0;
    int in_rank = flat ? 1 : rank, in_dims[3] = {input_dim, 0, 0};
    if (!flat) for (int i = 0; i < rank; i++) in_dims[i] = dims[i];
    /* A recurrent-first architecture reads one-channel images as sequences of rows, as
     * a Keras user writes input_shape=(28, 28) for an RNN on MNIST. */
    char first[8] = "";
    int bidir;
    sscanf(spec, "%7[a-z]", first);
    if (rank == 3 && dims[2] == 1 && rnn_kind(first, &bidir) >= 0) in_rank = 2;
    if (in_rank == 1 && rnn_kind(first, &bidir) >= 0)
        return lt_set_error(ctx, LT_ERR_SHAPE, "'%s' begins with a recurrent layer (%s), which reads sequences "
                            "(steps, features), not flat samples of %d values", arch, first, input_dim);
    if (in_rank == 2) channels = in_dims[1];
    int steps = in_rank == 2 ? in_dims[0] : 0;
    lt_model *m = NULL;
    lt_status st = LT_ERR_ARG;
    if (spec == arch && !strchr(arch, ':') && strcmp(arch, "flatten") != 0) {
        char names[256] = "";
        for (const char *const *n = builtin_names; *n; n++) {
            strncat(names, *n, sizeof names - strlen(names) - 3);
            if (n[1]) strcat(names, ", ");
        }
        return lt_set_error(ctx, LT_ERR_ARG, "unknown architecture '%s' (built-ins: %s; or a spec such as "
                            "\"dense:64:elu|dense:in:sigmoid\")", arch, names);
    }
    const char *bar = strchr(spec, '|');
    if (bar) {
        if (strchr(bar + 1, '|')) return lt_set_error(ctx, LT_ERR_ARG, "architecture spec has more than one '|'");
        char *enc = strndup(spec, (size_t)(bar - spec));
        if (!enc) return lt_set_error(ctx, LT_ERR_NOMEM, "out of host memory");
        st = build_ae(ctx, enc, bar + 1, input_dim, channels, steps, &m);
        free(enc);
    } else {
        st = lt_sequential(ctx, NULL, &m);
        if (st == LT_OK) st = add_layers(ctx, m, spec, input_dim, channels, steps);
    }
    if (st == LT_OK) st = lt_build_shape(m, in_rank, in_dims, seed);
    if (st != LT_OK) { lt_model_free(m); return st; }
    *out = m;
    return LT_OK;
}
