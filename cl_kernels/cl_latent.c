/* The OpenCL backend's latent-space ops (latent.cl): the VAE's reparameterization and
 * its backward pass with the KL gradient, the KL divergence to N(0, 1), and the sparsity
 * and L1 activity penalties (two-pass reductions, as reduce.cl's sums). */
#include "cl_launch.h"

/* Starts the arguments of VAE kernel kid with the head both share: rows, d, x and the
 * optional eps. */
static kargs vae_args(cl_backend *b, int kid, size_t rows, size_t d, const lt_buf *x, size_t xoff, const lt_buf *eps,
                      size_t eoff)
{
    kargs a = args_of(b, kid);
    arg_u64(&a, rows);
    arg_u64(&a, d);
    arg_at(&a, x, xoff);
    arg_opt(&a, eps, eoff, b->scratch);
    return a;
}

/* y = mean + exp(logvar / 2) * eps, or y = mean when eps == NULL; one item per element. */
lt_status lt_cl_vae_sample_forward(lt_backend *be, size_t rows, size_t d, const lt_buf *x, size_t xoff,
                                       const lt_buf *eps, size_t eoff, lt_buf *y, size_t yoff)
{
    cl_backend *b = (cl_backend *)be;
    if (rows * d == 0) return LT_OK;
    kargs a = vae_args(b, K_VAE_FORWARD, rows, d, x, xoff, eps, eoff);
    arg_at(&a, y, yoff);
    return lt_cl_launch_2d(b, &a, d, rows, "vae_sample_forward");
}

/* dx = the reparameterization's gradient plus kl_scale times the KL sum's (backend.h). */
lt_status lt_cl_vae_sample_backward(lt_backend *be, size_t rows, size_t d, const lt_buf *x, size_t xoff,
                                        const lt_buf *eps, size_t eoff, const lt_buf *dy, size_t dyoff,
                                        float kl_scale, lt_buf *dx, size_t dxoff)
{
    cl_backend *b = (cl_backend *)be;
    if (rows * d == 0) return LT_OK;
    kargs a = vae_args(b, K_VAE_BACKWARD, rows, d, x, xoff, eps, eoff);
    arg_at(&a, dy, dyoff);
    arg_f32(&a, kl_scale);
    arg_at(&a, dx, dxoff);
    return lt_cl_launch_2d(b, &a, d, rows, "vae_sample_backward");
}

/* out[ooff] = KL(N(mean, exp(logvar)) || N(0, 1)) summed over rows and d, two passes. */
lt_status lt_cl_kl_normal(lt_backend *be, size_t rows, size_t d, const lt_buf *x, size_t xoff, lt_buf *out,
                              size_t ooff)
{
    cl_backend *b = (cl_backend *)be;
    kargs a = args_of(b, K_KL_NORMAL_PARTIAL);
    arg_u64(&a, rows);
    arg_u64(&a, d);
    arg_at_or(&a, x, xoff, b->scratch); /* rows == 0 may come with no x: nothing is read */
    return lt_cl_launch_reduction(b, &a, rows * d, K_SUM_FINAL, out, ooff, "kl_normal");
}

/* out[ooff] = sum_c KL(rho || p_c) and, unless grad is NULL (value only, as in loss),
 * the per-unit gradient; two passes. */
lt_status lt_cl_sparsity_kl(lt_backend *be, size_t rows, size_t cols, const lt_buf *colsum, size_t csoff,
                                float rho, lt_buf *out, size_t ooff, float scale, lt_buf *grad, size_t goff)
{
    cl_backend *b = (cl_backend *)be;
    kargs a = args_of(b, K_SPARSITY_KL_PARTIAL);
    arg_u64(&a, cols);
    arg_f32(&a, (float)rows);
    arg_at_or(&a, colsum, csoff, b->scratch); /* cols == 0 may come with no buffers: nothing is read */
    arg_f32(&a, rho);
    arg_f32(&a, scale);
    arg_opt(&a, grad, goff, b->scratch);
    return lt_cl_launch_reduction(b, &a, cols, K_SUM_FINAL, out, ooff, "sparsity_kl");
}

/* out[ooff] = sum |x|; dx = dy + scale * sign(x) when dx != NULL (dy == NULL counts as
 * zeros); dx may alias dy exactly. Two passes. */
lt_status lt_cl_l1_penalty(lt_backend *be, size_t n, const lt_buf *x, size_t xoff, lt_buf *out, size_t ooff,
                               const lt_buf *dy, size_t dyoff, float scale, lt_buf *dx, size_t dxoff)
{
    cl_backend *b = (cl_backend *)be;
    int has_dx = dx && n, has_dy = has_dx && dy;
    kargs a = args_of(b, K_L1_PARTIAL);
    arg_u64(&a, n);
    arg_at_or(&a, x, xoff, b->scratch); /* n == 0 may come with no buffers: nothing is read */
    arg_opt(&a, has_dy ? dy : NULL, dyoff, b->scratch);
    arg_f32(&a, scale);
    arg_opt(&a, has_dx ? dx : NULL, dxoff, b->scratch);
    return lt_cl_launch_reduction(b, &a, n, K_SUM_FINAL, out, ooff, "l1_penalty");
}
