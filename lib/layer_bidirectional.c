/* Bidirectional: two recurrent directions over the same sequence, the second with
 * go_backwards, its outputs realigned with the input's time (as Keras reverses them
 * back), then merged: concat (the default), sum, ave or mul. Parameters: the forward
 * direction's, then the backward one's (Keras's weight order). */
#include <stdio.h>
#include "rnn_core.h"

typedef struct bidi_layer {
    lt_layer base;
    lt_rnn_core dir[2];   /* forward, backward                    */
    lt_rnn_cell cell;     /* public cell, for the config line     */
    int return_sequences; /* every step or only the last          */
    lt_merge merge;       /* how the directions join              */
} bidi_layer;

/* Elements of one direction's output per sample. */
static size_t dir_out(const bidi_layer *b)
{
    return (size_t)b->dir[0].units * (size_t)(b->return_sequences ? b->dir[0].steps : 1);
}

/* Workspace: each direction's, then (merges other than concat) each direction's output. */
static lt_status bidi_build(lt_layer *l, lt_ctx *ctx, const lt_shape *in)
{
    bidi_layer *b = (bidi_layer *)l;
    for (int d = 0; d < 2; d++) {
        lt_status st = lt_rnn_core_build(&b->dir[d], ctx, l, in);
        if (st != LT_OK) return st;
    }
    int width = b->dir[0].units * (b->merge == LT_MERGE_CONCAT ? 2 : 1);
    l->out_shape.rank = b->return_sequences ? 2 : 1;
    l->out_shape.d[0] = b->return_sequences ? b->dir[0].steps : width;
    l->out_shape.d[1] = width;
    size_t t[6]; /* forward then backward: kernel, recurrent kernel, bias */
    int n = lt_rnn_core_tensors(&b->dir[0], t);
    for (int i = 0; i < n; i++) t[n + i] = t[i];
    lt_layer_set_tensors(l, 2 * n, t);
    l->ws_floats = 2 * lt_rnn_core_ws(&b->dir[0]) + (b->merge == LT_MERGE_CONCAT ? 0 : 2 * dir_out(b));
    return LT_OK;
}

/* Each direction's parameters from their own keys: tensors 0-2 forward, 3-5 backward. */
static lt_status bidi_init(lt_layer *l, lt_backend *be, uint64_t seed, uint64_t layer)
{
    bidi_layer *b = (bidi_layer *)l;
    lt_status st = lt_rnn_core_init(&b->dir[0], be, l->slot.params, l->slot.off, seed, layer, 0);
    if (st != LT_OK) return st;
    return lt_rnn_core_init(&b->dir[1], be, l->slot.params, l->slot.off + lt_rnn_core_params(&b->dir[0]), seed,
                            layer, 3);
}

/* Where direction d's workspace starts for a batch. */
static size_t dir_ws(const bidi_layer *b, const lt_pass *p, size_t batch, int d)
{
    return p->ws_off + (size_t)d * lt_rnn_core_ws(&b->dir[0]) * batch;
}

/* Where direction d's merge temporary starts for a batch (after both workspaces). */
static size_t tmp_off(const bidi_layer *b, const lt_pass *p, size_t batch, int d)
{
    return p->ws_off + (2 * lt_rnn_core_ws(&b->dir[0]) + (size_t)d * dir_out(b)) * batch;
}

/* Where direction d writes its outputs (or reads their gradients from): straight into
 * buf for concat, else into its temporary. */
static lt_rnn_io dir_io(const bidi_layer *b, const lt_pass *p, size_t batch, int d, lt_buf *buf, size_t off)
{
    size_t U = (size_t)b->dir[0].units;
    lt_rnn_io io = {buf, off, b->base.out_dim, (ptrdiff_t)U, b->return_sequences, d == 1};
    if (b->merge == LT_MERGE_CONCAT) {
        io.off = off + (size_t)d * U;
        io.s_step = (ptrdiff_t)(2 * U);
    } else {
        io.buf = p->ws;
        io.off = tmp_off(b, p, batch, d);
        io.s_sample = (ptrdiff_t)dir_out(b);
    }
    return io;
}

/* Both directions, then the merge (concat: each wrote its half of y already). */
static lt_status bidi_forward(lt_layer *l, const lt_pass *p, size_t batch, const lt_buf *x, size_t xoff, lt_buf *y,
                              size_t yoff)
{
    bidi_layer *b = (bidi_layer *)l;
    lt_backend *be = p->be;
    size_t np = lt_rnn_core_params(&b->dir[0]);
    lt_status st = LT_OK;
    for (int d = 0; d < 2 && st == LT_OK; d++) {
        lt_rnn_io io = dir_io(b, p, batch, d, y, yoff);
        st = lt_rnn_core_forward(&b->dir[d], be, batch, x, xoff, l->slot.params, l->slot.off + (size_t)d * np, p->ws,
                                 dir_ws(b, p, batch, d), &io);
    }
    if (st != LT_OK || b->merge == LT_MERGE_CONCAT) return st;
    size_t n = batch * dir_out(b), a0 = tmp_off(b, p, batch, 0), a1 = tmp_off(b, p, batch, 1);
    if (b->merge == LT_MERGE_MUL) return lt_be_mul(be, n, p->ws, a0, p->ws, a1, y, yoff);
    float w = b->merge == LT_MERGE_AVE ? 0.5f : 1.0f;
    st = lt_be_axpby(be, n, w, p->ws, a0, 0.0f, y, yoff);
    return st == LT_OK ? lt_be_axpby(be, n, w, p->ws, a1, 1.0f, y, yoff) : st;
}

