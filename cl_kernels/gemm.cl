/* Split-K GEMM (cl_math.c): for a GEMM whose output is a handful of tiles and whose k is
 * long, such as a weight gradient (k = batch x positions or batch x steps), one
 * work-group per output tile would leave most of a GPU idle through a long loop. Each
 * work-group here computes one 16 x 16 tile over one slice of k into a partial, and a
 * second kernel sums the slices in a fixed order, so results do not depend on timing. */

/* Partial s (get_group_id(2)) of alpha*op(A)*op(B), row-major, over depth
 * [s*kc, min(k, (s+1)*kc)), into p[s*m*n ..] as a dense m x n matrix. op(A) is m x k
 * (stored k x m when ta), op(B) is k x n (stored n x k when tb). Work-groups are
 * LT_GEMM_TILE x LT_GEMM_TILE; as_ and bs are __local arrays of LT_GEMM_TILE x
 * (LT_GEMM_TILE + 1) floats (the padding keeps the transposed stores off one bank). */
#define LT_GEMM_TILE 16
#define LT_GEMM_LD (LT_GEMM_TILE + 1)
__kernel void lt_gemm_splitk(ulong m, ulong n, ulong k, ulong kc, float alpha, int ta, __global const float *a,
                             ulong aoff, ulong lda, int tb, __global const float *b, ulong boff, ulong ldb,
                             __global float *p, __local float *as_, __local float *bs)
{
    const size_t lx = get_local_id(0), ly = get_local_id(1), s = get_group_id(2);
    const size_t r0 = get_group_id(1) * LT_GEMM_TILE, c0 = get_group_id(0) * LT_GEMM_TILE;
    const size_t k0 = s * kc, k1 = min((size_t)k, k0 + (size_t)kc);
    float acc = 0.0f;
    for (size_t q0 = k0; q0 < k1; q0 += LT_GEMM_TILE) {
        /* as_[row][depth], bs[depth][col]; adjacent work-items read adjacent addresses
         * whichever way the operand is stored */
        size_t r = r0 + (ta ? lx : ly), qa = q0 + (ta ? ly : lx);
        float av = r < m && qa < k1 ? a[aoff + (ta ? qa * lda + r : r * lda + qa)] : 0.0f;
        as_[ta ? lx * LT_GEMM_LD + ly : ly * LT_GEMM_LD + lx] = av;
        size_t c = c0 + (tb ? ly : lx), qb = q0 + (tb ? lx : ly);
        float bv = c < n && qb < k1 ? b[boff + (tb ? c * ldb + qb : qb * ldb + c)] : 0.0f;
        bs[tb ? lx * LT_GEMM_LD + ly : ly * LT_GEMM_LD + lx] = bv;
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int i = 0; i < LT_GEMM_TILE; i++) acc += as_[ly * LT_GEMM_LD + i] * bs[i * LT_GEMM_LD + lx];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const size_t row = r0 + ly, col = c0 + lx;
    if (row < m && col < n) p[(s * m + row) * n + col] = alpha * acc;
}

/* C = sum over the slices of p + beta*C (C not read when beta == 0), slices summed in
 * order; 2-D over (n, m). */
__kernel void lt_splitk_sum(ulong m, ulong n, ulong slices, __global const float *p, float beta, __global float *c,
                            ulong coff, ulong ldc)
{
    const size_t col = get_global_id(0), row = get_global_id(1);
    if (row >= m || col >= n) return;
    float acc = 0.0f;
    for (size_t s = 0; s < slices; s++) acc += p[(s * m + row) * n + col];
    const size_t ci = coff + row * ldc + col;
    c[ci] = beta == 0.0f ? acc : acc + beta * c[ci];
}
