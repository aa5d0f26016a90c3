/* The operand checks of every backend op (backend_check.c), run once by the front door
 * (dispatch.c) before an op reaches a backend, so the CPU fallback and OpenCL refuse
 * exactly the same calls with the same messages. Private to lib/backend/. */
#ifndef LT_BACKEND_CHECK_H
#define LT_BACKEND_CHECK_H

#include "backend.h"

/* An operand range for the shared checks: its buffer's identity and size (the
 * buffer's own elements, from the backend's buf_elems), and the range [off, off + n) of it an op uses. The per-op
 * checkers below set n from the op's sizes; the front door passes it for the segment ops. */
typedef struct lt_buf_range {
    const char *name; /* the operand, for messages                  */
    const void *mem;  /* identifies the buffer (NULL: none given)   */
    size_t buf_n;     /* the buffer's elements                      */
    size_t off, n;    /* the range                                  */
} lt_buf_range;
/* Checks the operands of sum_squares and clip_by_norm over count segments: x, starts
 * (count offsets, read only when given and x's range is not empty; none stands for one
 * segment) and the per-segment values v (count), each inside its buffer, and the
 * output (x when out_is_x, else v) apart from the inputs. */
lt_status lt_check_segment_operands(lt_backend *be, const char *op, size_t count, lt_buf_range x, lt_buf_range starts,
                                    lt_buf_range v, int out_is_x);

/* The per-op checkers below check the op's sizes, then that each operand lies inside
 * its buffer and that no output overlaps another operand; an optional operand (NULL in
 * backend.h's terms) is given with mem NULL. From lt_check_upload to
 * lt_check_optim_step only copy checks overlaps: those ops' outputs may alias inputs
 * where their slots say so, and elsewhere no backend has refused it. */
/* vae_sample_forward: x rows x 2d, eps (optional) and y rows x d; *n = rows * d. */
lt_status lt_check_vae_sample_forward(lt_backend *be, size_t rows, size_t d, lt_buf_range x, lt_buf_range eps,
                                      lt_buf_range y, size_t *n);
/* vae_sample_backward: x rows x 2d, eps (optional) and dy rows x d, dx rows x 2d. */
lt_status lt_check_vae_sample_backward(lt_backend *be, size_t rows, size_t d, lt_buf_range x, lt_buf_range eps,
                                       lt_buf_range dy, lt_buf_range dx, size_t *n);
/* kl_normal: x rows x 2d, out one element. */
lt_status lt_check_kl_normal(lt_backend *be, size_t rows, size_t d, lt_buf_range x, lt_buf_range out, size_t *n);
/* sparsity_kl: rows >= 1, rho in (0, 1), colsum cols, out one element, grad cols (optional). */
lt_status lt_check_sparsity_kl(lt_backend *be, size_t rows, size_t cols, float rho, lt_buf_range colsum,
                               lt_buf_range out, lt_buf_range grad);
/* l1_penalty: x n, out one element, dx n (optional), dy n (optional, read only with
 * dx); dx may be dy exactly. */
lt_status lt_check_l1_penalty(lt_backend *be, size_t n, lt_buf_range x, lt_buf_range out, lt_buf_range dy,
                              lt_buf_range dx);
/* rnn_forward: the geometry, then (unless the batch is empty) rbias (GRU only), bias
 * (optional), xw, r, rec and out (optional; out_buf describes seq->buf) as backend.h
 * sizes them; sets *w. */
lt_status lt_check_rnn_forward(lt_backend *be, const lt_rnn_geom *g, lt_buf_range xw, lt_buf_range bias,
                               lt_buf_range r, lt_buf_range rbias, lt_buf_range rec, lt_buf_range out_buf,
                               const lt_rnn_seq *out, lt_rnn_widths *w);
/* rnn_backward: the geometry, then dh (optional; dh_buf describes seq->buf), r, rec and
 * the outputs carry and dz; sets *w. */
lt_status lt_check_rnn_backward(lt_backend *be, const lt_rnn_geom *g, lt_buf_range dh_buf, const lt_rnn_seq *dh,
                                lt_buf_range r, lt_buf_range rec, lt_buf_range carry, lt_buf_range dz,
                                lt_rnn_widths *w);
/* upload: buf n, and src unless n == 0. */
lt_status lt_check_upload(lt_backend *be, size_t n, lt_buf_range buf, const void *src);
/* download: buf n, and dst unless n == 0. */
lt_status lt_check_download(lt_backend *be, size_t n, lt_buf_range buf, const void *dst);
/* copy_strided: nothing when the block is empty, else beta 0 or 1 and every element of
 * x's and y's blocks inside its buffer; *rows = n0 * n1 (0 for an empty block). */
lt_status lt_check_copy_strided(lt_backend *be, size_t n0, size_t n1, size_t cols, lt_buf_range x, ptrdiff_t xs0,
                                ptrdiff_t xs1, float beta, lt_buf_range y, ptrdiff_t ys0, ptrdiff_t ys1, size_t *rows);
/* copy: src and dst n, dst apart from src. */
lt_status lt_check_copy(lt_backend *be, size_t n, lt_buf_range src, lt_buf_range dst);
/* fill, random_uniform and random_normal (op says which): buf n. */
lt_status lt_check_fill(lt_backend *be, const char *op, size_t n, lt_buf_range buf);
/* dropout_mask: rate in [0, 1), mask n. */
lt_status lt_check_dropout_mask(lt_backend *be, size_t n, float rate, lt_buf_range mask);
/* gemm: C m x n with ldc, then (unless C is empty or k == 0) A and B as stored with lda
 * and ldb. C may share a buffer with A or B: with leading dimensions, blocks interleave. */
