#!/usr/bin/env python3
"""Writes ssim_golden.txt: SSIM and PSNR of small image pairs computed once by
scikit-image, for latent's tests/test_imgproc.c. Run from this folder with scikit-image:
    python3 make_ssim_golden.py > ssim_golden.txt
The images come from integer formulas and a 32-bit LCG that the C test repeats exactly;
a pixel k in 0..255 is the float32 k / 255 (as C's (float)k / 255.0f), then widened to
float64 so that scikit-image computes in double as latent does. Each line:
    case H W C KIND SEED ssim VALUE psnr VALUE
KIND is how the second image is made from the first: noise (+-30 from the LCG, clipped),
contrast (k / 2 + 64), invert (255 - k) or shift (one column to the left, wrapping)."""
import numpy as np
import skimage
from skimage.metrics import peak_signal_noise_ratio, structural_similarity


def lcg(state):
    """Next state of the 32-bit LCG and its top byte."""
    state = (state * 1664525 + 1013904223) & 0xFFFFFFFF
    return state, state >> 24


def pair(h, w, c, kind, seed):
    """The reference and distorted images as integers 0..255, shape (h, w, c)."""
    ref = np.zeros((h, w, c), dtype=np.int64)
    for y in range(h):
        for x in range(w):
            for ch in range(c):
                ref[y, x, ch] = (x * x + 3 * y * y + 37 * ch + 11 * ((x * y) % 13)) % 256
    img = np.zeros_like(ref)
    state = seed
    for y in range(h):
        for x in range(w):
            for ch in range(c):
                k = ref[y, x, ch]
                if kind == "noise":
                    state, r = lcg(state)
                    v = min(max(k + r % 61 - 30, 0), 255)
                elif kind == "contrast":
                    v = k // 2 + 64
                elif kind == "invert":
                    v = 255 - k
                else:  # shift
                    v = ref[y, (x + 1) % w, ch]
                img[y, x, ch] = v
    return ref, img


def to_unit(k):
    """float32 k / 255, widened to float64."""
    return (k.astype(np.float32) / np.float32(255)).astype(np.float64)


CASES = [
    (16, 16, 1, "noise", 1),
    (11, 11, 1, "noise", 2),
    (23, 17, 1, "contrast", 0),
    (20, 24, 1, "invert", 0),
    (12, 15, 1, "shift", 0),
    (16, 20, 3, "noise", 3),
    (13, 29, 3, "shift", 0),
    (32, 32, 3, "contrast", 0),
]

print("# scikit-image %s, numpy %s: structural_similarity(ref, img, data_range=1, gaussian_weights=True,"
      % (skimage.__version__, np.__version__))
print("# sigma=1.5, use_sample_covariance=False[, channel_axis=-1]); peak_signal_noise_ratio(ref, img, data_range=1)")
for h, w, c, kind, seed in CASES:
    ref, img = pair(h, w, c, kind, seed)
    a, b = to_unit(ref), to_unit(img)
    if c == 1:
        s = structural_similarity(a[:, :, 0], b[:, :, 0], data_range=1, gaussian_weights=True, sigma=1.5,
                                  use_sample_covariance=False)
    else:
        s = structural_similarity(a, b, data_range=1, gaussian_weights=True, sigma=1.5,
                                  use_sample_covariance=False, channel_axis=-1)
    p = peak_signal_noise_ratio(a, b, data_range=1)
    print("case %d %d %d %s %d ssim %.17g psnr %.17g" % (h, w, c, kind, seed, s, p))
