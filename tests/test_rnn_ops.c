/* The data-movement and recurrent-cell ops of lib/backend/backend.h (copy_strided,
 * rnn_forward, rnn_backward) on the CPU fallback and on each OpenCL device.
 *
 * A double-precision reference of a sequence, forward and backward, is written here
 * from backend.h's formulas; its backward is first checked against central finite
 * differences of its own forward (L = sum over the steps with an output gradient of
 * dh*h, plus the incoming carry times the last h (GRU) or c (LSTM)), which pins the gate
 * orders, the record and dz layouts and the flow between steps independently of any
 * backend. Each backend is then checked against the reference for the three cells and
 * several activations, over one step and several, with output gradients at every step,
 * at the last only, or none, at nonzero offsets with guard cells around every output;
 * copy_strided against a loop (transposes, a reversed stride, a zero stride,
 * accumulation); OpenCL against the CPU on a larger sequence; bad arguments refused with
 * LT_ERR_ARG and a message.
 *
 * Prints one line per failure and a final tally; exits 0 only when everything passed. */
#include "harness.h"

/* ---------------------------------------------------------------- reference */

/* A sequence's operands, host side. */
typedef struct step_case {
    lt_backend_cell cell;
    lt_backend_act act;
    float alpha;
    size_t T, B, U, G, S, D;
    size_t dh_steps;              /* output gradients for the last dh_steps steps         */
    float *xw, *r, *rbias, *prev; /* inputs (T x B x G, U x G, G, B x S: the initial record) */
    float *bias;                  /* the input bias (G), or NULL                          */
    float *dh, *carry;            /* backward inputs (dh_steps x B x U, B x 2U)           */
} step_case;

/* Derivative of act at pre-activation x (computed from x, not the output). */
static double act_dx(lt_backend_act a, float alpha, double x)
{
    switch (a) {
    case LT_BACT_RELU: return x > 0 ? 1 : 0;
    case LT_BACT_LEAKY_RELU: return x > 0 ? 1 : alpha;
    case LT_BACT_ELU: return x > 0 ? 1 : alpha * exp(x);
    case LT_BACT_SIGMOID: { double s = 1.0 / (1.0 + exp(-x)); return s * (1 - s); }
    case LT_BACT_TANH: { double h = tanh(x); return 1 - h * h; }
    default: return 1;
    }
}

/* The logistic sigmoid. */
static double sig(double x) { return 1.0 / (1.0 + exp(-x)); }

/* Reference forward of one row: xw (G), hp/cp (U each), writes the record (S) and the
 * pre-activations pre (G: a per gate; GRU: xw_n + r rec_n for n) for the backward. */
static void ref_forward_row(const step_case *c, const double *xw, const double *hp, const double *cp,
                            double *rec, double *pre, double *recn)
{
    size_t U = c->U, G = c->G;
    double a[4 * 320]; /* G <= 4U, U <= 320 in every case here */
    for (size_t g = 0; g < G; g++) {
        double s = 0;
        for (size_t k = 0; k < U; k++) s += hp[k] * (double)c->r[k * G + g];
        a[g] = s;
    }
    for (size_t u = 0; u < U; u++) {
        if (c->cell == LT_CELL_SIMPLE) {
            pre[u] = xw[u] + a[u];
            rec[u] = ref_act(c->act, pre[u], c->alpha);
        } else if (c->cell == LT_CELL_LSTM) {
            for (int q = 0; q < 4; q++) pre[q * U + u] = xw[q * U + u] + a[q * U + u];
            double i = sig(pre[u]), f = sig(pre[U + u]), gg = ref_act(c->act, pre[2 * U + u], c->alpha);
            double o = sig(pre[3 * U + u]), cc = f * cp[u] + i * gg;
            rec[u] = o * ref_act(c->act, cc, c->alpha);
            rec[U + u] = cc;
            rec[2 * U + u] = i;
            rec[3 * U + u] = f;
            rec[4 * U + u] = gg;
            rec[5 * U + u] = o;
        } else {
            double rz = a[u] + c->rbias[u], rr = a[U + u] + c->rbias[U + u], rn = a[2 * U + u] + c->rbias[2 * U + u];
            pre[u] = xw[u] + rz;
            pre[U + u] = xw[U + u] + rr;
            double z = sig(pre[u]), r = sig(pre[U + u]);
            pre[2 * U + u] = xw[2 * U + u] + r * rn;
            double n = ref_act(c->act, pre[2 * U + u], c->alpha);
            recn[u] = rn;
            rec[u] = z * hp[u] + (1 - z) * n;
            rec[U + u] = z;
            rec[2 * U + u] = r;
            rec[3 * U + u] = n;
            rec[4 * U + u] = rn;
        }
    }
}

/* Reference forward of the sequence: rec ((T+1) x B x S, slot 0 the initial record)
 * and the pre-activations pre (T x B x G). */
