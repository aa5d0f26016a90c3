/* The OpenCL backend's linear algebra and layer ops (elementwise.cl, activation.cl,
 * reduce.cl's sums): GEMM through CLBlast, axpby, mul, sum, the activations with and
 * without bias, the fused bias-gradient pass, and row gathers. */
#include <stdint.h>
#include "cl_launch.h"
#ifdef LT_HAVE_CLBLAST_CPP
#include "clblast_gemm.h"
#else
#include <clblast_c.h>
#endif

/* ------------------------------------------------------------------ linear algebra */

/* Turns a CLBlast status (an OpenCL error code above -1000, CLBlast's own below) into ours. */
static lt_status blast_fail(cl_backend *b, int s)
{
    if (s == 0) return LT_OK;
    if (s > -1000) return lt_cl_fail(b, (cl_int)s, "gemm (CLBlast)");
    return lt_backend_set_error(&b->base, LT_ERR_DEVICE, "gemm: CLBlast failed with status %d", s);
}

/* 1 when gemm.cl's tiles fit b's limits (cl_internal.h). */
int lt_cl_split_k_fits(const cl_backend *b)
{
    const size_t t = LT_CL_GEMM_TILE;
    return b->wg_max[K_GEMM_SPLITK] >= t * t && b->lim.max_item[0] >= t && b->lim.max_item[1] >= t &&
           b->local_free[K_GEMM_SPLITK] >= 2 * t * (t + 1) * sizeof(float);
}

/* Slices of k to split a GEMM into (1: CLBlast computes it whole). Automatically, a GEMM
 * is split when its output has too few 16 x 16 tiles to give each compute unit four
 * work-groups and k is long: CLBlast runs one work-group per output tile, so a weight
 * gradient such as a 16 x 144 convolution filter over k = 147456 kept a 132-unit GPU
 * nearly idle for 11 ms. LATENT_CL_SPLIT_K=N forces N slices (1: never split). */
static size_t split_k_slices(const cl_backend *b, size_t m, size_t n, size_t k)
{
    const size_t t = LT_CL_GEMM_TILE;
    if (!lt_cl_split_k_fits(b)) return 1; /* a device (or a cap) too small for the tiles: CLBlast */
    size_t most = (k + t - 1) / t; /* every slice at least one tile deep */
    if (b->split_k >= 1) return b->split_k < most ? (size_t)b->split_k : most;
    if (k < LT_CL_SPLIT_K_MIN) return 1;
    size_t tiles = ((m + t - 1) / t) * ((n + t - 1) / t);
    size_t want = 4 * (size_t)(b->lim.units ? b->lim.units : 16);
    if (tiles * 2 > want) return 1;
    size_t slices = (want + tiles - 1) / tiles, deepest = k / LT_CL_SPLIT_K_SLICE;
    return slices < deepest ? slices : deepest;
}

/* C = alpha*op(A)*op(B) + beta*C in slices of k (gemm.cl): the partials into the splitk
 * scratch, then their sum into C. */
static lt_status gemm_split_k(cl_backend *b, size_t slices, int trans_a, int trans_b, size_t m, size_t n, size_t k,
                              float alpha, const lt_buf *a, size_t aoff, size_t lda, const lt_buf *bm, size_t boff,
                              size_t ldb, float beta, lt_buf *c, size_t coff, size_t ldc)
{
    const size_t t = LT_CL_GEMM_TILE;
    size_t kc = (k + slices - 1) / slices;
    kc = (kc + t - 1) / t * t; /* slices start on whole tiles */
    slices = (k + kc - 1) / kc;
    if (m * n > SIZE_MAX / sizeof(float) / slices)
        return lt_backend_set_error(&b->base, LT_ERR_NOMEM, "gemm: %zu x %zu partials of %zu slices overflow", m, n,
                                    slices);
    lt_status st = lt_cl_grow_scratch(b, &b->splitk, slices * m * n * sizeof(float), "gemm", "the split-K partials");
    if (st != LT_OK) return st;
    kargs ka = args_of(b, K_GEMM_SPLITK);
    arg_u64(&ka, m);
    arg_u64(&ka, n);
    arg_u64(&ka, k);
    arg_u64(&ka, kc);
    arg_f32(&ka, alpha);
    arg_i32(&ka, trans_a != 0);
    arg_at(&ka, a, aoff);
    arg_u64(&ka, lda);
    arg_i32(&ka, trans_b != 0);
    arg_at(&ka, bm, boff);
    arg_u64(&ka, ldb);
    arg_cl(&ka, b->splitk.mem);
    arg_local(&ka, t * (t + 1) * sizeof(float));
    arg_local(&ka, t * (t + 1) * sizeof(float));
    st = lt_cl_launch_tiles(b, &ka, (n + t - 1) / t, (m + t - 1) / t, slices, t, t, "gemm (split-K)");
    if (st != LT_OK) return st;
    kargs ks = args_of(b, K_SPLITK_SUM);
    arg_u64(&ks, m);
    arg_u64(&ks, n);
    arg_u64(&ks, slices);
    arg_cl(&ks, b->splitk.mem);
    arg_f32(&ks, beta);
    arg_at(&ks, c, coff);
    arg_u64(&ks, ldc);
    st = lt_cl_launch_2d(b, &ks, n, m, "gemm (split-K sum)");
    if (st == LT_OK) b->split_gemms++;
    return st;
}

