/* One direction of a recurrent layer over a whole sequence (see rnn_core.h).
 *
 * Workspace, for a batch of B, in this order (time-major: step k's B rows together):
 *   xs     T*B*F  the input in processing order (later reused for its gradient);
 *                 empty for a state-input direction (F = 0)
 *   xw     T*B*G  x W for every step: one GEMM (the cell adds b)
 *   rec    (T+1)*B*S  the records (lib/backend/backend.h); slot 0 is the initial state (zero,
 *                 or a state-input direction's input in its [h | c] prefix),
 *                 step k writes slot k+1, so slots 0..T-1 are every step's h_prev
 *   dz     T*B*D  the gates' gradients, step k's at block k
 *   carry  B*2U   what flows back outside R (lib/backend/backend.h)
 *   gsum   B*4U   the GRU's column sums of dz (bias gradients); B*4U only for the layout's
 *                 simplicity, 4U are used
 * Processing step k reads input time step k, or T-1-k with go_backwards. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "backend/philox.h"
#include "rnn_core.h"

/* Gate, record and dz widths of a direction. */
static size_t gates(const lt_rnn_core *c) { return lt_cell_gates(c->cell) * (size_t)c->units; }
static size_t record(const lt_rnn_core *c) { return lt_cell_record(c->cell) * (size_t)c->units; }
static size_t dzw(const lt_rnn_core *c) { return lt_cell_dz(c->cell) * (size_t)c->units; }

/* Offsets of the workspace regions for batch B. */
typedef struct core_ws {
    size_t xs, xw, rec, dz, carry, gsum;
} core_ws;

static core_ws layout(const lt_rnn_core *c, size_t B, size_t base)
{
    size_t T = (size_t)c->steps, F = (size_t)c->features, U = (size_t)c->units;
    core_ws w;
    w.xs = base;
    w.xw = w.xs + T * B * F;
    w.rec = w.xw + T * B * gates(c);
    w.dz = w.rec + (T + 1) * B * record(c);
    w.carry = w.dz + T * B * dzw(c);
    w.gsum = w.carry + B * 2 * U;
    return w;
}

static const char *const cell_names[] = {"simple_rnn", "lstm", "gru"};
static const char *const merge_names[] = {"concat", "sum", "ave", "mul"};

const char *lt_rnn_cell_name(lt_rnn_cell cell) { return (unsigned)cell <= LT_GRU ? cell_names[cell] : "unknown"; }

int lt_rnn_cell_parse(const char *s, lt_rnn_cell *cell)
{
    for (int i = 0; i < 3; i++)
        if (s && strcmp(s, cell_names[i]) == 0) { *cell = (lt_rnn_cell)i; return 0; }
    return -1;
}

const char *lt_merge_name(lt_merge m) { return (unsigned)m <= LT_MERGE_MUL ? merge_names[m] : "unknown"; }

int lt_merge_parse(const char *s, lt_merge *m)
{
    for (int i = 0; i < 4; i++)
        if (s && strcmp(s, merge_names[i]) == 0) { *m = (lt_merge)i; return 0; }
    return -1;
}

int lt_rnn_core_setup(lt_rnn_core *c, lt_rnn_cell cell, int units, lt_act act, unsigned flags, int state_steps)
{
    if ((unsigned)cell > LT_GRU || units <= 0 || units > (1 << 16) || act == LT_SOFTMAX ||
        !lt_act_valid(act) || state_steps < 0 || state_steps > (1 << 20) ||
        (flags & ~(unsigned)(LT_RETURN_SEQUENCES | LT_GO_BACKWARDS | LT_RETURN_STATE)) ||
        ((flags & LT_RETURN_STATE) && (flags & LT_RETURN_SEQUENCES)) ||
        (state_steps > 0 && (flags & LT_GO_BACKWARDS))) /* no input steps to reverse */
        return -1;
    memset(c, 0, sizeof *c);
    c->cell = cell == LT_LSTM ? LT_CELL_LSTM : cell == LT_GRU ? LT_CELL_GRU : LT_CELL_SIMPLE;
    c->act = act;
    c->alpha = lt_act_default_alpha(act);
    c->units = units;
    c->go_backwards = (flags & LT_GO_BACKWARDS) != 0;
    c->return_state = (flags & LT_RETURN_STATE) != 0;
    c->state_input = state_steps > 0;
    c->steps = state_steps;
    return 0;
}

