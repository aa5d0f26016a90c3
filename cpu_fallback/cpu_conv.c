/* Convolutions, max pooling and up-sampling for the CPU fallback: the slots of
 * lib/backend/backend.h's section "convolutions, pooling, up-sampling (NHWC)".
 *
 * A convolution is a GEMM on the im2col matrix: one row per output pixel
 * (n, oy, ox), k_h*k_w*in_c columns in the kernel's (ky, kx, c) order, so that the
 * Keras kernel (k_h, k_w, in_c, out_c) is already the (k_h*k_w*in_c) x out_c right-hand
 * side, and NHWC rows of x are copied in runs of in_c (k_w*in_c without dilation).
 *   forward:         y   = col(x) * w
 *   backward data:   col = dy * w^T, then col2im adds the columns back into dx
 *   backward filter: dw  = col(x)^T * dy
 * A 1x1 stride-1 unpadded convolution with out == in needs no column matrix: x is it.
 *
 * When k_h*k_w*in_c < 16 (a first layer on gray images), backward filter skips the
 * GEMM, whose register tiles such a narrow matrix fills poorly, for a rank-1-update
 * kernel over fixed slabs of rows (bf_narrow).
 *
 * The column matrix lives in one scratch buffer of the backend, grown on demand; the
 * output pixels are processed in chunks of a fixed number of rows so that it stays
 * under LT_CONV_SCRATCH_BYTES whatever the batch (unless one row alone is larger).
 *
 * Results do not depend on the thread count: chunk and slab sizes depend on the
 * geometry alone, the GEMM's results do not depend on its thread count, partial sums
 * are added in a fixed order, and every parallel loop here gives each output element to
 * one thread, which adds its terms in a fixed order (col2im and the pooling/up-sampling
 * adjoints gather rather than scatter). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "conv_chunks.h"
#include "cpu_internal.h"

/* GCC turns the short copy and zero loops below into calls to memmove/memset, which
 * cost more than the runs of a few dozen floats im2col copies (12% of a conv). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-tree-loop-distribute-patterns")
#endif

/* The column buffer's bound (measured with test_conv_ops --bench on the conv-ae layers:
 * 0.5 to 4 MiB are within noise of each other, 8 MiB and more are slower). */
#define LT_CONV_SCRATCH_BYTES ((size_t)4 << 20)

/* The three helpers below work in blocks of 16 floats, which the AVX-512 clones move
 * with one instruction, and a short tail: their runs are a few to a few hundred floats
 * (in_c or k_w*in_c), where a library call or a generic vector loop's prologue and
 * epilogue cost more than the work. */

/* d[0, n) = s[0, n) for n < 16 by two overlapping copies of 8, 4 or 1-2 floats (the
 * way memcpy does small sizes): a handful of branches instead of a loop. */
static inline void copy_tail(float *restrict d, const float *restrict s, size_t n)
{
    if (n >= 8) {
        for (size_t j = 0; j < 8; j++) d[j] = s[j];
        for (size_t j = 0; j < 8; j++) d[n - 8 + j] = s[n - 8 + j];
    } else if (n >= 4) {
        for (size_t j = 0; j < 4; j++) d[j] = s[j];
        for (size_t j = 0; j < 4; j++) d[n - 4 + j] = s[n - 4 + j];
    } else if (n > 0) {
        d[0] = s[0];
        d[n / 2] = s[n / 2];
        d[n - 1] = s[n - 1];
    }
}

/* d[0, n) = 0. */
static inline void zero_f(float *d, size_t n)
{
    static const float zeros[16];
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (size_t j = 0; j < 16; j++) d[i + j] = 0.0f;
    copy_tail(d + i, zeros, n - i);
}

/* d[0, n) = s[0, n). */
static inline void copy_f(float *restrict d, const float *restrict s, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (size_t j = 0; j < 16; j++) d[i + j] = s[i + j];
    copy_tail(d + i, s + i, n - i);
}

/* d[0, n) += s[0, n). */
static inline void add_f(float *restrict d, const float *restrict s, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (size_t j = 0; j < 16; j++) d[i + j] += s[i + j];
    for (; i < n; i++) d[i] += s[i];
}

/* ------------------------------------------------------------ column buffer */

/* The backend's column buffer with room for `floats`, grown on demand. */
static lt_status scratch(cpu_backend *cb, const char *op, size_t floats, float **out)
{
    if (cb->conv_scratch_n < floats) {
        if (floats > (SIZE_MAX - 63) / sizeof(float))
            return lt_backend_set_error(&cb->base, LT_ERR_NOMEM, "%s: column buffer of %zu floats is too large",
                                        op, floats);
        size_t bytes = (floats * sizeof(float) + 63) / 64 * 64;
        float *mem = aligned_alloc(64, bytes);
        if (!mem)
            return lt_backend_set_error(&cb->base, LT_ERR_NOMEM,
                                        "%s: out of host memory allocating a %zu-byte column buffer", op, bytes);
        free(cb->conv_scratch);
        cb->conv_scratch = mem;
        cb->conv_scratch_n = floats;
    }
    *out = cb->conv_scratch;
    return LT_OK;
}

/* Releases the column buffer (cpu_destroy calls this). */
void lt_cpu_conv_free(cpu_backend *cb)
{
    free(cb->conv_scratch);
    cb->conv_scratch = NULL;
    cb->conv_scratch_n = 0;
}

/* Runs lt_cpu_gemm on the backend's workspace; NOMEM when that could not grow. */
static lt_status gemm(cpu_backend *cb, const char *op, int ta, int tb, size_t m, size_t n, size_t k,
                      const float *a, size_t lda, const float *b, size_t ldb, float beta, float *c,
                      size_t ldc)
{
    size_t failed = lt_cpu_gemm(&cb->gemm_ws, lt_cpu_governor_team(&cb->gov), ta, tb, m, n, k, 1.0f, a, lda, b, ldb, beta, c, ldc);
    if (failed)
        return lt_backend_set_error(&cb->base, LT_ERR_NOMEM,
                                    "%s: out of host memory allocating %zu bytes of GEMM workspace", op, failed);
    return LT_OK;
}

