/* The OpenCL backend's lifetime and memory: one context and in-order queue per backend,
 * the kernel program (the .cl files here, built once at open through the on-disk cache)
 * and one kernel object per kernel function; buffers, the scratch buffers that grow on
 * demand, upload/download/copy/fill/finish; the vtable, whose other slots the family
 * files implement (cl_math.c, cl_train.c, cl_conv.c, cl_latent.c, cl_rnn.c); the test
 * hooks.
 *
 * Ops trust their operands (the front door, lib/backend/dispatch.c, checked them), set
 * the arguments of a kernel object created at open and enqueue it; nothing waits for the
 * device except download() and finish(). A backend is meant to be driven from one thread
 * at a time (kernel arguments are set on shared kernel objects); separate backends are
 * fully independent. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cl_launch.h"
#include "cl_hooks.h"
#include <clblast_c.h>

/* Backends opened and not yet destroyed. CLBlast keeps every program it builds in
 * process-wide caches, each holding a reference to its context, until CLBlastClearCache()
 * or the caches' static destructors at exit; the last backend's destroy clears them, so
 * our contexts are really freed then and no OpenCL call is left for exit time (OpenCL
 * runtimes need not survive being called from static destructors: Oclgrind's does not). */
static atomic_int live_backends;

/* Kernel function names, in the order of the ids in cl_internal.h. */
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
    "lt_gemm_splitk", "lt_splitk_sum",
};

/* ------------------------------------------------------------------ device memory */

/* Creates a device buffer of bytes and counts it in `allocated`; what names it on failure. */
static lt_status create_counted(cl_backend *b, size_t bytes, cl_mem *out, const char *what)
{
    cl_int e = CL_SUCCESS;
    cl_mem m = clCreateBuffer(b->ctx, CL_MEM_READ_WRITE, bytes, NULL, &e);
    if (!m || e != CL_SUCCESS) {
        if (m) clReleaseMemObject(m);
        if (e == CL_SUCCESS || e == CL_INVALID_BUFFER_SIZE) e = CL_MEM_OBJECT_ALLOCATION_FAILURE;
        return lt_cl_fail(b, e, what);
    }
    b->allocated += bytes;
    *out = m;
    return LT_OK;
}

/* Releases a buffer of bytes counted in `allocated` (the device frees it once queued
 * work using it is done). */
static void release_counted(cl_backend *b, cl_mem m, size_t bytes)
{
    b->allocated -= bytes <= b->allocated ? bytes : b->allocated;
    clReleaseMemObject(m);
}

/* Makes scratch buffer s hold at least need bytes (it only grows). */
lt_status lt_cl_grow_scratch(cl_backend *b, lt_cl_scratch *s, size_t need, const char *op, const char *what)
{
    if (s->mem && s->bytes >= need) return LT_OK;
    size_t q = LT_CL_SCRATCH_QUANTUM;
    if (need > SIZE_MAX - q || (cl_ulong)((need + q - 1) / q * q) > b->lim.max_alloc)
        return lt_backend_set_error(&b->base, LT_ERR_NOMEM,
            "%s: %s needs %zu bytes, more than the largest single buffer %s allows (%llu bytes)", op, what, need,
            b->base.device_name, (unsigned long long)b->lim.max_alloc);
    size_t bytes = need ? (need + q - 1) / q * q : q;
    /* release first to lower the peak; OpenCL frees it once queued kernels using it are done */
    if (s->mem) {
        release_counted(b, s->mem, s->bytes);
        s->mem = NULL;
        s->bytes = 0;
    }
    if (bytes > b->lim.global_mem - b->allocated)
        return lt_backend_set_error(&b->base, LT_ERR_NOMEM,
            "%s: %s needs %zu bytes, but %llu of the %llu bytes of device memory on %s are already in use by "
            "latent", op, what, bytes, (unsigned long long)b->allocated, (unsigned long long)b->lim.global_mem,
            b->base.device_name);
    char desc[160];
    snprintf(desc, sizeof desc, "%s: allocating %s", op, what);
    lt_status st = create_counted(b, bytes, &s->mem, desc);
    if (st != LT_OK) return st;
    s->bytes = bytes;
    s->allocs++;
    return LT_OK;
}

