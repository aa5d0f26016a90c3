/* Keras models: a Keras 3 .keras file (a zip of config.json and model.weights.h5, read
 * with libzip) or a legacy .h5 file (the model_config attribute and the model_weights
 * group), for Sequential models and Functional ones that are a chain, nested models
 * included. The config (JSON, Jansson) becomes latent layers option by option; an
 * option latent does not have is an error naming the layer, its class and the option.
 * Weights keep Keras's layouts, which are latent's; each tensor's shape is checked.
 *   .keras: layer L's variables are at <container>/layers/<snake_case(class)>[_N]/vars/I
 *           (N counting that class in its container; a recurrent layer's under cell/,
 *           a Bidirectional's under forward_layer/cell/ and backward_layer/cell/, a
 *           TimeDistributed's under layer/);
 *   .h5:    model_weights/<top layer name> lists its weights in order (weight_names). */
#include <jansson.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>
#include "conv_core.h"
#include "interop.h"
#include "keras_h5.h"
#include "rnn_core.h"

#define CONFIG_MAX ((size_t)64 << 20)  /* config.json and model_config at most */
#define NAMES_MAX ((size_t)16 << 20)   /* the weight_names of one layer at most */
#define WEIGHTS_MAX ((size_t)1 << 34)  /* model.weights.h5: 2^32 floats, latent's largest model */

/* The reader's state: the file, the model's input shape, and per layer made (in the
 * model's flat order) the h5 path of its variables (.keras). */
typedef struct kreader {
    lt_ctx *ctx;
    const char *path;
    int legacy;          /* .h5 */
    lt_shape input;
    int have_input;
    char (*where)[LT_H5_PATH]; /* per layer made: its variables' group (.keras)      */
    int n_made, cap_made;
} kreader;

/* ----------------------------------------------------------------- JSON access */

