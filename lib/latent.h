/* latent: autoencoders, variational autoencoders and recurrent networks in C11,
 * on OpenCL devices or a plain-C CPU fallback. The one public header.
 *
 * Conventions: every function that can fail returns lt_status; on failure the
 * context's message (lt_ctx_error) says what was wrong. Handles are opaque. Nothing
 * here exits, asserts on input, or keeps global state: two contexts on two devices
 * can live in one process. Floats are float32; images are channels-last (HWC).
 */
#ifndef LATENT_H
#define LATENT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LT_VERSION_MAJOR 0
#define LT_VERSION_MINOR 1
#define LT_VERSION_PATCH 0

/* Outcome of a call. */
typedef enum lt_status {
    LT_OK = 0,            /* success                                              */
    LT_ERR_ARG,           /* a bad argument or option                              */
    LT_ERR_IO,            /* a file could not be opened, read or written           */
    LT_ERR_FORMAT,        /* a file's contents are corrupt, truncated or foreign   */
    LT_ERR_SHAPE,         /* shapes of model and data do not fit                   */
    LT_ERR_NOMEM,         /* host or device memory exhausted                       */
    LT_ERR_DEVICE,        /* no such device, or the device failed                  */
    LT_ERR_NONFINITE,     /* a NaN or infinity in data or in training              */
    LT_ERR_UNSUPPORTED    /* the operation is not available in this build          */
} lt_status;

/* Short name of a status ("ok", "bad argument", ...). */
const char *lt_status_name(lt_status s);

/* ------------------------------------------------------------------ several processes */

/* Processes that train one model together, one device each (synchronous data
 * parallelism over MPI). latent_mpi.h makes one from an MPI communicator; this header
 * needs no mpi.h, and everywhere NULL means this process alone. */
typedef struct lt_comm lt_comm;
/* 1 when this liblatent was built with MPI (then latent_mpi.h and lt_comm_mpi exist). */
int lt_have_mpi(void);
/* This process's rank in c, 0 .. lt_comm_size(c) - 1 (0 for NULL). */
int lt_comm_rank(const lt_comm *c);
/* Processes in c (1 for NULL). */
int lt_comm_size(const lt_comm *c);
/* This process's rank among c's processes on its own machine (0 for NULL). */
int lt_comm_node_rank(const lt_comm *c);
/* c's processes on this machine (1 for NULL). */
int lt_comm_node_size(const lt_comm *c);
/* Frees c (NULL: nothing); collective, as MPI_Comm_free. */
void lt_comm_free(lt_comm *c);

/* ------------------------------------------------------------------ context */

/* A device and everything allocated on it; the home of error messages. */
typedef struct lt_ctx lt_ctx;

/* Opens a context on a device: "auto" (first OpenCL GPU, else CPU), "cpu", "opencl"
 * (first GPU, else first OpenCL device), or "opencl:N" (N-th device of
 * lt_print_devices's list). NULL or "" reads the LATENT_DEVICE environment variable,
 * then falls back to "auto". On failure *out is NULL and err holds the reason. */
lt_status lt_ctx_open(lt_ctx **out, const char *device, char *err, size_t errlen);
/* Closes a context; every model and dataset made with it must be freed first. */
void lt_ctx_close(lt_ctx *ctx);
/* Last error message of the context ("" when none). */
const char *lt_ctx_error(const lt_ctx *ctx);
/* Backend name, "cpu" or "opencl". */
const char *lt_ctx_backend(const lt_ctx *ctx);
/* Human-readable device description. */
const char *lt_ctx_device(const lt_ctx *ctx);
/* Sets the most threads the CPU backend computes with; <= 0: the CPUs this process may
 * use (OMP_NUM_THREADS, when set, else its affinity mask). It takes fewer while other
 * work keeps this process's threads waiting for CPUs (README, "CPU threads"). OpenCL:
 * no effect. */
void lt_ctx_set_threads(lt_ctx *ctx, int threads);
/* Prints the backends and OpenCL devices (name, memory, compute units) to f. */
void lt_print_devices(FILE *f);
/* OpenCL GPUs on this machine (0 without OpenCL): the list puts them first, so they are
 * devices "opencl:0" .. "opencl:N-1". */
int lt_gpu_count(void);

/* ------------------------------------------------------------------ datasets */

/* Host-side samples: n rows of dim floats, with optional integer labels and an optional
 * per-sample float value (the swiss roll's position along the roll). */
typedef struct lt_dataset lt_dataset;

/* Loads an IDX image file (gzip or raw; values scaled to [0,1]) and optionally an IDX
 * label file (labels_path may be NULL). Checks headers and sizes before allocating. */
lt_status lt_dataset_load_idx(lt_ctx *ctx, const char *images_path, const char *labels_path,
                              lt_dataset **out);
/* Loads Fashion-MNIST's train (train != 0) or test split from dir, or, when dir is NULL,
 * from $LATENT_DATA_DIR, $LATENT_DATA_DIR/fashion-mnist, then
 * /usr/share/datasets/fashion-mnist (gzip or uncompressed file names); a
 * $LATENT_DATA_DIR that is not a folder is an error. */
lt_status lt_dataset_fashion_mnist(lt_ctx *ctx, const char *dir, int train, lt_dataset **out);
/* Generates n swiss-roll points in 3-D with their position along the roll (the
 * sample value), from the seeded Philox stream; noise is the stddev of added noise. */
lt_status lt_dataset_swiss_roll(lt_ctx *ctx, size_t n, float noise, uint64_t seed, lt_dataset **out);
/* Loads a numeric CSV table (comma separated, optional header row of names; every
 * other cell a finite number). */
