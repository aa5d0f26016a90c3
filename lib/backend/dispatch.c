/* The front door (dispatch.h): every call checks its operands with backend_check.c,
 * then goes down the vtable. Nothing here computes; a backend sees only calls that
 * passed. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "backend_check.h"
#include "dispatch.h"

lt_status lt_backend_set_error(lt_backend *be, lt_status status, const char *fmt, ...)
{
    if (!be) return status;
    char msg[sizeof be->error];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap); /* fmt's arguments may point into be->error */
    va_end(ap);
    snprintf(be->error, sizeof be->error, "%s: %.1000s", be->ops->name, msg); /* as lib/ always quoted it */
    return status;
}

const char *lt_be_name(const lt_backend *be) { return be->ops->name; }

const char *lt_be_message(const lt_backend *be)
{
    size_t len = strlen(be->ops->name);
    if (strncmp(be->error, be->ops->name, len) == 0 && be->error[len] == ':' && be->error[len + 1] == ' ')
        return be->error + len + 2;
    return be->error;
}

void lt_be_set_threads(lt_backend *be, int threads)
{
    if (be->ops->set_threads) be->ops->set_threads(be, threads);
}

/* buf[off, off + n) as the checks see it: the buffer's identity and its elements. */
static lt_buf_range rng(const lt_backend *be, const char *name, const lt_buf *buf, size_t off, size_t n)
{
    lt_buf_range r = {name, buf, buf ? be->ops->buf_elems(buf) : 0, off, n};
    return r;
}

/* The range a sequence operand's buffer gives the checks (NULL: not given). */
static lt_buf_range seq_rng(const lt_backend *be, const char *name, const lt_rnn_seq *seq)
{
    return rng(be, name, seq ? seq->buf : NULL, seq ? seq->off : 0, 0);
}

/* ------------------------------------------------------------------ lifetime and buffers */

void lt_be_destroy(lt_backend *be)
{
    if (be) be->ops->destroy(be);
}

lt_status lt_be_buf_alloc(lt_backend *be, size_t n, lt_buf **out)
{
    if (!out) return lt_backend_set_error(be, LT_ERR_ARG, "buf_alloc: out is NULL");
    *out = NULL;
    return be->ops->buf_alloc(be, n, out);
}

void lt_be_buf_free(lt_backend *be, lt_buf *buf)
{
    if (buf) be->ops->buf_free(be, buf);
}

lt_status lt_be_upload(lt_backend *be, lt_buf *buf, size_t off, const void *src, size_t n)
{
    lt_status st = lt_check_upload(be, n, rng(be, "buf", buf, off, 0), src);
    return st == LT_OK ? be->ops->upload(be, buf, off, src, n) : st;
}

lt_status lt_be_download(lt_backend *be, const lt_buf *buf, size_t off, void *dst, size_t n)
{
    lt_status st = lt_check_download(be, n, rng(be, "buf", buf, off, 0), dst);
    return st == LT_OK ? be->ops->download(be, buf, off, dst, n) : st;
}

lt_status lt_be_copy(lt_backend *be, const lt_buf *src, size_t soff, lt_buf *dst, size_t doff, size_t n)
{
    lt_status st = lt_check_copy(be, n, rng(be, "src", src, soff, 0), rng(be, "dst", dst, doff, 0));
    return st == LT_OK ? be->ops->copy(be, src, soff, dst, doff, n) : st;
}

lt_status lt_be_fill(lt_backend *be, lt_buf *buf, size_t off, size_t n, float value)
{
    lt_status st = lt_check_fill(be, "fill", n, rng(be, "buf", buf, off, 0));
    return st == LT_OK ? be->ops->fill(be, buf, off, n, value) : st;
}

lt_status lt_be_finish(lt_backend *be) { return be->ops->finish(be); }

/* ------------------------------------------------------------------ linear algebra */

