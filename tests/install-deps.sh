#!/usr/bin/env bash
# Installs the Debian 12 packages listed in tests/debian-packages.txt, non-interactively,
# through sudo unless already root: bash tests/install-deps.sh
# The list (one name a line, kept free of comments so `$(cat ...)` works too): the
# build tools and libraries; python3-pip, only to download Intel's CPU OpenCL runtime
# (tests/install-intel-opencl.sh, called at the end); pocl-opencl-icd, an OpenCL on the CPU, so the OpenCL
# backend is tested without a GPU; dataset-fashion-mnist, the data the tests train on.
# libc6-dev is named because --no-install-recommends leaves gcc without it; g++ builds
# the optional CLBlast C++ shim (cl_kernels/clblast_gemm.cpp). clang-15 brings
# libclang-common-15-dev, whose libFuzzer and sanitizer runtimes build the fuzz targets
# (tests/fuzz/, run_all.sh's last stage). libopenmpi-dev and openmpi-bin build and run
# the data-parallel training (meson option mpi, test dist-*); openssh-client because
# Open MPI's mpirun looks for an ssh (or rsh) even when every process is local.
set -euo pipefail
list="$(dirname "$0")/debian-packages.txt"
mapfile -t packages < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$list")
sudo=()
if [[ $(id -u) != 0 ]]; then sudo=(sudo); fi
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}"
# A second vendor's OpenCL for the suite (its own folder and ICD list, nothing
# system-wide); when it cannot be installed, run_all.sh skips its stage.
bash "$(dirname "$0")/install-intel-opencl.sh" || true
