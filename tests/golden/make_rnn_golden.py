#!/usr/bin/env python3
"""Writes rnn_golden.txt: golden outputs of recurrent layers computed once by PyTorch,
for latent's tests/test_golden.c. Run from this folder with PyTorch installed:
    python3 make_rnn_golden.py > rnn_golden.txt
Each case is a latent spec, an input shape (T F 1: one-channel images are read as
sequences of rows), the input, the parameters in latent/Keras layout (kernel F x G,
recurrent kernel U x G, bias G; the GRU's input then recurrent bias; a Bidirectional's
forward direction then its backward one) and the output. The parameters are mapped into
torch.nn.RNN/LSTM/GRU, which pins Keras's gate orders (LSTM i, f, c, o; GRU z, r, h,
which PyTorch stores as r, z, n) and GRU's reset_after against a reference framework.
The last cases pin return_state's layout ([h | c] for LSTM, PyTorch's (h_n, c_n)) and a
layer started from a state (PyTorch's (h_0, c_0) with zero inputs; latent's state-input
layer has no input kernel, so its parameters are the recurrent kernel and biases)."""
import torch
from torch import nn

torch.manual_seed(4321)
torch.set_default_dtype(torch.float64)
GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def emit(spec, x, params, y):
    print("spec", spec)
    print("shape", x.shape[1], x.shape[2], 1)
    for name, t in (("x", x), ("p", params), ("y", y)):
        flat = t.reshape(-1).tolist()
        print(name, len(flat), " ".join("%.9g" % v for v in flat))


def keras_params(cell, f, u):
    """Random parameters in Keras layout: W (F x G), R (U x G), biases."""
    g = GATES[cell] * u
    w, r = torch.randn(f, g) * 0.5, torch.randn(u, g) * 0.5
    b = torch.randn(2 if cell == "gru" else 1, g) * 0.3
    return w, r, b


def torch_order(cell, m, u):
    """Keras's gate columns in PyTorch's row order (GRU: z, r, h -> r, z, n)."""
    if cell != "gru":
        return m
    z, r, h = m[..., :u], m[..., u:2 * u], m[..., 2 * u:]
    return torch.cat([r, z, h], dim=-1)


def load(mod, cell, u, w, r, b, suffix=""):
    """Copies Keras-layout parameters into a torch recurrent module's direction."""
    with torch.no_grad():
        getattr(mod, "weight_ih_l0" + suffix).copy_(torch_order(cell, w, u).T)
        getattr(mod, "weight_hh_l0" + suffix).copy_(torch_order(cell, r, u).T)
        getattr(mod, "bias_ih_l0" + suffix).copy_(torch_order(cell, b[0], u))
        getattr(mod, "bias_hh_l0" + suffix).copy_(torch_order(cell, b[1], u) if cell == "gru" else torch.zeros_like(b[0]))


def module(cell, f, u, bidirectional=False, act="tanh"):
    if cell == "rnn":
        return nn.RNN(f, u, batch_first=True, nonlinearity=act, bidirectional=bidirectional)
    return (nn.LSTM if cell == "lstm" else nn.GRU)(f, u, batch_first=True, bidirectional=bidirectional)


def flat(w, r, b):
    return torch.cat([w.reshape(-1), r.reshape(-1), b.reshape(-1)])


def one_way(cell, t, f, u, seq, back, act="tanh"):
    x = torch.randn(1, t, f)
    w, r, b = keras_params(cell, f, u)
    mod = module(cell, f, u, act=act)
    load(mod, cell, u, w, r, b)
    xs = torch.flip(x, [1]) if back else x   # go_backwards: steps last to first,
    y, _ = mod(xs)                           # outputs in processing order (Keras)
    y = y if seq else y[:, -1]
    spec = "%s:%d%s%s%s" % (cell, u, "" if act == "tanh" else ":" + act, ":seq" if seq else "", ":back" if back else "")
    emit(spec, x, flat(w, r, b), y)


def two_way(cell, t, f, u, seq, merge):
    x = torch.randn(1, t, f)
    fw, bw = keras_params(cell, f, u), keras_params(cell, f, u)
    mod = module(cell, f, u, bidirectional=True)
    load(mod, cell, u, *fw)
    load(mod, cell, u, *bw, suffix="_reverse")
    y, _ = mod(x)                            # both directions aligned with the input's time
    a, c = y[..., :u], y[..., u:]
    if not seq:                              # forward's last step, backward's after all steps
        a, c = a[:, -1], c[:, 0]
    out = {"concat": torch.cat([a, c], -1), "sum": a + c, "ave": (a + c) / 2, "mul": a * c}[merge]
    emit("bi%s:%d%s:%s" % (cell, u, ":seq" if seq else "", merge), x, torch.cat([flat(*fw), flat(*bw)]), out)


def with_state(cell, t, f, u, back):
    """return_state: the final state, LSTM's [h | c]."""
    x = torch.randn(1, t, f)
    w, r, b = keras_params(cell, f, u)
    mod = module(cell, f, u)
    load(mod, cell, u, w, r, b)
    _, state = mod(torch.flip(x, [1]) if back else x)
    y = torch.cat([state[0][0], state[1][0]], -1) if cell == "lstm" else state[0]
    emit("%s:%d:state%s" % (cell, u, ":back" if back else ""), x, flat(w, r, b), y)


def hand_over(cell, t, f, u, t2):
    """An encoder's final state starts a decoder that runs t2 steps with no input."""
    x = torch.randn(1, t, f)
    enc, dec = keras_params(cell, f, u), keras_params(cell, 1, u)
    e, d = module(cell, f, u), module(cell, 1, u)
    load(e, cell, u, *enc)
    load(d, cell, u, torch.zeros_like(dec[0]), dec[1], dec[2])
    _, state = e(x)
    y, _ = d(torch.zeros(1, t2, 1), state)
    p = torch.cat([flat(*enc), dec[1].reshape(-1), dec[2].reshape(-1)])
    emit("%s:%d:state,%s:%d:seq:init%d" % (cell, u, cell, u, t2), x, p, y)


one_way("rnn", 5, 3, 4, False, False)
one_way("rnn", 5, 3, 4, True, False)
one_way("rnn", 6, 2, 3, True, True)
one_way("rnn", 4, 3, 3, True, False, act="relu")
one_way("lstm", 5, 3, 3, True, False)
one_way("lstm", 6, 4, 2, False, False)
one_way("lstm", 5, 2, 3, True, True)
one_way("gru", 5, 3, 3, True, False)
one_way("gru", 6, 2, 4, False, True)
two_way("rnn", 5, 3, 3, True, "concat")
two_way("lstm", 4, 3, 2, True, "sum")
two_way("gru", 5, 2, 3, False, "ave")
two_way("rnn", 4, 2, 2, False, "mul")
with_state("lstm", 5, 3, 3, False)
with_state("gru", 4, 2, 3, True)
hand_over("lstm", 5, 3, 3, 4)
hand_over("gru", 4, 2, 3, 5)
hand_over("rnn", 5, 2, 2, 3)
