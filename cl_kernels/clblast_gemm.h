/* The C side of clblast_gemm.cpp, a shim over CLBlast's C++ API. Only the C++ API takes
 * a caller-owned temp buffer for GEMM; the C API (CLBlastSgemm) makes CLBlast allocate
 * scratch on every call that takes its indirect (padded) path. Built only when meson
 * finds a C++ compiler that links against CLBlast's C++ API (LT_HAVE_CLBLAST_CPP).
 *
 * Both functions return a CLBlast status code: 0 on success, an OpenCL error code
 * (> -1000), or a CLBlast one (<= -1000). No C++ exception ever leaves them. */
#ifndef LT_CLBLAST_GEMM_H
#define LT_CLBLAST_GEMM_H

#include <stddef.h>
#include "cl_include.h"

#ifdef __cplusplus
extern "C" {
#endif

/* CLBlast's kInsufficientMemoryTemp: the temp buffer passed to lt_clblast_sgemm is too
 * small for this GEMM (checked before anything is enqueued). */
#define LT_CLBLAST_INSUFFICIENT_TEMP (-2050)
/* CLBlast's kUnexpectedError: what the shim returns for an exception it caught. */
#define LT_CLBLAST_UNEXPECTED (-2039)

/* *bytes = the temp buffer that lt_clblast_sgemm needs for this row-major GEMM (0 when
 * CLBlast takes its direct path or needs no padded copies). */
int lt_clblast_sgemm_temp_size(int trans_a, int trans_b, size_t m, size_t n, size_t k,
                               size_t aoff, size_t lda, size_t boff, size_t ldb,
                               size_t coff, size_t ldc, cl_command_queue *queue, size_t *bytes);

/* Row-major C = alpha*op(A)*op(B) + beta*C (offsets in elements), enqueued on *queue.
 * temp (not NULL) is the scratch for CLBlast's padded copies; CLBlast allocates nothing
 * itself and fails with LT_CLBLAST_INSUFFICIENT_TEMP when temp is too small. */
int lt_clblast_sgemm(int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
                     cl_mem a, size_t aoff, size_t lda, cl_mem b, size_t boff, size_t ldb,
                     float beta, cl_mem c, size_t coff, size_t ldc,
                     cl_command_queue *queue, cl_mem temp);

#ifdef __cplusplus
}
#endif

#endif