size_t lt_rnn_core_state_width(const lt_rnn_core *c) { return (c->cell == LT_CELL_LSTM ? 2 : 1) * (size_t)c->units; }

int lt_rnn_read_config(const lt_kv *kv, const char *what, int *units, lt_act *act, float *alpha, unsigned *flags,
                       int *state_steps, char *err, size_t errlen)
{
    const char *u = lt_kv_get(kv, "units"), *a = lt_kv_get(kv, "activation"), *al = lt_kv_get(kv, "alpha");
    const char *rs = lt_kv_get(kv, "return_sequences"), *gb = lt_kv_get(kv, "go_backwards");
    const char *rst = lt_kv_get(kv, "return_state"), *ss = lt_kv_get(kv, "state_steps");
    int r = 0, g = 0, s = 0;
    *state_steps = 0; /* both keys are absent from files written before they existed */
    if ((rst && lt_parse_int(rst, 0, 1, &s) != 0) || (ss && lt_parse_int(ss, 0, 1 << 20, state_steps) != 0)) {
        snprintf(err, errlen, "%s: return_state is 0 or 1, state_steps 0 to 2^20", what);
        return -1;
    }
    if (!u || lt_parse_int(u, 1, 1 << 16, units) != 0) { snprintf(err, errlen, "%s: bad or missing units", what); return -1; }
    if (!a || lt_act_parse(a, act) != 0 || *act == LT_SOFTMAX) { snprintf(err, errlen, "%s: bad or missing activation", what); return -1; }
    *alpha = lt_act_default_alpha(*act);
    if (al && lt_parse_float(al, alpha) != 0) { snprintf(err, errlen, "%s: bad alpha '%s'", what, al); return -1; }
    if ((rs && lt_parse_int(rs, 0, 1, &r) != 0) || (gb && lt_parse_int(gb, 0, 1, &g) != 0)) {
        snprintf(err, errlen, "%s: return_sequences and go_backwards are 0 or 1", what);
        return -1;
    }
    *flags = (r ? LT_RETURN_SEQUENCES : 0u) | (g ? LT_GO_BACKWARDS : 0u) | (s ? LT_RETURN_STATE : 0u);
    if (s && r) {
        snprintf(err, errlen, "%s: return_state does not go with return_sequences", what);
        return -1;
    }
    if (g && *state_steps) {
        snprintf(err, errlen, "%s: go_backwards does not go with state_steps (no input steps to reverse)", what);
        return -1;
    }
    return 0;
}

lt_status lt_rnn_core_build(lt_rnn_core *c, lt_ctx *ctx, const lt_layer *l, const lt_shape *in)
{
    char buf[64];
    lt_shape_format(in, buf, sizeof buf);
    if (c->state_input) { /* steps fixed at setup; no input features */
        size_t S = lt_rnn_core_state_width(c);
        if (in->rank != 1 || (size_t)in->d[0] != S)
            return lt_set_error(ctx, LT_ERR_SHAPE,
                                "%s (%s) takes its initial state as input, (None, %zu)%s, got %s", l->name,
                                l->ops->type, S, c->cell == LT_CELL_LSTM ? " as [h | c]" : "", buf);
        c->features = 0;
        return LT_OK;
    }
    if (in->rank != 2) {
        return lt_set_error(ctx, LT_ERR_SHAPE,
                            "%s (%s) needs sequences (None, steps, features), got %s; a reshape layer turns images "
                            "into rows (reshape:28x28)",
                            l->name, l->ops->type, buf);
    }
    c->steps = in->d[0];
    c->features = in->d[1];
    return LT_OK;
}

int lt_rnn_core_tensors(const lt_rnn_core *c, size_t sizes[3])
{
    size_t G = gates(c), U = (size_t)c->units;
    int n = 0;
    if (c->features > 0) sizes[n++] = (size_t)c->features * G; /* a state-input direction has no input kernel */
    sizes[n++] = U * G;
    sizes[n++] = (c->cell == LT_CELL_GRU ? 2 : 1) * G; /* GRU: Keras's one (2, 3U) bias */
    return n;
}

