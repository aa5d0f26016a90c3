#!/usr/bin/env bash
# Every figure of the README that depends on latent's initial weights, run again: the
# learning-quality tables (mlp-ae, conv-ae, rnn-clf, vae over 79 seeds), the denoising
# and super-resolution scores, the latent-space figures, PCA against autoencoders,
# anomaly detection, pretraining with few labels, the overcomplete autoencoders and the
# time-series anomalies. Speed figures do not depend on the weights and are not here.
#
#   bash bench/quality_all.sh LATENT OUT_DIR [GROUP...]   (default: every group)
#
# Each group writes OUT_DIR/GROUP.log and ends it with a line "done"; a group whose log
# ends so is skipped, so a run cut short goes on where it stopped. Everything runs on
# the CPU fallback; results do not depend on the machine's load, only timings would.
# Data: Fashion-MNIST from Debian's dataset-fashion-mnist; the photos and series are
# fetched into OUT_DIR by bench/photos.sh and bench/fetch_statsmodels.sh.
set -eu
latent=$(realpath "$1") out=$2
shift 2
mkdir -p "$out"
here=$(cd "$(dirname "$0")" && pwd)
groups=${*:-mlp-ae conv-ae rnn-clf latent-figures denoise-sr overcomplete series vae-seeds pretrain}

# latent's test figure of one training run, from its output.
train_seed() { # ARCH SEED [options]
    local arch=$1 seed=$2
    shift 2
    echo "$arch seed $seed: $("$latent" train --arch "$arch" --epochs 5 --batch 256 --device cpu --seed "$seed" \
        --out "$out/$arch-$seed.lt" --quiet "$@")"
}

run_group() {
    case $1 in
    mlp-ae) for s in 1 2 3; do train_seed mlp-ae $s --optimizer adam --lr 1e-3; done ;;
    conv-ae) for s in 1 2; do train_seed conv-ae $s; done ;;
    rnn-clf) for s in 1 2 3; do train_seed rnn-clf $s; done ;;
    vae-seeds)
        for s in $(seq 1 79); do
            "$latent" train --arch vae --epochs 5 --batch 256 --device cpu --seed "$s" --out "$out/vae-seed.lt" --quiet
            echo "vae seed $s: $("$latent" eval "$out/vae-seed.lt" --device cpu)"
        done ;;
    latent-figures) bash "$here/latent_figures.sh" "$latent" "$out/figures" --device cpu ;;
    denoise-sr)
        [ -d "$out/photos/test" ] || bash "$here/photos.sh" "$out/photos"
        bash "$here/denoise_sr.sh" "$latent" "$out/photos" "$out/denoise-sr" --device cpu ;;
    overcomplete)
        bash "$here/overcomplete.sh" "$latent" "$out/overcomplete" sigmoid --device cpu
        bash "$here/overcomplete.sh" "$latent" "$out/overcomplete" relu --device cpu ;;
    series)
        [ -f "$out/series-data/co2.csv" ] || bash "$here/fetch_statsmodels.sh" "$out/series-data"
        bash "$here/series.sh" "$latent" "$out/series-data" "$out/series" --device cpu ;;
    pretrain) bash "$here/pretrain.sh" "$latent" 600 --device cpu ;;
    *) echo "unknown group '$1'" >&2; return 2 ;;
    esac
}

for g in $groups; do
    log=$out/$g.log
    if [ -f "$log" ] && [ "$(tail -n 1 "$log")" = done ]; then echo "$g: already done ($log)"; continue; fi
    echo "$g: running ($log)"
    start=$(date +%s)
    run_group "$g" >"$log" 2>&1
    echo "done" >>"$log"
    echo "$g: $(($(date +%s) - start)) s"
done