/* C = alpha*op(A)*op(B) + beta*C through CLBlast, or split-K (above) when that keeps more
 * of the device busy; k == 0 scales C with our own kernel. */
lt_status lt_cl_gemm(lt_backend *be, int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
                     const lt_buf *a, size_t aoff, size_t lda, const lt_buf *bm, size_t boff, size_t ldb, float beta,
                     lt_buf *c, size_t coff, size_t ldc)
{
    cl_backend *b = (cl_backend *)be;
    if (m == 0 || n == 0) return LT_OK;
    if (k == 0) { /* op(A)*op(B) is an empty sum: C = beta*C, and CLBlast rejects k == 0 */
        kargs ka = args_of(b, K_SCALE2D);
        arg_u64(&ka, m);
        arg_u64(&ka, n);
        arg_f32(&ka, beta);
        arg_at(&ka, c, coff);
        arg_u64(&ka, ldc);
        return lt_cl_launch_2d(b, &ka, n, m, "gemm");
    }
    size_t slices = split_k_slices(b, m, n, k);
    if (slices > 1)
        return gemm_split_k(b, slices, trans_a, trans_b, m, n, k, alpha, a, aoff, lda, bm, boff, ldb, beta, c, coff,
                            ldc);
    /* CLBlast never reads C when beta == 0, so NaN garbage in C is overwritten as required */
#ifdef LT_HAVE_CLBLAST_CPP
    /* Run with the temp buffer we have; CLBlast checks its size before enqueueing anything,
     * so on the first GEMM, or one needing more, ask for the size, grow and run again.
     * In steady state that is one CLBlast call and no allocation. */
    int s = LT_CLBLAST_INSUFFICIENT_TEMP;
    if (b->gemm_temp.mem)
        s = lt_clblast_sgemm(trans_a, trans_b, m, n, k, alpha, a->mem, aoff, lda, bm->mem, boff, ldb, beta, c->mem,
                             coff, ldc, &b->queue, b->gemm_temp.mem);
    if (s == LT_CLBLAST_INSUFFICIENT_TEMP) {
        size_t need = 0;
        s = lt_clblast_sgemm_temp_size(trans_a, trans_b, m, n, k, aoff, lda, boff, ldb, coff, ldc, &b->queue, &need);
        if (s != 0) return blast_fail(b, s);
        lt_status st = lt_cl_grow_scratch(b, &b->gemm_temp, need, "gemm", "CLBlast's temp buffer");
        if (st != LT_OK) return st;
        s = lt_clblast_sgemm(trans_a, trans_b, m, n, k, alpha, a->mem, aoff, lda, bm->mem, boff, ldb, beta, c->mem,
                             coff, ldc, &b->queue, b->gemm_temp.mem);
    }
    return blast_fail(b, s);
#else
    /* no C++ at configure time: the C API, which allocates its scratch per indirect call */
    CLBlastStatusCode s = CLBlastSgemm(CLBlastLayoutRowMajor, trans_a ? CLBlastTransposeYes : CLBlastTransposeNo,
                                       trans_b ? CLBlastTransposeYes : CLBlastTransposeNo, m, n, k, alpha, a->mem,
                                       aoff, lda, bm->mem, boff, ldb, beta, c->mem, coff, ldc, &b->queue, NULL);
    return blast_fail(b, (int)s);
#endif
}

