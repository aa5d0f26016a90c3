/* The front door to a backend: model code (lib/), tests and tools call a backend only
 * through these. Each lt_be_OP takes what backend.h's slot OP takes, checks every
 * operand once (backend_check.c: sizes, ranges inside their buffers, outputs apart from
 * inputs where the op requires it) and only then dispatches; a refused call writes its
 * message to be->error and returns LT_ERR_ARG without reaching the backend. */
#ifndef LT_DISPATCH_H
#define LT_DISPATCH_H

#include "backend.h"

/* The backend's name ("cpu", "opencl"). */
const char *lt_be_name(const lt_backend *be);
/* be's last error message without its "NAME: " prefix. */
const char *lt_be_message(const lt_backend *be);
/* Sets the host threads the backend computes with (<= 0: all); a no-op where a backend
 * has nothing to set. */
void lt_be_set_threads(lt_backend *be, int threads);
/* Releases the backend and everything it holds (its buffers must be freed before). */
void lt_be_destroy(lt_backend *be);
/* Allocates n elements (contents undefined); out of memory is LT_ERR_NOMEM. */
lt_status lt_be_buf_alloc(lt_backend *be, size_t n, lt_buf **out);
/* Frees a buffer; NULL is allowed. */
void lt_be_buf_free(lt_backend *be, lt_buf *buf);
/* backend.h's upload, its operands checked first. */
lt_status lt_be_upload(lt_backend *be, lt_buf *buf, size_t off, const void *src, size_t n);
/* backend.h's download, its operands checked first. */
lt_status lt_be_download(lt_backend *be, const lt_buf *buf, size_t off, void *dst, size_t n);
/* backend.h's copy, its operands checked first. */
lt_status lt_be_copy(lt_backend *be, const lt_buf *src, size_t soff, lt_buf *dst, size_t doff, size_t n);
/* backend.h's fill, its operands checked first. */
lt_status lt_be_fill(lt_backend *be, lt_buf *buf, size_t off, size_t n, float value);
/* Waits until all queued work is done. */
lt_status lt_be_finish(lt_backend *be);
/* backend.h's gemm, its operands checked first. */
lt_status lt_be_gemm(lt_backend *be, int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
                     const lt_buf *a, size_t aoff, size_t lda, const lt_buf *b, size_t boff, size_t ldb, float beta,
                     lt_buf *c, size_t coff, size_t ldc);
/* backend.h's axpby, its operands checked first. */
lt_status lt_be_axpby(lt_backend *be, size_t n, float alpha, const lt_buf *x, size_t xoff, float beta, lt_buf *y,
                      size_t yoff);
/* backend.h's mul, its operands checked first. */
lt_status lt_be_mul(lt_backend *be, size_t n, const lt_buf *x, size_t xoff, const lt_buf *y, size_t yoff, lt_buf *z,
                    size_t zoff);
/* backend.h's sum, its operands checked first. */
lt_status lt_be_sum(lt_backend *be, size_t n, const lt_buf *x, size_t xoff, lt_buf *out, size_t ooff);
/* backend.h's bias_act_forward, its operands checked first. */
lt_status lt_be_bias_act_forward(lt_backend *be, size_t rows, size_t cols, const lt_buf *x, size_t xoff,
                                 const lt_buf *bias, size_t boff, lt_backend_act act, float alpha, lt_buf *y,
                                 size_t yoff);
/* backend.h's act_backward, its operands checked first. */
lt_status lt_be_act_backward(lt_backend *be, size_t rows, size_t cols, lt_backend_act act, float alpha, const lt_buf *y,
                             size_t yoff, const lt_buf *dy, size_t dyoff, lt_buf *dx, size_t dxoff);
/* backend.h's bias_act_backward, its operands checked first. */
lt_status lt_be_bias_act_backward(lt_backend *be, size_t rows, size_t cols, lt_backend_act act, float alpha,
                                  const lt_buf *y, size_t yoff, const lt_buf *dy, size_t dyoff, lt_buf *dz,
                                  size_t dzoff, float beta, lt_buf *db, size_t dboff);
/* backend.h's gather_rows, its operands checked first. */
lt_status lt_be_gather_rows(lt_backend *be, size_t rows, size_t cols, const lt_buf *src, size_t soff, const lt_buf *idx,
                            size_t ioff, lt_buf *dst, size_t doff);
/* backend.h's loss, its operands checked first. */
lt_status lt_be_loss(lt_backend *be, lt_backend_loss kind, size_t rows, size_t cols, const lt_buf *pred, size_t poff,
                     const lt_buf *target, size_t toff, lt_buf *out, size_t ooff, float grad_scale, lt_buf *grad,
                     size_t goff);
/* backend.h's optim_step, its operands checked first. */
lt_status lt_be_optim_step(lt_backend *be, lt_backend_optim kind, const lt_backend_optim_hyper *h, size_t n,
                           lt_buf *params, size_t poff, const lt_buf *grads, size_t goff, lt_buf *state, size_t soff);
/* backend.h's sum_squares, its operands checked first. */
lt_status lt_be_sum_squares(lt_backend *be, size_t n, const lt_buf *x, size_t xoff, size_t count, const lt_buf *starts,
                            size_t stoff, lt_buf *out, size_t ooff);
/* backend.h's clip_by_norm, its operands checked first. */
lt_status lt_be_clip_by_norm(lt_backend *be, size_t n, lt_buf *x, size_t xoff, size_t count, const lt_buf *starts,
                             size_t stoff, const lt_buf *sumsq, size_t soff, float max_norm);
/* backend.h's random_uniform, its operands checked first. */
lt_status lt_be_random_uniform(lt_backend *be, lt_buf *buf, size_t off, size_t n, float lo, float hi, uint64_t seed,
                               uint64_t counter, uint64_t first);