/* ------------------------------------------------------------ im2col, col2im */

/* Range [*lo, *hi) of taps t < k whose coordinate base + t*step lies in [0, size). */
static inline void tap_range(int64_t base, int step, int k, int size, int *lo, int *hi)
{
    int64_t l, h;
    if (step == 1) { /* no division: this runs once per output pixel */
        l = base < 0 ? -base : 0;
        h = size - base;
    } else {
        l = base < 0 ? (-base + step - 1) / step : 0;
        h = base > size - 1 ? 0 : (size - 1 - base) / step + 1;
    }
    if (h < 0) h = 0;
    if (h > k) h = k;
    if (l > h) l = h;
    *lo = (int)l;
    *hi = (int)h;
}

/* Range [*lo, *hi) of outputs o < count whose window tap at offset off (= t*dil -
 * pad) lands inside [0, size): 0 <= o*stride + off < size. */
static void out_range(int64_t off, int stride, size_t count, int size, size_t *lo, size_t *hi)
{
    int64_t l, h;
    if (stride == 1) {
        l = off < 0 ? -off : 0;
        h = size - off;
    } else {
        l = off < 0 ? (-off + stride - 1) / stride : 0;
        h = off > size - 1 ? 0 : (size - 1 - off) / stride + 1;
    }
    if (h < 0) h = 0;
    if ((uint64_t)h > count) h = (int64_t)count;
    if (l > h) l = h;
    *lo = (size_t)l;
    *hi = (size_t)h;
}

/* im2col of one pixel's taps kx in [kx_lo, kx_hi) of one kernel row, from image row
 * src (NULL: the row is padding), into dr (k_w*in_c floats); 0 outside the image. */
static inline void taps_run(const lt_conv_geom *g, const float *src, int64_t ix0, float *dr)
{
    const size_t ic = (size_t)g->in_c;
    if (!src) {
        zero_f(dr, (size_t)g->k_w * ic);
        return;
    }
    int kx_lo, kx_hi;
    tap_range(ix0, g->dil_w, g->k_w, g->in_w, &kx_lo, &kx_hi);
    zero_f(dr, (size_t)kx_lo * ic);
    if (g->dil_w == 1) { /* the taps are adjacent pixels: one run */
        copy_f(dr + (size_t)kx_lo * ic, src + (size_t)(ix0 + kx_lo) * ic, (size_t)(kx_hi - kx_lo) * ic);
    } else {
        for (int kx = kx_lo; kx < kx_hi; kx++)
            copy_f(dr + (size_t)kx * ic, src + (size_t)(ix0 + (int64_t)kx * g->dil_w) * ic, ic);
    }
    zero_f(dr + (size_t)kx_hi * ic, (size_t)(g->k_w - kx_hi) * ic);
}

/* im2col of output row q = (n, oy), pixels [ox0, ox1), into dst (one kk-float row
 * per pixel): the window x[n, oy*sh - pt + ky*dh, ox*sw - pl + kx*dw, c] in (ky, kx, c)
 * order, 0 outside the image. Kernel rows outer, pixels inner; the pixels whose taps
 * all lie inside the image row (all but a few at the edges) take a branch-free copy. */
LT_CLONES static void im2col_row(const lt_conv_geom *g, const lt_conv_sizes *d, const float *x, size_t q,
                                 size_t ox0, size_t ox1, float *dst)
{
    const size_t ic = (size_t)g->in_c, kk = d->kcols, run = (size_t)g->k_w * ic;
    const size_t img_row = (size_t)g->in_w * ic;
    const size_t n = q / (size_t)g->out_h;
    const int64_t oy = (int64_t)(q % (size_t)g->out_h), sw = g->stride_w, pl = g->pad_left;
    const int64_t span = (int64_t)(g->k_w - 1) * g->dil_w; /* first to last tap */
    /* interior pixels: ox*sw - pl >= 0 and ox*sw - pl + span <= in_w - 1 */
    int64_t a = (pl + sw - 1) / sw, b = g->in_w - 1 - span + pl < 0 ? 0 : (g->in_w - 1 - span + pl) / sw + 1;
    size_t in0 = (size_t)(a < (int64_t)ox0 ? (int64_t)ox0 : a > (int64_t)ox1 ? (int64_t)ox1 : a);
    size_t in1 = (size_t)(b < (int64_t)in0 ? (int64_t)in0 : b > (int64_t)ox1 ? (int64_t)ox1 : b);
    const float *ximg = x + n * (size_t)g->in_h * img_row;
    for (int ky = 0; ky < g->k_h; ky++) {
        int64_t iy = oy * g->stride_h - g->pad_top + (int64_t)ky * g->dil_h;
        const float *src = iy >= 0 && iy < g->in_h ? ximg + (size_t)iy * img_row : NULL;
        float *dk = dst + (size_t)ky * run; /* + (ox - ox0)*kk: pixel ox's block for ky */
        size_t ox = ox0;
        for (; ox < in0; ox++) taps_run(g, src, (int64_t)ox * sw - pl, dk + (ox - ox0) * kk);
        if (!src) {
            for (; ox < in1; ox++) zero_f(dk + (ox - ox0) * kk, run);
        } else if (g->dil_w == 1) {
            for (; ox < in1; ox++) copy_f(dk + (ox - ox0) * kk, src + (size_t)((int64_t)ox * sw - pl) * ic, run);
        } else {
            for (; ox < in1; ox++) {
                const float *s0 = src + (size_t)((int64_t)ox * sw - pl) * ic;
                for (int kx = 0; kx < g->k_w; kx++)
                    copy_f(dk + (ox - ox0) * kk + (size_t)kx * ic, s0 + (size_t)kx * (size_t)g->dil_w * ic, ic);
            }
        }
        for (; ox < ox1; ox++) taps_run(g, src, (int64_t)ox * sw - pl, dk + (ox - ox0) * kk);
    }
}