static void ref_forward(const step_case *c, const float *xwf, const float *prevf, double *rec, double *pre)
{
    size_t B = c->B, U = c->U, G = c->G, S = c->S;
    double xw[4 * 320], recn[320];
    for (size_t i = 0; i < B * S; i++) rec[i] = prevf[i];
    for (size_t k = 0; k < c->T; k++)
        for (size_t b = 0; b < B; b++) {
            const double *hp = rec + (k * B + b) * S;
            for (size_t g = 0; g < G; g++) xw[g] = (double)xwf[(k * B + b) * G + g] + (c->bias ? c->bias[g] : 0.0);
            ref_forward_row(c, xw, hp, hp + U, rec + ((k + 1) * B + b) * S, pre + (k * B + b) * G, recn);
        }
}

/* Reference backward through the sequence: dz (T x B x D), the carry leaving the first
 * step (B x 2U, starting from c->carry) and dhp (B x U), the whole gradient reaching
 * the initial h (dz_0 R^T plus the GRU's carry). */
static void ref_backward(const step_case *c, double *dz, double *cy, double *dhp)
{
    size_t T = c->T, B = c->B, U = c->U, G = c->G, S = c->S, D = c->D, first = T - c->dh_steps;
    double *rec = malloc((T + 1) * B * S * sizeof *rec), *pre = malloc(T * B * G * sizeof *pre);
    ref_forward(c, c->xw, c->prev, rec, pre);
    for (size_t i = 0; i < B * 2 * U; i++) cy[i] = c->carry[i];
    for (size_t k = T; k-- > 0;)
        for (size_t b = 0; b < B; b++) {
            const double *hp = rec + (k * B + b) * S, *o = rec + ((k + 1) * B + b) * S, *p = pre + (k * B + b) * G;
            const double *zn = k + 1 < T ? dz + ((k + 1) * B + b) * D : NULL;
            double *d = dz + (k * B + b) * D, *cyb = cy + b * 2 * U;
            for (size_t u = 0; u < U; u++) {
                double g = k >= first ? c->dh[((k - first) * B + b) * U + u] : 0;
                if (c->cell == LT_CELL_GRU) g += cyb[u];
                if (zn)
                    for (size_t j = 0; j < G; j++) g += zn[j] * c->r[u * G + j];
                if (c->cell == LT_CELL_SIMPLE) {
                    d[u] = g * act_dx(c->act, c->alpha, p[u]);
                } else if (c->cell == LT_CELL_LSTM) {
                    double cc = o[U + u], i = o[2 * U + u], f = o[3 * U + u], gg = o[4 * U + u], og = o[5 * U + u];
                    double dc = cyb[U + u] + g * og * act_dx(c->act, c->alpha, cc);
                    d[u] = dc * gg * i * (1 - i);
                    d[U + u] = dc * hp[U + u] * f * (1 - f);
                    d[2 * U + u] = dc * i * act_dx(c->act, c->alpha, p[2 * U + u]);
                    d[3 * U + u] = g * ref_act(c->act, cc, c->alpha) * og * (1 - og);
                    cyb[U + u] = dc * f;
                } else {
                    double z = o[U + u], r = o[2 * U + u], n = o[3 * U + u], rn = o[4 * U + u];
                    double dn = g * (1 - z) * act_dx(c->act, c->alpha, p[2 * U + u]);
                    d[u] = g * (hp[u] - n) * z * (1 - z);
                    d[U + u] = dn * rn * r * (1 - r);
                    d[2 * U + u] = dn * r;
                    d[3 * U + u] = dn;
                    cyb[u] = g * z;
                }
            }
        }
    for (size_t b = 0; b < B; b++) /* everything reaching the initial h */
        for (size_t u = 0; u < U; u++) {
            double s = c->cell == LT_CELL_GRU ? cy[b * 2 * U + u] : 0;
            for (size_t j = 0; j < G; j++) s += dz[b * D + j] * c->r[u * G + j];
            dhp[b * U + u] = s;
        }
    free(rec);
    free(pre);
}

/* L = sum of dh*h over the steps with an output gradient, plus the incoming carry times
 * the last step's h (GRU) or c (LSTM): the quantity ref_backward differentiates. */
static double ref_loss(const step_case *c, const float *xw, const float *prev)
{
    size_t T = c->T, B = c->B, U = c->U, S = c->S, first = T - c->dh_steps;
    double *rec = malloc((T + 1) * B * S * sizeof *rec), *pre = malloc(T * B * c->G * sizeof *pre), L = 0;
    ref_forward(c, xw, prev, rec, pre);
    for (size_t k = first; k < T; k++)
        for (size_t b = 0; b < B; b++)
            for (size_t u = 0; u < U; u++) L += c->dh[((k - first) * B + b) * U + u] * rec[((k + 1) * B + b) * S + u];
    for (size_t b = 0; b < B; b++)
        for (size_t u = 0; u < U; u++) {
            const double *last = rec + (T * B + b) * S;
            if (c->cell == LT_CELL_GRU) L += c->carry[b * 2 * U + u] * last[u];
            if (c->cell == LT_CELL_LSTM) L += c->carry[b * 2 * U + U + u] * last[U + u];
        }
    free(rec);
    free(pre);
    return L;
}