lt_status lt_be_gemm(lt_backend *be, int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
                     const lt_buf *a, size_t aoff, size_t lda, const lt_buf *b, size_t boff, size_t ldb, float beta,
                     lt_buf *c, size_t coff, size_t ldc)
{
    lt_status st = lt_check_gemm(be, trans_a, trans_b, m, n, k, rng(be, "A", a, aoff, 0), lda,
                                 rng(be, "B", b, boff, 0), ldb, rng(be, "C", c, coff, 0), ldc);
    return st == LT_OK ? be->ops->gemm(be, trans_a, trans_b, m, n, k, alpha, a, aoff, lda, b, boff, ldb, beta, c,
                                       coff, ldc)
                       : st;
}

lt_status lt_be_axpby(lt_backend *be, size_t n, float alpha, const lt_buf *x, size_t xoff, float beta, lt_buf *y,
                      size_t yoff)
{
    lt_status st = lt_check_axpby(be, n, rng(be, "x", x, xoff, 0), rng(be, "y", y, yoff, 0));
    return st == LT_OK ? be->ops->axpby(be, n, alpha, x, xoff, beta, y, yoff) : st;
}

lt_status lt_be_mul(lt_backend *be, size_t n, const lt_buf *x, size_t xoff, const lt_buf *y, size_t yoff, lt_buf *z,
                    size_t zoff)
{
    lt_status st = lt_check_mul(be, n, rng(be, "x", x, xoff, 0), rng(be, "y", y, yoff, 0), rng(be, "z", z, zoff, 0));
    return st == LT_OK ? be->ops->mul(be, n, x, xoff, y, yoff, z, zoff) : st;
}

lt_status lt_be_sum(lt_backend *be, size_t n, const lt_buf *x, size_t xoff, lt_buf *out, size_t ooff)
{
    lt_status st = lt_check_reduce(be, "sum", n, rng(be, "x", x, xoff, 0), rng(be, "out", out, ooff, 0));
    return st == LT_OK ? be->ops->sum(be, n, x, xoff, out, ooff) : st;
}

/* ------------------------------------------------------------------ layers */

lt_status lt_be_bias_act_forward(lt_backend *be, size_t rows, size_t cols, const lt_buf *x, size_t xoff,
                                 const lt_buf *bias, size_t boff, lt_backend_act act, float alpha, lt_buf *y,
                                 size_t yoff)
{
    size_t n;
    lt_status st = lt_check_bias_act_forward(be, rows, cols, act, rng(be, "x", x, xoff, 0),
                                             rng(be, "bias", bias, boff, 0), rng(be, "y", y, yoff, 0), &n);
    return st == LT_OK ? be->ops->bias_act_forward(be, rows, cols, x, xoff, bias, boff, act, alpha, y, yoff) : st;
}

lt_status lt_be_act_backward(lt_backend *be, size_t rows, size_t cols, lt_backend_act act, float alpha,
                             const lt_buf *y, size_t yoff, const lt_buf *dy, size_t dyoff, lt_buf *dx, size_t dxoff)
{
    size_t n;
    lt_status st = lt_check_act_backward(be, rows, cols, act, rng(be, "y", y, yoff, 0), rng(be, "dy", dy, dyoff, 0),
                                         rng(be, "dx", dx, dxoff, 0), &n);
    return st == LT_OK ? be->ops->act_backward(be, rows, cols, act, alpha, y, yoff, dy, dyoff, dx, dxoff) : st;
}

lt_status lt_be_bias_act_backward(lt_backend *be, size_t rows, size_t cols, lt_backend_act act, float alpha,
                                  const lt_buf *y, size_t yoff, const lt_buf *dy, size_t dyoff, lt_buf *dz,
                                  size_t dzoff, float beta, lt_buf *db, size_t dboff)
{
    size_t n;
    lt_status st = lt_check_bias_act_backward(be, rows, cols, act, rng(be, "y", y, yoff, 0),
                                              rng(be, "dy", dy, dyoff, 0), rng(be, "dz", dz, dzoff, 0),
                                              rng(be, "db", db, dboff, 0), &n);
    return st == LT_OK ? be->ops->bias_act_backward(be, rows, cols, act, alpha, y, yoff, dy, dyoff, dz, dzoff, beta,
                                                    db, dboff)
                       : st;
}

