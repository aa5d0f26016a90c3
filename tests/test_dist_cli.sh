#!/usr/bin/env bash
# `mpirun -np 2 latent train`: two processes train one model, as one would.
#
#   tests/test_dist_cli.sh path/to/latent [mpirun]
#
# 1. Two ranks against one process: the same test figure (to float rounding), printed
#    once; rank 0 says which device every rank took; `latent bench` on two ranks.
# 2. SIGTERM to mpirun: every rank stops at the same step, rank 0 saves and says how to
#    resume; `mpirun -np 2 latent train --resume` finishes the run.
# 3. Faults: a rank whose --data is missing, and ranks whose data differ, end the job
#    within seconds with a message naming the rank; a rank killed with SIGKILL makes
#    mpirun end the job. In every case the model file from before is complete: the old
#    one, or (SIGKILL) a complete new checkpoint.
# 4. Started without mpirun, train behaves as ever (the rest of the suite checks that).
# Runs on LATENT_DEVICE's backend (cpu by default). CI runs as root, which mpirun
# refuses unless told (OMPI_ALLOW_RUN_AS_ROOT*); each rank computes with one thread.
set -u

source "$(dirname "$0")/checks.sh"
check_start test_dist_cli.sh "${1:?usage: test_dist_cli.sh path/to/latent [mpirun]}" dist
MPIRUN=${2:-mpirun}
export LATENT_DEVICE=${LATENT_DEVICE:-cpu} OMP_NUM_THREADS=1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
cd "$tmp" || exit 1
CHECK_STDERR=$tmp/err.txt
echo "# latent: $LATENT on $LATENT_DEVICE, temp: $tmp"

# mpirun in a session of its own: when it ends a job it signals its process group,
# which must not be this script's.
mpi() { setsid "$MPIRUN" "$@"; }
# Runs latent on 2 ranks with the arguments given.
two() { mpi -np 2 "$LATENT" "$@"; }
# The test figure in file $1.
figure() { awk '/^test mse:/ { print $3 }' "$1"; }
# Whether numbers $1 and $2 agree to relative tolerance $3.
close() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; m = b < 0 ? -b : b; exit !(a != "" && d <= t * m) }'; }

# 1. Two ranks against one process.
TRAIN=(train --data fashion-mnist --limit 2000 --epochs 3 --batch 50 --noise 0.1 --seed 4)
"$LATENT" "${TRAIN[@]}" --out one.lt >one.txt 2>err.txt
record "one process" "$([[ $? == 0 ]] || echo "exit $?")"
two "${TRAIN[@]}" --out two.lt >two.txt 2>err.txt
rc=$?
record "two ranks" "$([[ $rc == 0 ]] || echo "exit $rc")"
a=$(figure one.txt) b=$(figure two.txt)
record "the same test figure ($a alone, $b on two ranks)" "$(close "$b" "$a" 1e-4 || echo "differs")"
record "the figure is printed once" "$([[ $(grep -c '^test mse:' two.txt) == 1 ]] || echo "$(cat two.txt)")"
record "rank 0 names every rank's device" "$(grep -q 'rank 0: .*node rank 0 of 2' err.txt &&
    grep -q 'rank 1: .*node rank 1 of 2' err.txt || echo "no device lines")"
record "the model written by rank 0 loads" "$(loads two.lt || echo "two.lt does not load")"

two bench --seconds 0.3 --batch 64 >bench.txt 2>err.txt
rc=$?
record "bench on two ranks" "$([[ $rc == 0 ]] && grep -Eq '^bench mlp-ae batch 64 on 2 ranks .* samples/s, .* ms a step, .*% of it summing gradients \(471[0-9]{3} bytes a rank a step\)$' bench.txt || echo "exit $rc: $(cat bench.txt)")"

