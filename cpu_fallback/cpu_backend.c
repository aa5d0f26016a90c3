/* The CPU fallback backend: every lt_backend_ops slot (lib/backend/backend.h) in plain C,
 * threaded with OpenMP when the build has it and serial otherwise.
 *
 * Ops run synchronously, so "asynchronous, in order" holds trivially and finish() has
 * nothing to wait for. A backend is used by one host thread at a time (it owns a GEMM
 * workspace); two backends with different thread counts may coexist, since every
 * parallel region names its team size instead of touching OpenMP's global state.
 *
 * Reductions (sum, loss values, bias gradients) split their input into chunks whose
 * size depends only on n, never on the thread count, and add the per-chunk partial
 * sums in a fixed order: results are identical for any number of threads.
 *
 * Transcendentals in hot loops use the small branch-free exp/log of cpu_math.h instead of
 * libm, so that those loops vectorize; they are accurate to a few ulp. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "cpu_gemm.h"
#include "cpu_internal.h"
#include "cpu_math.h"
#include "philox.h"

/* The most threads a backend will use; beyond this libgomp may fail to create them,
 * and it exits rather than reporting that. */
#define LT_MAX_THREADS 512

/* ---------------------------------------------------------------- the backend */

/* struct lt_buf, cpu_backend and the buffer and team helpers are in cpu_internal.h. */

/* ---------------------------------------------------------- deterministic sums */

/* Chunk length for reductions over n elements: a function of n alone, so partial sums
 * and their order do not change with the thread count; at most LT_MAX_CHUNKS chunks. */
#define LT_MIN_CHUNK 4096
#define LT_MAX_CHUNKS 1024
static size_t chunk_len(size_t n)
{
    size_t c = (n + LT_MAX_CHUNKS - 1) / LT_MAX_CHUNKS;
    return c < LT_MIN_CHUNK ? LT_MIN_CHUNK : c;
}

/* Sum of x[0, n), or of its squares, in double with eight interleaved accumulators
 * (fixed order); squares is a constant at every call, so each use compiles to its own
 * loop. */
