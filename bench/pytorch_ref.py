#!/usr/bin/env python3
"""PyTorch reference for latent's figures: the same architectures, initialisation
(Glorot-uniform weights, zero biases, as Keras), data scaling and recipe, so that test
loss and training throughput can be compared in one run on one machine.

  quality:  python3 bench/pytorch_ref.py quality --arch mlp-ae --epochs 5 --batch 256
  speed:    python3 bench/pytorch_ref.py bench --arch mlp-ae --batch 32 --device cuda
            python3 bench/pytorch_ref.py bench --arch mlp-ae --batch 32 --device cpu --threads 2

Not part of the build or the tests: latent itself needs no Python."""
import argparse
import gzip
import os
import struct
import sys
import time

import numpy as np
import torch
from torch import nn


def load_idx(path):
    """Reads an IDX file (gzip or raw) into a numpy array."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def fashion_mnist(train):
    """Images scaled to [0,1], flattened, from LATENT_DATA_DIR or Debian's package."""
    for d in (os.environ.get("LATENT_DATA_DIR"), "/usr/share/datasets/fashion-mnist"):
        if not d:
            continue
        name = "train-images-idx3-ubyte.gz" if train else "t10k-images-idx3-ubyte.gz"
        if os.path.exists(os.path.join(d, name)):
            x = load_idx(os.path.join(d, name)).reshape(-1, 784).astype(np.float32) / 255.0
            return torch.from_numpy(x)
    sys.exit("fashion-mnist not found")


def fashion_labels(train):
    """Class labels (int64) of the same split."""
    for d in (os.environ.get("LATENT_DATA_DIR"), "/usr/share/datasets/fashion-mnist"):
        name = "train-labels-idx1-ubyte.gz" if train else "t10k-labels-idx1-ubyte.gz"
        if d and os.path.exists(os.path.join(d, name)):
            return torch.from_numpy(load_idx(os.path.join(d, name)).astype(np.int64))
    sys.exit("fashion-mnist labels not found")


def keras_rnn_init(rnn):
    """Keras's recurrent initialisation: Glorot-uniform input kernel, orthogonal
    recurrent kernel, zero biases."""
    for name, w in rnn.named_parameters():
        if name.startswith("weight_ih"):
            nn.init.xavier_uniform_(w)
        elif name.startswith("weight_hh"):
            nn.init.orthogonal_(w)
        else:
            nn.init.zeros_(w)
    return rnn


class RNNClassifier(nn.Module):
    """rnn-clf: SimpleRNN 128 (tanh) over the 28 rows, Dense 10 (softmax, folded into
    the cross-entropy as logits)."""

    def __init__(self):
        super().__init__()
        self.rnn = keras_rnn_init(nn.RNN(28, 128, batch_first=True))
        self.out = glorot(nn.Linear(128, 10))

    def forward(self, x):
        _, h = self.rnn(x.view(-1, 28, 28))
        return self.out(h[-1])


class BiRNNAE(nn.Module):
    """birnn-ae: two stacked bidirectional SimpleRNN 64 returning sequences, then a
    per-step Dense 28 with a sigmoid."""

    def __init__(self):
        super().__init__()
        self.rnn = keras_rnn_init(nn.RNN(28, 64, num_layers=2, batch_first=True, bidirectional=True))
        self.out = glorot(nn.Linear(128, 28))

    def forward(self, x):
        y, _ = self.rnn(x.view(-1, 28, 28))
        return torch.sigmoid(self.out(y)).reshape(-1, 784)


def dense_stack(widths, n_in):
    """Dense layers with ELU, Keras-initialised."""
    layers = []
    for w in widths:
        lin = nn.Linear(n_in, w)
        nn.init.xavier_uniform_(lin.weight)
        nn.init.zeros_(lin.bias)
        layers += [lin, nn.ELU()]
        n_in = w
    return nn.Sequential(*layers)


def glorot(module):
    """Keras's initialisation: Glorot-uniform weights, zero biases."""
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    return module


def conv_ae(code):
    """The lecture's Conv2D/Conv2DTranspose autoencoder on 28x28x1 (NCHW here)."""
    enc = nn.Sequential(nn.Unflatten(1, (1, 28, 28)), nn.Conv2d(1, 16, 3), nn.ELU(), nn.Conv2d(16, 16, 3), nn.ELU(),
                        nn.Flatten(), nn.Linear(9216, code), nn.ELU())
    dec = nn.Sequential(nn.Linear(code, 9216), nn.ELU(), nn.Unflatten(1, (16, 24, 24)),
                        nn.ConvTranspose2d(16, 16, 3), nn.ELU(), nn.ConvTranspose2d(16, 1, 3), nn.ELU(), nn.Flatten())
    return glorot(nn.Sequential(enc, dec))


class VAE(nn.Module):
    """The vae built-in: 784 -> 512 relu -> [mean | logvar] (2x20) -> z | 20 -> 512 relu
    -> 784 sigmoid; z = mean + exp(logvar/2) * eps in training, the mean otherwise."""

    def __init__(self):
        super().__init__()
        self.enc = glorot(nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 40)))
        self.dec = glorot(nn.Sequential(nn.Linear(20, 512), nn.ReLU(), nn.Linear(512, 784), nn.Sigmoid()))

    def forward(self, x):
        h = self.enc(x)
        mean, logvar = h[:, :20], h[:, 20:]
        z = mean + torch.exp(0.5 * logvar) * torch.randn_like(mean) if self.training else mean
        kl = -0.5 * (1 + logvar - mean ** 2 - logvar.exp()).sum(dim=1)
        return self.dec(z), kl


