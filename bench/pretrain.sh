#!/usr/bin/env bash
# Few labels: a Dense 256-64 elu classifier with a softmax head fine-tuned on the first
# N labelled Fashion-MNIST training images, with and without greedy layer-wise
# pretraining on all 60,000 training images (no labels), over several seeds.
#
#   bash bench/pretrain.sh LATENT N [extra latent options, e.g. --device cpu]
set -eu
latent=$1 n=$2
shift 2
for seed in 1 2 3; do
    plain=$("$latent" classify --labels "$n" --batch 32 --epochs 50 --seed "$seed" --out /tmp/clf-plain.lt --quiet "$@")
    pre=$("$latent" classify --labels "$n" --batch 32 --epochs 50 --seed "$seed" --pretrain --pretrain-epochs 10 \
        --out /tmp/clf-pre.lt --quiet "$@")
    echo "seed $seed, $n labels: without pretraining ${plain#test accuracy: }, with ${pre#test accuracy: }"
done