static inline double accumulate_run(const float *x, size_t n, int squares)
{
    double acc[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) acc[j] += squares ? (double)x[i + j] * x[i + j] : x[i + j];
    for (; i < n; i++) acc[i & 7] += squares ? (double)x[i] * x[i] : x[i];
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

/* Sum of x[0, n) in double (fixed order). */
static double sum_run(const float *x, size_t n) { return accumulate_run(x, n, 0); }

/* Sum of the squares of x[0, n) in double (fixed order). */
static double sumsq_run(const float *x, size_t n) { return accumulate_run(x, n, 1); }

/* Adds part[0, count) in order. */
static double sum_parts(const double *part, size_t count)
{
    double s = 0.0;
    for (size_t i = 0; i < count; i++) s += part[i];
    return s;
}

/* run (sum_run or sumsq_run) over x[0, n) in fixed chunks spread over the threads, the
 * chunks' results added in order: the same value for any thread count. */
static double chunked_sum(lt_backend *be, const float *x, size_t n, double (*run)(const float *, size_t))
{
    size_t len = chunk_len(n), chunks = (n + len - 1) / len;
    double part[LT_MAX_CHUNKS];
    int nt = lt_cpu_team(be, n / 2);
    LT_PAR_FOR(nt)
    for (size_t c = 0; c < chunks; c++) part[c] = run(x + c * len, lt_cpu_min_sz(len, n - c * len));
    return sum_parts(part, chunks);
}

/* ------------------------------------------------------------------- buffers */

/* Releases the backend; buffers must already be freed. */
static void cpu_destroy(lt_backend *be)
{
    cpu_backend *cb = (cpu_backend *)be;
    lt_gemm_ws_free(&cb->gemm_ws);
    lt_cpu_conv_free(cb);
    free(cb);
}

/* Bytes a buffer of n elements takes: whole 64-byte lines (n below the overflow bound). */
static size_t buf_bytes(size_t n) { return (n * 4 + 63) / 64 * 64; }

/* bytes in words: "26.3 GB", "512.0 MB", "4.0 kB" or "63 bytes" (decimal units). */
static const char *size_words(char *buf, size_t len, size_t bytes)
{
    static const char *const unit[] = {"TB", "GB", "MB", "kB"};
    static const double scale[] = {1e12, 1e9, 1e6, 1e3};
    for (int i = 0; i < 4; i++)
        if ((double)bytes >= scale[i]) {
            snprintf(buf, len, "%.1f %s", (double)bytes / scale[i], unit[i]);
            return buf;
        }
    snprintf(buf, len, "%zu bytes", bytes);
    return buf;
}

/* NOMEM for a buffer of bytes (n elements) that the account refuses: what was asked
 * for, and what is available of the machine's memory. */
static lt_status refuse_alloc(cpu_backend *cb, size_t bytes, size_t n)
{
    char want[24], ram[24], held[24], left[24];
    size_words(want, sizeof want, bytes);
    size_words(ram, sizeof ram, cb->ram_bytes);
    if (bytes > cb->ram_bytes || cb->allocated == 0)
        return lt_backend_set_error(&cb->base, LT_ERR_NOMEM,
                                    "buf_alloc: %zu bytes (%s, %zu elements) were asked for, more than the machine's %s "
                                    "of memory in all", bytes, want, n, ram);
    size_t rest = cb->ram_bytes - cb->allocated;
    return lt_backend_set_error(&cb->base, LT_ERR_NOMEM,
                                "buf_alloc: %zu bytes (%s, %zu elements) were asked for, but only %zu bytes (%s) of the "
                                "machine's %s of memory are available: this backend's buffers allocated before take "
                                "%s (counted in full when allocated; until written they do not show in the process's "
                                "resident memory)", bytes, want, n, rest, size_words(left, sizeof left, rest), ram,
                                size_words(held, sizeof held, cb->allocated));
}

/* Allocates n elements, 64-byte aligned (n == 0 gives a valid empty buffer). */
static lt_status cpu_buf_alloc(lt_backend *be, size_t n, lt_buf **out)
{
    if (n > (SIZE_MAX - 63) / 4)
        return lt_backend_set_error(be, LT_ERR_NOMEM,
                                    "buf_alloc: %zu elements of 4 bytes overflow the address space", n);
    size_t bytes = buf_bytes(n);
    cpu_backend *cb = (cpu_backend *)be;
    /* Linux overcommits: a buffer larger than the RAM left would "succeed" here and the
     * process be killed when it is touched, so the backend keeps its own account. */
    if (cb->ram_bytes && (bytes > cb->ram_bytes || cb->allocated > cb->ram_bytes - bytes))
        return refuse_alloc(cb, bytes, n);
    lt_buf *buf = malloc(sizeof *buf);
    void *mem = aligned_alloc(64, bytes ? bytes : 64);
    if (!buf || !mem) {
        free(buf);
        free(mem);
        return lt_backend_set_error(be, LT_ERR_NOMEM,
                                    "buf_alloc: out of host memory allocating %zu bytes (%zu elements)",
                                    n * 4, n);
    }
    buf->mem = mem;
    buf->n = n;
    cb->allocated += bytes;
    *out = buf;
    return LT_OK;
}

/* Elements buf was allocated with. */
static size_t cpu_buf_elems(const lt_buf *buf) { return buf->n; }

/* Frees a buffer (NULL is fine). */
static void cpu_buf_free(lt_backend *be, lt_buf *buf)
{
    if (!buf) return;
    ((cpu_backend *)be)->allocated -= buf_bytes(buf->n);
    free(buf->mem);
    free(buf);
}

/* Host to buffer. */
static lt_status cpu_upload(lt_backend *be, lt_buf *buf, size_t off, const void *src, size_t n)
{
    if (n == 0) return LT_OK;
    memcpy(lt_cpu_fp(buf, off), src, n * 4);
    return LT_OK;
}

/* Buffer to host (there is no queued work to wait for). */
static lt_status cpu_download(lt_backend *be, const lt_buf *buf, size_t off, void *dst, size_t n)
{
    if (n == 0) return LT_OK;
    memcpy(dst, lt_cpu_fp(buf, off), n * 4);
    return LT_OK;
}

/* Buffer to buffer over non-overlapping ranges. */
static lt_status cpu_copy(lt_backend *be, const lt_buf *src, size_t soff, lt_buf *dst, size_t doff,
                          size_t n)
{
    if (n == 0) return LT_OK;
    memcpy(lt_cpu_fp(dst, doff), lt_cpu_fp(src, soff), n * 4);
    return LT_OK;
}

/* buf[off, off+n) = value. */
static lt_status cpu_fill(lt_backend *be, lt_buf *buf, size_t off, size_t n, float value)
{
    if (n == 0) return LT_OK;
    float *x = lt_cpu_fp(buf, off);
    int nt = lt_cpu_team(be, n / 4);
    LT_PAR_FOR_SIMD(nt)
    for (size_t i = 0; i < n; i++) x[i] = value;
    return LT_OK;
}

/* Every op has completed when it returns. */
static lt_status cpu_finish(lt_backend *be)
{
    (void)be;
    return LT_OK;
}

/* ------------------------------------------------------------- linear algebra */

/* C = alpha*op(A)*op(B) + beta*C via cpu_gemm.c. */
static lt_status cpu_gemm(lt_backend *be, int trans_a, int trans_b, size_t m, size_t n, size_t k,
                          float alpha, const lt_buf *a, size_t aoff, size_t lda,
                          const lt_buf *b, size_t boff, size_t ldb,
                          float beta, lt_buf *c, size_t coff, size_t ldc)
{
    if (m == 0 || n == 0) return LT_OK;
    /* with k == 0, A and B are empty and may be absent */
    const float *pa = k ? lt_cpu_fp(a, aoff) : NULL, *pb = k ? lt_cpu_fp(b, boff) : NULL;
    cpu_backend *cb = (cpu_backend *)be;
    size_t failed = lt_cpu_gemm(&cb->gemm_ws, lt_cpu_governor_team(&cb->gov), trans_a, trans_b, m, n, k, alpha,
                                pa, lda, pb, ldb, beta, lt_cpu_fp(c, coff), ldc);
    if (failed)
        return lt_backend_set_error(be, LT_ERR_NOMEM,
                                    "gemm: out of host memory allocating %zu bytes of packing workspace",
                                    failed);
    return LT_OK;
}

/* y = alpha*x + beta*y (beta == 0 overwrites y, NaN included). */
static lt_status cpu_axpby(lt_backend *be, size_t n, float alpha, const lt_buf *x, size_t xoff,
                           float beta, lt_buf *y, size_t yoff)
{
    if (n == 0) return LT_OK;
    const float *px = lt_cpu_fp(x, xoff);
    float *py = lt_cpu_fp(y, yoff);
    int nt = lt_cpu_team(be, n / 2);
    if (beta == 0.0f) {
        LT_PAR_FOR_SIMD(nt)
        for (size_t i = 0; i < n; i++) py[i] = alpha * px[i];
    } else {
        LT_PAR_FOR_SIMD(nt)
        for (size_t i = 0; i < n; i++) py[i] = alpha * px[i] + beta * py[i];
    }
    return LT_OK;
}

/* z = x * y; z may alias x or y (each element is read before it is written). */
static lt_status cpu_mul(lt_backend *be, size_t n, const lt_buf *x, size_t xoff,
                         const lt_buf *y, size_t yoff, lt_buf *z, size_t zoff)
{
    if (n == 0) return LT_OK;
    const float *px = lt_cpu_fp(x, xoff), *py = lt_cpu_fp(y, yoff);
    float *pz = lt_cpu_fp(z, zoff);
    int nt = lt_cpu_team(be, n / 2);
    LT_PAR_FOR_SIMD(nt)
    for (size_t i = 0; i < n; i++) pz[i] = px[i] * py[i];
    return LT_OK;
}

/* out[ooff] = sum of x[xoff, xoff+n), in double over fixed chunks (see chunk_len). */
static lt_status cpu_sum(lt_backend *be, size_t n, const lt_buf *x, size_t xoff, lt_buf *out,
                         size_t ooff)
{
    *lt_cpu_fp(out, ooff) = (float)chunked_sum(be, n ? lt_cpu_fp(x, xoff) : NULL, n, sum_run);
    return LT_OK;
}

/* ------------------------------------------------------------------- layers */

/* y[0, cols) = act(x + bias) for one row of a pointwise activation (bias may be NULL);
 * comparisons are arranged so that NaN propagates. */
LT_CLONES static void act_row(lt_backend_act act, float alpha, const float *x,
                              const float *bias, float *y, size_t cols)
{
    /* y may alias x: every loop reads element j before writing it */
    if (bias) {
        LT_SIMD
        for (size_t j = 0; j < cols; j++) y[j] = x[j] + bias[j];
        x = y;
    }
    switch (act) {
    case LT_BACT_RELU:
        LT_SIMD
        for (size_t j = 0; j < cols; j++) y[j] = x[j] < 0.0f ? 0.0f : x[j];
        break;
    case LT_BACT_LEAKY_RELU:
        LT_SIMD
        for (size_t j = 0; j < cols; j++) y[j] = sel(x[j] < 0.0f, alpha * x[j], x[j]);
        break;
    case LT_BACT_ELU:
        LT_SIMD
        for (size_t j = 0; j < cols; j++) y[j] = sel(x[j] < 0.0f, alpha * v_expm1(x[j]), x[j]);
        break;
    case LT_BACT_SIGMOID:
        LT_SIMD
        for (size_t j = 0; j < cols; j++) y[j] = v_sigmoid(x[j]);
        break;
    case LT_BACT_TANH:
        LT_SIMD
        for (size_t j = 0; j < cols; j++) y[j] = v_tanh(x[j]);
        break;
    default: /* linear */
        if (y != x) memcpy(y, x, cols * sizeof *y);
        break;
    }
}

/* y[0, cols) = softmax(x + bias) for one row, max-subtracted; y may alias x. */
LT_CLONES static void softmax_row(const float *x, const float *bias, float *y, size_t cols)
{
    if (bias) {
        LT_SIMD
        for (size_t j = 0; j < cols; j++) y[j] = x[j] + bias[j];
    } else if (y != x) {
        memcpy(y, x, cols * sizeof *y);
    }
    float mx = -INFINITY; /* NaNs are skipped here and come out of the exp below */
    for (size_t j = 0; j < cols; j++) mx = y[j] > mx ? y[j] : mx;
    LT_SIMD
    for (size_t j = 0; j < cols; j++) y[j] = v_exp(y[j] - mx);
    float inv = 1.0f / (float)sum_run(y, cols);
    LT_SIMD
    for (size_t j = 0; j < cols; j++) y[j] *= inv;
}

/* y = act(x + bias) over rows x cols, rows in parallel. */
static lt_status cpu_bias_act_forward(lt_backend *be, size_t rows, size_t cols,
                                      const lt_buf *x, size_t xoff, const lt_buf *bias, size_t boff,
                                      lt_backend_act act, float alpha, lt_buf *y, size_t yoff)
{
    size_t n = rows * cols;
    if (n == 0) return LT_OK;
    const float *px = lt_cpu_fp(x, xoff), *pb = bias ? lt_cpu_fp(bias, boff) : NULL;
    float *py = lt_cpu_fp(y, yoff);
    int heavy = act >= LT_BACT_ELU; /* exp-based */
    int nt = lt_cpu_team(be, heavy ? n * 8 : n);
    LT_PAR_FOR(nt)
    for (size_t r = 0; r < rows; r++) {
        if (act == LT_BACT_SOFTMAX)
            softmax_row(px + r * cols, pb, py + r * cols, cols);
        else
            act_row(act, alpha, px + r * cols, pb, py + r * cols, cols);
    }
    return LT_OK;
}

/* dx = dy * act'(y) for one row of a pointwise activation; dx may alias dy. */
LT_CLONES static void act_grad_row(lt_backend_act act, float alpha, const float *y,
                                   const float *dy, float *dx, size_t cols)
{
    switch (act) {
    case LT_BACT_RELU:
        LT_SIMD
        for (size_t j = 0; j < cols; j++) dx[j] = sel(y[j] > 0.0f, dy[j], 0.0f);
        break;
    case LT_BACT_LEAKY_RELU:
        LT_SIMD
        for (size_t j = 0; j < cols; j++) dx[j] = sel(y[j] > 0.0f, dy[j], alpha * dy[j]);
        break;
    case LT_BACT_ELU: /* y = alpha*(e^x - 1) for x <= 0, so y' = alpha*e^x = y + alpha */
        LT_SIMD
        for (size_t j = 0; j < cols; j++) dx[j] = sel(y[j] > 0.0f, dy[j], dy[j] * (y[j] + alpha));
        break;
    case LT_BACT_SIGMOID:
        LT_SIMD
        for (size_t j = 0; j < cols; j++) dx[j] = dy[j] * y[j] * (1.0f - y[j]);
        break;
    case LT_BACT_TANH:
        LT_SIMD
        for (size_t j = 0; j < cols; j++) dx[j] = dy[j] * (1.0f - y[j] * y[j]);
        break;
    case LT_BACT_SOFTMAX: { /* dx_i = y_i * (dy_i - sum_j dy_j y_j) */
        double dot = 0.0;
        for (size_t j = 0; j < cols; j++) dot += (double)dy[j] * y[j];
        float d = (float)dot;
        LT_SIMD
        for (size_t j = 0; j < cols; j++) dx[j] = y[j] * (dy[j] - d);
        break;
    }
    default: /* linear */
        if (dx != dy) memcpy(dx, dy, cols * sizeof *dx);
        break;
    }
}

/* dx = dy * act'(.) from the activation's output y, rows in parallel. */
static lt_status cpu_act_backward(lt_backend *be, size_t rows, size_t cols, lt_backend_act act,
                                  float alpha, const lt_buf *y, size_t yoff,
                                  const lt_buf *dy, size_t dyoff, lt_buf *dx, size_t dxoff)
{
    size_t n = rows * cols;
    if (n == 0) return LT_OK;
    const float *py = lt_cpu_fp(y, yoff), *pdy = lt_cpu_fp(dy, dyoff);
    float *pdx = lt_cpu_fp(dx, dxoff);
    int nt = lt_cpu_team(be, n);
    LT_PAR_FOR(nt)
    for (size_t r = 0; r < rows; r++)
        act_grad_row(act, alpha, py + r * cols, pdy + r * cols, pdx + r * cols, cols);
    return LT_OK;
}

/* Columns per task of bias_act_backward's sums: a task's accumulators stay in registers/L1. */
#define LT_BIAS_COLS 256

/* db[c] = sum over rows of dy[r, c] (+ beta*db[c]), in double, rows in order. */
static lt_status cpu_bias_act_backward(lt_backend *be, size_t rows, size_t cols, lt_backend_act act, float alpha,
                                       const lt_buf *y, size_t yoff, const lt_buf *dy, size_t dyoff, lt_buf *dz,
                                       size_t dzoff, float beta, lt_buf *db, size_t dboff)
{
    size_t n = rows * cols;
    if (cols == 0) return LT_OK;
    const float *pdy = n ? lt_cpu_fp(dy, dyoff) : NULL;
    float *pdb = lt_cpu_fp(db, dboff);
    if (n && dz) { /* dz first, threaded over rows (a narrow layer has one column task) */
        const float *py = lt_cpu_fp(y, yoff);
        float *pdz = lt_cpu_fp(dz, dzoff);
        int nt = lt_cpu_team(be, n);
        LT_PAR_FOR(nt)
        for (size_t r = 0; r < rows; r++) act_grad_row(act, alpha, py + r * cols, pdy + r * cols, pdz + r * cols, cols);
        pdy = pdz;
    }
    size_t tasks = (cols + LT_BIAS_COLS - 1) / LT_BIAS_COLS;
    int nt = tasks > 1 ? lt_cpu_team(be, n) : 1;
    LT_PAR_FOR(nt)
    for (size_t t = 0; t < tasks; t++) {
        size_t c0 = t * LT_BIAS_COLS, w = lt_cpu_min_sz(LT_BIAS_COLS, cols - c0);
        double acc[LT_BIAS_COLS];
        for (size_t j = 0; j < w; j++) acc[j] = 0.0;
        for (size_t r = 0; r < rows; r++) {
            const float *row = pdy + r * cols + c0;
            LT_SIMD
            for (size_t j = 0; j < w; j++) acc[j] += row[j];
        }
        float *out = pdb + c0;
        if (beta == 0.0f) {
            for (size_t j = 0; j < w; j++) out[j] = (float)acc[j];
        } else {
            for (size_t j = 0; j < w; j++) out[j] = (float)(acc[j] + (double)(beta * out[j]));
        }
    }
    return LT_OK;
}

/* dst row r = src row idx[r]; indices are checked against src's extent first. */
static lt_status cpu_gather_rows(lt_backend *be, size_t rows, size_t cols,
                                 const lt_buf *src, size_t soff, const lt_buf *idx, size_t ioff,
                                 lt_buf *dst, size_t doff)
{
    const char *op = "gather_rows";
    size_t n = rows * cols;
    if (n == 0) return LT_OK;
    size_t src_rows = (src->n - soff) / cols; /* at least one */
    const uint32_t *pi = lt_cpu_up(idx, ioff);
    for (size_t r = 0; r < rows; r++)
        if (pi[r] >= src_rows)
            return lt_backend_set_error(be, LT_ERR_ARG,
                                        "%s: index %u (row %zu) is past the %zu rows of src", op,
                                        (unsigned)pi[r], r, src_rows);
    const float *ps = lt_cpu_fp(src, soff);
    float *pd = lt_cpu_fp(dst, doff);
    int nt = lt_cpu_team(be, n / 4);
    LT_PAR_FOR(nt)
    for (size_t r = 0; r < rows; r++) memcpy(pd + r * cols, ps + (size_t)pi[r] * cols, cols * 4);
    return LT_OK;
}

/* ------------------------------------------------------------------- losses */

#define LT_PROB_EPS 1e-7f

/* Elements per inner block of the loss: per-element values and gradients are staged
 * in arrays of this size so the formula loops vectorize. */
#define LT_LOSS_BLOCK 512

/* Loss values v and gradients d (d(loss)/dp, unscaled) of n <= LT_LOSS_BLOCK
 * elements. Probability losses clip p to [eps, 1-eps]; as for a clip's gradient
 * (tf.clip_by_value, and the OpenCL backend), d is 0 where p lies outside that range. */
LT_CLONES static void loss_block(lt_backend_loss kind, const float *p, const float *t, float *v,
                                 float *d, size_t n)
{
    const float lo = LT_PROB_EPS, hi = 1.0f - LT_PROB_EPS;
    switch (kind) {
    case LT_BLOSS_BCE_LOGITS:
        LT_SIMD
        for (size_t i = 0; i < n; i++) {
            float e = v_exp(-fabsf(p[i])), inv = 1.0f / (1.0f + e);
            float sig = sel(p[i] >= 0.0f, inv, e * inv);
            v[i] = sel(p[i] > 0.0f, p[i], 0.0f) - p[i] * t[i] + v_log1p(e);
            d[i] = sig - t[i];
        }
        break;
    case LT_BLOSS_BCE_PROBS:
        LT_SIMD
        for (size_t i = 0; i < n; i++) {
            float pc = sel(p[i] < lo, lo, sel(p[i] > hi, hi, p[i]));
            v[i] = -(t[i] * v_log(pc) + (1.0f - t[i]) * v_log(1.0f - pc));
            float den = p[i] * (1.0f - p[i]);
            float g = (p[i] - t[i]) / sel(den < 1e-12f, 1e-12f, den);
            d[i] = sel((p[i] < 0.0f) | (p[i] > 1.0f), 0.0f, g);
        }
        break;
    case LT_BLOSS_CCE_PROBS:
        LT_SIMD
        for (size_t i = 0; i < n; i++) {
            float pc = sel(p[i] < lo, lo, sel(p[i] > hi, hi, p[i]));
            v[i] = -t[i] * v_log(pc);
            d[i] = sel((p[i] < lo) | (p[i] > hi), 0.0f, -t[i] / pc);
        }
        break;
    default: /* MSE */
        LT_SIMD
        for (size_t i = 0; i < n; i++) {
            float e = p[i] - t[i];
            v[i] = e * e;
            d[i] = 2.0f * e;
        }
        break;
    }
}

/* Loss sum over one chunk, writing scale*gradient to g when g != NULL (g may be p). */
static double loss_run(lt_backend_loss kind, const float *p, const float *t, float *g, float scale,
                       size_t n)
{
    float v[LT_LOSS_BLOCK], d[LT_LOSS_BLOCK];
    double acc = 0.0;
    for (size_t i0 = 0; i0 < n; i0 += LT_LOSS_BLOCK) {
        size_t len = lt_cpu_min_sz(LT_LOSS_BLOCK, n - i0);
        loss_block(kind, p + i0, t + i0, v, d, len);
        acc += sum_run(v, len);
        if (g) {
            float *gi = g + i0;
            LT_SIMD
            for (size_t i = 0; i < len; i++) gi[i] = scale * d[i];
        }
    }
    return acc;
}

/* out[ooff] = sum of per-element losses (double, fixed chunks); grad = scale * d/dpred. */
static lt_status cpu_loss(lt_backend *be, lt_backend_loss kind, size_t rows, size_t cols,
                          const lt_buf *pred, size_t poff, const lt_buf *target, size_t toff,
                          lt_buf *out, size_t ooff, float grad_scale, lt_buf *grad, size_t goff)
{
    size_t n = rows * cols;
    const float *pp = n ? lt_cpu_fp(pred, poff) : NULL, *pt = n ? lt_cpu_fp(target, toff) : NULL;
    float *pg = grad && n ? lt_cpu_fp(grad, goff) : NULL;
    size_t len = chunk_len(n), chunks = (n + len - 1) / len;
    double part[LT_MAX_CHUNKS];
    int nt = lt_cpu_team(be, n * 4);
    LT_PAR_FOR(nt)
    for (size_t c = 0; c < chunks; c++) {
        size_t o = c * len;
        part[c] = loss_run(kind, pp + o, pt + o, pg ? pg + o : NULL, grad_scale, lt_cpu_min_sz(len, n - o));
    }
    *lt_cpu_fp(out, ooff) = (float)sum_parts(part, chunks);
    return LT_OK;
}

/* --------------------------------------------------------------- optimizers */

/* The optimizer loops vectorize their sqrtf only under -fno-math-errno, which
 * cpu_fallback/meson.build passes for this directory (a function attribute does not
 * reach GCC's decision). */

/* SGD on n parameters: p -= lr*g, or with momentum v = mom*v - lr*g and
 * p += nesterov ? mom*v - lr*g : v. */
LT_CLONES static void sgd_run(size_t n, float *p, const float *g, float *v,
                              const lt_backend_optim_hyper *h)
{
    const float lr = h->lr, mom = h->momentum;
    if (!v) {
        LT_SIMD
        for (size_t i = 0; i < n; i++) p[i] = p[i] - lr * g[i];
    } else if (h->nesterov) {
        LT_SIMD
        for (size_t i = 0; i < n; i++) {
            float vi = mom * v[i] - lr * g[i];
            v[i] = vi;
            p[i] = p[i] + (mom * vi - lr * g[i]);
        }
    } else {
        LT_SIMD
        for (size_t i = 0; i < n; i++) {
            float vi = mom * v[i] - lr * g[i];
            v[i] = vi;
            p[i] = p[i] + vi;
        }
    }
}

/* RMSprop on n parameters, as Keras: ms = rho*ms + (1-rho)*g^2; u = lr*g/sqrt(ms+eps);
 * with momentum (mom != NULL) mom = momentum*mom + u and p -= mom, else p -= u. */
LT_CLONES static void rmsprop_run(size_t n, float *p, const float *g, float *ms, float *mom,
                                  const lt_backend_optim_hyper *h)
{
    const float lr = h->lr, rho = h->rho, eps = h->epsilon, mu = h->momentum;
    if (mom) {
        LT_SIMD
        for (size_t i = 0; i < n; i++) {
            float m = rho * ms[i] + (1.0f - rho) * g[i] * g[i];
            ms[i] = m;
            float u = mu * mom[i] + lr * g[i] / sqrtf(m + eps);
            mom[i] = u;
            p[i] = p[i] - u;
        }
        return;
    }
    LT_SIMD
    for (size_t i = 0; i < n; i++) {
        float m = rho * ms[i] + (1.0f - rho) * g[i] * g[i];
        ms[i] = m;
        p[i] = p[i] - lr * g[i] / sqrtf(m + eps);
    }
}

/* Adam on n parameters: m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
 * p -= lr*m/(sqrt(v)+eps), lr already bias-corrected by the host. */
LT_CLONES static void adam_run(size_t n, float *p, const float *g, float *m, float *v,
                               const lt_backend_optim_hyper *h)
{
    const float lr = h->lr, b1 = h->beta1, b2 = h->beta2, eps = h->epsilon;
    LT_SIMD
    for (size_t i = 0; i < n; i++) {
        float mi = b1 * m[i] + (1.0f - b1) * g[i];
        float vi = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i] - lr * mi / (sqrtf(vi) + eps);
    }
}

