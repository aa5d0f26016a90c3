/* Single-precision GEMM for the CPU fallback: the Goto/BLIS scheme in plain C.
 *
 * C is cut into tiles, one or more per thread, so threads never share an output
 * element and need no barrier; every tile runs the same code whatever the thread
 * count, so results do not depend on it. Within a tile, k is cut into equal blocks of
 * at most KC; for each k block, the tile's NR-wide column panels of op(B) and MR-tall
 * row panels of op(A) (MC rows at a time) are multiplied by a register-blocked
 * micro-kernel that keeps MR x NR sums in registers across the whole k block.
 *
 * Panels are packed into contiguous buffers where that pays: a panel of a plain
 * (non-transposed) B is already NR floats per row and is read in place, and so is A
 * when the tile is narrow, A then being reused too few times to repay packing. A
 * transposed B must always be gathered; when that is the larger cost, the product is
 * computed as C^T = op(B)^T op(A)^T instead (see lt_cpu_gemm).
 *
 * The kernel is written once with GCC vector extensions (plain loops for other
 * compilers) and compiled into variants: AVX-512 and AVX2+FMA, picked at run time
 * with __builtin_cpu_supports on x86, and the portable baseline. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "cpu_internal.h"

/* The project compiles with -ffp-contract=off so that the Philox transforms are
 * bit-exact; GEMM has no such need, and a*b+c contracted to FMA halves its work. */
#if defined(__clang__)
#pragma clang fp contract(fast)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=fast")
#endif

#if defined(__GNUC__) || defined(__clang__)
#define LT_GEMM_VECTOR 1
#define LT_ALWAYS_INLINE inline __attribute__((always_inline))
#define LT_UNROLL _Pragma("GCC unroll 32")
#else
#define LT_GEMM_VECTOR 0
#define LT_ALWAYS_INLINE inline
#define LT_UNROLL
#endif

#if LT_GEMM_VECTOR && (defined(__x86_64__) || defined(__i386__))
#define LT_GEMM_X86 1
#endif

/* Blocking. NR is the B panel width shared by every kernel variant (each variant has
 * its own MR, the rows one kernel call computes). KC * NR floats of B (16 KiB) stay in
 * L1 while an MC x KC block of A (144 KiB) streams from L2. NC caps a tile's width so
 * that its packed B slice (KC x NC, 1 MiB) stays in L2/L3. */
enum { NR = 16, KC = 256, MC = 144, NC = 1024 };

/* Below this many multiply-adds a GEMM runs on one thread: a parallel region costs
 * a few microseconds, about what 2^17 multiply-adds take on one core. */
#define LT_GEMM_PARALLEL_MIN ((double)(1 << 17))

/* Everything a tile needs to know about the call. */
typedef struct gemm_call {
    int ta, tb;
    size_t m, n, k;
    float alpha, beta;
    const float *a, *b;
    float *c;
    size_t lda, ldb;
    size_t rsc, csc;     /* C element (i, j) at c[i*rsc + j*csc]              */
    size_t kc;           /* k block length (k split into equal blocks <= KC) */
    size_t mt, nt;       /* tiles along m and n                              */
    size_t mpan, npan;   /* MR-row panels along m, NR-column panels along n  */
    size_t ws_floats;    /* per-thread workspace                             */
    size_t mr;           /* the chosen kernel's MR                           */
    int a_direct;        /* read full A panels in place instead of packing   */
    int b_direct;        /* read full B panels in place instead of packing   */
} gemm_call;

/* Packs columns [j0, j0+w) of op(B) rows [p0, p0+kc) as one NR-wide panel: kc rows
 * of NR floats, columns past w zeroed. */