/* A string member, or NULL. */
static const char *jstr(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* An integer member into *v; -1 when absent or not an integer in [lo, hi]. */
static int jint(json_t *o, const char *key, long lo, long hi, int *v)
{
    json_t *x = json_object_get(o, key);
    if (!json_is_integer(x) || json_integer_value(x) < lo || json_integer_value(x) > hi) return -1;
    *v = (int)json_integer_value(x);
    return 0;
}

/* A member that is an integer or a list of n integers (Keras's kernel_size=3 or
 * (3, 3)) into v[0..n-1]; -1 when it is neither or out of [1, hi]. */
static int jints(json_t *o, const char *key, int n, long hi, int *v)
{
    json_t *x = json_object_get(o, key);
    if (json_is_integer(x)) {
        if (json_integer_value(x) < 1 || json_integer_value(x) > hi) return -1;
        for (int i = 0; i < n; i++) v[i] = (int)json_integer_value(x);
        return 0;
    }
    if (!json_is_array(x) || json_array_size(x) != (size_t)n) return -1;
    for (int i = 0; i < n; i++) {
        json_t *e = json_array_get(x, (size_t)i);
        if (!json_is_integer(e) || json_integer_value(e) < 1 || json_integer_value(e) > hi) return -1;
        v[i] = (int)json_integer_value(e);
    }
    return 0;
}

/* A number member into *v (absent: def); -1 when not a finite number. */
static int jnum(json_t *o, const char *key, double def, double *v)
{
    json_t *x = json_object_get(o, key);
    if (!x || json_is_null(x)) { *v = def; return 0; }
    if (!json_is_number(x) || !isfinite(json_number_value(x))) return -1;
    *v = json_number_value(x);
    return 0;
}

/* Whether a member is absent, null, or false/0/"" (an option left at its default). */
static int unset(json_t *o, const char *key)
{
    json_t *x = json_object_get(o, key);
    return !x || json_is_null(x) || json_is_false(x) || (json_is_integer(x) && json_integer_value(x) == 0) ||
           (json_is_real(x) && json_real_value(x) == 0.0) || (json_is_string(x) && !*json_string_value(x));
}

/* A boolean member (absent: def). */
static int jbool(json_t *o, const char *key, int def)
{
    json_t *x = json_object_get(o, key);
    return json_is_boolean(x) ? json_is_true(x) : def;
}

/* ----------------------------------------------------------------- layers */

/* The message for an option latent does not have. */
static lt_status no_option(kreader *r, const char *name, const char *cls, const char *option, const char *why)
{
    return lt_set_error(r->ctx, LT_ERR_UNSUPPORTED, "%s: layer '%.64s' (%.40s): %s%s%s", r->path, name, cls, option,
                        why ? ": " : "", why ? why : "");
}

/* Options every class may carry that would change the model and latent lacks. */
static lt_status common_options(kreader *r, json_t *c, const char *name, const char *cls)
{
    static const char *const keys[] = {"kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint",
                                       "bias_constraint", "recurrent_regularizer", "recurrent_constraint"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!unset(c, keys[i])) return no_option(r, name, cls, keys[i], "latent has no such option (set it to None)");
    int biased = strcmp(cls, "Dense") == 0 || strcmp(cls, "Conv2D") == 0 || strcmp(cls, "Conv2DTranspose") == 0;
    if (!biased && !jbool(c, "use_bias", 1))
        return no_option(r, name, cls, "use_bias=False", "latent leaves out the bias of Dense, Conv2D and Conv2DTranspose only");
    const char *df = jstr(c, "data_format");
    if (df && strcmp(df, "channels_last") != 0) return no_option(r, name, cls, "data_format", "latent is channels_last");
    if (!unset(c, "quantization_config") || (jstr(c, "dtype") && strcmp(jstr(c, "dtype"), "float32") != 0))
        return no_option(r, name, cls, "dtype", "latent computes in float32");
    json_t *dt = json_object_get(c, "dtype"); /* Keras 3: a DTypePolicy */
    const char *pol = json_is_object(dt) ? jstr(json_object_get(dt, "config"), "name") : NULL;
    if (pol && strcmp(pol, "float32") != 0) return no_option(r, name, cls, "dtype policy", "latent computes in float32");
    return LT_OK;
}

/* An activation name latent has. */
static lt_status activation(kreader *r, json_t *c, const char *key, const char *name, const char *cls, lt_act *act)
{
    json_t *a = json_object_get(c, key);
    const char *s = json_is_string(a) ? json_string_value(a) : json_is_null(a) || !a ? "linear" : NULL;
    if (!s || lt_act_parse(s, act) != 0 || strcmp(s, "none") == 0)
        return no_option(r, name, cls, key, "latent has linear, relu, leaky_relu, elu, sigmoid, tanh and softmax");
    return LT_OK;
}

/* Padding "valid" or "same". */
static lt_status padding(kreader *r, json_t *c, const char *name, const char *cls, lt_padding *p)
{
    const char *s = jstr(c, "padding");
    if (!s || strcmp(s, "valid") == 0) *p = LT_VALID;
    else if (strcmp(s, "same") == 0) *p = LT_SAME;
    else return no_option(r, name, cls, "padding", "latent has valid and same");
    return LT_OK;
}

/* A recurrent layer's config (SimpleRNN, LSTM, GRU) as latent's cell, units, activation
 * and flags. */
static lt_status recurrent(kreader *r, json_t *c, const char *name, const char *cls, lt_rnn_cell *cell, int *units, lt_act *act,
                           unsigned *flags)
{
    *cell = strcmp(cls, "LSTM") == 0 ? LT_LSTM : strcmp(cls, "GRU") == 0 ? LT_GRU : LT_SIMPLE_RNN;
    lt_status st = common_options(r, c, name, cls);
    if (st == LT_OK && jint(c, "units", 1, 1 << 16, units) != 0) st = no_option(r, name, cls, "units", "not an integer from 1 to 65536");
    if (st == LT_OK) st = activation(r, c, "activation", name, cls, act);
    if (st == LT_OK && *act == LT_SOFTMAX) st = no_option(r, name, cls, "activation", "latent's recurrent cells take no softmax");
    if (st != LT_OK) return st;
    const char *ra = jstr(c, "recurrent_activation");
    if (*cell != LT_SIMPLE_RNN && ra && strcmp(ra, "sigmoid") != 0)
        return no_option(r, name, cls, "recurrent_activation", "latent's gates are sigmoid");
    if (!unset(c, "dropout") || !unset(c, "recurrent_dropout"))
        return no_option(r, name, cls, "dropout/recurrent_dropout", "latent has no dropout inside a recurrent layer (add a Dropout layer)");
    if (jbool(c, "stateful", 0)) return no_option(r, name, cls, "stateful=True", NULL);
    if (jbool(c, "time_major", 0)) return no_option(r, name, cls, "time_major=True", "latent's sequences are (batch, steps, features)");
    if (*cell == LT_GRU && !jbool(c, "reset_after", 1)) return no_option(r, name, cls, "reset_after=False", "latent's GRU is reset_after");
    if (!unset(c, "return_state")) return no_option(r, name, cls, "return_state=True", "a chain passes one tensor");
    *flags = (jbool(c, "return_sequences", 0) ? LT_RETURN_SEQUENCES : 0) | (jbool(c, "go_backwards", 0) ? LT_GO_BACKWARDS : 0);
    return LT_OK;
}

/* Makes the latent layer for one Keras layer config (not a model, not an InputLayer). */
static lt_status make_layer(kreader *r, json_t *layer, lt_layer **out)
{
    const char *cls = jstr(layer, "class_name");
    json_t *c = json_object_get(layer, "config");
    const char *name = jstr(c, "name");
    *out = NULL;
    if (cls && strchr(cls, '>')) cls = strrchr(cls, '>') + 1; /* a registered name, "package>Class" */
    if (!cls || !json_is_object(c)) return lt_set_error(r->ctx, LT_ERR_FORMAT, "%s: a layer without class_name or config", r->path);
    if (!name) name = "?";
    /* a class of the user's own that happens to be called Dense is not Keras's Dense:
     * only keras modules (Keras 2 writes none) and Sampling, whatever its module */
    const char *module = jstr(layer, "module"), *reg = jstr(layer, "registered_name");
    if (strcmp(cls, "Sampling") != 0 && ((module && strcmp(module, "keras") != 0 && strncmp(module, "keras.", 6) != 0) || (reg && strchr(reg, '>'))))
        return lt_set_error(r->ctx, LT_ERR_UNSUPPORTED, "%s: layer '%.64s' is a custom class %.40s (%.64s), not Keras's own; latent reads Keras's layers "
                            "and a Sampling layer", r->path, name, cls, reg ? reg : module);
    lt_status st = common_options(r, c, name, cls);
    if (st != LT_OK) return st;
    lt_act act = LT_LINEAR;
    if (strcmp(cls, "Dense") == 0) {
        int units;
        if (jint(c, "units", 1, 1 << 24, &units) != 0) return no_option(r, name, cls, "units", "not an integer from 1 to 2^24");
        if ((st = activation(r, c, "activation", name, cls, &act)) != LT_OK) return st;
        *out = lt_dense(units, act);
    } else if (strcmp(cls, "Activation") == 0) {
        if ((st = activation(r, c, "activation", name, cls, &act)) != LT_OK) return st;
        *out = lt_activation(act);
    } else if (strcmp(cls, "LeakyReLU") == 0) {
        double slope;
        if (jnum(c, json_object_get(c, "negative_slope") ? "negative_slope" : "alpha", LT_LEAKY_RELU_SLOPE, &slope) != 0 || slope < 0)
            return no_option(r, name, cls, "negative_slope", "not a number >= 0");
        *out = lt_leaky_relu((float)slope);
    } else if (strcmp(cls, "ELU") == 0) {
        double alpha;
        if (jnum(c, "alpha", 1.0, &alpha) != 0 || !(alpha > 0)) return no_option(r, name, cls, "alpha", "not a number > 0");
        if ((*out = lt_activation(LT_ELU))) lt_layer_set_alpha(*out, (float)alpha);
    } else if (strcmp(cls, "ReLU") == 0) {
        if (!unset(c, "max_value") || !unset(c, "negative_slope") || !unset(c, "threshold"))
            return no_option(r, name, cls, "max_value/negative_slope/threshold", "latent's relu is plain max(x, 0)");
        *out = lt_activation(LT_RELU);
    } else if (strcmp(cls, "Dropout") == 0) {
        double rate;
        if (jnum(c, "rate", 0.0, &rate) != 0 || rate < 0 || rate >= 1) return no_option(r, name, cls, "rate", "not in [0, 1)");
        if (!unset(c, "noise_shape")) return no_option(r, name, cls, "noise_shape", NULL);
        *out = lt_dropout((float)rate);
    } else if (strcmp(cls, "GaussianNoise") == 0) {
        double sd;
        if (jnum(c, "stddev", 0.0, &sd) != 0 || sd < 0) return no_option(r, name, cls, "stddev", "not a number >= 0");
        *out = lt_gaussian_noise((float)sd);
    } else if (strcmp(cls, "Conv2D") == 0 || strcmp(cls, "Conv2DTranspose") == 0) {
        int tr = strcmp(cls, "Conv2DTranspose") == 0, k[2], s[2] = {1, 1}, d[2] = {1, 1}, groups = 1;
        lt_conv_opts o = {0};
        if (jint(c, "filters", 1, 1 << 16, &o.filters) != 0) return no_option(r, name, cls, "filters", "not a positive integer");
        if (jints(c, "kernel_size", 2, 1 << 12, k) != 0) return no_option(r, name, cls, "kernel_size", NULL);
        if (json_object_get(c, "strides") && jints(c, "strides", 2, 1 << 12, s) != 0) return no_option(r, name, cls, "strides", NULL);
        if (json_object_get(c, "dilation_rate") && jints(c, "dilation_rate", 2, 1 << 12, d) != 0)
            return no_option(r, name, cls, "dilation_rate", NULL);
        if (json_object_get(c, "groups") && (jint(c, "groups", 1, 1 << 16, &groups) != 0 || groups != 1))
            return no_option(r, name, cls, "groups", "latent's convolutions have one group");
        if ((st = padding(r, c, name, cls, &o.padding)) != LT_OK || (st = activation(r, c, "activation", name, cls, &o.act)) != LT_OK)
            return st;
        o.kernel_h = k[0]; o.kernel_w = k[1]; o.stride_h = s[0]; o.stride_w = s[1]; o.dilation_h = d[0]; o.dilation_w = d[1];
        json_t *op = json_object_get(c, "output_padding");
        if (tr && op && !json_is_null(op)) {
            int p[2] = {0, 0};
            for (int i = 0; i < 2; i++) {
                json_t *e = json_is_array(op) && json_array_size(op) == 2 ? json_array_get(op, (size_t)i) : op;
                if (!json_is_integer(e) || json_integer_value(e) < 0 || json_integer_value(e) > 1 << 12)
                    return no_option(r, name, cls, "output_padding", NULL);
                p[i] = (int)json_integer_value(e);
            }
            o.output_padding = 1; o.output_pad_h = p[0]; o.output_pad_w = p[1];
        } else if (!tr && !unset(c, "output_padding")) {
            return no_option(r, name, cls, "output_padding", NULL);
        }
        *out = tr ? lt_conv2d_transpose(&o) : lt_conv2d(&o);
    } else if (strcmp(cls, "MaxPooling2D") == 0) {
        int p[2], s[2] = {0, 0};
        lt_padding pad = LT_VALID;
        if (jints(c, "pool_size", 2, 1 << 12, p) != 0) return no_option(r, name, cls, "pool_size", NULL);
        if (!unset(c, "strides") && jints(c, "strides", 2, 1 << 12, s) != 0) return no_option(r, name, cls, "strides", NULL);
        if ((st = padding(r, c, name, cls, &pad)) != LT_OK) return st;
        *out = lt_maxpool2d(p[0], p[1], s[0], s[1], pad);
    } else if (strcmp(cls, "UpSampling2D") == 0) {
        int s[2];
        const char *interp = jstr(c, "interpolation");
        if (jints(c, "size", 2, 1 << 12, s) != 0) return no_option(r, name, cls, "size", NULL);
        if (interp && strcmp(interp, "nearest") != 0 && strcmp(interp, "bilinear") != 0)
            return no_option(r, name, cls, "interpolation", "latent has nearest and bilinear");
        *out = lt_upsampling2d(s[0], s[1], interp && strcmp(interp, "bilinear") == 0);
    } else if (strcmp(cls, "Flatten") == 0) {
        *out = lt_flatten();
    } else if (strcmp(cls, "Reshape") == 0) {
        json_t *t = json_object_get(c, "target_shape");
        int dims[3];
        size_t n = json_array_size(t);
        if (!json_is_array(t) || n < 1 || n > 3) return no_option(r, name, cls, "target_shape", "latent reshapes to rank 1 to 3");
        for (size_t i = 0; i < n; i++) {
            json_t *e = json_array_get(t, i);
            if (!json_is_integer(e) || json_integer_value(e) < 1 || json_integer_value(e) > 1 << 24)
                return no_option(r, name, cls, "target_shape", "latent needs every size given (no -1)");
            dims[i] = (int)json_integer_value(e);
        }
        *out = lt_reshape((int)n, dims);
    } else if (strcmp(cls, "RepeatVector") == 0) {
        int n;
        if (jint(c, "n", 1, 1 << 20, &n) != 0) return no_option(r, name, cls, "n", NULL);
        *out = lt_repeat_vector(n);
    } else if (strcmp(cls, "ActivityRegularization") == 0) {
        double l1, l2;
        if (jnum(c, "l1", 0.0, &l1) != 0 || l1 < 0) return no_option(r, name, cls, "l1", NULL);
        if (jnum(c, "l2", 0.0, &l2) != 0 || l2 != 0) return no_option(r, name, cls, "l2", "latent has the L1 penalty only");
        *out = lt_activity_l1((float)l1);
    } else if (strcmp(cls, "Sampling") == 0) {
        double beta;
        if (jnum(c, "beta", 1.0, &beta) != 0 || beta < 0) return no_option(r, name, cls, "beta", NULL);
        *out = lt_sampling((float)beta);
    } else if (strcmp(cls, "SimpleRNN") == 0 || strcmp(cls, "LSTM") == 0 || strcmp(cls, "GRU") == 0) {
        lt_rnn_cell cell;
        int units;
        unsigned flags;
        if ((st = recurrent(r, c, name, cls, &cell, &units, &act, &flags)) != LT_OK) return st;
        *out = lt_rnn(cell, units, act, flags);
    } else if (strcmp(cls, "Bidirectional") == 0) {
        json_t *inner = json_object_get(c, "layer"), *ic = json_object_get(inner, "config");
        const char *icls = jstr(inner, "class_name"), *mm = jstr(c, "merge_mode");
        lt_merge merge;
        if (!icls || !json_is_object(ic) || (strcmp(icls, "SimpleRNN") && strcmp(icls, "LSTM") && strcmp(icls, "GRU")))
            return no_option(r, name, cls, "layer", "latent wraps SimpleRNN, LSTM and GRU");
        if (!mm || lt_merge_parse(mm, &merge) != 0) return no_option(r, name, cls, "merge_mode", "latent has concat, sum, ave and mul");
        json_t *bw = json_object_get(c, "backward_layer");
        lt_rnn_cell cell;
        int units;
        unsigned flags;
        if ((st = recurrent(r, ic, name, icls, &cell, &units, &act, &flags)) != LT_OK) return st;
        if (flags & LT_GO_BACKWARDS) return no_option(r, name, cls, "go_backwards", "in the forward layer");
        if (json_is_object(bw)) { /* Keras 3 writes the mirror it made; anything else is another model */
            json_t *bc = json_object_get(bw, "config");
            lt_rnn_cell bcell;
            int bunits;
            lt_act bact;
            unsigned bflags;
            if ((st = recurrent(r, bc, name, jstr(bw, "class_name") ? jstr(bw, "class_name") : "?", &bcell, &bunits, &bact, &bflags)) != LT_OK)
                return st;
            if (bcell != cell || bunits != units || bact != act || bflags != (flags | LT_GO_BACKWARDS))
                return no_option(r, name, cls, "backward_layer", "latent's backward layer mirrors the forward one");
        }
        *out = lt_bidirectional(cell, units, act, flags, merge);
    } else if (strcmp(cls, "TimeDistributed") == 0) {
        json_t *inner = json_object_get(c, "layer");
        if (!jstr(inner, "class_name") || strcmp(jstr(inner, "class_name"), "Dense") != 0)
            return no_option(r, name, cls, "layer", "latent applies a Dense at every step");
        lt_layer *d = NULL;
        if ((st = make_layer(r, inner, &d)) != LT_OK) return st;
        *out = lt_time_distributed(d);
    } else {
        return lt_set_error(r->ctx, LT_ERR_UNSUPPORTED, "%s: layer '%.64s' is a %.40s, which latent does not have", r->path, name, cls);
    }
    if (!*out) return lt_set_error(r->ctx, LT_ERR_UNSUPPORTED, "%s: layer '%.64s' (%.40s): settings out of latent's range (or out of host memory)", r->path, name, cls);
    if ((*out)->ops->has_bias && !jbool(c, "use_bias", 1)) lt_layer_set_use_bias(*out, 0);
    return LT_OK;
}

/* ----------------------------------------------------------------- models */

/* Keras's snake_case of a class name, as its weight paths use it ("Conv2DTranspose":
 * "conv2d_transpose", "LeakyReLU": "leaky_re_lu"): an underscore before an upper-case
 * letter that starts a lower-case run, and between a lower-case letter and an upper. */
static void snake_case(const char *cls, char *out, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; cls[i] && n + 2 < len; i++) {
        char ch = cls[i], prev = i ? cls[i - 1] : 0, next = cls[i + 1];
        int up = ch >= 'A' && ch <= 'Z';
        if (i && up && ((next >= 'a' && next <= 'z') || (prev >= 'a' && prev <= 'z')) && out[n - 1] != '_') out[n++] = '_';
        out[n++] = up ? (char)(ch - 'A' + 'a') : ch;
    }
    out[n] = 0;
}

