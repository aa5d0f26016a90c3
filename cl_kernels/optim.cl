/* Optimizer updates (tf.keras v2 rules) over flat parameter buffers. */

/* SGD; v is only touched when momentum != 0. */
__kernel void lt_sgd(ulong n, float lr, float momentum, int nesterov, __global float *p, ulong poff,
                     __global const float *g, ulong goff, __global float *v, ulong voff)
{
    if (momentum == 0.0f) {
        LT_FOR_EACH(i, n) p[poff + i] -= lr * g[goff + i];
        return;
    }
    LT_FOR_EACH(i, n) {
        float gi = g[goff + i];
        float vi = momentum * v[voff + i] - lr * gi;
        v[voff + i] = vi;
        p[poff + i] += nesterov ? momentum * vi - lr * gi : vi;
    }
}

/* RMSprop as Keras: ms = rho*ms + (1-rho)*g^2; u = lr*g/sqrt(ms+eps); with momentum,
 * mom = momentum*mom + u (mom at soff + n) and p -= mom, else p -= u. */
__kernel void lt_rmsprop(ulong n, float lr, float rho, float eps, float momentum, __global float *p,
                         ulong poff, __global const float *g, ulong goff, __global float *ms, ulong soff)
{
    LT_FOR_EACH(i, n) {
        float gi = g[goff + i];
        float m = rho * ms[soff + i] + (1.0f - rho) * gi * gi;
        ms[soff + i] = m;
        float u = lr * gi / sqrt(m + eps);
        if (momentum != 0.0f) {
            u = momentum * ms[soff + n + i] + u;
            ms[soff + n + i] = u;
        }
        p[poff + i] -= u;
    }
}

/* Adam with the bias correction folded into lr by the host; m at soff, v at soff + n. */
__kernel void lt_adam(ulong n, float lr, float b1, float b2, float eps, __global float *p,
                      ulong poff, __global const float *g, ulong goff, __global float *st,
                      ulong soff)
{
    LT_FOR_EACH(i, n) {
        float gi = g[goff + i];
        float m = b1 * st[soff + i] + (1.0f - b1) * gi;
        float v = b2 * st[soff + n + i] + (1.0f - b2) * gi * gi;
        st[soff + i] = m;
        st[soff + n + i] = v;
        p[poff + i] -= lr * m / (sqrt(v) + eps);
    }
}

/* Keras's clip_by_norm of segment get_group_id(1) (backend.h): its elements times
 * max_norm / norm when its norm sqrt(sumsq) exceeds max_norm, NaN when the norm is NaN,
 * untouched otherwise; the row's work-groups stride over the segment. */
__kernel void lt_clip_by_norm(ulong n, __global float *x, ulong xoff, ulong count, int has_starts,
                              __global const uint *starts, ulong stoff, __global const float *sumsq, ulong soff,
                              float max_norm)
{
    ulong seg = get_group_id(1), lo, hi;
    float norm = sqrt(sumsq[soff + seg]);
    if (!(norm > max_norm) && !isnan(norm)) return;
    float f = isnan(norm) ? norm : max_norm / norm;
    lt_segment(n, count, has_starts, starts, stoff, seg, &lo, &hi);
    for (ulong j = lo + get_global_id(0); j < hi; j += get_global_size(0)) x[xoff + j] *= f;
}