/* y = alpha*x + beta*y. */
lt_status lt_cl_axpby(lt_backend *be, size_t n, float alpha, const lt_buf *x, size_t xoff, float beta, lt_buf *y,
                          size_t yoff)
{
    cl_backend *b = (cl_backend *)be;
    if (n == 0) return LT_OK;
    kargs a = args_of(b, K_AXPBY);
    arg_u64(&a, n);
    arg_f32(&a, alpha);
    arg_at(&a, x, xoff);
    arg_f32(&a, beta);
    arg_at(&a, y, yoff);
    return lt_cl_launch_1d(b, &a, n, "axpby");
}

/* z = x * y elementwise. */
lt_status lt_cl_mul(lt_backend *be, size_t n, const lt_buf *x, size_t xoff, const lt_buf *y, size_t yoff,
                        lt_buf *z, size_t zoff)
{
    cl_backend *b = (cl_backend *)be;
    if (n == 0) return LT_OK;
    kargs a = args_of(b, K_MUL);
    arg_u64(&a, n);
    arg_at(&a, x, xoff);
    arg_at(&a, y, yoff);
    arg_at(&a, z, zoff);
    return lt_cl_launch_1d(b, &a, n, "mul");
}

/* out[ooff] = sum of x[xoff, xoff+n), two deterministic passes (0 when n == 0). */
lt_status lt_cl_sum(lt_backend *be, size_t n, const lt_buf *x, size_t xoff, lt_buf *out, size_t ooff)
{
    cl_backend *b = (cl_backend *)be;
    kargs a = args_of(b, K_SUM_PARTIAL);
    arg_u64(&a, n);
    arg_at_or(&a, x, xoff, b->scratch); /* n == 0 may come with no x: the kernel reads nothing */
    return lt_cl_launch_reduction(b, &a, n, K_SUM_FINAL, out, ooff, "sum");
}

/* ------------------------------------------------------------------ layers */

/* Work-group size for a row-wise kernel over rows of cols elements. */
static size_t row_group_size(cl_backend *b, int kid, size_t cols) { return lt_cl_pow2_ceil_cap(cols, b->wg[kid]); }

/* y = act(x + bias): softmax a group per row, else pointwise (2-D with a bias). */
lt_status lt_cl_bias_act_forward(lt_backend *be, size_t rows, size_t cols, const lt_buf *x, size_t xoff,
                                     const lt_buf *bias, size_t boff, lt_backend_act act, float alpha, lt_buf *y,
                                     size_t yoff)
{
    cl_backend *b = (cl_backend *)be;
    const char *op = "bias_act_forward";
    size_t n = rows * cols;
    if (n == 0) return LT_OK;
    int code = lt_cl_act_code(act);
    if (code == -1) {
        size_t l = row_group_size(b, K_SOFTMAX_FORWARD, cols);
        kargs a = args_of(b, K_SOFTMAX_FORWARD);
        arg_u64(&a, cols);
        arg_at(&a, x, xoff);
        arg_at_or(&a, bias, bias ? boff : 0, b->scratch);
        arg_i32(&a, bias != NULL);
        arg_at(&a, y, yoff);
        arg_local(&a, l * 4);
        return lt_cl_launch_groups(b, &a, rows, l, op);
    }
    if (!bias) {
        kargs a = args_of(b, K_ACT_FORWARD);
        arg_u64(&a, n);
        arg_at(&a, x, xoff);
        arg_i32(&a, code);
        arg_f32(&a, alpha);
        arg_at(&a, y, yoff);
        return lt_cl_launch_1d(b, &a, n, op);
    }
    kargs a = args_of(b, K_BIAS_ACT_FORWARD);
    arg_u64(&a, rows);
    arg_u64(&a, cols);
    arg_at(&a, x, xoff);
    arg_at(&a, bias, boff);
    arg_i32(&a, code);
    arg_f32(&a, alpha);
    arg_at(&a, y, yoff);
    return lt_cl_launch_2d(b, &a, cols, rows, op);
}

