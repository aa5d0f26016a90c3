/* The OpenCL backend's training ops (loss.cl, optim.cl, random.cl, reduce.cl's counts):
 * losses with their gradients, optimizer steps, gradient-norm clipping by segments, the
 * Philox random fills and the non-finite count. */
#include <stdint.h>
#include "cl_launch.h"

/* ------------------------------------------------------------------ losses, optimizers */

/* Sum of the per-element loss into out[ooff]; grad = grad_scale * d(sum)/d(pred). */
lt_status lt_cl_loss(lt_backend *be, lt_backend_loss kind, size_t rows, size_t cols, const lt_buf *pred,
                         size_t poff, const lt_buf *target, size_t toff, lt_buf *out, size_t ooff, float grad_scale,
                         lt_buf *grad, size_t goff)
{
    cl_backend *b = (cl_backend *)be;
    const char *op = "loss";
    size_t n = rows * cols;
    int code = kind == LT_BLOSS_BCE_LOGITS ? 1 : kind == LT_BLOSS_BCE_PROBS ? 2 : kind == LT_BLOSS_CCE_PROBS ? 3 : 0;
    /* a small batch's loss is one work-group's, written straight to out: one launch */
    size_t l = b->wg[K_LOSS_PARTIAL], parts = n <= LT_CL_LOSS_ONE_GROUP ? 1 : lt_cl_groups_for(n, l, LT_CL_MAX_PARTS);
    kargs a = args_of(b, K_LOSS_PARTIAL);
    arg_i32(&a, code);
    arg_u64(&a, n);
    arg_at_or(&a, pred, poff, b->scratch); /* operands may be absent only when n == 0 */
    arg_at_or(&a, target, toff, b->scratch);
    arg_f32(&a, grad_scale);
    arg_opt(&a, grad, goff, b->scratch);
    if (parts > 1) {
        arg_cl(&a, b->scratch);
        arg_u64(&a, 0);
        arg_local(&a, l * 4);
        lt_status st = lt_cl_launch_groups(b, &a, parts, l, op);
        return st != LT_OK ? st : lt_cl_reduce_final(b, K_SUM_FINAL, parts, 1, out, ooff, op);
    }
    arg_at(&a, out, ooff);
    arg_local(&a, l * 4);
    return lt_cl_launch_groups(b, &a, 1, l, op);
}

/* One optimizer step over n parameters. */
lt_status lt_cl_optim_step(lt_backend *be, lt_backend_optim kind, const lt_backend_optim_hyper *h, size_t n,
                               lt_buf *params, size_t poff, const lt_buf *grads, size_t goff, lt_buf *state,
                               size_t soff)
{
    cl_backend *b = (cl_backend *)be;
    if (n == 0) return LT_OK;
    int has_state = kind != LT_BOPT_SGD || h->momentum != 0.0f; /* plain SGD has no state */
    int kid = kind == LT_BOPT_SGD ? K_SGD : kind == LT_BOPT_RMSPROP ? K_RMSPROP : K_ADAM;
    kargs a = args_of(b, kid);
    arg_u64(&a, n);
    arg_f32(&a, h->lr);
    if (kind == LT_BOPT_SGD) {
        arg_f32(&a, h->momentum);
        arg_i32(&a, h->nesterov != 0);
    } else if (kind == LT_BOPT_RMSPROP) {
        arg_f32(&a, h->rho);
        arg_f32(&a, h->epsilon);
        arg_f32(&a, h->momentum);
    } else {
        arg_f32(&a, h->beta1);
        arg_f32(&a, h->beta2);
        arg_f32(&a, h->epsilon);
    }
    arg_at(&a, params, poff);
    arg_at(&a, grads, goff);
    arg_at_or(&a, has_state ? state : NULL, has_state ? soff : 0, b->scratch);
    return lt_cl_launch_1d(b, &a, n, "optim_step");
}

/* ------------------------------------------------------------------ gradient-norm clipping */

/* Work-groups per segment of sum_squares and clip_by_norm: about 16 passes of a group
 * over an average segment, and at most LT_CL_MAX_PARTS in all, so that sum_squares'
 * partials fit the scratch buffer (with as many segments, one group each). */
static size_t segment_groups(size_t n, size_t count, size_t l)
{
    size_t cap = LT_CL_MAX_PARTS / count, g = n / count / (16 * l);
    if (g > cap) g = cap;
    return g ? g : 1;
}

/* Sets the arguments the segment kernels start with: n, x, xoff, count, the starts flag,
 * buffer and offset. */
static void segment_args(cl_backend *b, kargs *a, size_t n, const lt_buf *x, size_t xoff, size_t count,
                         const lt_buf *starts, size_t stoff)
{
    arg_u64(a, n);
    arg_at_or(a, x, xoff, b->scratch); /* n == 0 may come with no x: nothing is read */
    arg_u64(a, count);
    arg_opt(a, n ? starts : NULL, stoff, b->scratch);
}

