#!/bin/sh
# Everything the GPU machine is for, in one command (the device tool allows few calls):
# measures latent against PyTorch in the same run, then proves the OpenCL backend on the
# real GPU. Prepare on a Debian machine (see ../shared/GPU.md):
#   meson setup build-gpu --buildtype=release && meson compile -C build-gpu
#   ../shared/gpu/prepare.sh
# then, on the device, carrying .gpu and build-gpu:
#   . .gpu/env.sh; sh bench/gpu_run.sh build-gpu
# The figures come first, so a run cut short by the device's time limit still returns
# them; every step has a time limit of its own. With $OUT set (the device tool), the
# log is also written to $OUT/gpu_run.log.
set -u
build=${1:-build-gpu}
latent=$PWD/$build/apps/latent
secs=${SECS:-4}
seeds=${SEEDS:-1 2 3}
archs=${ARCHS:-mlp-ae conv-ae rnn-clf birnn-ae}
log=${OUT:-/tmp}/gpu_run.log
: > "$log"
say() { echo "$@" | tee -a "$log"; }
run() { timeout "${LIMIT:-120}" "$@" 2>&1 | grep -v '^epoch ' | tee -a "$log"; }
say "== devices"; run "$latent" devices
# Issue 2: mlp-ae; issue 3: conv-ae; issue 5: rnn-clf and birnn-ae. Alternated in pairs.
say "== speed: training, OpenCL vs PyTorch eager CUDA, same run"
for arch in $archs; do
  for batch in 32 256; do
    run "$latent" bench --arch "$arch" --batch "$batch" --device opencl:0 --seconds "$secs" --quiet
    run python3 bench/pytorch_ref.py bench --arch "$arch" --batch "$batch" --device cuda --seconds "$secs"
  done
done
say "== quality: the recipe (Adam 1e-3, batch 256, 5 epochs), latent on OpenCL, PyTorch on CUDA"
for seed in $seeds; do
  say "-- seed $seed"
  run "$latent" train --arch mlp-ae --epochs 5 --batch 256 --optimizer adam --lr 1e-3 --device opencl:0 \
    --seed "$seed" --quiet --out "/tmp/mlp-$seed.lt"
  run python3 bench/pytorch_ref.py quality --arch mlp-ae --epochs 5 --batch 256 --device cuda --seed "$seed"
done
say "== speed: CPU fallback vs PyTorch CPU, 2 threads each"
for arch in $archs; do
  for batch in 32 256; do
    run "$latent" bench --arch "$arch" --batch "$batch" --device cpu --threads 2 --seconds "$secs" --quiet
    run env OMP_NUM_THREADS=2 python3 bench/pytorch_ref.py bench --arch "$arch" --batch "$batch" --device cpu \
      --threads 2 --seconds "$secs"
  done
done
say "== op-by-op parity and model tests on the GPU (OpenCL device 0 is the GPU)"
# each runs on its own even if one before failed; the op tests cover every OpenCL device
cd "$build/tests" || exit 1
for t in test_backend_ops test_conv_ops test_rnn_ops test_latent_ops test_augment; do
  say "-- $t"; timeout "${LIMIT:-120}" ./$t 2>&1 | grep -E "^FAIL|passed, .* failed" | tail -n 12 | tee -a "$log"
done
for t in test_model test_rnn test_modelfile test_train; do
  say "-- $t on opencl:0"; run env LATENT_DEVICE=opencl:0 ./$t | tail -n 2
done
say "-- golden values on opencl:0"
run env LATENT_DEVICE=opencl:0 ./test_golden ../../tests/golden/conv_golden.txt 18 | tail -n 1
run env LATENT_DEVICE=opencl:0 ./test_golden ../../tests/golden/rnn_golden.txt 18 | tail -n 1
for t in test_resume; do
  say "-- $t on opencl:0"; run env LATENT_DEVICE=opencl:0 ./$t | tail -n 2
done
# Keras and PyTorch models imported and run on the GPU (where the build has libhdf5,
# libzip and Jansson; else it says it was built without them)
say "-- test_import on opencl:0"
run env LATENT_DEVICE=opencl:0 ./test_import ../../tests/golden | grep -E "max error|passed, .* failed"
# Data-parallel training (issue 18), where the device machine has Open MPI: two ranks
# against one process on the GPU, and the cost of the host-staged gradient sums there.
if command -v mpirun >/dev/null && [ -x ./test_dist ]; then
  say "-- test_dist: 2 ranks on opencl:0"
  run env LATENT_DEVICE=opencl:0 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
    mpirun -np 2 --oversubscribe ./test_dist | grep -E '^#|passed, .* failed'
  for arch in mlp-ae conv-ae rnn-clf; do
    run env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun -np 2 --oversubscribe "$latent" bench \
      --arch "$arch" --batch 256 --device opencl:0 --seconds "$secs" --quiet
  done
else
  say "-- test_dist: skipped (no mpirun, or latent built without MPI)"
fi
say "== done"