# 2. SIGTERM to mpirun: a clean stop on every rank, then a resume on two ranks.
LONG=(train --data fashion-mnist --limit 3000 --epochs 400 --batch 64 --seed 2)
setsid "$MPIRUN" -np 2 "$LATENT" "${LONG[@]}" --out stop.lt >/dev/null 2>err.txt & # mpirun itself (setsid execs it)
job=$!
for _ in $(seq 100); do grep -q "^Epoch 2/" err.txt 2>/dev/null && break; sleep 0.1; done
kill -TERM "$job"
wait "$job"
rc=$?
record "SIGTERM: mpirun ends" "$([[ $rc != 0 ]] || echo "exit 0")"
record "SIGTERM: stopped, saved, says how to resume" "$(grep -q 'stopped by SIGTERM at epoch' err.txt &&
    grep -q 'Resume with: latent train --resume stop.lt' err.txt || echo "no stop message")"
record "SIGTERM: the checkpoint loads" "$(loads stop.lt || echo "stop.lt does not load")"
two train --resume stop.lt --epochs 4 >/dev/null 2>err.txt
rc=$?
record "resumed on two ranks to the end" "$([[ $rc == 0 ]] && "$LATENT" eval stop.lt >/dev/null 2>&1 || echo "exit $rc")"

# 3. Faults. Each rank's command line is picked by a shell from the rank Open MPI gives it.
cp one.lt old.lt
# Runs latent on 2 ranks, rank 1 with its own --data $1, the rest as "$@" (after --data X).
split_data() {
    local d1=$1
    shift
    mpi -np 2 bash -c 'if [[ $OMPI_COMM_WORLD_RANK == 1 ]]; then d=$1; else d=$2; fi; shift 2; exec "$@" --data "$d"' \
        _ "$d1" "$D0" "$LATENT" "$@"
}
D0=fashion-mnist
start=$SECONDS
split_data nothere.csv train --limit 500 --epochs 200 --out old.lt >/dev/null 2>err.txt
rc=$?
record "rank 1 without its data: the job ends ($((SECONDS - start)) s)" "$([[ $rc != 0 && $((SECONDS - start)) -lt 60 ]] || echo "exit $rc")"
record "rank 1 without its data: named" "$(grep -q "rank 1 of 2: --data 'nothere.csv'" err.txt || echo "no message naming rank 1")"
record "rank 1 without its data: the old model stays" "$(cmp -s old.lt one.lt || echo "old.lt changed")"

awk 'BEGIN { srand(3); print "a,b,c"; for (i = 0; i < 300; i++) printf "%.4f,%.4f,%.4f\n", rand(), rand(), rand() }' >d0.csv
awk 'NR == 40 { $0 = "0.5,0.5,0.5" } { print }' d0.csv >d1.csv
D0=d0.csv
split_data d1.csv train --arch 'dense:2|dense:3' --epochs 5 --out old.lt >/dev/null 2>err.txt
rc=$?
record "ranks with other data: refused" "$([[ $rc != 0 ]] || echo "exit 0")"
record "ranks with other data: named" "$(grep -q 'rank 1 holds other training data than rank 0' err.txt || echo "no message")"
record "ranks with other data: the old model stays" "$(cmp -s old.lt one.lt || echo "old.lt changed")"

# SIGKILL of rank 1 midway through a run that writes a checkpoint every epoch.
rm -f kill.lt
setsid "$MPIRUN" -np 2 bash -c 'if [[ $OMPI_COMM_WORLD_RANK == 1 ]]; then echo $$ >rank1.pid; fi; exec "$@"' _ \
    "$LATENT" "${LONG[@]}" --checkpoint-every 1 --out kill.lt >/dev/null 2>err.txt &
job=$!
for _ in $(seq 100); do grep -q "checkpoint: kill.lt after epoch 2" err.txt 2>/dev/null && break; sleep 0.1; done
start=$SECONDS
kill -KILL "$(cat rank1.pid)"
wait "$job"
rc=$?
record "SIGKILL of rank 1: mpirun ends the job ($((SECONDS - start)) s)" "$([[ $rc != 0 && $((SECONDS - start)) -lt 60 ]] || echo "exit $rc")"
record "SIGKILL of rank 1: the checkpoint is complete" "$(loads kill.lt || echo "kill.lt does not load")"

check_end
