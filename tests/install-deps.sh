#!/usr/bin/env bash
# Installs the Debian 12 packages listed in tests/debian-packages.txt, non-interactively,
# through sudo unless already root: bash tests/install-deps.sh
# The list (one name a line, kept free of comments so `$(cat ...)` works too): the
# build tools and libraries; pocl-opencl-icd, an OpenCL on the CPU, so the OpenCL
# backend is tested without a GPU; dataset-fashion-mnist, the data the tests train on.
# libc6-dev is named because --no-install-recommends leaves gcc without it; g++ builds
# the optional CLBlast C++ shim (cl_kernels/clblast_gemm.cpp).
set -euo pipefail
list="$(dirname "$0")/debian-packages.txt"
mapfile -t packages < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$list")
sudo=()
if [[ $(id -u) != 0 ]]; then sudo=(sudo); fi
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}"