/* Parameters per task of an optimizer step. */
#define LT_OPTIM_CHUNK 16384

/* One optimizer step over n parameters, exactly the formulas of backend.h, in chunks
 * spread over the threads. */
static lt_status cpu_optim_step(lt_backend *be, lt_backend_optim kind, const lt_backend_optim_hyper *h,
                                size_t n, lt_buf *params, size_t poff, const lt_buf *grads, size_t goff,
                                lt_buf *state, size_t soff)
{
    size_t moments = lt_optim_step_moments(kind, h);
    if (n == 0) return LT_OK;
    int rms_mom = kind == LT_BOPT_RMSPROP && moments == 2;
    float *p = lt_cpu_fp(params, poff);
    const float *g = lt_cpu_fp(grads, goff);
    float *s = moments ? lt_cpu_fp(state, soff) : NULL;
    size_t chunks = (n + LT_OPTIM_CHUNK - 1) / LT_OPTIM_CHUNK;
    int nt = chunks > 1 ? lt_cpu_team(be, n * 2) : 1;
    LT_PAR_FOR(nt)
    for (size_t c = 0; c < chunks; c++) {
        size_t o = c * LT_OPTIM_CHUNK, len = lt_cpu_min_sz(LT_OPTIM_CHUNK, n - o);
        if (kind == LT_BOPT_SGD) sgd_run(len, p + o, g + o, s ? s + o : NULL, h);
        else if (kind == LT_BOPT_RMSPROP) rmsprop_run(len, p + o, g + o, s + o, rms_mom ? s + n + o : NULL, h);
        else adam_run(len, p + o, g + o, s + o, s + n + o, h); /* m, then v */
    }
    return LT_OK;
}