/* ------------------------------------------------------------------ buffers */

/* Allocates a device buffer of n elements (at least one, as OpenCL requires). */
static lt_status cl_buf_alloc(lt_backend *be, size_t n, lt_buf **out)
{
    cl_backend *b = (cl_backend *)be;
    size_t elems = n ? n : 1;
    if (elems > SIZE_MAX / 4 || (cl_ulong)elems * 4 > b->lim.max_alloc)
        return lt_backend_set_error(be, LT_ERR_NOMEM,
            "cannot allocate %zu floats (%.4g GB): larger than the largest single buffer %s allows "
            "(CL_DEVICE_MAX_MEM_ALLOC_SIZE = %llu bytes, %.4g GB)", n, (double)elems * 4.0 / 1e9,
            b->base.device_name, (unsigned long long)b->lim.max_alloc, (double)b->lim.max_alloc / 1e9);
    size_t bytes = elems * 4;
    if (bytes > b->lim.global_mem - b->allocated)
        return lt_backend_set_error(be, LT_ERR_NOMEM,
            "cannot allocate %zu floats (%zu bytes): %llu of the %llu bytes of device memory on %s "
            "are already in use by latent", n, bytes, (unsigned long long)b->allocated,
            (unsigned long long)b->lim.global_mem, b->base.device_name);
    lt_buf *buf = malloc(sizeof *buf);
    if (!buf) return lt_backend_set_error(be, LT_ERR_NOMEM, "buf_alloc: out of host memory");
    char what[96];
    snprintf(what, sizeof what, "allocating %zu bytes", bytes);
    lt_status st = create_counted(b, bytes, &buf->mem, what);
    if (st != LT_OK) {
        free(buf);
        return st;
    }
    buf->n = n;
    *out = buf;
    return LT_OK;
}

/* Elements buf was allocated with. */
static size_t cl_buf_elems(const lt_buf *buf) { return buf->n; }

/* Releases a buffer (the device frees it once queued work using it is done). */
static void cl_buf_free(lt_backend *be, lt_buf *buf)
{
    release_counted((cl_backend *)be, buf->mem, (buf->n ? buf->n : 1) * 4);
    free(buf);
}

/* Host to device. Blocking, because the caller may reuse src as soon as this returns. */
static lt_status cl_upload(lt_backend *be, lt_buf *buf, size_t off, const void *src, size_t n)
{
    cl_backend *b = (cl_backend *)be;
    if (n == 0) return LT_OK;
    return lt_cl_fail(b, clEnqueueWriteBuffer(b->queue, buf->mem, CL_TRUE, off * 4, n * 4, src, 0, NULL, NULL),
                      "upload");
}

/* Device to host; the blocking read on the in-order queue waits for all earlier work. */
static lt_status cl_download(lt_backend *be, const lt_buf *buf, size_t off, void *dst, size_t n)
{
    cl_backend *b = (cl_backend *)be;
    if (n == 0) return lt_cl_fail(b, clFinish(b->queue), "download");
    return lt_cl_fail(b, clEnqueueReadBuffer(b->queue, buf->mem, CL_TRUE, off * 4, n * 4, dst, 0, NULL, NULL),
                      "download");
}

/* Device-side copy between non-overlapping ranges. */
static lt_status cl_copy(lt_backend *be, const lt_buf *src, size_t soff, lt_buf *dst, size_t doff, size_t n)
{
    cl_backend *b = (cl_backend *)be;
    if (n == 0) return LT_OK;
    return lt_cl_fail(b, clEnqueueCopyBuffer(b->queue, src->mem, dst->mem, soff * 4, doff * 4, n * 4, 0, NULL, NULL),
                      "copy");
}