/* Fills a case with random operands; prev is a valid record (LSTM c in its second U). */
static void make_case(tester *t, step_case *c, lt_backend_cell cell, lt_backend_act act, size_t T, size_t B, size_t U,
                      size_t dh_steps)
{
    memset(c, 0, sizeof *c);
    c->cell = cell;
    c->act = act;
    c->alpha = act == LT_BACT_LEAKY_RELU ? 0.3f : 1.0f;
    c->T = T;
    c->B = B;
    c->U = U;
    c->dh_steps = dh_steps;
    c->G = lt_cell_gates(cell) * U;
    c->S = lt_cell_record(cell) * U;
    c->D = lt_cell_dz(cell) * U;
    c->xw = rand_floats(t, T * B * c->G, -1.5, 1.5);
    c->r = rand_floats(t, U * c->G, -0.5, 0.5);
    c->rbias = rand_floats(t, c->G, -0.3, 0.3);
    c->bias = rand_floats(t, c->G, -0.5, 0.5);
    c->prev = rand_floats(t, B * c->S, -0.9, 0.9);
    c->dh = rand_floats(t, dh_steps * B * U, -1, 1);
    c->carry = rand_floats(t, B * 2 * U, -1, 1);
}

/* Frees a case's operands. */
static void free_case(step_case *c)
{
    FREE_ALL(c->xw, c->r, c->rbias, c->bias, c->prev, c->dh, c->carry);
}

/* Name of a cell. */
static const char *cell_name(lt_backend_cell c) { return c == LT_CELL_LSTM ? "lstm" : c == LT_CELL_GRU ? "gru" : "simple"; }

/* Checks |got - ref| <= tol * (1 + |ref|) everywhere, naming the first element that
 * is not: what[i] of the geometry geo. */
static void expect_near(tester *t, const float *got, const double *ref, size_t n, double tol, const char *what,
                        const char *geo)
{
    size_t bad = 0;
    while (bad < n && fabs((double)got[bad] - ref[bad]) <= tol * (1 + fabs(ref[bad]))) bad++;
    check(t, bad == n, "%s %s: [%zu] = %.9g, reference %.9g", what, geo, bad, bad < n ? (double)got[bad] : 0.0,
          bad < n ? ref[bad] : 0.0);
}

/* A reference loss as a function of one input element: arr (c->xw or c->prev). */
typedef struct ref_point {
    step_case *c;
    float *arr;
} ref_point;

/* fd_fn of ref_loss: sets arr[i] to v and evaluates the reference loss. */
static int ref_loss_at(void *ctx, size_t i, float v, double *f)
{
    ref_point *p = ctx;
    p->arr[i] = v;
    if (f) *f = ref_loss(p->c, p->c->xw, p->c->prev);
    return 1;
}

/* ------------------------------------------------------------ reference check */

/* The reference backward against finite differences of the reference forward, over
 * three steps with output gradients at every step or at the last only. */
static void test_reference(tester *t)
{
    lt_backend_cell cells[3] = {LT_CELL_SIMPLE, LT_CELL_LSTM, LT_CELL_GRU};
    lt_backend_act acts[3] = {LT_BACT_TANH, LT_BACT_SIGMOID, LT_BACT_ELU};
    for (int ci = 0; ci < 3; ci++)
        for (int ai = 0; ai < 3; ai++) {
            step_case c;
            size_t T = 3;
            make_case(t, &c, cells[ci], acts[ai], T, 3, 4, ai == 1 ? 1 : T);
            double *dz = malloc(T * c.B * c.D * sizeof *dz), *cy = malloc(c.B * 2 * c.U * sizeof *cy);
            double *dhp = malloc(c.B * c.U * sizeof *dhp);
            ref_backward(&c, dz, cy, dhp);
            maxerr worst = {0, 0, 0, 0};
            double fd;
            /* d/dxw: dz's input part (GRU's n gate: the last U columns) */
            ref_point px = {&c, c.xw}, pp = {&c, c.prev};
            for (size_t kb = 0; kb < T * c.B; kb++)
                for (size_t g = 0; g < c.G; g++) {
                    size_t i = kb * c.G + g, col = c.cell == LT_CELL_GRU && g >= 2 * c.U ? g + c.U : g;
                    central_diff(ref_loss_at, &px, i, c.xw[i], 1e-3f, &fd);
                    maxerr_note(&worst, i, fabs(fd - dz[kb * c.D + col]) / (1e-3 + fabs(fd)), dz[kb * c.D + col], fd);
                }
            /* d/dprev: the initial h through R and the carry, and the LSTM's c */
            for (size_t b = 0; b < c.B; b++)
                for (size_t u = 0; u < (c.cell == LT_CELL_LSTM ? 2 : 1) * c.U; u++) {
                    central_diff(ref_loss_at, &pp, b * c.S + u, c.prev[b * c.S + u], 1e-3f, &fd);
                    double an = u < c.U ? dhp[b * c.U + u] : cy[b * 2 * c.U + u];
                    maxerr_note(&worst, b * c.S + u, fabs(fd - an) / (1e-3 + fabs(fd)), an, fd);
                }
            check(t, worst.err < 2e-4, "reference %s/act %d, %zu steps, dh at %zu: backward vs finite differences, "
                  "worst relative error %.3g", cell_name(c.cell), (int)c.act, T, c.dh_steps, worst.err);
            FREE_ALL(dz, cy, dhp);
            free_case(&c);
        }
}

