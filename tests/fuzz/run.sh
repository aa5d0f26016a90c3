#!/usr/bin/env bash
# Runs the fuzz targets of a -Dfuzz=true build, each for SECONDS (default 60) from a
# copy of its seed corpus (tests/fuzz/corpus/<target>/; the committed corpus is never
# written), with its dictionary when it has one (tests/fuzz/<target>.dict):
#
#   bash tests/fuzz/run.sh BUILD_DIR [SECONDS] [TARGET...]
#
# A target fails on any crash, sanitizer report (ASan, UBSan, LeakSanitizer), input
# that runs longer than LATENT_FUZZ_TIMEOUT s (10; a hang) or process over 2048 MB; libFuzzer then saves the
# input to BUILD_DIR/fuzz-artifacts/ and the log's report is printed. Every target runs
# even after one failed. Prints "fuzz TARGET: N execs, RESULT" per target, then
# "fuzz: N passed, N failed"; the exit status is nonzero when any failed.
# LATENT_FUZZ_KEEP=DIR keeps each target's grown corpus in DIR/<target>/.
# LATENT_FUZZ_TIMEOUT=S (default 10) is the seconds an input may take before it counts
# as a hang: raise it for targets run side by side on a shared machine, where an input
# waits for a CPU (five targets on two cores once took 0.04-s inputs past 10 s).
# LATENT_FUZZ_SEED=N fixes libFuzzer's random seed (-seed=N), so that a run takes the
# same mutations every time and differs from another only in how far it gets
# (run_all.sh fixes it: CI replays, the long runs explore); unset, each run draws one.
set -u
if (($# < 1)); then
    echo "usage: bash tests/fuzz/run.sh BUILD_DIR [SECONDS] [TARGET...]" >&2
    exit 2
fi
build=$(cd "$1" && pwd) || exit 2
seconds=${2:-60}
shift $(($# >= 2 ? 2 : 1))
here=$(cd "$(dirname "$0")" && pwd)
targets=("$@")
if ((${#targets[@]} == 0)); then
    targets=(fuzz_modelfile fuzz_idx fuzz_csv fuzz_image fuzz_arch fuzz_safetensors fuzz_keras)
fi
if ! [[ $seconds =~ ^[0-9]+$ ]] || ((seconds < 1)); then
    echo "run.sh: SECONDS must be a positive whole number, not '$seconds'" >&2
    exit 2
fi
timeout=${LATENT_FUZZ_TIMEOUT:-10}
if ! [[ $timeout =~ ^[1-9][0-9]{0,4}$ ]]; then
    echo "run.sh: LATENT_FUZZ_TIMEOUT must be a whole number of seconds from 1, not '$timeout'" >&2
    exit 2
fi
seed=${LATENT_FUZZ_SEED:-}
if [[ -n $seed ]] && ! [[ $seed =~ ^[1-9][0-9]{0,8}$ ]]; then
    echo "run.sh: LATENT_FUZZ_SEED must be a whole number from 1 to 999999999, not '$seed'" >&2
    exit 2
fi

artifacts=$build/fuzz-artifacts
logs=$build/fuzz-logs
mkdir -p "$artifacts" "$logs" || exit 1
# The corpus copies and the targets' temporary files (TMPDIR), in memory when possible:
# the model targets fsync every file they save.
shm=/dev/shm
[[ -d $shm && -w $shm ]] || shm=${TMPDIR:-/tmp}
work=$(mktemp -d "$shm/latent-fuzz-run.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/tmp" || exit 1

# Leaks are reported by libFuzzer (-detect_leaks=1); any ASan or UBSan report stops the
# target, except UBSan's reports in stb_image's arithmetic that ubsan.supp names. Set
# here, over whatever the caller exported (run_all.sh's ASan stage turns leaks off).
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:allocator_may_return_null=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:suppressions=$here/ubsan.supp

passed=0
failed=0
for t in "${targets[@]}"; do
    exe=$build/tests/fuzz/$t
    log=$logs/$t.log
    if [[ ! -x $exe || ! -d $here/corpus/$t ]]; then
        echo "fuzz $t: 0 execs, FAILED (no program $exe or no corpus $here/corpus/$t)"
        failed=$((failed + 1))
        continue
    fi
    corpus=$work/$t
    mkdir -p "$corpus" && cp "$here/corpus/$t"/* "$corpus"/ || exit 1
    args=(-max_total_time="$seconds" -timeout="$timeout" -rss_limit_mb=2048 -detect_leaks=1 -print_final_stats=1
        -artifact_prefix="$artifacts/$t-")
    if [[ -f $here/$t.dict ]]; then args+=(-dict="$here/$t.dict"); fi
    if [[ -n $seed ]]; then args+=(-seed="$seed"); fi
    TMPDIR=$work/tmp "$exe" "${args[@]}" "$corpus" >"$log" 2>&1
    status=$?
    execs=$(awk '/^stat::number_of_executed_units:/ { n = $2 } END { print n + 0 }' "$log")
    if ((status == 0)); then
        result=ok
        passed=$((passed + 1))
    else
        # What libFuzzer or a sanitizer said first.
        why=$(grep -m1 -oE 'ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer): [a-zA-Z -]+|runtime error: .*|fuzz: check failed: .*' "$log")
        result="FAILED (exit $status${why:+: $why})"
        failed=$((failed + 1))
        echo "--- $t: the end of $log"
        tail -n 60 "$log"
        echo "--- $t: inputs saved in $artifacts/"
    fi
    if [[ -n ${LATENT_FUZZ_KEEP:-} ]]; then
        mkdir -p "$LATENT_FUZZ_KEEP/$t" && cp "$corpus"/* "$LATENT_FUZZ_KEEP/$t"/
    fi
    echo "fuzz $t: $execs execs, $result"
done
echo "fuzz: $passed passed, $failed failed"
((failed == 0))
