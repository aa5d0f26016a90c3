#!/bin/sh
# latent's CPU fallback against PyTorch eager on the CPU, the same architecture, batch
# and thread count, one after the other on the same machine.
#   bench/compare_cpu.sh BUILD_DIR PYTHON [SECONDS]
set -eu
build=${1:-build}; py=${2:-python3}; secs=${3:-5}
for threads in 1 2; do
  for batch in 32 256; do
    "$build/apps/latent" bench --arch mlp-ae --batch "$batch" --device cpu --threads "$threads" --seconds "$secs" --quiet
    OMP_NUM_THREADS=$threads "$py" bench/pytorch_ref.py bench --arch mlp-ae --batch "$batch" --device cpu --threads "$threads" --seconds "$secs"
  done
done