lt_status lt_dataset_load_csv(lt_ctx *ctx, const char *path, lt_dataset **out);
/* Which columns lt_dataset_load_csv_opts reads and what it does with empty cells. */
typedef struct lt_csv_opts {
    const char *columns;  /* comma list of 1-based column numbers, ranges such as 2-13, and
                             header names (exact, else the one that matches ignoring case),
                             read in that order; NULL or "": every column                 */
    int interpolate;      /* nonzero: an empty cell between two values of its column gets
                             the straight line between them, by row position; else an empty
                             cell is an error                                              */
} lt_csv_opts;
/* lt_dataset_load_csv reading only the selected columns, so the others may hold text
 * (dates); opts may be NULL. The first line is a header when a cell to be read holds
 * text (every cell counts when the selection names columns). An unknown name or
 * number, a column selected twice, or names without a header row are LT_ERR_ARG; a bad
 * or empty cell LT_ERR_FORMAT naming its line and column, as is an empty cell with
 * interpolation that has no value before or after it in its column. */
lt_status lt_dataset_load_csv_opts(lt_ctx *ctx, const char *path, const lt_csv_opts *opts, lt_dataset **out);
/* Cuts a time series (rows: time steps, columns: features) into windows of `window`
 * rows starting every `stride` rows (1 + (rows - window) / stride of them; rows after
 * the last full window are left out), each a sample of window x features values,
 * step-major; the new dataset records its sequence shape (lt_dataset_seq_shape). A
 * window longer than the series is LT_ERR_SHAPE naming both lengths. */
lt_status lt_dataset_windows(lt_ctx *ctx, const lt_dataset *series, size_t window, size_t stride, lt_dataset **out);
/* Subtracts from each window of ds (samples with a sequence shape, as lt_dataset_windows
 * makes them) every feature's mean over the window, so a model sees a window's shape and
 * not its level: the later rows of a series with a trend then stay within what the
 * earlier ones taught. LT_ERR_ARG when ds holds no windows. */
lt_status lt_dataset_center_windows(lt_ctx *ctx, lt_dataset *ds);
/* Copies n x dim floats (and labels, may be NULL) into a new dataset; NaN or inf gives
 * LT_ERR_NONFINITE naming the row and column. */
lt_status lt_dataset_from_array(lt_ctx *ctx, size_t n, size_t dim, const float *x,
                                const int32_t *labels, lt_dataset **out);
/* A new dataset of rows [start, start+count) of ds. */
lt_status lt_dataset_slice(lt_ctx *ctx, const lt_dataset *ds, size_t start, size_t count,
                           lt_dataset **out);
/* A new dataset of the rows whose label is `label` (keep != 0) or is not (keep == 0),
 * in order; LT_ERR_ARG when ds has no labels or no row qualifies (naming the labels). */
lt_status lt_dataset_filter_label(lt_ctx *ctx, const lt_dataset *ds, int32_t label, int keep, lt_dataset **out);
/* Standardizes every column of ds to zero mean and unit variance, with the means and
 * standard deviations fitted on `fit` (NULL: on ds itself), so test data can be scaled
 * with the training data's statistics. Constant columns are only centred. */
lt_status lt_dataset_standardize(lt_ctx *ctx, lt_dataset *ds, const lt_dataset *fit);
/* The per-column means and standard deviations (dim values each) that
 * lt_dataset_standardize fits on ds; a constant column gets deviation 1. */
lt_status lt_dataset_moments(lt_ctx *ctx, const lt_dataset *ds, double *mean, double *sd);
/* Maps every column j of ds to (x - mean[j]) / sd[j]: the scaling of a model's
 * training data applied to new data. Deviations must be finite and above 0. */
lt_status lt_dataset_scale(lt_ctx *ctx, lt_dataset *ds, const double *mean, const double *sd);
/* Adds gaussian noise of the given stddev to every value, from the Philox stream of
 * seed (row i uses counter region i << 32): the corrupted inputs of a denoising test. */
lt_status lt_dataset_add_noise(lt_ctx *ctx, lt_dataset *ds, float stddev, uint64_t seed);
/* A new dataset of ds's images each shrunk by factor (2..16) and scaled back to their
 * size (stb_image_resize; Catmull-Rom cubic upward): super-resolution inputs. */
lt_status lt_dataset_down_up(lt_ctx *ctx, const lt_dataset *ds, int factor, lt_dataset **out);
/* Frees a dataset; NULL is allowed. */
void lt_dataset_free(lt_dataset *ds);
/* Number of samples. */
size_t lt_dataset_count(const lt_dataset *ds);
/* Floats per sample. */
size_t lt_dataset_dim(const lt_dataset *ds);
/* Image shape when the data are images (height, width, channels), else all 0; any
 * pointer may be NULL. */
void lt_dataset_image_shape(const lt_dataset *ds, int *h, int *w, int *c);
/* Sequence shape when the samples are windows of a series (steps, features), else
 * both 0; either pointer may be NULL. */
void lt_dataset_seq_shape(const lt_dataset *ds, int *steps, int *features);
/* Row-major sample data, count x dim. */
const float *lt_dataset_data(const lt_dataset *ds);
/* Integer labels, or NULL. */
const int32_t *lt_dataset_labels(const lt_dataset *ds);
/* Per-sample values (swiss roll position), or NULL. */
const float *lt_dataset_values(const lt_dataset *ds);
/* Limits on images read from files: larger ones are an error, never an allocation. */
#define LT_IMAGE_MAX_SIDE 16384
#define LT_IMAGE_MAX_PIXELS (64u * 1024u * 1024u)
/* Loads a PNG, JPEG or BMP (8-bit gray or RGB; channels 1 or 3 converts, 0 keeps the
 * file's: gray (with or without alpha) is 1, anything else 3; alpha is dropped) into a
 * one-sample dataset of h x w x c
 * floats in [0,1]. A missing file is LT_ERR_IO; a corrupt or unsupported one, or one over
 * the limits, LT_ERR_FORMAT naming the file and what was wrong. */
