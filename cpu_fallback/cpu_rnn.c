/* Recurrent cells and strided copies for the CPU fallback: the slots of lib/backend/backend.h's
 * section "data movement and recurrent cells".
 *
 * A forward step is one GEMM, h_prev R, written straight into the step's record where
 * the gates will live, then one pass per row that adds the input projection and applies
 * the gates in place. A backward step gathers the gradient reaching h into the first U
 * columns of dz (output gradient plus carry), adds dz_next R^T with one GEMM (beta 1),
 * then turns it into the gates' gradients in place: unit u reads column u before it
 * writes it, and writes only its own columns, so no scratch is needed. */
#include <stdint.h>
#include <string.h>
#include "cpu_internal.h"
#include "cpu_math.h"

/* ---------------------------------------------------------------- validation */

/* ------------------------------------------------------------- strided copy */

lt_status lt_cpu_copy_strided(lt_backend *be, size_t n0, size_t n1, size_t cols, const lt_buf *x, size_t xoff,
                              ptrdiff_t xs0, ptrdiff_t xs1, float beta, lt_buf *y, size_t yoff, ptrdiff_t ys0,
                              ptrdiff_t ys1)
{
    size_t rows = cols ? n0 * n1 : 0;
    if (rows == 0) return LT_OK;
    const float *px = lt_cpu_fp(x, xoff);
    float *py = lt_cpu_fp(y, yoff);
    int nt = lt_cpu_team(be, n0 * n1 * cols);
    LT_PAR_FOR(nt)
    for (size_t i = 0; i < n0; i++)
        for (size_t j = 0; j < n1; j++) {
            const float *src = px + (ptrdiff_t)i * xs0 + (ptrdiff_t)j * xs1;
            float *dst = py + (ptrdiff_t)i * ys0 + (ptrdiff_t)j * ys1;
            if (beta == 0.0f) {
                memcpy(dst, src, cols * sizeof *dst);
            } else {
                LT_SIMD
                for (size_t c = 0; c < cols; c++) dst[c] += src[c];
            }
        }
    return LT_OK;
}

/* ------------------------------------------------------------ activations */

/* The candidate activation of one value. */
static inline float act1(lt_backend_act act, float alpha, float x)
{
    switch (act) {
    case LT_BACT_RELU: return x < 0.0f ? 0.0f : x;
    case LT_BACT_LEAKY_RELU: return x < 0.0f ? alpha * x : x;
    case LT_BACT_ELU: return x < 0.0f ? alpha * v_expm1(x) : x;
    case LT_BACT_SIGMOID: return v_sigmoid(x);
    case LT_BACT_TANH: return v_tanh(x);
    default: return x;
    }
}

/* Its derivative, from the output y (as act_backward computes it). */
static inline float act1_grad(lt_backend_act act, float alpha, float y)
{
    switch (act) {
    case LT_BACT_RELU: return y > 0.0f ? 1.0f : 0.0f;
    case LT_BACT_LEAKY_RELU: return y > 0.0f ? 1.0f : alpha;
    case LT_BACT_ELU: return y > 0.0f ? 1.0f : y + alpha;
    case LT_BACT_SIGMOID: return y * (1.0f - y);
    case LT_BACT_TANH: return 1.0f - y * y;
    default: return 1.0f;
    }
}

/* ------------------------------------------------------------ forward step */