/* col rows [0, r1-r0) = im2col rows [r0, r1) of x, output rows (n, oy) in parallel. */
static void im2col(const lt_conv_geom *g, const lt_conv_sizes *d, const float *x, size_t r0, size_t r1,
                   float *col, int nt)
{
    const size_t ow = (size_t)g->out_w, q0 = r0 / ow, q1 = (r1 - 1) / ow + 1;
    LT_PAR_FOR(nt)
    for (size_t q = q0; q < q1; q++) {
        size_t ox0 = q * ow < r0 ? r0 - q * ow : 0, ox1 = lt_cpu_min_sz(ow, r1 - q * ow);
        im2col_row(g, d, x, q, ox0, ox1, col + (q * ow + ox0 - r0) * d->kcols);
    }
}

/* dx row t = (n, iy) += the column entries of im2col rows [r0, r1) (held in col) that
 * im2col would have read from it, taps in (ky, kx) order. */
LT_CLONES static void col2im_row(const lt_conv_geom *g, const lt_conv_sizes *d, const float *col, size_t r0,
                                 size_t r1, size_t t, float *drow)
{
    const size_t ow = (size_t)g->out_w, oh = (size_t)g->out_h, ic = (size_t)g->in_c, kk = d->kcols;
    const size_t q0 = r0 / ow, q1 = (r1 - 1) / ow + 1;
    const size_t n = t / (size_t)g->in_h;
    const int64_t iy = (int64_t)(t % (size_t)g->in_h);
    for (int ky = 0; ky < g->k_h; ky++) {
        int64_t num = iy + g->pad_top - (int64_t)ky * g->dil_h; /* = oy * stride_h */
        if (num < 0 || num % g->stride_h) continue;
        int64_t oy = num / g->stride_h;
        if (oy >= g->out_h) continue;
        size_t q = n * oh + (size_t)oy;
        if (q < q0 || q >= q1) continue; /* that output row is in another chunk */
        size_t ox0 = q * ow < r0 ? r0 - q * ow : 0, ox1 = lt_cpu_min_sz(ow, r1 - q * ow);
        for (int kx = 0; kx < g->k_w; kx++) {
            int64_t off = (int64_t)kx * g->dil_w - g->pad_left;
            size_t lo, hi;
            out_range(off, g->stride_w, ow, g->in_w, &lo, &hi);
            if (lo < ox0) lo = ox0;
            if (hi > ox1) hi = ox1;
            const float *c = col + ((size_t)ky * (size_t)g->k_w + (size_t)kx) * ic;
            if (lo >= hi) continue;
            if (ic == 1) { /* one float per pixel: a strided loop the vectorizer can gather */
                float *dd = drow + (size_t)((int64_t)lo * g->stride_w + off);
                const float *cc = c + (q * ow + lo - r0) * kk;
                const size_t cnt = hi - lo, ds = (size_t)g->stride_w;
                LT_SIMD
                for (size_t i = 0; i < cnt; i++) dd[i * ds] += cc[i * kk];
                continue;
            }
            for (size_t ox = lo; ox < hi; ox++) {
                size_t ix = (size_t)((int64_t)ox * g->stride_w + off);
                add_f(drow + ix * ic, c + (q * ow + ox - r0) * kk, ic);
            }
        }
    }
}

/* dx += col2im of col rows [0, r1-r0) (im2col rows [r0, r1)): each dx row (n, iy) of
 * the images the chunk touches is gathered by one thread, so no two threads write one
 * element. */
static void col2im_add(const lt_conv_geom *g, const lt_conv_sizes *d, const float *col, size_t r0, size_t r1,
                       float *dx, int nt)
{
    const size_t ow = (size_t)g->out_w, oh = (size_t)g->out_h, ih = (size_t)g->in_h;
    const size_t img_row = (size_t)g->in_w * (size_t)g->in_c;
    const size_t n0 = r0 / ow / oh, n1 = (r1 - 1) / ow / oh + 1;
    LT_PAR_FOR(nt)
    for (size_t t = n0 * ih; t < n1 * ih; t++) col2im_row(g, d, col, r0, r1, t, dx + t * img_row);
}

/* ------------------------------------------------------------ convolutions */

/* y = conv(x, w): per chunk of output pixels, im2col then y rows = col * w. */
lt_status lt_cpu_conv2d_forward(lt_backend *be, const lt_conv_geom *g, const lt_buf *x, size_t xoff,
                                const lt_buf *w, size_t woff, lt_buf *y, size_t yoff)
{
    const char *op = "conv2d_forward";
    cpu_backend *cb = (cpu_backend *)be;
    lt_conv_sizes d = lt_conv_sizes_of(g);
    const float *px = lt_cpu_fp(x, xoff), *pw = lt_cpu_fp(w, woff);
    float *py = lt_cpu_fp(y, yoff);
    const size_t oc = (size_t)g->out_c;
    if (d.pointwise) return gemm(cb, op, 0, 0, d.rows, oc, d.kcols, px, d.kcols, pw, oc, 0.0f, py, oc);
    /* chunks depend on the geometry alone (never the thread count), so backward_filter's
     * sums are grouped the same way on any team */
    lt_conv_chunks ch = lt_conv_chunks_flat(g, &d, LT_CONV_SCRATCH_BYTES);
    float *col = NULL;
    lt_status st = scratch(cb, op, ch.chunk * d.kcols, &col);
    for (size_t r0 = 0, len; st == LT_OK && r0 < ch.rows; r0 += len) {
        len = lt_conv_chunk_len(&ch, r0);
        size_t r1 = r0 + len;
        im2col(g, &d, px, r0, r1, col, lt_cpu_team(&cb->base, (r1 - r0) * d.kcols));
        st = gemm(cb, op, 0, 0, r1 - r0, oc, d.kcols, col, d.kcols, pw, oc, 0.0f, py + r0 * oc, oc);
    }
    return st;
}

