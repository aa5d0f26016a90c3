/* Setting kernel arguments and launching kernels, shared by the OpenCL host files: the
 * argument setters (inline, one per argument kind) and the launch shapes of cl_launch.c
 * (grid-stride 1-D, fixed groups, rows of groups, 2-D tiles, two-pass reductions). */
#ifndef LT_CL_LAUNCH_H
#define LT_CL_LAUNCH_H

#include <stdint.h>
#include "cl_internal.h"

/* ------------------------------------------------------------------ arguments */

/* Kernel argument setter: remembers the next index and the first error. */
typedef struct kargs {
    cl_kernel k;        /* kernel being prepared           */
    int kid;            /* its id (its group size)         */
    cl_uint i;          /* next argument index             */
    cl_int err;         /* first failure, or success       */
    size_t local_bytes; /* bytes of its __local arguments  */
} kargs;

/* Starts setting the arguments of kernel kid. */
static inline kargs args_of(cl_backend *b, int kid)
{
    kargs a = {b->k[kid], kid, 0, CL_SUCCESS, 0};
    return a;
}

/* Sets the next argument from size bytes at v (v NULL: a __local array of size bytes). */
static inline void arg_raw(kargs *a, size_t size, const void *v)
{
    if (a->err == CL_SUCCESS) a->err = clSetKernelArg(a->k, a->i, size, v);
    a->i++;
}

/* Next argument: a cl_mem. */
static inline void arg_cl(kargs *a, cl_mem m) { arg_raw(a, sizeof m, &m); }
/* Next argument: a ulong size or offset. */
static inline void arg_u64(kargs *a, uint64_t v) { cl_ulong u = v; arg_raw(a, sizeof u, &u); }
/* Next argument: a long stride. */
static inline void arg_i64(kargs *a, ptrdiff_t v) { cl_long l = v; arg_raw(a, sizeof l, &l); }
/* Next argument: a uint. */
static inline void arg_u32(kargs *a, cl_uint v) { arg_raw(a, sizeof v, &v); }
/* Next argument: an int. */
static inline void arg_i32(kargs *a, cl_int v) { arg_raw(a, sizeof v, &v); }
/* Next argument: a float. */
static inline void arg_f32(kargs *a, float v) { cl_float f = v; arg_raw(a, sizeof f, &f); }
/* Next n arguments: the ints v[0 .. n). */
static inline void arg_ints(kargs *a, const int *v, size_t n)
{
    for (size_t i = 0; i < n; i++) arg_i32(a, v[i]);
}
/* Next argument: a __local array of bytes. */
static inline void arg_local(kargs *a, size_t bytes)
{
    a->local_bytes += bytes;
    arg_raw(a, bytes, NULL);
}

/* Next two arguments: an operand, its buffer and element offset. */
static inline void arg_at(kargs *a, const lt_buf *buf, size_t off)
{
    arg_cl(a, buf->mem);
    arg_u64(a, off);
}

/* Next two arguments: an operand that may be absent (only where the kernel then reads
 * nothing of it), its buffer or fallback, and off as given. */
static inline void arg_at_or(kargs *a, const lt_buf *buf, size_t off, cl_mem fallback)
{
    arg_cl(a, buf ? buf->mem : fallback);
    arg_u64(a, off);
}

/* Next three arguments: an optional operand's flag (int: buf != NULL), its buffer
 * (fallback when NULL: the kernel does not read it then) and its offset (0 when NULL). */
static inline void arg_opt(kargs *a, const lt_buf *buf, size_t off, cl_mem fallback)
{
    arg_i32(a, buf != NULL);
    arg_at_or(a, buf, buf ? off : 0, fallback);
}

/* Kernel code of an activation (common.cl's LT_ACT_*); -1 for softmax, -2 for an
 * unknown value. */
int lt_cl_act_code(lt_backend_act act);

/* ------------------------------------------------------------------ sizes */

/* Largest power of two <= v (v >= 1). */
size_t lt_cl_pow2_floor(size_t v);

/* Smallest power of two >= v, capped at cap (a power of two). */
size_t lt_cl_pow2_ceil_cap(size_t v, size_t cap);

/* Number of work-groups for a grid-stride 1-D kernel over n items with groups of l
 * (at least 1, at most cap). */
size_t lt_cl_groups_for(size_t n, size_t l, size_t cap);

/* ------------------------------------------------------------------ launches */

/* Launches a's kernel as a grid-stride 1-D kernel over n items. */
lt_status lt_cl_launch_1d(cl_backend *b, const kargs *a, size_t n, const char *what);

/* Launches exactly groups work-groups of l items (1-D). */
lt_status lt_cl_launch_groups(cl_backend *b, const kargs *a, size_t groups, size_t l, const char *what);

/* Launches rows x groups work-groups of l items: row r's groups have get_group_id(1) == r. */
lt_status lt_cl_launch_group_rows(cl_backend *b, const kargs *a, size_t groups, size_t rows, size_t l,
                                  const char *what);

/* Launches a's kernel over (cols, rows) in 2-D tiles of up to 64 columns. */
lt_status lt_cl_launch_2d(cl_backend *b, const kargs *a, size_t cols, size_t rows, const char *what);

/* Launches gx x gy x gz work-groups of lx x ly items (3-D, one item deep: group
 * (i, j, s) has get_group_id() == (i, j, s)). */
lt_status lt_cl_launch_tiles(cl_backend *b, const kargs *a, size_t gx, size_t gy, size_t gz, size_t lx, size_t ly,
                             const char *what);

/* A reduction's final pass: out[ooff + r] = sum of row r's parts partials in the
 * scratch buffer, for r < rows (the partials of a row are contiguous). */
lt_status lt_cl_reduce_final(cl_backend *b, int kid, size_t parts, size_t rows, const lt_buf *out, size_t ooff,
                             const char *what);

/* A two-pass reduction over n items whose first-pass arguments a lack only the partials
 * and the __local array: lt_cl_groups_for(n) groups (at most LT_CL_MAX_PARTS) write
 * partials to scratch, then final pass final_kid sums them into out[ooff]. */
lt_status lt_cl_launch_reduction(cl_backend *b, kargs *a, size_t n, int final_kid, const lt_buf *out, size_t ooff,
                                 const char *what);

#endif