/* v = act(v) over n values, the switch outside the loops so that they vectorize. */
LT_CLONES static void act_inplace(lt_backend_act act, float alpha, float *v, size_t n)
{
    switch (act) {
    case LT_BACT_RELU:
        LT_SIMD
        for (size_t i = 0; i < n; i++) v[i] = sel(v[i] < 0.0f, 0.0f, v[i]);
        break;
    case LT_BACT_LEAKY_RELU:
        LT_SIMD
        for (size_t i = 0; i < n; i++) v[i] = sel(v[i] < 0.0f, alpha * v[i], v[i]);
        break;
    case LT_BACT_ELU:
        LT_SIMD
        for (size_t i = 0; i < n; i++) v[i] = sel(v[i] < 0.0f, alpha * v_expm1(v[i]), v[i]);
        break;
    case LT_BACT_SIGMOID:
        LT_SIMD
        for (size_t i = 0; i < n; i++) v[i] = v_sigmoid(v[i]);
        break;
    case LT_BACT_TANH:
        LT_SIMD
        for (size_t i = 0; i < n; i++) v[i] = v_tanh(v[i]);
        break;
    default:
        break;
    }
}

/* v += w over n values. */
static inline void add_to(float *v, const float *w, size_t n)
{
    LT_SIMD
    for (size_t i = 0; i < n; i++) v[i] += w[i];
}

/* Gates of one row from the recurrent product already in its record (see the file
 * comment); hp is the previous record's row. Each stage is a loop over contiguous
 * units, so every one of them vectorizes. */
static void step_forward_row(const lt_rnn_geom *g, const float *xw, const float *bias, const float *rbias,
                             const float *hp, float *rec)
{
    size_t U = g->units;
    switch (g->cell) {
    case LT_CELL_SIMPLE:
        add_to(rec, xw, U);
        if (bias) add_to(rec, bias, U);
        act_inplace(g->act, g->alpha, rec, U);
        break;
    case LT_CELL_LSTM: { /* rec = [h | c | i | f | g | o], the product in [2U, 6U) */
        const float *cp = hp + U;
        float *c = rec + U, *i = rec + 2 * U, *f = rec + 3 * U, *c_hat = rec + 4 * U, *o = rec + 5 * U;
        add_to(i, xw, 4 * U);
        if (bias) add_to(i, bias, 4 * U);
        act_inplace(LT_BACT_SIGMOID, 0.0f, i, 2 * U); /* i and f */
        act_inplace(g->act, g->alpha, c_hat, U);
        act_inplace(LT_BACT_SIGMOID, 0.0f, o, U);
        LT_SIMD
        for (size_t u = 0; u < U; u++) c[u] = f[u] * cp[u] + i[u] * c_hat[u];
        memcpy(rec, c, U * sizeof *rec);
        act_inplace(g->act, g->alpha, rec, U);
        LT_SIMD
        for (size_t u = 0; u < U; u++) rec[u] *= o[u];
        break;
    }
    case LT_CELL_GRU: { /* rec = [h | z | r | n | rec_n], the product in [U, 4U) */
        float *z = rec + U, *r = rec + 2 * U, *n = rec + 3 * U, *rn = rec + 4 * U;
        add_to(z, rbias, 3 * U);
        memcpy(rn, n, U * sizeof *rn);
        add_to(z, xw, 2 * U);
        if (bias) add_to(z, bias, 2 * U);
        act_inplace(LT_BACT_SIGMOID, 0.0f, z, 2 * U); /* z and r */
        const float *xn = xw + 2 * U, *bn = bias ? bias + 2 * U : NULL;
        LT_SIMD
        for (size_t u = 0; u < U; u++) n[u] = (bn ? xn[u] + bn[u] : xn[u]) + r[u] * rn[u];
        act_inplace(g->act, g->alpha, n, U);
        LT_SIMD
        for (size_t u = 0; u < U; u++) rec[u] = z[u] * hp[u] + (1.0f - z[u]) * n[u];
        break;
    }
    }
}