/* dx = transposed convolution of dy: per chunk col = dy rows * w^T, then col2im adds
 * it into dx (zeroed first, so that cells no output reads get 0). */
lt_status lt_cpu_conv2d_backward_data(lt_backend *be, const lt_conv_geom *g, const lt_buf *dy,
                                      size_t dyoff, const lt_buf *w, size_t woff, lt_buf *dx,
                                      size_t dxoff)
{
    const char *op = "conv2d_backward_data";
    cpu_backend *cb = (cpu_backend *)be;
    lt_conv_sizes d = lt_conv_sizes_of(g);
    const float *pdy = lt_cpu_fp(dy, dyoff), *pw = lt_cpu_fp(w, woff);
    float *pdx = lt_cpu_fp(dx, dxoff);
    const size_t oc = (size_t)g->out_c;
    /* w stored kk x out_c is read transposed */
    if (d.pointwise) return gemm(cb, op, 0, 1, d.rows, d.kcols, oc, pdy, oc, pw, oc, 0.0f, pdx, d.kcols);
    /* chunks depend on the geometry alone (never the thread count), so backward_filter's
     * sums are grouped the same way on any team */
    lt_conv_chunks ch = lt_conv_chunks_flat(g, &d, LT_CONV_SCRATCH_BYTES);
    float *col = NULL;
    lt_status st = scratch(cb, op, ch.chunk * d.kcols, &col);
    if (st != LT_OK) return st;
    {
        int nt = lt_cpu_team(&cb->base, d.nx / 4);
        size_t blocks = (d.nx + 4095) / 4096;
        LT_PAR_FOR(nt)
        for (size_t b = 0; b < blocks; b++) zero_f(pdx + b * 4096, lt_cpu_min_sz(4096, d.nx - b * 4096));
    }
    for (size_t r0 = 0, len; st == LT_OK && r0 < ch.rows; r0 += len) {
        len = lt_conv_chunk_len(&ch, r0);
        size_t r1 = r0 + len;
        st = gemm(cb, op, 0, 1, r1 - r0, d.kcols, oc, pdy + r0 * oc, oc, pw, oc, 0.0f, col, d.kcols);
        if (st == LT_OK) col2im_add(g, &d, col, r0, r1, pdx, lt_cpu_team(&cb->base, (r1 - r0) * d.kcols));
    }
    return st;
}

/* Rows per slab of the narrow backward_filter, and slabs per reduction group. */
#define LT_BF_SLAB 512
#define LT_BF_GROUP 64

#if defined(__GNUC__) || defined(__clang__)
/* 16 floats as one value (one AVX-512 register, or two or four narrower ones), and the
 * same for loads and stores at any float alignment. */
typedef float lt_v16 __attribute__((vector_size(64)));
typedef float lt_v16u __attribute__((vector_size(64), aligned(4), may_alias));
typedef uint32_t lt_v16i __attribute__((vector_size(64)));
typedef uint32_t lt_v16iu __attribute__((vector_size(64), aligned(4), may_alias));
#define LT_V16 1
#else
#define LT_V16 0
#endif

/* part (kk x oc) = col^T * dy over n rows (col n x kk, dy n x oc). Four rows of part
 * by 16 columns at a time, each element summed over the rows in order; with vector
 * types the four accumulators stay in registers as independent add chains. */
LT_CLONES static void outer_acc(const float *col, const float *dy, size_t n, size_t kk, size_t oc, float *part)
{
    for (size_t j0 = 0; j0 < kk; j0 += 4)
        for (size_t f0 = 0; f0 < oc; f0 += 16) {
            const float *e = dy + f0, *c = col + j0;
            const size_t jw = lt_cpu_min_sz(4, kk - j0), w = lt_cpu_min_sz(16, oc - f0);
#if LT_V16
            if (jw == 4 && w == 16) {
                lt_v16 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
                for (size_t r = 0; r < n; r++, c += kk, e += oc) {
                    lt_v16 ev = *(const lt_v16u *)e;
                    a0 += c[0] * ev;
                    a1 += c[1] * ev;
                    a2 += c[2] * ev;
                    a3 += c[3] * ev;
                }
                float *pj = part + j0 * oc + f0;
                *(lt_v16u *)pj = a0;
                *(lt_v16u *)(pj + oc) = a1;
                *(lt_v16u *)(pj + 2 * oc) = a2;
                *(lt_v16u *)(pj + 3 * oc) = a3;
                continue;
            }
            if (w == 16) { /* the last 1-3 rows of part, one at a time */
                for (size_t jj = 0; jj < jw; jj++) {
                    lt_v16 a = {0};
                    const float *cj = c + jj, *ej = e;
                    for (size_t r = 0; r < n; r++, cj += kk, ej += oc) a += *cj * *(const lt_v16u *)ej;
                    *(lt_v16u *)(part + (j0 + jj) * oc + f0) = a;
                }
                continue;
            }
#endif
            float acc[4][16] = {{0}};
            for (size_t r = 0; r < n; r++, c += kk, e += oc)
                for (size_t jj = 0; jj < jw; jj++)
                    for (size_t f = 0; f < w; f++) acc[jj][f] += c[jj] * e[f];
            for (size_t jj = 0; jj < jw; jj++) copy_f(part + (j0 + jj) * oc + f0, acc[jj], w);
        }
}

/* backward_filter for a narrow column matrix (kk < 16: a GEMM with that few rows of dw
 * fills its register tiles poorly and cannot split them over threads): fixed slabs of
 * LT_BF_SLAB rows, each made (im2col) and reduced to a partial dw by one thread in its
 * own part of the scratch, the partials then added in slab order, so the sum does not
 * depend on the team. */