/* ------------------------------------------------------------- backend checks */

#define XWOFF 3
#define ROFF 5
#define RBOFF 2
#define RECOFF 4
#define BOFF 6
#define COFF 1
#define DZOFF 8

/* Where a sequence operand's elements sit in a caller's (batch, steps, width) tensor: a
 * float of padding between steps and three after each row; reversed runs time backwards
 * (the operand's first step is the tensor's last). */
typedef struct seq_layout {
    size_t n, off;           /* the tensor's floats; the first step of row 0 */
    ptrdiff_t s_row, s_step; /* strides                                       */
} seq_layout;

/* The layout of a (B, steps, width) tensor as described above. */
static seq_layout layout_seq(size_t B, size_t steps, size_t width, int reversed)
{
    seq_layout L = {0, 1, (ptrdiff_t)(steps * (width + 1) + 3), (ptrdiff_t)(width + 1)};
    L.n = B * (size_t)L.s_row + 2;
    if (reversed && steps > 1) {
        L.off = 1 + (steps - 1) * (width + 1);
        L.s_step = -L.s_step;
    }
    return L;
}

/* Element 0 of row b, step k. */
static size_t seq_at(const seq_layout *L, size_t b, size_t k)
{
    return (size_t)((ptrdiff_t)L->off + (ptrdiff_t)b * L->s_row + (ptrdiff_t)k * L->s_step);
}

/* A sequence forward and backward on the backend against the reference. mode bit 0:
 * no input bias; bit 1: zero_state (slot 0 holds garbage that must not be read); bit 2:
 * zero_carry (so does the carry); bit 3: the output and dh tensors run backwards in
 * time. The output holds every step when dh does, else the last (an LSTM's [h | c]). */