static LT_ALWAYS_INLINE void pack_b_panel(const gemm_call *g, size_t p0, size_t kc, size_t j0,
                                          size_t w, float *restrict d)
{
    size_t ldb = g->ldb;
    if (!g->tb) { /* B is k x n: a panel row is a contiguous run of B's row */
        const float *s = g->b + p0 * ldb + j0;
        for (size_t p = 0; p < kc; p++, s += ldb, d += NR) {
            if (w == NR) {
                memcpy(d, s, NR * sizeof *d);
            } else {
                for (size_t j = 0; j < w; j++) d[j] = s[j];
                for (size_t j = w; j < NR; j++) d[j] = 0.0f;
            }
        }
    } else { /* B is n x k: gather one float from each of w rows per panel row */
        const float *s = g->b + j0 * ldb + p0;
        if (w == NR) {
            for (size_t p = 0; p < kc; p++, d += NR)
                LT_UNROLL for (size_t j = 0; j < NR; j++) d[j] = s[j * ldb + p];
        } else {
            for (size_t p = 0; p < kc; p++, d += NR) {
                for (size_t j = 0; j < w; j++) d[j] = s[j * ldb + p];
                for (size_t j = w; j < NR; j++) d[j] = 0.0f;
            }
        }
    }
}

/* Packs rows [i0, i0+h) of op(A) columns [p0, p0+kc) as one mr-tall panel: kc columns
 * of mr floats, rows past h zeroed. */
static LT_ALWAYS_INLINE void pack_a_panel(const gemm_call *g, size_t i0, size_t h, size_t p0,
                                          size_t kc, size_t mr, float *restrict d)
{
    size_t lda = g->lda;
    if (g->ta) { /* A is k x m: a panel column is a contiguous run of A's row */
        const float *s = g->a + p0 * lda + i0;
        for (size_t p = 0; p < kc; p++, s += lda, d += mr) {
            if (h == mr) {
                memcpy(d, s, mr * sizeof *d);
            } else {
                for (size_t i = 0; i < h; i++) d[i] = s[i];
                for (size_t i = h; i < mr; i++) d[i] = 0.0f;
            }
        }
    } else { /* A is m x k: gather one float from each of h rows per panel column */
        const float *s = g->a + i0 * lda + p0;
        if (h == mr) {
            for (size_t p = 0; p < kc; p++, d += mr)
                LT_UNROLL for (size_t i = 0; i < mr; i++) d[i] = s[i * lda + p];
        } else {
            for (size_t p = 0; p < kc; p++, d += mr) {
                for (size_t i = 0; i < h; i++) d[i] = s[i * lda + p];
                for (size_t i = h; i < mr; i++) d[i] = 0.0f;
            }
        }
    }
}

/* Writes an h x w block of products into C (element (i, j) at c[i*rsc + j*csc]):
 * c = alpha*acc + beta*c, acc rows NR apart; beta == 0 never reads c. */
static LT_ALWAYS_INLINE void store_block(const float *acc, float *c, size_t rsc, size_t csc,
                                         float alpha, float beta, size_t h, size_t w)
{
    for (size_t i = 0; i < h; i++) {
        const float *r = acc + i * NR;
        float *cr = c + i * rsc;
        if (beta == 0.0f)
            for (size_t j = 0; j < w; j++) cr[j * csc] = alpha * r[j];
        else
            for (size_t j = 0; j < w; j++) cr[j * csc] = alpha * r[j] + beta * cr[j * csc];
    }
}

#if LT_GEMM_VECTOR
/* Vectors of 4, 8 and 16 floats; the "u" variants are unaligned, for C. */
typedef float v4 __attribute__((vector_size(16), may_alias));
typedef float v4u __attribute__((vector_size(16), aligned(4), may_alias));
typedef float v8 __attribute__((vector_size(32), may_alias));
typedef float v8u __attribute__((vector_size(32), aligned(4), may_alias));
typedef float v16 __attribute__((vector_size(64), may_alias));
typedef float v16u __attribute__((vector_size(64), aligned(4), may_alias));

/* Defines micro-kernel NAME for MR_ x NR outputs in vectors VT_ of VL_ floats:
 * acc = sum over p < kc of A column p times B row p, then C = alpha*acc + beta*C for
 * the top-left h x w. A element (i, p) is a[i*rsa + p*csa] (packed: rsa 1, csa MR_;
 * or A itself); B row p is the NR floats at b + p*bstep (packed: bstep NR; or B
 * itself); C as in store_block. A macro because the vector type varies; always
 * inlined so that constant strides fold into each call site. */
