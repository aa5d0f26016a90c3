#!/usr/bin/env bash
# Overcomplete autoencoders (a 1024-unit sigmoid code for 784 pixels) trained three ways
# on Fashion-MNIST: plain, with the KL sparsity penalty, and as a denoiser. For each:
# clean test MSE, MSE of noisy inputs against clean targets, MSE on images of pure
# uniform noise (nothing like the training data: a model that copies its input
# reconstructs them too), and how sparse the codes are.
#
#   bash bench/overcomplete.sh LATENT OUT_DIR [extra latent options, e.g. --device cpu]
set -eu
latent=$1 out=$2
shift 2
mkdir -p "$out"
# 1000 images of uniform noise, as a CSV of 784 columns.
awk 'BEGIN { srand(7); for (i = 0; i < 1000; i++) { s = ""; for (j = 0; j < 784; j++) s = s (j ? "," : "") rand(); print s } }' \
    >"$out/noise.csv"
arch_plain="dense:1024:sigmoid|dense:in:sigmoid"
arch_sparse="dense:1024:sigmoid,sparsity:0.05:0.05|dense:in:sigmoid"
common=(--epochs 5 --limit 20000 --batch 64 --loss mse-sum --quiet "$@")
"$latent" train --arch "$arch_plain" --out "$out/plain.lt" "${common[@]}" >/dev/null
"$latent" train --arch "$arch_sparse" --out "$out/sparse.lt" "${common[@]}" >/dev/null
"$latent" train --arch "$arch_plain" --noise 0.3 --out "$out/denoise.lt" "${common[@]}" >/dev/null
for m in plain sparse denoise; do
    echo "== $m"
    "$latent" eval "$out/$m.lt" "$@" | sed 's/^/clean:  /'
    "$latent" eval "$out/$m.lt" --noise 0.3 "$@" | sed 's/^/noisy:  /' | grep "test"
    "$latent" eval "$out/$m.lt" --data "$out/noise.csv" "$@" | sed 's/^/random: /' | grep "test"
done