lt_status lt_image_load(lt_ctx *ctx, const char *path, int channels, lt_dataset **out);
/* Writes h x w x c floats in [0,1] (clipped) as an 8-bit PNG (c = 1 or 3). */
lt_status lt_image_save_png(lt_ctx *ctx, const char *path, const float *img, int h, int w, int c);
/* Resizes h x w x c floats to nh x nw (stb_image_resize, its default filter). */
lt_status lt_image_resize(lt_ctx *ctx, const float *img, int h, int w, int c, float *out, int nh, int nw);
/* Shrinks an image by factor (2..16; sizes rounded) and scales it back to h x w into out
 * (Catmull-Rom cubic upward): what a super-resolution model gets as input. */
lt_status lt_image_down_up(lt_ctx *ctx, const float *img, int h, int w, int c, int factor, float *out);
/* Loads every PNG, JPEG and BMP file of folder dir (by name order; other files are
 * skipped) with `channels` (1 or 3) and cuts each into patch_h x patch_w tiles every
 * stride pixels (stride <= 0: the patch size, no overlap), in reading order, at most
 * max_patches in all (0: no limit). Images smaller than a patch give none. A missing
 * folder is LT_ERR_IO; a folder with no image, or no image as large as a patch,
 * LT_ERR_ARG; a corrupt image LT_ERR_FORMAT naming the file. */
lt_status lt_dataset_image_patches(lt_ctx *ctx, const char *dir, int patch_h, int patch_w, int stride,
                                   int channels, size_t max_patches, lt_dataset **out);
/* Peak signal-to-noise ratio in dB of img against ref (h x w x c floats, data range
 * 1); +inf when they are equal. */
double lt_image_psnr(const float *ref, const float *img, int h, int w, int c);
/* Structural similarity of img against ref (Wang et al. 2004 as scikit-image computes
 * it with gaussian_weights=True: 11x11 gaussian window of sigma 1.5, K1 0.01, K2 0.03,
 * data range 1, population covariances, mean over the valid region and the channels). */
lt_status lt_image_ssim(lt_ctx *ctx, const float *ref, const float *img, int h, int w, int c, double *ssim);
/* Gaussian blur with standard deviation sigma pixels (> 0), edges replicated. */
lt_status lt_image_gaussian_blur(lt_ctx *ctx, const float *img, int h, int w, int c, float sigma, float *out);

/* ------------------------------------------------------------------ plots */

/* Writes a PNG: the first `cols` images of a (top row) above the same images of b
 * (bottom row), each image h x w x c with values in [0,1] (clipped); b may be NULL;
 * a and b hold at least cols images each. */
lt_status lt_plot_image_rows(lt_ctx *ctx, const char *path, const float *a, const float *b,
                             int cols, int h, int w, int c, int scale);
/* Writes a PNG scatter plot of n 2-D points, colored along a colormap by value (may be
 * NULL); non-finite points are skipped; size_px in 64..4096. From 200 pixels on, the
 * axes carry ticks with their values, and so does the colour bar, labelled "value";
 * lt_plot_scatter_labeled names it. */
lt_status lt_plot_scatter(lt_ctx *ctx, const char *path, const float *xy, const float *value,
                          size_t n, int size_px);
/* lt_plot_scatter with the colour bar labelled value_label (NULL: "value"; "": none),
 * e.g. "position along the roll". */
lt_status lt_plot_scatter_labeled(lt_ctx *ctx, const char *path, const float *xy, const float *value,
                                  size_t n, int size_px, const char *value_label);

/* Writes a PNG scatter plot of n 2-D points coloured by class (cls[i] in
 * 0..n_classes-1, at most 20; other values are skipped as are non-finite points), with
 * a legend of the class names (names may be NULL: "0", "1", ...); size_px in 64..4096. */
lt_status lt_plot_scatter_classes(lt_ctx *ctx, const char *path, const float *xy, const int32_t *cls, size_t n,
                                  const char *const *names, int n_classes, int size_px);

/* What lt_plot_series draws: a series and the anomaly scores of its windows. */
typedef struct lt_series_plot {
    const float *series;      /* rows x cols values, row-major; each column one line     */
    size_t rows, cols;        /* time steps and features (cols at most 20)               */
    const char *const *names; /* legend names of the columns (NULL: no legend)          */
    const char *title;        /* text above the series (NULL: none)                      */
    const float *scores;      /* one per window (NULL: no score panel, nothing marked)    */
    size_t windows;           /* how many scores: window i covers rows
                                 [i * stride, i * stride + window)                       */
    size_t window, stride;    /* rows per window, and rows from one window to the next    */
    float threshold;          /* windows scoring above it are flagged                     */
    size_t test_start;        /* first test row, marked by a dashed line (0: no mark)     */
} lt_series_plot;
/* Writes a width x height RGB PNG (width 200..8192, height 120..8192): the series as
 * lines over its rows, the rows of flagged windows shaded, and below it the windows'
 * scores (at each window's middle row) with the threshold as a dashed line; rows are
 * numbered from 0 below. Non-finite values and scores leave gaps. */
lt_status lt_plot_series(lt_ctx *ctx, const char *path, const lt_series_plot *p, int width, int height);

/* ------------------------------------------------------------------ analysis */

/* Principal component analysis: the top components of data centred by its mean. */
typedef struct lt_pca lt_pca;
/* Fits k components (1..dim) to n rows of dim floats: the eigenvectors of the dim x dim
 * covariance with the largest eigenvalues, from LAPACK's symmetric eigensolver (dsyevr,
 * through LAPACKE). LT_ERR_UNSUPPORTED in a build without LAPACKE. */
