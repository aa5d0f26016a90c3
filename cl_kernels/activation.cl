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

/* A layer's backward pass before its GEMMs (backend.h, bias_act_backward): dz = dy *
 * act'(y) when has_dz (dz may be dy: each element is read, then written, by one item),
 * and the column sums of dz (else of dy) over the rows [chunk * rpc, chunk * rpc + rpc)
 * of chunk get_group_id(1). A work-group of lx*ly items covers lx adjacent columns
 * (coalesced reads of a row); its ly lanes take rows lane, lane+ly, ... and are then
 * summed in tree order. With one chunk the sums go to db (+ beta db); with several, row
 * chunk's to part[chunk * cols + col], for lt_colsum_final. lx and ly are powers of two;
 * the order depends only on the sizes, so results are the same on every run. */
__kernel void lt_bias_act_backward(ulong rows, ulong cols, ulong rpc, int act, float alpha, __global const float *y,
                                   ulong yoff, __global const float *dy, ulong dyoff, int has_dz, __global float *dz,
                                   ulong dzoff, float beta, __global float *db, ulong dboff, __global float *part,
                                   uint lx, __local float *s)
{
    uint lid = get_local_id(0), ly = get_local_size(0) / lx;
    uint lane = lid / lx, cx = lid - lane * lx;
    ulong col = (ulong)get_group_id(0) * lx + cx, chunk = get_group_id(1);
    ulong r0 = chunk * rpc, r1 = min(rows, r0 + rpc);
    float acc = 0.0f;
    if (col < cols)
        for (ulong r = r0 + lane; r < r1; r += ly) {
            ulong i = r * cols + col;
            float v = dy[dyoff + i];
            if (has_dz) {
                v = lt_act_grad(act, y[yoff + i], v, alpha);
                dz[dzoff + i] = v;
            }
            acc += v;
        }
    s[lid] = acc;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint h = ly >> 1; h > 0; h >>= 1) {
        if (lane < h) s[lid] += s[lid + h * lx];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lane == 0 && col < cols) {
        if (get_num_groups(1) > 1)
            part[chunk * cols + col] = s[cx];
        else
            db[dboff + col] = beta == 0.0f ? s[cx] : s[cx] + beta * db[dboff + col];
    }
}

/* db[c] = the sum of the parts chunks' partial sums of column c, in chunk order (+ beta db). */
__kernel void lt_colsum_final(ulong parts, ulong cols, __global const float *part, float beta, __global float *db,
                              ulong dboff)
{
    LT_FOR_EACH(c, cols) {
        float acc = 0.0f;
        for (ulong p = 0; p < parts; p++) acc += part[p * cols + c];
        db[dboff + c] = beta == 0.0f ? acc : acc + beta * db[dboff + c];
    }
}