lt_status lt_be_gather_rows(lt_backend *be, size_t rows, size_t cols, const lt_buf *src, size_t soff,
                            const lt_buf *idx, size_t ioff, lt_buf *dst, size_t doff)
{
    size_t n;
    lt_status st = lt_check_gather_rows(be, rows, cols, rng(be, "src", src, soff, 0), rng(be, "idx", idx, ioff, 0),
                                        rng(be, "dst", dst, doff, 0), &n);
    return st == LT_OK ? be->ops->gather_rows(be, rows, cols, src, soff, idx, ioff, dst, doff) : st;
}

/* ------------------------------------------------------------------ losses and optimizers */

lt_status lt_be_loss(lt_backend *be, lt_backend_loss kind, size_t rows, size_t cols, const lt_buf *pred, size_t poff,
                     const lt_buf *target, size_t toff, lt_buf *out, size_t ooff, float grad_scale, lt_buf *grad,
                     size_t goff)
{
    size_t n;
    lt_status st = lt_check_loss(be, kind, rows, cols, rng(be, "pred", pred, poff, 0),
                                 rng(be, "target", target, toff, 0), rng(be, "out", out, ooff, 0),
                                 rng(be, "grad", grad, goff, 0), &n);
    return st == LT_OK ? be->ops->loss(be, kind, rows, cols, pred, poff, target, toff, out, ooff, grad_scale, grad,
                                       goff)
                       : st;
}

lt_status lt_be_optim_step(lt_backend *be, lt_backend_optim kind, const lt_backend_optim_hyper *h, size_t n,
                           lt_buf *params, size_t poff, const lt_buf *grads, size_t goff, lt_buf *state, size_t soff)
{
    size_t moments;
    lt_status st = lt_check_optim_step(be, kind, h, n, rng(be, "params", params, poff, 0),
                                       rng(be, "grads", grads, goff, 0), rng(be, "state", state, soff, 0), &moments);
    return st == LT_OK ? be->ops->optim_step(be, kind, h, n, params, poff, grads, goff, state, soff) : st;
}

lt_status lt_be_sum_squares(lt_backend *be, size_t n, const lt_buf *x, size_t xoff, size_t count,
                            const lt_buf *starts, size_t stoff, lt_buf *out, size_t ooff)
{
    lt_status st = lt_check_segment_operands(be, "sum_squares", count, rng(be, "x", x, xoff, n),
                                             rng(be, "starts", starts, stoff, count), rng(be, "out", out, ooff, count),
                                             0);
    return st == LT_OK ? be->ops->sum_squares(be, n, x, xoff, count, starts, stoff, out, ooff) : st;
}

lt_status lt_be_clip_by_norm(lt_backend *be, size_t n, lt_buf *x, size_t xoff, size_t count, const lt_buf *starts,
                             size_t stoff, const lt_buf *sumsq, size_t soff, float max_norm)
{
    const char *op = "clip_by_norm";
    if (!(max_norm > 0.0f))
        return lt_backend_set_error(be, LT_ERR_ARG, "%s: max_norm must be positive, got %g", op, (double)max_norm);
    lt_status st = lt_check_segment_operands(be, op, count, rng(be, "x", x, xoff, n),
                                             rng(be, "starts", starts, stoff, count),
                                             rng(be, "sumsq", sumsq, soff, count), 1);
    return st == LT_OK ? be->ops->clip_by_norm(be, n, x, xoff, count, starts, stoff, sumsq, soff, max_norm) : st;
}

/* ------------------------------------------------------------------ randomness and checks */

lt_status lt_be_random_uniform(lt_backend *be, lt_buf *buf, size_t off, size_t n, float lo, float hi, uint64_t seed,
                               uint64_t counter, uint64_t first)
{
    lt_status st = lt_check_fill(be, "random_uniform", n, rng(be, "buf", buf, off, 0));
    return st == LT_OK ? be->ops->random_uniform(be, buf, off, n, lo, hi, seed, counter, first) : st;
}