/* buf[off, off+n) = value. */
lt_status lt_cl_fill(lt_backend *be, lt_buf *buf, size_t off, size_t n, float value)
{
    cl_backend *b = (cl_backend *)be;
    if (n == 0) return LT_OK;
    kargs a = args_of(b, K_FILL);
    arg_u64(&a, n);
    arg_at(&a, buf, off);
    arg_f32(&a, value);
    return lt_cl_launch_1d(b, &a, n, "fill");
}

/* Waits for the queue to drain. */
static lt_status cl_finish(lt_backend *be)
{
    cl_backend *b = (cl_backend *)be;
    return lt_cl_fail(b, clFinish(b->queue), "finish");
}

/* ------------------------------------------------------------------ lifetime */

/* Releases everything the backend holds; safe on a partly opened backend. */
static void cl_destroy(lt_backend *be)
{
    cl_backend *b = (cl_backend *)be;
    if (b->queue) clFinish(b->queue);
    for (int i = 0; i < K_COUNT; i++)
        if (b->k[i]) clReleaseKernel(b->k[i]);
    if (b->prog) clReleaseProgram(b->prog);
    if (b->scratch) clReleaseMemObject(b->scratch);
    if (b->gemm_temp.mem) clReleaseMemObject(b->gemm_temp.mem);
    if (b->conv_col.mem) clReleaseMemObject(b->conv_col.mem);
    if (b->splitk.mem) clReleaseMemObject(b->splitk.mem);
    if (b->queue) clReleaseCommandQueue(b->queue);
    if (b->ctx) clReleaseContext(b->ctx);
    free(b);
    if (atomic_fetch_sub(&live_backends, 1) == 1) CLBlastClearCache();
}

/* The vtable: this file's slots and the family files' (cl_internal.h). */
static const lt_backend_ops cl_ops = {
    .name = "opencl",
    .destroy = cl_destroy,
    .buf_alloc = cl_buf_alloc,
    .buf_free = cl_buf_free,
    .buf_elems = cl_buf_elems,
    .upload = cl_upload,
    .download = cl_download,
    .copy = cl_copy,
    .fill = lt_cl_fill,
    .finish = cl_finish,
    .gemm = lt_cl_gemm,
    .axpby = lt_cl_axpby,
    .mul = lt_cl_mul,
    .sum = lt_cl_sum,
    .bias_act_forward = lt_cl_bias_act_forward,
    .act_backward = lt_cl_act_backward,
    .bias_act_backward = lt_cl_bias_act_backward,
    .gather_rows = lt_cl_gather_rows,
    .loss = lt_cl_loss,
    .optim_step = lt_cl_optim_step,
    .sum_squares = lt_cl_sum_squares,
    .clip_by_norm = lt_cl_clip_by_norm,
    .random_uniform = lt_cl_random_uniform,
    .random_normal = lt_cl_random_normal,
    .dropout_mask = lt_cl_dropout_mask,
    .count_nonfinite = lt_cl_count_nonfinite,
    .conv2d_forward = lt_cl_conv2d_forward,
    .conv2d_backward_data = lt_cl_conv2d_backward_data,
    .conv2d_backward_filter = lt_cl_conv2d_backward_filter,
    .maxpool_forward = lt_cl_maxpool_forward,
    .maxpool_backward = lt_cl_maxpool_backward,
    .upsample_forward = lt_cl_upsample_forward,
    .upsample_backward = lt_cl_upsample_backward,
    .affine_resample = lt_cl_affine_resample,
    .vae_sample_forward = lt_cl_vae_sample_forward,
    .vae_sample_backward = lt_cl_vae_sample_backward,
    .kl_normal = lt_cl_kl_normal,
    .sparsity_kl = lt_cl_sparsity_kl,
    .l1_penalty = lt_cl_l1_penalty,
    .copy_strided = lt_cl_copy_strided,
    .rnn_forward = lt_cl_rnn_forward,
    .rnn_backward = lt_cl_rnn_backward,
};

