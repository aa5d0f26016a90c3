/* The backend contract: the types every op takes and the vtable that the CPU fallback
 * (cpu_fallback/) and OpenCL (cl_kernels/) implement. This folder, lib/backend/, is the
 * floor between model code and the backends: it includes nothing of lib/ but latent.h
 * (for lt_status), and the backends include nothing above it. Internal: never installed.
 *
 * Model code never calls a slot directly: it goes through the front door (dispatch.h),
 * whose lt_be_* calls check every operand once (backend_check.c) and then dispatch, so
 * a backend trusts the operands it is handed and never calls back up.
 *
 * Conventions every op follows:
 * - Every buffer holds 4-byte elements (float32, or uint32 for index buffers); sizes and
 *   offsets count elements, never bytes. A buffer is an opaque handle (a cl_mem on
 *   OpenCL, never a fake host pointer); an operand is (buffer, element offset).
 * - Matrices are row-major. A matrix operand with leading dimension ld has element
 *   (r, c) at offset + r*ld + c.
 * - Ops are asynchronous and in order: only download() and finish() wait for the whole
 *   queue; upload() may block until its own copy is done (the caller may reuse its
 *   host memory when it returns). No op reads back to the host (no clFinish per op).
 * - A range outside a buffer, or an otherwise bad size, is LT_ERR_ARG (refused by the
 *   front door). With n == 0 an op does nothing (reductions still write 0), and its
 *   buffers may be NULL.
 * - One backend is used from one thread at a time; separate backends are independent.
 * - Every op returns LT_OK or an error status and, on error, writes a message with
 *   lt_backend_set_error(); it never exits or asserts on sizes a caller controls.
 * - Outputs may alias inputs only where an op says so.
 */
#ifndef LT_BACKEND_H
#define LT_BACKEND_H

#include <stddef.h>
#include <stdint.h>
#include "../latent.h" /* lt_status, and nothing else of it */

typedef struct lt_backend lt_backend;
typedef struct lt_buf lt_buf; /* opaque; each backend defines it */

/* What an activation op computes, pointwise unless softmax (row-wise). */
typedef enum lt_backend_act {
    LT_BACT_LINEAR = 0,
    LT_BACT_RELU,
    LT_BACT_LEAKY_RELU, /* x > 0 ? x : alpha*x   (Keras default alpha 0.3)       */
    LT_BACT_ELU,        /* x > 0 ? x : alpha*(exp(x)-1)  (Keras default alpha 1.0) */
    LT_BACT_SIGMOID,
    LT_BACT_TANH,
    LT_BACT_SOFTMAX     /* over each row of cols elements, max-subtracted */
} lt_backend_act;

/* Loss functions; value and gradient come from one call. */
typedef enum lt_backend_loss {
    LT_BLOSS_MSE = 0,       /* per element (p - t)^2                                   */
    LT_BLOSS_BCE_LOGITS,    /* p are logits: max(p,0) - p*t + log(1 + exp(-|p|))        */
    LT_BLOSS_BCE_PROBS,     /* p are probabilities clipped to [eps, 1-eps], eps = 1e-7:
                               -(t*log(p) + (1-t)*log(1-p)). The gradient is the
                               unclipped loss's, (p - t) / max(p(1-p), 1e-12), for p in
                               [0, 1] (0 outside): after a sigmoid it becomes exactly
                               the logit gradient p - t, as Keras gets by computing BCE
                               from a sigmoid's logits, so saturated wrong outputs still
                               learn (a clip's zero gradient would freeze them)          */
    LT_BLOSS_CCE_PROBS      /* p rows are probabilities clipped to [eps, 1-eps]:
                               per element -t*log(p); rows are not renormalised         */
} lt_backend_loss;

/* Optimizers with Keras's update rules (tf.keras optimizer v2). */
typedef enum lt_backend_optim {
    LT_BOPT_SGD = 0,  /* state: velocity[n] (used when momentum != 0).
                         v = momentum*v - lr*g; p += nesterov ? momentum*v - lr*g : v;
                         with momentum == 0: p -= lr*g                               */
    LT_BOPT_RMSPROP,  /* state: ms[n], then mom[n] when momentum != 0 (Keras's rule):
                         ms = rho*ms + (1-rho)*g^2; u = lr*g/sqrt(ms+eps);
                         with momentum: mom = momentum*mom + u; p -= mom; else p -= u */
    LT_BOPT_ADAM      /* state: m[n] then v[n]. m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
                         p -= lr_t*m/(sqrt(v)+eps), with lr_t passed in hyper.lr already
                         bias-corrected by the host: lr*sqrt(1-b2^t)/(1-b1^t)          */
} lt_backend_optim;

