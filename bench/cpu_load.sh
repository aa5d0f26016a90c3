#!/bin/sh
# The CPU fallback on a quiet machine and under load (issue 16): `latent bench` on the CPU,
# training and prediction, latent's default threads (--threads 0) and --threads 1
# alternating, first quiet, then beside one competing CPU-bound process (`yes`, not
# niced) that this script starts and stops itself; PyTorch with 1 and 2 threads beside
# them when python3 has torch. Prints the medians of REPS runs and the ratios:
#   default / 1 thread under load (the issue asks >= 0.9), and default under load /
#   default quiet (>= 0.4 at batch 256).
# Run it alone: a build or a test suite beside it makes every figure worthless.
#   sh bench/cpu_load.sh BUILD                   (e.g. build-rel)
#   ARCHS="mlp-ae conv-ae" BATCHES="32 256" SECS=1 REPS=3 sh bench/cpu_load.sh build-rel
set -u
latent=$1/apps/latent
archs=${ARCHS:-mlp-ae swissroll-ae conv-ae vae conv-vae rnn-clf birnn-ae}
batches=${BATCHES:-32 256}
secs=${SECS:-1}
reps=${REPS:-3}
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp)
torch=0
python3 -c 'import torch' 2>/dev/null && torch=1
trap 'kill "$load" 2>/dev/null; rm -f "$out"' EXIT
load=""

# Prints the samples/s of one latent bench run (0 when it failed).
lt_rate() { # threads mode arch batch
    mode=""
    [ "$2" = predict ] && mode=--predict
    "$latent" bench --device cpu --threads "$1" $mode --arch "$3" --batch "$4" --seconds "$secs" --quiet 2>/dev/null |
        sed -n 's/.*: \([0-9]*\) samples\/s$/\1/p' | grep . || echo 0
}
# The same for PyTorch's reference model (training only).
pt_rate() { # threads arch batch
    OMP_NUM_THREADS=$1 python3 "$here/pytorch_ref.py" bench --arch "$2" --batch "$3" --device cpu --threads "$1" \
        --seconds "$secs" 2>/dev/null | sed -n 's/.*: \([0-9]*\) samples\/s$/\1/p' | grep . || echo 0
}

for cond in quiet load; do
    if [ "$cond" = load ]; then
        yes >/dev/null &
        load=$!
        sleep 1
    fi
    for a in $archs; do
        for b in $batches; do
            for mode in train predict; do
                r=0
                while [ "$r" -lt "$reps" ]; do
                    echo "$cond $a $b $mode default $(lt_rate 0 "$mode" "$a" "$b")" >>"$out"
                    echo "$cond $a $b $mode one $(lt_rate 1 "$mode" "$a" "$b")" >>"$out"
                    if [ "$torch" = 1 ] && [ "$mode" = train ]; then
                        echo "$cond $a $b $mode torch1 $(pt_rate 1 "$a" "$b")" >>"$out"
                        echo "$cond $a $b $mode torch2 $(pt_rate 2 "$a" "$b")" >>"$out"
                    fi
                    r=$((r + 1))
                done
            done
        done
    done
    if [ -n "$load" ]; then kill "$load"; wait "$load" 2>/dev/null; load=""; fi
done

# Medians per (condition, arch, batch, mode, setting), then one row per arch, batch, mode.
sort "$out" | awk -v torch="$torch" '
    { key = $1 " " $2 " " $3 " " $4 " " $5; v[key, ++n[key]] = $6; keys[key] = 1 }
    function med(k,   m, i, j, t, a) {
        m = n[k]; if (!m) return 0
        for (i = 1; i <= m; i++) a[i] = v[k, i]
        for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
        return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
    }
    END {
        printf "%-12s %5s %-8s | %10s %10s | %10s %10s %6s %7s", "arch", "batch", "mode", "quiet def", "quiet 1t",
               "load def", "load 1t", "d/1t", "ld/qd"
        if (torch) printf " | %9s %9s %9s %9s", "pt q 1t", "pt q 2t", "pt l 1t", "pt l 2t"
        printf "\n"
        for (k in keys) { split(k, f, " "); if (f[1] == "quiet" && f[5] == "default") rows[f[2] " " f[3] " " f[4]] = 1 }
        for (r in rows) {
            split(r, f, " ")
            qd = med("quiet " r " default"); q1 = med("quiet " r " one")
            ld = med("load " r " default"); l1 = med("load " r " one")
            printf "%-12s %5s %-8s | %10d %10d | %10d %10d %6.2f %7.2f", f[1], f[2], f[3], qd, q1, ld, l1,
                   l1 ? ld / l1 : 0, qd ? ld / qd : 0
            if (torch && f[3] == "train")
                printf " | %9d %9d %9d %9d", med("quiet " r " torch1"), med("quiet " r " torch2"),
                       med("load " r " torch1"), med("load " r " torch2")
            printf "\n"
        }
    }' | { IFS= read -r head; echo "$head"; sort -k1,1 -k2,2n -k3,3r; }