lt_status lt_pca_fit(lt_ctx *ctx, const float *x, size_t n, size_t dim, int k, lt_pca **out);
/* Projects n rows onto the components: codes is n x k. */
lt_status lt_pca_transform(lt_ctx *ctx, const lt_pca *p, const float *x, size_t n, float *codes);
/* Maps n codes (n x k) back to the data space: x is n x dim (mean + codes * components). */
lt_status lt_pca_inverse(lt_ctx *ctx, const lt_pca *p, const float *codes, size_t n, float *x);
/* Number of components. */
int lt_pca_components(const lt_pca *p);
/* Fraction of the data's total variance along component i (0..k-1). */
double lt_pca_explained(const lt_pca *p, int i);
/* Frees a PCA; NULL is allowed. */
void lt_pca_free(lt_pca *p);

/* t-SNE settings; zero fields take the noted defaults. */
typedef struct lt_tsne_opts {
    float perplexity;     /* effective neighbours (30)                           */
    int iterations;       /* gradient steps (1000)                               */
    float learning_rate;  /* (200)                                               */
    uint64_t seed;        /* initial layout from the Philox stream (0 is a seed)  */
} lt_tsne_opts;
/* t-SNE (van der Maaten & Hinton 2008) of n rows of dim floats to 2-D (xy: n x 2):
 * perplexity-calibrated gaussian affinities, Student-t in the map, early exaggeration 12
 * for the first 250 steps, momentum 0.5 then 0.8, gains. Exact O(n^2) gradients, so
 * meant for up to a few thousand points (4 <= n <= 20000; the perplexity at most n - 1). */
lt_status lt_tsne(lt_ctx *ctx, const float *x, size_t n, size_t dim, const lt_tsne_opts *o, float *xy);

/* Area under the ROC curve of scores (higher: more likely positive) against labels
 * (nonzero: positive), ties counted half; needs both classes present. */
lt_status lt_roc_auc(lt_ctx *ctx, const float *scores, const int32_t *positive, size_t n, double *auc);

/* ------------------------------------------------------------------ models */

/* Activations (Keras names). */
typedef enum lt_act {
    LT_LINEAR = 0, LT_RELU, LT_LEAKY_RELU, LT_ELU, LT_SIGMOID, LT_TANH, LT_SOFTMAX
} lt_act;

/* Losses (Keras names). */
typedef enum lt_loss {
    LT_LOSS_MSE = 0,          /* mean squared error                                  */
    LT_LOSS_BCE,              /* binary cross-entropy on probabilities               */
    LT_LOSS_BCE_LOGITS,       /* binary cross-entropy on logits (from_logits=True)    */
    LT_LOSS_CCE,              /* categorical cross-entropy on probabilities, one-hot  */
    LT_LOSS_MSE_SUM,          /* squared error summed over a sample, mean over samples */
    LT_LOSS_BCE_SUM           /* BCE summed over a sample, mean over samples (the VAE
                                 reconstruction term of Kingma & Welling)             */
} lt_loss;

/* Optimizer kinds. */
typedef enum lt_optim_kind { LT_SGD = 0, LT_RMSPROP, LT_ADAM } lt_optim_kind;

/* An optimizer's settings; lt_optimizer_defaults fills Keras's defaults. */
typedef struct lt_optimizer {
    lt_optim_kind kind; /* which rule                                          */
    float lr;           /* learning rate (SGD 0.01, RMSprop 0.001, Adam 0.001) */
    float momentum;     /* SGD and RMSprop (0)                                 */
    int nesterov;       /* SGD (0)                                             */
    float rho;          /* RMSprop (0.9)                                       */
    float beta1;        /* Adam (0.9)                                          */
    float beta2;        /* Adam (0.999)                                        */
    float epsilon;      /* RMSprop, Adam (1e-7)                                */
    float clipnorm;     /* > 0: scale each weight tensor's gradient to at most
                           this L2 norm, as Keras's clipnorm (0: off)            */
    float global_clipnorm; /* > 0: scale all gradients together to at most this
                              global L2 norm, as Keras's global_clipnorm (0: off;
                              not with clipnorm)                                 */
} lt_optimizer;

/* Keras's defaults for an optimizer kind. */
lt_optimizer lt_optimizer_defaults(lt_optim_kind kind);

/* A layer description, owned by the caller until lt_add takes it. */
typedef struct lt_layer lt_layer;
/* A sequential model: layers and nested models. */
typedef struct lt_model lt_model;

/* Fully connected layer: y = act(x W + b), Glorot-uniform W, zero b. */
lt_layer *lt_dense(int units, lt_act act);
/* Pointwise (or softmax) activation, Keras's Activation (leaky_relu's slope 0.2). */
lt_layer *lt_activation(lt_act act);
/* Keras's default slope of a LeakyReLU layer (its activation function's is 0.2). */
#define LT_LEAKY_RELU_SLOPE 0.3f
/* Keras's LeakyReLU layer: y = x for x > 0, else negative_slope * x (finite, >= 0). */
lt_layer *lt_leaky_relu(float negative_slope);
/* Inverted dropout with the given rate, active in training only. */
lt_layer *lt_dropout(float rate);
/* Additive zero-mean gaussian noise with the given stddev, in training only. */
lt_layer *lt_gaussian_noise(float stddev);
/* Padding of convolutions and pooling (Keras names). */
typedef enum lt_padding { LT_VALID = 0, LT_SAME } lt_padding;

/* Settings of a Conv2D or Conv2DTranspose; zero fields take Keras's defaults. */
typedef struct lt_conv_opts {
    int filters;                  /* output channels (required, >= 1)                   */
    int kernel_h, kernel_w;       /* kernel size (required, >= 1)                       */
    int stride_h, stride_w;       /* strides (1)                                        */
    int dilation_h, dilation_w;   /* dilation rate (1)                                  */
    lt_padding padding;           /* valid (default) or same                            */
    int output_padding;           /* transposed only: nonzero to use the two below      */
    int output_pad_h, output_pad_w; /* transposed only: extra rows/cols (< stride)      */
    lt_act act;                   /* activation (linear)                                */
} lt_conv_opts;