/* Hyper-parameters of one optimizer step; fields not used by the kind are ignored. */
typedef struct lt_backend_optim_hyper {
    float lr;       /* learning rate (Adam: already bias-corrected lr_t)   */
    float momentum; /* SGD momentum                                        */
    int nesterov;   /* SGD: Nesterov momentum when nonzero                 */
    float rho;      /* RMSprop decay                                       */
    float beta1;    /* Adam first-moment decay                             */
    float beta2;    /* Adam second-moment decay                            */
    float epsilon;  /* RMSprop and Adam                                    */
} lt_backend_optim_hyper;

/* Moments of optimizer state kept per parameter: SGD and RMSprop keep a momentum only
 * when it is used (h->momentum != 0), Adam keeps m and v. */
static inline size_t lt_optim_step_moments(lt_backend_optim kind, const lt_backend_optim_hyper *h)
{
    size_t mom = h->momentum != 0.0f;
    return kind == LT_BOPT_ADAM ? 2 : kind == LT_BOPT_RMSPROP ? 1 + mom : mom;
}

/* Geometry of one 2-D convolution over a batch of channels-last (NHWC) images:
 *   y[n, oy, ox, f] = sum over ky, kx, c of
 *       x[n, oy*stride_h - pad_top + ky*dil_h, ox*stride_w - pad_left + kx*dil_w, c]
 *       * w[ky, kx, c, f]
 * with x taken as 0 outside the image. w is laid out (k_h, k_w, in_c, out_c), Keras's
 * Conv2D kernel shape. The caller computes out_h, out_w (and so the padding mode); the
 * ops trust nothing else: every size must be >= 1 and pads >= 0. Conv2DTranspose is the
 * same geometry read backwards: its forward pass is conv2d_backward_data, its backward
 * pass conv2d_forward, its kernel gradient conv2d_backward_filter with x and dy swapped
 * (Keras's Conv2DTranspose kernel (k_h, k_w, filters, in_channels) is exactly w here). */
typedef struct lt_conv_geom {
    int batch;                  /* images                                  */
    int in_h, in_w, in_c;       /* input image                             */
    int out_h, out_w, out_c;    /* output image                            */
    int k_h, k_w;               /* kernel                                  */
    int stride_h, stride_w;     /* >= 1                                    */
    int dil_h, dil_w;           /* dilation, >= 1                          */
    int pad_top, pad_left;      /* zero padding before the first row/col   */
} lt_conv_geom;

/* Geometry of 2-D max pooling or up-sampling over NHWC images (channels untouched). */
typedef struct lt_pool_geom {
    int batch, in_h, in_w, c;   /* input                                   */
    int out_h, out_w;           /* output                                  */
    int k_h, k_w;               /* pool window, or up-sampling factors     */
    int stride_h, stride_w;     /* pooling strides (>= 1)                  */
    int pad_top, pad_left;      /* pooling padding ('same'); padded cells never win */
} lt_pool_geom;

/* Up-sampling interpolation. */
typedef enum lt_backend_interp {
    LT_INTERP_NEAREST = 0,  /* y[oy, ox] = x[oy / k_h, ox / k_w]                              */
    LT_INTERP_BILINEAR      /* half-pixel centres, as Keras/TF resize with align_corners=False:
                               source coordinate s = (o + 0.5) / k - 0.5, clamped to [0, in-1] */
} lt_backend_interp;

/* Recurrent cells, with Keras's gate orders and formulas; gates use the sigmoid
 * (Keras's recurrent_activation default), `act` is the candidate's activation (and, for
 * LSTM, the cell output's), tanh by default. With a = xw + h_prev R (+ rbias), where xw
 * is the step's input projection x W + b already computed by the caller:
 *   SIMPLE: h = act(a)                                         gates G = U
 *   LSTM:   a = [i | f | c | o]; i, f, o = sigmoid, g = act(a_c);
 *           c = f c_prev + i g; h = o act(c)                   gates G = 4U
 *   GRU:    (reset_after, Keras's default) a split as [z | r | n] with the recurrent
 *           product rec = h_prev R + rbias kept apart: z = sigmoid(xw_z + rec_z),
 *           r = sigmoid(xw_r + rec_r), n = act(xw_n + r rec_n); h = z h_prev + (1-z) n
 *                                                              gates G = 3U
 * A step writes a record per row that the backward pass reads back:
 *   SIMPLE [h]   LSTM [h | c | i | f | g | o]   GRU [h | z | r | n | rec_n]
 * and the backward pass writes the gradient of the loss with respect to the gates'
 * pre-activations per row ("dz", D wide):
 *   SIMPLE [a] (D = U)   LSTM [i | f | c | o] (D = 4U)
 *   GRU [z | r | rec_n | xw_n] (D = 4U: the first 3U are the recurrent product's
 *   gradient, z, r and the last U the input projection's) */
