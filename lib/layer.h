/* The layer interface: each layer type is one file (layer_*.c) that fills an
 * lt_layer_ops vtable. Layers see only the backend vtable, never device memory. */
#ifndef LT_LAYER_H
#define LT_LAYER_H

#include "internal.h"

/* A per-sample shape (the batch dimension excluded), as Keras prints it after "None". */
typedef struct lt_shape {
    int rank;  /* 1 (features) to 3 (height, width, channels) */
    int d[3];  /* sizes, each >= 1                             */
} lt_shape;

/* Elements in a shape. */
size_t lt_shape_size(const lt_shape *s);
/* Formats a shape as Keras does: "(None, 26, 26, 16)". */
void lt_shape_format(const lt_shape *s, char *buf, size_t len);
/* Checks a shape (rank 1..3, sizes 1..2^24, size <= 2^30); 0 when good. */
int lt_shape_check(const lt_shape *s);

/* Where a layer's parameters and their gradients live: a slice of the model's one
 * parameter buffer and of its one gradient buffer. */
typedef struct lt_param_slot {
    lt_buf *params; /* the outermost model's parameter buffer */
    lt_buf *grads;  /* the outermost model's gradient buffer  */
    size_t off;     /* this layer's first element in both     */
} lt_param_slot;

/* Most parameter tensors one layer has (Bidirectional: two directions of kernel,
 * recurrent kernel and bias). */
#define LT_MAX_TENSORS 8

/* What a forward or backward pass needs besides tensors. */
typedef struct lt_pass {
    lt_backend *be;  /* the device                                          */
    int training;    /* dropout and noise act only when training            */
    uint64_t seed;   /* per-layer random key (already mixed with the layer) */
    uint64_t step;   /* training step: the Philox counter region            */
    lt_buf *ws;      /* this layer's workspace (ws_floats * batch elements) */
    size_t ws_off;
    const lt_buf *model_in; /* the input rows of the model being run (AddInput) */
    size_t model_in_off;
    int model_in_dim;       /* elements per row of model_in                     */
    float loss_scale;       /* what the loss slot is scaled by when read (1/rows or
                               1/(rows*cols)): penalties' gradients carry it     */
    float kl_factor;        /* KL warm-up factor in [0, 1] (1 outside warm-up)  */
    /* The batch this pass's rows are a slice of: with several processes each runs rows
     * row0 .. row0+rows-1 of a global batch of norm_rows (alone: 0 and rows). Random
     * draws are keyed by the global row, losses normalized over norm_rows, so the
     * slices add up to the one-process pass. */
    size_t row0, norm_rows;
} lt_pass;

/* Pairs a model file's layer line may hold: a recurrent layer writes 7, TimeDistributed
 * around one 8; the reader refuses more, so a layer that writes more must raise this. */
#define LT_KV_MAX 12

/* A key=value list parsed from a model file's architecture line. */
typedef struct lt_kv {
    int n;               /* pairs used */
    char key[LT_KV_MAX][24];
    char val[LT_KV_MAX][32];
} lt_kv;

/* Splits "key=value key=value" (s is cut up) into kv; 0, or -1 when a word is not
 * key=value or too long, or there are more than LT_KV_MAX. */
int lt_kv_parse(char *s, lt_kv *kv);
/* Looks up key in kv; returns its value or NULL. */
const char *lt_kv_get(const lt_kv *kv, const char *key);

/* The signatures of a layer type's slots (lt_layer_ops says what each does); a layer
 * file or helper declares a slot function with one, e.g. `lt_forward_fn my_forward;`. */
typedef lt_layer *lt_from_config_fn(const lt_kv *kv, char *err, size_t errlen);
typedef lt_status lt_build_fn(lt_layer *l, lt_ctx *ctx, const lt_shape *in);
typedef lt_status lt_forward_fn(lt_layer *l, const lt_pass *p, size_t batch,
                                const lt_buf *x, size_t xoff, lt_buf *y, size_t yoff);
typedef lt_status lt_backward_fn(lt_layer *l, const lt_pass *p, size_t batch,
                                 const lt_buf *x, size_t xoff, const lt_buf *y, size_t yoff,
                                 lt_buf *dy, size_t dyoff, lt_buf *dx, size_t dxoff);
typedef void lt_write_config_fn(const lt_layer *l, char *buf, size_t len);
typedef lt_status lt_init_fn(lt_layer *l, lt_backend *be, uint64_t seed, uint64_t layer);
typedef lt_status lt_add_loss_fn(lt_layer *l, const lt_pass *p, size_t batch, const lt_buf *x, size_t xoff,
                                 lt_buf *loss, size_t slot);
typedef void lt_set_alpha_fn(lt_layer *l, float alpha);

/* One layer type: its names, and what the model, the executor and the model-file reader
 * call. Every slot is required unless marked optional; an optional slot left NULL means
 * what its comment says, and only optional slots are ever tested for NULL. */