/* The merge's gradient into each direction's output gradient, then both directions. */
static lt_status bidi_backward(lt_layer *l, const lt_pass *p, size_t batch, const lt_buf *x, size_t xoff,
                               const lt_buf *y, size_t yoff, lt_buf *dy, size_t dyoff, lt_buf *dx, size_t dxoff)
{
    bidi_layer *b = (bidi_layer *)l;
    lt_backend *be = p->be;
    size_t np = lt_rnn_core_params(&b->dir[0]);
    size_t n = batch * dir_out(b), a0 = tmp_off(b, p, batch, 0), a1 = tmp_off(b, p, batch, 1);
    lt_status st = LT_OK;
    lt_rnn_io io[2];
    for (int d = 0; d < 2; d++) io[d] = dir_io(b, p, batch, d, dy, dyoff);
    switch (b->merge) {
    case LT_MERGE_CONCAT: break; /* each direction reads its half of dy */
    case LT_MERGE_SUM:           /* both read dy whole */
    case LT_MERGE_AVE:
        if (b->merge == LT_MERGE_AVE) st = lt_be_axpby(be, n, 0.5f, dy, dyoff, 0.0f, dy, dyoff);
        for (int d = 0; d < 2; d++) {
            io[d].buf = dy;
            io[d].off = dyoff;
        }
        break;
    case LT_MERGE_MUL: /* d(a0*a1): a0's gradient dy*a1 into a1's temporary, then a1's into a0's */
        st = lt_be_mul(be, n, dy, dyoff, p->ws, a1, p->ws, a1);
        if (st == LT_OK) st = lt_be_mul(be, n, dy, dyoff, p->ws, a0, p->ws, a0);
        io[0].off = a1;
        io[1].off = a0;
        break;
    }
    for (int d = 0; d < 2 && st == LT_OK; d++)
        st = lt_rnn_core_backward(&b->dir[d], be, batch, l->slot.params, l->slot.off + (size_t)d * np, l->slot.grads,
                                  p->ws, dir_ws(b, p, batch, d), &io[d], dx, dxoff, d == 1);
    return st;
}

/* "cell=lstm units=64 activation=tanh alpha=0 return_sequences=1 merge=concat". */
static void bidi_write_config(const lt_layer *l, char *buf, size_t len)
{
    const bidi_layer *b = (const bidi_layer *)l;
    snprintf(buf, len, "cell=%s units=%d activation=%s alpha=%.9g return_sequences=%d merge=%s", lt_rnn_cell_name(b->cell),
             b->dir[0].units, lt_act_name(b->dir[0].act), (double)b->dir[0].alpha, b->return_sequences,
             lt_merge_name(b->merge));
}

/* A Bidirectional layer; NULL for settings out of range. */
lt_layer *lt_bidirectional(lt_rnn_cell cell, int units, lt_act act, unsigned flags, lt_merge merge)
{
    lt_rnn_core fwd, bwd;
    if ((unsigned)merge > LT_MERGE_MUL || (flags & (LT_GO_BACKWARDS | LT_RETURN_STATE)) ||
        lt_rnn_core_setup(&fwd, cell, units, act, flags, 0) != 0 ||
        lt_rnn_core_setup(&bwd, cell, units, act, flags | LT_GO_BACKWARDS, 0) != 0)
        return NULL;
    bidi_layer *b = (bidi_layer *)lt_layer_new(&lt_bidirectional_ops, sizeof *b);
    if (!b) return NULL;
    b->dir[0] = fwd;
    b->dir[1] = bwd;
    b->cell = cell;
    b->return_sequences = (flags & LT_RETURN_SEQUENCES) != 0;
    b->merge = merge;
    return &b->base;
}

/* Reads "cell=lstm units=64 ... merge=concat". */
static lt_layer *bidi_from_config(const lt_kv *kv, char *err, size_t errlen)
{
    const char *c = lt_kv_get(kv, "cell"), *m = lt_kv_get(kv, "merge");
    lt_rnn_cell cell;
    if (lt_rnn_cell_parse(c, &cell) != 0) { snprintf(err, errlen, "bidirectional: bad or missing cell"); return NULL; }
    lt_merge merge = LT_MERGE_CONCAT;
    if (m && lt_merge_parse(m, &merge) != 0) { snprintf(err, errlen, "bidirectional: unknown merge '%s'", m); return NULL; }
    int units;
    lt_act act;
    float alpha;
    unsigned flags;
    int state_steps;
    if (lt_rnn_read_config(kv, "bidirectional", &units, &act, &alpha, &flags, &state_steps, err, errlen) != 0)
        return NULL;
    if (state_steps || (flags & LT_RETURN_STATE)) {
        snprintf(err, errlen, "bidirectional: return_state and state_steps are not supported");
        return NULL;
    }
    lt_layer *l = lt_bidirectional(cell, units, act, flags, merge);
    if (!l) { snprintf(err, errlen, "bidirectional: bad settings"); return NULL; }
    ((bidi_layer *)l)->dir[0].alpha = ((bidi_layer *)l)->dir[1].alpha = alpha;
    return l;
}

/* The recurrent type each direction is. */
static const lt_layer_ops *bidi_wrapped(const lt_layer *l)
{
    lt_rnn_cell cell = ((const bidi_layer *)l)->cell;
    return cell == LT_LSTM ? &lt_lstm_ops : cell == LT_GRU ? &lt_gru_ops : &lt_simple_rnn_ops;
}

const lt_layer_ops lt_bidirectional_ops = {
    .type = "Bidirectional", .file_tag = "bidirectional", .from_config = bidi_from_config, .build = bidi_build,
    .forward = bidi_forward, .backward = bidi_backward, .write_config = bidi_write_config, .init = bidi_init,
    .wrapped = bidi_wrapped,
};
