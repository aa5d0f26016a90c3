/* What the CPU fallback's source files share: the threading macros, the buffer and
 * backend structs and the ops implemented outside cpu_backend.c. Private to
 * cpu_fallback/; the ops trust their operands (lib/backend/dispatch.c checked them). */
#ifndef LT_CPU_INTERNAL_H
#define LT_CPU_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "backend.h"
#include "cpu_gemm.h"

/* Threading and vectorization of the ops. */
#ifdef _OPENMP
#define LT_PRAGMA(x) _Pragma(#x)
/* A loop split statically over nt threads (run serially when nt == 1). */
#define LT_PAR_FOR(nt) LT_PRAGMA(omp parallel for num_threads(nt) if (nt > 1) schedule(static))
/* The same, with each thread's share vectorized. */
#define LT_PAR_FOR_SIMD(nt) \
    LT_PRAGMA(omp parallel for simd num_threads(nt) if (nt > 1) schedule(static))
/* A loop to vectorize (the loops so marked have no cross-iteration dependence). */
#define LT_SIMD LT_PRAGMA(omp simd)
#else
#define LT_PAR_FOR(nt) (void)(nt);
#define LT_PAR_FOR_SIMD(nt) (void)(nt);
#if defined(__GNUC__) && !defined(__clang__)
#define LT_SIMD _Pragma("GCC ivdep")
#else
#define LT_SIMD
#endif
#endif

/* The elementwise kernels with transcendentals or divisions are compiled for AVX-512
 * and AVX2 as well as the baseline, the loader picking one per CPU (GCC's function
 * multi-versioning; it needs ifunc support, so only on x86-64 GNU/Linux). The clones
 * compute identical results: no contraction, no reassociation, only wider vectors. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__gnu_linux__)
#define LT_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define LT_CLONES
#endif

/* Work (elements times a rough per-element cost) below which an op stays on one
 * thread: waking a team costs a few microseconds, about 2^15 simple elements. */
#define LT_PAR_MIN_WORK ((size_t)1 << 15)

/* A buffer: 4-byte elements (float, or uint32 for index buffers), 64-byte aligned. */
struct lt_buf {
    void *mem;
    size_t n; /* elements */
};

/* The team a parallel op takes, shrunk while other work keeps this process's threads
 * waiting for CPUs (cpu_team.c). */
typedef struct lt_cpu_governor {
    int cap;             /* the most threads (the backend's setting), >= 1            */
    int team;            /* threads a parallel op takes now, 1..cap                    */
    int probing;         /* 1 while the whole team is on trial for one period          */
    int strikes;         /* busy periods in a row                                       */
    int disabled;        /* 1 when run delays cannot be read or cap is 1: team == cap  */
    uint64_t next_ns;    /* when to sample next (monotonic ns)                         */
    uint64_t last_ns;    /* the previous sample's time, 0 before the first             */
    uint64_t last_delay; /* and the process's total run delay then (ns)                */
    uint64_t last_run;   /* and its threads' total run time then (ns)                   */
    uint64_t backoff_ns; /* time at a smaller team before the whole team is tried      */
    uint64_t probe_at;   /* when that is                                                */
} lt_cpu_governor;

/* CPUs a cgroup v2 CPU quota allows this process (rounded up), 0 when none. */
int lt_cpu_quota_cpus(void);

/* Starts g with the whole team of cap threads. */
void lt_cpu_governor_init(lt_cpu_governor *g, int cap);

/* Applies one sample taken at now (monotonic ns): over the last period, this process's
 * threads waiting for a CPU on average (waiting) and the share of their runnable time
 * they spent waiting (share). When share is above 0.1 twice in a row (once in a trial),
 * shrinks the team by waiting rounded, at least 1; tries the whole team again after a back-off (2 s, doubling to 8 s while
 * trials find the load still there). Called by lt_cpu_governor_team; public for tests. */
void lt_cpu_governor_judge(lt_cpu_governor *g, double waiting, double share, uint64_t now);

/* The threads a parallel op takes now: cap, or fewer while the process's threads wait
 * for CPUs (sampled every 50 ms; cheap between samples). */
int lt_cpu_governor_team(lt_cpu_governor *g);

/* The CPU backend instance; starts with the common head. */
typedef struct cpu_backend {
    struct lt_backend base;
    int threads;         /* the most threads parallel ops take, >= 1 */
    lt_cpu_governor gov; /* how many they take now */
    lt_gemm_ws gemm_ws;  /* GEMM packing buffers, grown on demand */
    float *conv_scratch; /* im2col / col2im column buffer, grown on demand (cpu_conv.c) */
    size_t conv_scratch_n; /* its capacity in floats */
    size_t ram_bytes;      /* the machine's physical memory (0: unknown, no limit) */
    size_t allocated;      /* bytes held by this backend's buffers */
} cpu_backend;

/* Floats of buf from off on. */
static inline float *lt_cpu_fp(const lt_buf *buf, size_t off) { return (float *)buf->mem + off; }

/* Elements of buf from off on, as uint32 (index buffers). */
static inline const uint32_t *lt_cpu_up(const lt_buf *buf, size_t off) { return (const uint32_t *)buf->mem + off; }

