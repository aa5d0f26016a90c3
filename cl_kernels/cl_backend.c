/* The OpenCL backend: one context and in-order queue per backend, the kernel program
 * in the .cl files here built once at open (through the on-disk cache), CLBlast for GEMM.
 *
 * Every op validates its ranges on the host, sets the arguments of a kernel object
 * created at open and enqueues it; nothing waits for the device except download() and
 * finish(). A backend is meant to be driven from one thread at a time (kernel arguments
 * are set on shared kernel objects); separate backends are fully independent. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cl_internal.h"
#include "cl_hooks.h"
#ifdef LT_HAVE_CLBLAST_CPP
#include "clblast_gemm.h"
#else
#include <clblast_c.h>
#endif

/* Kernel objects, one per kernel function, indexed by these ids. */
enum {
    K_FILL, K_AXPBY, K_MUL, K_SCALE2D, K_GATHER_ROWS,
    K_ACT_FORWARD, K_BIAS_ACT_FORWARD, K_ACT_BACKWARD, K_SOFTMAX_FORWARD, K_SOFTMAX_BACKWARD,
    K_SUM_PARTIAL, K_SUM_FINAL, K_COUNT_PARTIAL, K_COUNT_FINAL, K_BIAS_ACT_BACKWARD, K_COLSUM_FINAL,
    K_LOSS_PARTIAL, K_SGD, K_RMSPROP, K_ADAM, K_SUMSQ_PARTIAL, K_CLIP_BY_NORM,
    K_RANDOM_UNIFORM, K_RANDOM_NORMAL, K_DROPOUT_MASK,
    K_IM2COL, K_COL2IM, K_MAXPOOL_FORWARD, K_MAXPOOL_BACKWARD, K_UPSAMPLE_FORWARD,
    K_UPSAMPLE_BACKWARD, K_AFFINE_RESAMPLE,
    K_VAE_FORWARD, K_VAE_BACKWARD, K_KL_NORMAL_PARTIAL, K_SPARSITY_KL_PARTIAL, K_L1_PARTIAL,
    K_COPY_STRIDED, K_RNN_FORWARD, K_RNN_BACKWARD,
    K_COUNT
};

/* Kernel function names, in the order of the ids above. */
static const char *const kernel_names[K_COUNT] = {
    "lt_fill", "lt_axpby", "lt_mul", "lt_scale2d", "lt_gather_rows",
    "lt_act_forward", "lt_bias_act_forward", "lt_act_backward", "lt_softmax_forward",
    "lt_softmax_backward",
    "lt_sum_partial", "lt_sum_final", "lt_count_partial", "lt_count_final", "lt_bias_act_backward",
    "lt_colsum_final",
    "lt_loss_partial", "lt_sgd", "lt_rmsprop", "lt_adam", "lt_sumsq_partial", "lt_clip_by_norm",
    "lt_random_uniform", "lt_random_normal", "lt_dropout_mask",
    "lt_im2col", "lt_col2im", "lt_maxpool_forward", "lt_maxpool_backward", "lt_upsample_forward",
    "lt_upsample_backward", "lt_affine_resample",
    "lt_vae_sample_forward", "lt_vae_sample_backward", "lt_kl_normal_partial", "lt_sparsity_kl_partial",
    "lt_l1_partial", "lt_copy_strided", "lt_rnn_forward", "lt_rnn_backward",
};

#define LT_CL_WG 256             /* preferred work-group size (a multiple of 64)        */
#define LT_CL_MAX_PARTS 256      /* work-groups in a reduction's first pass             */
#define LT_CL_SCRATCH 65536      /* floats of reduction scratch (partials)              */
#define LT_CL_BIAS_LANE_ROWS 128 /* rows per lane above which a column sum splits rows  */
#define LT_CL_LOSS_ONE_GROUP 32768 /* losses over at most this many elements: one group */
#define LT_CL_MAX_GROUPS 65536   /* cap on work-groups of grid-stride 1-D launches      */
#define LT_CL_BUILD_OPTIONS ""   /* never fast-math or mad-enable: philox must be exact */
#define LT_CL_GEMM_TEMP_QUANTUM ((size_t)1 << 16) /* GEMM temp sizes round up to 64 KiB */
#define LT_CL_CONV_COL_BYTES ((size_t)64 << 20)   /* im2col chunks stay within 64 MiB     */

/* A device buffer: the cl_mem and its size in 4-byte elements. */
struct lt_buf {
    cl_mem mem; /* at least one element, even when n == 0 */
    size_t n;   /* elements the caller asked for          */
};

/* The backend instance; starts with the common head. */
typedef struct cl_backend {
    struct lt_backend base;     /* ops, device_name, error                          */
    cl_context ctx;             /* one context with one device                      */
    cl_command_queue queue;     /* in-order: ops run in the order they are issued   */
    cl_device_id dev;           /* the device                                       */
    cl_program prog;            /* all our kernels                                  */
    cl_kernel k[K_COUNT];       /* one kernel object per function, reused           */
    size_t wg[K_COUNT];         /* work-group size per kernel (a power of two)      */
    size_t max_item[2];         /* CL_DEVICE_MAX_WORK_ITEM_SIZES[0..1]              */
    cl_mem scratch;             /* LT_CL_SCRATCH floats of reduction partials       */
    cl_ulong max_alloc;         /* CL_DEVICE_MAX_MEM_ALLOC_SIZE                     */
    cl_ulong global_mem;        /* CL_DEVICE_GLOBAL_MEM_SIZE                        */
    cl_ulong allocated;         /* bytes in live buffers of this backend            */
    cl_mem gemm_temp;           /* CLBlast's GEMM scratch, grown on demand, or NULL */
    size_t gemm_temp_bytes;     /* its size                                         */
    unsigned long gemm_temp_allocs; /* times it was (re)allocated                   */
    cl_mem conv_col;            /* im2col columns of one chunk, grown on demand     */
    size_t conv_col_bytes;      /* its size                                         */
    unsigned long conv_col_allocs; /* times it was (re)allocated                    */
} cl_backend;

/* ------------------------------------------------------------------ helpers */

/* Turns an OpenCL error into a status and message; allocation failures are NOMEM. */
static lt_status cl_fail(cl_backend *b, cl_int e, const char *what)
{
    if (e == CL_SUCCESS) return LT_OK;
    if (e == CL_MEM_OBJECT_ALLOCATION_FAILURE || e == CL_OUT_OF_RESOURCES || e == CL_OUT_OF_HOST_MEMORY)
        return lt_backend_set_error(&b->base, LT_ERR_NOMEM, "%s: out of memory on %s (%s)", what,
                                    b->base.device_name, lt_cl_error_name(e));
    return lt_backend_set_error(&b->base, LT_ERR_DEVICE, "%s failed: %s (%d)", what,
                                lt_cl_error_name(e), (int)e);
}

/* buf[off, off+n) for the shared checks of lib/backend_check.c (buf NULL: not given). */
static lt_buf_range range_of(const char *name, const lt_buf *buf, size_t off, size_t n)
{
    lt_buf_range r = {name, buf ? (const void *)buf->mem : NULL, buf ? buf->n : 0, off, n};
    return r;
}

/* Largest power of two <= v (v >= 1). */
static size_t pow2_floor(size_t v)
{
    size_t p = 1;
    while (p <= v / 2) p *= 2;
    return p;
}

/* Smallest power of two >= v, capped at cap (a power of two). */
static size_t pow2_ceil_cap(size_t v, size_t cap)
{
    size_t p = 1;
    while (p < v && p < cap) p *= 2;
    return p;
}

/* Kernel argument setter: remembers the next index and the first error. */
typedef struct kargs {
    cl_kernel k; /* kernel being prepared    */
    cl_uint i;   /* next argument index      */
    cl_int err;  /* first failure, or success */
} kargs;

/* Starts setting the arguments of kernel kid. */
static kargs args_of(cl_backend *b, int kid)
{
    kargs a = { b->k[kid], 0, CL_SUCCESS };
    return a;
}

/* Sets the next argument from size bytes at v (v NULL: a __local array of size bytes). */
static void arg_raw(kargs *a, size_t size, const void *v)
{
    if (a->err == CL_SUCCESS) a->err = clSetKernelArg(a->k, a->i, size, v);
    a->i++;
}

/* Next argument: a cl_mem. */
static void arg_cl(kargs *a, cl_mem m) { arg_raw(a, sizeof m, &m); }
/* Next argument: a buffer, or fallback when buf is NULL (an unused operand). */
static void arg_buf(kargs *a, const lt_buf *buf, cl_mem fallback) { arg_cl(a, buf ? buf->mem : fallback); }
/* Next argument: a ulong size or offset. */
static void arg_u64(kargs *a, uint64_t v) { cl_ulong u = v; arg_raw(a, sizeof u, &u); }
/* Next argument: a uint. */
static void arg_u32(kargs *a, cl_uint v) { arg_raw(a, sizeof v, &v); }
/* Next argument: an int. */
static void arg_i32(kargs *a, cl_int v) { arg_raw(a, sizeof v, &v); }
/* Next argument: a float. */
static void arg_f32(kargs *a, float v) { cl_float f = v; arg_raw(a, sizeof f, &f); }
/* Next argument: a __local array of bytes. */
static void arg_local(kargs *a, size_t bytes) { arg_raw(a, bytes, NULL); }
/* Next three arguments: an optional operand's flag (int: buf != NULL), its buffer
 * (fallback when NULL: the kernel does not read it then) and its offset (0 when NULL). */
static void arg_opt(kargs *a, const lt_buf *buf, size_t off, cl_mem fallback)
{
    arg_i32(a, buf != NULL);
    arg_buf(a, buf, fallback);
    arg_u64(a, buf ? off : 0);
}

/* Enqueues an ND-range after checking the argument setup. */
static lt_status enqueue(cl_backend *b, const kargs *a, cl_uint dims, const size_t *global,
                         const size_t *local, const char *what)
{
    if (a->err != CL_SUCCESS) return cl_fail(b, a->err, what);
    return cl_fail(b, clEnqueueNDRangeKernel(b->queue, a->k, dims, NULL, global, local, 0, NULL, NULL), what);
}

/* Number of work-groups for a grid-stride 1-D kernel over n items with groups of l. */
static size_t groups_for(size_t n, size_t l, size_t cap)
{
    size_t g = n / l + (n % l != 0);
    if (g > cap) g = cap;
    return g ? g : 1;
}

/* Launches a grid-stride 1-D kernel over n items. */
static lt_status launch_1d(cl_backend *b, const kargs *a, int kid, size_t n, const char *what)
{
    size_t l = b->wg[kid];
    size_t g = groups_for(n, l, LT_CL_MAX_GROUPS) * l;
    return enqueue(b, a, 1, &g, &l, what);
}

/* Launches exactly groups work-groups of l items (1-D). */
static lt_status launch_groups(cl_backend *b, const kargs *a, size_t groups, size_t l, const char *what)
{
    size_t g = groups * l;
    return enqueue(b, a, 1, &g, &l, what);
}