/* The input shape from a [null, d1, ...] list; 0, or -1 when not a fixed rank-1-3 shape. */
static int shape_of(json_t *bs, lt_shape *s)
{
    size_t n = json_array_size(bs);
    if (!json_is_array(bs) || n < 2 || n > 4) return -1;
    s->rank = (int)n - 1;
    for (size_t i = 1; i < n; i++) {
        json_t *e = json_array_get(bs, i);
        if (!json_is_integer(e) || json_integer_value(e) < 1 || json_integer_value(e) > 1 << 24) return -1;
        s->d[i - 1] = (int)json_integer_value(e);
    }
    for (int i = s->rank; i < 3; i++) s->d[i] = 0;
    return 0;
}

/* Takes the model's input shape from a layer config when none is known yet. */
static lt_status note_input(kreader *r, json_t *layer, int is_input_layer)
{
    if (r->have_input) return LT_OK;
    json_t *c = json_object_get(layer, "config");
    json_t *bs = json_object_get(c, "batch_shape");
    if (!bs) bs = json_object_get(c, "batch_input_shape");
    if (!bs) bs = json_object_get(json_object_get(layer, "build_config"), "input_shape");
    if (!bs) return is_input_layer ? lt_set_error(r->ctx, LT_ERR_FORMAT, "%s: an InputLayer without its shape", r->path) : LT_OK;
    if (shape_of(bs, &r->input) != 0)
        return lt_set_error(r->ctx, LT_ERR_UNSUPPORTED, "%s: the input shape is not a fixed shape of 1 to 3 sizes (latent has no None sizes)",
                            r->path);
    r->have_input = 1;
    return LT_OK;
}

