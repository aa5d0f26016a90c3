#!/usr/bin/env bash
# Fetches three real time series from Debian's python3-statsmodels package without
# installing it (nor its Python dependencies): the package is downloaded with
# apt-get download and unpacked with dpkg -x into a scratch folder, and co2.csv,
# sunspots.csv and elnino.csv are copied into OUT_DIR.
#   co2.csv       weekly CO2 at Mauna Loa, 1958-03-29 .. 2001-12-29: date (YYYYMMDD), co2
#                 (ppm); 2284 rows, 59 of them empty (read with --interpolate)
#   sunspots.csv  yearly sunspot activity 1700 .. 2008: YEAR, SUNACTIVITY; 309 rows
#   elnino.csv    monthly sea surface temperature (degrees C), 1950 .. 2010: YEAR, JAN ..
#                 DEC; 61 rows of 12 months (read across the rows with --wide)
#
#   bash bench/fetch_statsmodels.sh OUT_DIR
set -eu
out=${1:?usage: fetch_statsmodels.sh OUT_DIR}
mkdir -p "$out"
scratch=$(mktemp -d "${TMPDIR:-/tmp}/statsmodels.XXXXXX")
# apt-get run as root downloads as its _apt user, which must be able to write here, or
# apt warns "Download is performed unsandboxed as root"; as another user it downloads
# as that user.
if ((EUID == 0)) && id -u _apt >/dev/null 2>&1; then chown _apt "$scratch"; fi
trap 'rm -rf "$scratch"' EXIT
(cd "$scratch" && apt-get download python3-statsmodels >/dev/null)
dpkg -x "$scratch"/python3-statsmodels_*.deb "$scratch/pkg"
datasets=$scratch/pkg/usr/lib/python3/dist-packages/statsmodels/datasets
for name in co2 sunspots elnino; do
    cp "$datasets/$name/$name.csv" "$out/$name.csv"
    echo "$out/$name.csv: $(($(wc -l <"$out/$name.csv") - 1)) rows, header: $(head -n 1 "$out/$name.csv")"
done
