/* SimpleRNN, LSTM and GRU: one recurrent direction (rnn_core.c) with Keras's
 * return_sequences, return_state, go_backwards and initial state (taken from the
 * input). The three differ only in the cell the backend computes, so they share this
 * file and differ in their type names. */
#include <stdio.h>
#include "rnn_core.h"

typedef struct rnn_layer {
    lt_layer base;
    lt_rnn_core core;     /* the direction                            */
    int return_sequences; /* output every step, not only the last      */
} rnn_layer;

/* (steps, features), or a state-input layer's (state), -> (units), (steps, units) or
 * the final state (units, or 2 units for LSTM). */
static lt_status rnn_build(lt_layer *l, lt_ctx *ctx, const lt_shape *in)
{
    rnn_layer *r = (rnn_layer *)l;
    lt_status st = lt_rnn_core_build(&r->core, ctx, l, in);
    if (st != LT_OK) return st;
    l->out_shape.rank = r->return_sequences ? 2 : 1;
    l->out_shape.d[0] = r->return_sequences ? r->core.steps
                        : r->core.return_state ? (int)lt_rnn_core_state_width(&r->core) : r->core.units;
    l->out_shape.d[1] = r->core.units;
    size_t t[3];
    lt_layer_set_tensors(l, lt_rnn_core_tensors(&r->core, t), t);
    l->ws_floats = lt_rnn_core_ws(&r->core);
    return LT_OK;
}

/* Keras's initialisers: Glorot-uniform kernel, orthogonal recurrent kernel, zero bias. */
static lt_status rnn_init(lt_layer *l, lt_backend *be, uint64_t seed, uint64_t layer)
{
    return lt_rnn_core_init(&((rnn_layer *)l)->core, be, l->slot.params, l->slot.off, seed, layer, 0);
}

/* Where the layer's output rows are: one per sample, steps of U. */
static lt_rnn_io rnn_io(const rnn_layer *r, lt_buf *buf, size_t off)
{
    lt_rnn_io io = {buf, off, r->base.out_dim, r->core.units, r->return_sequences, 0};
    return io;
}

/* The direction over the sequence. */
static lt_status rnn_forward(lt_layer *l, const lt_pass *p, size_t batch, const lt_buf *x, size_t xoff, lt_buf *y,
                             size_t yoff)
{
    rnn_layer *r = (rnn_layer *)l;
    lt_rnn_io out = rnn_io(r, y, yoff);
    return lt_rnn_core_forward(&r->core, p->be, batch, x, xoff, l->slot.params, l->slot.off, p->ws, p->ws_off, &out);
}

/* Backpropagation through time. */
static lt_status rnn_backward(lt_layer *l, const lt_pass *p, size_t batch, const lt_buf *x, size_t xoff,
                              const lt_buf *y, size_t yoff, lt_buf *dy, size_t dyoff, lt_buf *dx, size_t dxoff)
{
    rnn_layer *r = (rnn_layer *)l;
    lt_rnn_io d = rnn_io(r, dy, dyoff);
    return lt_rnn_core_backward(&r->core, p->be, batch, l->slot.params, l->slot.off, l->slot.grads, p->ws, p->ws_off,
                                &d, dx, dxoff, 0);
}

/* "units=64 activation=tanh alpha=0 return_sequences=1 go_backwards=0 return_state=0
 * state_steps=0" (state_steps: the steps of a state-input layer, else 0). */
static void rnn_write_config(const lt_layer *l, char *buf, size_t len)
{
    const rnn_layer *r = (const rnn_layer *)l;
    snprintf(buf, len, "units=%d activation=%s alpha=%.9g return_sequences=%d go_backwards=%d return_state=%d state_steps=%d",
             r->core.units, lt_act_name(r->core.act), (double)r->core.alpha, r->return_sequences, r->core.go_backwards,
             r->core.return_state, r->core.state_input ? r->core.steps : 0);
}

/* A layer of either kind; state_steps > 0 makes it a state-input layer. */
static lt_layer *rnn_new(lt_rnn_cell cell, int units, lt_act act, unsigned flags, int state_steps)
{
    lt_rnn_core core;
    if (lt_rnn_core_setup(&core, cell, units, act, flags, state_steps) != 0) return NULL;
    rnn_layer *r = (rnn_layer *)lt_layer_new(cell == LT_LSTM ? &lt_lstm_ops : cell == LT_GRU ? &lt_gru_ops : &lt_simple_rnn_ops,
                                             sizeof *r);
    if (!r) return NULL;
    r->core = core;
    r->return_sequences = (flags & LT_RETURN_SEQUENCES) != 0;
    return &r->base;
}

/* A recurrent layer reading a sequence; NULL for settings out of range. */
lt_layer *lt_rnn(lt_rnn_cell cell, int units, lt_act act, unsigned flags)
{
    return rnn_new(cell, units, act, flags, 0);
}

/* A recurrent layer started from its input, the initial state, for steps steps. */
lt_layer *lt_rnn_from_state(lt_rnn_cell cell, int units, lt_act act, unsigned flags, int steps)
{
    return steps > 0 ? rnn_new(cell, units, act, flags, steps) : NULL;
}

/* Reads a SimpleRNN/LSTM/GRU line of a model file. */
static lt_layer *rnn_from_config(lt_rnn_cell cell, const lt_kv *kv, char *err, size_t errlen)
{
    int units;
    lt_act act;
    float alpha;
    unsigned flags;
    int state_steps;
    if (lt_rnn_read_config(kv, lt_rnn_cell_name(cell), &units, &act, &alpha, &flags, &state_steps, err, errlen) != 0)
        return NULL;
    lt_layer *l = rnn_new(cell, units, act, flags, state_steps);
    if (!l) { snprintf(err, errlen, "out of host memory"); return NULL; }
    ((rnn_layer *)l)->core.alpha = alpha;
    return l;
}

/* Reads a SimpleRNN line. */
static lt_layer *simple_rnn_from_config(const lt_kv *kv, char *err, size_t errlen) { return rnn_from_config(LT_SIMPLE_RNN, kv, err, errlen); }
/* Reads an LSTM line. */
static lt_layer *lstm_from_config(const lt_kv *kv, char *err, size_t errlen) { return rnn_from_config(LT_LSTM, kv, err, errlen); }
/* Reads a GRU line. */
static lt_layer *gru_from_config(const lt_kv *kv, char *err, size_t errlen) { return rnn_from_config(LT_GRU, kv, err, errlen); }

/* The three types: the same layer, another cell. */
const lt_layer_ops lt_simple_rnn_ops = {
    .type = "SimpleRNN", .file_tag = "simple_rnn", .from_config = simple_rnn_from_config, .build = rnn_build,
    .forward = rnn_forward, .backward = rnn_backward, .write_config = rnn_write_config, .init = rnn_init,
};
const lt_layer_ops lt_lstm_ops = {
    .type = "LSTM", .file_tag = "lstm", .from_config = lstm_from_config, .build = rnn_build,
    .forward = rnn_forward, .backward = rnn_backward, .write_config = rnn_write_config, .init = rnn_init,
};
const lt_layer_ops lt_gru_ops = {
    .type = "GRU", .file_tag = "gru", .from_config = gru_from_config, .build = rnn_build,
    .forward = rnn_forward, .backward = rnn_backward, .write_config = rnn_write_config, .init = rnn_init,
};