lt_status lt_be_random_normal(lt_backend *be, lt_buf *buf, size_t off, size_t n, float mean, float stddev,
                              uint64_t seed, uint64_t counter, uint64_t first)
{
    lt_status st = lt_check_fill(be, "random_normal", n, rng(be, "buf", buf, off, 0));
    return st == LT_OK ? be->ops->random_normal(be, buf, off, n, mean, stddev, seed, counter, first) : st;
}

lt_status lt_be_dropout_mask(lt_backend *be, lt_buf *mask, size_t off, size_t n, float rate, uint64_t seed,
                             uint64_t counter, uint64_t first)
{
    lt_status st = lt_check_dropout_mask(be, n, rate, rng(be, "mask", mask, off, 0));
    return st == LT_OK ? be->ops->dropout_mask(be, mask, off, n, rate, seed, counter, first) : st;
}

lt_status lt_be_count_nonfinite(lt_backend *be, size_t n, const lt_buf *x, size_t xoff, lt_buf *out, size_t ooff)
{
    lt_status st = lt_check_reduce(be, "count_nonfinite", n, rng(be, "x", x, xoff, 0), rng(be, "out", out, ooff, 0));
    return st == LT_OK ? be->ops->count_nonfinite(be, n, x, xoff, out, ooff) : st;
}

/* ------------------------------------------------------------------ convolutions, pooling, up-sampling */

lt_status lt_be_conv2d_forward(lt_backend *be, const lt_conv_geom *g, const lt_buf *x, size_t xoff, const lt_buf *w,
                               size_t woff, lt_buf *y, size_t yoff)
{
    lt_conv_sizes s;
    lt_status st = lt_check_conv2d_forward(be, g, rng(be, "x", x, xoff, 0), rng(be, "w", w, woff, 0),
                                           rng(be, "y", y, yoff, 0), &s);
    return st == LT_OK ? be->ops->conv2d_forward(be, g, x, xoff, w, woff, y, yoff) : st;
}

lt_status lt_be_conv2d_backward_data(lt_backend *be, const lt_conv_geom *g, const lt_buf *dy, size_t dyoff,
                                     const lt_buf *w, size_t woff, lt_buf *dx, size_t dxoff)
{
    lt_conv_sizes s;
    lt_status st = lt_check_conv2d_backward_data(be, g, rng(be, "dy", dy, dyoff, 0), rng(be, "w", w, woff, 0),
                                                 rng(be, "dx", dx, dxoff, 0), &s);
    return st == LT_OK ? be->ops->conv2d_backward_data(be, g, dy, dyoff, w, woff, dx, dxoff) : st;
}

lt_status lt_be_conv2d_backward_filter(lt_backend *be, const lt_conv_geom *g, const lt_buf *x, size_t xoff,
                                       const lt_buf *dy, size_t dyoff, lt_buf *dw, size_t dwoff)
{
    lt_conv_sizes s;
    lt_status st = lt_check_conv2d_backward_filter(be, g, rng(be, "x", x, xoff, 0), rng(be, "dy", dy, dyoff, 0),
                                                   rng(be, "dw", dw, dwoff, 0), &s);
    return st == LT_OK ? be->ops->conv2d_backward_filter(be, g, x, xoff, dy, dyoff, dw, dwoff) : st;
}

lt_status lt_be_maxpool_forward(lt_backend *be, const lt_pool_geom *g, const lt_buf *x, size_t xoff, lt_buf *y,
                                size_t yoff, lt_buf *argmax, size_t aoff)
{
    lt_pool_sizes s;
    lt_status st = lt_check_maxpool_forward(be, g, rng(be, "x", x, xoff, 0), rng(be, "y", y, yoff, 0),
                                            rng(be, "argmax", argmax, aoff, 0), &s);
    return st == LT_OK ? be->ops->maxpool_forward(be, g, x, xoff, y, yoff, argmax, aoff) : st;
}

