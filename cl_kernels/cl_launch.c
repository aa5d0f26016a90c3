/* Kernel launches of the OpenCL backend (cl_launch.h): OpenCL errors as statuses, the
 * kernel codes of activations, work-group arithmetic, and the launch shapes every op
 * uses. Nothing here waits for the device. */
#include "cl_launch.h"

/* Turns an OpenCL error into a status and message; allocation failures are NOMEM. */
lt_status lt_cl_fail(cl_backend *b, cl_int e, const char *what)
{
    if (e == CL_SUCCESS) return LT_OK;
    if (e == CL_MEM_OBJECT_ALLOCATION_FAILURE || e == CL_OUT_OF_RESOURCES || e == CL_OUT_OF_HOST_MEMORY)
        return lt_backend_set_error(&b->base, LT_ERR_NOMEM, "%s: out of memory on %s (%s)", what,
                                    b->base.device_name, lt_cl_error_name(e));
    return lt_backend_set_error(&b->base, LT_ERR_DEVICE, "%s failed: %s (%d)", what, lt_cl_error_name(e), (int)e);
}

/* Kernel code of an activation (common.cl's LT_ACT_*); -1 softmax, -2 unknown. */
int lt_cl_act_code(lt_backend_act act)
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

/* Largest power of two <= v (v >= 1). */
size_t lt_cl_pow2_floor(size_t v)
{
    size_t p = 1;
    while (p <= v / 2) p *= 2;
    return p;
}

/* Smallest power of two >= v, capped at cap (a power of two). */
size_t lt_cl_pow2_ceil_cap(size_t v, size_t cap)
{
    size_t p = 1;
    while (p < v && p < cap) p *= 2;
    return p;
}

/* Work-groups of l items for a grid-stride kernel over n items: 1 .. cap. */
size_t lt_cl_groups_for(size_t n, size_t l, size_t cap)
{
    size_t g = n / l + (n % l != 0);
    if (g > cap) g = cap;
    return g ? g : 1;
}

/* Checks a launch against the device's and the kernel's limits (OpenCL 1.2: the global
 * size a multiple of the local size in each dimension, the work-group within
 * CL_KERNEL_WORK_GROUP_SIZE and CL_DEVICE_MAX_WORK_ITEM_SIZES, the __local arguments
 * within the local memory the kernel leaves). The launch shapes keep to these, so a
 * failure is latent's bug, said plainly instead of left to the driver. */
static lt_status check_launch(cl_backend *b, const kargs *a, cl_uint dims, const size_t *global, const size_t *local,
                              const char *what)
{
    size_t items = 1;
    for (cl_uint d = 0; d < dims; d++) {
        if (local[d] == 0 || global[d] % local[d] != 0 || local[d] > b->lim.max_item[d])
            return lt_backend_set_error(&b->base, LT_ERR_DEVICE,
                "%s: internal error: work-group size %zu in dimension %u does not divide the global size %zu or "
                "exceeds the device's %zu work-items", what, local[d], (unsigned)d, global[d], b->lim.max_item[d]);
        items *= local[d];
    }
    if (items > b->wg_max[a->kid])
        return lt_backend_set_error(&b->base, LT_ERR_DEVICE,
            "%s: internal error: a work-group of %zu work-items exceeds the %zu this kernel allows on %s", what,
            items, b->wg_max[a->kid], b->base.device_name);
    if ((cl_ulong)a->local_bytes > b->local_free[a->kid])
        return lt_backend_set_error(&b->base, LT_ERR_DEVICE,
            "%s: internal error: %zu bytes of local memory exceed the %llu this kernel has on %s", what,
            a->local_bytes, (unsigned long long)b->local_free[a->kid], b->base.device_name);
    return LT_OK;
}

/* Enqueues an ND-range of a's kernel after checking the argument setup and the limits. */
static lt_status enqueue(cl_backend *b, const kargs *a, cl_uint dims, const size_t *global, const size_t *local,
                         const char *what)
{
    if (a->err != CL_SUCCESS) return lt_cl_fail(b, a->err, what);
    lt_status st = check_launch(b, a, dims, global, local, what);
    if (st != LT_OK) return st;
    return lt_cl_fail(b, clEnqueueNDRangeKernel(b->queue, a->k, dims, NULL, global, local, 0, NULL, NULL), what);
}