/* 2-D convolution over channels-last images; Glorot-uniform kernel (kh, kw, in, filters),
 * zero bias. */
lt_layer *lt_conv2d(const lt_conv_opts *o);
/* 2-D transposed convolution (Keras Conv2DTranspose): kernel (kh, kw, filters, in). */
lt_layer *lt_conv2d_transpose(const lt_conv_opts *o);
/* 2-D max pooling; stride 0 means the pool size (Keras's default). */
lt_layer *lt_maxpool2d(int pool_h, int pool_w, int stride_h, int stride_w, lt_padding padding);
/* 2-D up-sampling by integer factors, nearest (bilinear = 0) or bilinear. */
lt_layer *lt_upsampling2d(int size_h, int size_w, int bilinear);
/* Flattens a sample to one axis. */
lt_layer *lt_flatten(void);
/* Reshapes a sample to rank 1..3 dims (same number of elements). */
lt_layer *lt_reshape(int rank, const int *dims);
/* Adds the model's input to this layer's input (a global skip connection, so the
 * layers before it learn a residual); the shapes must be equal. */
lt_layer *lt_add_input(void);
/* The VAE's sampling layer: input [mean | log-variance] (2d, e.g. from lt_dense(2*d,
 * LT_LINEAR)), output z = mean + exp(logvar/2) * eps in training (eps ~ N(0,1), seeded),
 * mean at inference; adds beta (1: the ELBO) times the per-sample KL divergence to
 * N(0, 1) to the loss. */
lt_layer *lt_sampling(float beta);
/* Sparse-autoencoder penalty after a sigmoid layer: adds beta * sum_j KL(rho || rho_j),
 * rho_j the batch's mean activation of unit j, to the loss; identity otherwise. */
lt_layer *lt_sparsity(float rho, float beta);
/* L1 activity penalty (Keras's ActivityRegularization(l1=lambda)): adds lambda * sum
 * |a| per sample, averaged over the batch, to the loss; identity otherwise. */
lt_layer *lt_activity_l1(float lambda);

/* Recurrent cells, with Keras's formulas, gate orders and defaults (GRU with
 * reset_after, Keras 2's default). */
typedef enum lt_rnn_cell { LT_SIMPLE_RNN = 0, LT_LSTM, LT_GRU } lt_rnn_cell;
/* Recurrent layer flags (Keras's arguments of the same names). LT_RETURN_STATE makes
 * the output the final state: h (units), or [h | c] (2 units) for LSTM, the tensors
 * Keras's return_state adds after the output. A sequential model passes one tensor, so
 * it does not go with LT_RETURN_SEQUENCES (whose sequence would be a second one). */
enum { LT_RETURN_SEQUENCES = 1, LT_GO_BACKWARDS = 2, LT_RETURN_STATE = 4 };
/* A recurrent layer over (steps, features): SimpleRNN h = act(x W + h R + b), LSTM or
 * GRU with act as the candidate activation (Keras: LT_TANH) and sigmoid gates. Output
 * (units) from the last step, (steps, units) with LT_RETURN_SEQUENCES, or the state
 * (units; LSTM 2 units) with LT_RETURN_STATE. Glorot-uniform W, orthogonal R, zero bias
 * (LSTM's forget gate 1). NULL when a setting is out of range. */
lt_layer *lt_rnn(lt_rnn_cell cell, int units, lt_act act, unsigned flags);
/* A recurrent layer whose input is its initial state (Keras's initial_state): h
 * (units), or [h | c] (2 units) for LSTM, as LT_RETURN_STATE gives it. It runs `steps`
 * (1 to 2^20) steps with no input features: no input kernel, its parameters are R and
 * b. flags: LT_RETURN_SEQUENCES or LT_RETURN_STATE (LT_GO_BACKWARDS, with no input
 * steps to reverse, gives NULL). For one-to-many generation from a vector and for
 * decoders started from an encoder's final state. */
lt_layer *lt_rnn_from_state(lt_rnn_cell cell, int units, lt_act act, unsigned flags, int steps);
/* How Bidirectional joins its two directions (Keras's merge_mode). */
typedef enum lt_merge { LT_MERGE_CONCAT = 0, LT_MERGE_SUM, LT_MERGE_AVE, LT_MERGE_MUL } lt_merge;
/* Bidirectional(rnn): a forward and a backward copy of lt_rnn(cell, units, act, flags),
 * the backward one's outputs realigned with the input's time, merged. flags may hold
 * LT_RETURN_SEQUENCES only; NULL otherwise. */
lt_layer *lt_bidirectional(lt_rnn_cell cell, int units, lt_act act, unsigned flags, lt_merge merge);
/* RepeatVector(n): (features) -> (n, features). */
lt_layer *lt_repeat_vector(int n);
/* TimeDistributed(inner): applies inner (a Dense layer) to every step of (steps,
 * features); takes ownership of inner, also on failure. */
lt_layer *lt_time_distributed(lt_layer *inner);

/* Sets a leaky_relu slope or elu alpha on a dense, convolution or activation layer
 * (Keras: 0.2 and 1.0; a LeakyReLU layer's 0.3); LT_ERR_ARG unless alpha is finite and > 0. */
lt_status lt_layer_set_alpha(lt_layer *layer, float alpha);
/* Keras's use_bias: 0 leaves the bias of a Dense, Conv2D or Conv2DTranspose layer out
 * (y = act(x W)); before the model is built. LT_ERR_ARG for another type, or once built. */
lt_status lt_layer_set_use_bias(lt_layer *layer, int use_bias);
/* Frees a layer not (yet) added to a model. */
void lt_layer_free(lt_layer *layer);

