#!/bin/sh
# Everything the GPU machine is for, in one command (the device tool allows few calls):
# proves the OpenCL backend on the real GPU, then measures latent against PyTorch in the
# same run. Prepare on a Debian machine (see ../shared/GPU.md):
#   meson setup build-gpu --buildtype=release && meson compile -C build-gpu
#   ../shared/gpu/prepare.sh
# then, on the device, carrying .gpu and build-gpu:
#   . .gpu/env.sh; sh bench/gpu_run.sh build-gpu
set -u
build=${1:-build-gpu}
latent=$PWD/$build/apps/latent
secs=${SECS:-5}
echo "== devices"; "$latent" devices
echo "== op-by-op parity and model tests on the GPU (OpenCL device 0 is the GPU)"
# each runs on its own even if one before failed; the op tests cover every OpenCL device
(cd "$build/tests" || exit 1
  for t in test_backend_ops test_conv_ops test_rnn_ops test_latent_ops test_augment; do
    echo "-- $t"; ./$t | grep -E "^FAIL|passed, .* failed" | tail -n 12
  done
  for t in test_model test_rnn test_modelfile test_train; do
    echo "-- $t on opencl:0"; LATENT_DEVICE=opencl:0 ./$t | tail -n 2
  done
  echo "-- golden values on opencl:0"
  LATENT_DEVICE=opencl:0 ./test_golden ../../tests/golden/conv_golden.txt 18 | tail -n 1
  LATENT_DEVICE=opencl:0 ./test_golden ../../tests/golden/rnn_golden.txt 18 | tail -n 1)
echo "== launches per training step (counted, not timed; see bench/count_launches.sh)"
for arch in ${ARCHS:-mlp-ae conv-ae rnn-clf birnn-ae}; do
  sh bench/count_launches.sh "$build" "$arch" 32 640 opencl:0 | grep "all launches" | sed "s/^/$arch /"
done
# Issue 2: mlp-ae; issue 3: conv-ae; issue 5: rnn-clf and birnn-ae.
archs=${ARCHS:-mlp-ae conv-ae rnn-clf birnn-ae}
echo "== speed: training, OpenCL vs PyTorch eager CUDA, same run"
for arch in $archs; do
  for batch in 32 256; do
    "$latent" bench --arch "$arch" --batch "$batch" --device opencl:0 --seconds "$secs" --quiet
    python3 bench/pytorch_ref.py bench --arch "$arch" --batch "$batch" --device cuda --seconds "$secs"
  done
done
echo "== speed: CPU fallback vs PyTorch CPU, 2 threads each"
for arch in $archs; do
  for batch in 32 256; do
    "$latent" bench --arch "$arch" --batch "$batch" --device cpu --threads 2 --seconds "$secs" --quiet
    OMP_NUM_THREADS=2 python3 bench/pytorch_ref.py bench --arch "$arch" --batch "$batch" --device cpu --threads 2 \
      --seconds "$secs"
  done
done
echo "== quality: the recipe (Adam 1e-3, batch 256, 5 epochs), latent on OpenCL, PyTorch on CUDA"
for seed in 1 2 3; do
  "$latent" train --arch mlp-ae --epochs 5 --batch 256 --optimizer adam --lr 1e-3 --device opencl:0 \
    --seed "$seed" --quiet --out "/tmp/mlp-$seed.lt"
  python3 bench/pytorch_ref.py quality --arch mlp-ae --epochs 5 --batch 256 --device cuda --seed "$seed" 2>/dev/null
done