/* The name of the layer a Functional layer takes its input from, or NULL (Keras 3:
 * inbound_nodes[0].args[0].config.keras_history[0]; Keras 2: inbound_nodes[0][0][0]). */
static const char *inbound_of(json_t *layer, int *count, const char **kwarg)
{
    json_t *nodes = json_object_get(layer, "inbound_nodes");
    *count = (int)json_array_size(nodes);
    *kwarg = NULL;
    json_t *n0 = json_array_get(nodes, 0), *kwargs, *from;
    if (json_is_object(n0)) { /* Keras 3: {"args": [tensor], "kwargs": {...}} */
        json_t *args = json_object_get(n0, "args");
        if (json_array_size(args) != 1) { *count = 2; return NULL; }
        kwargs = json_object_get(n0, "kwargs");
        from = json_array_get(json_object_get(json_object_get(json_array_get(args, 0), "config"), "keras_history"), 0);
    } else { /* Keras 2: [[name, node, tensor, {kwargs}]] */
        if (json_array_size(n0) != 1) { *count = 2; return NULL; }
        kwargs = json_array_get(json_array_get(n0, 0), 3);
        from = json_array_get(json_array_get(n0, 0), 0);
    }
    /* a call argument (training=True for Monte-Carlo dropout, initial_state) makes
     * another model than the layer alone; mask=None is what Keras writes for none */
    const char *key;
    json_t *v;
    json_object_foreach(kwargs, key, v)
        if (strcmp(key, "mask") != 0 || !json_is_null(v)) { *kwarg = key; break; }
    return json_string_value(from);
}

/* Remembers where the variables of the layer just made live (.keras). */
static lt_status note_where(kreader *r, const char *where)
{
    if (r->n_made == r->cap_made) {
        int cap = r->cap_made ? 2 * r->cap_made : 16;
        void *p = realloc(r->where, (size_t)cap * sizeof *r->where);
        if (!p) return lt_set_error(r->ctx, LT_ERR_NOMEM, "out of host memory");
        r->where = p;
        r->cap_made = cap;
    }
    snprintf(r->where[r->n_made++], LT_H5_PATH, "%s", where);
    return LT_OK;
}

void lt_keras_child_name(lt_used_names *u, const char *cls, char *out, size_t len)
{
    char stem[48];
    snake_case(cls, stem, sizeof stem);
    int i = 0;
    while (i < u->n && strcmp(u->stem[i], stem) != 0) i++;
    if (i == u->n && u->n < 64) {
        snprintf(u->stem[u->n], sizeof u->stem[0], "%s", stem);
        u->count[u->n++] = 0;
        snprintf(out, len, "%s", stem);
        return;
    }
    int k = i < u->n ? ++u->count[i] : 0;
    if (k) snprintf(out, len, "%s_%d", stem, k);
    else snprintf(out, len, "%s", stem);
}

/* Adds the layers of a Sequential or Functional config to m; base is the h5 group of
 * the model's variables. */