/* A new empty sequential model named name (NULL: "sequential_N" style). */
lt_status lt_sequential(lt_ctx *ctx, const char *name, lt_model **out);
/* Appends a layer; the model takes it (also on failure, except a layer already in a
 * model, which is refused and stays where it is). */
lt_status lt_add(lt_model *m, lt_layer *layer);
/* Appends a nested model, as Sequential([enc, dec]); the outer model takes it, and
 * the inner handle stays usable (it shares the outer model's parameters) until the
 * outer model is freed. */
lt_status lt_add_model(lt_model *m, lt_model *inner);
/* Sets the input width, infers shapes, and allocates and initialises all parameters
 * in one device buffer (Glorot uniform from seed). Done once, on the outermost model. */
lt_status lt_build(lt_model *m, int input_dim, uint64_t seed);
/* lt_build for an input of rank 1 to 3 (Keras's input_shape, e.g. {28, 28, 1} for
 * channels-last images). */
lt_status lt_build_shape(lt_model *m, int rank, const int *dims, uint64_t seed);
/* Per-sample input and output shapes: fill dims (3 ints), return the rank (0 before build). */
int lt_input_shape(const lt_model *m, int dims[3]);
int lt_output_shape(const lt_model *m, int dims[3]);
/* Chooses the loss and optimizer for training. */
lt_status lt_compile(lt_model *m, lt_loss loss, const lt_optimizer *opt);
/* The loss chosen by lt_compile (or read from a model file); LT_LOSS_MSE before. */
lt_loss lt_model_loss(const lt_model *m);
/* Prints a Keras-style summary (layers, output shapes, parameter counts). */
lt_status lt_summary(const lt_model *m, FILE *f);
/* Total parameter count. */
size_t lt_param_count(const lt_model *m);
/* Input and output widths (0 before build). */
int lt_input_dim(const lt_model *m);
int lt_output_dim(const lt_model *m);
/* Model name. */
const char *lt_model_name(const lt_model *m);
/* Number of nested models, and the i-th (for an autoencoder: 0 encoder, 1 decoder). */
int lt_submodel_count(const lt_model *m);
lt_model *lt_submodel(lt_model *m, int i);
/* How many layers of Keras type `type` ("Sampling", "Dense", ...) the model holds,
 * nested models included. */
int lt_model_layer_count(const lt_model *m, const char *type);
/* Notes: short key=value text saved with the model in its file, so a program can
 * record how it was trained (a task, a noise level, its data's preprocessing) and
 * apply the same when it loads the model. Keys are 1-63 of [A-Za-z0-9_.-]; values at
 * most 16000 bytes with no control characters; at most 64 notes. A NULL value removes
 * the key. */
lt_status lt_model_set_meta(lt_model *m, const char *key, const char *value);
/* The note under key, or NULL; valid until the note is changed or the model freed. */
const char *lt_model_meta(const lt_model *m, const char *key);
/* How many notes the model holds, and the key of the i-th (NULL out of range). */
int lt_model_meta_count(const lt_model *m);
const char *lt_model_meta_key(const lt_model *m, int i);
/* 1 when layers of the model add terms to its loss (a VAE's KL, sparsity, L1), so
 * the loss it reports is more than its loss function's value; else 0. */
int lt_model_has_penalties(const lt_model *m);
/* Frees an outermost model and everything it holds. */
void lt_model_free(lt_model *m);

/* On-the-fly image augmentation, as Keras's ImageDataGenerator: a random affine map
 * per sample and epoch (rotation, shear, zoom, shift about the image centre, bilinear,
 * edges replicated as fill_mode='nearest'), then flips. Zero fields are off. */
typedef struct lt_augment {
    float rotation_range;     /* degrees: angle uniform in [-r, r]                 */
    float zoom_range;         /* zoom per axis uniform in [1-z, 1+z]               */
    float shear_range;        /* degrees: shear angle uniform in [-s, s]           */
    float width_shift_range;  /* fraction of the width: shift uniform in [-f, f]   */
    float height_shift_range; /* fraction of the height                            */
    int horizontal_flip;      /* flip left-right with probability 1/2              */
    int vertical_flip;        /* flip up-down with probability 1/2                 */
} lt_augment;
/* Checks an augmentation's ranges (rotation 0-360 degrees, zoom below 1, shear below 90
 * degrees, shifts 0-1); LT_ERR_ARG naming the field out of range. */
lt_status lt_augment_check(lt_ctx *ctx, const lt_augment *a);

/* Where a training run stands: what lt_fit's poll gets after every step, and what
 * lt_model_progress reads from a model (a model file keeps it with the optimizer state). */
typedef struct lt_fit_point {
    int epoch;        /* poll: the run's epoch under way (1 = its first); lt_model_progress:
                         the run's epochs completed                                     */
    int epochs;       /* the run's epochs in all                                        */
    size_t step;      /* steps of that epoch (poll) or of the next (progress) taken; poll
                         gets step == steps once the epoch's validation is done too      */
    size_t steps;     /* steps per epoch                                                */
    int early_stopped; /* progress: the run ended by early stopping                     */
} lt_fit_point;

/* What a poll returns: bits asking lt_fit to call the checkpoint function and/or to stop
 * after this step (0: go on). */
enum { LT_FIT_CHECKPOINT = 1, LT_FIT_STOP = 2 };