#define LT_DEFINE_MICRO(NAME, MR_, VT_, VU_, VL_)                                          \
    static LT_ALWAYS_INLINE void NAME(size_t kc, const float *restrict a, size_t rsa,      \
                                      size_t csa, const float *restrict b, size_t bstep,   \
                                      float *c, size_t rsc, size_t csc, float alpha,       \
                                      float beta, size_t h, size_t w)                      \
    {                                                                                      \
        enum { NV = NR / VL_ };                                                            \
        VT_ acc[MR_][NV];                                                                  \
        LT_UNROLL for (int i = 0; i < MR_; i++)                                            \
            LT_UNROLL for (int v = 0; v < NV; v++) acc[i][v] = (VT_){0};                   \
        for (size_t p = 0; p < kc; p++, a += csa, b += bstep) {                            \
            VT_ bv[NV];                                                                    \
            LT_UNROLL for (int v = 0; v < NV; v++) bv[v] = *(const VU_ *)(b + v * VL_);    \
            LT_UNROLL for (int i = 0; i < MR_; i++) {                                      \
                float ai = a[i * rsa];                                                     \
                LT_UNROLL for (int v = 0; v < NV; v++) acc[i][v] += bv[v] * ai;            \
            }                                                                              \
        }                                                                                  \
        if (h == MR_ && w == NR && csc == 1) {                                             \
            if (beta == 0.0f) {                                                            \
                LT_UNROLL for (int i = 0; i < MR_; i++)                                    \
                    LT_UNROLL for (int v = 0; v < NV; v++)                                 \
                        *(VU_ *)(c + i * rsc + v * VL_) = acc[i][v] * alpha;               \
            } else {                                                                       \
                LT_UNROLL for (int i = 0; i < MR_; i++)                                    \
                    LT_UNROLL for (int v = 0; v < NV; v++) {                               \
                        VU_ *cp = (VU_ *)(c + i * rsc + v * VL_);                          \
                        *cp = acc[i][v] * alpha + *cp * beta;                              \
                    }                                                                      \
            }                                                                              \
        } else {                                                                           \
            float tmp[MR_ * NR];                                                           \
            LT_UNROLL for (int i = 0; i < MR_; i++)                                        \
                LT_UNROLL for (int v = 0; v < NV; v++)                                     \
                    memcpy(tmp + i * NR + v * VL_, &acc[i][v], sizeof acc[i][v]);          \
            store_block(tmp, c, rsc, csc, alpha, beta, h, w);                              \
        }                                                                                  \
    }

LT_DEFINE_MICRO(micro_6x16_v4, 6, v4, v4u, 4)
#if LT_GEMM_X86
LT_DEFINE_MICRO(micro_6x16_v8, 6, v8, v8u, 8)
LT_DEFINE_MICRO(micro_8x16_v16, 8, v16, v16u, 16)
#endif

#else /* no vector extensions: plain loops the compiler may vectorize */
/* The micro-kernel for 6 x 16 outputs in scalar loops (see LT_DEFINE_MICRO). */
static void micro_6x16_v4(size_t kc, const float *restrict a, size_t rsa, size_t csa,
                          const float *restrict b, size_t bstep, float *c, size_t rsc,
                          size_t csc, float alpha, float beta, size_t h, size_t w)
{
    float acc[6 * NR] = {0};
    for (size_t p = 0; p < kc; p++, a += csa, b += bstep)
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < NR; j++) acc[i * NR + j] += a[i * rsa] * b[j];
    store_block(acc, c, rsc, csc, alpha, beta, h, w);
}
#endif

/* Defines tile function NAME: computes C rows [i0, i1) x columns [j0, j1) over all of
 * k with kernel MICRO of MR_ rows, packing into this thread's ap and bp. An operand
 * marked direct in g is read in place, and only its ragged edge panels are packed. */