/* ------------------------------------------------------- gradient-norm clipping */

/* Segment s of count over n elements as lib/backend/backend.h defines it: [*lo, *hi), the
 * starts clamped to n (starts NULL: the one segment [0, n)). */
static void segment_range(const uint32_t *starts, size_t count, size_t n, size_t s, size_t *lo, size_t *hi)
{
    if (!starts) { *lo = 0; *hi = n; return; }
    size_t a = lt_cpu_min_sz(starts[s], n), b = s + 1 < count ? lt_cpu_min_sz(starts[s + 1], n) : n;
    *lo = a;
    *hi = b > a ? b : a;
}

/* out[ooff+s] = sum of squares of segment s, in double over fixed chunks. */
static lt_status cpu_sum_squares(lt_backend *be, size_t n, const lt_buf *x, size_t xoff, size_t count,
                                 const lt_buf *starts, size_t stoff, lt_buf *out, size_t ooff)
{
    const float *px = n ? lt_cpu_fp(x, xoff) : NULL;
    const uint32_t *ps = starts && n ? lt_cpu_up(starts, stoff) : NULL;
    for (size_t s = 0; s < count; s++) {
        size_t lo, hi;
        segment_range(ps, count, n, s, &lo, &hi);
        *lt_cpu_fp(out, ooff + s) = (float)chunked_sum(be, hi > lo ? px + lo : NULL, hi - lo, sumsq_run);
    }
    return LT_OK;
}