/* Launches rows x groups work-groups of l items: row r's groups have get_group_id(1) == r. */
static lt_status launch_group_rows(cl_backend *b, const kargs *a, size_t groups, size_t rows, size_t l,
                                   const char *what)
{
    size_t global[2] = { groups * l, rows }, local[2] = { l, 1 };
    return enqueue(b, a, 2, global, local, what);
}

/* Launches a 2-D kernel over (cols, rows). A work-group spans up to 64 columns (256
 * coalesced bytes per row) and as many rows as fit, so narrow and wide matrices both
 * waste little of the rounded-up range. */
static lt_status launch_2d(cl_backend *b, const kargs *a, int kid, size_t cols, size_t rows,
                           const char *what)
{
    size_t l = b->wg[kid];
    size_t cap = l < 64 ? l : 64;
    if (cap > b->max_item[0]) cap = pow2_floor(b->max_item[0]);
    size_t lx = pow2_ceil_cap(cols, cap);
    size_t ly = l / lx;
    if (ly > b->max_item[1]) ly = pow2_floor(b->max_item[1]);
    size_t local[2] = { lx, ly };
    size_t global[2] = { (cols + lx - 1) / lx * lx, (rows + ly - 1) / ly * ly };
    return enqueue(b, a, 2, global, local, what);
}

/* Adds a reduction's final pass: out[ooff + r] = sum of row r's parts partials in
 * scratch, for r < rows (the partials of a row are contiguous). */
static lt_status reduce_final(cl_backend *b, int kid, size_t parts, size_t rows, const lt_buf *out, size_t ooff,
                              const char *what)
{
    kargs a = args_of(b, kid);
    arg_u32(&a, (cl_uint)parts);
    arg_cl(&a, b->scratch);
    arg_cl(&a, out->mem);
    arg_u64(&a, ooff);
    arg_local(&a, b->wg[kid] * 4);
    return launch_group_rows(b, &a, 1, rows, b->wg[kid], what);
}

/* Runs a two-pass reduction whose first-pass arguments a lack only the partials and the
 * __local array: parts groups of l items write partials to scratch, then final pass
 * final_kid sums them into out[ooff]. */
static lt_status launch_reduction(cl_backend *b, kargs *a, size_t parts, size_t l, int final_kid, const lt_buf *out,
                                  size_t ooff, const char *what)
{
    arg_cl(a, b->scratch);
    arg_local(a, l * 4);
    lt_status st = launch_groups(b, a, parts, l, what);
    return st != LT_OK ? st : reduce_final(b, final_kid, parts, 1, out, ooff, what);
}

/* ------------------------------------------------------------------ buffers */

/* Allocates a device buffer of n elements (at least one, as OpenCL requires). */
static lt_status cl_buf_alloc(lt_backend *be, size_t n, lt_buf **out)
{
    cl_backend *b = (cl_backend *)be;
    if (!out) return lt_backend_set_error(be, LT_ERR_ARG, "buf_alloc: out is NULL");
    *out = NULL;
    size_t elems = n ? n : 1;
    if (elems > SIZE_MAX / 4 || (cl_ulong)elems * 4 > b->max_alloc)
        return lt_backend_set_error(be, LT_ERR_NOMEM,
            "cannot allocate %zu floats (%.4g GB): larger than the largest single buffer %s allows "
            "(CL_DEVICE_MAX_MEM_ALLOC_SIZE = %llu bytes, %.4g GB)", n, (double)elems * 4.0 / 1e9,
            b->base.device_name, (unsigned long long)b->max_alloc, (double)b->max_alloc / 1e9);
    size_t bytes = elems * 4;
    if (bytes > b->global_mem - b->allocated)
        return lt_backend_set_error(be, LT_ERR_NOMEM,
            "cannot allocate %zu floats (%zu bytes): %llu of the %llu bytes of device memory on %s "
            "are already in use by latent", n, bytes, (unsigned long long)b->allocated,
            (unsigned long long)b->global_mem, b->base.device_name);
    lt_buf *buf = malloc(sizeof *buf);
    if (!buf) return lt_backend_set_error(be, LT_ERR_NOMEM, "buf_alloc: out of host memory");
    cl_int e = CL_SUCCESS;
    buf->mem = clCreateBuffer(b->ctx, CL_MEM_READ_WRITE, bytes, NULL, &e);
    if (!buf->mem || e != CL_SUCCESS) {
        free(buf);
        if (e == CL_INVALID_BUFFER_SIZE) e = CL_MEM_OBJECT_ALLOCATION_FAILURE;
        char what[96];
        snprintf(what, sizeof what, "allocating %zu bytes", bytes);
        return cl_fail(b, e == CL_SUCCESS ? CL_MEM_OBJECT_ALLOCATION_FAILURE : e, what);
    }
    buf->n = n;
    b->allocated += bytes;
    *out = buf;
    return LT_OK;
}

/* Elements buf was allocated with. */
static size_t cl_buf_elems(const lt_buf *buf) { return buf->n; }

/* Releases a buffer (the device frees it once queued work using it is done). */
static void cl_buf_free(lt_backend *be, lt_buf *buf)
{
    if (!buf) return;
    cl_backend *b = (cl_backend *)be;
    size_t bytes = (buf->n ? buf->n : 1) * 4;
    b->allocated -= bytes <= b->allocated ? bytes : b->allocated;
    clReleaseMemObject(buf->mem);
    free(buf);
}

/* Host to device. Blocking, because the caller may reuse src as soon as this returns. */
static lt_status cl_upload(lt_backend *be, lt_buf *buf, size_t off, const void *src, size_t n)
{
    cl_backend *b = (cl_backend *)be;
    lt_status st = lt_check_upload(be, n, range_of("buf", buf, off, 0), src);
    if (st != LT_OK || n == 0) return st;
    return cl_fail(b, clEnqueueWriteBuffer(b->queue, buf->mem, CL_TRUE, off * 4, n * 4, src, 0, NULL, NULL),
                   "upload");
}

/* Device to host; the blocking read on the in-order queue waits for all earlier work. */
static lt_status cl_download(lt_backend *be, const lt_buf *buf, size_t off, void *dst, size_t n)
{
    cl_backend *b = (cl_backend *)be;
    lt_status st = lt_check_download(be, n, range_of("buf", buf, off, 0), dst);
    if (st != LT_OK) return st;
    if (n == 0) return cl_fail(b, clFinish(b->queue), "download");
    return cl_fail(b, clEnqueueReadBuffer(b->queue, buf->mem, CL_TRUE, off * 4, n * 4, dst, 0, NULL, NULL),
                   "download");
}

/* Device-side copy between non-overlapping ranges. */
static lt_status cl_copy(lt_backend *be, const lt_buf *src, size_t soff, lt_buf *dst, size_t doff, size_t n)
{
    cl_backend *b = (cl_backend *)be;
    lt_status st = lt_check_copy(be, n, range_of("src", src, soff, 0), range_of("dst", dst, doff, 0));
    if (st != LT_OK || n == 0) return st;
    return cl_fail(b, clEnqueueCopyBuffer(b->queue, src->mem, dst->mem, soff * 4, doff * 4, n * 4, 0, NULL, NULL),
                   "copy");
}

/* buf[off, off+n) = value. */
static lt_status cl_fill(lt_backend *be, lt_buf *buf, size_t off, size_t n, float value)
{
    cl_backend *b = (cl_backend *)be;
    lt_status st = lt_check_fill(be, "fill", n, range_of("buf", buf, off, 0));
    if (st != LT_OK || n == 0) return st;
    kargs a = args_of(b, K_FILL);
    arg_u64(&a, n);
    arg_cl(&a, buf->mem);
    arg_u64(&a, off);
    arg_f32(&a, value);
    return launch_1d(b, &a, K_FILL, n, "fill");
}

/* Waits for the queue to drain. */
static lt_status cl_finish(lt_backend *be)
{
    cl_backend *b = (cl_backend *)be;
    return cl_fail(b, clFinish(b->queue), "finish");
}

/* ------------------------------------------------------------------ linear algebra */

/* Turns a CLBlast status (an OpenCL error code above -1000, CLBlast's own below) into ours. */
static lt_status blast_fail(cl_backend *b, int s)
{
    if (s == 0) return LT_OK;
    if (s > -1000) return cl_fail(b, (cl_int)s, "gemm (CLBlast)");
    return lt_backend_set_error(&b->base, LT_ERR_DEVICE, "gemm: CLBlast failed with status %d", s);
}

#ifdef LT_HAVE_CLBLAST_CPP
/* Makes the GEMM temp buffer at least need bytes (it only grows; counted in `allocated`). */
static lt_status grow_gemm_temp(cl_backend *b, size_t need)
{
    if (b->gemm_temp && b->gemm_temp_bytes >= need) return LT_OK;
    size_t q = LT_CL_GEMM_TEMP_QUANTUM;
    if (need > SIZE_MAX - q || (cl_ulong)((need + q - 1) / q * q) > b->max_alloc)
        return lt_backend_set_error(&b->base, LT_ERR_NOMEM,
            "gemm: CLBlast needs a %zu-byte temp buffer, larger than the largest single buffer %s "
            "allows (%llu bytes)", need, b->base.device_name, (unsigned long long)b->max_alloc);
    size_t bytes = need ? (need + q - 1) / q * q : q;
    /* release first to lower the peak; OpenCL frees it once queued GEMMs using it are done */
    if (b->gemm_temp) {
        clReleaseMemObject(b->gemm_temp);
        b->allocated -= b->gemm_temp_bytes <= b->allocated ? b->gemm_temp_bytes : b->allocated;
        b->gemm_temp = NULL;
        b->gemm_temp_bytes = 0;
    }
    if (bytes > b->global_mem - b->allocated)
        return lt_backend_set_error(&b->base, LT_ERR_NOMEM,
            "gemm: CLBlast needs a %zu-byte temp buffer, but %llu of the %llu bytes of device memory "
            "on %s are already in use by latent", bytes, (unsigned long long)b->allocated,
            (unsigned long long)b->global_mem, b->base.device_name);
    cl_int e = CL_SUCCESS;
    cl_mem m = clCreateBuffer(b->ctx, CL_MEM_READ_WRITE, bytes, NULL, &e);
    if (!m || e != CL_SUCCESS) {
        if (m) clReleaseMemObject(m);
        if (e == CL_SUCCESS || e == CL_INVALID_BUFFER_SIZE) e = CL_MEM_OBJECT_ALLOCATION_FAILURE;
        return cl_fail(b, e, "gemm: allocating CLBlast's temp buffer");
    }
    b->gemm_temp = m;
    b->gemm_temp_bytes = bytes;
    b->gemm_temp_allocs++;
    b->allocated += bytes;
    return LT_OK;
}
#endif

