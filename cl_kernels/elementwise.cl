/* Buffer fills and pointwise arithmetic. */

/* buf[off + i] = value. */
__kernel void lt_fill(ulong n, __global float *buf, ulong off, float value)
{
    LT_FOR_EACH(i, n) buf[off + i] = value;
}

/* y = alpha*x + beta*y; beta == 0 never reads y, so NaN garbage there is overwritten. */
__kernel void lt_axpby(ulong n, float alpha, __global const float *x, ulong xoff,
                       float beta, __global float *y, ulong yoff)
{
    if (beta == 0.0f) {
        LT_FOR_EACH(i, n) y[yoff + i] = alpha * x[xoff + i];
    } else {
        LT_FOR_EACH(i, n) y[yoff + i] = alpha * x[xoff + i] + beta * y[yoff + i];
    }
}

/* z = x * y; each element is read before it is written by the same work-item, so z may
 * alias x or y. */
__kernel void lt_mul(ulong n, __global const float *x, ulong xoff, __global const float *y,
                     ulong yoff, __global float *z, ulong zoff)
{
    LT_FOR_EACH(i, n) z[zoff + i] = x[xoff + i] * y[yoff + i];
}

/* C = beta*C on a strided rows x cols matrix (GEMM with k == 0); beta == 0 writes zeros.
 * 2-D launch: dimension 0 runs over columns (coalesced), 1 over rows. */
__kernel void lt_scale2d(ulong rows, ulong cols, float beta, __global float *c, ulong coff,
                         ulong ldc)
{
    ulong col = get_global_id(0), row = get_global_id(1);
    if (col >= cols || row >= rows) return;
    ulong i = coff + row * ldc + col;
    c[i] = beta == 0.0f ? 0.0f : beta * c[i];
}

/* dst row r = src row idx[r]. An index past the end of src (the caller's error) yields a
 * row of NaN instead of an out-of-bounds read. 2-D launch like lt_scale2d. */
__kernel void lt_gather_rows(ulong rows, ulong cols, __global const float *src, ulong soff,
                             ulong src_n, __global const uint *idx, ulong ioff,
                             __global float *dst, ulong doff)
{
    ulong col = get_global_id(0), row = get_global_id(1);
    if (col >= cols || row >= rows) return;
    ulong s = soff + (ulong)idx[ioff + row] * cols + col;
    dst[doff + row * cols + col] = s < src_n ? src[s] : NAN;
}