/* Segment s times max_norm / sqrt(sumsq[s]) where that norm exceeds max_norm (NaN
 * for a NaN norm); other segments are not touched. */
static lt_status cpu_clip_by_norm(lt_backend *be, size_t n, lt_buf *x, size_t xoff, size_t count,
                                  const lt_buf *starts, size_t stoff, const lt_buf *sumsq, size_t soff, float max_norm)
{
    if (n == 0) return LT_OK;
    float *px = lt_cpu_fp(x, xoff);
    const uint32_t *ps = starts ? lt_cpu_up(starts, stoff) : NULL;
    for (size_t s = 0; s < count; s++) {
        float norm = sqrtf(*lt_cpu_fp(sumsq, soff + s));
        if (!(norm > max_norm) && !isnan(norm)) continue; /* within the limit: exactly as it was */
        float f = isnan(norm) ? norm : max_norm / norm;
        size_t lo, hi;
        segment_range(ps, count, n, s, &lo, &hi);
        float *seg = px + lo;
        size_t len = hi - lo;
        int nt = lt_cpu_team(be, len / 2);
        LT_PAR_FOR_SIMD(nt)
        for (size_t j = 0; j < len; j++) seg[j] *= f;
    }
    return LT_OK;
}

/* --------------------------------------------------------------- randomness */