/* dx = dy * act'(.) from the activation's output y. */
lt_status lt_cl_act_backward(lt_backend *be, size_t rows, size_t cols, lt_backend_act act, float alpha,
                                 const lt_buf *y, size_t yoff, const lt_buf *dy, size_t dyoff, lt_buf *dx, size_t dxoff)
{
    cl_backend *b = (cl_backend *)be;
    const char *op = "act_backward";
    size_t n = rows * cols;
    if (n == 0) return LT_OK;
    int code = lt_cl_act_code(act);
    if (code == -1) {
        size_t l = row_group_size(b, K_SOFTMAX_BACKWARD, cols);
        kargs a = args_of(b, K_SOFTMAX_BACKWARD);
        arg_u64(&a, cols);
        arg_at(&a, y, yoff);
        arg_at(&a, dy, dyoff);
        arg_at(&a, dx, dxoff);
        arg_local(&a, l * 4);
        return lt_cl_launch_groups(b, &a, rows, l, op);
    }
    kargs a = args_of(b, K_ACT_BACKWARD);
    arg_u64(&a, n);
    arg_i32(&a, code);
    arg_f32(&a, alpha);
    arg_at(&a, y, yoff);
    arg_at(&a, dy, dyoff);
    arg_at(&a, dx, dxoff);
    return lt_cl_launch_1d(b, &a, n, op);
}

/* dz = dy * act'(y) (when not linear) and db[c] = sum over rows of dz[r, c] (+ beta*db[c]). */
lt_status lt_cl_bias_act_backward(lt_backend *be, size_t rows, size_t cols, lt_backend_act act, float alpha,
                                      const lt_buf *y, size_t yoff, const lt_buf *dy, size_t dyoff, lt_buf *dz,
                                      size_t dzoff, float beta, lt_buf *db, size_t dboff)
{
    cl_backend *b = (cl_backend *)be;
    const char *op = "bias_act_backward";
    size_t n = rows * cols;
    if (cols == 0) return LT_OK;
    /* narrow matrices give more lanes to the rows; lx and the group size fix the order.
     * Tall ones (a convolution's rows are batch x pixels) split the rows into chunks, so
     * that more than a handful of work-groups share them, and add the chunks' partial
     * sums in a second pass. */
    size_t l = b->wg[K_BIAS_ACT_BACKWARD], lx = lt_cl_pow2_ceil_cap(cols, l < 32 ? l : 32), ly = l / lx;
    size_t colgroups = cols / lx + (cols % lx != 0), chunks = 1, lane_rows = ly * LT_CL_BIAS_LANE_ROWS;
    if (rows > lane_rows && cols <= LT_CL_SCRATCH / 2) {
        chunks = rows / lane_rows + (rows % lane_rows != 0);
        if (chunks > LT_CL_MAX_PARTS) chunks = LT_CL_MAX_PARTS;
        if (chunks > LT_CL_SCRATCH / cols) chunks = LT_CL_SCRATCH / cols;
    }
    size_t rpc = rows / chunks + (rows % chunks != 0);
    kargs a = args_of(b, K_BIAS_ACT_BACKWARD);
    arg_u64(&a, rows);
    arg_u64(&a, cols);
    arg_u64(&a, rpc);
    arg_i32(&a, lt_cl_act_code(act));
    arg_f32(&a, alpha);
    arg_at_or(&a, y, y ? yoff : 0, b->scratch);
    arg_at_or(&a, dy, dyoff, b->scratch); /* rows == 0 may come with no dy: nothing is read */
    arg_opt(&a, n ? dz : NULL, dzoff, b->scratch);
    arg_f32(&a, beta);
    arg_at(&a, db, dboff);
    arg_cl(&a, b->scratch);
    arg_u32(&a, (cl_uint)lx);
    arg_local(&a, l * 4);
    lt_status st = lt_cl_launch_group_rows(b, &a, colgroups, chunks, l, op);
    if (st != LT_OK || chunks == 1) return st;
    kargs f = args_of(b, K_COLSUM_FINAL);
    arg_u64(&f, chunks);
    arg_u64(&f, cols);
    arg_cl(&f, b->scratch);
    arg_f32(&f, beta);
    arg_at(&f, db, dboff);
    return lt_cl_launch_1d(b, &f, cols, op);
}

/* dst row r = src row idx[r] (NaN rows for indices past src). */
lt_status lt_cl_gather_rows(lt_backend *be, size_t rows, size_t cols, const lt_buf *src, size_t soff,
                                const lt_buf *idx, size_t ioff, lt_buf *dst, size_t doff)
{
    cl_backend *b = (cl_backend *)be;
    if (rows * cols == 0) return LT_OK;
    kargs a = args_of(b, K_GATHER_ROWS);
    arg_u64(&a, rows);
    arg_u64(&a, cols);
    arg_at(&a, src, soff);
    arg_u64(&a, src->n);
    arg_at(&a, idx, ioff);
    arg_at(&a, dst, doff);
    return lt_cl_launch_2d(b, &a, cols, rows, "gather_rows");
}