/* Training options; zero-initialised fields take the noted defaults. */
typedef struct lt_fit_opts {
    int epochs;               /* passes over the data (1)                            */
    int batch;                /* samples per step (32, Keras's default)              */
    int shuffle;              /* 0: shuffle each epoch (default); -1: no shuffling   */
    float validation_split;   /* last fraction held out for validation (0)           */
    int patience;             /* early stopping on val loss (or loss) after this many
                                 epochs without improvement; 0: off                  */
    float min_delta;          /* improvement needed to reset patience (0)            */
    int restore_best;         /* with early stopping, restore the best weights       */
    uint64_t seed;            /* shuffle, dropout and noise seed (0 is a valid seed)  */
    int verbose;              /* 0: auto (bar on a terminal, lines otherwise),
                                 1: lines, 2: bar, -1: quiet                          */
    FILE *log;                /* where progress goes (stderr)                        */
    float noise;              /* stddev of gaussian noise added to the training (and
                                 validation) inputs while targets stay clean: a
                                 denoising autoencoder (0: none)                      */
    const lt_augment *augment; /* per-batch augmentation of image inputs (NULL: none);
                                 targets get the same transform                      */
    float kl_warmup;          /* VAE KL warm-up: the KL weight rises linearly from 0 to
                                 its beta over this many epochs (0: off); validation
                                 always uses the full weight                         */
    int resume;               /* nonzero: go on with the run the model records (a model
                                 that lt_fit trained and lt_save saved with its optimizer
                                 state): an epoch stopped midway goes on from its next
                                 step, and `epochs` counts the run's epochs in all, so a
                                 finished run is extended by a larger count. The data and
                                 every option above must be those the run began with, else
                                 LT_ERR_ARG naming the first that differs. Zero: a new
                                 run of `epochs` epochs                               */
    int (*poll)(void *user, const lt_fit_point *where); /* called after every step (NULL:
                                 never); returns LT_FIT_CHECKPOINT and/or LT_FIT_STOP    */
    lt_status (*checkpoint)(lt_model *m, void *user); /* called when poll asks: m then
                                 holds its weights, optimizer state and the run's
                                 progress, so lt_save(m, path, 1) writes a model that
                                 lt_fit with resume finishes exactly as this run would  */
    void *user;               /* passed to poll and checkpoint                       */
    const lt_comm *comm;      /* train together with these processes (NULL: alone).
                                 Every process calls lt_fit with the same model
                                 (built from the same seed), data and options; rank
                                 0's weights and optimizer state are copied to all
                                 first; each step every process runs its slice of the
                                 global batch `batch` and the gradients are summed, so
                                 all end with the weights one process would reach (to
                                 float rounding). An error on one process (a NaN, no
                                 memory) ends lt_fit on all, naming the rank; ranks
                                 whose data differ are an error. poll's answers are
                                 combined (any rank asking counts), and checkpoint is
                                 called on every rank (save on rank 0 alone)        */
} lt_fit_opts;

/* What training did. */
typedef struct lt_history {
    int epochs_run;           /* epochs completed                       */
    float loss;               /* last epoch's training loss             */
    float val_loss;           /* last epoch's validation loss, or NaN   */
    float best_val_loss;      /* best validation loss seen, or NaN      */
    double seconds;           /* wall time                              */
    double samples_per_s;     /* training throughput                    */
    int stopped;              /* 1 when poll stopped training early     */
} lt_history;

/* Trains on x against y (y == NULL: against x, for autoencoders). hist may be NULL.
 * A loss that turns non-finite stops training with LT_ERR_NONFINITE and a message
 * naming the epoch and step. All randomness (shuffles, noise, augmentation, dropout,
 * sampling) is drawn by the seed and the model's epoch and step counts, so a run
 * stopped, saved and resumed gives the weights the run would have given uninterrupted. */
lt_status lt_fit(lt_model *m, const lt_dataset *x, const lt_dataset *y,
                 const lt_fit_opts *opts, lt_history *hist);
/* Where the model's last training run stands (see lt_fit_point); LT_ERR_ARG when the
 * model records no run (never trained, or loaded from a file saved without its
 * optimizer state). */
lt_status lt_model_progress(const lt_model *m, lt_fit_point *where);
/* Greedy layer-wise pretraining (Bengio et al. 2007) of a built stack of Dense layers
 * (Dropout and GaussianNoise between them are skipped): each Dense layer in turn is
 * trained as the encoder of a shallow autoencoder (it, then a linear Dense back to its
 * input width; MSE, optimizer opt, fit settings fo) on the codes the layers before it
 * give for x, and keeps the weights it learnt. x needs no labels. With fo->noise > 0
 * each layer learns to undo noise on its input (stacked denoising autoencoders). */
lt_status lt_pretrain_layerwise(lt_model *stack, const lt_dataset *x, const lt_optimizer *opt, const lt_fit_opts *fo);
/* Mean loss over a dataset (y == NULL: against x). */
lt_status lt_evaluate(lt_model *m, const lt_dataset *x, const lt_dataset *y, float *loss);
/* lt_evaluate with the processes of comm sharing the work (NULL: alone): every one
 * calls it with the same model and data, evaluates its share of the samples, and gets
 * the mean over all of them (the very figure one process computes). */
lt_status lt_evaluate_comm(lt_model *m, const lt_dataset *x, const lt_dataset *y, const lt_comm *comm, float *loss);
/* Runs the model (inference mode) on n rows of x, writing n x output_dim floats. */
lt_status lt_predict(lt_model *m, const float *x, size_t n, float *out);
/* Runs an image-to-image model (input and output both h x w x c) on an image of any
 * size ih x iw x c, writing ih x iw x c floats: overlapping tiles half a tile apart,
 * blended with weights that fall off toward tile borders; an image smaller than a tile
 * is padded by repeating its edges. A channel count other than the model's, or a model
 * that is not image-to-image, is LT_ERR_SHAPE. */
lt_status lt_predict_image(lt_model *m, const float *img, int ih, int iw, int c, float *out);
/* Times training steps at a batch size on synthetic data for at least `seconds`,
 * after a warm-up; reports samples per second. It really trains m (on random data):
 * benchmark a throwaway model. */
