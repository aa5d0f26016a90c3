#!/usr/bin/env bash
# The denoising and super-resolution figures of the README, end to end on one device:
#   Fashion-MNIST: conv-ae trained with --noise 0.3 (the lecture's noise), sr2x;
#   photos (bench/photos.sh): denoise-rgb (the lecture's) and denoise-res with the
#   lecture's augmentation and noise 0.3, and sr2x; scored on the two held-out
#   scikit-learn photos.
#
#   bash bench/denoise_sr.sh LATENT PHOTOS_DIR OUT_DIR [extra latent options, e.g. --device cpu]
set -eu
latent=$1 photos=$2 out=$3
shift 3
mkdir -p "$out"
run() { echo "+ latent $*" >&2; "$latent" "$@"; }
run train --arch conv-ae --noise 0.3 --epochs 5 --out "$out/dn-fashion.lt" --png "$out/dn-fashion-train.png" --quiet "$@"
run score "$out/dn-fashion.lt" --noise 0.3 --png "$out/dn-fashion.png" --n 6 "$@"
run train --arch denoise-rgb --data "$photos" --stride 8 --noise 0.3 --augment lecture --epochs 10 --batch 32 \
    --out "$out/dn-photos.lt" --png "$out/dn-photos-train.png" --quiet "$@"
run score "$out/dn-photos.lt" "$photos"/test/*.jpg --noise 0.3 --png "$out/dn-photos.png" "$@"
run train --arch denoise-res --data "$photos" --patch 32 --stride 16 --noise 0.3 --augment lecture --epochs 20 \
    --batch 32 --out "$out/dnres-photos.lt" --png "$out/dnres-photos-train.png" --quiet "$@"
run score "$out/dnres-photos.lt" "$photos"/test/*.jpg --noise 0.3 --png "$out/dnres-photos.png" "$@"
run train --arch sr2x --data "$photos" --patch 32 --stride 16 --epochs 20 --batch 32 --out "$out/sr-photos.lt" \
    --png "$out/sr-photos-train.png" --quiet "$@"
run score "$out/sr-photos.lt" "$photos"/test/*.jpg --downscale 2 --png "$out/sr-photos.png" "$@"
run train --arch sr2x --limit 20000 --epochs 3 --out "$out/sr-fashion.lt" --png "$out/sr-fashion-train.png" --quiet "$@"
run score "$out/sr-fashion.lt" --downscale 2 --png "$out/sr-fashion.png" --n 6 "$@"