typedef struct lt_layer_ops {
    const char *type;        /* Keras class name, e.g. "Dense"                       */
    const char *file_tag;    /* name in model files and auto names, e.g. "dense"     */
    const char *name;        /* optional: Keras's auto-name stem where it differs from
                              * file_tag (Add: "add"); NULL: file_tag                */

    /* --- required --- */
    /* Creates a layer of this type from its model-file settings; NULL and a message in
     * err when a setting is missing or out of range, or memory ran out. */
    lt_from_config_fn *from_config;
    /* Sets out_shape, n_params and ws_floats from the input shape; LT_ERR_SHAPE with a
     * message naming the layer if it cannot. */
    lt_build_fn *build;
    /* y = layer(x) for batch rows (x: batch*in_dim, y: batch*out_dim). */
    lt_forward_fn *forward;
    /* From dy (may be overwritten), writes parameter gradients and, when dx != NULL,
     * dx. x and y are the forward pass's input and output. */
    lt_backward_fn *backward;
    /* Writes the layer's settings as "key=value ..." for the model file ("" for none). */
    lt_write_config_fn *write_config;

    /* --- optional --- */
    /* Initialises the parameters (Keras defaults) of the model's layer number `layer`:
     * its tensor t draws from its own Philox key, lt_init_key(seed, layer, t), so no two
     * tensors share random words. Called only for a layer whose build set parameters;
     * NULL for a type without any. */
    lt_init_fn *init;
    /* Frees the layer; NULL: the layer is one allocation, and free() releases it. */
    void (*destroy)(lt_layer *l);
    /* Adds the layer's penalty (VAE KL, sparsity, L1) of the last forward pass over
     * input x into loss[slot], unscaled like the loss's own sum there; the backward pass
     * adds the penalty's gradient times p->loss_scale. NULL: no penalty. */
    lt_add_loss_fn *add_loss;
    /* Sets the activation's alpha (leaky_relu's slope, elu's alpha), already checked
     * positive and finite. NULL: the type has no such setting (lt_layer_set_alpha
     * leaves it as it is). */
    lt_set_alpha_fn *set_alpha;
    /* Nonzero for a type whose bias lt_layer_set_use_bias can leave out (Dense,
     * Conv2D, Conv2DTranspose): build, init, the passes and the settings line then
     * follow l->no_bias. */
    int has_bias;
    /* The type of the layer a wrapper holds (Bidirectional, TimeDistributed), whose
     * name counter Keras also advances; NULL: the type wraps none. */
    const struct lt_layer_ops *(*wrapped)(const lt_layer *l);
    /* Nonzero when the output is the input's elements in the same order (Flatten,
     * Reshape): a model's executor then gives y the input's storage and dx dy's, and
     * calls neither forward nor backward (which copy, for wrappers that call them).
     * 0 (left out): a layer that computes. */
    int is_view;
} lt_layer_ops;

/* The layer types, one per layer_*.c (SimpleRNN, LSTM and GRU share layer_rnn.c,
 * Sparsity and ActivityL1 layer_sparsity.c); the registry in layer.c lists them all. */
extern const lt_layer_ops lt_dense_ops, lt_activation_ops, lt_leaky_relu_ops, lt_dropout_ops, lt_gaussian_noise_ops, lt_conv2d_ops,
    lt_conv2d_transpose_ops, lt_maxpool2d_ops, lt_upsampling2d_ops, lt_flatten_ops, lt_reshape_ops, lt_add_input_ops,
    lt_sampling_ops, lt_sparsity_ops, lt_activity_l1_ops, lt_simple_rnn_ops, lt_lstm_ops, lt_gru_ops,
    lt_bidirectional_ops, lt_repeat_vector_ops, lt_time_distributed_ops;

/* Common head of every layer; each layer file's struct starts with it. */
struct lt_layer {
    const lt_layer_ops *ops; /* the type                                      */
    char name[64];           /* Keras-style name, e.g. "dense_3"              */
    lt_shape in_shape;       /* per-sample input shape, set by the model      */
    lt_shape out_shape;      /* per-sample output shape, set by build         */
    lt_shape model_in_shape; /* the outermost model's input shape, set by the
                                model before build (AddInput checks against it) */
    int in_dim, out_dim;     /* elements per sample of each, set by the model */
    size_t n_params;         /* parameters, set by build                      */
    int n_tensors;           /* parameter tensors, Keras's variables (kernel,
                                bias, ...): what clipnorm clips one by one; set
                                by build (0 with parameters: one tensor)      */
    size_t tensor_size[LT_MAX_TENSORS]; /* their sizes, in parameter order    */
    size_t ws_floats;        /* workspace floats per sample, set by build     */
    lt_param_slot slot;      /* where the parameters live, set by the model   */
    int no_bias;             /* Keras's use_bias=False: a type with has_bias
                                leaves its bias tensor out                    */
    int zero_kernel;         /* Keras's kernel_initializer='zeros' (Dense and
                                the convolutions): the kernel starts at zero  */
};

