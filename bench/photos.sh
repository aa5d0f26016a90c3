#!/usr/bin/env bash
# Real photos for the denoising and super-resolution figures, from Debian packages
# (downloaded, not installed: `apt-get download` + `dpkg -x` need no root and pull in
# none of their Python dependencies):
#   train/: scikit-image's colour sample photos (astronaut, coffee, chelsea,
#           motorcycle_left, rocket), from python3-skimage;
#   test/:  scikit-learn's two sample photos (china.jpg, flower.jpg), from python3-sklearn,
#           held out from training.
#
#   bash bench/photos.sh [DIR]   (default: photos)
set -eu
dir=${1:-photos}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# apt-get run as root downloads as its _apt user, which must be able to write here, or
# apt warns "Download is performed unsandboxed as root"; as another user it downloads
# as that user.
if ((EUID == 0)) && id -u _apt >/dev/null 2>&1; then chown _apt "$work"; fi
(cd "$work" && apt-get download python3-skimage python3-sklearn >/dev/null)
for deb in "$work"/*.deb; do dpkg -x "$deb" "$work/x"; done
mkdir -p "$dir/train" "$dir/test"
sk=$work/x/usr/lib/python3/dist-packages/skimage/data
for f in astronaut.png coffee.png chelsea.png motorcycle_left.png rocket.jpg; do cp "$sk/$f" "$dir/train/"; done
cp "$work"/x/usr/lib/python3/dist-packages/sklearn/datasets/images/{china,flower}.jpg "$dir/test/"
ls -l "$dir/train" "$dir/test"