typedef enum lt_backend_cell {
    LT_CELL_SIMPLE = 0,
    LT_CELL_LSTM,
    LT_CELL_GRU
} lt_backend_cell;

/* Shape of a recurrent sequence over a batch. */
typedef struct lt_rnn_geom {
    lt_backend_cell cell; /* which cell                                        */
    lt_backend_act act;   /* candidate activation (not softmax)                */
    float alpha;          /* its leaky_relu slope or elu alpha                 */
    size_t batch;         /* rows                                              */
    size_t units;         /* U                                                 */
    size_t steps;         /* T >= 1 time steps, taken in one call              */
    int zero_state;       /* rnn_forward: the initial state is zero, and slot 0
                             of rec is written as a zero record, not read      */
    int zero_carry;       /* rnn_backward: the incoming carry is zero; carry is
                             written, not read                                 */
} lt_rnn_geom;

/* Where a recurrent sequence's outputs go (rnn_forward) or their gradients come from
 * (rnn_backward), in the caller's (batch, steps, width) tensor: step k of batch row b at
 * off + b*s_row + k*s_step (s_step < 0 for a direction that runs backwards in time, off
 * then at its first step), width floats each: h, or for an LSTM's returned state the
 * record's [h | c] (2U). steps = g->steps: every step; 1: only the last, at off + b*s_row. */
typedef struct lt_rnn_seq {
    lt_buf *buf;             /* the tensor                         */
    size_t off;              /* element of the first step of row 0 */
    ptrdiff_t s_row, s_step; /* strides in elements                */
    size_t steps;            /* g->steps or 1                      */
    size_t width;            /* U, or 2U for an LSTM's [h | c]     */
} lt_rnn_seq;

/* Gates G, record width S and dz width D of a cell, in multiples of U. */
static inline size_t lt_cell_gates(lt_backend_cell c) { return c == LT_CELL_LSTM ? 4 : c == LT_CELL_GRU ? 3 : 1; }
static inline size_t lt_cell_record(lt_backend_cell c) { return c == LT_CELL_LSTM ? 6 : c == LT_CELL_GRU ? 5 : 1; }
static inline size_t lt_cell_dz(lt_backend_cell c) { return c == LT_CELL_SIMPLE ? 1 : 4; }

/* Row widths of a recurrent sequence, in elements: units U, gates G, record S, dz D. */
typedef struct lt_rnn_widths {
    size_t u, g, s, d;
} lt_rnn_widths;

/* The widths of g's cell (the front door has checked g). */
static inline lt_rnn_widths lt_rnn_widths_of(const lt_rnn_geom *g)
{
    lt_rnn_widths w = {g->units, lt_cell_gates(g->cell) * g->units, lt_cell_record(g->cell) * g->units,
                       lt_cell_dz(g->cell) * g->units};
    return w;
}

/* Element counts of a convolution geometry. */
typedef struct lt_conv_sizes {
    size_t nx, ny, nw; /* elements of x (dx), y (dy) and w (dw)                  */
    size_t rows;       /* output pixels batch*out_h*out_w: im2col rows           */
    size_t kcols;      /* k_h*k_w*in_c: im2col columns (at most SIZE_MAX / 4)    */
    int pointwise;     /* 1x1, stride 1, unpadded, out == in: x is its own im2col */
} lt_conv_sizes;

/* The counts of g, which the front door has checked fit size_t. */
static inline lt_conv_sizes lt_conv_sizes_of(const lt_conv_geom *g)
{
    lt_conv_sizes s;
    s.nx = (size_t)g->batch * (size_t)g->in_h * (size_t)g->in_w * (size_t)g->in_c;
    s.ny = (size_t)g->batch * (size_t)g->out_h * (size_t)g->out_w * (size_t)g->out_c;
    s.nw = (size_t)g->k_h * (size_t)g->k_w * (size_t)g->in_c * (size_t)g->out_c;
    s.rows = (size_t)g->batch * (size_t)g->out_h * (size_t)g->out_w;
    s.kcols = (size_t)g->k_h * (size_t)g->k_w * (size_t)g->in_c;
    s.pointwise = g->k_h == 1 && g->k_w == 1 && g->stride_h == 1 && g->stride_w == 1 && g->pad_top == 0 &&
                  g->pad_left == 0 && g->out_h == g->in_h && g->out_w == g->in_w;
    return s;
}