/* The fills work a Philox block (4 elements) at a time instead of calling
 * lt_philox_uniform/lt_philox_normal per element, which would recompute each block
 * four times. The float transforms are those two functions' bodies, built from the
 * same philox.h helpers; tests/test_philox.c checks the results bit for bit. */

/* Element of the uniform stream in [lo, hi) from its 32-bit word (lt_philox_uniform). */
static inline float uniform_of_word(lt_u32 w, float lo, float hi)
{
    float u = lt_philox_bits_to_unit(w); /* (0, 1] */
    return lo + (hi - lo) * (1.0f - u);
}

/* The two standard normals of a word pair (lt_philox_normal): even index, then odd. */
static inline void normals_of_words(lt_u32 w0, lt_u32 w1, float *even, float *odd)
{
    float u1 = lt_philox_bits_to_unit(w0);
    float f = (float)(w1 >> 8) * 5.9604644775390625e-8f;
    float r = lt_philox_sqrt(-2.0f * lt_philox_log_unit(u1));
    float s, c;
    lt_philox_sincos_turn(f, &s, &c);
    *even = r * c;
    *odd = r * s;
}

/* The random fills of this file. */
typedef enum { FILL_UNIFORM, FILL_NORMAL, FILL_DROPOUT } fill_kind;

/* Parameters of one random fill. */
typedef struct fill_args {
    fill_kind kind;
    float a, b;     /* uniform: lo, hi; normal: mean, stddev; dropout: rate, scale */
    uint64_t seed, counter;
} fill_args;

