#!/usr/bin/env bash
# seq-ae (LSTM 64 | RepeatVector, LSTM 64, TimeDistributed Dense) as an anomaly detector
# on the three statsmodels series (bench/fetch_statsmodels.sh DATA_DIR fetches them): train
# on the windows of the first 80% of the rows, print the test loss on the windows of the
# last 20%, then score every window of the whole series against the 95th percentile of
# the training windows' errors and draw OUT_DIR/NAME-anomaly.png.
#   co2       weekly: a year (52 weeks) a window, gaps interpolated; once as it is and once
#             with each window centred on its mean (the trend lifts the test rows above
#             every training row)
#   sunspots  yearly: an 11-year solar cycle a window
#   elnino    12 monthly columns a row, read across the rows: a year (12 months) a window
#
#   bash bench/series.sh LATENT DATA_DIR OUT_DIR [extra latent options, e.g. --device cpu]
set -eu
latent=$1 data=$2 out=$3
shift 3
mkdir -p "$out"
recipe=(--epochs 200 --batch 32 --validation-split 0.2 --patience 20 --seed 1)
run() {
    local name=$1 csv=$2
    shift 2
    echo "== $name: $*"
    "$latent" train --data "$data/$csv" "$@" "${recipe[@]}" --out "$out/$name.lt" "${extra[@]}" 2>"$out/$name-train.log"
    grep -o "saved .*" "$out/$name-train.log"
    "$latent" anomaly "$out/$name.lt" --data "$data/$csv" "$@" --out "$out/$name-anomaly.csv" --quiet "${extra[@]}" |
        tee "$out/$name-anomaly.txt"
    # windows wholly in the test rows, and how many of them were flagged
    local first_test
    first_test=$(sed -n 's/.*test rows \([0-9]*\)-.*/\1/p' "$out/$name-anomaly.txt")
    awk -F, -v t="$first_test" 'NR > 1 && $2 >= t { n++; f += $5 } END { printf "test windows flagged: %d of %d\n", f, n }' \
        "$out/$name-anomaly.csv"
}
extra=("$@")
run co2-level co2.csv --columns co2 --interpolate --window 52
run co2 co2.csv --columns co2 --interpolate --window 52 --center-windows
run sunspots sunspots.csv --columns SUNACTIVITY --window 11
run elnino elnino.csv --columns 2-13 --wide --window 12
