#!/bin/sh
# OpenCL launches per training step, counted rather than timed: on a GPU each launch
# costs about 5 us of host and queue time whatever its size, so at small batches the
# count bounds the speed. Runs `latent train` for one epoch and for two on LIMIT
# samples through an interposer (bench/launch_shim.c) and divides the difference by
# the steps of an epoch, so setup and the final evaluation drop out.
#   sh bench/count_launches.sh BUILD ARCH [BATCH [LIMIT [DEVICE]]]
# e.g. sh bench/count_launches.sh build-rel birnn-ae 32 640 opencl
set -eu
build=$1 arch=$2 batch=${3:-32} limit=${4:-640} device=${5:-opencl}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -shared -fPIC -O2 -o "$tmp/shim.so" "$here/launch_shim.c" -ldl
for e in 1 2; do
  LD_PRELOAD="$tmp/shim.so" "$build/apps/latent" train --arch "$arch" --batch "$batch" --limit "$limit" \
    --epochs "$e" --device "$device" --quiet --out "$tmp/m.lt" --png "$tmp/m.png" 2>"$tmp/e$e" >/dev/null
done
steps=$(( (limit + batch - 1) / batch ))
echo "$arch, batch $batch, on $device: per training step ($steps steps an epoch)"
awk -v steps="$steps" '
  FNR == NR { one[$1 " " $2] = $3; next }
  $1 == "launch" { d = ($3 - one[$1 " " $2]) / steps; if (d > 0) { printf "  %-28s %6.1f\n", $2, d; total += d } }
  $1 == "transfer" { tr = tr sprintf("  buffer %-21s %6.1f\n", $2, ($3 - one[$1 " " $2]) / steps) }
  END { printf "  %-28s %6.1f\n%s", "all launches", total, tr }' "$tmp/e1" "$tmp/e2"