static lt_status add_model_layers(kreader *r, json_t *model, lt_model *m, const char *base, int depth)
{
    const char *cls = jstr(model, "class_name");
    json_t *c = json_object_get(model, "config"), *layers = json_object_get(c, "layers");
    int functional = cls && (strcmp(cls, "Functional") == 0 || strcmp(cls, "Model") == 0);
    if (depth > 8) return lt_set_error(r->ctx, LT_ERR_FORMAT, "%s: models nest deeper than 8", r->path);
    if (!json_is_array(layers)) return lt_set_error(r->ctx, LT_ERR_FORMAT, "%s: model '%.64s' has no layers list", r->path, jstr(c, "name"));
    if (!functional && depth == 0) {
        json_t *bis = json_object_get(c, "build_input_shape");
        if (bis && !r->have_input && shape_of(bis, &r->input) == 0) r->have_input = 1;
    }
    lt_used_names used = {0};
    const char *prev = NULL; /* Functional: the layer the next one must take its input from */
    for (size_t i = 0; i < json_array_size(layers); i++) {
        json_t *layer = json_array_get(layers, i);
        const char *lcls = jstr(layer, "class_name"), *lname = jstr(json_object_get(layer, "config"), "name");
        if (!lcls) return lt_set_error(r->ctx, LT_ERR_FORMAT, "%s: a layer without class_name", r->path);
        if (functional) {
            const char *nm = jstr(layer, "name") ? jstr(layer, "name") : lname;
            int count;
            const char *kwarg, *from = inbound_of(layer, &count, &kwarg);
            if (kwarg)
                return lt_set_error(r->ctx, LT_ERR_UNSUPPORTED, "%s: layer '%.64s' is called with argument '%.40s'; latent calls each layer on its "
                                    "input alone", r->path, nm ? nm : "?", kwarg);
            if (strcmp(lcls, "InputLayer") != 0 && (count != 1 || !from || !prev || strcmp(from, prev) != 0))
                return lt_set_error(r->ctx, LT_ERR_UNSUPPORTED,
                                    "%s: Functional model '%.64s' is not a chain: layer '%.64s' does not take its one input from '%.64s'",
                                    r->path, jstr(c, "name"), nm ? nm : "?", prev ? prev : "(none)");
            if (strcmp(lcls, "InputLayer") == 0 && prev)
                return lt_set_error(r->ctx, LT_ERR_UNSUPPORTED, "%s: Functional model '%.64s' has several inputs", r->path, jstr(c, "name"));
            prev = nm;
        }
        if (strcmp(lcls, "InputLayer") == 0) {
            lt_status st = note_input(r, layer, 1);
            if (st != LT_OK) return st;
            continue;
        }
        lt_status st = note_input(r, layer, 0);
        if (st != LT_OK) return st;
        char child[64], where[LT_H5_PATH];
        lt_keras_child_name(&used, lcls, child, sizeof child);
        snprintf(where, sizeof where, "%s%slayers/%s", base, *base ? "/" : "", child);
        if (strcmp(lcls, "Sequential") == 0 || strcmp(lcls, "Functional") == 0) {
            lt_model *inner = NULL;
            const char *nm = jstr(json_object_get(layer, "config"), "name");
            st = lt_sequential(r->ctx, nm && strlen(nm) < 64 ? nm : NULL, &inner);
            if (st == LT_OK && (st = lt_add_model(m, inner)) != LT_OK) lt_model_free(inner);
            if (st == LT_OK) st = add_model_layers(r, layer, inner, where, depth + 1);
            if (st != LT_OK) return st;
            continue;
        }
        lt_layer *l = NULL;
        if ((st = make_layer(r, layer, &l)) != LT_OK) return st;
        if ((st = lt_add(m, l)) != LT_OK) return st;
        if ((st = note_where(r, where)) != LT_OK) return st;
    }
    if (functional) {
        json_t *outs = json_object_get(c, "output_layers");
        json_t *o0 = json_array_get(outs, 0);
        const char *oname = json_string_value(json_is_array(o0) ? json_array_get(o0, 0) : json_array_get(outs, 0));
        if (!oname || !prev || strcmp(oname, prev) != 0 || json_array_size(outs) != (json_is_array(o0) ? 1u : 3u))
            return lt_set_error(r->ctx, LT_ERR_UNSUPPORTED, "%s: Functional model '%.64s': its output is not its last layer's", r->path,
                                jstr(c, "name"));
    }
    return LT_OK;
}

/* ----------------------------------------------------------------- weights */

const char *lt_keras_class(const lt_layer *l)
{
    return strcmp(l->ops->type, "ActivityL1") == 0 ? "ActivityRegularization" : l->ops->type;
}

void lt_keras_var_group(const lt_layer *l, const char *where, int t, char *out, size_t len)
{
    const char *type = l->ops->type;
    if (strcmp(type, "Bidirectional") == 0) snprintf(out, len, "%s/%s/cell/vars", where, t < 3 ? "forward_layer" : "backward_layer");
    else if (strcmp(type, "TimeDistributed") == 0) snprintf(out, len, "%s/layer/vars", where);
    else if (lt_rnn_dims(l, NULL, NULL, NULL) == 0) snprintf(out, len, "%s/cell/vars", where);
    else snprintf(out, len, "%s/vars", where);
}

int lt_keras_var_index(const lt_layer *l, int t)
{
    return strcmp(l->ops->type, "Bidirectional") == 0 ? t % 3 : t;
}

int lt_keras_tensor_shape(const lt_layer *l, int t, uint64_t dims[4])
{
    const char *type = l->ops->type;
    if (strcmp(type, "Conv2D") == 0 || strcmp(type, "Conv2DTranspose") == 0) {
        const lt_conv_layer *c = (const lt_conv_layer *)l;
        if (t == 1) { dims[0] = (uint64_t)c->o.filters; return 1; }
        uint64_t in = (uint64_t)l->in_shape.d[2], out = (uint64_t)c->o.filters;
        dims[0] = (uint64_t)c->o.kernel_h; dims[1] = (uint64_t)c->o.kernel_w;
        dims[2] = c->transposed ? out : in; dims[3] = c->transposed ? in : out;
        return 4;
    }
    if (strcmp(type, "Dense") == 0 || strcmp(type, "TimeDistributed") == 0) {
        uint64_t out = (uint64_t)l->out_shape.d[l->out_shape.rank - 1];
        if (t == 1) { dims[0] = out; return 1; }
        dims[0] = l->tensor_size[0] / out; dims[1] = out;
        return 2;
    }
    int gates;
    size_t F, U;
    if (lt_rnn_dims(l, &gates, &F, &U) == 0) {
        uint64_t G = (uint64_t)gates * U;
        switch (t % 3) {
        case 0: dims[0] = F; dims[1] = G; return 2;
        case 1: dims[0] = U; dims[1] = G; return 2;
        default:
            if (gates == 3) { dims[0] = 2; dims[1] = G; return 2; }
            dims[0] = G;
            return 1;
        }
    }
    dims[0] = l->tensor_size[t];
    return 1;
}