/* C = alpha*op(A)*op(B) + beta*C through CLBlast; k == 0 scales C with our own kernel. */
static lt_status cl_gemm(lt_backend *be, int trans_a, int trans_b, size_t m, size_t n, size_t k,
                         float alpha, const lt_buf *a, size_t aoff, size_t lda,
                         const lt_buf *bm, size_t boff, size_t ldb,
                         float beta, lt_buf *c, size_t coff, size_t ldc)
{
    cl_backend *b = (cl_backend *)be;
    const char *op = "gemm";
    lt_status st = lt_check_gemm(be, trans_a, trans_b, m, n, k, range_of("A", a, aoff, 0), lda,
                                 range_of("B", bm, boff, 0), ldb, range_of("C", c, coff, 0), ldc);
    if (st != LT_OK || m == 0 || n == 0) return st;
    if (k == 0) { /* op(A)*op(B) is an empty sum: C = beta*C, and CLBlast rejects k == 0 */
        kargs ka = args_of(b, K_SCALE2D);
        arg_u64(&ka, m);
        arg_u64(&ka, n);
        arg_f32(&ka, beta);
        arg_cl(&ka, c->mem);
        arg_u64(&ka, coff);
        arg_u64(&ka, ldc);
        return launch_2d(b, &ka, K_SCALE2D, n, m, op);
    }
    /* CLBlast never reads C when beta == 0, so NaN garbage in C is overwritten as required */
#ifdef LT_HAVE_CLBLAST_CPP
    /* Run with the temp buffer we have; CLBlast checks its size before enqueueing anything,
     * so on the first GEMM, or one needing more, ask for the size, grow and run again.
     * In steady state that is one CLBlast call and no allocation. */
    int s = LT_CLBLAST_INSUFFICIENT_TEMP;
    if (b->gemm_temp)
        s = lt_clblast_sgemm(trans_a, trans_b, m, n, k, alpha, a->mem, aoff, lda, bm->mem, boff, ldb,
                             beta, c->mem, coff, ldc, &b->queue, b->gemm_temp);
    if (s == LT_CLBLAST_INSUFFICIENT_TEMP) {
        size_t need = 0;
        s = lt_clblast_sgemm_temp_size(trans_a, trans_b, m, n, k, aoff, lda, boff, ldb, coff, ldc,
                                       &b->queue, &need);
        if (s != 0) return blast_fail(b, s);
        st = grow_gemm_temp(b, need);
        if (st != LT_OK) return st;
        s = lt_clblast_sgemm(trans_a, trans_b, m, n, k, alpha, a->mem, aoff, lda, bm->mem, boff, ldb,
                             beta, c->mem, coff, ldc, &b->queue, b->gemm_temp);
    }
    return blast_fail(b, s);
#else
    /* no C++ at configure time: the C API, which allocates its scratch per indirect call */
    CLBlastStatusCode s = CLBlastSgemm(CLBlastLayoutRowMajor,
                                       trans_a ? CLBlastTransposeYes : CLBlastTransposeNo,
                                       trans_b ? CLBlastTransposeYes : CLBlastTransposeNo,
                                       m, n, k, alpha, a->mem, aoff, lda, bm->mem, boff, ldb,
                                       beta, c->mem, coff, ldc, &b->queue, NULL);
    return blast_fail(b, (int)s);
#endif
}

/* y = alpha*x + beta*y. */
static lt_status cl_axpby(lt_backend *be, size_t n, float alpha, const lt_buf *x, size_t xoff,
                          float beta, lt_buf *y, size_t yoff)
{
    cl_backend *b = (cl_backend *)be;
    lt_status st = lt_check_axpby(be, n, range_of("x", x, xoff, 0), range_of("y", y, yoff, 0));
    if (st != LT_OK || n == 0) return st;
    kargs a = args_of(b, K_AXPBY);
    arg_u64(&a, n);
    arg_f32(&a, alpha);
    arg_cl(&a, x->mem);
    arg_u64(&a, xoff);
    arg_f32(&a, beta);
    arg_cl(&a, y->mem);
    arg_u64(&a, yoff);
    return launch_1d(b, &a, K_AXPBY, n, "axpby");
}

/* z = x * y elementwise. */
static lt_status cl_mul(lt_backend *be, size_t n, const lt_buf *x, size_t xoff,
                        const lt_buf *y, size_t yoff, lt_buf *z, size_t zoff)
{
    cl_backend *b = (cl_backend *)be;
    lt_status st = lt_check_mul(be, n, range_of("x", x, xoff, 0), range_of("y", y, yoff, 0), range_of("z", z, zoff, 0));
    if (st != LT_OK || n == 0) return st;
    kargs a = args_of(b, K_MUL);
    arg_u64(&a, n);
    arg_cl(&a, x->mem);
    arg_u64(&a, xoff);
    arg_cl(&a, y->mem);
    arg_u64(&a, yoff);
    arg_cl(&a, z->mem);
    arg_u64(&a, zoff);
    return launch_1d(b, &a, K_MUL, n, "mul");
}

/* out[ooff] = sum of x[xoff, xoff+n), two deterministic passes. */
static lt_status cl_sum(lt_backend *be, size_t n, const lt_buf *x, size_t xoff, lt_buf *out, size_t ooff)
{
    cl_backend *b = (cl_backend *)be;
    lt_status st = lt_check_reduce(be, "sum", n, range_of("x", x, xoff, 0), range_of("out", out, ooff, 0));
    if (st != LT_OK) return st;
    size_t l = b->wg[K_SUM_PARTIAL], parts = groups_for(n, l, LT_CL_MAX_PARTS);
    kargs a = args_of(b, K_SUM_PARTIAL);
    arg_u64(&a, n);
    arg_buf(&a, x, b->scratch); /* n == 0 may come with no x: the kernel reads nothing */
    arg_u64(&a, xoff);
    return launch_reduction(b, &a, parts, l, K_SUM_FINAL, out, ooff, "sum");
}

/* ------------------------------------------------------------------ layers */

/* Kernel code of a pointwise activation; -1 for softmax, -2 for an unknown value. */
static int act_code(lt_backend_act act)
{
    switch (act) {
    case LT_BACT_LINEAR: return 0;
    case LT_BACT_RELU: return 1;
    case LT_BACT_LEAKY_RELU: return 2;
    case LT_BACT_ELU: return 3;
    case LT_BACT_SIGMOID: return 4;
    case LT_BACT_TANH: return 5;
    case LT_BACT_SOFTMAX: return -1;
    }
    return -2;
}

/* Work-group size for a row-wise kernel over rows of cols elements. */
static size_t row_group_size(cl_backend *b, int kid, size_t cols)
{
    return pow2_ceil_cap(cols, b->wg[kid]);
}

/* y = act(x + bias). */
static lt_status cl_bias_act_forward(lt_backend *be, size_t rows, size_t cols,
                                     const lt_buf *x, size_t xoff, const lt_buf *bias, size_t boff,
                                     lt_backend_act act, float alpha, lt_buf *y, size_t yoff)
{
    cl_backend *b = (cl_backend *)be;
    const char *op = "bias_act_forward";
    size_t n;
    lt_status st = lt_check_bias_act_forward(be, rows, cols, act, range_of("x", x, xoff, 0),
                                             range_of("bias", bias, boff, 0), range_of("y", y, yoff, 0), &n);
    if (st != LT_OK || n == 0) return st;
    int code = act_code(act);
    if (code == -1) {
        size_t l = row_group_size(b, K_SOFTMAX_FORWARD, cols);
        kargs a = args_of(b, K_SOFTMAX_FORWARD);
        arg_u64(&a, cols);
        arg_cl(&a, x->mem);
        arg_u64(&a, xoff);
        arg_buf(&a, bias, b->scratch);
        arg_u64(&a, bias ? boff : 0);
        arg_i32(&a, bias != NULL);
        arg_cl(&a, y->mem);
        arg_u64(&a, yoff);
        arg_local(&a, l * 4);
        return launch_groups(b, &a, rows, l, op);
    }
    if (!bias) {
        kargs a = args_of(b, K_ACT_FORWARD);
        arg_u64(&a, n);
        arg_cl(&a, x->mem);
        arg_u64(&a, xoff);
        arg_i32(&a, code);
        arg_f32(&a, alpha);
        arg_cl(&a, y->mem);
        arg_u64(&a, yoff);
        return launch_1d(b, &a, K_ACT_FORWARD, n, op);
    }
    kargs a = args_of(b, K_BIAS_ACT_FORWARD);
    arg_u64(&a, rows);
    arg_u64(&a, cols);
    arg_cl(&a, x->mem);
    arg_u64(&a, xoff);
    arg_cl(&a, bias->mem);
    arg_u64(&a, boff);
    arg_i32(&a, code);
    arg_f32(&a, alpha);
    arg_cl(&a, y->mem);
    arg_u64(&a, yoff);
    return launch_2d(b, &a, K_BIAS_ACT_FORWARD, cols, rows, op);
}

/* dx = dy * act'(.) from the activation's output y. */
static lt_status cl_act_backward(lt_backend *be, size_t rows, size_t cols, lt_backend_act act,
                                 float alpha, const lt_buf *y, size_t yoff,
                                 const lt_buf *dy, size_t dyoff, lt_buf *dx, size_t dxoff)
{
    cl_backend *b = (cl_backend *)be;
    const char *op = "act_backward";
    size_t n;
    lt_status st = lt_check_act_backward(be, rows, cols, act, range_of("y", y, yoff, 0), range_of("dy", dy, dyoff, 0),
                                         range_of("dx", dx, dxoff, 0), &n);
    if (st != LT_OK || n == 0) return st;
    int code = act_code(act);
    if (code == -1) {
        size_t l = row_group_size(b, K_SOFTMAX_BACKWARD, cols);
        kargs a = args_of(b, K_SOFTMAX_BACKWARD);
        arg_u64(&a, cols);
        arg_cl(&a, y->mem);
        arg_u64(&a, yoff);
        arg_cl(&a, dy->mem);
        arg_u64(&a, dyoff);
        arg_cl(&a, dx->mem);
        arg_u64(&a, dxoff);
        arg_local(&a, l * 4);
        return launch_groups(b, &a, rows, l, op);
    }
    kargs a = args_of(b, K_ACT_BACKWARD);
    arg_u64(&a, n);
    arg_i32(&a, code);
    arg_f32(&a, alpha);
    arg_cl(&a, y->mem);
    arg_u64(&a, yoff);
    arg_cl(&a, dy->mem);
    arg_u64(&a, dyoff);
    arg_cl(&a, dx->mem);
    arg_u64(&a, dxoff);
    return launch_1d(b, &a, K_ACT_BACKWARD, n, op);
}