/* One forward step over B rows (see the file comment): hp the previous records. */
static lt_status step_forward(lt_backend *be, const lt_rnn_geom *g, const lt_rnn_widths *w, const float *xw,
                              const float *bias, const float *r, const float *rbias, const float *hp, float *rec)
{
    size_t B = g->batch, U = w->u, G = w->g, S = w->s;
    cpu_backend *cb = (cpu_backend *)be;
    size_t gate0 = g->cell == LT_CELL_LSTM ? 2 * U : g->cell == LT_CELL_GRU ? U : 0;
    size_t failed = lt_cpu_gemm(&cb->gemm_ws, lt_cpu_governor_team(&cb->gov), 0, 0, B, G, U, 1.0f, hp, S, r, G, 0.0f, rec + gate0, S);
    if (failed) return lt_backend_set_error(be, LT_ERR_NOMEM, "rnn_forward: out of host memory (%zu bytes)", failed);
    int nt = lt_cpu_team(be, B * G * 8);
    LT_PAR_FOR(nt)
    for (size_t b = 0; b < B; b++) step_forward_row(g, xw + b * G, bias, rbias, hp + b * S, rec + b * S);
    return LT_OK;
}

/* Row b of step k's block in a sequence operand (k is ignored when it holds the last
 * step only). */
static float *seq_row(const lt_rnn_seq *seq, size_t b, size_t k)
{
    ptrdiff_t at = (ptrdiff_t)seq->off + (ptrdiff_t)b * seq->s_row + (seq->steps > 1 ? (ptrdiff_t)k * seq->s_step : 0);
    return (float *)seq->buf->mem + at;
}

lt_status lt_cpu_rnn_forward(lt_backend *be, const lt_rnn_geom *g, const lt_buf *xw, size_t xwoff, const lt_buf *bias,
                             size_t boff, const lt_buf *r, size_t roff, const lt_buf *rbias, size_t rboff, lt_buf *rec,
                             size_t recoff, const lt_rnn_seq *out)
{
    lt_rnn_widths w = lt_rnn_widths_of(g);
    if (g->batch == 0) return LT_OK;
    size_t T = g->steps, B = g->batch, slot = B * w.s, xblock = B * w.g;
    const float *px = lt_cpu_fp(xw, xwoff), *pr = lt_cpu_fp(r, roff), *prb = rbias ? lt_cpu_fp(rbias, rboff) : NULL;
    const float *pb = bias ? lt_cpu_fp(bias, boff) : NULL;
    float *prec = lt_cpu_fp(rec, recoff);
    if (g->zero_state) memset(prec, 0, slot * sizeof *prec);
    lt_status st = LT_OK;
    for (size_t k = 0; k < T && st == LT_OK; k++) {
        float *step = prec + (k + 1) * slot;
        st = step_forward(be, g, &w, px + k * xblock, pb, pr, prb, prec + k * slot, step);
        if (out && (out->steps > 1 || k == T - 1)) /* h (or [h | c]) is the record's prefix */
            for (size_t b = 0; b < B; b++) memcpy(seq_row(out, b, k), step + b * w.s, out->width * sizeof *step);
    }
    return st;
}

/* ----------------------------------------------------------- backward step */

/* Gate gradients of one row: dz[0, U) holds the gradient reaching h on entry. */
static void step_backward_row(const lt_rnn_geom *g, const float *hp, const float *rec, float *carry, float *dz)
{
    size_t U = g->units;
    switch (g->cell) {
    case LT_CELL_SIMPLE:
        for (size_t u = 0; u < U; u++) dz[u] *= act1_grad(g->act, g->alpha, rec[u]);
        break;
    case LT_CELL_LSTM: {
        const float *cp = hp + U;
        float *dcarry = carry + U;
        for (size_t u = 0; u < U; u++) {
            float dh = dz[u], c = rec[U + u], i = rec[2 * U + u], f = rec[3 * U + u];
            float c_hat = rec[4 * U + u], o = rec[5 * U + u];
            float tc = act1(g->act, g->alpha, c);
            float dc = dcarry[u] + dh * o * act1_grad(g->act, g->alpha, tc);
            dz[u] = dc * c_hat * i * (1.0f - i);
            dz[U + u] = dc * cp[u] * f * (1.0f - f);
            dz[2 * U + u] = dc * i * act1_grad(g->act, g->alpha, c_hat);
            dz[3 * U + u] = dh * tc * o * (1.0f - o);
            dcarry[u] = dc * f;
        }
        break;
    }
    case LT_CELL_GRU:
        for (size_t u = 0; u < U; u++) {
            float dh = dz[u], z = rec[U + u], r = rec[2 * U + u], n = rec[3 * U + u], rn = rec[4 * U + u];
            float dn = dh * (1.0f - z) * act1_grad(g->act, g->alpha, n);
            dz[u] = dh * (hp[u] - n) * z * (1.0f - z);
            dz[U + u] = dn * rn * r * (1.0f - r);
            dz[2 * U + u] = dn * r;
            dz[3 * U + u] = dn;
            carry[u] = dh * z;
        }
        break;
    }
}