static void check_seq(tester *t, step_case *c, int mode)
{
    lt_backend *be = t->be;
    size_t T = c->T, B = c->B, U = c->U, G = c->G, S = c->S, D = c->D, NR = (T + 1) * B * S;
    int no_bias = mode & 1, zero_state = (mode >> 1) & 1, zero_carry = (mode >> 2) & 1, reversed = (mode >> 3) & 1;
    lt_rnn_geom g = {c->cell, c->act, c->alpha, B, U, T, zero_state, zero_carry};
    size_t osteps = c->dh_steps == T ? T : 1, owidth = osteps == 1 && c->cell == LT_CELL_LSTM ? 2 * U : U;
    seq_layout Lo = layout_seq(B, osteps, owidth, reversed), Ld = layout_seq(B, c->dh_steps, U, reversed);
    char geo[160];
    snprintf(geo, sizeof geo, "%s act %d T %zu B %zu U %zu dh at %zu%s%s%s%s", cell_name(c->cell), (int)c->act, T, B, U,
             c->dh_steps, no_bias ? " no bias" : "", zero_state ? " zero_state" : "", zero_carry ? " zero_carry" : "",
             reversed ? " reversed" : "");
    /* what the device is given, and what the reference sees in its place */
    float *garbage = rand_floats(t, B * (S > 2 * U ? S : 2 * U), -5, 5), *zeros = calloc(B * S + B * 2 * U, sizeof(float));
    float *keep_prev = c->prev, *keep_carry = c->carry, *keep_bias = c->bias;
    const float *dev_prev = zero_state ? garbage : c->prev, *dev_carry = zero_carry ? garbage : c->carry;
    float *hout = rand_floats(t, Lo.n, -1, 1), *hdh = rand_floats(t, Ld.n, -1, 1);
    for (size_t kk = 0; kk < c->dh_steps; kk++)
        for (size_t b = 0; b < B; b++) memcpy(hdh + seq_at(&Ld, b, kk), c->dh + (kk * B + b) * U, U * sizeof *hdh);
    lt_buf *xw = make_buf(t, "xw", XWOFF, c->xw, T * B * G), *r = make_buf(t, "r", ROFF, c->r, U * G);
    lt_buf *rb = make_buf(t, "rbias", RBOFF, c->rbias, G), *rec = make_buf(t, "rec", RECOFF, NULL, NR);
    lt_buf *bias = no_bias ? NULL : make_buf(t, "bias", BOFF, c->bias, G);
    lt_buf *out = make_buf(t, "out", 0, hout, Lo.n), *dh = c->dh_steps ? make_buf(t, "dh", 0, hdh, Ld.n) : NULL;
    lt_buf *cy = make_buf(t, "carry", COFF, dev_carry, B * 2 * U), *dz = make_buf(t, "dz", DZOFF, NULL, T * B * D);
    lt_rnn_seq oseq = {out, Lo.off, Lo.s_row, Lo.s_step, osteps, owidth};
    lt_rnn_seq dseq = {dh, Ld.off, Ld.s_row, Ld.s_step, c->dh_steps, U};
    if (zero_state) c->prev = zeros;
    if (zero_carry) c->carry = zeros + B * S;
    if (no_bias) c->bias = NULL;
    float *got = malloc(NR * sizeof *got), *gdz = malloc(T * B * D * sizeof *gdz), *gcy = malloc(B * 2 * U * sizeof *gcy);
    float *gout = malloc(Lo.n * sizeof *gout);
    double *rrec = malloc(NR * sizeof *rrec), *pre = malloc(T * B * G * sizeof *pre), *rout = calloc(Lo.n, sizeof *rout);
    double *rdz = malloc(T * B * D * sizeof *rdz), *rcy = malloc(B * 2 * U * sizeof *rcy), *dhp = malloc(B * U * sizeof *dhp);
    if (xw && r && rb && rec && (bias || no_bias) && out && (dh || !c->dh_steps) && cy && dz &&
        check(t, lt_be_upload(be, rec, RECOFF, dev_prev, B * S) == LT_OK, "upload: %s", be->error)) {
        lt_status st = lt_be_rnn_forward(be, &g, xw, XWOFF, bias, BOFF, r, ROFF, c->cell == LT_CELL_GRU ? rb : NULL,
                                            RBOFF, rec, RECOFF, &oseq);
        if (check(t, st == LT_OK, "rnn_forward %s: %s", geo, be->error) &&
            fetch(t, "rnn_forward", geo, rec, RECOFF, got, NR) && fetch(t, "rnn_forward out", geo, out, 0, gout, Lo.n)) {
            ref_forward(c, c->xw, c->prev, rrec, pre);
            expect_near(t, got, rrec, NR, 2e-5, "rnn_forward record", geo);
            for (size_t i = 0; i < Lo.n; i++) rout[i] = hout[i]; /* untouched between the blocks */
            for (size_t kk = 0; kk < osteps; kk++)
                for (size_t b = 0; b < B; b++)
                    for (size_t j = 0; j < owidth; j++)
                        rout[seq_at(&Lo, b, kk) + j] = rrec[((kk + T - osteps + 1) * B + b) * S + j];
            expect_near(t, gout, rout, Lo.n, 2e-5, "rnn_forward out", geo);
        }
        st = lt_be_rnn_backward(be, &g, dh ? &dseq : NULL, r, ROFF, rec, RECOFF, cy, COFF, dz, DZOFF);
        if (check(t, st == LT_OK, "rnn_backward %s: %s", geo, be->error) &&
            fetch(t, "rnn_backward dz", geo, dz, DZOFF, gdz, T * B * D) &&
            fetch(t, "rnn_backward carry", geo, cy, COFF, gcy, B * 2 * U)) {
            ref_backward(c, rdz, rcy, dhp);
            expect_near(t, gdz, rdz, T * B * D, 5e-5, "rnn_backward dz", geo);
            /* the carry's unused halves: what came in, or zero */
            expect_near(t, gcy, rcy, B * 2 * U, 5e-5, "rnn_backward carry", geo);
        }
    }
    c->prev = keep_prev;
    c->carry = keep_carry;
    c->bias = keep_bias;
    FREE_ALL(garbage, zeros, hout, hdh, got, gdz, gcy, gout, rrec, pre, rout, rdz, rcy, dhp);
    FREE_BUFS(t, xw, r, rb, rec, bias, out, dh, cy, dz);
}

/* copy_strided against a host loop: a transpose of (3, 4) blocks of 5, the same with
 * time reversed, a broadcast (zero stride) and accumulation. */