/* db[c] = sum over rows of dy[r, c] (+ beta*db[c]). */
static lt_status cl_bias_act_backward(lt_backend *be, size_t rows, size_t cols, lt_backend_act act, float alpha,
                                      const lt_buf *y, size_t yoff, const lt_buf *dy, size_t dyoff, lt_buf *dz,
                                      size_t dzoff, float beta, lt_buf *db, size_t dboff)
{
    cl_backend *b = (cl_backend *)be;
    const char *op = "bias_act_backward";
    size_t n;
    lt_status st = lt_check_bias_act_backward(be, rows, cols, act, range_of("y", y, yoff, 0), range_of("dy", dy, dyoff, 0),
                                              range_of("dz", dz, dzoff, 0), range_of("db", db, dboff, 0), &n);
    if (st != LT_OK || cols == 0) return st;
    /* narrow matrices give more lanes to the rows; lx and the group size fix the order.
     * Tall ones (a convolution's rows are batch x pixels) split the rows into chunks, so
     * that more than a handful of work-groups share them, and add the chunks' partial
     * sums in a second pass. */
    size_t l = b->wg[K_BIAS_ACT_BACKWARD], lx = pow2_ceil_cap(cols, l < 32 ? l : 32), ly = l / lx;
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
    arg_i32(&a, act_code(act));
    arg_f32(&a, alpha);
    arg_buf(&a, y, b->scratch);
    arg_u64(&a, y ? yoff : 0);
    arg_buf(&a, dy, b->scratch); /* rows == 0 may come with no dy: nothing is read */
    arg_u64(&a, dyoff);
    arg_opt(&a, n ? dz : NULL, dzoff, b->scratch);
    arg_f32(&a, beta);
    arg_cl(&a, db->mem);
    arg_u64(&a, dboff);
    arg_cl(&a, b->scratch);
    arg_u32(&a, (cl_uint)lx);
    arg_local(&a, l * 4);
    st = launch_group_rows(b, &a, colgroups, chunks, l, op);
    if (st != LT_OK || chunks == 1) return st;
    kargs f = args_of(b, K_COLSUM_FINAL);
    arg_u64(&f, chunks);
    arg_u64(&f, cols);
    arg_cl(&f, b->scratch);
    arg_f32(&f, beta);
    arg_cl(&f, db->mem);
    arg_u64(&f, dboff);
    return launch_1d(b, &f, K_COLSUM_FINAL, cols, op);
}

/* dst row r = src row idx[r]. */
static lt_status cl_gather_rows(lt_backend *be, size_t rows, size_t cols,
                                const lt_buf *src, size_t soff, const lt_buf *idx, size_t ioff,
                                lt_buf *dst, size_t doff)
{
    cl_backend *b = (cl_backend *)be;
    const char *op = "gather_rows";
    size_t n;
    lt_status st = lt_check_gather_rows(be, rows, cols, range_of("src", src, soff, 0), range_of("idx", idx, ioff, 0),
                                        range_of("dst", dst, doff, 0), &n);
    if (st != LT_OK || n == 0) return st;
    kargs a = args_of(b, K_GATHER_ROWS);
    arg_u64(&a, rows);
    arg_u64(&a, cols);
    arg_cl(&a, src->mem);
    arg_u64(&a, soff);
    arg_u64(&a, src->n);
    arg_cl(&a, idx->mem);
    arg_u64(&a, ioff);
    arg_cl(&a, dst->mem);
    arg_u64(&a, doff);
    return launch_2d(b, &a, K_GATHER_ROWS, cols, rows, op);
}

/* ------------------------------------------------------------------ losses */

/* Sum of the per-element loss into out[ooff]; grad = grad_scale * d(sum)/d(pred). */
static lt_status cl_loss(lt_backend *be, lt_backend_loss kind, size_t rows, size_t cols,
                         const lt_buf *pred, size_t poff, const lt_buf *target, size_t toff,
                         lt_buf *out, size_t ooff, float grad_scale, lt_buf *grad, size_t goff)
{
    cl_backend *b = (cl_backend *)be;
    const char *op = "loss";
    size_t n;
    lt_status st = lt_check_loss(be, kind, rows, cols, range_of("pred", pred, poff, 0),
                                 range_of("target", target, toff, 0), range_of("out", out, ooff, 0),
                                 range_of("grad", grad, goff, 0), &n);
    if (st != LT_OK) return st;
    int code = kind == LT_BLOSS_BCE_LOGITS ? 1 : kind == LT_BLOSS_BCE_PROBS ? 2 : kind == LT_BLOSS_CCE_PROBS ? 3 : 0;
    /* a small batch's loss is one work-group's, written straight to out: one launch */
    size_t l = b->wg[K_LOSS_PARTIAL], parts = n <= LT_CL_LOSS_ONE_GROUP ? 1 : groups_for(n, l, LT_CL_MAX_PARTS);
    kargs a = args_of(b, K_LOSS_PARTIAL);
    arg_i32(&a, code);
    arg_u64(&a, n);
    arg_buf(&a, pred, b->scratch); /* operands may be absent only when n == 0 */
    arg_u64(&a, poff);
    arg_buf(&a, target, b->scratch);
    arg_u64(&a, toff);
    arg_f32(&a, grad_scale);
    arg_opt(&a, grad, goff, b->scratch);
    if (parts > 1) {
        arg_cl(&a, b->scratch);
        arg_u64(&a, 0);
        arg_local(&a, l * 4);
        st = launch_groups(b, &a, parts, l, op);
        return st != LT_OK ? st : reduce_final(b, K_SUM_FINAL, parts, 1, out, ooff, op);
    }
    arg_cl(&a, out->mem);
    arg_u64(&a, ooff);
    arg_local(&a, l * 4);
    return launch_groups(b, &a, 1, l, op);
}

/* ------------------------------------------------------------------ optimizers */

/* One optimizer step over n parameters. */
static lt_status cl_optim_step(lt_backend *be, lt_backend_optim kind, const lt_backend_optim_hyper *h,
                               size_t n, lt_buf *params, size_t poff, const lt_buf *grads, size_t goff,
                               lt_buf *state, size_t soff)
{
    cl_backend *b = (cl_backend *)be;
    const char *op = "optim_step";
    size_t moments;
    lt_status st = lt_check_optim_step(be, kind, h, n, range_of("params", params, poff, 0),
                                       range_of("grads", grads, goff, 0), range_of("state", state, soff, 0), &moments);
    if (st != LT_OK || n == 0) return st;
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
    arg_cl(&a, params->mem);
    arg_u64(&a, poff);
    arg_cl(&a, grads->mem);
    arg_u64(&a, goff);
    arg_buf(&a, moments ? state : NULL, b->scratch); /* plain SGD has no state */
    arg_u64(&a, moments ? soff : 0);
    return launch_1d(b, &a, kid, n, op);
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
    arg_buf(a, x, b->scratch); /* n == 0 may come with no x: nothing is read */
    arg_u64(a, xoff);
    arg_u64(a, count);
    arg_opt(a, n ? starts : NULL, stoff, b->scratch);
}

/* Per-segment sums of squares: several groups a segment write partials that a final
 * pass adds row by row, or, with one group a segment, the results directly. */
static lt_status cl_sum_squares(lt_backend *be, size_t n, const lt_buf *x, size_t xoff, size_t count,
                                const lt_buf *starts, size_t stoff, lt_buf *out, size_t ooff)
{
    cl_backend *b = (cl_backend *)be;
    const char *op = "sum_squares";
    lt_status st = lt_check_segment_operands(be, op, count, range_of("x", x, xoff, n), range_of("starts", starts, stoff, count),
                                             range_of("out", out, ooff, count), 0);
    if (st != LT_OK || count == 0) return st;
    size_t l = b->wg[K_SUMSQ_PARTIAL], groups = segment_groups(n, count, l);
    kargs a = args_of(b, K_SUMSQ_PARTIAL);
    segment_args(b, &a, n, x, xoff, count, starts, stoff);
    arg_cl(&a, groups > 1 ? b->scratch : out->mem);
    arg_u64(&a, groups > 1 ? 0 : ooff);
    arg_local(&a, l * 4);
    st = launch_group_rows(b, &a, groups, count, l, op);
    if (st != LT_OK || groups == 1) return st;
    return reduce_final(b, K_SUM_FINAL, groups, count, out, ooff, op);
}

/* Keras's clip_by_norm of each segment, its norm read on the device. */
static lt_status cl_clip_by_norm(lt_backend *be, size_t n, lt_buf *x, size_t xoff, size_t count,
                                 const lt_buf *starts, size_t stoff, const lt_buf *sumsq, size_t soff, float max_norm)
{
    cl_backend *b = (cl_backend *)be;
    const char *op = "clip_by_norm";
    if (!(max_norm > 0.0f))
        return lt_backend_set_error(be, LT_ERR_ARG, "%s: max_norm must be positive, got %g", op, (double)max_norm);
    lt_status st = lt_check_segment_operands(be, op, count, range_of("x", x, xoff, n), range_of("starts", starts, stoff, count),
                                             range_of("sumsq", sumsq, soff, count), 1);
    if (st != LT_OK || n == 0 || count == 0) return st;
    size_t l = b->wg[K_CLIP_BY_NORM];
    kargs a = args_of(b, K_CLIP_BY_NORM);
    segment_args(b, &a, n, x, xoff, count, starts, stoff);
    arg_cl(&a, sumsq->mem);
    arg_u64(&a, soff);
    arg_f32(&a, max_norm);
    return launch_group_rows(b, &a, segment_groups(n, count, l), count, l, op);
}

/* ------------------------------------------------------------------ randomness */

/* Shared body of the three Philox fills: kernel kid with (p0, p1) after the range, once
 * st (the op's checks) is LT_OK. */
static lt_status random_fill(cl_backend *b, lt_status st, int kid, const char *op, lt_buf *buf, size_t off, size_t n,
                             float p0, float p1, uint64_t seed, uint64_t counter)
{
    if (st != LT_OK || n == 0) return st;
    kargs a = args_of(b, kid);
    arg_u64(&a, n);
    arg_cl(&a, buf->mem);
    arg_u64(&a, off);
    arg_f32(&a, p0);
    arg_f32(&a, p1);
    arg_u64(&a, seed);
    arg_u64(&a, counter);
    return launch_1d(b, &a, kid, n, op);
}

/* buf[off+i] = lt_philox_uniform(seed, counter, i, lo, hi). */
static lt_status cl_random_uniform(lt_backend *be, lt_buf *buf, size_t off, size_t n,
                                   float lo, float hi, uint64_t seed, uint64_t counter)
{
    const char *op = "random_uniform";
    lt_status st = lt_check_fill(be, op, n, range_of("buf", buf, off, 0));
    return random_fill((cl_backend *)be, st, K_RANDOM_UNIFORM, op, buf, off, n, lo, hi, seed, counter);
}

/* buf[off+i] = mean + stddev * lt_philox_normal(seed, counter, i). */
static lt_status cl_random_normal(lt_backend *be, lt_buf *buf, size_t off, size_t n,
                                  float mean, float stddev, uint64_t seed, uint64_t counter)
{
    const char *op = "random_normal";
    lt_status st = lt_check_fill(be, op, n, range_of("buf", buf, off, 0));
    return random_fill((cl_backend *)be, st, K_RANDOM_NORMAL, op, buf, off, n, mean, stddev, seed, counter);
}

/* Inverted dropout mask; the scale 1/(1-rate) is divided here, on the host, because
 * OpenCL's single-precision division need not be correctly rounded. */
