#!/usr/bin/env bash
# `latent train --resume`, --init-from and checkpoints from the command line, and crash
# tests: training killed at random moments always leaves a model file that is complete
# and loads, and resuming from it, however often, ends on the very file an
# uninterrupted run writes.
#
#   tests/test_train_resume.sh path/to/latent [KILLS]
#
# 1. SIGKILL, KILLS times (default 24), at random moments of a run that writes a
#    checkpoint every epoch: during steps, during saves and, with the library's test
#    hook LATENT_TEST_SAVE_PAUSE_MS, between the complete temporary file and its rename.
#    After every kill the model file must load (its CRCs check) and be either the file
#    from before the kill or a new one; the next run resumes from it (or starts again
#    when the first checkpoint was never written). The last run is left to finish, and
#    its file must equal the uninterrupted run's byte for byte.
# 2. SIGTERM and SIGINT: training stops after its step, saves, says how to resume and
#    exits 128 + the signal; the resumed run again ends on the uninterrupted run's file.
# 3. A second SIGINT stops at once, writing nothing: an older file stays as it was.
# 4. Resumes refused (other options, other data), a finished run, an extended one,
#    --init-from, and the options a model records for the commands that read it.
# Runs on the CPU backend (LATENT_DEVICE=cpu), where resumed runs are bit-identical.
set -u

source "$(dirname "$0")/checks.sh"
check_start test_train_resume.sh "${1:?usage: test_train_resume.sh path/to/latent [KILLS]}" crash
KILLS=${2:-24}
export LATENT_DEVICE=cpu
cd "$tmp" || exit 1
CHECK_STDERR=$tmp/err.txt
echo "# latent: $LATENT, temp: $tmp, $KILLS kills"
# A run of a few seconds: 600 epochs of 125 small steps on the swiss roll, with the
# randomness a resume must reproduce (shuffles, input noise, a validation split).
TRAIN=(train --data swiss-roll --epochs 600 --batch 8 --noise 0.05 --validation-split 0.2 --seed 7)

"$LATENT" "${TRAIN[@]}" --quiet --out ref.lt >/dev/null 2>err.txt
record "the uninterrupted run" "$([[ $? == 0 && -s ref.lt ]] || echo "exit $?, no ref.lt")"


# Starts the next run in the background (pid in $run): resumes model.lt when it exists,
# else trains from the start; extra environment in "$@".
start_run() {
    if [[ -f model.lt ]]; then
        env "$@" "$LATENT" train --resume model.lt --quiet >/dev/null 2>err.txt &
    else
        env "$@" "$LATENT" "${TRAIN[@]}" --quiet --out model.lt --checkpoint-every 1 >/dev/null 2>err.txt &
    fi
    run=$!
}

# Waits until a temporary file of a save appears beside model.lt (at most 10 s); 0 when one did.
await_temp_file() {
    local i
    for ((i = 0; i < 2000; i++)); do
        compgen -G "model.lt.tmp.*" >/dev/null && return 0
        kill -0 "$run" 2>/dev/null || return 1
        sleep 0.005
    done
    return 1
}

# ------------------------------------------------------------------ 1. SIGKILL
rm -f model.lt
RANDOM=17 # the kill moments are the same on every run of the test
kills=0 in_rename=0 finished_early=0 fresh=0
for ((k = 1; k <= KILLS; k++)); do
    before=""
    [[ -f model.lt ]] && { cp model.lt before.lt; before=before.lt; }
    [[ -f model.lt ]] || fresh=$((fresh + 1))
    if ((k % 4 == 0)); then
        # between the complete temporary file and the rename
        start_run LATENT_TEST_SAVE_PAUSE_MS=300
        if await_temp_file; then
            sleep 0.05
            in_rename=$((in_rename + 1))
        fi
    else
        start_run
        sleep "0.$(printf '%03d' $((RANDOM % 1000)))"
    fi
    kill -KILL "$run" 2>/dev/null && kills=$((kills + 1))
    wait "$run" 2>/dev/null
    status=$?
    why=""
    [[ $status == 137 || $status == 0 ]] || why="exit $status: neither killed nor finished"
    if [[ -n $why ]]; then
        :
    elif [[ -f model.lt ]]; then
        loads model.lt || why="model.lt does not load"
    elif [[ -n $before ]]; then
        why="model.lt is gone"
    fi
    if [[ -z $why && $status == 0 ]]; then
        finished_early=$((finished_early + 1)) # the run ended before the kill: start over
        cmp -s model.lt ref.lt || why="a run that finished did not write the uninterrupted run's file"
        rm -f model.lt
    fi
    record "SIGKILL $k (exit $status): the model file is complete" "$why"
    rm -f model.lt.tmp.* before.lt
