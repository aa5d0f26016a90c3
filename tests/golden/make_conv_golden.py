#!/usr/bin/env python3
"""Writes conv_golden.txt: golden outputs of convolution-family layers computed once by
PyTorch, for latent's tests/test_golden.c. Run from this folder with PyTorch installed:
    python3 make_conv_golden.py > conv_golden.txt
Each case is a latent spec (one layer, linear activation), an input shape (H W C), the
input (NHWC), the parameters in latent/Keras layout (kernel, then bias), and the output
(NHWC). Keras's 'same' padding puts an odd extra cell at the end (TensorFlow's rule);
PyTorch pads symmetrically, so pads are made explicit here with F.pad."""
import torch
import torch.nn.functional as F

torch.manual_seed(1234)
torch.set_default_dtype(torch.float64)


def out_len(n, k, s, d, same):
    keff = d * (k - 1) + 1
    return -(-n // s) if same else (n - keff) // s + 1


def tf_pads(n, k, s, d, same):
    """(before, after) zero padding TensorFlow uses for 'same'."""
    if not same:
        return 0, 0
    o = out_len(n, k, s, d, True)
    total = max((o - 1) * s + d * (k - 1) + 1 - n, 0)
    return total // 2, total - total // 2


def emit(spec, x, params, y):
    print("spec", spec)
    print("shape", *x.shape[1:])
    for name, t in (("x", x), ("p", params), ("y", y)):
        flat = t.reshape(-1).tolist()
        print(name, len(flat), " ".join("%.9g" % v for v in flat))


def conv_case(h, w, c, f, kh, kw, s, d, same):
    x = torch.randn(1, h, w, c)
    k = torch.randn(kh, kw, c, f) * 0.5          # Keras layout (kh, kw, in, out)
    b = torch.randn(f) * 0.1
    pt, pb = tf_pads(h, kh, s, d, same)
    pl, pr = tf_pads(w, kw, s, d, same)
    xi = F.pad(x.permute(0, 3, 1, 2), (pl, pr, pt, pb))
    y = F.conv2d(xi, k.permute(3, 2, 0, 1), b, stride=s, dilation=d).permute(0, 2, 3, 1)
    spec = "conv:%d:%dx%d:linear:s%d:d%d:%s" % (f, kh, kw, s, d, "same" if same else "valid")
    emit(spec, x, torch.cat([k.reshape(-1), b]), y)


def deconv_case(h, w, c, f, kh, kw, s, same, op=None):
    x = torch.randn(1, h, w, c)
    k = torch.randn(kh, kw, f, c) * 0.5          # Keras Conv2DTranspose layout (kh, kw, out, in)
    b = torch.randn(f) * 0.1
    xt = x.permute(0, 3, 1, 2)
    wt = k.permute(3, 2, 0, 1)                   # torch (in, out, kh, kw)
    # Keras's deconv_output_length, then TensorFlow's rule for where the output sits: the
    # convolution mapping it back pads by total//2 before (0 for valid). Extra cells past
    # the full transposed convolution get only the bias.
    full = F.conv_transpose2d(xt, wt, None, stride=s)
    if op is None:
        oh = h * s if same else h * s + max(kh - s, 0)
        ow = w * s if same else w * s + max(kw - s, 0)
    else:
        oh = (h - 1) * s + kh - 2 * (kh // 2 if same else 0) + op
        ow = (w - 1) * s + kw - 2 * (kw // 2 if same else 0) + op
    pt = max((h - 1) * s + kh - oh, 0) // 2 if same else 0
    pl = max((w - 1) * s + kw - ow, 0) // 2 if same else 0
    full = F.pad(full, (0, max(0, pl + ow - full.shape[3]), 0, max(0, pt + oh - full.shape[2])))
    y = full[:, :, pt:pt + oh, pl:pl + ow]
    y = (y + b.view(1, -1, 1, 1)).permute(0, 2, 3, 1)
    spec = "deconv:%d:%dx%d:linear:s%d:%s" % (f, kh, kw, s, "same" if same else "valid")
    if op is not None:
        spec += ":op%d" % op
    emit(spec, x, torch.cat([k.reshape(-1), b]), y)


def pool_case(h, w, c, k, s, same):
    x = torch.randn(1, h, w, c)
    pt, pb = tf_pads(h, k, s, 1, same)
    pl, pr = tf_pads(w, k, s, 1, same)
    xi = F.pad(x.permute(0, 3, 1, 2), (pl, pr, pt, pb), value=-float("inf"))
    y = F.max_pool2d(xi, k, s).permute(0, 2, 3, 1)
    emit("maxpool:%dx%d:s%d:%s" % (k, k, s, "same" if same else "valid"), x, torch.zeros(0), y)


def upsample_case(h, w, c, fh, fw, bilinear):
    x = torch.randn(1, h, w, c)
    mode = "bilinear" if bilinear else "nearest"
    kw = {"align_corners": False} if bilinear else {}
    y = F.interpolate(x.permute(0, 3, 1, 2), scale_factor=(fh, fw), mode=mode, **kw).permute(0, 2, 3, 1)
    emit("upsample:%dx%d:%s" % (fh, fw, mode), x, torch.zeros(0), y)


conv_case(7, 6, 2, 3, 3, 3, 1, 1, False)
conv_case(7, 6, 2, 3, 3, 3, 2, 1, True)
conv_case(8, 9, 3, 2, 2, 4, 3, 1, True)
conv_case(9, 8, 1, 2, 3, 3, 1, 2, True)
conv_case(10, 7, 2, 4, 3, 2, 2, 2, False)
conv_case(5, 5, 3, 2, 1, 1, 1, 1, False)
deconv_case(3, 4, 2, 3, 3, 3, 1, False)
deconv_case(3, 4, 2, 2, 3, 3, 2, False)
deconv_case(4, 3, 2, 2, 3, 3, 2, True)
deconv_case(3, 3, 1, 2, 2, 2, 3, False)
deconv_case(3, 3, 2, 2, 3, 3, 3, True)
deconv_case(4, 4, 2, 1, 3, 3, 2, False, op=1)
deconv_case(3, 3, 1, 2, 3, 3, 2, True, op=1)
pool_case(7, 6, 2, 2, 2, False)
pool_case(7, 7, 1, 3, 2, True)
upsample_case(3, 4, 2, 2, 3, False)
upsample_case(3, 4, 2, 2, 2, True)
upsample_case(2, 3, 1, 3, 3, True)