/* be as an OpenCL backend, or NULL when it is another kind. */
static const cl_backend *as_opencl(const lt_backend *be)
{
    return be && be->ops == &cl_ops ? (const cl_backend *)be : NULL;
}

/* Test hook (cl_hooks.h): the GEMM temp buffer's size and allocation count. */
int lt_cl_gemm_temp_info(const lt_backend *be, size_t *bytes, unsigned long *allocs)
{
    const cl_backend *b = as_opencl(be);
#ifndef LT_HAVE_CLBLAST_CPP
    b = NULL; /* the C API keeps no temp buffer of ours */
#endif
    if (bytes) *bytes = b ? b->gemm_temp.bytes : 0;
    if (allocs) *allocs = b ? b->gemm_temp.allocs : 0;
    return b != NULL;
}

/* Test hook (cl_hooks.h): the convolution column buffer's size and allocation count. */
int lt_cl_conv_col_info(const lt_backend *be, size_t *bytes, unsigned long *allocs)
{
    const cl_backend *b = as_opencl(be);
    if (bytes) *bytes = b ? b->conv_col.bytes : 0;
    if (allocs) *allocs = b ? b->conv_col.allocs : 0;
    return b != NULL;
}

/* Test hook (cl_hooks.h): GEMMs run split along k. */
int lt_cl_split_k_info(const lt_backend *be, unsigned long *gemms, int *fits)
{
    const cl_backend *b = as_opencl(be);
    if (gemms) *gemms = b ? b->split_gemms : 0;
    if (fits) *fits = b ? lt_cl_split_k_fits(b) : 0;
    return b != NULL;
}