/* "(3, 3, 1, 16)" */
static void shape_text(const uint64_t *d, int rank, char *buf, size_t len)
{
    size_t n = (size_t)snprintf(buf, len, "(");
    for (int i = 0; i < rank && n < len; i++) n += (size_t)snprintf(buf + n, len - n, i ? ", %llu" : "%llu", (unsigned long long)d[i]);
    if (n < len) snprintf(buf + n, len - n, rank == 1 ? ",)" : ")");
}

/* Reads dataset `at` into tensor t of layer l (at dst), checking its shape. */
static lt_status read_tensor(kreader *r, const lt_h5_snapshot *h5, const char *at, const lt_layer *l, int t, float *dst)
{
    uint64_t want[4], got[LT_H5_MAX_RANK];
    int wr = lt_keras_tensor_shape(l, t, want), gr = 0;
    float *v = NULL;
    int rc = lt_h5_read_floats(h5, at, &gr, got, l->tensor_size[t], &v);
    char ws[96], gs[96];
    shape_text(want, wr, ws, sizeof ws);
    if (rc == -1) return lt_set_error(r->ctx, LT_ERR_FORMAT, "%s: layer %s (%s): no weights at '%s' (expected shape %s)", r->path, l->name, l->ops->type, at, ws);
    if (rc == -4) return lt_set_error(r->ctx, LT_ERR_NOMEM, "out of host memory");
    int same = rc != -2 && gr == wr;
    for (int i = 0; same && i < wr; i++) same = got[i] == want[i];
    if (rc == -2)
        return lt_set_error(r->ctx, LT_ERR_FORMAT, "%s: '%s' is not a float array of rank 8 or less; layer %s (%s) expects one of shape %s", r->path,
                            at, l->name, l->ops->type, ws);
    if (!same) {
        shape_text(got, gr < 4 ? gr : 4, gs, sizeof gs);
        free(v);
        return lt_set_error(r->ctx, LT_ERR_SHAPE, "%s: '%s' has shape %s%s; layer %s (%s) expects %s", r->path, at, gs, gr > 4 ? "..." : "",
                            l->name, l->ops->type, ws);
    }
    for (size_t i = 0; i < l->tensor_size[t]; i++)
        if (!isfinite(v[i])) {
            free(v);
            return lt_set_error(r->ctx, LT_ERR_NONFINITE, "%s: '%s' holds a NaN or infinite value (element %zu)", r->path, at, i);
        }
    memcpy(dst, v, l->tensor_size[t] * sizeof *v);
    free(v);
    return LT_OK;
}

/* The .keras layout: each layer's variables under its path. */
static lt_status read_keras3_weights(kreader *r, const lt_h5_snapshot *h5, lt_model *m, float *params)
{
    for (int i = 0; i < m->n_flat; i++) {
        lt_layer *l = m->flat[i];
        float *dst = params + l->slot.off;
        for (int t = 0; t < l->n_tensors; dst += l->tensor_size[t], t++) {
            char group[LT_H5_PATH + 64], at[LT_H5_PATH + 80];
            lt_keras_var_group(l, r->where[i], t, group, sizeof group);
            snprintf(at, sizeof at, "%s/%d", group, lt_keras_var_index(l, t));
            lt_status st = read_tensor(r, h5, at, l, t, dst);
            if (st != LT_OK) return st;
        }
    }
    return LT_OK;
}

/* The legacy layout: model_weights/<layer>/ lists its weights (weight_names) in the
 * order of the model's tensors. */
static lt_status read_legacy_weights(kreader *r, const lt_h5_snapshot *h5, lt_model *m, float *params)
{
    size_t n_top = 0;
    char *top = lt_h5_attr_strings(h5, "model_weights", "layer_names", NAMES_MAX, &n_top);
    if (!top && lt_h5_exists(h5, "model_weights"))
        return lt_set_error(r->ctx, LT_ERR_FORMAT, "%s: model_weights has no layer_names", r->path);
    if (!top) return lt_set_error(r->ctx, LT_ERR_FORMAT, "%s: no model_weights group (a file of weights alone?)", r->path);
    int li = 0, ti = 0; /* the next tensor to fill: layer li's tensor ti */
    while (li < m->n_flat && m->flat[li]->n_tensors == 0) li++;
    lt_status st = LT_OK;
    const char *name = top;
    for (size_t k = 0; st == LT_OK && k < n_top; k++, name += strlen(name) + 1) {
        char group[LT_H5_PATH];
        snprintf(group, sizeof group, "model_weights/%s", name);
        size_t n_w = 0;
        char *wn = lt_h5_attr_strings(h5, group, "weight_names", NAMES_MAX, &n_w);
        const char *w = wn;
        for (size_t j = 0; st == LT_OK && wn && j < n_w; j++, w += strlen(w) + 1) {
            char at[2 * LT_H5_PATH];
            snprintf(at, sizeof at, "%s/%s", group, w);
            if (li >= m->n_flat) {
                st = lt_set_error(r->ctx, LT_ERR_SHAPE, "%s: weight '%s' is left over after the model's last layer", r->path, at);
                break;
            }
            lt_layer *l = m->flat[li];
            size_t off = l->slot.off;
            for (int t = 0; t < ti; t++) off += l->tensor_size[t];
            st = read_tensor(r, h5, at, l, ti, params + off);
            if (++ti == l->n_tensors) {
                ti = 0;
                do li++; while (li < m->n_flat && m->flat[li]->n_tensors == 0);
            }
        }
        free(wn);
    }
    free(top);
    if (st == LT_OK && li < m->n_flat)
        st = lt_set_error(r->ctx, LT_ERR_SHAPE, "%s: the file's weights end before layer %s (%s) has all of its own", r->path, m->flat[li]->name,
                          m->flat[li]->ops->type);
    return st;
}

/* ----------------------------------------------------------------- training settings */

/* The loss and a fresh optimizer from Keras's compile settings (Keras 3's
 * compile_config, legacy training_config): a loss or optimizer latent names the same
 * way is taken with its settings; anything else leaves latent's default (mse, Adam),
 * which only training uses (latent train --loss, --optimizer choose others). */
