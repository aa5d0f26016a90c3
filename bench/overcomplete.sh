#!/usr/bin/env bash
# Overcomplete autoencoders (a 1024-unit code for 784 pixels) trained three ways on
# 20,000 Fashion-MNIST images: plain, with a sparsity penalty, and as a denoiser. For
# each: the clean test loss, the loss of noisy inputs (stddev 0.3) against clean
# targets, the loss on images of pure uniform noise (nothing like the training data: a
# model that copies its input reconstructs them too), and how sparse the codes are.
# Losses are squared errors summed over a sample's 784 pixels (mse-sum).
#   family sigmoid: Dense 1024 sigmoid | Dense 784 sigmoid; sparsity = KL (rho 0.05)
#   family relu:    Dense 1024 relu | Dense 784 linear; sparsity = L1 activity penalty
#
#   bash bench/overcomplete.sh LATENT OUT_DIR sigmoid|relu [extra latent options]
set -eu
latent=$1 out=$2 family=$3
shift 3
mkdir -p "$out"
# 1000 images of uniform noise, as a CSV of 784 columns.
[[ -s $out/noise.csv ]] || awk 'BEGIN { srand(7); for (i = 0; i < 1000; i++) { s = "";
    for (j = 0; j < 784; j++) s = s (j ? "," : "") rand(); print s } }' >"$out/noise.csv"
if [[ $family == sigmoid ]]; then
    plain="dense:1024:sigmoid|dense:in:sigmoid" sparse="dense:1024:sigmoid,sparsity:0.05:0.05|dense:in:sigmoid"
else
    plain="dense:1024:relu|dense:in" sparse="dense:1024:relu,l1:0.01|dense:in"
fi
common=(--epochs 5 --limit 20000 --batch 64 --loss mse-sum --quiet "$@")
"$latent" train --arch "$plain" --out "$out/$family-plain.lt" "${common[@]}" >/dev/null
"$latent" train --arch "$sparse" --out "$out/$family-sparse.lt" "${common[@]}" >/dev/null
"$latent" train --arch "$plain" --noise 0.3 --out "$out/$family-denoise.lt" "${common[@]}" >/dev/null
for m in plain sparse denoise; do
    echo "== $family $m"
    "$latent" eval "$out/$family-$m.lt" --noise 0 "$@" | sed 's/^/clean:  /'
    "$latent" eval "$out/$family-$m.lt" --noise 0.3 "$@" | sed 's/^/noisy:  /' | grep "test"
    "$latent" eval "$out/$family-$m.lt" --data "$out/noise.csv" --noise 0 "$@" | sed 's/^/random: /' | grep "test"
done