/* Element counts of a pooling or up-sampling geometry. */
typedef struct lt_pool_sizes {
    size_t nx, ny; /* elements of the input and of the output */
    size_t img;    /* in_h*in_w*c: one input image            */
} lt_pool_sizes;

/* The counts of g, which the front door has checked fit size_t. */
static inline lt_pool_sizes lt_pool_sizes_of(const lt_pool_geom *g)
{
    lt_pool_sizes s;
    s.img = (size_t)g->in_h * (size_t)g->in_w * (size_t)g->c;
    s.nx = (size_t)g->batch * s.img;
    s.ny = (size_t)g->batch * (size_t)g->out_h * (size_t)g->out_w * (size_t)g->c;
    return s;
}

/* The vtable. Every slot is required unless marked optional; backends fill them all. */
typedef struct lt_backend_ops {
    const char *name; /* "cpu" or "opencl"; prefixes every message the backend writes */

    /* Releases the backend and everything it holds (buffers must be freed before). */
    void (*destroy)(lt_backend *be);

    /* --- buffers --- */
    /* Allocates n elements (contents undefined). Out of memory -> LT_ERR_NOMEM. */
    lt_status (*buf_alloc)(lt_backend *be, size_t n, lt_buf **out);
    /* Frees a buffer; NULL is allowed. */
    void (*buf_free)(lt_backend *be, lt_buf *buf);
    /* Elements buf was allocated with, for the front door's range checks. */
    size_t (*buf_elems)(const lt_buf *buf);
    /* Copies n elements from host src into buf[off..off+n). */
    lt_status (*upload)(lt_backend *be, lt_buf *buf, size_t off, const void *src, size_t n);
    /* Waits for all queued work, then copies buf[off..off+n) to host dst. */
    lt_status (*download)(lt_backend *be, const lt_buf *buf, size_t off, void *dst, size_t n);
    /* dst[doff..doff+n) = src[soff..soff+n); the ranges must not overlap. */
    lt_status (*copy)(lt_backend *be, const lt_buf *src, size_t soff, lt_buf *dst, size_t doff, size_t n);
    /* buf[off..off+n) = value (as float). */
    lt_status (*fill)(lt_backend *be, lt_buf *buf, size_t off, size_t n, float value);
    /* Waits until all queued work is done. */
    lt_status (*finish)(lt_backend *be);

    /* --- linear algebra --- */
    /* C = alpha * op(A) * op(B) + beta * C, row-major; op(A) is m x k, op(B) is k x n.
     * trans_a: A is stored k x m (lda >= m) and transposed; else stored m x k (lda >= k).
     * With beta == 0, C is overwritten (its old contents, even NaN, are ignored). */
    lt_status (*gemm)(lt_backend *be, int trans_a, int trans_b, size_t m, size_t n, size_t k,
                      float alpha, const lt_buf *a, size_t aoff, size_t lda,
                      const lt_buf *b, size_t boff, size_t ldb,
                      float beta, lt_buf *c, size_t coff, size_t ldc);
    /* y[i] = alpha*x[i] + beta*y[i] for i < n (beta == 0 overwrites y). */
    lt_status (*axpby)(lt_backend *be, size_t n, float alpha, const lt_buf *x, size_t xoff,
                       float beta, lt_buf *y, size_t yoff);
    /* z[i] = x[i] * y[i]; z may alias x or y. */
    lt_status (*mul)(lt_backend *be, size_t n, const lt_buf *x, size_t xoff,
                     const lt_buf *y, size_t yoff, lt_buf *z, size_t zoff);
    /* out[ooff] = sum of x[xoff..xoff+n) (one float; a deterministic reduction order). */
    lt_status (*sum)(lt_backend *be, size_t n, const lt_buf *x, size_t xoff, lt_buf *out, size_t ooff);

    /* --- layers --- */
    /* y = act(x + bias) on a rows x cols matrix (contiguous, ld = cols); bias (cols
     * elements) may be NULL for no bias; y may alias x. alpha is leaky_relu's slope or
     * elu's alpha. */
    lt_status (*bias_act_forward)(lt_backend *be, size_t rows, size_t cols,
                                  const lt_buf *x, size_t xoff, const lt_buf *bias, size_t boff,
                                  lt_backend_act act, float alpha, lt_buf *y, size_t yoff);
    /* dx = dy * act'(.) computed from the activation's OUTPUT y (leaky_relu needs
     * alpha > 0 for that; every supported
     * activation's derivative is a function of its output; for softmax
     * dx_i = y_i*(dy_i - sum_j dy_j*y_j) per row). dx may alias dy. */
    lt_status (*act_backward)(lt_backend *be, size_t rows, size_t cols, lt_backend_act act,
                              float alpha, const lt_buf *y, size_t yoff,
                              const lt_buf *dy, size_t dyoff, lt_buf *dx, size_t dxoff);
    /* A dense or convolution layer's backward pass before its GEMMs, in one pass over
     * dy: dz = dy * act'(y) for a pointwise act, written to dz (which may be dy
     * exactly), then db[c] = sum over rows of dz[r, c] (+ beta*db[c]; beta == 0
     * overwrites). With act linear, y and dz are NULL and dy itself is summed. */
    lt_status (*bias_act_backward)(lt_backend *be, size_t rows, size_t cols, lt_backend_act act, float alpha,
                                   const lt_buf *y, size_t yoff, const lt_buf *dy, size_t dyoff, lt_buf *dz,
                                   size_t dzoff, float beta, lt_buf *db, size_t dboff);
    /* dst row r = src row idx[r] for r < rows; idx is a uint32 buffer; rows are cols
     * elements, contiguous. The caller guarantees indices in range; a backend that
     * meets one past the source writes NaN rather than reading out of bounds. */
    lt_status (*gather_rows)(lt_backend *be, size_t rows, size_t cols,
                             const lt_buf *src, size_t soff, const lt_buf *idx, size_t ioff,
                             lt_buf *dst, size_t doff);

    /* --- losses --- */
    /* Over a rows x cols batch (contiguous): out[ooff] = sum over all elements of the
     * per-element loss (see lt_backend_loss), and, when grad != NULL,
     * grad = grad_scale * d(sum)/d(pred). grad may alias pred. For the caller's mean
     * loss, grad_scale is 1/(rows*cols) (MSE, BCE) or 1/rows (CCE). */
    lt_status (*loss)(lt_backend *be, lt_backend_loss kind, size_t rows, size_t cols,
                      const lt_buf *pred, size_t poff, const lt_buf *target, size_t toff,
                      lt_buf *out, size_t ooff, float grad_scale, lt_buf *grad, size_t goff);

    /* --- optimizers --- */
    /* One update of n parameters from their gradients; state holds n elements per
     * moment (SGD: 1, RMSprop: 1, Adam: 2, laid out one moment after the other). */
    lt_status (*optim_step)(lt_backend *be, lt_backend_optim kind, const lt_backend_optim_hyper *h,
                            size_t n, lt_buf *params, size_t poff, const lt_buf *grads, size_t goff,
                            lt_buf *state, size_t soff);
    /* Gradient-norm clipping works on segments of a range x[xoff..xoff+n) (one segment
     * per weight tensor, or one for them all), without the host reading anything back.
     * Segment s is [starts[s], starts[s+1]) with starts[count] taken as n, starts being
     * a uint32 buffer of ascending offsets relative to xoff read from stoff on the
     * device: the caller's to get right, as gather_rows' indices, but clamped to n, so
     * no op touches an element outside the range whatever they hold. starts == NULL
     * with count == 1 is the one segment [0, n); with n == 0 every segment is empty and
     * starts is not read. */
    /* out[ooff+s] = sum of x[xoff+j]^2 over segment s's j, for s < count, in a
     * deterministic order (as sum). out must not overlap x or starts. */
    lt_status (*sum_squares)(lt_backend *be, size_t n, const lt_buf *x, size_t xoff, size_t count,
                             const lt_buf *starts, size_t stoff, lt_buf *out, size_t ooff);
    /* Keras's clip_by_norm of each segment from its squared norm sumsq[soff+s] (what
     * sum_squares wrote): with norm = sqrt(sumsq), the segment is multiplied by
     * max_norm / norm when norm > max_norm and left exactly as it is otherwise; a NaN
     * norm makes it NaN (as Keras). max_norm > 0. x must not overlap sumsq or starts. */
    lt_status (*clip_by_norm)(lt_backend *be, size_t n, lt_buf *x, size_t xoff, size_t count,
                              const lt_buf *starts, size_t stoff, const lt_buf *sumsq, size_t soff,
                              float max_norm);

    /* --- randomness (lib/backend/philox.h streams, bit-identical across backends) --- */
    /* Each fills n elements with elements first .. first+n-1 of the stream (seed, counter),
     * so that a slice of a fill (another process's rows of one batch) draws what the
     * whole fill draws there. */
    /* buf[off+i] = lt_philox_uniform(seed, counter, first+i, lo, hi) for i < n. */
    lt_status (*random_uniform)(lt_backend *be, lt_buf *buf, size_t off, size_t n,
                                float lo, float hi, uint64_t seed, uint64_t counter, uint64_t first);
    /* buf[off+i] = mean + stddev * lt_philox_normal(seed, counter, first+i) for i < n. */
    lt_status (*random_normal)(lt_backend *be, lt_buf *buf, size_t off, size_t n,
                               float mean, float stddev, uint64_t seed, uint64_t counter, uint64_t first);
    /* Inverted dropout mask: mask[i] = (uniform element first+i in [0,1) >= rate) ? 1/(1-rate)
     * : 0, the uniform being lt_philox_uniform(seed, counter, first+i, 0, 1). rate in [0, 1). */
    lt_status (*dropout_mask)(lt_backend *be, lt_buf *mask, size_t off, size_t n, float rate,
                              uint64_t seed, uint64_t counter, uint64_t first);

    /* --- checks --- */
    /* out[ooff] = number of non-finite (NaN or inf) elements in x[xoff..xoff+n), as float. */
    lt_status (*count_nonfinite)(lt_backend *be, size_t n, const lt_buf *x, size_t xoff,
                                 lt_buf *out, size_t ooff);

    /* --- convolutions, pooling, up-sampling (NHWC) --- */
    /* y (batch*out_h*out_w*out_c) = conv(x, w) as lt_conv_geom says; y is overwritten. */
    lt_status (*conv2d_forward)(lt_backend *be, const lt_conv_geom *g, const lt_buf *x, size_t xoff,
                                const lt_buf *w, size_t woff, lt_buf *y, size_t yoff);
    /* dx (batch*in_h*in_w*in_c) = d(sum dy*y)/dx: the transposed convolution of dy;
     * dx is overwritten (input cells no output reads get 0). */
    lt_status (*conv2d_backward_data)(lt_backend *be, const lt_conv_geom *g, const lt_buf *dy, size_t dyoff,
                                      const lt_buf *w, size_t woff, lt_buf *dx, size_t dxoff);
    /* dw (k_h*k_w*in_c*out_c) = d(sum dy*y)/dw summed over the batch; dw is overwritten. */
    lt_status (*conv2d_backward_filter)(lt_backend *be, const lt_conv_geom *g, const lt_buf *x, size_t xoff,
                                        const lt_buf *dy, size_t dyoff, lt_buf *dw, size_t dwoff);
    /* Max pooling: y = max over each window; argmax (uint32, same size as y) records the
     * flat input index (within the image: (iy*in_w + ix)*c + ch) of the first maximum. */
    lt_status (*maxpool_forward)(lt_backend *be, const lt_pool_geom *g, const lt_buf *x, size_t xoff,
                                 lt_buf *y, size_t yoff, lt_buf *argmax, size_t aoff);
    /* dx = 0, then dx[argmax] += dy for every output cell; dx is overwritten. argmax must
     * come from maxpool_forward with the same geometry; an index outside its window is
     * refused (LT_ERR_ARG) or ignored, never followed out of bounds. */
    lt_status (*maxpool_backward)(lt_backend *be, const lt_pool_geom *g, const lt_buf *dy, size_t dyoff,
                                  const lt_buf *argmax, size_t aoff, lt_buf *dx, size_t dxoff);
    /* Up-sampling by integer factors (k_h, k_w): out = in * k; y is overwritten. */
    lt_status (*upsample_forward)(lt_backend *be, const lt_pool_geom *g, lt_backend_interp mode,
                                  const lt_buf *x, size_t xoff, lt_buf *y, size_t yoff);
    /* dx = the adjoint of upsample_forward applied to dy; dx is overwritten. */
    lt_status (*upsample_backward)(lt_backend *be, const lt_pool_geom *g, lt_backend_interp mode,
                                   const lt_buf *dy, size_t dyoff, lt_buf *dx, size_t dxoff);

    /* --- augmentation --- */
    /* Resamples n images of h x w x ch (NHWC) through per-image affine maps: mats holds
     * 6 floats per image (mats[moff + 6*i ...] = m0..m5); output pixel (r, c) of image i
     * reads input coordinate (m0*r + m1*c + m2, m3*r + m4*c + m5), clamped to
     * [0, h-1] x [0, w-1] (Keras's fill_mode 'nearest'), bilinearly interpolated. y is
     * overwritten and must not overlap x. */
    lt_status (*affine_resample)(lt_backend *be, size_t n, int h, int w, int ch, const lt_buf *mats, size_t moff,
                                 const lt_buf *x, size_t xoff, lt_buf *y, size_t yoff);

    /* --- latent-space layers and activity penalties --- */
    /* VAE reparameterization. Row r of x holds [mean (d) | logvar (d)]; y (rows x d) =
     * mean + exp(logvar / 2) * eps, eps (rows x d) drawn by the caller; eps == NULL
     * gives y = mean (inference). */
    lt_status (*vae_sample_forward)(lt_backend *be, size_t rows, size_t d, const lt_buf *x, size_t xoff,
                                    const lt_buf *eps, size_t eoff, lt_buf *y, size_t yoff);
    /* Its backward plus kl_scale times the gradient of kl_normal's sum, into dx (rows x
     * 2d, overwritten): dmean = dy + kl_scale * mean; dlogvar = 0.5 * dy * eps *
     * exp(logvar / 2) + 0.5 * kl_scale * (exp(logvar) - 1) (no dy term when eps == NULL). */
    lt_status (*vae_sample_backward)(lt_backend *be, size_t rows, size_t d, const lt_buf *x, size_t xoff,
                                     const lt_buf *eps, size_t eoff, const lt_buf *dy, size_t dyoff,
                                     float kl_scale, lt_buf *dx, size_t dxoff);
    /* out[ooff] = KL(N(mean, exp(logvar)) || N(0, 1)) summed over rows and d:
     * sum of -0.5 * (1 + logvar - mean^2 - exp(logvar)), x laid out as above. */
    lt_status (*kl_normal)(lt_backend *be, size_t rows, size_t d, const lt_buf *x, size_t xoff,
                           lt_buf *out, size_t ooff);
    /* Sparsity penalty from column sums (colsum[c] = sum over `rows` rows of unit c's
     * activation): p_c = colsum[c] / rows clamped to [1e-6, 1 - 1e-6];
     * out[ooff] = sum_c KL(rho || p_c) = rho log(rho/p_c) + (1-rho) log((1-rho)/(1-p_c));
     * grad[c] = scale * (-rho/p_c + (1-rho)/(1-p_c)) / rows, the gradient of
     * scale * out with respect to each row's activation (the same for every row). */
    lt_status (*sparsity_kl)(lt_backend *be, size_t rows, size_t cols, const lt_buf *colsum, size_t csoff,
                             float rho, lt_buf *out, size_t ooff, float scale, lt_buf *grad, size_t goff);
    /* L1 activity penalty: out[ooff] = sum |x[i]| over n elements; dx[i] = dy[i] +
     * scale * sign(x[i]) (sign(0) = 0); dx may alias dy. */
    lt_status (*l1_penalty)(lt_backend *be, size_t n, const lt_buf *x, size_t xoff, lt_buf *out, size_t ooff,
                            const lt_buf *dy, size_t dyoff, float scale, lt_buf *dx, size_t dxoff);

    /* --- data movement and recurrent cells --- */
    /* y[yoff + i*ys0 + j*ys1 + c] = x[xoff + i*xs0 + j*xs1 + c] (+ beta * y, beta 0 or 1:
     * 0 overwrites) for i < n0, j < n1, c < cols: transposes, reversals and broadcasts
     * of row blocks. Strides count elements and may be negative (x's may be 0); every
     * element touched must lie in its buffer. y's elements must be distinct and must
     * not overlap x. */
    lt_status (*copy_strided)(lt_backend *be, size_t n0, size_t n1, size_t cols,
                              const lt_buf *x, size_t xoff, ptrdiff_t xs0, ptrdiff_t xs1, float beta,
                              lt_buf *y, size_t yoff, ptrdiff_t ys0, ptrdiff_t ys1);
    /* g->steps steps of a recurrent cell (see lt_backend_cell) over g->batch rows, in one
     * call, so that a device runs the whole recurrence without a launch per step. Blocks
     * are time-major: xw holds steps blocks of batch x G, the input projections x W to
     * which the cell adds bias (G floats; NULL: none), rec steps + 1 slots of batch x S
     * records; slot 0 is the initial state's record (read, or written as zeros with
     * g->zero_state) and step k writes slot k + 1. r is the recurrent kernel U x G,
     * rbias G floats (GRU only; NULL elsewhere). Each step's h (or [h | c]) is also
     * written to out when out is not NULL, so no copy follows. rec and out must not
     * overlap the inputs or each other. */
    lt_status (*rnn_forward)(lt_backend *be, const lt_rnn_geom *g, const lt_buf *xw, size_t xwoff,
                             const lt_buf *bias, size_t boff, const lt_buf *r, size_t roff, const lt_buf *rbias,
                             size_t rboff, lt_buf *rec, size_t recoff, const lt_rnn_seq *out);
    /* Backpropagation through the g->steps steps of rnn_forward, last to first. The
     * gradient reaching step k's h is the output's, read from dh (width U; every step's,
     * or the last step's only; NULL: none), plus dz_{k+1} R^T over the first G columns
     * of the next step's dz, plus the carry. carry (batch x 2U, [h | c]) holds what
     * flows to the previous step outside R, GRU's z dh in the first U, LSTM's f dc in
     * the second; it comes in as the gradient flowing into the last step from beyond (a
     * returned LSTM state's c gradient; with g->zero_carry none, and carry is not read)
     * and leaves as what flows out of the first. Writes dz, steps blocks of batch x D,
     * which must not overlap the inputs; r and rec as in rnn_forward. */
    lt_status (*rnn_backward)(lt_backend *be, const lt_rnn_geom *g, const lt_rnn_seq *dh, const lt_buf *r,
                              size_t roff, const lt_buf *rec, size_t recoff, lt_buf *carry, size_t coff, lt_buf *dz,
                              size_t dzoff);

    /* --- optional slots (NULL when a backend has nothing to do) --- */
    /* Sets the number of host threads the backend computes with (<= 0: all). */
    void (*set_threads)(lt_backend *be, int threads);
} lt_backend_ops;