static lt_status bf_narrow(cpu_backend *cb, const char *op, const lt_conv_geom *g, const lt_conv_sizes *d,
                           const float *px, const float *pdy, float *pdw)
{
    const size_t oc = (size_t)g->out_c, kk = d->kcols, nw = d->nw, ow = (size_t)g->out_w;
    const size_t slabs = (d->rows + LT_BF_SLAB - 1) / LT_BF_SLAB, group = lt_cpu_min_sz(LT_BF_GROUP, slabs);
    const int nt = slabs > 1 ? lt_cpu_team(&cb->base, d->rows * nw) : 1;
    float *mem;
    lt_status st = scratch(cb, op, (size_t)nt * LT_BF_SLAB * kk + group * nw, &mem);
    if (st != LT_OK) return st;
    float *parts = mem + (size_t)nt * LT_BF_SLAB * kk;
    for (size_t s0 = 0; s0 < slabs; s0 += group) {
        const size_t s1 = lt_cpu_min_sz(slabs, s0 + group);
        LT_PAR_FOR(nt)
        for (size_t s = s0; s < s1; s++) {
#ifdef _OPENMP
            float *col = mem + (size_t)omp_get_thread_num() * LT_BF_SLAB * kk;
#else
            float *col = mem;
#endif
            const size_t r0 = s * LT_BF_SLAB, r1 = lt_cpu_min_sz(d->rows, r0 + LT_BF_SLAB);
            for (size_t q = r0 / ow; q < (r1 - 1) / ow + 1; q++) {
                size_t ox0 = q * ow < r0 ? r0 - q * ow : 0, ox1 = lt_cpu_min_sz(ow, r1 - q * ow);
                im2col_row(g, d, px, q, ox0, ox1, col + (q * ow + ox0 - r0) * kk);
            }
            outer_acc(col, pdy + r0 * oc, r1 - r0, kk, oc, parts + (s - s0) * nw);
        }
        for (size_t s = s0; s < s1; s++) {
            const float *p = parts + (s - s0) * nw;
            if (s == 0) copy_f(pdw, p, nw);
            else add_f(pdw, p, nw);
        }
    }
    return LT_OK;
}

/* dw = col(x)^T * dy over the whole batch: the first chunk overwrites dw, later ones
 * add to it. */
lt_status lt_cpu_conv2d_backward_filter(lt_backend *be, const lt_conv_geom *g, const lt_buf *x,
                                        size_t xoff, const lt_buf *dy, size_t dyoff, lt_buf *dw,
                                        size_t dwoff)
{
    const char *op = "conv2d_backward_filter";
    cpu_backend *cb = (cpu_backend *)be;
    lt_conv_sizes d = lt_conv_sizes_of(g);
    const float *px = lt_cpu_fp(x, xoff), *pdy = lt_cpu_fp(dy, dyoff);
    float *pdw = lt_cpu_fp(dw, dwoff);
    const size_t oc = (size_t)g->out_c;
    if (d.kcols < 16 && d.nw <= 8192) return bf_narrow(cb, op, g, &d, px, pdy, pdw);
    if (d.pointwise) return gemm(cb, op, 1, 0, d.kcols, oc, d.rows, px, d.kcols, pdy, oc, 0.0f, pdw, oc);
    /* chunks depend on the geometry alone (never the thread count), so backward_filter's
     * sums are grouped the same way on any team */
    lt_conv_chunks ch = lt_conv_chunks_flat(g, &d, LT_CONV_SCRATCH_BYTES);
    float *col = NULL;
    lt_status st = scratch(cb, op, ch.chunk * d.kcols, &col);
    for (size_t r0 = 0, len; st == LT_OK && r0 < ch.rows; r0 += len) {
        len = lt_conv_chunk_len(&ch, r0);
        size_t r1 = r0 + len;
        im2col(g, &d, px, r0, r1, col, lt_cpu_team(&cb->base, (r1 - r0) * d.kcols));
        st = gemm(cb, op, 1, 0, d.kcols, oc, r1 - r0, col, d.kcols, pdy + r0 * oc, oc, r0 ? 1.0f : 0.0f, pdw, oc);
    }
    return st;
}

/* ------------------------------------------------------------ pooling, up-sampling */

