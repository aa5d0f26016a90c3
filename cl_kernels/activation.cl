/* Activations: forward from the pre-activation, backward from the OUTPUT y. */

/* act(x) for the pointwise activations; comparisons are arranged so NaN propagates. */
float lt_act(int act, float x, float alpha)
{
    switch (act) {
    case LT_ACT_RELU: return x < 0.0f ? 0.0f : x;
    case LT_ACT_LEAKY_RELU: return x < 0.0f ? alpha * x : x;
    case LT_ACT_ELU: return x < 0.0f ? alpha * expm1(x) : x;
    case LT_ACT_SIGMOID: return lt_sigmoid(x);
    case LT_ACT_TANH: return tanh(x);
    default: return x;
    }
}

/* dy * act'(x) written in terms of y = act(x). */
float lt_act_grad(int act, float y, float dy, float alpha)
{
    switch (act) {
    case LT_ACT_RELU: return y > 0.0f ? dy : 0.0f;
    case LT_ACT_LEAKY_RELU: return y > 0.0f ? dy : alpha * dy;
    case LT_ACT_ELU: return y > 0.0f ? dy : dy * (y + alpha);
    case LT_ACT_SIGMOID: return dy * y * (1.0f - y);
    case LT_ACT_TANH: return dy * (1.0f - y * y);
    default: return dy;
    }
}

/* y = act(x) without bias, 1-D; y may alias x. */
__kernel void lt_act_forward(ulong n, __global const float *x, ulong xoff, int act, float alpha,
                             __global float *y, ulong yoff)
{
    LT_FOR_EACH(i, n) y[yoff + i] = lt_act(act, x[xoff + i], alpha);
}

/* y = act(x + bias) on rows x cols; 2-D launch (columns, rows) so bias needs no modulo. */
__kernel void lt_bias_act_forward(ulong rows, ulong cols, __global const float *x, ulong xoff,
                                  __global const float *bias, ulong boff, int act, float alpha,
                                  __global float *y, ulong yoff)
{
    ulong col = get_global_id(0), row = get_global_id(1);
    if (col >= cols || row >= rows) return;
    ulong i = row * cols + col;
    y[yoff + i] = lt_act(act, x[xoff + i] + bias[boff + col], alpha);
}

/* dx = dy * act'(.) from y, 1-D; dx may alias dy. */
__kernel void lt_act_backward(ulong n, int act, float alpha, __global const float *y, ulong yoff,
                              __global const float *dy, ulong dyoff, __global float *dx, ulong dxoff)
{
    LT_FOR_EACH(i, n) dx[dxoff + i] = lt_act_grad(act, y[yoff + i], dy[dyoff + i], alpha);
}

/* Row-wise softmax of x (+ bias when has_bias), max-subtracted; one work-group per row.
 * Each work-item owns the same columns in every pass, so y may alias x. */
__kernel void lt_softmax_forward(ulong cols, __global const float *x, ulong xoff,
                                 __global const float *bias, ulong boff, int has_bias,
                                 __global float *y, ulong yoff, __local float *s)
{
    ulong base = get_group_id(0) * cols;
    uint lid = get_local_id(0), l = get_local_size(0);
    float m = -INFINITY;
    for (ulong c = lid; c < cols; c += l)
        m = fmax(m, x[xoff + base + c] + (has_bias ? bias[boff + c] : 0.0f));
    m = lt_group_max(s, m);
    float sum = 0.0f;
    for (ulong c = lid; c < cols; c += l)
        sum += exp(x[xoff + base + c] + (has_bias ? bias[boff + c] : 0.0f) - m);
    sum = lt_group_sum(s, sum);
    for (ulong c = lid; c < cols; c += l)
        y[yoff + base + c] = exp(x[xoff + base + c] + (has_bias ? bias[boff + c] : 0.0f) - m) / sum;
}

/* Softmax backward per row: dx_i = y_i * (dy_i - sum_j dy_j*y_j); one work-group per row.
 * The dot product is complete (barrier) before any dx is written, so dx may alias dy. */
__kernel void lt_softmax_backward(ulong cols, __global const float *y, ulong yoff,
                                  __global const float *dy, ulong dyoff, __global float *dx,
                                  ulong dxoff, __local float *s)
{
    ulong base = get_group_id(0) * cols;
    uint lid = get_local_id(0), l = get_local_size(0);
    float dot = 0.0f;
    for (ulong c = lid; c < cols; c += l) dot += dy[dyoff + base + c] * y[yoff + base + c];
    dot = lt_group_sum(s, dot);
    for (ulong c = lid; c < cols; c += l)
        dx[dxoff + base + c] = y[yoff + base + c] * (dy[dyoff + base + c] - dot);
}