/* Test hook (cl_hooks.h): the largest work-group used and the memory limits kept to. */
int lt_cl_limits_info(const lt_backend *be, size_t *largest_wg, size_t *local_mem, size_t *max_alloc)
{
    const cl_backend *b = as_opencl(be);
    size_t wg = 0;
    for (int i = 0; b && i < K_COUNT; i++)
        if (b->wg[i] > wg) wg = b->wg[i];
    if (largest_wg) *largest_wg = wg;
    if (local_mem) *local_mem = b ? (size_t)b->lim.local_mem : 0;
    if (max_alloc) *max_alloc = b ? (size_t)b->lim.max_alloc : 0;
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

/* Creates one kernel object per kernel function, with the limits it must respect and the
 * work-group size it runs with: LT_CL_WG within the device's and the kernel's own
 * limits, a power of two, and small enough that its __local arrays (4 bytes per
 * work-item, the most any kernel takes) fit in the local memory the kernel leaves. */
static lt_status create_kernels(cl_backend *b, char *err, size_t errlen)
{
    for (int i = 0; i < K_COUNT; i++) {
        cl_int e = CL_SUCCESS;
        b->k[i] = clCreateKernel(b->prog, kernel_names[i], &e);
        if (!b->k[i] || e != CL_SUCCESS) {
            b->k[i] = NULL;
            snprintf(err, errlen, "%s: clCreateKernel(%s) failed: %s", b->base.device_name, kernel_names[i],
                     lt_cl_error_name(e));
            return LT_ERR_DEVICE;
        }
        /* the kernel's own limits can be below the device's (register pressure, static
         * __local variables) */
        size_t kwg = 0;
        cl_ulong klocal = 0;
        if (clGetKernelWorkGroupInfo(b->k[i], b->dev, CL_KERNEL_WORK_GROUP_SIZE, sizeof kwg, &kwg, NULL) != CL_SUCCESS ||
            kwg == 0)
            kwg = b->lim.max_wg;
        if (clGetKernelWorkGroupInfo(b->k[i], b->dev, CL_KERNEL_LOCAL_MEM_SIZE, sizeof klocal, &klocal, NULL) !=
            CL_SUCCESS)
            klocal = 0;
        b->wg_max[i] = kwg < b->lim.max_wg ? kwg : b->lim.max_wg;
        b->local_free[i] = klocal < b->lim.local_mem ? b->lim.local_mem - klocal : 0;
        size_t w = LT_CL_WG;
        if (w > b->wg_max[i]) w = b->wg_max[i];
        if (w > b->lim.max_item[0]) w = b->lim.max_item[0];
        if ((cl_ulong)w * 4 > b->local_free[i]) w = (size_t)(b->local_free[i] / 4);
        if (w == 0) {
            snprintf(err, errlen, "%s: kernel %s cannot run: %llu bytes of local memory left for it (%llu of the "
                     "device's %llu bytes are its own)", b->base.device_name, kernel_names[i],
                     (unsigned long long)b->local_free[i], (unsigned long long)klocal,
                     (unsigned long long)b->lim.local_mem);
            return LT_ERR_DEVICE;
        }
        b->wg[i] = lt_cl_pow2_floor(w);
    }
    return LT_OK;
}

/* Creates context, queue, program, kernels and scratch for device d. */
static lt_status open_device(cl_backend *b, const lt_cl_device *d, char *err, size_t errlen)
{
    cl_int e = CL_SUCCESS;
    b->dev = d->device;
    describe_device(d, b->base.device_name, sizeof b->base.device_name);
    const char *dn = b->base.device_name;
    char lerr[256];
    lt_status st = lt_cl_query_limits(d->device, &b->lim, lerr, sizeof lerr);
    if (st == LT_OK && lt_cl_env_count("LATENT_CL_SPLIT_K", &b->split_k, lerr, sizeof lerr) != 0) st = LT_ERR_ARG;
    if (st != LT_OK) {
        snprintf(err, errlen, "%s: %s", dn, lerr);
        return st;
    }
    cl_context_properties props[3] = {CL_CONTEXT_PLATFORM, (cl_context_properties)d->platform, 0};
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
    st = lt_cl_build_program(b->ctx, d->platform, d->device, lt_cl_program_source, lt_cl_program_source_len,
                             LT_CL_BUILD_OPTIONS, &b->prog, berr, sizeof berr);
    if (st != LT_OK) {
        snprintf(err, errlen, "%s: %s", dn, berr);
        return st;
    }
    st = create_kernels(b, err, errlen);
    if (st != LT_OK) return st;
    b->scratch = clCreateBuffer(b->ctx, CL_MEM_READ_WRITE, LT_CL_SCRATCH * 4, NULL, &e);
    if (!b->scratch || e != CL_SUCCESS) {
        snprintf(err, errlen, "%s: cannot allocate the reduction scratch buffer: %s", dn, lt_cl_error_name(e));
        return LT_ERR_NOMEM;
    }
    return LT_OK;
}

/* Index into devs[0..n) of the device that index names (< 0: the first GPU), or -1 with
 * the reason in err. */
static int pick_device(const lt_cl_device *devs, int n, int index, char *err, size_t errlen)
{
    if (index >= n) {
        snprintf(err, errlen, "OpenCL device %d does not exist (%d device(s) found, numbered from 0)", index, n);
        return -1;
    }
    if (index >= 0) return index;
    for (int i = 0; i < n; i++)
        if (devs[i].type & CL_DEVICE_TYPE_GPU) return i;
    snprintf(err, errlen, "no OpenCL GPU found among %d OpenCL device(s); choose one with opencl:N", n);
    return -1;
}

/* Opens OpenCL device `index` (backend.h; < 0: the first GPU). */
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
    int pick = pick_device(devs, n, index, err, errlen);
    if (pick < 0) {
        free(devs);
        return LT_ERR_DEVICE;
    }
    cl_backend *b = calloc(1, sizeof *b);
    if (!b) { free(devs); snprintf(err, errlen, "out of host memory"); return LT_ERR_NOMEM; }
    b->base.ops = &cl_ops;
    atomic_fetch_add(&live_backends, 1); /* from here on cl_destroy undoes it */
    lt_status st = open_device(b, &devs[pick], err, errlen);
    free(devs);
    if (st != LT_OK) {
        cl_destroy(&b->base);
        return st;
    }
    *out = &b->base;
    return LT_OK;
}