static lt_status cl_dropout_mask(lt_backend *be, lt_buf *mask, size_t off, size_t n, float rate,
                                 uint64_t seed, uint64_t counter)
{
    lt_status st = lt_check_dropout_mask(be, n, rate, range_of("mask", mask, off, 0));
    float scale = st == LT_OK ? 1.0f / (1.0f - rate) : 0.0f;
    return random_fill((cl_backend *)be, st, K_DROPOUT_MASK, "dropout_mask", mask, off, n, rate, scale, seed, counter);
}

/* ------------------------------------------------------------------ checks */

/* out[ooff] = number of NaN/inf in x[xoff, xoff+n), counted exactly in integers. */
static lt_status cl_count_nonfinite(lt_backend *be, size_t n, const lt_buf *x, size_t xoff,
                                    lt_buf *out, size_t ooff)
{
    cl_backend *b = (cl_backend *)be;
    const char *op = "count_nonfinite";
    lt_status st = lt_check_reduce(be, op, n, range_of("x", x, xoff, 0), range_of("out", out, ooff, 0));
    if (st != LT_OK) return st;
    size_t l = b->wg[K_COUNT_PARTIAL], parts = groups_for(n, l, LT_CL_MAX_PARTS);
    kargs a = args_of(b, K_COUNT_PARTIAL);
    arg_u64(&a, n);
    arg_buf(&a, x, b->scratch);
    arg_u64(&a, xoff);
    return launch_reduction(b, &a, parts, l, K_COUNT_FINAL, out, ooff, op);
}

/* ------------------------------------------------------------------ convolutions, pooling */

/* Makes the im2col scratch hold at least need bytes (it only grows; counted in `allocated`). */
static lt_status grow_conv_col(cl_backend *b, size_t need, const char *op)
{
    if (b->conv_col && b->conv_col_bytes >= need) return LT_OK;
    size_t q = LT_CL_GEMM_TEMP_QUANTUM;
    if (need > SIZE_MAX - q || (cl_ulong)((need + q - 1) / q * q) > b->max_alloc)
        return lt_backend_set_error(&b->base, LT_ERR_NOMEM,
            "%s: the column buffer needs %zu bytes, more than the largest single buffer %s allows "
            "(%llu bytes)", op, need, b->base.device_name, (unsigned long long)b->max_alloc);
    size_t bytes = (need + q - 1) / q * q;
    /* release first to lower the peak; OpenCL frees it once queued kernels using it are done */
    if (b->conv_col) {
        clReleaseMemObject(b->conv_col);
        b->allocated -= b->conv_col_bytes <= b->allocated ? b->conv_col_bytes : b->allocated;
        b->conv_col = NULL;
        b->conv_col_bytes = 0;
    }
    if (bytes > b->global_mem - b->allocated)
        return lt_backend_set_error(&b->base, LT_ERR_NOMEM,
            "%s: the column buffer needs %zu bytes, but %llu of the %llu bytes of device memory on "
            "%s are already in use by latent", op, bytes, (unsigned long long)b->allocated,
            (unsigned long long)b->global_mem, b->base.device_name);
    cl_int e = CL_SUCCESS;
    cl_mem m = clCreateBuffer(b->ctx, CL_MEM_READ_WRITE, bytes, NULL, &e);
    if (!m || e != CL_SUCCESS) {
        if (m) clReleaseMemObject(m);
        if (e == CL_SUCCESS || e == CL_INVALID_BUFFER_SIZE) e = CL_MEM_OBJECT_ALLOCATION_FAILURE;
        return cl_fail(b, e, "allocating the convolution column buffer");
    }
    b->conv_col = m;
    b->conv_col_bytes = bytes;
    b->conv_col_allocs++;
    b->allocated += bytes;
    return LT_OK;
}

/* A checked convolution (lib/backend_check.c) and how its im2col rows are chunked. */
typedef struct conv_plan {
    lt_conv_sizes s;   /* element counts                                               */
    size_t per_img;    /* rows of one image: out_h*out_w                                */
    size_t chunk;      /* rows per chunk: whole images when one fits, else part of one  */
} conv_plan;

/* Plans the chunks of a checked convolution: they keep the column buffer within the cap
 * (one row always fits, however wide). */
static void plan_chunks(const cl_backend *b, const lt_conv_geom *g, conv_plan *p)
{
    p->per_img = (size_t)g->out_h * (size_t)g->out_w;
    size_t cap = LT_CL_CONV_COL_BYTES;
    if ((cl_ulong)cap > b->max_alloc) cap = (size_t)b->max_alloc;
    size_t fit = cap / (p->s.kcols * 4);
    if (fit < 1) fit = 1;
    if (fit >= p->per_img) fit = fit / p->per_img * p->per_img;
    p->chunk = fit < p->s.rows ? fit : p->s.rows;
}

/* Length of the chunk starting at row r0: chunk rows, but never past the end of the
 * batch, nor past the end of r0's image when chunks are parts of images. */
static size_t chunk_len(const conv_plan *p, size_t r0)
{
    size_t len = p->s.rows - r0 < p->chunk ? p->s.rows - r0 : p->chunk;
    if (p->chunk < p->per_img) {
        size_t end = (r0 / p->per_img + 1) * p->per_img;
        if (len > end - r0) len = end - r0;
    }
    return len;
}

/* The column buffer as an operand of cl_gemm. */
static lt_buf col_buf(const cl_backend *b)
{
    lt_buf c = { b->conv_col, b->conv_col_bytes / 4 };
    return c;
}

/* Enqueues im2col of x for rows [r0, r0+len) into the column buffer. */
static lt_status im2col(cl_backend *b, const char *op, const lt_conv_geom *g, const conv_plan *p,
                        const lt_buf *x, size_t xoff, size_t r0, size_t len)
{
    kargs a = args_of(b, K_IM2COL);
    arg_cl(&a, x->mem);
    arg_u64(&a, xoff);
    arg_cl(&a, b->conv_col);
    arg_u64(&a, r0);
    arg_u64(&a, len);
    arg_u64(&a, p->s.kcols);
    arg_i32(&a, g->in_h);
    arg_i32(&a, g->in_w);
    arg_i32(&a, g->in_c);
    arg_i32(&a, g->out_h);
    arg_i32(&a, g->out_w);
    arg_i32(&a, g->k_w);
    arg_i32(&a, g->stride_h);
    arg_i32(&a, g->stride_w);
    arg_i32(&a, g->dil_h);
    arg_i32(&a, g->dil_w);
    arg_i32(&a, g->pad_top);
    arg_i32(&a, g->pad_left);
    return launch_2d(b, &a, K_IM2COL, p->s.kcols, len, op);
}

/* y = conv(x, w): per chunk, im2col then y rows = columns * w (CLBlast). */
static lt_status cl_conv2d_forward(lt_backend *be, const lt_conv_geom *g, const lt_buf *x, size_t xoff,
                                   const lt_buf *w, size_t woff, lt_buf *y, size_t yoff)
{
    cl_backend *b = (cl_backend *)be;
    const char *op = "conv2d_forward";
    conv_plan p;
    lt_status st = lt_check_conv2d_forward(be, g, range_of("x", x, xoff, 0), range_of("w", w, woff, 0),
                                           range_of("y", y, yoff, 0), &p.s);
    if (st != LT_OK) return st;
    plan_chunks(b, g, &p);
    size_t f = (size_t)g->out_c;
    if (p.s.pointwise) return cl_gemm(be, 0, 0, p.s.rows, f, p.s.kcols, 1.0f, x, xoff, p.s.kcols, w, woff, f,
                                      0.0f, y, yoff, f);
    st = grow_conv_col(b, p.chunk * p.s.kcols * 4, op);
    lt_buf col = col_buf(b);
    for (size_t r0 = 0, len; st == LT_OK && r0 < p.s.rows; r0 += len) {
        len = chunk_len(&p, r0);
        st = im2col(b, op, g, &p, x, xoff, r0, len);
        if (st == LT_OK)
            st = cl_gemm(be, 0, 0, len, f, p.s.kcols, 1.0f, &col, 0, p.s.kcols, w, woff, f, 0.0f, y,
                         yoff + r0 * f, f);
    }
    return st;
}

/* dx = transposed convolution of dy: per chunk, columns = dy rows * w^T (CLBlast), then
 * col2im gathers them into dx. Whole-image chunks overwrite their images; chunks that
 * split an image add to a dx zeroed first. */
static lt_status cl_conv2d_backward_data(lt_backend *be, const lt_conv_geom *g, const lt_buf *dy, size_t dyoff,
                                         const lt_buf *w, size_t woff, lt_buf *dx, size_t dxoff)
{
    cl_backend *b = (cl_backend *)be;
    const char *op = "conv2d_backward_data";
    conv_plan p;
    lt_status st = lt_check_conv2d_backward_data(be, g, range_of("dy", dy, dyoff, 0), range_of("w", w, woff, 0),
                                                 range_of("dx", dx, dxoff, 0), &p.s);
    if (st != LT_OK) return st;
    plan_chunks(b, g, &p);
    size_t f = (size_t)g->out_c;
    if (p.s.pointwise) return cl_gemm(be, 0, 1, p.s.rows, p.s.kcols, f, 1.0f, dy, dyoff, f, w, woff, f,
                                      0.0f, dx, dxoff, p.s.kcols);
    int split = p.chunk < p.per_img;
    if (split) st = cl_fill(be, dx, dxoff, p.s.nx, 0.0f);
    if (st == LT_OK) st = grow_conv_col(b, p.chunk * p.s.kcols * 4, op);
    lt_buf col = col_buf(b);
    for (size_t r0 = 0, len; st == LT_OK && r0 < p.s.rows; r0 += len) {
        len = chunk_len(&p, r0);
        size_t n0 = r0 / p.per_img, nimg = split ? 1 : len / p.per_img;
        long long iy0 = 0, iy1 = g->in_h - 1;
        if (split) { /* only the input rows that this chunk's output rows read */
            long long oy0 = (long long)((r0 - n0 * p.per_img) / (size_t)g->out_w);
            long long oy1 = (long long)((r0 + len - 1 - n0 * p.per_img) / (size_t)g->out_w);
            long long lo = oy0 * g->stride_h - g->pad_top;
            long long hi = oy1 * g->stride_h - g->pad_top + (long long)(g->k_h - 1) * g->dil_h;
            if (lo > iy0) iy0 = lo;
            if (hi < iy1) iy1 = hi;
        }
        st = cl_gemm(be, 0, 1, len, p.s.kcols, f, 1.0f, dy, dyoff + r0 * f, f, w, woff, f, 0.0f, &col, 0,
                     p.s.kcols);
        if (st != LT_OK || iy0 > iy1) continue; /* a chunk of rows that read only padding */
        kargs a = args_of(b, K_COL2IM);
        arg_cl(&a, b->conv_col);
        arg_u64(&a, r0);
        arg_u64(&a, len);
        arg_u64(&a, p.s.kcols);
        arg_u64(&a, n0);
        arg_u64(&a, nimg);
        arg_i32(&a, (cl_int)iy0);
        arg_i32(&a, (cl_int)(iy1 - iy0 + 1));
        arg_i32(&a, g->in_h);
        arg_i32(&a, g->in_w);
        arg_i32(&a, g->in_c);
        arg_i32(&a, g->out_h);
        arg_i32(&a, g->out_w);
        arg_i32(&a, g->k_h);
        arg_i32(&a, g->k_w);
        arg_i32(&a, g->stride_h);
        arg_i32(&a, g->stride_w);
        arg_i32(&a, g->dil_h);
        arg_i32(&a, g->dil_w);
        arg_i32(&a, g->pad_top);
        arg_i32(&a, g->pad_left);
        arg_i32(&a, split);
        arg_cl(&a, dx->mem);
        arg_u64(&a, dxoff);
        size_t cells = nimg * (size_t)(iy1 - iy0 + 1) * (size_t)g->in_w * (size_t)g->in_c;
        st = launch_1d(b, &a, K_COL2IM, cells, op);
    }
    return st;
}