/* backend.h's random_normal, its operands checked first. */
lt_status lt_be_random_normal(lt_backend *be, lt_buf *buf, size_t off, size_t n, float mean, float stddev,
                              uint64_t seed, uint64_t counter, uint64_t first);
/* backend.h's dropout_mask, its operands checked first. */
lt_status lt_be_dropout_mask(lt_backend *be, lt_buf *mask, size_t off, size_t n, float rate, uint64_t seed,
                             uint64_t counter, uint64_t first);
/* backend.h's count_nonfinite, its operands checked first. */
lt_status lt_be_count_nonfinite(lt_backend *be, size_t n, const lt_buf *x, size_t xoff, lt_buf *out, size_t ooff);
/* backend.h's conv2d_forward, its operands checked first. */
lt_status lt_be_conv2d_forward(lt_backend *be, const lt_conv_geom *g, const lt_buf *x, size_t xoff, const lt_buf *w,
                               size_t woff, lt_buf *y, size_t yoff);
/* backend.h's conv2d_backward_data, its operands checked first. */
lt_status lt_be_conv2d_backward_data(lt_backend *be, const lt_conv_geom *g, const lt_buf *dy, size_t dyoff,
                                     const lt_buf *w, size_t woff, lt_buf *dx, size_t dxoff);
/* backend.h's conv2d_backward_filter, its operands checked first. */
lt_status lt_be_conv2d_backward_filter(lt_backend *be, const lt_conv_geom *g, const lt_buf *x, size_t xoff,
                                       const lt_buf *dy, size_t dyoff, lt_buf *dw, size_t dwoff);
/* backend.h's maxpool_forward, its operands checked first. */
lt_status lt_be_maxpool_forward(lt_backend *be, const lt_pool_geom *g, const lt_buf *x, size_t xoff, lt_buf *y,
                                size_t yoff, lt_buf *argmax, size_t aoff);
/* backend.h's maxpool_backward, its operands checked first. */
lt_status lt_be_maxpool_backward(lt_backend *be, const lt_pool_geom *g, const lt_buf *dy, size_t dyoff,
                                 const lt_buf *argmax, size_t aoff, lt_buf *dx, size_t dxoff);
/* backend.h's upsample_forward, its operands checked first. */
lt_status lt_be_upsample_forward(lt_backend *be, const lt_pool_geom *g, lt_backend_interp mode, const lt_buf *x,
                                 size_t xoff, lt_buf *y, size_t yoff);
/* backend.h's upsample_backward, its operands checked first. */
lt_status lt_be_upsample_backward(lt_backend *be, const lt_pool_geom *g, lt_backend_interp mode, const lt_buf *dy,
                                  size_t dyoff, lt_buf *dx, size_t dxoff);
/* backend.h's affine_resample, its operands checked first. */
lt_status lt_be_affine_resample(lt_backend *be, size_t n, int h, int w, int ch, const lt_buf *mats, size_t moff,
                                const lt_buf *x, size_t xoff, lt_buf *y, size_t yoff);
/* backend.h's vae_sample_forward, its operands checked first. */
lt_status lt_be_vae_sample_forward(lt_backend *be, size_t rows, size_t d, const lt_buf *x, size_t xoff,
                                   const lt_buf *eps, size_t eoff, lt_buf *y, size_t yoff);
/* backend.h's vae_sample_backward, its operands checked first. */
lt_status lt_be_vae_sample_backward(lt_backend *be, size_t rows, size_t d, const lt_buf *x, size_t xoff,
                                    const lt_buf *eps, size_t eoff, const lt_buf *dy, size_t dyoff, float kl_scale,
                                    lt_buf *dx, size_t dxoff);
/* backend.h's kl_normal, its operands checked first. */
lt_status lt_be_kl_normal(lt_backend *be, size_t rows, size_t d, const lt_buf *x, size_t xoff, lt_buf *out,
                          size_t ooff);
/* backend.h's sparsity_kl, its operands checked first. */
lt_status lt_be_sparsity_kl(lt_backend *be, size_t rows, size_t cols, const lt_buf *colsum, size_t csoff, float rho,
                            lt_buf *out, size_t ooff, float scale, lt_buf *grad, size_t goff);
/* backend.h's l1_penalty, its operands checked first. */
lt_status lt_be_l1_penalty(lt_backend *be, size_t n, const lt_buf *x, size_t xoff, lt_buf *out, size_t ooff,
                           const lt_buf *dy, size_t dyoff, float scale, lt_buf *dx, size_t dxoff);
/* backend.h's copy_strided, its operands checked first. */
lt_status lt_be_copy_strided(lt_backend *be, size_t n0, size_t n1, size_t cols, const lt_buf *x, size_t xoff,
                             ptrdiff_t xs0, ptrdiff_t xs1, float beta, lt_buf *y, size_t yoff, ptrdiff_t ys0,
                             ptrdiff_t ys1);
/* backend.h's rnn_forward, its operands checked first. */
lt_status lt_be_rnn_forward(lt_backend *be, const lt_rnn_geom *g, const lt_buf *xw, size_t xwoff, const lt_buf *bias,
                            size_t boff, const lt_buf *r, size_t roff, const lt_buf *rbias, size_t rboff, lt_buf *rec,
                            size_t recoff, const lt_rnn_seq *out);
/* backend.h's rnn_backward, its operands checked first. */
lt_status lt_be_rnn_backward(lt_backend *be, const lt_rnn_geom *g, const lt_rnn_seq *dh, const lt_buf *r, size_t roff,
                             const lt_buf *rec, size_t recoff, lt_buf *carry, size_t coff, lt_buf *dz, size_t dzoff);

#endif
