. .gpu/env.sh
for ab in "conv-ae 32" "conv-ae 256" "rnn-clf 256" "birnn-ae 32" "birnn-ae 256"; do
  set -- $ab
  echo "=== $1 batch $2"
  LAUNCH_SHIM_TIME=1 LD_PRELOAD=$PWD/build-gpu/launch_shim.so timeout 60 ./build-gpu/apps/latent bench --arch $1 --batch $2 --device opencl:0 --seconds 1 --quiet 2>&1 | grep -E "^time|bench" | sort -k3 -n -r | head -25
done 2>&1 | tee $OUT/prof.log
