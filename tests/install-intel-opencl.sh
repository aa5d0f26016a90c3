#!/usr/bin/env bash
# Installs Intel's CPU OpenCL runtime (PyPI: intel-opencl-rt, with intel-cmplr-lib-rt
# for libimf/libsvml/libirng/libintlc and tbb) into .deps/intel-opencl/ of the
# repository, and writes an ICD vendors folder of its own there, so that a second
# vendor's OpenCL runs the suite without any system-wide change. Nothing is installed
# into Python: pip only downloads the wheels, which are zip files we unpack.
#   bash tests/install-intel-opencl.sh      (tests/install-deps.sh calls it)
# Exit status 0 when the runtime is ready; otherwise it says why and exits 1, and
# tests/run_all.sh then skips its stage.
set -u
cd "$(dirname "$0")/.." || exit 1
dest=.deps/intel-opencl
if [[ -f $dest/ready ]]; then
    echo "intel-opencl: already installed in $dest"
    exit 0
fi
rm -rf "$dest"
mkdir -p "$dest/wheels" "$dest/rt" "$dest/icd" || exit 1
if ! python3 -m pip download --quiet --no-deps -d "$dest/wheels" intel-opencl-rt intel-cmplr-lib-rt tbb; then
    echo "intel-opencl: cannot download the wheels from PyPI (no registry?); its test stage will be skipped"
    exit 1
fi
for w in "$dest"/wheels/*.whl; do
    python3 -m zipfile -e "$w" "$dest/rt/" || { echo "intel-opencl: cannot unpack $w"; exit 1; }
done
rm -rf "$dest/wheels"
lib=$(find "$(pwd)/$dest/rt" -name libintelocl.so -print -quit)
if [[ -z $lib ]]; then
    echo "intel-opencl: the wheel holds no libintelocl.so; its test stage will be skipped"
    exit 1
fi
echo "$lib" > "$dest/icd/intel-cpu.icd"
# libintelocl.so needs the compiler runtime's and TBB's libraries, not the wheel's own
# OpenCL loader (Debian's ocl-icd stays the loader).
libpath=$(find "$(pwd)/$dest/rt" -path '*intel_opencl_rt*' -prune -o -name '*.so*' -printf '%h\n' | sort -u | paste -sd:)
echo "$libpath" > "$dest/library_path"
touch "$dest/ready"
echo "intel-opencl: installed in $dest"