lt_status lt_be_maxpool_backward(lt_backend *be, const lt_pool_geom *g, const lt_buf *dy, size_t dyoff,
                                 const lt_buf *argmax, size_t aoff, lt_buf *dx, size_t dxoff)
{
    lt_pool_sizes s;
    lt_status st = lt_check_maxpool_backward(be, g, rng(be, "dy", dy, dyoff, 0), rng(be, "argmax", argmax, aoff, 0),
                                             rng(be, "dx", dx, dxoff, 0), &s);
    return st == LT_OK ? be->ops->maxpool_backward(be, g, dy, dyoff, argmax, aoff, dx, dxoff) : st;
}

lt_status lt_be_upsample_forward(lt_backend *be, const lt_pool_geom *g, lt_backend_interp mode, const lt_buf *x,
                                 size_t xoff, lt_buf *y, size_t yoff)
{
    lt_pool_sizes s;
    lt_status st = lt_check_upsample_forward(be, g, mode, rng(be, "x", x, xoff, 0), rng(be, "y", y, yoff, 0), &s);
    return st == LT_OK ? be->ops->upsample_forward(be, g, mode, x, xoff, y, yoff) : st;
}

lt_status lt_be_upsample_backward(lt_backend *be, const lt_pool_geom *g, lt_backend_interp mode, const lt_buf *dy,
                                  size_t dyoff, lt_buf *dx, size_t dxoff)
{
    lt_pool_sizes s;
    lt_status st = lt_check_upsample_backward(be, g, mode, rng(be, "dy", dy, dyoff, 0), rng(be, "dx", dx, dxoff, 0),
                                              &s);
    return st == LT_OK ? be->ops->upsample_backward(be, g, mode, dy, dyoff, dx, dxoff) : st;
}

lt_status lt_be_affine_resample(lt_backend *be, size_t n, int h, int w, int ch, const lt_buf *mats, size_t moff,
                                const lt_buf *x, size_t xoff, lt_buf *y, size_t yoff)
{
    size_t total;
    lt_status st = lt_check_affine_resample(be, n, h, w, ch, rng(be, "mats", mats, moff, 0), rng(be, "x", x, xoff, 0),
                                            rng(be, "y", y, yoff, 0), &total);
    return st == LT_OK ? be->ops->affine_resample(be, n, h, w, ch, mats, moff, x, xoff, y, yoff) : st;
}

/* ------------------------------------------------------------------ latent-space ops */

lt_status lt_be_vae_sample_forward(lt_backend *be, size_t rows, size_t d, const lt_buf *x, size_t xoff,
                                   const lt_buf *eps, size_t eoff, lt_buf *y, size_t yoff)
{
    size_t n;
    lt_status st = lt_check_vae_sample_forward(be, rows, d, rng(be, "x", x, xoff, 0), rng(be, "eps", eps, eoff, 0),
                                               rng(be, "y", y, yoff, 0), &n);
    return st == LT_OK ? be->ops->vae_sample_forward(be, rows, d, x, xoff, eps, eoff, y, yoff) : st;
}

lt_status lt_be_vae_sample_backward(lt_backend *be, size_t rows, size_t d, const lt_buf *x, size_t xoff,
                                    const lt_buf *eps, size_t eoff, const lt_buf *dy, size_t dyoff, float kl_scale,
                                    lt_buf *dx, size_t dxoff)
{
    size_t n;
    lt_status st = lt_check_vae_sample_backward(be, rows, d, rng(be, "x", x, xoff, 0), rng(be, "eps", eps, eoff, 0),
                                                rng(be, "dy", dy, dyoff, 0), rng(be, "dx", dx, dxoff, 0), &n);
    return st == LT_OK ? be->ops->vae_sample_backward(be, rows, d, x, xoff, eps, eoff, dy, dyoff, kl_scale, dx, dxoff)
                       : st;
}

lt_status lt_be_kl_normal(lt_backend *be, size_t rows, size_t d, const lt_buf *x, size_t xoff, lt_buf *out,
                          size_t ooff)
{
    size_t n;
    lt_status st = lt_check_kl_normal(be, rows, d, rng(be, "x", x, xoff, 0), rng(be, "out", out, ooff, 0), &n);
    return st == LT_OK ? be->ops->kl_normal(be, rows, d, x, xoff, out, ooff) : st;
}