size_t lt_rnn_core_params(const lt_rnn_core *c)
{
    size_t t[3], sum = 0;
    for (int i = lt_rnn_core_tensors(c, t); i-- > 0;) sum += t[i];
    return sum;
}

size_t lt_rnn_core_ws(const lt_rnn_core *c)
{
    core_ws w = layout(c, 1, 0);
    return w.gsum + 4 * (size_t)c->units;
}

/* An orthogonal U x G matrix (rows orthonormal when U <= G, columns when U > G), as
 * Keras's Orthogonal initializer makes it: the Q of a QR factorisation of a standard
 * normal matrix, signs fixed so that R has a positive diagonal (which modified
 * Gram-Schmidt gives directly). In double, on the host; the normals come from Philox. */
static int orthogonal(size_t U, size_t G, uint64_t key, float *out)
{
    size_t rows = U > G ? U : G, cols = U > G ? G : U; /* tall: orthonormal columns */
    double *a = malloc(rows * cols * sizeof *a);
    if (!a) return -1;
    for (size_t i = 0; i < rows * cols; i++) a[i] = lt_philox_normal(key, 0, i);
    for (size_t j = 0; j < cols; j++) {
        for (int pass = 0; pass < 2; pass++) /* re-orthogonalised once: MGS twice is stable */
            for (size_t k = 0; k < j; k++) {
                double dot = 0;
                for (size_t i = 0; i < rows; i++) dot += a[i * cols + k] * a[i * cols + j];
                for (size_t i = 0; i < rows; i++) a[i * cols + j] -= dot * a[i * cols + k];
            }
        double nrm = 0;
        for (size_t i = 0; i < rows; i++) nrm += a[i * cols + j] * a[i * cols + j];
        nrm = sqrt(nrm);
        for (size_t i = 0; i < rows; i++) a[i * cols + j] = nrm > 0 ? a[i * cols + j] / nrm : 0;
    }
    /* U <= G: the tall matrix is G x U, R is its transpose; else it is R itself */
    for (size_t u = 0; u < U; u++)
        for (size_t g = 0; g < G; g++) out[u * G + g] = (float)(U <= G ? a[g * cols + u] : a[u * cols + g]);
    free(a);
    return 0;
}

lt_status lt_rnn_core_init(const lt_rnn_core *c, lt_backend *be, lt_buf *params, size_t poff, uint64_t seed,
                           uint64_t layer, int tensor)
{
    size_t F = (size_t)c->features, U = (size_t)c->units, G = gates(c), nw = F * G;
    float limit = sqrtf(6.0f / (float)(F + G));
    lt_status st = nw ? lt_be_random_uniform(be, params, poff, nw, -limit, limit, lt_init_key(seed, layer, tensor), 0, 0)
                        : LT_OK;
    if (st != LT_OK) return st;
    float *r = malloc(U * G * sizeof *r);
    if (!r || orthogonal(U, G, lt_init_key(seed, layer, tensor + 1), r) != 0) {
        free(r);
        return lt_backend_set_error(be, LT_ERR_NOMEM, "out of host memory for the recurrent kernel's initialisation");
    }
    st = lt_be_upload(be, params, poff + nw, r, U * G);
    free(r);
    size_t nb = (c->cell == LT_CELL_GRU ? 2 : 1) * G, boff = poff + nw + U * G;
    if (st == LT_OK) st = lt_be_fill(be, params, boff, nb, 0.0f);
    if (st == LT_OK && c->cell == LT_CELL_LSTM) st = lt_be_fill(be, params, boff + U, U, 1.0f); /* unit_forget_bias */
    return st;
}

/* The backend's view of a direction's output (or its gradient) as out describes it:
 * every step in processing order (reversed in time when out realigns it), or the last. */