/* out[i - first] for stream elements i in [first, end), all inside block j (i/4 == j). */
static void fill_block(const fill_args *fa, uint64_t j, uint64_t first, uint64_t end, float *out)
{
    lt_philox_block blk = lt_philox4x32_10(fa->seed, fa->counter + j);
    float v[4];
    switch (fa->kind) {
    case FILL_UNIFORM:
        for (int w = 0; w < 4; w++) v[w] = uniform_of_word(blk.v[w], fa->a, fa->b);
        break;
    case FILL_NORMAL:
        normals_of_words(blk.v[0], blk.v[1], &v[0], &v[1]);
        normals_of_words(blk.v[2], blk.v[3], &v[2], &v[3]);
        for (int w = 0; w < 4; w++) v[w] = fa->a + fa->b * v[w];
        break;
    default:
        for (int w = 0; w < 4; w++)
            v[w] = uniform_of_word(blk.v[w], 0.0f, 1.0f) >= fa->a ? fa->b : 0.0f;
        break;
    }
    for (uint64_t i = first; i < end; i++) out[i - first] = v[i & 3];
}

/* buf[off + i] = element first + i of the fill's stream, for i < n, blocks in parallel. */
static lt_status random_fill(lt_backend *be, lt_buf *buf, size_t off, size_t n, uint64_t first, const fill_args *fa)
{
    if (n == 0) return LT_OK;
    float *x = lt_cpu_fp(buf, off);
    uint64_t j0 = first / 4, blocks = (first + n + 3) / 4 - j0, end = first + n;
    int nt = lt_cpu_team(be, n * 16);
    LT_PAR_FOR(nt)
    for (uint64_t j = 0; j < blocks; j++) {
        uint64_t lo = 4 * (j0 + j) > first ? 4 * (j0 + j) : first, hi = 4 * (j0 + j) + 4 < end ? 4 * (j0 + j) + 4 : end;
        fill_block(fa, j0 + j, lo, hi, x + (lo - first));
    }
    return LT_OK;
}

/* buf[off+i] = lt_philox_uniform(seed, counter, first+i, lo, hi). */
static lt_status cpu_random_uniform(lt_backend *be, lt_buf *buf, size_t off, size_t n, float lo,
                                    float hi, uint64_t seed, uint64_t counter, uint64_t first)
{
    fill_args fa = {FILL_UNIFORM, lo, hi, seed, counter};
    return random_fill(be, buf, off, n, first, &fa);
}

/* buf[off+i] = mean + stddev * lt_philox_normal(seed, counter, first+i). */
static lt_status cpu_random_normal(lt_backend *be, lt_buf *buf, size_t off, size_t n, float mean,
                                   float stddev, uint64_t seed, uint64_t counter, uint64_t first)
{
    fill_args fa = {FILL_NORMAL, mean, stddev, seed, counter};
    return random_fill(be, buf, off, n, first, &fa);
}

/* mask[i] = uniform_(first+i) >= rate ? 1/(1-rate) : 0, the scale rounded once to float. */
static lt_status cpu_dropout_mask(lt_backend *be, lt_buf *mask, size_t off, size_t n, float rate,
                                  uint64_t seed, uint64_t counter, uint64_t first)
{
    fill_args fa = {FILL_DROPOUT, rate, 1.0f / (1.0f - rate), seed, counter};
    return random_fill(be, mask, off, n, first, &fa);
}

