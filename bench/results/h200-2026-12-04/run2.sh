. .gpu/env.sh
b=build-gpu; L=$b/apps/latent
{
echo "== test_backend_ops (GPU and PoCL)"; (cd $b/tests && timeout 80 ./test_backend_ops 2>&1 | grep -E "^FAIL|split-K|passed, .* failed" | tail -n 12)
echo "== speed: split-K auto, split-K off (LATENT_CL_SPLIT_K=1), PyTorch CUDA"
for ab in "conv-ae 32" "conv-ae 256" "rnn-clf 32" "rnn-clf 256" "birnn-ae 32" "birnn-ae 256" "mlp-ae 32"; do
  set -- $ab
  timeout 30 $L bench --arch $1 --batch $2 --device opencl:0 --seconds 3 --quiet 2>&1 | sed 's/^/auto /'
  LATENT_CL_SPLIT_K=1 timeout 30 $L bench --arch $1 --batch $2 --device opencl:0 --seconds 3 --quiet 2>&1 | sed 's/^/off  /'
  timeout 40 python3 bench/pytorch_ref.py bench --arch $1 --batch $2 --device cuda --seconds 3 2>&1
done
echo "== conv-ae test figures on opencl:0 (subset)"
(cd $b/tests && LATENT_DEVICE=opencl:0 timeout 40 ./test_train 2>&1 | tail -n 2)
for ab in "conv-ae 256" "birnn-ae 256"; do
  set -- $ab
  echo "=== profile $1 batch $2 (each launch alone, finished: wall us total, count)"
  LAUNCH_SHIM_TIME=1 LD_PRELOAD=$PWD/$b/launch_shim.so timeout 30 $L bench --arch $1 --batch $2 --device opencl:0 --seconds 1 --quiet 2>&1 | grep -E "^time" | sort -k3 -n -r | head -16
done
} 2>&1 | tee $OUT/run2.log