static lt_rnn_seq seq_of(const lt_rnn_core *c, const lt_rnn_io *io, size_t width)
{
    size_t T = (size_t)c->steps;
    lt_rnn_seq s = {io->buf, io->off, io->s_sample, io->s_step, io->all_steps ? T : 1, width};
    if (io->all_steps && io->reverse_time) {
        s.off = io->off + (T - 1) * (size_t)io->s_step;
        s.s_step = -io->s_step;
    }
    return s;
}

lt_status lt_rnn_core_forward(const lt_rnn_core *c, lt_backend *be, size_t B, const lt_buf *x, size_t xoff,
                              const lt_buf *params, size_t poff, lt_buf *ws, size_t wsoff, const lt_rnn_io *out)
{
    const lt_backend_ops *o = be->ops;
    size_t T = (size_t)c->steps, F = (size_t)c->features, U = (size_t)c->units, G = gates(c), S = record(c);
    size_t SW = lt_rnn_core_state_width(c), woff = poff, roff = poff + F * G, boff = roff + U * G;
    core_ws w = layout(c, B, wsoff);
    lt_rnn_geom g = {c->cell, lt_act_to_backend(c->act), c->alpha, B, U, T, 0, 0};
    lt_status st;
    if (F > 0) {
        /* xs[k][b] = x[b][k] (or x[b][T-1-k]) */
        ptrdiff_t fs = (ptrdiff_t)F;
        st = o->copy_strided(be, B, T, F, x, xoff + (c->go_backwards ? (T - 1) * F : 0), (ptrdiff_t)(T * F),
                             c->go_backwards ? -fs : fs, 0.0f, ws, w.xs, fs, (ptrdiff_t)(B * F));
        if (st == LT_OK) st = o->gemm(be, 0, 0, T * B, G, F, 1.0f, ws, w.xs, F, params, woff, G, 0.0f, ws, w.xw, G);
    } else { /* a state-input direction has no input features: x W is empty */
        st = o->fill(be, ws, w.xw, T * B * G, 0.0f);
    }
    /* the state [h | c] is a prefix of the record, so the input state is slot 0's */
    if (st == LT_OK && c->state_input) st = o->fill(be, ws, w.rec, B * S, 0.0f);
    if (st == LT_OK && c->state_input)
        st = o->copy_strided(be, B, 1, SW, x, xoff, (ptrdiff_t)SW, 0, 0.0f, ws, w.rec, (ptrdiff_t)S, 0);
    g.zero_state = !c->state_input; /* the cell adds the input bias b, and writes the zero state */
    lt_rnn_seq y = seq_of(c, out, out->all_steps ? U : c->return_state ? SW : U);
    if (st == LT_OK)
        st = o->rnn_forward(be, &g, ws, w.xw, params, boff, params, roff, c->cell == LT_CELL_GRU ? params : NULL,
                            boff + G, ws, w.rec, &y);
    return st;
}