#define LT_DEFINE_TILE(NAME, MICRO, MR_)                                                   \
    static LT_ALWAYS_INLINE void NAME(const gemm_call *g, size_t i0, size_t i1, size_t j0, \
                                      size_t j1, float *ap, float *bp)                     \
    {                                                                                      \
        const size_t mcb = MC / MR_ * MR_;                                                 \
        for (size_t p0 = 0; p0 < g->k; p0 += g->kc) {                                      \
            size_t kc = lt_cpu_min_sz(g->kc, g->k - p0);                                          \
            float beta = p0 == 0 ? g->beta : 1.0f; /* later k blocks accumulate */         \
            for (size_t j = j0; j < j1; j += NR)                                           \
                if (!g->b_direct || j1 - j < NR)                                           \
                    pack_b_panel(g, p0, kc, j, lt_cpu_min_sz(NR, j1 - j), bp + (j - j0) * kc);    \
            for (size_t ic = i0; ic < i1; ic += mcb) {                                     \
                size_t mc = lt_cpu_min_sz(mcb, i1 - ic);                                          \
                for (size_t i = 0; i < mc; i += MR_)                                       \
                    if (!g->a_direct || mc - i < MR_)                                      \
                        pack_a_panel(g, ic + i, lt_cpu_min_sz(MR_, mc - i), p0, kc, MR_,          \
                                     ap + i * kc);                                         \
                for (size_t jr = j0; jr < j1; jr += NR) {                                  \
                    size_t w = lt_cpu_min_sz(NR, j1 - jr);                                        \
                    float *cc = g->c + ic * g->rsc + jr * g->csc;                          \
                    const float *bb = bp + (jr - j0) * kc;                                 \
                    size_t bstep = NR;                                                     \
                    if (g->b_direct && w == NR) {                                          \
                        bb = g->b + p0 * g->ldb + jr;                                      \
                        bstep = g->ldb;                                                    \
                    }                                                                      \
                    for (size_t ir = 0; ir < mc; ir += MR_, cc += MR_ * g->rsc) {          \
                        size_t h = lt_cpu_min_sz(MR_, mc - ir);                                   \
                        if (!g->a_direct || h < MR_)                                       \
                            MICRO(kc, ap + ir * kc, 1, MR_, bb, bstep, cc, g->rsc, g->csc, \
                                  g->alpha, beta, h, w);                                   \
                        else if (g->ta)                                                    \
                            MICRO(kc, g->a + p0 * g->lda + ic + ir, 1, g->lda, bb, bstep,  \
                                  cc, g->rsc, g->csc, g->alpha, beta, h, w);               \
                        else                                                               \
                            MICRO(kc, g->a + (ic + ir) * g->lda + p0, g->lda, 1, bb,       \
                                  bstep, cc, g->rsc, g->csc, g->alpha, beta, h, w);        \
                    }                                                                      \
                }                                                                          \
            }                                                                              \
        }                                                                                  \
    }

LT_DEFINE_TILE(tile_generic, micro_6x16_v4, 6)
#if LT_GEMM_X86
LT_DEFINE_TILE(tile_avx2, micro_6x16_v8, 6)
LT_DEFINE_TILE(tile_avx512, micro_8x16_v16, 8)
#endif

/* Row range [*r0, *r1) of tile t of `tiles` over `pan` panels of `size` each. */
static void tile_range(size_t t, size_t tiles, size_t pan, size_t size, size_t len,
                       size_t *r0, size_t *r1)
{
    *r0 = lt_cpu_min_sz(len, t * pan / tiles * size);
    *r1 = lt_cpu_min_sz(len, (t + 1) * pan / tiles * size);
}