lt_status lt_check_gemm(lt_backend *be, int trans_a, int trans_b, size_t m, size_t n, size_t k, lt_buf_range a,
                        size_t lda, lt_buf_range b, size_t ldb, lt_buf_range c, size_t ldc);
/* axpby: x and y n (elementwise, so y may be x). */
lt_status lt_check_axpby(lt_backend *be, size_t n, lt_buf_range x, lt_buf_range y);
/* mul: x, y and z n (z may alias x or y). */
lt_status lt_check_mul(lt_backend *be, size_t n, lt_buf_range x, lt_buf_range y, lt_buf_range z);
/* sum and count_nonfinite (op says which): x n, out one element. */
lt_status lt_check_reduce(lt_backend *be, const char *op, size_t n, lt_buf_range x, lt_buf_range out);
/* bias_act_forward: a known act, x and y rows x cols (y may alias x), bias cols
 * (optional); *n = rows * cols. */
lt_status lt_check_bias_act_forward(lt_backend *be, size_t rows, size_t cols, lt_backend_act act, lt_buf_range x,
                                    lt_buf_range bias, lt_buf_range y, size_t *n);
/* act_backward: a known act, y, dy and dx rows x cols (dx may alias dy); *n = rows * cols. */
lt_status lt_check_act_backward(lt_backend *be, size_t rows, size_t cols, lt_backend_act act, lt_buf_range y,
                                lt_buf_range dy, lt_buf_range dx, size_t *n);
/* bias_act_backward: a pointwise act, y and dz given exactly when act is not linear; y,
 * dy and dz rows x cols (dz may be dy exactly), db cols; *n = rows * cols. */
lt_status lt_check_bias_act_backward(lt_backend *be, size_t rows, size_t cols, lt_backend_act act, lt_buf_range y,
                                     lt_buf_range dy, lt_buf_range dz, lt_buf_range db, size_t *n);
/* gather_rows: idx rows, dst rows x cols and, unless that is empty, src holding at
 * least one row; *n = rows * cols. */
lt_status lt_check_gather_rows(lt_backend *be, size_t rows, size_t cols, lt_buf_range src, lt_buf_range idx,
                               lt_buf_range dst, size_t *n);
/* loss: a known kind, pred and target rows x cols, out one element apart from the
 * others, grad rows x cols (optional, may alias pred); *n = rows * cols. */
lt_status lt_check_loss(lt_backend *be, lt_backend_loss kind, size_t rows, size_t cols, lt_buf_range pred,
                        lt_buf_range target, lt_buf_range out, lt_buf_range grad, size_t *n);
/* optim_step: a known kind, h given, params and grads n, state n per moment the kind
 * keeps with h (none for SGD without momentum); *moments = that count. */
lt_status lt_check_optim_step(lt_backend *be, lt_backend_optim kind, const lt_backend_optim_hyper *h, size_t n,
                              lt_buf_range params, lt_buf_range grads, lt_buf_range state, size_t *moments);
/* conv2d_forward: the geometry, then x, w and y, y apart from both; sets *s. */
lt_status lt_check_conv2d_forward(lt_backend *be, const lt_conv_geom *g, lt_buf_range x, lt_buf_range w,
                                  lt_buf_range y, lt_conv_sizes *s);
/* conv2d_backward_data: the geometry, then dy, w and dx, dx apart from both; sets *s. */
lt_status lt_check_conv2d_backward_data(lt_backend *be, const lt_conv_geom *g, lt_buf_range dy, lt_buf_range w,
                                        lt_buf_range dx, lt_conv_sizes *s);
/* conv2d_backward_filter: the geometry, then x, dy and dw, dw apart from both; sets *s. */
lt_status lt_check_conv2d_backward_filter(lt_backend *be, const lt_conv_geom *g, lt_buf_range x, lt_buf_range dy,
                                          lt_buf_range dw, lt_conv_sizes *s);
/* maxpool_forward: the geometry (every window reaching the image, indices fitting
 * uint32), then x and the outputs y and argmax, apart from x and each other; sets *s. */
lt_status lt_check_maxpool_forward(lt_backend *be, const lt_pool_geom *g, lt_buf_range x, lt_buf_range y,
                                   lt_buf_range argmax, lt_pool_sizes *s);
/* maxpool_backward: the geometry as above, then dy, argmax and dx, dx apart from both. */
lt_status lt_check_maxpool_backward(lt_backend *be, const lt_pool_geom *g, lt_buf_range dy, lt_buf_range argmax,
                                    lt_buf_range dx, lt_pool_sizes *s);
/* upsample_forward: a known mode, out = in * k, then x and y apart from x; sets *s. */
lt_status lt_check_upsample_forward(lt_backend *be, const lt_pool_geom *g, lt_backend_interp mode, lt_buf_range x,
                                    lt_buf_range y, lt_pool_sizes *s);
/* upsample_backward: as upsample_forward, with dy and dx apart from dy. */
lt_status lt_check_upsample_backward(lt_backend *be, const lt_pool_geom *g, lt_backend_interp mode, lt_buf_range dy,
                                     lt_buf_range dx, lt_pool_sizes *s);
/* affine_resample: sizes >= 1, sides up to 2^24, then (unless n == 0) mats 6n, x and y
 * n images, y apart from both; *total = n*h*w*ch (0 when n == 0). */
lt_status lt_check_affine_resample(lt_backend *be, size_t n, int h, int w, int ch, lt_buf_range mats, lt_buf_range x,
                                   lt_buf_range y, size_t *total);

#endif