/* Per-segment sums of squares: several groups a segment write partials that a final
 * pass adds row by row, or, with one group a segment, the results directly. */
lt_status lt_cl_sum_squares(lt_backend *be, size_t n, const lt_buf *x, size_t xoff, size_t count,
                                const lt_buf *starts, size_t stoff, lt_buf *out, size_t ooff)
{
    cl_backend *b = (cl_backend *)be;
    const char *op = "sum_squares";
    if (count == 0) return LT_OK;
    size_t l = b->wg[K_SUMSQ_PARTIAL], groups = segment_groups(n, count, l);
    kargs a = args_of(b, K_SUMSQ_PARTIAL);
    segment_args(b, &a, n, x, xoff, count, starts, stoff);
    arg_cl(&a, groups > 1 ? b->scratch : out->mem); /* several groups: partials to scratch first */
    arg_u64(&a, groups > 1 ? 0 : ooff);
    arg_local(&a, l * 4);
    lt_status st = lt_cl_launch_group_rows(b, &a, groups, count, l, op);
    if (st != LT_OK || groups == 1) return st;
    return lt_cl_reduce_final(b, K_SUM_FINAL, groups, count, out, ooff, op);
}

/* Keras's clip_by_norm of each segment, its norm read on the device. */
lt_status lt_cl_clip_by_norm(lt_backend *be, size_t n, lt_buf *x, size_t xoff, size_t count,
                                 const lt_buf *starts, size_t stoff, const lt_buf *sumsq, size_t soff, float max_norm)
{
    cl_backend *b = (cl_backend *)be;
    if (n == 0 || count == 0) return LT_OK;
    size_t l = b->wg[K_CLIP_BY_NORM];
    kargs a = args_of(b, K_CLIP_BY_NORM);
    segment_args(b, &a, n, x, xoff, count, starts, stoff);
    arg_at(&a, sumsq, soff);
    arg_f32(&a, max_norm);
    return lt_cl_launch_group_rows(b, &a, segment_groups(n, count, l), count, l, "clip_by_norm");
}

/* ------------------------------------------------------------------ randomness, checks */

/* Shared body of the three Philox fills: kernel kid over buf[off, off+n) with (p0, p1)
 * after the range. */
static lt_status random_fill(cl_backend *b, int kid, const char *op, lt_buf *buf, size_t off, size_t n, float p0,
                             float p1, uint64_t seed, uint64_t counter, uint64_t first)
{
    if (n == 0) return LT_OK;
    kargs a = args_of(b, kid);
    arg_u64(&a, n);
    arg_at(&a, buf, off);
    arg_f32(&a, p0);
    arg_f32(&a, p1);
    arg_u64(&a, seed);
    arg_u64(&a, counter);
    arg_u64(&a, first);
    return lt_cl_launch_1d(b, &a, n, op);
}

/* buf[off+i] = lt_philox_uniform(seed, counter, first+i, lo, hi). */
lt_status lt_cl_random_uniform(lt_backend *be, lt_buf *buf, size_t off, size_t n, float lo, float hi,
                               uint64_t seed, uint64_t counter, uint64_t first)
{
    return random_fill((cl_backend *)be, K_RANDOM_UNIFORM, "random_uniform", buf, off, n, lo, hi, seed, counter, first);
}

/* buf[off+i] = mean + stddev * lt_philox_normal(seed, counter, first+i). */
lt_status lt_cl_random_normal(lt_backend *be, lt_buf *buf, size_t off, size_t n, float mean, float stddev,
                              uint64_t seed, uint64_t counter, uint64_t first)
{
    return random_fill((cl_backend *)be, K_RANDOM_NORMAL, "random_normal", buf, off, n, mean, stddev, seed, counter,
                       first);
}

/* Inverted dropout mask; the scale 1/(1-rate) is divided here, on the host, because
 * OpenCL's single-precision division need not be correctly rounded. */
lt_status lt_cl_dropout_mask(lt_backend *be, lt_buf *mask, size_t off, size_t n, float rate, uint64_t seed,
                             uint64_t counter, uint64_t first)
{
    float scale = 1.0f / (1.0f - rate);
    return random_fill((cl_backend *)be, K_DROPOUT_MASK, "dropout_mask", mask, off, n, rate, scale, seed, counter,
                       first);
}

/* out[ooff] = number of NaN/inf in x[xoff, xoff+n), counted exactly in integers. */
lt_status lt_cl_count_nonfinite(lt_backend *be, size_t n, const lt_buf *x, size_t xoff, lt_buf *out, size_t ooff)
{
    cl_backend *b = (cl_backend *)be;
    kargs a = args_of(b, K_COUNT_PARTIAL);
    arg_u64(&a, n);
    arg_at_or(&a, x, xoff, b->scratch);
    return lt_cl_launch_reduction(b, &a, n, K_COUNT_FINAL, out, ooff, "count_nonfinite");
}
