/* The CPU fallback's single-precision GEMM: cache-blocked, packed, register-blocked,
 * threaded with OpenMP when available. Private to cpu_fallback/. */
#ifndef LT_CPU_GEMM_H
#define LT_CPU_GEMM_H

#include <stddef.h>

/* Micro-kernel variants; AUTO picks the fastest this CPU supports. */
typedef enum lt_gemm_kernel {
    LT_GEMM_AUTO = 0,
    LT_GEMM_GENERIC, /* portable C (GCC vector extensions when available) */
    LT_GEMM_AVX2,    /* x86 AVX2 + FMA                                      */
    LT_GEMM_AVX512   /* x86 AVX-512F                                        */
} lt_gemm_kernel;

/* Packing workspace reused across calls, and the kernel choice; zero-initialize,
 * release with lt_gemm_ws_free. Not thread-safe: one GEMM at a time per workspace. */
typedef struct lt_gemm_ws {
    float *mem;           /* 64-byte aligned, one slice per thread            */
    size_t bytes;         /* capacity of mem                                  */
    lt_gemm_kernel kernel; /* AUTO, or a variant to force (tests); a variant the
                              CPU lacks falls back to AUTO                     */
} lt_gemm_ws;

/* Releases the workspace memory (the kernel choice stays). */
void lt_gemm_ws_free(lt_gemm_ws *ws);

/* C = alpha * op(A) * op(B) + beta * C on host row-major matrices (pointers already at
 * their first element). op(A) is m x k: A stored k x m when trans_a, else m x k; op(B)
 * is k x n likewise. beta == 0 overwrites C without reading it. threads <= 0 means 1.
 * Returns 0, or the number of workspace bytes it failed to allocate (C untouched). */
size_t lt_cpu_gemm(lt_gemm_ws *ws, int threads, int trans_a, int trans_b,
                   size_t m, size_t n, size_t k, float alpha,
                   const float *a, size_t lda, const float *b, size_t ldb,
                   float beta, float *c, size_t ldc);

/* Name of the variant `kernel` resolves to on this CPU ("avx512f", "avx2+fma",
 * "generic"). */
const char *lt_cpu_gemm_kernel_name(lt_gemm_kernel kernel);

#endif