/* Common head of every backend instance: a backend's own struct starts with this. */
struct lt_backend {
    const lt_backend_ops *ops; /* the vtable                                          */
    char device_name[256];     /* human-readable device description                   */
    char error[1024];          /* last error message: the backend's own start with its
                                  name ("cpu: ..."); lib/ writes its context's here too,
                                  so a context has one error channel and nothing copies */
};

/* Writes "NAME: " and a printf-style message into be->error and returns status. */
lt_status lt_backend_set_error(lt_backend *be, lt_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Opens the CPU fallback. threads <= 0: OpenMP's default. */
lt_status lt_cpu_backend_open(lt_backend **out, int threads, char *err, size_t errlen);

/* Compiled in when the library was built with OpenCL (LT_HAVE_OPENCL). */
/* Opens OpenCL device `index` of the list lt_opencl_list_devices orders; index < 0 picks
 * the first GPU (by device type, not platform order), else fails with LT_ERR_DEVICE. */
lt_status lt_opencl_backend_open(lt_backend **out, int index, char *err, size_t errlen);

/* One OpenCL device as listed for users and chosen by index. */
typedef struct lt_opencl_device_info {
    char name[128];       /* CL_DEVICE_NAME                              */
    char vendor[128];     /* CL_DEVICE_VENDOR                            */
    char platform[128];   /* CL_PLATFORM_NAME                            */
    char version[128];    /* CL_DEVICE_VERSION                           */
    int is_gpu;           /* CL_DEVICE_TYPE_GPU                          */
    uint64_t global_mem;  /* bytes                                       */
    unsigned compute_units;
    /* The limits latent keeps to on it: the device's, lowered by LATENT_CL_* (README). */
    uint64_t max_alloc;   /* bytes of one buffer (CL_DEVICE_MAX_MEM_ALLOC_SIZE)      */
    uint64_t local_mem;   /* bytes of local memory (CL_DEVICE_LOCAL_MEM_SIZE)        */
    size_t max_work_group; /* work-items per group (CL_DEVICE_MAX_WORK_GROUP_SIZE)   */
    int limits_lowered;   /* 1 when an environment variable lowered one              */
    char limits_error[128]; /* why the limits could not be read, or ""           */
    int program_cached;   /* 1 when the kernel cache holds its compiled program      */
} lt_opencl_device_info;

/* Lists the OpenCL devices in a stable order: GPUs first, then accelerators, then CPUs,
 * each group in platform-then-device order. Returns the count (0 when there is no
 * OpenCL or no device), fills up to max entries. */
int lt_opencl_list_devices(lt_opencl_device_info *infos, int max);

/* The on-disk kernel cache (compiled programs, so a device compiles them once): writes
 * its folder into dir (not creating it) and counts its entries and their bytes. Returns
 * 1 when the folder exists, 0 when it does not yet, -1 when there is none to use (no
 * HOME) or the build has no cache. */
int lt_opencl_cache_info(char *dir, size_t len, int *entries, uint64_t *bytes);

#endif
