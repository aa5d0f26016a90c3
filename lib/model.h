/* Private model structures shared by model.c, exec.c, fit.c and modelfile.c. */
#ifndef LT_MODEL_H
#define LT_MODEL_H

#include "layer.h"

/* How deep models may nest (model files allow the same). */
#define LT_MAX_NESTING 16

/* One entry of a sequential model: a layer or a nested model (exactly one is set). */
typedef struct lt_item {
    lt_layer *layer;
    lt_model *model;
} lt_item;

/* Limits on a model's notes (lt_model_set_meta). */
#define LT_META_MAX 64          /* notes per model            */
#define LT_META_KEY_MAX 63      /* bytes of a key             */
#define LT_META_VALUE_MAX 16000 /* bytes of a value           */

/* One note: key and value, both heap strings. */
typedef struct lt_meta_entry {
    char *key, *value;
} lt_meta_entry;

/* Device scratch for running a model at up to `batch` rows; sized once, reused. */
typedef struct lt_workspace {
    size_t batch;       /* row capacity (0: not allocated)                      */
    lt_buf *acts;       /* model input, then every layer's output               */
    size_t *act_off;    /* n_flat + 1 offsets into acts                         */
    lt_buf *grad;       /* two halves of batch * max width: dy and dx in turn   */
    size_t grad_half;   /* elements per half                                    */
    lt_buf *layer_ws;   /* per-layer workspaces (dropout masks)                 */
    size_t *layer_ws_off;
    lt_buf *target;     /* batch * out_dim: targets uploaded or gathered        */
    lt_buf *loss;       /* loss slots: one float per step                       */
    size_t loss_slots;
} lt_workspace;

/* The training run a model records, so lt_fit can go on with it after a stop: what it
 * trains on and with (checked on resume) and how far it got. The PROG section of a
 * model file; lib/fit_run.c. */
typedef struct lt_fit_run {
    int active;             /* lt_fit began a run: the fields below mean something     */
    /* how far it got */
    uint64_t start_epoch;   /* the model's epochs done when the run began              */
    uint64_t epochs_done;   /* the model's epochs completed, over all its runs         */
    uint64_t epoch_step;    /* steps of the next epoch taken when it stopped midway    */
    double epoch_loss;      /* their summed loss                                        */
    double best;            /* early stopping: the best watched loss (inf: none yet)    */
    uint64_t since_best;    /* epochs since it improved                                 */
    int early_stopped;      /* the run ended by early stopping                          */
    /* what it trains on and with */
    uint64_t epochs;        /* the run's epochs in all                                  */
    uint64_t steps;         /* steps per epoch                                          */
    uint64_t n, dim, ydim;  /* samples, input and target widths                         */
    uint64_t x_digest;      /* lt_data_digest of the inputs                             */
    uint64_t y_digest;      /* of the targets (0: the inputs are the targets)           */
    uint64_t batch, seed;
    int shuffle;            /* 1: no shuffling (lt_fit_opts.shuffle -1)                */
    int patience, restore_best;
    float validation_split, min_delta, noise, kl_warmup;
    lt_augment augment;
} lt_fit_run;

/* Training state of a compiled model. */
typedef struct lt_trainer {
    int compiled;       /* lt_compile was called         */
    lt_loss loss;       /* loss function                 */
    lt_optimizer opt;   /* optimizer settings            */
    lt_buf *state;      /* optimizer moments (n_params * moments) */
    size_t clip_segments; /* gradient segments clipped: each parameter tensor
                             (clipnorm), one (global_clipnorm) or 0 (off)  */
    lt_buf *clip_starts;  /* clipnorm: each tensor's first element after poff
                             (uint32), the segments' starts; else NULL     */
    lt_buf *clip_sumsq;   /* the segments' squared norms, computed each step */
    uint64_t steps;     /* optimizer steps taken         */
    float kl_factor;    /* KL warm-up factor now (1 unless fit is warming up) */
    size_t row0;        /* this step's rows start at row0 of a global batch of  */
    size_t norm_rows;   /* norm_rows (0: the rows themselves): lt_pass's fields */
    /* Called when backward has finished layer `layer`'s parameter gradients (NULL:
     * nothing): data-parallel training starts summing them over the processes while
     * backward goes on into the layers below (lib/fit_dist.c). */
    lt_status (*grads_done)(void *user, lt_model *m, int layer);
    void *grads_done_user;
    lt_fit_run run;     /* the last training run (lt_compile clears it) */
    lt_buf *best;       /* early stopping's best weights while a run that restores
                           them is under way (n_params), else NULL   */
} lt_trainer;

struct lt_model {
    lt_ctx *ctx;            /* owning context                                     */
    char name[64];          /* Keras-style name                                   */
    lt_item *items;         /* layers and nested models, in order                 */
    int n_items, cap_items;
    lt_model *parent;       /* the model this one is nested in, or NULL           */
    int built;              /* shapes inferred and parameters allocated           */
    lt_shape in_shape;      /* per-sample input shape                             */
    lt_shape out_shape;     /* per-sample output shape                            */
    int in_dim, out_dim;    /* elements per sample of each                        */
    lt_layer **flat;        /* every layer, depth first (n_flat)                  */
    int n_flat;
    size_t n_params;        /* parameters of this model (and its nested ones)     */
    lt_buf *params, *grads; /* the outermost model's buffers                      */
    size_t poff;            /* this model's first parameter in them               */
    uint64_t seed;          /* build seed                                         */
    lt_trainer train;       /* loss and optimizer, once compiled                  */
    lt_workspace ws;        /* device scratch                                     */
    lt_meta_entry *meta;    /* notes saved with the model (n_meta of LT_META_MAX) */
    int n_meta;
};

