/* Host-side threading for lib/data's numeric code (PCA, t-SNE): OpenMP when the build
 * has it, serial loops when not, and the per-CPU vector clones of hot loops. */
#ifndef LT_DATA_HOST_THREADS_H
#define LT_DATA_HOST_THREADS_H

#ifdef _OPENMP
#include <omp.h>
#endif
#include "internal.h"

/* The most threads used (as the CPU backend: libgomp exits when it cannot make more). */
#define LT_HOST_MAX_THREADS 512

#ifdef _OPENMP
/* An OpenMP directive, written whole: LT_OMP(omp for schedule(static)). */
#define LT_OMP(directive) _Pragma(#directive)
/* A loop split statically over nt threads (run serially when nt == 1). */
#define LT_PAR_FOR(nt) LT_OMP(omp parallel for num_threads(nt) if (nt > 1) schedule(static))
/* A loop of uneven iterations dealt out one at a time over nt threads. */
#define LT_PAR_FOR_DYNAMIC(nt) LT_OMP(omp parallel for num_threads(nt) if (nt > 1) schedule(dynamic, 1))
#else
#define LT_OMP(directive)
#define LT_PAR_FOR(nt) (void)(nt);
#define LT_PAR_FOR_DYNAMIC(nt) (void)(nt);
#endif

/* Hot loops are compiled for AVX-512 and AVX2 as well as the baseline, the loader
 * picking one per CPU (GCC's function multi-versioning, x86-64 GNU/Linux only); callers
 * keep the variants adding in the same order, so they give the same bits. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__gnu_linux__)
#define LT_HOST_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define LT_HOST_CLONES
#endif

/* Threads for host work: the context's setting, or all cores when it is <= 0. */
static inline int lt_host_threads(const lt_ctx *ctx)
{
#ifdef _OPENMP
    int nt = ctx && ctx->threads > 0 ? ctx->threads : omp_get_max_threads();
    return nt < 1 ? 1 : nt > LT_HOST_MAX_THREADS ? LT_HOST_MAX_THREADS : nt;
#else
    (void)ctx;
    return 1;
#endif
}

/* This thread's number within the parallel region (0 without OpenMP). */
static inline size_t lt_host_thread_num(void)
{
#ifdef _OPENMP
    return (size_t)omp_get_thread_num();
#else
    return 0;
#endif
}

#endif