static lt_status compile_from(lt_model *m, json_t *loss, json_t *opt)
{
    static const struct { const char *keras; lt_loss loss; } losses[] = {
        {"mse", LT_LOSS_MSE}, {"mean_squared_error", LT_LOSS_MSE}, {"MeanSquaredError", LT_LOSS_MSE},
        {"binary_crossentropy", LT_LOSS_BCE}, {"BinaryCrossentropy", LT_LOSS_BCE},
        {"categorical_crossentropy", LT_LOSS_CCE}, {"CategoricalCrossentropy", LT_LOSS_CCE},
    };
    lt_loss l = LT_LOSS_MSE;
    const char *ln = json_is_string(loss) ? json_string_value(loss) : jstr(loss, "class_name");
    int from_logits = json_is_object(loss) && jbool(json_object_get(loss, "config"), "from_logits", 0);
    for (size_t i = 0; ln && i < sizeof losses / sizeof losses[0]; i++)
        if (strcmp(ln, losses[i].keras) == 0) l = losses[i].loss == LT_LOSS_BCE && from_logits ? LT_LOSS_BCE_LOGITS : losses[i].loss;
    const char *oc = jstr(opt, "class_name");
    json_t *c = json_object_get(opt, "config");
    lt_optimizer o = lt_optimizer_defaults(LT_ADAM);
    if (oc && (strcmp(oc, "SGD") == 0 || strcmp(oc, "RMSprop") == 0)) o = lt_optimizer_defaults(strcmp(oc, "SGD") == 0 ? LT_SGD : LT_RMSPROP);
    if (oc && (strcmp(oc, "SGD") == 0 || strcmp(oc, "RMSprop") == 0 || strcmp(oc, "Adam") == 0)) {
        static const struct { const char *key; size_t at; } fields[] = {
            {"learning_rate", offsetof(lt_optimizer, lr)}, {"momentum", offsetof(lt_optimizer, momentum)},
            {"rho", offsetof(lt_optimizer, rho)},          {"beta_1", offsetof(lt_optimizer, beta1)},
            {"beta_2", offsetof(lt_optimizer, beta2)},     {"epsilon", offsetof(lt_optimizer, epsilon)},
            {"clipnorm", offsetof(lt_optimizer, clipnorm)}, {"global_clipnorm", offsetof(lt_optimizer, global_clipnorm)},
        };
        for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
            double v;
            json_t *x = json_object_get(c, fields[i].key);
            if (json_is_number(x) && jnum(c, fields[i].key, 0, &v) == 0 && v >= 0 && v < 1e6)
                *(float *)((char *)&o + fields[i].at) = (float)v;
        }
        if (strcmp(oc, "SGD") == 0) o.nesterov = jbool(c, "nesterov", 0);
    }
    if (o.clipnorm > 0 && o.global_clipnorm > 0) o.global_clipnorm = 0;
    lt_status st = lt_compile(m, l, &o);
    if (st != LT_OK) { /* settings latent refuses: its defaults */
        o = lt_optimizer_defaults(LT_ADAM);
        st = lt_compile(m, l, &o);
    }
    return st;
}

/* ----------------------------------------------------------------- the whole file */

/* The model the config (a JSON text of len bytes) describes, its shapes inferred and
 * nothing allocated; *root keeps the parsed config (compile settings). */
static lt_status config_model(kreader *r, const char *config, size_t len, json_t **root, lt_model **out)
{
    json_error_t err;
    *out = NULL;
    if (!(*root = json_loadb(config, len, JSON_REJECT_DUPLICATES, &err)))
        return lt_set_error(r->ctx, LT_ERR_FORMAT, "%s: the model's config is not JSON: %s (at byte %d)", r->path, err.text, err.position);
    const char *cls = jstr(*root, "class_name");
    lt_model *m = NULL;
    lt_status st = LT_OK;
    if (!cls || (strcmp(cls, "Sequential") && strcmp(cls, "Functional") && strcmp(cls, "Model")))
        st = lt_set_error(r->ctx, LT_ERR_UNSUPPORTED, "%s: the model is a %.40s; latent reads Sequential and Functional models", r->path,
                          cls ? cls : "(no class_name)");
    const char *name = jstr(json_object_get(*root, "config"), "name");
    if (st == LT_OK) st = lt_sequential(r->ctx, name && strlen(name) < 64 ? name : NULL, &m);
    if (st == LT_OK) st = add_model_layers(r, *root, m, "", 0);
    if (st == LT_OK && !r->have_input)
        st = lt_set_error(r->ctx, LT_ERR_FORMAT, "%s: the file gives no input shape (no InputLayer, batch_shape or build_config)", r->path);
    if (st == LT_OK) st = lt_build_shapes_only(m, &r->input);
    if (st != LT_OK) {
        lt_model_free(m);
        return st;
    }
    *out = m;
    return LT_OK;
}

/* Refuses a model of more parameters than h5_bytes of weights could hold (two bytes a
 * value at the least), before its memory is taken. */
static lt_status check_fits(kreader *r, const lt_model *m, size_t h5_bytes)
{
    if (m->n_params <= h5_bytes / 2) return LT_OK;
    return lt_set_error(r->ctx, LT_ERR_FORMAT, "%s: the config describes %zu parameters, more than its %zu bytes of weights hold", r->path,
                        m->n_params, h5_bytes);
}

/* Allocates model m (shapes inferred by config_model), fills its weights from the
 * HDF5 snapshot h5 and compiles it from root's compile_config or the legacy
 * training_config (JSON text; may be NULL). */
static lt_status fill_model(kreader *r, lt_model *m, json_t *root, const char *training, const lt_h5_snapshot *h5, const lt_import_opts *opts)
{
    float *params = NULL;
    /* no initialisation: every parameter comes from the file */
    lt_status st = lt_build_from_shape(m, &r->input, opts->seed, 0);
    if (st == LT_OK && !(params = calloc(m->n_params ? m->n_params : 1, sizeof *params))) st = lt_set_error(r->ctx, LT_ERR_NOMEM, "out of host memory");
    if (st == LT_OK) st = r->legacy ? read_legacy_weights(r, h5, m, params) : read_keras3_weights(r, h5, m, params);
    if (st == LT_OK && lt_be_upload(r->ctx->be, m->params, 0, params, m->n_params) != LT_OK)
        st = lt_set_error(r->ctx, LT_ERR_DEVICE, "%s: %s", r->path, lt_be_message(r->ctx->be));
    if (st == LT_OK) {
        json_t *cc = json_object_get(root, "compile_config");
        if (cc) {
            st = compile_from(m, json_object_get(cc, "loss"), json_object_get(cc, "optimizer"));
        } else if (training) {
            json_error_t terr;
            json_t *tc = json_loads(training, JSON_REJECT_DUPLICATES, &terr);
            st = compile_from(m, json_object_get(tc, "loss"), json_object_get(tc, "optimizer_config"));
            json_decref(tc);
        }
    }
    free(params);
    return st;
}