/* Infers shapes and the parameter count without allocating anything. */
lt_status lt_build_shapes_only(lt_model *m, const lt_shape *in);
/* Builds the outermost model for an input shape; init = 0 leaves the parameters
 * uninitialised (the caller uploads them, as loading does). */
lt_status lt_build_from_shape(lt_model *m, const lt_shape *in, uint64_t seed, int init);
/* Makes sure the workspace holds `batch` rows and `loss_slots` loss slots. */
lt_status lt_workspace_reserve(lt_model *m, size_t batch, size_t loss_slots);
/* Adds every layer's penalty (add_loss) of the last forward pass over `rows` rows to
 * loss slot `slot`. */
lt_status lt_add_layer_losses(lt_model *m, size_t rows, int training, uint64_t seed, uint64_t step, size_t slot);
/* Runs the model on the rows already in acts[0]; the output lands in acts[n_flat]. */
lt_status lt_forward(lt_model *m, size_t rows, int training, uint64_t seed, uint64_t step);
/* Forward, loss and backward on the rows in acts[0]: parameter gradients land in the
 * gradient buffer, the summed loss in loss slot `slot`; no update. */
lt_status lt_compute_grads(lt_model *m, size_t rows, const lt_buf *target, size_t toff,
                           size_t slot, uint64_t seed);
/* One optimizer step on the rows in acts[0] against target (buffer, offset); the
 * loss summed over the batch's elements goes to loss slot `slot` on the device (the
 * host scales it by lt_loss_scale when it reads it). */
lt_status lt_train_step(lt_model *m, size_t rows, const lt_buf *target, size_t toff,
                        size_t slot, uint64_t seed);
/* Loss value scale: 1 / lt_loss_normalizer. */
float lt_loss_scale(lt_loss loss, size_t rows, size_t cols);
/* What a summed loss is divided by: rows * cols for means over elements (MSE, BCE),
 * rows for per-sample sums (CCE, MSE_SUM, BCE_SUM). */
double lt_loss_normalizer(lt_loss loss, size_t rows, size_t cols);
/* The backend's loss kind for a public loss. */
lt_backend_loss lt_loss_to_backend(lt_loss loss);
/* Number of optimizer moments per parameter. */
int lt_optim_moments(const lt_optimizer *opt);
/* Checks an optimizer's settings; LT_ERR_ARG with a message when out of range. */
lt_status lt_optimizer_check(lt_ctx *ctx, const lt_optimizer *opt);
/* One optimizer update of m's parameter range (increments m->train.steps), after
 * clipping the gradients when the optimizer says so (they are scaled in place). */
lt_status lt_optimizer_step(lt_model *m);
/* Frees the optimizer's device buffers (moments, clipping tables, best weights). */
void lt_optimizer_release(lt_model *m);
/* A 64-bit digest of count floats (their bits), to tell a run's data from others. */
uint64_t lt_data_digest(const float *x, size_t count);
/* Starts a new run record in m for training on x against y (y == x: autoencoder) with
 * opts (defaults filled in), epochs in all and steps per epoch. */
void lt_fit_run_begin(lt_model *m, const lt_dataset *x, const lt_dataset *y, const lt_fit_opts *opts, size_t steps);
/* Checks that x, y and opts are those of m's recorded run, for a resume; LT_ERR_ARG
 * naming the first difference. */
lt_status lt_fit_run_check(lt_model *m, const lt_dataset *x, const lt_dataset *y, const lt_fit_opts *opts);
/* Bytes of the PROG text of run r, and the text itself into out (that many bytes). */
size_t lt_fit_run_text(const lt_fit_run *r, char *out, size_t size);
/* Reads PROG text (n bytes) into r; 0, or -1 with the reason in why. */
int lt_fit_run_parse(lt_fit_run *r, const char *text, size_t n, char *why, size_t why_size);
/* Checks that n rows of dim floats are finite; LT_ERR_NONFINITE naming the first bad
 * row and column (what names the data). */
lt_status lt_check_finite(lt_ctx *ctx, const float *x, size_t n, size_t dim, const char *what);
/* Frees m's notes. */
void lt_meta_free(lt_model *m);
/* Bytes of m's notes as META text ("key=value\n" each). */
size_t lt_meta_text_size(const lt_model *m);
/* Writes that text (lt_meta_text_size bytes, no terminator) to out. */
void lt_meta_write_text(const lt_model *m, char *out);
/* Adds the notes of META text (n bytes) to m; on a malformed note, says why. */
lt_status lt_meta_read_text(lt_model *m, const char *text, size_t n, char *why, size_t why_size);
/* Checks that targets y suit m's loss: in [0, 1] for the binary cross-entropies;
 * LT_ERR_ARG naming what, the row, the column and the value otherwise. */
lt_status lt_check_targets(lt_model *m, const lt_dataset *y, const char *what);
/* Releases the workspace buffers. */
void lt_workspace_free(lt_model *m);
/* The backend of a model. */
#define LT_BE(m) ((m)->ctx->be)
/* Names a layer "tag" or "tag_N" from the context's counters. */
void lt_name_layer(lt_ctx *ctx, lt_layer *l);

#endif