done
record "kills landed: $kills of $KILLS, $in_rename between a temporary file and its rename" \
    "$( ((kills >= KILLS / 2 && in_rename >= 1)) || echo "too few kills landed where they should")"
# The last run finishes; its file must be the uninterrupted run's.
start_run
wait "$run"
status=$?
record "the run resumed after $KILLS kills finishes" "$([[ $status == 0 ]] || echo "exit $status")"
record "... on the uninterrupted run's file, byte for byte" "$(cmp -s model.lt ref.lt || echo "model.lt differs from ref.lt")"

# ------------------------------------------------------------------ 2. SIGTERM and SIGINT
for sig in TERM INT; do
    rm -f model.lt
    start_run
    for ((i = 0; i < 2000; i++)); do [[ -f model.lt ]] && break; sleep 0.005; done # the first checkpoint: under way
    kill -"$sig" "$run"
    wait "$run"
    status=$?
    want=$((128 + $(kill -l "$sig")))
    why=""
    [[ $status == "$want" ]] || why="exit $status, expected $want"
    [[ -z $why ]] && ! grep -q "stopped by SIG$sig at epoch .*saved model.lt" err.txt && why="no 'stopped by SIG$sig ... saved' line"
    [[ -z $why ]] && ! grep -q "Resume with: latent train --resume model.lt" err.txt && why="no 'Resume with' line"
    [[ -z $why ]] && ! loads model.lt && why="model.lt does not load"
    record "SIG$sig stops training, saves and says how to resume" "$why"
    start_run
    wait "$run"
    status=$?
    record "the run resumed after SIG$sig finishes on the uninterrupted run's file" \
        "$([[ $status == 0 ]] || echo "exit $status")$(cmp -s model.lt ref.lt || echo " model.lt differs")"
done

# ------------------------------------------------------------------ 3. a second SIGINT
# An older model sits in the output file; the first SIGINT's save waits 3 s before its
# rename (the test hook), and the second SIGINT lands there: the older file stays.
cp ref.lt model.lt
LATENT_TEST_SAVE_PAUSE_MS=3000 "$LATENT" "${TRAIN[@]}" --epochs 1000000 --quiet --out model.lt >/dev/null 2>err.txt &
run=$!
sleep 0.5
kill -INT "$run"
await_temp_file
kill -INT "$run"
wait "$run"
status=$?
why=""
[[ $status == 130 ]] || why="exit $status, expected 130"
[[ -z $why ]] && ! grep -q "stopped at once" err.txt && why="no 'stopped at once' line"
[[ -z $why ]] && ! cmp -s model.lt ref.lt && why="model.lt changed"
record "a second SIGINT stops at once, writing nothing" "$why"
rm -f model.lt.tmp.*

# ------------------------------------------------------------------ 4. the command line
# lt NAME STATUS PATTERN ARGS...: latent exits with STATUS and its stderr matches PATTERN.
lt() {
    local name=$1 want=$2 pattern=$3 why=""
    shift 3
    "$LATENT" "$@" >out.txt 2>err.txt
    local status=$?
    if [[ $status != "$want" ]]; then
        why="exit $status, expected $want"
    elif [[ -n $pattern ]] && ! grep -Eq -- "$pattern" err.txt out.txt; then
        why="no /$pattern/ in the output"
    fi
    record "$name" "$why"
}
"$LATENT" "${TRAIN[@]}" --out every.lt --checkpoint-every 100 >/dev/null 2>err.txt
record "--checkpoint-every 100: a checkpoint after epochs 100 to 500 (600 is the final save)" \
    "$(n=$(grep -c "checkpoint: every.lt after epoch [1-5]00 of 600" err.txt); ((n == 5)) || echo "$n checkpoints")"