/* Launches a's kernel as a grid-stride 1-D kernel over n items. */
lt_status lt_cl_launch_1d(cl_backend *b, const kargs *a, size_t n, const char *what)
{
    size_t l = b->wg[a->kid];
    size_t g = lt_cl_groups_for(n, l, LT_CL_MAX_GROUPS) * l;
    return enqueue(b, a, 1, &g, &l, what);
}

/* Launches exactly groups work-groups of l items (1-D). */
lt_status lt_cl_launch_groups(cl_backend *b, const kargs *a, size_t groups, size_t l, const char *what)
{
    size_t g = groups * l;
    return enqueue(b, a, 1, &g, &l, what);
}

/* Launches rows x groups work-groups of l items (row r: get_group_id(1) == r). */
lt_status lt_cl_launch_group_rows(cl_backend *b, const kargs *a, size_t groups, size_t rows, size_t l,
                                  const char *what)
{
    size_t global[2] = {groups * l, rows}, local[2] = {l, 1};
    return enqueue(b, a, 2, global, local, what);
}

/* Launches a's kernel over (cols, rows). A work-group spans up to 64 columns (256
 * coalesced bytes per row) and as many rows as fit, so narrow and wide matrices both
 * waste little of the rounded-up range. */
lt_status lt_cl_launch_2d(cl_backend *b, const kargs *a, size_t cols, size_t rows, const char *what)
{
    size_t l = b->wg[a->kid];
    size_t cap = l < 64 ? l : 64;
    if (cap > b->lim.max_item[0]) cap = lt_cl_pow2_floor(b->lim.max_item[0]);
    size_t lx = lt_cl_pow2_ceil_cap(cols, cap);
    size_t ly = l / lx;
    if (ly > b->lim.max_item[1]) ly = lt_cl_pow2_floor(b->lim.max_item[1]);
    size_t local[2] = {lx, ly};
    size_t global[2] = {(cols + lx - 1) / lx * lx, (rows + ly - 1) / ly * ly};
    return enqueue(b, a, 2, global, local, what);
}

/* Launches gx x gy x gz work-groups of lx x ly items (3-D, one item deep). */
lt_status lt_cl_launch_tiles(cl_backend *b, const kargs *a, size_t gx, size_t gy, size_t gz, size_t lx, size_t ly,
                             const char *what)
{
    size_t global[3] = {gx * lx, gy * ly, gz}, local[3] = {lx, ly, 1};
    return enqueue(b, a, 3, global, local, what);
}

/* A reduction's final pass: out[ooff + r] = sum of row r's parts partials in scratch. */
lt_status lt_cl_reduce_final(cl_backend *b, int kid, size_t parts, size_t rows, const lt_buf *out, size_t ooff,
                             const char *what)
{
    kargs a = args_of(b, kid);
    arg_u32(&a, (cl_uint)parts);
    arg_cl(&a, b->scratch);
    arg_at(&a, out, ooff);
    arg_local(&a, b->wg[kid] * 4);
    return lt_cl_launch_group_rows(b, &a, 1, rows, b->wg[kid], what);
}

/* A two-pass reduction over n items of a's kernel into out[ooff] (cl_launch.h). */
lt_status lt_cl_launch_reduction(cl_backend *b, kargs *a, size_t n, int final_kid, const lt_buf *out, size_t ooff,
                                 const char *what)
{
    size_t l = b->wg[a->kid], parts = lt_cl_groups_for(n, l, LT_CL_MAX_PARTS);
    arg_cl(a, b->scratch);
    arg_local(a, l * 4);
    lt_status st = lt_cl_launch_groups(b, a, parts, l, what);
    return st != LT_OK ? st : lt_cl_reduce_final(b, final_kid, parts, 1, out, ooff, what);
}