/* One backward step k over B rows (see the file comment): dh the output's gradients
 * (NULL: none at this step), dzn the next step's dz (NULL at the last step). */
static lt_status step_backward(lt_backend *be, const lt_rnn_geom *g, const lt_rnn_widths *w, const lt_rnn_seq *dh,
                               size_t k, const float *dzn, const float *r, const float *hp, const float *rec,
                               float *carry, float *dz)
{
    size_t B = g->batch, U = w->u, G = w->g, S = w->s, D = w->d;
    const float *carried = g->cell == LT_CELL_GRU ? carry : NULL; /* the GRU's z dh from the next step */
    int nt = lt_cpu_team(be, B * U);
    LT_PAR_FOR(nt)
    for (size_t b = 0; b < B; b++) { /* dz[:, 0:U) = dh + carried */
        float *row = dz + b * D;
        if (dh) memcpy(row, seq_row(dh, b, k), U * sizeof *row);
        else memset(row, 0, U * sizeof *row);
        if (carried) add_to(row, carried + b * 2 * U, U);
    }
    if (dzn) {
        cpu_backend *cb = (cpu_backend *)be;
        size_t failed = lt_cpu_gemm(&cb->gemm_ws, lt_cpu_governor_team(&cb->gov), 0, 1, B, U, G, 1.0f, dzn, D, r, G, 1.0f, dz, D);
        if (failed) return lt_backend_set_error(be, LT_ERR_NOMEM, "rnn_backward: out of host memory (%zu bytes)", failed);
    }
    nt = lt_cpu_team(be, B * G * 8);
    LT_PAR_FOR(nt)
    for (size_t b = 0; b < B; b++) step_backward_row(g, hp + b * S, rec + b * S, carry + b * 2 * U, dz + b * D);
    return LT_OK;
}

lt_status lt_cpu_rnn_backward(lt_backend *be, const lt_rnn_geom *g, const lt_rnn_seq *dh, const lt_buf *r, size_t roff,
                              const lt_buf *rec, size_t recoff, lt_buf *carry, size_t coff, lt_buf *dz, size_t dzoff)
{
    lt_rnn_widths w = lt_rnn_widths_of(g);
    if (g->batch == 0) return LT_OK;
    size_t T = g->steps, B = g->batch, slot = B * w.s, dzblock = B * w.d;
    const float *pr = lt_cpu_fp(r, roff), *prec = lt_cpu_fp(rec, recoff);
    float *pc = lt_cpu_fp(carry, coff), *pdz = lt_cpu_fp(dz, dzoff);
    if (g->zero_carry) memset(pc, 0, B * 2 * w.u * sizeof *pc);
    lt_status st = LT_OK;
    for (size_t k = T; k-- > 0 && st == LT_OK;) {
        const lt_rnn_seq *dhk = dh && (dh->steps > 1 || k == T - 1) ? dh : NULL;
        st = step_backward(be, g, &w, dhk, k, k + 1 < T ? pdz + (k + 1) * dzblock : NULL, pr, prec + k * slot,
                           prec + (k + 1) * slot, pc, pdz + k * dzblock);
    }
    return st;
}
