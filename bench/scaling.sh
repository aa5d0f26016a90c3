#!/usr/bin/env bash
# Data-parallel scaling on this machine, and a model of it on many GPUs (issue 18).
#
#   bash bench/scaling.sh [BUILD_DIR] [ROUNDS] [SECONDS]
#
# 1. For mlp-ae, conv-ae and rnn-clf at global batch 256: samples/s of one process with
#    2 threads against 2 ranks (mpirun -np 2) with 1 thread each, alternated ROUNDS times
#    (default 5) in one run, medians; the scaling efficiency is their ratio (both use
#    the same 2 cores). Also the share of a 2-rank step spent summing gradients and the
#    bytes a rank puts into a step's sums.
# 2. The per-step compute time of one process at batches 64 and 256 (1 thread), fitted
#    as t(b) = a + c*b, and the bytes of the all-reduce, give a model of the efficiency
#    at N = 8, 64 and 512 GPUs on 100 Gbit/s links: a ring all-reduce sends
#    2(N-1)/N * bytes over each link and takes 2(N-1) latency steps (alpha = 5 us each),
#    and efficiency = t(b) / (t(b) + t_comm) without overlap. Also the batch per GPU at
#    which the efficiency reaches 90%: t(b) >= 9 * t_comm.
#    The compute times are this CPU's (the only device measured here); a GPU computes a
#    step faster, which lowers every efficiency: its own t(b) goes in the same formula.
# Run it on a quiet machine: nothing else running (see the README, "Benchmarks").
set -u
build=${1:-build-test}
rounds=${2:-5}
secs=${3:-3}
latent=$(cd "$build/apps" && pwd)/latent
mpirun=${MPIRUN:-mpirun}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export LATENT_DEVICE=cpu
archs=${ARCHS:-mlp-ae conv-ae rnn-clf}

# "samples/s" of a bench line on stdin.
sps() { sed -n 's/.*: \([0-9][0-9]*\) samples\/s.*/\1/p'; }
# The median of the numbers on stdin.
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "# bench/scaling.sh: $latent, $rounds rounds of $secs s, $(nproc) CPUs, $(date -u +%FT%TZ)"
printf '%-8s %12s %12s %10s %12s %14s\n' arch "1x2 samp/s" "2x1 samp/s" efficiency "comm share" "bytes/rank/step"
declare -A t64 t256 bytes
for arch in $archs; do
    one=() two=() share=() by=""
    for _ in $(seq "$rounds"); do
        one+=("$("$latent" bench --arch "$arch" --batch 256 --seconds "$secs" --threads 2 --quiet | sps)")
        line=$("$mpirun" -np 2 --bind-to none "$latent" bench --arch "$arch" --batch 256 --seconds "$secs" --threads 1 \
            --quiet 2>/dev/null)
        two+=("$(echo "$line" | sps)")
        share+=("$(echo "$line" | sed -n 's/.*, \([0-9.]*\)% of it summing.*/\1/p')")
        by=$(echo "$line" | sed -n 's/.*(\([0-9]*\) bytes a rank a step).*/\1/p')
    done
    m1=$(printf '%s\n' "${one[@]}" | median)
    m2=$(printf '%s\n' "${two[@]}" | median)
    ms=$(printf '%s\n' "${share[@]}" | median)
    bytes[$arch]=$by
    printf '%-8s %12.0f %12.0f %9.1f%% %11.1f%% %14s\n' "$arch" "$m1" "$m2" "$(echo "$m2 $m1" | awk '{ print 100 * $1 / $2 }')" \
        "$ms" "$by"
    echo "#   $arch 1x2: ${one[*]}"
    echo "#   $arch 2x1: ${two[*]}"
    # per-step compute time alone, 1 thread (one GPU's share of the work, here a core's)
    for b in 64 256; do
        s=$("$latent" bench --arch "$arch" --batch "$b" --seconds "$secs" --threads 1 --quiet | sps)
        t=$(echo "$b $s" | awk '{ printf "%.6f", $1 / $2 }')
        if [[ $b == 64 ]]; then t64[$arch]=$t; else t256[$arch]=$t; fi
    done
done

echo
echo "# Model: N GPUs on 100 Gbit/s links, ring all-reduce, alpha = 5 us a step; t(b) = a + c*b"
echo "# from this machine's 1-thread step times at b = 64 and 256; efficiency at the batch per GPU b."
printf '%-8s %10s %10s %8s %8s %8s %8s %8s    %s\n' arch "a ms" "c us/smp" N b=32 b=64 b=256 b=1024 "all-reduce time, batch a GPU for 90%"
for arch in $archs; do
    awk -v arch="$arch" -v t64="${t64[$arch]}" -v t256="${t256[$arch]}" -v bytes="${bytes[$arch]}" 'BEGIN {
        c = (t256 - t64) / 192; a = t64 - 64 * c; if (a < 0) a = 0
        bw = 100e9 / 8; alpha = 5e-6
        for (i = 0; i < 3; i++) {
            N = i == 0 ? 8 : i == 1 ? 64 : 512
            comm = 2 * (N - 1) / N * bytes / bw + 2 * (N - 1) * alpha
            line = sprintf("%-8s %10.3f %10.3f %8d", arch, 1e3 * a, 1e6 * c, N)
            split("32 64 256 1024", bs, " ")
            for (k = 1; k <= 4; k++) { t = a + c * bs[k]; line = line sprintf(" %7.1f%%", 100 * t / (t + comm)) }
            need = c > 0 ? (9 * comm - a) / c : 0; if (need < 1) need = 1
            line = line sprintf("    comm %.3f ms, b >= %.0f for 90%%", 1e3 * comm, need)
            print line
        }
    }'
done