def vae_loss(out, x):
    """Per-sample BCE summed over pixels plus KL, averaged over the batch (the negative
    ELBO, as latent's bce-sum with a Sampling layer)."""
    recon, kl = out
    bce = nn.functional.binary_cross_entropy(recon, x, reduction="none").sum(dim=1)
    return (bce + kl).mean()


def build(arch):
    """The lecture's autoencoders (same as latent's built-ins)."""
    if arch == "vae":
        return VAE(), 784
    if arch == "rnn-clf":
        return RNNClassifier(), 784
    if arch == "birnn-ae":
        return BiRNNAE(), 784
    if arch in ("conv-ae", "conv-ae64"):
        return conv_ae(100 if arch == "conv-ae" else 64), 784
    if arch == "mlp-ae":
        return nn.Sequential(dense_stack([64, 64, 64], 784), dense_stack([64, 64, 784], 64)), 784
    if arch == "swissroll-ae":
        return nn.Sequential(dense_stack([2], 3), dense_stack([3], 2)), 3
    sys.exit("unknown arch " + arch)


def quality(args):
    """Trains with the recipe and prints the test MSE."""
    torch.manual_seed(args.seed)
    dev = torch.device(args.device)
    model, _ = build(args.arch)
    model.to(dev)
    xtr, xte = fashion_mnist(True).to(dev), fashion_mnist(False).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, eps=1e-7)
    lossf = vae_loss if args.arch == "vae" else nn.MSELoss()
    clf = args.arch == "rnn-clf"
    if clf:  # targets are the labels
        ytr, yte = fashion_labels(True).to(dev), fashion_labels(False).to(dev)
        lossf = nn.CrossEntropyLoss()
    t0 = time.time()
    for epoch in range(args.epochs):
        perm = torch.randperm(xtr.shape[0], device=dev)
        total, steps = 0.0, 0
        for i in range(0, xtr.shape[0], args.batch):
            idx = perm[i:i + args.batch]
            xb = xtr[idx]
            opt.zero_grad(set_to_none=True)
            loss = lossf(model(xb), ytr[idx] if clf else xb)
            loss.backward()
            opt.step()
            total += loss.item()
            steps += 1
        print(f"epoch {epoch + 1}: loss {total / steps:.5f}", file=sys.stderr)
    model.eval()
    with torch.no_grad():
        if clf:
            right = sum((model(xte[i:i + 1000]).argmax(1) == yte[i:i + 1000]).sum().item()
                        for i in range(0, xte.shape[0], 1000))
            print(f"pytorch {args.arch} test accuracy: {right / xte.shape[0]:.4f} ({time.time() - t0:.1f}s on {args.device})")
            return
        if args.arch == "vae":  # per-sample negative ELBO, z = mean, as latent eval computes it
            loss = sum(vae_loss(model(xte[i:i + 1000]), xte[i:i + 1000]).item() * 1000
                       for i in range(0, xte.shape[0], 1000)) / xte.shape[0]
            print(f"pytorch {args.arch} test loss: {loss:.2f} ({time.time() - t0:.1f}s on {args.device})")
            return
        mse = sum(((model(xte[i:i + 1000]) - xte[i:i + 1000]) ** 2).sum().item()
                  for i in range(0, xte.shape[0], 1000)) / xte.numel()
    print(f"pytorch {args.arch} test mse: {mse:.5f} ({time.time() - t0:.1f}s on {args.device})")


def bench(args):
    """Training samples per second, eager mode, the loss read every step like a
    typical training loop (loss.item())."""
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    model, n = build(args.arch)
    model.to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    lossf = nn.MSELoss()
    pool = torch.rand(8 * args.batch, n, device=dev)
    if args.arch == "vae":
        lossf = vae_loss
    clf = args.arch == "rnn-clf"
    labels = torch.randint(0, 10, (8 * args.batch,), device=dev)
    if clf:
        lossf = nn.CrossEntropyLoss()

    def step(i):
        sl = slice((i % 8) * args.batch, (i % 8 + 1) * args.batch)
        xb = pool[sl]
        opt.zero_grad(set_to_none=True)
        loss = lossf(model(xb), labels[sl] if clf else xb)
        loss.backward()
        opt.step()
        return loss

    for i in range(20):
        step(i).item()
    steps, t0 = 0, time.time()
    while time.time() - t0 < args.seconds:
        step(steps).item()
        steps += 1
    if dev.type == "cuda":
        torch.cuda.synchronize()
    sps = steps * args.batch / (time.time() - t0)
    print(f"pytorch bench {args.arch} batch {args.batch} on {args.device}"
          f"{' threads ' + str(args.threads) if args.threads else ''}: {sps:.0f} samples/s")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["quality", "bench"])
    p.add_argument("--arch", default="mlp-ae")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--seconds", type=float, default=5.0)
    args = p.parse_args()
    quality(args) if args.mode == "quality" else bench(args)


if __name__ == "__main__":
    main()
