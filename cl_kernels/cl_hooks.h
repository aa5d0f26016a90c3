/* Introspection of the OpenCL backend for tests (tests/test_backend_ops.c and others). Free of
 * OpenCL types, so a test can include it without the OpenCL headers. */
#ifndef LT_CL_HOOKS_H
#define LT_CL_HOOKS_H

#include <stddef.h>
#include "backend.h"

/* Reports be's GEMM temp buffer: its size in bytes and how many times it has been
 * (re)allocated. Returns 1 when GEMM goes through the temp-buffer shim, 0 (and zeros)
 * when CLBlast's C API is used (no C++ at configure time) or be is not OpenCL. */
int lt_cl_gemm_temp_info(const lt_backend *be, size_t *bytes, unsigned long *allocs);

/* Reports be's convolution column buffer (im2col scratch): its size in bytes and how many
 * times it has been (re)allocated. Returns 1 for an OpenCL backend, else 0 (and zeros). */
int lt_cl_conv_col_info(const lt_backend *be, size_t *bytes, unsigned long *allocs);

/* Reports the limits be's launches keep to: the largest work-group any kernel runs with,
 * and the device's local memory and largest buffer in bytes, both as lowered by the
 * LATENT_CL_* environment variables (cl_internal.h). Returns 1 for an OpenCL backend,
 * else 0 (and zeros). */
int lt_cl_limits_info(const lt_backend *be, size_t *largest_wg, size_t *local_mem, size_t *max_alloc);

/* The number of GEMMs be has run split along k (gemm.cl) since it was opened, and
 * whether its limits let it split at all (16 x 16 work-groups). Returns 1 for an OpenCL
 * backend, else 0 (and zeros). */
int lt_cl_split_k_info(const lt_backend *be, unsigned long *gemms, int *fits);

#endif
