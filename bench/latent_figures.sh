#!/usr/bin/env bash
# The latent-space figures of the README: the vae's samples, a class's mean code and
# its variations, an interpolation, the conv-vae's 2-D manifold and codes, a t-SNE of
# the vae's codes, PCA against autoencoders with k-wide codes, and anomaly detection
# with one class as normal.
#
#   bash bench/latent_figures.sh LATENT OUT_DIR [extra latent options, e.g. --device cpu]
set -eu
latent=$1 out=$2
shift 2
mkdir -p "$out"
run() { echo "+ latent $*" >&2; "$latent" "$@"; }
run train --arch vae --epochs 5 --out "$out/vae.lt" --png "$out/vae-recon.png" --quiet "$@"
run generate "$out/vae.lt" --n 32 --out "$out/vae-prior.png" "$@"
run generate "$out/vae.lt" --class 0 --n 16 --out "$out/vae-class0.png" "$@"
run generate "$out/vae.lt" --between 0,1 --n 10 --out "$out/vae-between.png" "$@"
run embed "$out/vae.lt" --method tsne --limit 2000 --out "$out/vae-tsne.png" "$@"
run train --arch conv-vae --epochs 10 --out "$out/conv-vae.lt" --png "$out/conv-vae-recon.png" --quiet "$@"
run generate "$out/conv-vae.lt" --grid 15 --out "$out/conv-vae-manifold.png" "$@"
run embed "$out/conv-vae.lt" --out "$out/conv-vae-codes.png" "$@"
run embed --method pca --out "$out/pca.png" "$@"
run pca --k 2,8,32,64 "$@"
for k in 2 8 32 64; do
    echo "autoencoder k=$k: $(run train --arch "dense:256:elu,dense:$k|dense:256:elu,dense:in:sigmoid" --epochs 10 \
        --out "$out/ae$k.lt" --quiet "$@")"
done
run train --arch mlp-ae --class 0 --epochs 20 --out "$out/normal0.lt" --quiet "$@"
run anomaly "$out/normal0.lt" --class 0 --out "$out/anomaly0.csv" "$@"
