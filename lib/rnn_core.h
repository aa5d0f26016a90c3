/* One direction of a recurrent layer run over a whole sequence: what SimpleRNN, LSTM,
 * GRU (layer_rnn.c) and Bidirectional (layer_bidirectional.c) share. Internal.
 *
 * The sequence is processed time-major: the input (batch, steps, features) is first
 * transposed (and, for go_backwards, reversed) into processing order, so that the input
 * projection of every step is one GEMM, the whole recurrence one backend op each way
 * (which also writes the output, and reads its gradient, through strides), and the
 * parameter gradients three GEMMs over all steps at once. */
#ifndef LT_RNN_CORE_H
#define LT_RNN_CORE_H

#include "layer.h"

/* A direction's settings and the sizes its build fixed. */
typedef struct lt_rnn_core {
    lt_backend_cell cell; /* SimpleRNN, LSTM or GRU                                  */
    lt_act act;           /* candidate activation (Keras: tanh)                      */
    float alpha;          /* its leaky_relu slope or elu alpha                       */
    int units;            /* U                                                       */
    int go_backwards;     /* process the steps last to first                        */
    int return_state;     /* output the final state (h, LSTM: [h | c]), not y        */
    int state_input;      /* the input is the initial state; no input features      */
    int steps, features;  /* T and F, set by lt_rnn_core_build (state input: at setup) */
} lt_rnn_core;

/* Where a direction's per-step outputs go (or their gradients come from): element
 * (sample b, output step t) of width U at off + b*s_sample + t*s_step. */
typedef struct lt_rnn_io {
    lt_buf *buf;
    size_t off;
    ptrdiff_t s_sample, s_step;
    int all_steps;    /* every step (return_sequences) or only the last            */
    int reverse_time; /* output step t holds processing step T-1-t (Bidirectional's
                         backward direction, realigned with the input's time)      */
} lt_rnn_io;

/* Fills a direction's settings from the public ones; state_steps > 0 makes the input
 * the initial state and runs that many steps (lt_rnn_from_state). -1 when out of range. */
int lt_rnn_core_setup(lt_rnn_core *c, lt_rnn_cell cell, int units, lt_act act, unsigned flags, int state_steps);
/* Width of a direction's state: U, or 2U ([h | c]) for LSTM. */
size_t lt_rnn_core_state_width(const lt_rnn_core *c);
/* Reads the settings SimpleRNN/LSTM/GRU and Bidirectional share from a model-file
 * line (what names the layer in err): *state_steps is 0 unless the layer starts from
 * its input as state. -1 and a message when one is bad. */
int lt_rnn_read_config(const lt_kv *kv, const char *what, int *units, lt_act *act, float *alpha, unsigned *flags,
                       int *state_steps, char *err, size_t errlen);
/* A cell's model-file name (simple_rnn, lstm, gru) and back; -1 when unknown. */
const char *lt_rnn_cell_name(lt_rnn_cell cell);
int lt_rnn_cell_parse(const char *s, lt_rnn_cell *cell);
/* A Bidirectional merge mode's name (concat, sum, ave, mul) and back; -1 when unknown. */
const char *lt_merge_name(lt_merge m);
int lt_merge_parse(const char *s, lt_merge *m);
/* Checks a (steps, features) input, or the state vector of a state-input direction,
 * and sets T, F; LT_ERR_SHAPE naming layer l. */
lt_status lt_rnn_core_build(lt_rnn_core *c, lt_ctx *ctx, const lt_layer *l, const lt_shape *in);
/* Parameters: W (F x G), R (U x G), bias (G; GRU: input then recurrent, 2G). */
size_t lt_rnn_core_params(const lt_rnn_core *c);
/* The sizes of those tensors, Keras's kernel, recurrent_kernel and bias; returns their
 * count: 3, or 2 for a state-input direction (no kernel). */
int lt_rnn_core_tensors(const lt_rnn_core *c, size_t sizes[3]);
/* Workspace floats per sample. */
size_t lt_rnn_core_ws(const lt_rnn_core *c);
/* Keras's initialisers: Glorot-uniform W, orthogonal R, zero bias (LSTM forget gate 1);
 * W and R draw from the keys of tensors `tensor` and `tensor` + 1 of layer `layer`. */
lt_status lt_rnn_core_init(const lt_rnn_core *c, lt_backend *be, lt_buf *params, size_t poff, uint64_t seed,
                           uint64_t layer, int tensor);
/* Runs the recurrence over x (batch x T x F; a state-input direction: batch x state)
 * and writes h (or, with return_state, the final state) to out. */
lt_status lt_rnn_core_forward(const lt_rnn_core *c, lt_backend *be, size_t batch, const lt_buf *x, size_t xoff,
                              const lt_buf *params, size_t poff, lt_buf *ws, size_t wsoff, const lt_rnn_io *out);
/* Backpropagation through time after lt_rnn_core_forward: dy as out described it;
 * writes the parameter gradients at grads[poff] and, when dx != NULL, dx (overwritten,
 * or added to when dx_add): the input sequence's gradient, or the initial state's. */
lt_status lt_rnn_core_backward(const lt_rnn_core *c, lt_backend *be, size_t batch, const lt_buf *params, size_t poff,
                               lt_buf *grads, lt_buf *ws, size_t wsoff, const lt_rnn_io *dy, lt_buf *dx, size_t dxoff,
                               int dx_add);

#endif