/* ------------------------------------------------------------------- checks */

/* out[ooff] = count of NaN/inf in x[xoff, xoff+n) (exponent bits all ones). */
static lt_status cpu_count_nonfinite(lt_backend *be, size_t n, const lt_buf *x, size_t xoff,
                                     lt_buf *out, size_t ooff)
{
    const uint32_t *px = n ? lt_cpu_up(x, xoff) : NULL;
    size_t count = 0;
#ifdef _OPENMP
    int nt = lt_cpu_team(be, n / 2);
#pragma omp parallel for simd num_threads(nt) if (nt > 1) schedule(static) reduction(+ : count)
#endif
    for (size_t i = 0; i < n; i++) count += (px[i] & 0x7f800000u) == 0x7f800000u;
    *lt_cpu_fp(out, ooff) = (float)count;
    return LT_OK;
}

/* ------------------------------------------------------------------- opening */

static void cpu_set_threads(lt_backend *be, int threads);

static const lt_backend_ops cpu_ops = {
    .name = "cpu",
    .destroy = cpu_destroy,
    .buf_alloc = cpu_buf_alloc,
    .buf_free = cpu_buf_free,
    .buf_elems = cpu_buf_elems,
    .upload = cpu_upload,
    .download = cpu_download,
    .copy = cpu_copy,
    .fill = cpu_fill,
    .finish = cpu_finish,
    .gemm = cpu_gemm,
    .axpby = cpu_axpby,
    .mul = cpu_mul,
    .sum = cpu_sum,
    .bias_act_forward = cpu_bias_act_forward,
    .act_backward = cpu_act_backward,
    .bias_act_backward = cpu_bias_act_backward,
    .gather_rows = cpu_gather_rows,
    .loss = cpu_loss,
    .optim_step = cpu_optim_step,
    .sum_squares = cpu_sum_squares,
    .clip_by_norm = cpu_clip_by_norm,
    .random_uniform = cpu_random_uniform,
    .random_normal = cpu_random_normal,
    .dropout_mask = cpu_dropout_mask,
    .count_nonfinite = cpu_count_nonfinite,
    .conv2d_forward = lt_cpu_conv2d_forward,
    .conv2d_backward_data = lt_cpu_conv2d_backward_data,
    .conv2d_backward_filter = lt_cpu_conv2d_backward_filter,
    .maxpool_forward = lt_cpu_maxpool_forward,
    .maxpool_backward = lt_cpu_maxpool_backward,
    .upsample_forward = lt_cpu_upsample_forward,
    .upsample_backward = lt_cpu_upsample_backward,
    .affine_resample = lt_cpu_affine_resample,
    .vae_sample_forward = lt_cpu_vae_sample_forward,
    .vae_sample_backward = lt_cpu_vae_sample_backward,
    .kl_normal = lt_cpu_kl_normal,
    .sparsity_kl = lt_cpu_sparsity_kl,
    .l1_penalty = lt_cpu_l1_penalty,
    .copy_strided = lt_cpu_copy_strided,
    .rnn_forward = lt_cpu_rnn_forward,
    .rnn_backward = lt_cpu_rnn_backward,
    .set_threads = cpu_set_threads,
};

/* Sets the team size (threads <= 0: OpenMP's default) and renames the device to match. */
static void cpu_set_threads(lt_backend *be, int threads)
{
    cpu_backend *cb = (cpu_backend *)be;
#ifdef _OPENMP
    if (threads <= 0) { /* OMP_NUM_THREADS or the affinity mask's CPUs, within a CPU quota */
        threads = omp_get_max_threads();
        int quota = lt_cpu_quota_cpus();
        if (quota > 0 && quota < threads) threads = quota;
    }
    if (threads > LT_MAX_THREADS) threads = LT_MAX_THREADS;
    const char *threading = "OpenMP";
#else
    threads = 1; /* no OpenMP in this build: everything runs on the calling thread */
    const char *threading = "no OpenMP";
#endif
    cb->threads = threads < 1 ? 1 : threads;
    lt_cpu_governor_init(&cb->gov, cb->threads);
    snprintf(cb->base.device_name, sizeof cb->base.device_name, "CPU fallback (%d thread%s, %s, %s GEMM)",
             cb->threads, cb->threads == 1 ? "" : "s", threading, lt_cpu_gemm_kernel_name(LT_GEMM_AUTO));
}

lt_status lt_cpu_backend_open(lt_backend **out, int threads, char *err, size_t errlen)
{
    char dummy[8];
    if (!err || !errlen) { err = dummy; errlen = sizeof dummy; }
    err[0] = 0;
    if (!out) {
        snprintf(err, errlen, "lt_cpu_backend_open: out is NULL");
        return LT_ERR_ARG;
    }
    *out = NULL;
    cpu_backend *cb = calloc(1, sizeof *cb);
    if (!cb) {
        snprintf(err, errlen, "out of host memory allocating the CPU backend (%zu bytes)", sizeof *cb);
        return LT_ERR_NOMEM;
    }
    cb->base.ops = &cpu_ops;
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages > 0 && page > 0 && (unsigned long)pages <= SIZE_MAX / (unsigned long)page)
        cb->ram_bytes = (size_t)pages * (size_t)page; /* unknown: 0, no account kept */
    cpu_set_threads(&cb->base, threads);
    *out = &cb->base;
    return LT_OK;
}