/* dw = columns^T * dy, summed over the chunks in order (the first overwrites dw). */
static lt_status cl_conv2d_backward_filter(lt_backend *be, const lt_conv_geom *g, const lt_buf *x, size_t xoff,
                                           const lt_buf *dy, size_t dyoff, lt_buf *dw, size_t dwoff)
{
    cl_backend *b = (cl_backend *)be;
    const char *op = "conv2d_backward_filter";
    conv_plan p;
    lt_status st = lt_check_conv2d_backward_filter(be, g, range_of("x", x, xoff, 0), range_of("dy", dy, dyoff, 0),
                                                   range_of("dw", dw, dwoff, 0), &p.s);
    if (st != LT_OK) return st;
    plan_chunks(b, g, &p);
    size_t f = (size_t)g->out_c;
    if (p.s.pointwise) return cl_gemm(be, 1, 0, p.s.kcols, f, p.s.rows, 1.0f, x, xoff, p.s.kcols, dy, dyoff, f,
                                      0.0f, dw, dwoff, f);
    st = grow_conv_col(b, p.chunk * p.s.kcols * 4, op);
    lt_buf col = col_buf(b);
    for (size_t r0 = 0, len; st == LT_OK && r0 < p.s.rows; r0 += len) {
        len = chunk_len(&p, r0);
        st = im2col(b, op, g, &p, x, xoff, r0, len);
        if (st == LT_OK)
            st = cl_gemm(be, 1, 0, p.s.kcols, f, len, 1.0f, &col, 0, p.s.kcols, dy, dyoff + r0 * f, f,
                         r0 ? 1.0f : 0.0f, dw, dwoff, f);
    }
    return st;
}

/* Sets the geometry arguments shared by the two max-pooling kernels. */
static void pool_args(kargs *a, const lt_pool_geom *g)
{
    arg_i32(a, g->in_h);
    arg_i32(a, g->in_w);
    arg_i32(a, g->c);
    arg_i32(a, g->out_h);
    arg_i32(a, g->out_w);
    arg_i32(a, g->k_h);
    arg_i32(a, g->k_w);
    arg_i32(a, g->stride_h);
    arg_i32(a, g->stride_w);
    arg_i32(a, g->pad_top);
    arg_i32(a, g->pad_left);
}

/* y = window maxima, argmax = in-image index of each first maximum. */
static lt_status cl_maxpool_forward(lt_backend *be, const lt_pool_geom *g, const lt_buf *x, size_t xoff,
                                    lt_buf *y, size_t yoff, lt_buf *argmax, size_t aoff)
{
    cl_backend *b = (cl_backend *)be;
    const char *op = "maxpool_forward";
    lt_pool_sizes z;
    lt_status st = lt_check_maxpool_forward(be, g, range_of("x", x, xoff, 0), range_of("y", y, yoff, 0),
                                            range_of("argmax", argmax, aoff, 0), &z);
    if (st != LT_OK) return st;
    kargs a = args_of(b, K_MAXPOOL_FORWARD);
    arg_u64(&a, z.ny);
    arg_cl(&a, x->mem);
    arg_u64(&a, xoff);
    arg_cl(&a, y->mem);
    arg_u64(&a, yoff);
    arg_cl(&a, argmax->mem);
    arg_u64(&a, aoff);
    pool_args(&a, g);
    return launch_1d(b, &a, K_MAXPOOL_FORWARD, z.ny, op);
}

/* dx = scatter-add of dy at argmax, computed as a gather per input cell. */
static lt_status cl_maxpool_backward(lt_backend *be, const lt_pool_geom *g, const lt_buf *dy, size_t dyoff,
                                     const lt_buf *argmax, size_t aoff, lt_buf *dx, size_t dxoff)
{
    cl_backend *b = (cl_backend *)be;
    const char *op = "maxpool_backward";
    lt_pool_sizes z;
    lt_status st = lt_check_maxpool_backward(be, g, range_of("dy", dy, dyoff, 0), range_of("argmax", argmax, aoff, 0),
                                             range_of("dx", dx, dxoff, 0), &z);
    if (st != LT_OK) return st;
    kargs a = args_of(b, K_MAXPOOL_BACKWARD);
    arg_u64(&a, z.nx);
    arg_cl(&a, dy->mem);
    arg_u64(&a, dyoff);
    arg_cl(&a, argmax->mem);
    arg_u64(&a, aoff);
    arg_cl(&a, dx->mem);
    arg_u64(&a, dxoff);
    pool_args(&a, g);
    return launch_1d(b, &a, K_MAXPOOL_BACKWARD, z.nx, op);
}

/* Shared body of the up-sampling ops, once st (the op's checks) is LT_OK: kernel kid
 * over the n items of dst, from src. */
static lt_status upsample(cl_backend *b, lt_status st, int kid, const char *op, const lt_pool_geom *g,
                          lt_backend_interp mode, const lt_buf *src, size_t soff, lt_buf *dst, size_t doff, size_t n)
{
    if (st != LT_OK) return st;
    kargs a = args_of(b, kid);
    arg_u64(&a, n);
    arg_i32(&a, mode == LT_INTERP_NEAREST ? 0 : 1);
    arg_cl(&a, src->mem);
    arg_u64(&a, soff);
    arg_cl(&a, dst->mem);
    arg_u64(&a, doff);
    arg_i32(&a, g->in_h);
    arg_i32(&a, g->in_w);
    arg_i32(&a, g->c);
    arg_i32(&a, g->k_h);
    arg_i32(&a, g->k_w);
    return launch_1d(b, &a, kid, n, op);
}

/* y = x up-sampled by (k_h, k_w), nearest or bilinear. */
static lt_status cl_upsample_forward(lt_backend *be, const lt_pool_geom *g, lt_backend_interp mode,
                                     const lt_buf *x, size_t xoff, lt_buf *y, size_t yoff)
{
    lt_pool_sizes z;
    lt_status st = lt_check_upsample_forward(be, g, mode, range_of("x", x, xoff, 0), range_of("y", y, yoff, 0), &z);
    return upsample((cl_backend *)be, st, K_UPSAMPLE_FORWARD, "upsample_forward", g, mode, x, xoff, y, yoff, z.ny);
}

/* dx = the adjoint of up-sampling applied to dy (a gather per input cell). */
static lt_status cl_upsample_backward(lt_backend *be, const lt_pool_geom *g, lt_backend_interp mode,
                                      const lt_buf *dy, size_t dyoff, lt_buf *dx, size_t dxoff)
{
    lt_pool_sizes z;
    lt_status st = lt_check_upsample_backward(be, g, mode, range_of("dy", dy, dyoff, 0), range_of("dx", dx, dxoff, 0),
                                              &z);
    return upsample((cl_backend *)be, st, K_UPSAMPLE_BACKWARD, "upsample_backward", g, mode, dy, dyoff, dx, dxoff,
                    z.nx);
}

/* y = x resampled through per-image affine maps (bilinear, edges replicated); one item
 * per output pixel. */
static lt_status cl_affine_resample(lt_backend *be, size_t n, int h, int w, int ch, const lt_buf *mats,
                                    size_t moff, const lt_buf *x, size_t xoff, lt_buf *y, size_t yoff)
{
    cl_backend *b = (cl_backend *)be;
    const char *op = "affine_resample";
    size_t total;
    lt_status st = lt_check_affine_resample(be, n, h, w, ch, range_of("mats", mats, moff, 0), range_of("x", x, xoff, 0),
                                            range_of("y", y, yoff, 0), &total);
    if (st != LT_OK || n == 0) return st;
    size_t pix = total / (size_t)ch; /* output pixels, one item each */
    kargs a = args_of(b, K_AFFINE_RESAMPLE);
    arg_u64(&a, pix);
    arg_cl(&a, mats->mem);
    arg_u64(&a, moff);
    arg_cl(&a, x->mem);
    arg_u64(&a, xoff);
    arg_cl(&a, y->mem);
    arg_u64(&a, yoff);
    arg_i32(&a, h);
    arg_i32(&a, w);
    arg_i32(&a, ch);
    return launch_1d(b, &a, K_AFFINE_RESAMPLE, pix, op);
}

/* ------------------------------------------------------------------ latent space, penalties */

/* Starts the arguments of VAE kernel kid with the head both share: rows, d, x and the
 * optional eps. */
static kargs vae_args(cl_backend *b, int kid, size_t rows, size_t d, const lt_buf *x, size_t xoff,
                      const lt_buf *eps, size_t eoff)
{
    kargs a = args_of(b, kid);
    arg_u64(&a, rows);
    arg_u64(&a, d);
    arg_cl(&a, x->mem);
    arg_u64(&a, xoff);
    arg_opt(&a, eps, eoff, b->scratch);
    return a;
}

/* y = mean + exp(logvar / 2) * eps, or y = mean when eps == NULL; one item per element. */
static lt_status cl_vae_sample_forward(lt_backend *be, size_t rows, size_t d, const lt_buf *x, size_t xoff,
                                       const lt_buf *eps, size_t eoff, lt_buf *y, size_t yoff)
{
    cl_backend *b = (cl_backend *)be;
    const char *op = "vae_sample_forward";
    size_t n;
    lt_status st = lt_check_vae_sample_forward(be, rows, d, range_of("x", x, xoff, 0), range_of("eps", eps, eoff, 0),
                                               range_of("y", y, yoff, 0), &n);
    if (st != LT_OK || n == 0) return st;
    kargs a = vae_args(b, K_VAE_FORWARD, rows, d, x, xoff, eps, eoff);
    arg_cl(&a, y->mem);
    arg_u64(&a, yoff);
    return launch_2d(b, &a, K_VAE_FORWARD, d, rows, op);
}