/* Sets a layer's parameter tensors (sizes in parameter order, n <= LT_MAX_TENSORS)
 * and n_params, their total; for build. */
void lt_layer_set_tensors(lt_layer *l, int n, const size_t *sizes);

/* Creates a layer of the model-file type `tag` from its settings; NULL and a message
 * in err when the tag or a setting is unknown or out of range. */
lt_layer *lt_layer_from_config(const char *tag, const lt_kv *kv, char *err, size_t errlen);

/* --- helpers the layer files share --- */
/* A zeroed layer struct of size bytes (a layer file's own struct, lt_layer first) of
 * type ops; NULL when memory ran out. */
lt_layer *lt_layer_new(const lt_layer_ops *ops, size_t size);
/* Returns l; when it is NULL, first writes "out of host memory" into err (for from_config,
 * once the settings are known good). */
lt_layer *lt_layer_or_nomem(lt_layer *l, char *err, size_t errlen);
/* What build sets for a layer without parameters: the output shape and the workspace
 * floats per sample. */
void lt_layer_set_output(lt_layer *l, const lt_shape *out, size_t ws_floats);
/* A build for types whose output has the input's shape, with no parameters or workspace. */
lt_build_fn lt_layer_build_same_shape;
/* A forward pass that copies x to y (views, identities). */
lt_forward_fn lt_layer_forward_copy;
/* A backward pass that copies dy to dx when dx is wanted (views, additive layers). */
lt_backward_fn lt_layer_backward_copy;
/* A write_config for types without settings: "". */
lt_write_config_fn lt_layer_write_no_config;
/* Sets LT_ERR_SHAPE with the printf-style message, then ", got " and the shape. */
lt_status lt_shape_error(lt_ctx *ctx, const lt_shape *got, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* A new, unbuilt Dense layer with l's settings (units, activation, alpha); NULL when l
 * is not a Dense layer or memory ran out. */
lt_layer *lt_dense_clone(const lt_layer *l);

/* Keras's output length of a convolution or pooling window along one axis. */
int lt_conv_out_len(int in, int k, int stride, int dil, lt_padding pad);
/* Zero padding before the first cell for 'same' (0 for valid): half the total, rounded
 * down, as TensorFlow pads. */
int lt_conv_pad_before(int in, int out, int k, int stride, int dil, lt_padding pad);
/* Parses "3x5" (or "3", meaning 3x3) into two ints in 1..limit; 0 on success. */
int lt_parse_pair(const char *s, int limit, int *a, int *b);
/* Parses an integer in lo..hi; 0 on success. */
int lt_parse_int(const char *s, int lo, int hi, int *v);
/* Parses "AxBxC" (1 to 3 sizes) into dims; returns the rank or -1. */
int lt_parse_dims(const char *s, int dims[3]);
/* Parses a float; 0 on success (finite numbers only). */
int lt_parse_float(const char *s, float *v);
/* Parses s whole with strtof, as the first layers' settings were read ("" reads as 0,
 * "inf" as infinity: the caller checks the range); 0 on success. */
int lt_parse_strtof(const char *s, float *v);
/* The image (rank-3) shape a convolution-like layer needs, or LT_ERR_SHAPE naming it. */
lt_status lt_need_image(lt_ctx *ctx, const lt_layer *l, const lt_shape *in);

/* Nonzero when act is one of the lt_act values. */
int lt_act_valid(lt_act act);
/* Reads a Dense or Activation layer's model-file alpha s for activation act into *alpha;
 * 0 when it is finite, and positive where act needs it (leaky_relu, elu). */
int lt_act_alpha_parse(const char *s, lt_act act, float *alpha);
/* Maps a public activation to the backend's. */
lt_backend_act lt_act_to_backend(lt_act act);
/* A dense or convolution layer's activation and bias gradients: dy <- dy * act'(y) in
 * place and db = its sums over the rows, one backend op for pointwise activations;
 * db NULL (no bias): only dy <- dy * act'(y). */
lt_status lt_bias_act_grad(lt_backend *be, size_t rows, size_t cols, lt_act act, float alpha, const lt_buf *y,
                           size_t yoff, lt_buf *dy, size_t dyoff, lt_buf *db, size_t dboff);
/* The Philox key of tensor `tensor` of layer `layer`'s initial weights (counter 0): a
 * bijective mix of the pair, so every tensor of a model gets its own stream. */
uint64_t lt_init_key(uint64_t seed, uint64_t layer, int tensor);
/* Keras's default alpha for an activation (leaky_relu 0.2, elu 1.0, else 0). */
float lt_act_default_alpha(lt_act act);

#endif