lt_status lt_be_sparsity_kl(lt_backend *be, size_t rows, size_t cols, const lt_buf *colsum, size_t csoff, float rho,
                            lt_buf *out, size_t ooff, float scale, lt_buf *grad, size_t goff)
{
    lt_status st = lt_check_sparsity_kl(be, rows, cols, rho, rng(be, "colsum", colsum, csoff, 0),
                                        rng(be, "out", out, ooff, 0), rng(be, "grad", grad, goff, 0));
    return st == LT_OK ? be->ops->sparsity_kl(be, rows, cols, colsum, csoff, rho, out, ooff, scale, grad, goff) : st;
}

lt_status lt_be_l1_penalty(lt_backend *be, size_t n, const lt_buf *x, size_t xoff, lt_buf *out, size_t ooff,
                           const lt_buf *dy, size_t dyoff, float scale, lt_buf *dx, size_t dxoff)
{
    lt_status st = lt_check_l1_penalty(be, n, rng(be, "x", x, xoff, 0), rng(be, "out", out, ooff, 0),
                                       rng(be, "dy", dy, dyoff, 0), rng(be, "dx", dx, dxoff, 0));
    return st == LT_OK ? be->ops->l1_penalty(be, n, x, xoff, out, ooff, dy, dyoff, scale, dx, dxoff) : st;
}

/* ------------------------------------------------------------------ data movement and recurrences */

lt_status lt_be_copy_strided(lt_backend *be, size_t n0, size_t n1, size_t cols, const lt_buf *x, size_t xoff,
                             ptrdiff_t xs0, ptrdiff_t xs1, float beta, lt_buf *y, size_t yoff, ptrdiff_t ys0,
                             ptrdiff_t ys1)
{
    size_t rows;
    lt_status st = lt_check_copy_strided(be, n0, n1, cols, rng(be, "x", x, xoff, 0), xs0, xs1, beta,
                                         rng(be, "y", y, yoff, 0), ys0, ys1, &rows);
    return st == LT_OK ? be->ops->copy_strided(be, n0, n1, cols, x, xoff, xs0, xs1, beta, y, yoff, ys0, ys1) : st;
}

lt_status lt_be_rnn_forward(lt_backend *be, const lt_rnn_geom *g, const lt_buf *xw, size_t xwoff, const lt_buf *bias,
                            size_t boff, const lt_buf *r, size_t roff, const lt_buf *rbias, size_t rboff, lt_buf *rec,
                            size_t recoff, const lt_rnn_seq *out)
{
    lt_rnn_widths w;
    lt_status st = lt_check_rnn_forward(be, g, rng(be, "xw", xw, xwoff, 0), rng(be, "bias", bias, boff, 0),
                                        rng(be, "r", r, roff, 0), rng(be, "rbias", rbias, rboff, 0),
                                        rng(be, "rec", rec, recoff, 0), seq_rng(be, "out", out), out, &w);
    return st == LT_OK ? be->ops->rnn_forward(be, g, xw, xwoff, bias, boff, r, roff, rbias, rboff, rec, recoff, out)
                       : st;
}

lt_status lt_be_rnn_backward(lt_backend *be, const lt_rnn_geom *g, const lt_rnn_seq *dh, const lt_buf *r,
                             size_t roff, const lt_buf *rec, size_t recoff, lt_buf *carry, size_t coff, lt_buf *dz,
                             size_t dzoff)
{
    lt_rnn_widths w;
    lt_status st = lt_check_rnn_backward(be, g, seq_rng(be, "dh", dh), dh, rng(be, "r", r, roff, 0),
                                         rng(be, "rec", rec, recoff, 0), rng(be, "carry", carry, coff, 0),
                                         rng(be, "dz", dz, dzoff, 0), &w);
    return st == LT_OK ? be->ops->rnn_backward(be, g, dh, r, roff, rec, recoff, carry, coff, dz, dzoff) : st;
}