/* dx = the reparameterization's gradient plus kl_scale times the KL sum's (backend.h). */
static lt_status cl_vae_sample_backward(lt_backend *be, size_t rows, size_t d, const lt_buf *x, size_t xoff,
                                        const lt_buf *eps, size_t eoff, const lt_buf *dy, size_t dyoff,
                                        float kl_scale, lt_buf *dx, size_t dxoff)
{
    cl_backend *b = (cl_backend *)be;
    const char *op = "vae_sample_backward";
    size_t n;
    lt_status st = lt_check_vae_sample_backward(be, rows, d, range_of("x", x, xoff, 0), range_of("eps", eps, eoff, 0),
                                                range_of("dy", dy, dyoff, 0), range_of("dx", dx, dxoff, 0), &n);
    if (st != LT_OK || n == 0) return st;
    kargs a = vae_args(b, K_VAE_BACKWARD, rows, d, x, xoff, eps, eoff);
    arg_cl(&a, dy->mem);
    arg_u64(&a, dyoff);
    arg_f32(&a, kl_scale);
    arg_cl(&a, dx->mem);
    arg_u64(&a, dxoff);
    return launch_2d(b, &a, K_VAE_BACKWARD, d, rows, op);
}

/* out[ooff] = KL(N(mean, exp(logvar)) || N(0, 1)) summed over rows and d, two passes. */
static lt_status cl_kl_normal(lt_backend *be, size_t rows, size_t d, const lt_buf *x, size_t xoff, lt_buf *out,
                              size_t ooff)
{
    cl_backend *b = (cl_backend *)be;
    const char *op = "kl_normal";
    size_t n;
    lt_status st = lt_check_kl_normal(be, rows, d, range_of("x", x, xoff, 0), range_of("out", out, ooff, 0), &n);
    if (st != LT_OK) return st;
    size_t l = b->wg[K_KL_NORMAL_PARTIAL], parts = groups_for(n, l, LT_CL_MAX_PARTS);
    kargs a = args_of(b, K_KL_NORMAL_PARTIAL);
    arg_u64(&a, rows);
    arg_u64(&a, d);
    arg_buf(&a, x, b->scratch); /* rows == 0 may come with no x: nothing is read */
    arg_u64(&a, xoff);
    return launch_reduction(b, &a, parts, l, K_SUM_FINAL, out, ooff, op);
}

/* out[ooff] = sum_c KL(rho || p_c) and, unless grad is NULL (value only, as in loss),
 * the per-unit gradient; two passes. */
static lt_status cl_sparsity_kl(lt_backend *be, size_t rows, size_t cols, const lt_buf *colsum, size_t csoff,
                                float rho, lt_buf *out, size_t ooff, float scale, lt_buf *grad, size_t goff)
{
    cl_backend *b = (cl_backend *)be;
    const char *op = "sparsity_kl";
    lt_status st = lt_check_sparsity_kl(be, rows, cols, rho, range_of("colsum", colsum, csoff, 0),
                                        range_of("out", out, ooff, 0), range_of("grad", grad, goff, 0));
    if (st != LT_OK) return st;
    size_t l = b->wg[K_SPARSITY_KL_PARTIAL], parts = groups_for(cols, l, LT_CL_MAX_PARTS);
    kargs a = args_of(b, K_SPARSITY_KL_PARTIAL);
    arg_u64(&a, cols);
    arg_f32(&a, (float)rows);
    arg_buf(&a, colsum, b->scratch); /* cols == 0 may come with no buffers: nothing is read */
    arg_u64(&a, csoff);
    arg_f32(&a, rho);
    arg_f32(&a, scale);
    arg_opt(&a, grad, goff, b->scratch);
    return launch_reduction(b, &a, parts, l, K_SUM_FINAL, out, ooff, op);
}

/* out[ooff] = sum |x|; dx = dy + scale * sign(x) when dx != NULL (dy == NULL counts as
 * zeros); dx may alias dy exactly. Two passes. */
static lt_status cl_l1_penalty(lt_backend *be, size_t n, const lt_buf *x, size_t xoff, lt_buf *out, size_t ooff,
                               const lt_buf *dy, size_t dyoff, float scale, lt_buf *dx, size_t dxoff)
{
    cl_backend *b = (cl_backend *)be;
    const char *op = "l1_penalty";
    lt_status st = lt_check_l1_penalty(be, n, range_of("x", x, xoff, 0), range_of("out", out, ooff, 0),
                                       range_of("dy", dy, dyoff, 0), range_of("dx", dx, dxoff, 0));
    if (st != LT_OK) return st;
    int has_dx = dx && n, has_dy = has_dx && dy;
    size_t l = b->wg[K_L1_PARTIAL], parts = groups_for(n, l, LT_CL_MAX_PARTS);
    kargs a = args_of(b, K_L1_PARTIAL);
    arg_u64(&a, n);
    arg_buf(&a, x, b->scratch); /* n == 0 may come with no buffers: nothing is read */
    arg_u64(&a, xoff);
    arg_opt(&a, has_dy ? dy : NULL, dyoff, b->scratch);
    arg_f32(&a, scale);
    arg_opt(&a, has_dx ? dx : NULL, dxoff, b->scratch);
    return launch_reduction(b, &a, parts, l, K_SUM_FINAL, out, ooff, op);
}

/* ------------------------------------------------- data movement and recurrent cells */

/* y = x (+ y) over a strided n0 x n1 block of rows; one item per element. */
static lt_status cl_copy_strided(lt_backend *be, size_t n0, size_t n1, size_t cols, const lt_buf *x, size_t xoff,
                                 ptrdiff_t xs0, ptrdiff_t xs1, float beta, lt_buf *y, size_t yoff, ptrdiff_t ys0,
                                 ptrdiff_t ys1)
{
    cl_backend *b = (cl_backend *)be;
    size_t rows;
    lt_status st = lt_check_copy_strided(be, n0, n1, cols, range_of("x", x, xoff, 0), xs0, xs1, beta,
                                         range_of("y", y, yoff, 0), ys0, ys1, &rows);
    if (st != LT_OK || rows == 0) return st;
    kargs a = args_of(b, K_COPY_STRIDED);
    arg_u64(&a, n0);
    arg_u64(&a, n1);
    arg_u64(&a, cols);
    arg_cl(&a, x->mem);
    arg_u64(&a, xoff);
    cl_long l0 = xs0, l1 = xs1, m0 = ys0, m1 = ys1;
    arg_raw(&a, sizeof l0, &l0);
    arg_raw(&a, sizeof l1, &l1);
    arg_f32(&a, beta);
    arg_cl(&a, y->mem);
    arg_u64(&a, yoff);
    arg_raw(&a, sizeof m0, &m0);
    arg_raw(&a, sizeof m1, &m1);
    return launch_2d(b, &a, K_COPY_STRIDED, cols, rows, "copy_strided");
}

/* Kernel code of a cell. */
static int cell_code(lt_backend_cell c) { return c == LT_CELL_LSTM ? 1 : c == LT_CELL_GRU ? 2 : 0; }

/* Starts a sequence kernel's arguments with the geometry both share. */
static kargs rnn_args(cl_backend *b, int kid, const lt_rnn_geom *g)
{
    kargs a = args_of(b, kid);
    arg_u64(&a, g->steps);
    arg_u64(&a, g->batch);
    arg_u64(&a, g->units);
    arg_i32(&a, cell_code(g->cell));
    arg_i32(&a, act_code(g->act));
    arg_f32(&a, g->alpha);
    return a;
}

/* Launches a sequence kernel: one work-group per batch row, its items sharing the units. */
static lt_status launch_rnn(cl_backend *b, const kargs *a, int kid, const lt_rnn_geom *g, const char *op)
{
    return launch_groups(b, a, g->batch, pow2_ceil_cap(g->units, b->wg[kid]), op);
}

/* Next six arguments: a sequence operand (lib/backend.h, lt_rnn_seq) of a T-step
 * recurrence, or its absence: flag, buffer, offset, row and step strides, every-step flag. */
static void arg_seq(kargs *a, const lt_rnn_seq *seq, size_t T, cl_mem fallback)
{
    arg_i32(a, seq != NULL);
    arg_buf(a, seq ? seq->buf : NULL, fallback);
    arg_u64(a, seq ? seq->off : 0);
    arg_raw(a, sizeof(cl_long), &(cl_long){seq ? (cl_long)seq->s_row : 0});
    arg_raw(a, sizeof(cl_long), &(cl_long){seq ? (cl_long)seq->s_step : 0});
    arg_i32(a, seq && seq->steps == T && T > 1);
}

/* The range a sequence operand's buffer gives the shared checks (NULL: not given). */
static lt_buf_range seq_range(const char *name, const lt_rnn_seq *seq)
{
    return range_of(name, seq ? seq->buf : NULL, seq ? seq->off : 0, 0);
}

static lt_status cl_rnn_forward(lt_backend *be, const lt_rnn_geom *g, const lt_buf *xw, size_t xwoff,
                                const lt_buf *bias, size_t boff, const lt_buf *r, size_t roff, const lt_buf *rbias,
                                size_t rboff, lt_buf *rec, size_t recoff, const lt_rnn_seq *out)
{
    cl_backend *b = (cl_backend *)be;
    lt_rnn_widths w;
    lt_status st = lt_check_rnn_forward(be, g, range_of("xw", xw, xwoff, 0), range_of("bias", bias, boff, 0),
                                        range_of("r", r, roff, 0), range_of("rbias", rbias, rboff, 0),
                                        range_of("rec", rec, recoff, 0), seq_range("out", out), out, &w);
    if (st != LT_OK || g->batch == 0) return st;
    kargs a = rnn_args(b, K_RNN_FORWARD, g);
    arg_i32(&a, g->zero_state != 0);
    arg_cl(&a, xw->mem);
    arg_u64(&a, xwoff);
    arg_opt(&a, bias, boff, b->scratch);
    arg_cl(&a, r->mem);
    arg_u64(&a, roff);
    arg_opt(&a, g->cell == LT_CELL_GRU ? rbias : NULL, rboff, b->scratch);
    arg_cl(&a, rec->mem);
    arg_u64(&a, recoff);
    arg_seq(&a, out, g->steps, b->scratch);
    arg_u64(&a, out ? out->width : 0);
    return launch_rnn(b, &a, K_RNN_FORWARD, g, "rnn_forward");
}

static lt_status cl_rnn_backward(lt_backend *be, const lt_rnn_geom *g, const lt_rnn_seq *dh, const lt_buf *r,
                                 size_t roff, const lt_buf *rec, size_t recoff, lt_buf *carry, size_t coff, lt_buf *dz,
                                 size_t dzoff)
{
    cl_backend *b = (cl_backend *)be;
    lt_rnn_widths w;
    lt_status st = lt_check_rnn_backward(be, g, seq_range("dh", dh), dh, range_of("r", r, roff, 0),
                                         range_of("rec", rec, recoff, 0), range_of("carry", carry, coff, 0),
                                         range_of("dz", dz, dzoff, 0), &w);
    if (st != LT_OK || g->batch == 0) return st;
    kargs a = rnn_args(b, K_RNN_BACKWARD, g);
    arg_i32(&a, g->zero_carry != 0);
    arg_seq(&a, dh, g->steps, b->scratch);
    arg_cl(&a, r->mem);
    arg_u64(&a, roff);
    arg_cl(&a, rec->mem);
    arg_u64(&a, recoff);
    arg_cl(&a, carry->mem);
    arg_u64(&a, coff);
    arg_cl(&a, dz->mem);
    arg_u64(&a, dzoff);
    return launch_rnn(b, &a, K_RNN_BACKWARD, g, "rnn_backward");
}