lt_status lt_rnn_core_backward(const lt_rnn_core *c, lt_backend *be, size_t B, const lt_buf *params, size_t poff,
                               lt_buf *grads, lt_buf *ws, size_t wsoff, const lt_rnn_io *dy, lt_buf *dx, size_t dxoff,
                               int dx_add)
{
    const lt_backend_ops *o = be->ops;
    size_t T = (size_t)c->steps, F = (size_t)c->features, U = (size_t)c->units, G = gates(c), S = record(c);
    size_t D = dzw(c), TB = T * B;
    size_t woff = poff, roff = poff + F * G, boff = roff + U * G;
    core_ws w = layout(c, B, wsoff);
    lt_rnn_geom g = {c->cell, lt_act_to_backend(c->act), c->alpha, B, U, T, 0, 0};
    lt_status st = LT_OK;
    /* a returned LSTM state's c gradient enters where f dc of a later step would; else
     * nothing comes from beyond the last step */
    g.zero_carry = !(c->return_state && c->cell == LT_CELL_LSTM);
    if (st == LT_OK && !g.zero_carry) st = o->fill(be, ws, w.carry, B * 2 * U, 0.0f);
    if (st == LT_OK && !g.zero_carry)
        st = o->copy_strided(be, B, 1, U, dy->buf, dy->off + U, dy->s_sample, 0, 0.0f, ws, w.carry + U,
                             (ptrdiff_t)(2 * U), 0);
    lt_rnn_seq dh = seq_of(c, dy, U); /* the h part: a returned state's c gradient went to the carry */
    if (st == LT_OK) st = o->rnn_backward(be, &g, &dh, params, roff, ws, w.rec, ws, w.carry, ws, w.dz);
    if (st != LT_OK) return st;
    /* dR = h_prev^T dz over every step: the records of slots 0..T-1 hold each h_prev */
    st = o->gemm(be, 1, 0, U, G, TB, 1.0f, ws, w.rec, S, ws, w.dz, D, 0.0f, grads, roff, G);
    int has_x = F > 0, dxs = dx && has_x; /* a state-input direction has neither W nor x */
    if (c->cell != LT_CELL_GRU) {
        if (st == LT_OK && has_x)
            st = o->gemm(be, 1, 0, F, G, TB, 1.0f, ws, w.xs, F, ws, w.dz, D, 0.0f, grads, woff, G);
        if (st == LT_OK) st = o->bias_act_backward(be, TB, G, LT_BACT_LINEAR, 0.0f, NULL, 0, ws, w.dz, NULL, 0, 0.0f, grads, boff);
        if (st == LT_OK && dxs) st = o->gemm(be, 0, 1, TB, F, G, 1.0f, ws, w.dz, D, params, woff, G, 0.0f, ws, w.xs, F);
    } else { /* dz = [z | r | rec_n | xw_n]: W's gradient skips rec_n */
        size_t U2 = 2 * U;
        if (st == LT_OK && has_x)
            st = o->gemm(be, 1, 0, F, U2, TB, 1.0f, ws, w.xs, F, ws, w.dz, D, 0.0f, grads, woff, G);
        if (st == LT_OK && has_x)
            st = o->gemm(be, 1, 0, F, U, TB, 1.0f, ws, w.xs, F, ws, w.dz + 3 * U, D, 0.0f, grads, woff + U2, G);
        if (st == LT_OK) st = o->bias_act_backward(be, TB, D, LT_BACT_LINEAR, 0.0f, NULL, 0, ws, w.dz, NULL, 0, 0.0f, ws, w.gsum);
        if (st == LT_OK) st = o->copy(be, ws, w.gsum, grads, boff, U2);            /* input bias z, r  */
        if (st == LT_OK) st = o->copy(be, ws, w.gsum + 3 * U, grads, boff + U2, U); /* input bias n     */
        if (st == LT_OK) st = o->copy(be, ws, w.gsum, grads, boff + G, G);          /* recurrent bias   */
        if (st == LT_OK && dxs) {
            st = o->gemm(be, 0, 1, TB, F, U2, 1.0f, ws, w.dz, D, params, woff, G, 0.0f, ws, w.xs, F);
            if (st == LT_OK)
                st = o->gemm(be, 0, 1, TB, F, U, 1.0f, ws, w.dz + 3 * U, D, params, woff + U2, G, 1.0f, ws, w.xs, F);
        }
    }
    if (st != LT_OK || !dx) return st;
    if (c->state_input) { /* the initial state's: the carry ([h | c]), plus dz_0 R^T for h */
        size_t SW = lt_rnn_core_state_width(c);
        st = o->copy_strided(be, B, 1, SW, ws, w.carry, (ptrdiff_t)(2 * U), 0, dx_add ? 1.0f : 0.0f, dx, dxoff,
                             (ptrdiff_t)SW, 0);
        if (st == LT_OK) st = o->gemm(be, 0, 1, B, U, G, 1.0f, ws, w.dz, D, params, roff, G, 1.0f, dx, dxoff, SW);
        return st;
    }
    /* dx[b][k] (or [T-1-k]) = dxs[k][b] */
    ptrdiff_t fs = (ptrdiff_t)F;
    return o->copy_strided(be, T, B, F, ws, w.xs, (ptrdiff_t)(B * F), fs, dx_add ? 1.0f : 0.0f, dx,
                           dxoff + (c->go_backwards ? (T - 1) * F : 0), c->go_backwards ? -fs : fs, (ptrdiff_t)(T * F));
}