record "... and the run ends on the uninterrupted run's file" "$(cmp -s every.lt ref.lt || echo "every.lt differs")"
"$LATENT" "${TRAIN[@]}" --out timed.lt --checkpoint-minutes 0.002 >/dev/null 2>err.txt
record "--checkpoint-minutes 0.002: checkpoints every 0.12 s (within an epoch or at its end)" \
    "$(grep -Eq "checkpoint: timed.lt (at|after) epoch [0-9]+ of 600" err.txt || echo "no timed checkpoint")"
record "... and the run ends on the uninterrupted run's file" "$(cmp -s timed.lt ref.lt || echo "timed.lt differs")"
cp ref.lt done.lt
lt "resume with another --batch" 2 "--batch 16: 'done.lt' was trained with --batch 8.*--init-from" \
    train --resume done.lt --batch 16
lt "resume with another --noise" 2 "--noise 0.1: 'done.lt' was trained with --noise 0.05" train --resume done.lt --noise 0.1
lt "resume with an option the run did not have" 2 "--patience: 'done.lt' was trained without it" \
    train --resume done.lt --patience 3
lt "resume with --init-from" 2 "--init-from does not go with --resume" train --resume done.lt --init-from done.lt
lt "resume of a missing file" 1 "nope.lt" train --resume nope.lt
printf 'a,b,c,d\n1,2,3,4\n5,6,7,8\n' >table.csv
lt "resume with other --data" 2 "--data table.csv: 'done.lt' was trained with --data swiss-roll" \
    train --resume done.lt --data table.csv
lt "resume of a finished run: nothing to train" 0 "has finished its run \(600 epochs\)" train --resume done.lt
record "... and the file is unchanged" "$(cmp -s done.lt ref.lt || echo "done.lt changed")"
lt "resume with a larger --epochs trains on" 0 "saved done.lt \(2 epochs" train --resume done.lt --epochs 602
lt "summary shows the run's options" 0 "" summary done.lt
record "... --epochs 602 among them" "$(grep -q -- "--epochs 602" out.txt || echo "no --epochs 602 in: $(grep Trained out.txt)")"
lt "--init-from trains on from the weights with new settings" 0 "saved tuned.lt \(3 epochs" \
    train --init-from ref.lt --data swiss-roll --epochs 3 --lr 0.0001 --batch 32 --out tuned.lt
lt "... which records them, and resumes" 0 "has finished its run \(3 epochs\)" train --resume tuned.lt
lt "--init-from with --arch" 2 "--arch and --init-from" train --init-from ref.lt --arch swissroll-ae
lt "--init-from on data of another width" 1 "width" train --init-from ref.lt --data table.csv --out x.lt
lt "--augment zoom=5 is a usage error" 2 "--augment 'zoom=5'.*zoom_range" train --arch conv-ae --augment zoom=5
"$LATENT" train --data swiss-roll --limit 300 --epochs 2 --seed 3 --noise 0.1 --quiet --out lim.lt >train.txt 2>err.txt
lt "eval takes --limit and --seed from the model" 0 "as 'lim.lt' was trained:.*--limit 300" eval lim.lt
record "... and prints train's test figure" "$(cmp -s <(grep '^test' train.txt) <(grep '^test' out.txt) ||
    echo "train: $(grep '^test' train.txt), eval: $(grep '^test' out.txt)")"
printf 'day,co2\n' >co2.csv
for i in $(seq 1 60); do echo "$i,$((300 + i % 7))" >>co2.csv; done
printf 'day,spots\n' >spots.csv
for i in $(seq 1 60); do echo "$i,$((i % 11))" >>spots.csv; done
"$LATENT" train --data co2.csv --columns co2 --window 8 --epochs 1 --quiet --out co2.lt >/dev/null 2>err.txt
lt "an option from the model's notes that does not fit the data: exit 1, saying so" 1 \
    "--columns.*taken from 'co2.lt'" eval co2.lt --data spots.csv
record "... with no --help hint" "$(grep -q -- "--help" err.txt && echo "a usage hint")"

check_end