/* Runs tiles tid, tid+nth, ... of the call with kernel variant TILE. */
#define LT_DEFINE_WORKER(NAME, TILE, ATTR)                                                 \
    ATTR static void NAME(const gemm_call *g, float *ws, size_t tid, size_t nth)           \
    {                                                                                      \
        float *ap = ws, *bp = ws + MC * g->kc;                                             \
        for (size_t t = tid; t < g->mt * g->nt; t += nth) {                                \
            size_t i0, i1, j0, j1;                                                         \
            tile_range(t / g->nt, g->mt, g->mpan, g->mr, g->m, &i0, &i1);                  \
            tile_range(t % g->nt, g->nt, g->npan, NR, g->n, &j0, &j1);                     \
            if (i0 < i1 && j0 < j1) TILE(g, i0, i1, j0, j1, ap, bp);                       \
        }                                                                                  \
    }

LT_DEFINE_WORKER(worker_generic, tile_generic, )
#if LT_GEMM_X86
LT_DEFINE_WORKER(worker_avx2, tile_avx2, __attribute__((target("avx2,fma"))))
LT_DEFINE_WORKER(worker_avx512, tile_avx512, __attribute__((target("avx512f,fma"))))
#endif

typedef void (*gemm_worker)(const gemm_call *g, float *ws, size_t tid, size_t nth);

/* The worker for `kernel` on this CPU (AUTO or unsupported: the fastest supported),
 * with its MR and name. */
static gemm_worker pick_worker(lt_gemm_kernel kernel, size_t *mr, const char **name)
{
#if LT_GEMM_X86
    int avx512 = __builtin_cpu_supports("avx512f");
    int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if ((kernel == LT_GEMM_AVX512 && !avx512) || (kernel == LT_GEMM_AVX2 && !avx2))
        kernel = LT_GEMM_AUTO;
    if (kernel == LT_GEMM_AUTO)
        kernel = avx512 ? LT_GEMM_AVX512 : avx2 ? LT_GEMM_AVX2 : LT_GEMM_GENERIC;
    if (kernel == LT_GEMM_AVX512) {
        *mr = 8; *name = "avx512f";
        return worker_avx512;
    }
    if (kernel == LT_GEMM_AVX2) {
        *mr = 6; *name = "avx2+fma";
        return worker_avx2;
    }
#else
    (void)kernel;
#endif
    *mr = 6; *name = "generic";
    return worker_generic;
}

const char *lt_cpu_gemm_kernel_name(lt_gemm_kernel kernel)
{
    size_t mr;
    const char *name;
    pick_worker(kernel, &mr, &name);
    return name;
}

void lt_gemm_ws_free(lt_gemm_ws *ws)
{
    free(ws->mem);
    ws->mem = NULL;
    ws->bytes = 0;
}

/* Grows the workspace to at least `bytes`; returns 0 or -1 when out of memory. */
static int ws_reserve(lt_gemm_ws *ws, size_t bytes)
{
    if (ws->bytes >= bytes) return 0;
    size_t rounded = (bytes + 63) / 64 * 64;
    void *mem = aligned_alloc(64, rounded);
    if (!mem) return -1;
    free(ws->mem);
    ws->mem = mem;
    ws->bytes = rounded;
    return 0;
}

/* C = beta * C (beta == 0 writes zeros), for k == 0 or alpha == 0. */
static void scale_c(size_t m, size_t n, float beta, float *c, size_t ldc)
{
    for (size_t i = 0; i < m; i++) {
        float *r = c + i * ldc;
        if (beta == 0.0f)
            for (size_t j = 0; j < n; j++) r[j] = 0.0f;
        else if (beta != 1.0f)
            for (size_t j = 0; j < n; j++) r[j] *= beta;
    }
}

/* Chooses the tile grid: at least one tile per thread, tiles at most NC wide, a tile
 * count divisible by the thread count when that is cheap, splitting whichever
 * dimension is longer per tile (each tile packs its whole slice of A and of B, so
 * cutting the longer side repacks least). */