static void test_copy(tester *t)
{
    lt_backend *be = t->be;
    const size_t n0 = 3, n1 = 4, C = 5, N = n0 * n1 * C, XO = 11, YO = 6;
    float *x = rand_floats(t, N, -1, 1), *y0 = rand_floats(t, N, -1, 1), *got = malloc(N * sizeof *got);
    float *want = malloc(N * sizeof *want);
    struct { ptrdiff_t xs0, xs1; size_t xo; float beta; const char *what; } cases[] = {
        {(ptrdiff_t)(n1 * C), (ptrdiff_t)C, XO, 0.0f, "transpose"},
        {(ptrdiff_t)(n1 * C), -(ptrdiff_t)C, XO + (n1 - 1) * C, 0.0f, "reversed"},
        {(ptrdiff_t)(n1 * C), 0, XO, 0.0f, "broadcast"},
        {(ptrdiff_t)(n1 * C), (ptrdiff_t)C, XO, 1.0f, "accumulate"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        lt_buf *bx = make_buf(t, "x", XO, x, N), *by = make_buf(t, "y", YO, y0, N);
        if (!bx || !by) break;
        /* y[j][i] (ys0 = C, ys1 = n0*C) = x[i][j] */
        lt_status st = lt_be_copy_strided(be, n0, n1, C, bx, cases[k].xo, cases[k].xs0, cases[k].xs1, cases[k].beta,
                                             by, YO, (ptrdiff_t)C, (ptrdiff_t)(n0 * C));
        if (check(t, st == LT_OK, "copy_strided %s: %s", cases[k].what, be->error) &&
            fetch(t, "copy_strided", cases[k].what, by, YO, got, N)) {
            for (size_t i = 0; i < n0; i++)
                for (size_t j = 0; j < n1; j++)
                    for (size_t c = 0; c < C; c++) {
                        ptrdiff_t xi = (ptrdiff_t)(cases[k].xo - XO) + (ptrdiff_t)i * cases[k].xs0 +
                                       (ptrdiff_t)j * cases[k].xs1 + (ptrdiff_t)c;
                        size_t yi = i * C + j * n0 * C + c;
                        want[yi] = x[xi] + cases[k].beta * y0[yi];
                    }
            check(t, memcmp(got, want, N * sizeof *got) == 0, "copy_strided %s: wrong elements", cases[k].what);
        }
        lt_be_buf_free(be, bx);
        lt_be_buf_free(be, by);
    }
    /* a block reaching before the buffer, or past it, is refused */
    lt_buf *bx = make_buf(t, "x", XO, x, N), *by = make_buf(t, "y", YO, NULL, N);
    if (bx && by) {
        lt_status st = lt_be_copy_strided(be, n0, n1, C, bx, 2, (ptrdiff_t)(n1 * C), -(ptrdiff_t)C, 0.0f, by, YO,
                                             (ptrdiff_t)C, (ptrdiff_t)(n0 * C));
        check(t, st == LT_ERR_ARG && strstr(be->error, "outside"), "copy_strided before the buffer: %d %s", (int)st,
              be->error);
        st = lt_be_copy_strided(be, n0, n1, C, bx, XO, (ptrdiff_t)(n1 * C), (ptrdiff_t)C, 0.0f, by, YO + 1,
                                   (ptrdiff_t)C, (ptrdiff_t)(n0 * C) + 3);
        check(t, st == LT_ERR_ARG, "copy_strided past the buffer: %d %s", (int)st, be->error);
        st = lt_be_copy_strided(be, n0, n1, C, bx, XO, (ptrdiff_t)(n1 * C), (ptrdiff_t)C, 0.5f, by, YO, (ptrdiff_t)C,
                                   (ptrdiff_t)(n0 * C));
        check(t, st == LT_ERR_ARG, "copy_strided beta 0.5: %d %s", (int)st, be->error);
    }
    FREE_BUFS(t, bx, by);
    FREE_ALL(x, y0, got, want);
}

/* Bad geometries are refused with a message. */
static void test_bad(tester *t)
{
    lt_backend *be = t->be;
    lt_buf *buf = make_buf(t, "buf", 0, NULL, 64);
    if (!buf) return;
    lt_rnn_geom g = {LT_CELL_LSTM, LT_BACT_SOFTMAX, 0, 2, 2, 1, 0, 0};
    expect_refused(t, lt_be_rnn_forward(be, &g, buf, 0, NULL, 0, buf, 0, NULL, 0, buf, 32, NULL), "pointwise",
                   "softmax cell");
    g.act = LT_BACT_TANH;
    g.units = 0;
    expect_refused(t, lt_be_rnn_forward(be, &g, buf, 0, NULL, 0, buf, 0, NULL, 0, buf, 32, NULL), NULL, "zero units");
    g.units = 4;
    g.batch = 4; /* records of 4 x 24 do not fit in 64 */
    expect_refused(t, lt_be_rnn_forward(be, &g, buf, 0, NULL, 0, buf, 0, NULL, 0, buf, 0, NULL), NULL,
                   "records past the buffer");
    g.cell = LT_CELL_GRU;
    g.batch = 1;
    g.units = 1;
    expect_refused(t, lt_be_rnn_forward(be, &g, buf, 0, NULL, 0, buf, 0, NULL, 0, buf, 20, NULL), "rbias",
                   "GRU without rbias");
    g.steps = 0;
    expect_refused(t, lt_be_rnn_forward(be, &g, buf, 0, NULL, 0, buf, 4, buf, 8, buf, 20, NULL),
                   "rnn_forward: 0 steps of 1 rows out of range", "zero steps");

    /* Operands, with the same message on every backend (lib/backend/backend_check.c). A
     * SimpleRNN of one step over 2 rows of 2 units: xw, dh and dz are 4 floats, rec
     * (two slots) and carry 8. Apart, they sit at xw 0, r 4, rec 8, dh 16, carry 24,
     * dz 32. */
    g = (lt_rnn_geom){LT_CELL_SIMPLE, LT_BACT_TANH, 0, 2, 2, 1, 0, 0};
    lt_status st = lt_be_rnn_forward(be, &g, buf, 0, NULL, 0, buf, 4, NULL, 0, buf, 8, NULL);
    check(t, st == LT_OK, "forward with operands apart: %d %s", (int)st, be->error);
    lt_rnn_seq dh = {buf, 16, 2, 0, 1, 2}; /* the last step's dh, 2 x 2 at 16 */
    st = lt_be_rnn_backward(be, &g, &dh, buf, 4, buf, 8, buf, 24, buf, 32);
    check(t, st == LT_OK, "backward with operands apart: %d %s", (int)st, be->error);
    st = lt_be_rnn_backward(be, &g, NULL, buf, 4, buf, 8, buf, 24, buf, 32);
    check(t, st == LT_OK, "backward without dh: %d %s", (int)st, be->error);
    struct { const char *want; size_t r, rec, carry, dz; } bwd[] = {
        {"rnn_backward: dz overlaps carry", 4, 8, 24, 26},
        {"rnn_backward: dz overlaps rec", 4, 8, 24, 12},
        {"rnn_backward: carry overlaps r", 6, 8, 6, 32},
        {"rnn_backward: carry range [1000, 1000 + 8) exceeds its buffer of", 4, 8, 1000, 32},
        {"rnn_backward: carry overlaps dh", 4, 8, 14, 32},
    };
    for (size_t k = 0; k < sizeof bwd / sizeof bwd[0]; k++)
        expect_refused(t, lt_be_rnn_backward(be, &g, &dh, buf, bwd[k].r, buf, bwd[k].rec, buf, bwd[k].carry, buf,
                                             bwd[k].dz),
                       bwd[k].want, "rnn_backward case %zu", k);
    expect_refused(t, lt_be_rnn_backward(be, &g, &dh, buf, 4, NULL, 0, buf, 24, buf, 32),
                   "rnn_backward: buffer rec is NULL", "NULL rec");
    /* sequence operands: steps, width, reach, overlap */
    struct { const char *want; lt_rnn_seq seq; int fwd; } seqs[] = {
        {"rnn_backward: dh has 3 steps, not 1 or 1", {buf, 16, 2, 2, 3, 2}, 0},
        {"rnn_backward: dh is 4 wide, not 2", {buf, 16, 4, 0, 1, 4}, 0},
        {"rnn_forward: out is 4 wide, not 2", {buf, 40, 4, 0, 1, 4}, 1},
        {"rnn_backward: dh block reaches [-1, 2], outside its buffer of", {buf, 1, -2, 0, 1, 2}, 0},
        {"rnn_forward: out block reaches [60, 71], outside its buffer of", {buf, 60, 10, 0, 1, 2}, 1},
        {"rnn_forward: out overlaps rec", {buf, 14, 30, 0, 1, 2}, 1},
        {"rnn_forward: out overlaps r", {buf, 5, 2, 0, 1, 2}, 1},
        {"rnn_forward: buffer out is NULL", {NULL, 40, 2, 0, 1, 2}, 1},
    };
    for (size_t k = 0; k < sizeof seqs / sizeof seqs[0]; k++) {
        const lt_rnn_seq *q = &seqs[k].seq;
        expect_refused(t, seqs[k].fwd ? lt_be_rnn_forward(be, &g, buf, 0, NULL, 0, buf, 4, NULL, 0, buf, 8, q)
                                      : lt_be_rnn_backward(be, &g, q, buf, 4, buf, 8, buf, 24, buf, 32),
                       seqs[k].want, "sequence case %zu", k);
    }
    lt_rnn_seq fine = {buf, 40, 2, 0, 1, 2};
    st = lt_be_rnn_forward(be, &g, buf, 0, NULL, 0, buf, 4, NULL, 0, buf, 8, &fine);
    check(t, st == LT_OK, "forward with an output apart: %d %s", (int)st, be->error);
    lt_be_buf_free(be, buf);
}

/* A whole sequence as test_cross runs it: forward, then backward with dh at every step
 * (time-major, as the reference), on b: xw, r, rbias, rec, dh, carry, dz. */
static lt_status op_sequence(lt_backend *be, lt_buf *const *b, const void *p)
{
    const step_case *c = p;
    lt_rnn_geom g = {c->cell, c->act, c->alpha, c->B, c->U, c->T, 0, 0};
    lt_rnn_seq dseq = {b[4], 0, (ptrdiff_t)c->U, (ptrdiff_t)(c->B * c->U), c->T, c->U};
    lt_status st = lt_be_rnn_forward(be, &g, b[0], 0, NULL, 0, b[1], 0, b[2], 0, b[3], 0, NULL);
    return st == LT_OK ? lt_be_rnn_backward(be, &g, &dseq, b[1], 0, b[3], 0, b[5], 0, b[6], 0) : st;
}

/* Larger sequences on OpenCL against the CPU backend's; 300 units are more than a
 * work-group of 256 holds, so a work-item takes several. */
static void test_cross(tester *t)
{
    struct { lt_backend_cell cell; size_t B, U; } cases[4] = {
        {LT_CELL_SIMPLE, 37, 48}, {LT_CELL_LSTM, 37, 48}, {LT_CELL_GRU, 37, 48}, {LT_CELL_SIMPLE, 3, 300}};
    for (int ci = 0; ci < 4; ci++) {
        step_case c;
        make_case(t, &c, cases[ci].cell, LT_BACT_TANH, 6, cases[ci].B, cases[ci].U, 6);
        for (size_t i = 0; i < c.U * c.G; i++) c.r[i] *= 2.0f / sqrtf((float)c.U); /* unsaturated, as trained */
        size_t NR = (c.T + 1) * c.B * c.S, NZ = c.T * c.B * c.D;
        float *rec0 = calloc(NR, sizeof *rec0), *rec = malloc(NR * sizeof *rec), *dz = malloc(NZ * sizeof *dz);
        memcpy(rec0, c.prev, c.B * c.S * sizeof *rec0);
        slot s[7] = {{c.xw, c.T * c.B * c.G, 0}, {c.r, c.U * c.G, 0},         {c.rbias, c.G, 0}, {rec0, NR, 0},
                     {c.dh, c.T * c.B * c.U, 0}, {c.carry, c.B * 2 * c.U, 0}, {NULL, NZ, 0}};
        float *outs[7] = {NULL, NULL, NULL, rec, NULL, NULL, dz}, *cpu[7];
        char what[64];
        snprintf(what, sizeof what, "cross %s U %zu", cell_name(c.cell), c.U);
        if (run_pair(t, what, s, 7, op_sequence, &c, outs, cpu)) {
            double *crec = to_doubles(cpu[3], NR), *cdz = to_doubles(cpu[6], NZ);
            expect_near(t, rec, crec, NR, 1e-5, "records against the cpu's", what);
            expect_near(t, dz, cdz, NZ, 1e-5, "dz against the cpu's", what);
            FREE_ALL(crec, cdz);
        }
        free_outs(cpu, 7);
        FREE_ALL(rec0, rec, dz);
        free_case(&c);
    }
}

/* Each backend's checks. */
static void backend_checks_rnn(tester *t, void *ctx)
{
    (void)ctx;
    lt_backend_cell cells[3] = {LT_CELL_SIMPLE, LT_CELL_LSTM, LT_CELL_GRU};
    lt_backend_act acts[4] = {LT_BACT_TANH, LT_BACT_RELU, LT_BACT_SIGMOID, LT_BACT_LINEAR};
    size_t sizes[3][2] = {{1, 1}, {3, 5}, {9, 17}};
    for (int ci = 0; ci < 3; ci++)
        for (int ai = 0; ai < 4; ai++)
            for (int si = 0; si < 3; si++)
                for (int T = 1; T <= 4; T += 3) {
                    size_t dh_steps[3] = {(size_t)T, 1, 0};
                    for (int di = 0; di < 3; di++) {
                        step_case c;
                        make_case(t, &c, cells[ci], acts[ai], (size_t)T, sizes[si][0], sizes[si][1], dh_steps[di]);
                        check_seq(t, &c, (ai * 3 + si * 2 + di + T * 5) % 16);
                        free_case(&c);
                    }
                }
    /* more units than a work-group of 256 holds: a work-item takes several, through every
     * path (bias, zero state and carry, strided and reversed output, an LSTM's [h | c]) */
    for (int ci = 0; ci < 3; ci++)
        for (int k = 0; k < 2; k++) {
            step_case c;
            make_case(t, &c, cells[ci], LT_BACT_TANH, 3, 2, 300, k ? 1 : 3);
            for (size_t i = 0; i < c.U * c.G; i++) c.r[i] *= 2.0f / sqrtf((float)c.U); /* unsaturated, as trained */
            check_seq(t, &c, k ? 6 : 14);
            free_case(&c);
        }
    test_copy(t);
    test_bad(t);
    if (t->cpu) test_cross(t);
}

/* Checks the reference on the host, then every backend against it. */
int main(void)
{
    harness_host.rng = 77;
    test_reference(&harness_host);
    run_backends(&(backend_run){.checks = backend_checks_rnn, .seed = 20261124});
    return DONE();
}