/* ------------------------------------------------------------------ lifetime */

/* Releases everything the backend holds; safe on a partly opened backend. */
static void cl_destroy(lt_backend *be)
{
    if (!be) return;
    cl_backend *b = (cl_backend *)be;
    if (b->queue) clFinish(b->queue);
    for (int i = 0; i < K_COUNT; i++)
        if (b->k[i]) clReleaseKernel(b->k[i]);
    if (b->prog) clReleaseProgram(b->prog);
    if (b->scratch) clReleaseMemObject(b->scratch);
    if (b->gemm_temp) clReleaseMemObject(b->gemm_temp);
    if (b->conv_col) clReleaseMemObject(b->conv_col);
    if (b->queue) clReleaseCommandQueue(b->queue);
    if (b->ctx) clReleaseContext(b->ctx);
    free(b);
}

static const lt_backend_ops cl_ops = {
    .name = "opencl",
    .destroy = cl_destroy,
    .buf_alloc = cl_buf_alloc,
    .buf_free = cl_buf_free,
    .buf_elems = cl_buf_elems,
    .upload = cl_upload,
    .download = cl_download,
    .copy = cl_copy,
    .fill = cl_fill,
    .finish = cl_finish,
    .gemm = cl_gemm,
    .axpby = cl_axpby,
    .mul = cl_mul,
    .sum = cl_sum,
    .bias_act_forward = cl_bias_act_forward,
    .act_backward = cl_act_backward,
    .bias_act_backward = cl_bias_act_backward,
    .gather_rows = cl_gather_rows,
    .loss = cl_loss,
    .optim_step = cl_optim_step,
    .sum_squares = cl_sum_squares,
    .clip_by_norm = cl_clip_by_norm,
    .random_uniform = cl_random_uniform,
    .random_normal = cl_random_normal,
    .dropout_mask = cl_dropout_mask,
    .count_nonfinite = cl_count_nonfinite,
    .conv2d_forward = cl_conv2d_forward,
    .conv2d_backward_data = cl_conv2d_backward_data,
    .conv2d_backward_filter = cl_conv2d_backward_filter,
    .maxpool_forward = cl_maxpool_forward,
    .maxpool_backward = cl_maxpool_backward,
    .upsample_forward = cl_upsample_forward,
    .upsample_backward = cl_upsample_backward,
    .affine_resample = cl_affine_resample,
    .vae_sample_forward = cl_vae_sample_forward,
    .vae_sample_backward = cl_vae_sample_backward,
    .kl_normal = cl_kl_normal,
    .sparsity_kl = cl_sparsity_kl,
    .l1_penalty = cl_l1_penalty,
    .copy_strided = cl_copy_strided,
    .rnn_forward = cl_rnn_forward,
    .rnn_backward = cl_rnn_backward,
};

/* Test hook (cl_hooks.h): the GEMM temp buffer's size and allocation count. */
int lt_cl_gemm_temp_info(const lt_backend *be, size_t *bytes, unsigned long *allocs)
{
    const cl_backend *b = be && be->ops == &cl_ops ? (const cl_backend *)be : NULL;
#ifndef LT_HAVE_CLBLAST_CPP
    b = NULL; /* the C API keeps no temp buffer of ours */
#endif
    if (bytes) *bytes = b ? b->gemm_temp_bytes : 0;
    if (allocs) *allocs = b ? b->gemm_temp_allocs : 0;
    return b != NULL;
}

/* Test hook (cl_hooks.h): the convolution column buffer's size and allocation count. */
int lt_cl_conv_col_info(const lt_backend *be, size_t *bytes, unsigned long *allocs)
{
    const cl_backend *b = be && be->ops == &cl_ops ? (const cl_backend *)be : NULL;
    if (bytes) *bytes = b ? b->conv_col_bytes : 0;
    if (allocs) *allocs = b ? b->conv_col_allocs : 0;
    return b != NULL;
}

/* Writes "NAME (PLATFORM, OpenCL X.Y)" for the device. */
static void describe_device(const lt_cl_device *d, char *dst, size_t len)
{
    char name[128], plat[128], ver[128];
    lt_cl_device_string(d->device, CL_DEVICE_NAME, name, sizeof name);
    lt_cl_platform_string(d->platform, CL_PLATFORM_NAME, plat, sizeof plat);
    lt_cl_device_string(d->device, CL_DEVICE_VERSION, ver, sizeof ver);
    /* CL_DEVICE_VERSION is "OpenCL X.Y vendor-specific": keep the first two words */
    char *sp = strchr(ver, ' ');
    if (sp) sp = strchr(sp + 1, ' ');
    if (sp) *sp = 0;
    snprintf(dst, len, "%.120s (%.90s, %.30s)", name, plat, ver);
}

/* Creates context, queue, program, kernels and scratch for device d. */
static lt_status open_device(cl_backend *b, const lt_cl_device *d, char *err, size_t errlen)
{
    cl_int e = CL_SUCCESS;
    b->dev = d->device;
    describe_device(d, b->base.device_name, sizeof b->base.device_name);
    const char *dn = b->base.device_name;
    if (clGetDeviceInfo(d->device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof b->max_alloc, &b->max_alloc, NULL) != CL_SUCCESS ||
        clGetDeviceInfo(d->device, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof b->global_mem, &b->global_mem, NULL) != CL_SUCCESS) {
        snprintf(err, errlen, "%s: cannot query its memory sizes", dn);
        return LT_ERR_DEVICE;
    }
    size_t dev_wg = 1, items[3] = { 1, 1, 1 };
    cl_uint dims = 0;
    clGetDeviceInfo(d->device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof dev_wg, &dev_wg, NULL);
    if (clGetDeviceInfo(d->device, CL_DEVICE_MAX_WORK_ITEM_DIMENSIONS, sizeof dims, &dims, NULL) == CL_SUCCESS &&
        dims >= 2) {
        size_t *tmp = calloc(dims, sizeof *tmp);
        if (tmp && clGetDeviceInfo(d->device, CL_DEVICE_MAX_WORK_ITEM_SIZES, dims * sizeof *tmp, tmp, NULL) == CL_SUCCESS) {
            items[0] = tmp[0];
            items[1] = tmp[1];
        }
        free(tmp);
    }
    b->max_item[0] = items[0] ? items[0] : 1;
    b->max_item[1] = items[1] ? items[1] : 1;

    cl_context_properties props[3] = { CL_CONTEXT_PLATFORM, (cl_context_properties)d->platform, 0 };
    b->ctx = clCreateContext(props, 1, &d->device, NULL, NULL, &e);
    if (!b->ctx || e != CL_SUCCESS) {
        snprintf(err, errlen, "%s: clCreateContext failed: %s", dn, lt_cl_error_name(e));
        return e == CL_OUT_OF_HOST_MEMORY || e == CL_OUT_OF_RESOURCES ? LT_ERR_NOMEM : LT_ERR_DEVICE;
    }
    b->queue = clCreateCommandQueue(b->ctx, d->device, 0, &e);
    if (!b->queue || e != CL_SUCCESS) {
        snprintf(err, errlen, "%s: clCreateCommandQueue failed: %s", dn, lt_cl_error_name(e));
        return e == CL_OUT_OF_HOST_MEMORY || e == CL_OUT_OF_RESOURCES ? LT_ERR_NOMEM : LT_ERR_DEVICE;
    }
    char berr[1024];
    lt_status st = lt_cl_build_program(b->ctx, d->platform, d->device, lt_cl_program_source,
                                       lt_cl_program_source_len, LT_CL_BUILD_OPTIONS, &b->prog,
                                       berr, sizeof berr);
    if (st != LT_OK) {
        snprintf(err, errlen, "%s: %s", dn, berr);
        return st;
    }
    for (int i = 0; i < K_COUNT; i++) {
        b->k[i] = clCreateKernel(b->prog, kernel_names[i], &e);
        if (!b->k[i] || e != CL_SUCCESS) {
            b->k[i] = NULL;
            snprintf(err, errlen, "%s: clCreateKernel(%s) failed: %s", dn, kernel_names[i], lt_cl_error_name(e));
            return LT_ERR_DEVICE;
        }
        /* the kernel's own limit can be below the device's (register pressure) */
        size_t kwg = 0;
        if (clGetKernelWorkGroupInfo(b->k[i], d->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof kwg, &kwg, NULL) != CL_SUCCESS)
            kwg = dev_wg;
        size_t w = LT_CL_WG;
        if (w > dev_wg) w = dev_wg;
        if (w > kwg) w = kwg;
        if (w > b->max_item[0]) w = b->max_item[0];
        b->wg[i] = pow2_floor(w ? w : 1);
    }
    b->scratch = clCreateBuffer(b->ctx, CL_MEM_READ_WRITE, LT_CL_SCRATCH * 4, NULL, &e);
    if (!b->scratch || e != CL_SUCCESS) {
        snprintf(err, errlen, "%s: cannot allocate the reduction scratch buffer: %s", dn, lt_cl_error_name(e));
        return LT_ERR_NOMEM;
    }
    return LT_OK;
}

lt_status lt_opencl_backend_open(lt_backend **out, int index, char *err, size_t errlen)
{
    char dummy[8];
    if (!err || !errlen) { err = dummy; errlen = sizeof dummy; }
    err[0] = 0;
    if (!out) { snprintf(err, errlen, "lt_opencl_backend_open: out is NULL"); return LT_ERR_ARG; }
    *out = NULL;
    int total = lt_cl_enumerate(NULL, 0);
    if (total <= 0) {
        snprintf(err, errlen, "no OpenCL device found (no OpenCL platform is installed, or none has a device)");
        return LT_ERR_DEVICE;
    }
    lt_cl_device *devs = calloc((size_t)total, sizeof *devs);
    if (!devs) { snprintf(err, errlen, "out of host memory"); return LT_ERR_NOMEM; }
    int n = lt_cl_enumerate(devs, total);
    if (n > total) n = total;
    int pick = -1;
    if (index < 0) {
        for (int i = 0; i < n && pick < 0; i++)
            if (devs[i].type & CL_DEVICE_TYPE_GPU) pick = i;
        if (pick < 0) {
            snprintf(err, errlen, "no OpenCL GPU found among %d OpenCL device(s); choose one with opencl:N", n);
            free(devs);
            return LT_ERR_DEVICE;
        }
    } else if (index >= n) {
        snprintf(err, errlen, "OpenCL device %d does not exist (%d device(s) found, numbered from 0)", index, n);
        free(devs);
        return LT_ERR_DEVICE;
    } else {
        pick = index;
    }
    cl_backend *b = calloc(1, sizeof *b);
    if (!b) { free(devs); snprintf(err, errlen, "out of host memory"); return LT_ERR_NOMEM; }
    b->base.ops = &cl_ops;
    lt_status st = open_device(b, &devs[pick], err, errlen);
    free(devs);
    if (st != LT_OK) {
        cl_destroy(&b->base);
        return st;
    }
    *out = &b->base;
    return LT_OK;
}