/* Team size for the given work: 1 for small work, else the governor's team (at most
 * the backend's threads). */
static inline int lt_cpu_team(lt_backend *be, size_t work)
{
    return work >= LT_PAR_MIN_WORK ? lt_cpu_governor_team(&((cpu_backend *)be)->gov) : 1;
}

/* Smaller of two sizes. */
static inline size_t lt_cpu_min_sz(size_t a, size_t b) { return a < b ? a : b; }

/* cpu_conv.c: the convolution, pooling and up-sampling slots of lib/backend/backend.h. */
lt_status lt_cpu_conv2d_forward(lt_backend *be, const lt_conv_geom *g, const lt_buf *x, size_t xoff,
                                const lt_buf *w, size_t woff, lt_buf *y, size_t yoff);
lt_status lt_cpu_conv2d_backward_data(lt_backend *be, const lt_conv_geom *g, const lt_buf *dy,
                                      size_t dyoff, const lt_buf *w, size_t woff, lt_buf *dx,
                                      size_t dxoff);
lt_status lt_cpu_conv2d_backward_filter(lt_backend *be, const lt_conv_geom *g, const lt_buf *x,
                                        size_t xoff, const lt_buf *dy, size_t dyoff, lt_buf *dw,
                                        size_t dwoff);
lt_status lt_cpu_maxpool_forward(lt_backend *be, const lt_pool_geom *g, const lt_buf *x, size_t xoff,
                                 lt_buf *y, size_t yoff, lt_buf *argmax, size_t aoff);
lt_status lt_cpu_maxpool_backward(lt_backend *be, const lt_pool_geom *g, const lt_buf *dy,
                                  size_t dyoff, const lt_buf *argmax, size_t aoff, lt_buf *dx,
                                  size_t dxoff);
lt_status lt_cpu_upsample_forward(lt_backend *be, const lt_pool_geom *g, lt_backend_interp mode,
                                  const lt_buf *x, size_t xoff, lt_buf *y, size_t yoff);
lt_status lt_cpu_upsample_backward(lt_backend *be, const lt_pool_geom *g, lt_backend_interp mode,
                                   const lt_buf *dy, size_t dyoff, lt_buf *dx, size_t dxoff);
/* cpu_augment.c: the augmentation slot of lib/backend/backend.h. */
lt_status lt_cpu_affine_resample(lt_backend *be, size_t n, int h, int w, int ch, const lt_buf *mats, size_t moff,
                                 const lt_buf *x, size_t xoff, lt_buf *y, size_t yoff);
/* cpu_latent.c: the latent-space layer and activity-penalty slots of lib/backend/backend.h. */
lt_status lt_cpu_vae_sample_forward(lt_backend *be, size_t rows, size_t d, const lt_buf *x, size_t xoff,
                                    const lt_buf *eps, size_t eoff, lt_buf *y, size_t yoff);
lt_status lt_cpu_vae_sample_backward(lt_backend *be, size_t rows, size_t d, const lt_buf *x, size_t xoff,
                                     const lt_buf *eps, size_t eoff, const lt_buf *dy, size_t dyoff, float kl_scale,
                                     lt_buf *dx, size_t dxoff);
lt_status lt_cpu_kl_normal(lt_backend *be, size_t rows, size_t d, const lt_buf *x, size_t xoff, lt_buf *out,
                           size_t ooff);
lt_status lt_cpu_sparsity_kl(lt_backend *be, size_t rows, size_t cols, const lt_buf *colsum, size_t csoff, float rho,
                             lt_buf *out, size_t ooff, float scale, lt_buf *grad, size_t goff);
lt_status lt_cpu_l1_penalty(lt_backend *be, size_t n, const lt_buf *x, size_t xoff, lt_buf *out, size_t ooff,
                            const lt_buf *dy, size_t dyoff, float scale, lt_buf *dx, size_t dxoff);
/* cpu_rnn.c: the data movement and recurrent-cell slots of lib/backend/backend.h. */
lt_status lt_cpu_copy_strided(lt_backend *be, size_t n0, size_t n1, size_t cols, const lt_buf *x, size_t xoff,
                              ptrdiff_t xs0, ptrdiff_t xs1, float beta, lt_buf *y, size_t yoff, ptrdiff_t ys0,
                              ptrdiff_t ys1);
lt_status lt_cpu_rnn_forward(lt_backend *be, const lt_rnn_geom *g, const lt_buf *xw, size_t xwoff, const lt_buf *bias,
                             size_t boff, const lt_buf *r, size_t roff, const lt_buf *rbias, size_t rboff, lt_buf *rec,
                             size_t recoff, const lt_rnn_seq *out);
lt_status lt_cpu_rnn_backward(lt_backend *be, const lt_rnn_geom *g, const lt_rnn_seq *dh, const lt_buf *r, size_t roff,
                              const lt_buf *rec, size_t recoff, lt_buf *carry, size_t coff, lt_buf *dz, size_t dzoff);
/* Releases the column buffer (at destroy). */
void lt_cpu_conv_free(cpu_backend *cb);

#endif
