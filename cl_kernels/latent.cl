/* Latent-space kernels: VAE sampling, KL terms, activity penalties. The reductions write
 * one partial per work-group (summed in tree order) for lt_sum_final, as lt_loss_partial
 * does; exp, expm1 and log are the built-ins, as in activation.cl and loss.cl. */

/* Clamp of the sparsity penalty's mean activation (backend.h). */
#define LT_SPARSITY_EPS 1e-6f

/* y = mean + exp(logvar / 2) * eps (has_eps), else y = mean; x rows are [mean | logvar].
 * 2-D launch over (d, rows). */
__kernel void lt_vae_sample_forward(ulong rows, ulong d, __global const float *x, ulong xoff,
                                    int has_eps, __global const float *eps, ulong eoff,
                                    __global float *y, ulong yoff)
{
    ulong j = get_global_id(0), r = get_global_id(1);
    if (j >= d || r >= rows) return;
    ulong m = xoff + r * 2 * d + j, i = r * d + j;
    y[yoff + i] = has_eps ? x[m] + exp(0.5f * x[m + d]) * eps[eoff + i] : x[m];
}

/* dmean = dy + kl_scale * mean; dlogvar = 0.5 * dy * eps * exp(logvar / 2) (has_eps) +
 * 0.5 * kl_scale * expm1(logvar). 2-D launch over (d, rows). */
__kernel void lt_vae_sample_backward(ulong rows, ulong d, __global const float *x, ulong xoff,
                                     int has_eps, __global const float *eps, ulong eoff,
                                     __global const float *dy, ulong dyoff, float kl_scale,
                                     __global float *dx, ulong dxoff)
{
    ulong j = get_global_id(0), r = get_global_id(1);
    if (j >= d || r >= rows) return;
    ulong m = r * 2 * d + j, i = r * d + j;
    float mean = x[xoff + m], logvar = x[xoff + m + d], g = dy[dyoff + i];
    float kl = 0.5f * kl_scale * expm1(logvar);
    dx[dxoff + m] = g + kl_scale * mean;
    dx[dxoff + m + d] = has_eps ? 0.5f * g * eps[eoff + i] * exp(0.5f * logvar) + kl : kl;
}

/* part[group] = this group's share of sum over rows x d of 0.5 (m^2 + expm1(lv) - lv),
 * which is -0.5 (1 + lv - m^2 - exp(lv)) without the cancellation of 1 - exp(lv). */
__kernel void lt_kl_normal_partial(ulong rows, ulong d, __global const float *x, ulong xoff,
                                   __global float *part, __local float *s)
{
    float acc = 0.0f;
    LT_FOR_EACH(i, rows * d) {
        ulong r = i / d, m = xoff + i + r * d; /* r*2d + j with j = i - r*d */
        float mean = x[m], logvar = x[m + d];
        acc += 0.5f * (mean * mean + expm1(logvar) - logvar);
    }
    acc = lt_group_sum(s, acc);
    if (get_local_id(0) == 0) part[get_group_id(0)] = acc;
}

/* v clamped to [eps, 1-eps]; NaN passes through. */
float lt_clamp_unit(float v)
{
    return v < LT_SPARSITY_EPS ? LT_SPARSITY_EPS : v > 1.0f - LT_SPARSITY_EPS ? 1.0f - LT_SPARSITY_EPS : v;
}

/* part[group] = this group's share of sum_c KL(rho || p_c), p_c = colsum[c] / rows
 * clamped to [eps, 1-eps]; when has_grad, grad[c] = scale * (-rho/p_c + (1-rho)/(1-p_c))
 * / rows. 1 - p_c is taken as (rows - colsum[c]) / rows, clamped alike (the same value),
 * because near the upper clamp 1 - p in float keeps only a few bits: 1 - (1 - 1e-6f) is
 * 1.013e-6, an error the logarithm and the division would carry in full. */
__kernel void lt_sparsity_kl_partial(ulong cols, float rows, __global const float *colsum, ulong csoff,
                                     float rho, float scale, int has_grad, __global float *grad,
                                     ulong goff, __global float *part, __local float *s)
{
    float acc = 0.0f;
    LT_FOR_EACH(c, cols) {
        float p = lt_clamp_unit(colsum[csoff + c] / rows);
        float q = lt_clamp_unit((rows - colsum[csoff + c]) / rows);
        acc += rho * log(rho / p) + (1.0f - rho) * log((1.0f - rho) / q);
        if (has_grad) grad[goff + c] = scale * (-rho / p + (1.0f - rho) / q) / rows;
    }
    acc = lt_group_sum(s, acc);
    if (get_local_id(0) == 0) part[get_group_id(0)] = acc;
}

/* part[group] = this group's share of sum |x|; when has_dx, dx = dy + scale * sign(x)
 * (sign(0) = sign(NaN) = 0; dy counts as 0 unless has_dy). dx[i] is written after dy[i]
 * is read by the same work-item, so dx may alias dy. */
__kernel void lt_l1_partial(ulong n, __global const float *x, ulong xoff, int has_dy,
                            __global const float *dy, ulong dyoff, float scale, int has_dx,
                            __global float *dx, ulong dxoff, __global float *part, __local float *s)
{
    float acc = 0.0f;
    LT_FOR_EACH(i, n) {
        float v = x[xoff + i];
        acc += fabs(v);
        if (has_dx) {
            float sg = v > 0.0f ? scale : v < 0.0f ? -scale : 0.0f;
            dx[dxoff + i] = (has_dy ? dy[dyoff + i] : 0.0f) + sg;
        }
    }
    acc = lt_group_sum(s, acc);
    if (get_local_id(0) == 0) part[get_group_id(0)] = acc;
}