lt_status lt_bench_train(lt_model *m, int batch, double seconds, double *samples_per_s);
/* What a training benchmark measured. */
typedef struct lt_bench_stats {
    double samples_per_s;  /* training samples a second, of all processes together     */
    double step_ms;        /* wall time of a step                                       */
    double comm_share;     /* of that, the share spent summing gradients over the
                              processes (waiting for the slowest included); 0 alone     */
    double bytes_per_step; /* bytes each process puts into the sums of a step; 0 alone */
} lt_bench_stats;
/* lt_bench_train with the processes of comm training together (NULL: alone), every one
 * calling it with the same model and batch (the global batch, split among them). */
lt_status lt_bench_train_comm(lt_model *m, int batch, double seconds, const lt_comm *comm, lt_bench_stats *stats);
/* Prediction throughput: lt_predict on batches of synthetic host data in [0,1) (upload,
 * forward pass, download) for about seconds after a warm-up; samples per second. */
lt_status lt_bench_predict(lt_model *m, int batch, double seconds, double *samples_per_s);

/* Saves architecture, weights and (with_optimizer) optimizer state, atomically:
 * a temporary file is written, synced and renamed over path. */
lt_status lt_save(lt_model *m, const char *path, int with_optimizer);
/* Loads a model file (checked: magic, version, sizes, CRC32 of every section). */
lt_status lt_load(lt_ctx *ctx, const char *path, lt_model **out);
/* Copies the note `key` of the model file at path into value (size bytes) without a
 * context or a device: only the file's section headers and its notes are read (their
 * CRC32 checked). 1 when found, 0 when the file has no such note, -1 when it cannot be
 * read as a model file (lt_load says why) or the value needs more than size bytes. */
int lt_file_meta(const char *path, const char *key, char *value, size_t size);
/* 1 when path is a readable file that starts as a latent model file does (its magic),
 * else 0: lets a program refuse to write a picture or table over a model. */
int lt_file_is_model(const char *path);

/* ------------------------------------------------------------------ other frameworks */

/* What lt_import reads; LT_FORMAT_AUTO finds it from the file's first bytes. */
typedef enum lt_format {
    LT_FORMAT_AUTO = 0,
    LT_FORMAT_KERAS,       /* Keras 3 .keras: a zip of config.json and model.weights.h5 */
    LT_FORMAT_KERAS_H5,    /* legacy Keras .h5: model_config and model_weights         */
    LT_FORMAT_SAFETENSORS  /* a PyTorch state_dict saved by safetensors                 */
} lt_format;

/* Settings of lt_import; zero (or NULL) fields take the defaults. */
typedef struct lt_import_opts {
    lt_format format;       /* LT_FORMAT_AUTO (default) or the one to insist on          */
    const char *arch;       /* safetensors: the architecture (as lt_arch_build) whose
                             * torch.nn equivalent saved the weights (required there)   */
    int input_rank;         /* safetensors: the per-sample input shape (rank 1-3, as     */
    int input_dims[3];      /* lt_arch_build_shape takes it; required there)            */
    uint64_t seed;          /* seed for the layers' random draws in training (default 1) */
} lt_import_opts;

/* 1 when this build can import and export (libhdf5, libzip and Jansson were found). */
int lt_have_import(void);
/* Reads a model from another framework's file into a new, built model on ctx (the
 * optimizer starts fresh, as Keras's compile would). Keras files bring their
 * architecture; a safetensors file holds weights only, for opts->arch. A layer,
 * option or tensor latent cannot take is an error that names it, never a silently
 * different model. Every file is untrusted: sizes and offsets are checked first. */
lt_status lt_import(lt_ctx *ctx, const char *path, const lt_import_opts *opts, lt_model **out);
/* Writes a built model as a Keras 3 .keras file (atomically: a temporary file renamed
 * over path) that keras.models.load_model reads: a Sequential model, nested models as
 * nested Sequentials, a Sampling layer as the custom class the README shows. A layer
 * Keras cannot express (Sparsity, the input-adding Add, a recurrent layer's state) is
 * an error that names it, and no file is written. */
lt_status lt_export_keras(lt_model *m, const char *path);

/* ------------------------------------------------------------------ architectures */

/* Builds a named architecture ("swissroll-ae", "swissroll-deep-ae", "mlp-ae",
 * "conv-ae", "conv-ae64", "denoise-rgb", "denoise-res", "sr2x", "vae", "conv-vae") or a
 * spec such as
 * "dense:64:elu,dense:32:elu|dense:64:elu,dense:784:sigmoid" ('|' splits encoder from
 * decoder; tokens: dense:UNITS[:ACT], act:NAME, dropout:R, noise:S,
 * conv:FILTERS:KHxKW[:ACT][:sN][:dN][:same], deconv:... (also :opN), maxpool:PHxPW[:sN][:same],
 * upsample:FHxFW[:bilinear], flatten, reshape:AxBxC, addinput, sampling[:BETA],
 * sparsity:RHO:BETA, l1:LAMBDA; FILTERS "c" is the
 * input's channel count), for input_dim inputs, built with the seed. */
lt_status lt_arch_build(lt_ctx *ctx, const char *arch, int input_dim, uint64_t seed, lt_model **out);
/* The same for a per-sample input shape (rank 1..3, e.g. {28, 28, 1}); an architecture
 * whose first layer is dense gets the shape flattened, as a Keras user would write it. */
lt_status lt_arch_build_shape(lt_ctx *ctx, const char *arch, int rank, const int *dims, uint64_t seed,
                              lt_model **out);
/* Names of the built-in architectures, NULL-terminated. */
const char *const *lt_arch_names(void);
/* Parses an activation name ("elu", ...); returns 0 and sets *act, or -1. */
int lt_act_parse(const char *name, lt_act *act);
/* Activation name. */
const char *lt_act_name(lt_act act);

#ifdef __cplusplus
}
#endif
#endif
