#!/bin/sh
# Where an OpenCL training step's time goes, kernel by kernel: runs `latent bench` through
# bench/launch_shim.c with LAUNCH_SHIM_TIME=1, which drains the queue before each launch
# and finishes it after, and prints each kernel and launch shape's total wall time (us)
# and count, largest first. Each launch is timed alone, so the totals include one
# launch's overhead each and add up to more than a pipelined step takes: a tool to find
# the kernel that dominates, not a speed figure.
#   sh bench/profile_launches.sh BUILD ARCH [BATCH [DEVICE [SECONDS]]]
# e.g. sh bench/profile_launches.sh build-rel conv-ae 256 opencl:0
set -eu
build=$1 arch=$2 batch=${3:-32} device=${4:-opencl} secs=${5:-1}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -shared -fPIC -O2 -o "$tmp/shim.so" "$here/launch_shim.c" -ldl
LAUNCH_SHIM_TIME=1 LD_PRELOAD="$tmp/shim.so" "$build/apps/latent" bench --arch "$arch" --batch "$batch" \
  --device "$device" --seconds "$secs" --quiet 2>"$tmp/err" >"$tmp/out"
cat "$tmp/out"
grep '^time ' "$tmp/err" | sort -k3 -n -r | awk '{ printf "  %-44s %10s us %7s launches\n", $2, $3, $4 }'