/* The index and stat of zip entry `name` (its size known); a message when it has none. */
static lt_status zip_entry_size(kreader *r, zip_t *z, const char *name, zip_int64_t *idx, zip_stat_t *s)
{
    *idx = zip_name_locate(z, name, 0);
    if (*idx < 0 || zip_stat_index(z, (zip_uint64_t)*idx, 0, s) != 0 || !(s->valid & ZIP_STAT_SIZE))
        return lt_set_error(r->ctx, LT_ERR_FORMAT, "%s: the archive has no %s (not a Keras 3 .keras file)", r->path, name);
    return LT_OK;
}

/* Reads zip entry `name` whole (at most max bytes) into *out; a message when it cannot. */
static lt_status zip_entry(kreader *r, zip_t *z, const char *name, size_t max, char **out, size_t *len)
{
    zip_stat_t s;
    zip_int64_t idx;
    *out = NULL;
    lt_status st = zip_entry_size(r, z, name, &idx, &s);
    if (st != LT_OK) return st;
    /* deflate expands at most 1032-fold: a larger claim is a damaged or hostile entry */
    if ((s.valid & ZIP_STAT_COMP_SIZE) && s.size / 1032 > s.comp_size + 64)
        return lt_set_error(r->ctx, LT_ERR_FORMAT, "%s: %s claims %llu bytes from %llu compressed, more than deflate expands", r->path, name,
                            (unsigned long long)s.size, (unsigned long long)s.comp_size);
    if (s.size > max)
        return lt_set_error(r->ctx, LT_ERR_FORMAT, "%s: %s claims %llu bytes, more than latent reads (%zu)", r->path, name,
                            (unsigned long long)s.size, max);
    char *buf = malloc(s.size ? (size_t)s.size : 1);
    if (!buf) return lt_set_error(r->ctx, LT_ERR_NOMEM, "%s: out of host memory for %s", r->path, name);
    zip_file_t *f = zip_fopen_index(z, (zip_uint64_t)idx, 0);
    zip_int64_t got = f ? zip_fread(f, buf, s.size) : -1;
    /* one more read must give 0: the entry is exactly as long as it said (and its CRC holds) */
    char extra;
    zip_int64_t more = f && got == (zip_int64_t)s.size ? zip_fread(f, &extra, 1) : -1;
    if (f) zip_fclose(f);
    if (got != (zip_int64_t)s.size || more != 0) {
        free(buf);
        return lt_set_error(r->ctx, LT_ERR_FORMAT, "%s: cannot read %s from the archive (damaged or truncated)", r->path, name);
    }
    *out = buf;
    *len = (size_t)s.size;
    return LT_OK;
}

/* The most bytes model.weights.h5 may take for model m (its parameters and layers
 * counted): Keras may store weights as float64 and the optimizer's two moments
 * beside them, and HDF5 takes a few kilobytes for each group and dataset. So a small
 * archive cannot make latent inflate gigabytes for a small model (deflate expands
 * 1032-fold). */
static size_t weights_cap(const lt_model *m)
{
    size_t cap = ((size_t)16 << 20) + (size_t)m->n_flat * ((size_t)256 << 10);
    return m->n_params > (WEIGHTS_MAX - cap) / 24 ? WEIGHTS_MAX : cap + 24 * m->n_params;
}

lt_status lt_import_keras(lt_ctx *ctx, const char *path, const lt_bytes *file, int legacy, const lt_import_opts *opts, lt_model **out)
{
    kreader r = {0};
    r.ctx = ctx;
    r.path = path;
    r.legacy = legacy;
    lt_status st = LT_OK;
    char *config = NULL, *weights = NULL, *training = NULL, why[200];
    size_t config_len = 0, weights_len = 0;
    const void *image = file->data; /* the HDF5 file: the whole .h5, or the .keras's weights */
    size_t image_len = file->len;
    json_t *root = NULL;
    lt_model *m = NULL;
    if (!legacy) {
        /* the config first: the model it describes bounds what the weights may take */
        zip_error_t ze;
        zip_error_init(&ze);
        zip_source_t *src = zip_source_buffer_create(file->data, file->len, 0, &ze);
        zip_t *z = src ? zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze) : NULL;
        if (!z) {
            st = lt_set_error(ctx, LT_ERR_FORMAT, "%s: not a readable zip archive: %s", path, zip_error_strerror(&ze));
            if (src) zip_source_free(src);
        } else {
            zip_stat_t ws;
            zip_int64_t widx;
            st = zip_entry(&r, z, "config.json", CONFIG_MAX, &config, &config_len);
            if (st == LT_OK) st = zip_entry_size(&r, z, "model.weights.h5", &widx, &ws);
            if (st == LT_OK) st = config_model(&r, config, config_len, &root, &m);
            if (st == LT_OK) st = check_fits(&r, m, ws.size > SIZE_MAX ? SIZE_MAX : (size_t)ws.size);
            size_t cap = st == LT_OK ? weights_cap(m) : 0;
            if (st == LT_OK && ws.size > cap)
                st = lt_set_error(ctx, LT_ERR_FORMAT, "%s: model.weights.h5 claims %llu bytes for a model of %zu parameters in %d layers "
                                  "(latent reads at most %zu)", path, (unsigned long long)ws.size, m->n_params, m->n_flat, cap);
            if (st == LT_OK) st = zip_entry(&r, z, "model.weights.h5", cap, &weights, &weights_len);
            zip_discard(z);
        }
        zip_error_fini(&ze);
        image = weights;
        image_len = weights_len;
    }
    /* libhdf5 reads the file in a child process; floats may be stored narrower than
     * float32, so the snapshot may be up to twice the file, plus the strings */
    lt_h5_snapshot *h5 = NULL;
    if (st == LT_OK && !(h5 = lt_h5_snapshot_image(image, image_len, 2 * image_len + ((size_t)1 << 20), why, sizeof why)))
        st = lt_set_error(ctx, LT_ERR_FORMAT, "%s: %s%s", path, legacy ? "" : "model.weights.h5: ", why);
    if (st == LT_OK && legacy) {
        size_t n = 0;
        if (!(config = lt_h5_attr_strings(h5, "/", "model_config", CONFIG_MAX, &n)))
            st = lt_set_error(ctx, LT_ERR_FORMAT, "%s: no model_config attribute (a file of weights alone? latent needs the whole model)", path);
        else config_len = strlen(config);
        training = lt_h5_attr_strings(h5, "/", "training_config", CONFIG_MAX, &n);
        if (st == LT_OK) st = config_model(&r, config, config_len, &root, &m);
        if (st == LT_OK) st = check_fits(&r, m, image_len);
    }
    if (st == LT_OK) st = fill_model(&r, m, root, training, h5, opts);
    lt_h5_snapshot_free(h5);
    json_decref(root);
    free(config);
    free(training);
    free(weights);
    free(r.where);
    if (st != LT_OK) {
        lt_model_free(m);
        return st;
    }
    *out = m;
    return LT_OK;
}
