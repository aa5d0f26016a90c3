#!/usr/bin/env python3
"""Writes the safetensors fixtures of latent's tests/test_import.c: for each case a
PyTorch model equivalent to a latent architecture (the torch.nn modules the README's
import section lists), its state_dict saved by safetensors as st_CASE.safetensors,
and in safetensors_golden.txt the architecture, the input shape, an input in latent's
layout (channels last) and PyTorch's output for it, in latent's layout too. Random
weights (not any framework's initialisation), the forward pass in float64 on the
float32 weights. Run from this folder with PyTorch and safetensors installed:
    python3 make_safetensors_golden.py > safetensors_golden.txt"""
import torch
from torch import nn
from safetensors.torch import save_file

torch.manual_seed(1905)


class Seq(nn.Sequential):
    """nn.Sequential whose recurrent modules pass on their output sequence (not the
    state tuple), or only the last step where latent's layer returns one step."""

    def __init__(self, *mods, last=()):
        super().__init__(*mods)
        self.last = set(last)

    def forward(self, x):
        for i, m in enumerate(self):
            x = m(x)
            if isinstance(x, tuple):
                x = x[0]
            if i in self.last:
                x = x[:, -1]
        return x


def emit(name, spec, shape, model, x_latent, to_torch, from_torch):
    for p in model.parameters():
        with torch.no_grad():
            p.copy_(torch.randn_like(p) * 0.4)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, "st_%s.safetensors" % name)
    with torch.no_grad():
        y = from_torch(model.double()(to_torch(x_latent.double())))
    print("case", name)
    print("arch", spec)
    print("shape", len(shape), " ".join(str(d) for d in shape))
    for tag, t in (("x", x_latent), ("y", y)):
        flat = t.reshape(-1).tolist()
        print(tag, len(flat), " ".join("%.9g" % v for v in flat))


nhwc_to_nchw = lambda t: t.permute(0, 3, 1, 2)
nchw_to_nhwc = lambda t: t.permute(0, 2, 3, 1)
same = lambda t: t

# Images: channels-first flattening and unflattening around Dense layers (C > 1), a
# strided and a transposed convolution with output padding.
emit("conv", "conv:4:3x3:elu:same,maxpool:2x2,conv:3:3x3:relu:s2,flatten,dense:12:tanh,dense:48:elu,"
     "reshape:4x4x3,deconv:2:3x3:sigmoid:s2:op1", (12, 12, 2),
     Seq(nn.Conv2d(2, 4, 3, padding="same"), nn.ELU(), nn.MaxPool2d(2), nn.Conv2d(4, 3, 3, stride=2), nn.ReLU(),
         nn.Flatten(), nn.Linear(12, 12), nn.Tanh(), nn.Linear(12, 48), nn.ELU(), nn.Unflatten(1, (3, 4, 4)),
         nn.ConvTranspose2d(3, 2, 3, stride=2, output_padding=1), nn.Sigmoid()),
     torch.rand(2, 12, 12, 2), nhwc_to_nchw, nchw_to_nhwc)

# Recurrent: a bidirectional LSTM, GRU (gates reordered, two biases), SimpleRNN, and a
# Dense on every step.
emit("seq", "bilstm:5:seq,gru:4:seq,rnn:3:seq,td:2", (6, 3),
     Seq(nn.LSTM(3, 5, batch_first=True, bidirectional=True), nn.GRU(10, 4, batch_first=True),
         nn.RNN(4, 3, batch_first=True), nn.Linear(3, 2)),
     torch.randn(3, 6, 3), same, same)

# One module of two stacked layers (_l0, _l1), many-to-one, then a Dense.
emit("stacked", "lstm:4:seq,lstm:4,dense:2:sigmoid", (7, 3),
     Seq(nn.LSTM(3, 4, num_layers=2, batch_first=True), nn.Linear(4, 2), nn.Sigmoid(), last=(0,)),
     torch.randn(2, 7, 3), same, same)

# Nested nn.Sequential(encoder, decoder), as bench/pytorch_ref.py builds autoencoders;
# a Linear without bias.
emit("nested", "dense:16:elu,dense:4:nobias|dense:16:elu,dense:in:sigmoid", (20,),
     nn.Sequential(nn.Sequential(nn.Linear(20, 16), nn.ELU(), nn.Linear(16, 4, bias=False)),
                   nn.Sequential(nn.Linear(4, 16), nn.ELU(), nn.Linear(16, 20), nn.Sigmoid())),
     torch.rand(3, 20), same, same)