static void choose_tiles(gemm_call *g, size_t threads)
{
    g->mpan = (g->m + g->mr - 1) / g->mr;
    g->npan = (g->n + NR - 1) / NR;
    g->mt = 1;
    g->nt = (g->n + NC - 1) / NC;
    for (;;) {
        size_t tiles = g->mt * g->nt;
        if (tiles >= threads && (tiles % threads == 0 || tiles >= 4 * threads)) break;
        int can_m = g->mt < g->mpan, can_n = g->nt < g->npan;
        if (!can_m && !can_n) break;
        double rows = (double)g->m / (double)g->mt, cols = (double)g->n / (double)g->nt;
        if (can_m && (!can_n || rows >= cols)) g->mt++;
        else g->nt++;
    }
}

size_t lt_cpu_gemm(lt_gemm_ws *ws, int threads, int trans_a, int trans_b,
                   size_t m, size_t n, size_t k, float alpha,
                   const float *a, size_t lda, const float *b, size_t ldb,
                   float beta, float *c, size_t ldc)
{
    if (m == 0 || n == 0) return 0;
    if (k == 0 || alpha == 0.0f) {
        scale_c(m, n, beta, c, ldc);
        return 0;
    }
    gemm_call g = {
        .ta = trans_a, .tb = trans_b, .m = m, .n = n, .k = k, .alpha = alpha, .beta = beta,
        .a = a, .b = b, .c = c, .lda = lda, .ldb = ldb, .rsc = ldc, .csc = 1,
    };
    size_t kblocks = (k + KC - 1) / KC;
    /* A transposed B is the one operand that must always be packed with a gather
     * (~0.6 cycles a float). Computing C^T = op(B)^T op(A)^T instead turns (N, T) into
     * (N, T) on the swapped operands, gathering the m x k A rather than the n x k B,
     * and (T, T) into (N, N), which gathers nothing; but C^T is then written through
     * swapped strides, element by element, once per k block (~0.7 cycles a float).
     * Swap when the gathers saved outweigh those stores. */
    if (trans_b) {
        double saved = (double)k * (double)(trans_a ? n : (n > m ? n - m : 0));
        if (saved > (double)m * (double)n * (double)kblocks) {
            g.ta = !trans_b; g.tb = !trans_a;
            g.m = n; g.n = m;
            g.a = b; g.lda = ldb;
            g.b = a; g.ldb = lda;
            g.rsc = 1; g.csc = ldc;
        }
    }
    const char *name;
    gemm_worker worker = pick_worker(ws->kernel, &g.mr, &name);
    g.kc = (k + kblocks - 1) / kblocks;

    size_t nth = threads > 0 ? (size_t)threads : 1;
    if ((double)m * (double)n * (double)k < LT_GEMM_PARALLEL_MIN) nth = 1;
    choose_tiles(&g, nth);
    if (nth > g.mt * g.nt) nth = g.mt * g.nt;

    /* per thread: one MC x kc block of A and a kc x (widest tile) slice of B */
    size_t widest = (g.npan + g.nt - 1) / g.nt * NR;
    /* Reading an operand in place saves its packing, which matters when each packed
     * float would be used only a few times: A when tiles are narrow, B always (its
     * rows are already NR-contiguous). Strides of a multiple of 4 KiB map every row
     * to the same L1 set, so such operands are packed anyway. */
    g.a_direct = widest <= 16 * NR && g.lda % 1024 != 0;
    g.b_direct = !g.tb && g.ldb % 1024 != 0;
    g.ws_floats = (MC * g.kc + g.kc * widest + 15) / 16 * 16;
    if (g.ws_floats > SIZE_MAX / sizeof(float) / nth) return SIZE_MAX;
    size_t bytes = g.ws_floats * sizeof(float) * nth;
    if (ws_reserve(ws, bytes) != 0) return bytes;

#ifdef _OPENMP
    if (nth > 1) {
#pragma omp parallel num_threads((int)nth)
        {
            size_t tid = (size_t)omp_get_thread_num(), team = (size_t)omp_get_num_threads();
            worker(&g, ws->mem + tid * g.ws_floats, tid, team);
        }
        return 0;
    }
#endif
    worker(&g, ws->mem, 0, 1);
    return 0;
}