/* Float bits, without aliasing violations (compiles to a register move). */
static inline uint32_t f2u(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
/* Float of the given bits. */
static inline float u2f(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* Max pooling of output row q = (n, oy) of x's image ximg into yo / ao (out_w*c
 * each). The running maximum is replaced only by a strictly greater value, cells
 * scanned in increasing input index, so the first maximum wins; the replacement is a
 * bit blend because GCC leaves a float ?: of this shape unvectorized. */
LT_CLONES static void maxpool_row(const lt_pool_geom *g, const float *ximg, size_t q, float *yo, uint32_t *ao)
{
    const size_t c = (size_t)g->c, in_w = (size_t)g->in_w;
    const int64_t wy = (int64_t)(q % (size_t)g->out_h) * g->stride_h - g->pad_top;
    const size_t iy0 = wy < 0 ? 0 : (size_t)wy, iy1 = (size_t)(wy + g->k_h > g->in_h ? g->in_h : wy + g->k_h);
    for (size_t ox = 0; ox < (size_t)g->out_w; ox++, yo += c, ao += c) {
        int64_t wx = (int64_t)ox * g->stride_w - g->pad_left;
        size_t ix0 = wx < 0 ? 0 : (size_t)wx, ix1 = (size_t)(wx + g->k_w > g->in_w ? g->in_w : wx + g->k_w);
        size_t first = (iy0 * in_w + ix0) * c; /* padded cells never win: start in the image */
        size_t ch0 = 0;
#if LT_V16
        /* 16 channels at a time in registers: the running maximum read back from memory
         * after every cell would wait on store forwarding */
        const lt_v16i lane = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
        for (; ch0 + 16 <= c; ch0 += 16) {
            lt_v16 best = *(const lt_v16u *)(ximg + first + ch0);
            lt_v16i arg = lane + (uint32_t)(first + ch0);
            for (size_t iy = iy0; iy < iy1; iy++)
                for (size_t ix = iy == iy0 ? ix0 + 1 : ix0; ix < ix1; ix++) {
                    const uint32_t base = (uint32_t)((iy * in_w + ix) * c + ch0);
                    lt_v16 v = *(const lt_v16u *)(ximg + base);
                    lt_v16i m = (lt_v16i)(v > best);
                    best = (lt_v16)(((lt_v16i)v & m) | ((lt_v16i)best & ~m));
                    arg = ((lane + base) & m) | (arg & ~m);
                }
            *(lt_v16u *)(yo + ch0) = best;
            *(lt_v16iu *)(ao + ch0) = arg;
        }
        if (ch0 == c) continue;
#endif
        for (size_t ch = ch0; ch < c; ch++) {
            yo[ch] = ximg[first + ch];
            ao[ch] = (uint32_t)(first + ch);
        }
        for (size_t iy = iy0; iy < iy1; iy++)
            for (size_t ix = iy == iy0 ? ix0 + 1 : ix0; ix < ix1; ix++) {
                const uint32_t base = (uint32_t)((iy * in_w + ix) * c);
                const float *xc = ximg + base;
                LT_SIMD
                for (size_t ch = ch0; ch < c; ch++) {
                    uint32_t m = 0u - (uint32_t)(xc[ch] > yo[ch]);
                    yo[ch] = u2f((f2u(xc[ch]) & m) | (f2u(yo[ch]) & ~m));
                    ao[ch] = ((base + (uint32_t)ch) & m) | (ao[ch] & ~m);
                }
            }
    }
}

/* Max over each window, first maximum winning, output rows in parallel. */
lt_status lt_cpu_maxpool_forward(lt_backend *be, const lt_pool_geom *g, const lt_buf *x, size_t xoff,
                                 lt_buf *y, size_t yoff, lt_buf *argmax, size_t aoff)
{
    lt_pool_sizes d = lt_pool_sizes_of(g);
    const float *px = lt_cpu_fp(x, xoff);
    float *py = lt_cpu_fp(y, yoff);
    uint32_t *pa = (uint32_t *)argmax->mem + aoff;
    const size_t c = (size_t)g->c, oh = (size_t)g->out_h, ow = (size_t)g->out_w;
    int nt = lt_cpu_team(be, d.ny * (size_t)g->k_h * (size_t)g->k_w);
    LT_PAR_FOR(nt)
    for (size_t q = 0; q < (size_t)g->batch * oh; q++)
        maxpool_row(g, px + q / oh * d.img, q, py + q * ow * c, pa + q * ow * c);
    return LT_OK;
}

/* dx row t = (n, iy) of max pooling's backward: zeroed, then for every output cell
 * (in output order) whose window holds a cell of this row and whose argmax names that
 * cell, dy added there. An argmax naming a cell outside its window matches nothing and
 * is ignored (backend.h allows that); the match is a bit mask, so the loop vectorizes. */
LT_CLONES static void maxpool_back_row(const lt_pool_geom *g, const float *dyimg, const uint32_t *aimg, size_t t,
                                       float *drow)
{
    const size_t c = (size_t)g->c, in_w = (size_t)g->in_w, ow = (size_t)g->out_w;
    const int64_t iy = (int64_t)(t % (size_t)g->in_h), ty = iy + g->pad_top;
    /* output rows whose window oy*sh - pt .. + k_h - 1 holds iy */
    int64_t oy0 = ty - g->k_h + 1 <= 0 ? 0 : (ty - g->k_h + 1 + g->stride_h - 1) / g->stride_h;
    int64_t oy1 = ty / g->stride_h + 1;
    if (oy1 > g->out_h) oy1 = g->out_h;
    zero_f(drow, in_w * c);
    for (int64_t oy = oy0; oy < oy1; oy++)
        for (size_t ox = 0; ox < ow; ox++) {
            const size_t o = ((size_t)oy * ow + ox) * c;
            const uint32_t *ao = aimg + o;
            const float *dyo = dyimg + o;
            int64_t wx = (int64_t)ox * g->stride_w - g->pad_left;
            size_t ix0 = wx < 0 ? 0 : (size_t)wx, ix1 = (size_t)(wx + g->k_w > g->in_w ? g->in_w : wx + g->k_w);
            for (size_t ix = ix0; ix < ix1; ix++) {
                const uint32_t base = (uint32_t)(((size_t)iy * in_w + ix) * c);
                float *dc = drow + ix * c;
                LT_SIMD
                for (size_t ch = 0; ch < c; ch++) {
                    uint32_t m = 0u - (uint32_t)(ao[ch] == base + (uint32_t)ch);
                    dc[ch] += u2f(f2u(dyo[ch]) & m);
                }
            }
        }
}

/* Whether any of a[0, n) is >= lim (a vectorizable scan, then the caller looks). */
LT_CLONES static int any_at_least(const uint32_t *a, size_t n, size_t lim)
{
    uint32_t bad = 0;
    if (lim > UINT32_MAX) return 0;
    const uint32_t l = (uint32_t)lim;
    LT_SIMD
    for (size_t i = 0; i < n; i++) bad |= (uint32_t)(a[i] >= l);
    return bad != 0;
}

/* dx = 0, then dx[argmax] += dy, gathered per dx row (rows in parallel, each cell's
 * terms in output order). An index past the image is refused before anything is
 * written; one inside the image but outside its window is ignored. */
lt_status lt_cpu_maxpool_backward(lt_backend *be, const lt_pool_geom *g, const lt_buf *dy,
                                  size_t dyoff, const lt_buf *argmax, size_t aoff, lt_buf *dx,
                                  size_t dxoff)
{
    const char *op = "maxpool_backward";
    lt_pool_sizes d = lt_pool_sizes_of(g);
    const float *pdy = lt_cpu_fp(dy, dyoff);
    const uint32_t *pa = (const uint32_t *)argmax->mem + aoff;
    float *pdx = lt_cpu_fp(dx, dxoff);
    const size_t per = d.ny / (size_t)g->batch, ih = (size_t)g->in_h, in_row = (size_t)g->in_w * (size_t)g->c;
    if (any_at_least(pa, d.ny, d.img))
        for (size_t i = 0; i < d.ny; i++)
            if (pa[i] >= d.img)
                return lt_backend_set_error(be, LT_ERR_ARG,
                                            "%s: argmax[%zu] = %u is past the %zu elements of an image", op, i,
                                            (unsigned)pa[i], d.img);
    int nt = lt_cpu_team(be, d.ny * (size_t)g->k_h * (size_t)g->k_w);
    LT_PAR_FOR(nt)
    for (size_t t = 0; t < (size_t)g->batch * ih; t++)
        maxpool_back_row(g, pdy + t / ih * per, pa + t / ih * per, t, pdx + t * in_row);
    return LT_OK;
}

/* One output coordinate's bilinear source: lerp (1-f)*in[i0] + f*in[i1]. */
typedef struct lerp_tap {
    int i0, i1; /* floor and ceil of the clamped source coordinate */
    float f;    /* its fractional part                             */
} lerp_tap;

/* Taps for out = in*k coordinates: s = (o + 0.5)/k - 0.5 clamped to [0, in-1]
 * (half-pixel centres, as TF's resize with align_corners=False). Returns NULL when out
 * of memory. */
static lerp_tap *lerp_taps(int in, int k, int out)
{
    lerp_tap *t = malloc((size_t)out * sizeof *t);
    if (!t) return NULL;
    for (int o = 0; o < out; o++) {
        float s = ((float)o + 0.5f) / (float)k - 0.5f;
        s = s < 0.0f ? 0.0f : s > (float)(in - 1) ? (float)(in - 1) : s;
        int i0 = (int)s; /* s >= 0: truncation is floor */
        t[o].i0 = i0;
        t[o].f = s - (float)i0;
        t[o].i1 = t[o].f > 0.0f ? i0 + 1 : i0;
    }
    return t;
}

/* Output row dst (ow*c floats) of nearest up-sampling from input row src. */
LT_CLONES static void up_nearest_row(const float *src, float *dst, size_t ow, size_t kw, size_t c)
{
    for (size_t ox = 0; ox < ow; ox++) copy_f(dst + ox * c, src + ox / kw * c, c);
}

/* Output row dst (ow*c floats) of bilinear up-sampling: rows vy->i0 and vy->i1 of the
 * image img (rows of ld floats) lerped by vy->f, each lerped along x by the taps tx. */
LT_CLONES static void up_bilinear_row(const lerp_tap *vy, const lerp_tap *tx, const float *img, size_t ld, float *dst,
                                      size_t ow, size_t c)
{
    const float *r0 = img + (size_t)vy->i0 * ld, *r1 = img + (size_t)vy->i1 * ld;
    const float fy = vy->f;
    for (size_t ox = 0; ox < ow; ox++) {
        const float *a0 = r0 + (size_t)tx[ox].i0 * c, *a1 = r0 + (size_t)tx[ox].i1 * c;
        const float *b0 = r1 + (size_t)tx[ox].i0 * c, *b1 = r1 + (size_t)tx[ox].i1 * c;
        const float fx = tx[ox].f;
        float *o = dst + ox * c;
        LT_SIMD
        for (size_t ch = 0; ch < c; ch++) {
            float top = (1.0f - fx) * a0[ch] + fx * a1[ch];
            float bot = (1.0f - fx) * b0[ch] + fx * b1[ch];
            o[ch] = (1.0f - fy) * top + fy * bot;
        }
    }
}

/* y = up-sampling of x by (k_h, k_w), nearest or bilinear; output rows in parallel. */
lt_status lt_cpu_upsample_forward(lt_backend *be, const lt_pool_geom *g, lt_backend_interp mode,
                                  const lt_buf *x, size_t xoff, lt_buf *y, size_t yoff)
{
    const char *op = "upsample_forward";
    lt_pool_sizes d = lt_pool_sizes_of(g);
    const float *px = lt_cpu_fp(x, xoff);
    float *py = lt_cpu_fp(y, yoff);
    const size_t c = (size_t)g->c, oh = (size_t)g->out_h, ow = (size_t)g->out_w, ih = (size_t)g->in_h;
    const size_t in_row = (size_t)g->in_w * c, out_row = ow * c;
    if (mode == LT_INTERP_NEAREST) {
        int nt = lt_cpu_team(be, d.ny);
        LT_PAR_FOR(nt)
        for (size_t q = 0; q < (size_t)g->batch * oh; q++) /* output row (n, oy) */
            up_nearest_row(px + (q / oh * ih + q % oh / (size_t)g->k_h) * in_row, py + q * out_row, ow,
                           (size_t)g->k_w, c);
        return LT_OK;
    }
    lerp_tap *ty = lerp_taps(g->in_h, g->k_h, g->out_h), *tx = lerp_taps(g->in_w, g->k_w, g->out_w);
    if (!ty || !tx) {
        free(ty);
        free(tx);
        return lt_backend_set_error(be, LT_ERR_NOMEM, "%s: out of host memory for interpolation tables", op);
    }
    int nt = lt_cpu_team(be, d.ny * 4);
    LT_PAR_FOR(nt)
    for (size_t q = 0; q < (size_t)g->batch * oh; q++) {
        const float *img = px + q / oh * ih * in_row;
        up_bilinear_row(&ty[q % oh], tx, img, in_row, py + q * out_row, ow, c);
    }
    free(ty);
    free(tx);
    return LT_OK;
}

/* dx row (iw*c floats) of nearest up-sampling's adjoint: the sum of its k_h x k_w
 * block of dy (rows of ld floats from dyrow on), taken in row-major order. */
LT_CLONES static void up_nearest_back_row(const float *dyrow, size_t ld, float *drow, size_t iw, size_t kh,
                                          size_t kw, size_t c)
{
    zero_f(drow, iw * c);
    for (size_t a = 0; a < kh; a++)
        for (size_t ix = 0; ix < iw; ix++)
            for (size_t b = 0; b < kw; b++) add_f(drow + ix * c, dyrow + a * ld + (ix * kw + b) * c, c);
}

/* dx row iy (drow, iw*c floats) of bilinear up-sampling's adjoint, from the output rows [lo, hi)
 * of its image's dy (dyimg, rows of ld floats), the only ones whose taps name iy: each
 * adds its row, weighed as the forward weighed row iy, in output order. */
LT_CLONES static void up_bilinear_back_row(const lerp_tap *ty, const lerp_tap *tx, size_t iy, size_t lo, size_t hi,
                                           const float *dyimg, size_t ld, float *drow, size_t iw, size_t ow,
                                           size_t c)
{
    zero_f(drow, iw * c);
    for (size_t oy = lo; oy < hi; oy++) {
        /* the forward weighs row i0 by 1-f and row i1 by f (both when i0 == i1) */
        int use0 = (size_t)ty[oy].i0 == iy, use1 = (size_t)ty[oy].i1 == iy;
        if (!use0 && !use1) continue;
        float wy = (use0 ? 1.0f - ty[oy].f : 0.0f) + (use1 ? ty[oy].f : 0.0f);
        const float *src = dyimg + oy * ld;
        for (size_t ox = 0; ox < ow; ox++) {
            float w0 = wy * (1.0f - tx[ox].f), w1 = wy * tx[ox].f;
            float *d0 = drow + (size_t)tx[ox].i0 * c, *d1 = drow + (size_t)tx[ox].i1 * c;
            const float *s = src + ox * c;
            /* d0 and d1 may be the same cell (i0 == i1): two passes, not one fused loop */
            LT_SIMD
            for (size_t ch = 0; ch < c; ch++) d0[ch] += w0 * s[ch];
            LT_SIMD
            for (size_t ch = 0; ch < c; ch++) d1[ch] += w1 * s[ch];
        }
    }
}

/* dx = adjoint of the up-sampling applied to dy. Each dx row (n, iy) is one thread's,
 * gathered from the output rows that read it (nearest: its k_h rows; bilinear: those
 * whose taps name iy). */
lt_status lt_cpu_upsample_backward(lt_backend *be, const lt_pool_geom *g, lt_backend_interp mode,
                                   const lt_buf *dy, size_t dyoff, lt_buf *dx, size_t dxoff)
{
    const char *op = "upsample_backward";
    lt_pool_sizes d = lt_pool_sizes_of(g);
    const float *pdy = lt_cpu_fp(dy, dyoff);
    float *pdx = lt_cpu_fp(dx, dxoff);
    const size_t c = (size_t)g->c, oh = (size_t)g->out_h, ow = (size_t)g->out_w, ih = (size_t)g->in_h;
    const size_t iw = (size_t)g->in_w, kh = (size_t)g->k_h, kw = (size_t)g->k_w;
    const size_t in_row = iw * c, out_row = ow * c;
    if (mode == LT_INTERP_NEAREST) {
        int nt = lt_cpu_team(be, d.ny);
        LT_PAR_FOR(nt)
        for (size_t t = 0; t < (size_t)g->batch * ih; t++) /* dx row (n, iy) from its first dy row on */
            up_nearest_back_row(pdy + (t / ih * oh + t % ih * kh) * out_row, out_row, pdx + t * in_row, iw, kh, kw, c);
        return LT_OK;
    }
    lerp_tap *ty = lerp_taps(g->in_h, g->k_h, g->out_h), *tx = lerp_taps(g->in_w, g->k_w, g->out_w);
    if (!ty || !tx) {
        free(ty);
        free(tx);
        return lt_backend_set_error(be, LT_ERR_NOMEM, "%s: out of host memory for interpolation tables", op);
    }
    /* rows[2*iy], rows[2*iy+1]: first and last output row whose taps name input row
     * iy (taps are monotonic in oy, so these rows are contiguous); taken from the
     * table itself rather than from a formula, so float rounding cannot hide a row */
    size_t *rows = malloc(2 * ih * sizeof *rows);
    if (!rows) {
        free(ty);
        free(tx);
        return lt_backend_set_error(be, LT_ERR_NOMEM, "%s: out of host memory for interpolation tables", op);
    }
    for (size_t i = 0; i < ih; i++) {
        rows[2 * i] = oh;
        rows[2 * i + 1] = 0;
    }
    for (size_t oy = oh; oy-- > 0;) rows[2 * (size_t)ty[oy].i0] = rows[2 * (size_t)ty[oy].i1] = oy;
    for (size_t oy = 0; oy < oh; oy++) rows[2 * (size_t)ty[oy].i0 + 1] = rows[2 * (size_t)ty[oy].i1 + 1] = oy;
    int nt = lt_cpu_team(be, d.ny * 8);
    LT_PAR_FOR(nt)
    for (size_t t = 0; t < (size_t)g->batch * ih; t++) {
        size_t iy = t % ih;
        up_bilinear_back_row(ty, tx, iy, rows[2 * iy], rows[2 * iy + 1] + 1, pdy + t / ih * oh * out_row, out_row,
                             pdx + t * in_row, iw, ow, c);
    }
    free(rows);
    free(ty);
    free(tx);
    return LT_OK;
}
