#!/usr/bin/env bash
# The whole test suite, from any folder: bash tests/run_all.sh
#
#   1. build-test: a debugoptimized build (OpenCL when found) and all its tests, which
#      cover the CPU fallback and OpenCL (on PoCL where there is no GPU);
#   2. install check: installs build-test into a staging folder (off the loader's path)
#      and, without LD_LIBRARY_PATH, runs the installed latent and builds and runs
#      apps/example.c against it through pkg-config, as a user would;
#   2b. intel-opencl: build-test's OpenCL op tests and per-backend model tests again on
#      Intel's CPU OpenCL runtime (tests/install-intel-opencl.sh; skipped, not failed,
#      when it could not be installed), a second vendor beside PoCL;
#   2c. oclgrind: every kernel of the OpenCL program at least once under Oclgrind's API,
#      data-race and (where its reports are latent's) uninitialized-memory checks, with a
#      GPU's limits (tests/oclgrind_stage.sh; about a minute; skipped when oclgrind is
#      not installed);
#   3. build-plain: no OpenCL, no OpenMP, no MPI and no import, the CPU fallback's tests alone;
#   4. build-asan: the tests of build-test under AddressSanitizer and UBSan;
#   5. build-fuzz: every parser of untrusted input (model files, IDX, CSV, images,
#      architecture specs) under libFuzzer, ASan and UBSan, 60 s each from the committed
#      corpus (tests/fuzz/run.sh; about 7 minutes with the build; skipped, not failed,
#      without clang's libFuzzer).
#
# Every stage runs even after an earlier one failed. The last line is exactly
# "N passed, N failed"; the exit status is nonzero when anything failed, and a build
# that fails counts as (at least) one failure. Sized for a 60-minute CI job on 2 cores.
set -u
cd "$(dirname "$0")/.." || exit 1

jobs=${LATENT_TEST_JOBS:-2}
total_passed=0
total_failed=0

# Adds a stage's counts to the totals and says so.
tally() {
    echo "=== $1: $2 passed, $3 failed"
    total_passed=$((total_passed + $2))
    total_failed=$((total_failed + $3))
}

# Configures (or reconfigures) and compiles build folder $1 with meson options $2...
build() {
    local dir=$1
    shift
    echo "=== configure $dir: $*"
    if [[ -f $dir/meson-private/coredata.dat ]]; then
        meson setup --reconfigure "$dir" "$@" || meson setup --wipe "$dir" "$@" || return 1
    else
        meson setup "$dir" "$@" || return 1
    fi
    echo "=== compile $dir"
    meson compile -C "$dir" -j "$jobs"
}

# Runs meson test in build folder $1 (extra meson test arguments after it) and tallies
# meson's summary lines; Timeout and Unexpected Pass count as failures.
run_tests() {
    local dir=$1
    shift
    local log
    log=$(mktemp) || return 1
    meson test -C "$dir" --print-errorlogs --num-processes "$jobs" "$@" 2>&1 | tee "$log"
    local status=${PIPESTATUS[0]}
    # The summary is at the end; a test's own log could hold look-alike lines, so the
    # last occurrence of each wins.
    local counts
    counts=$(awk '
        /^Ok:/ { ok = $2 } /^Expected Fail:/ { xf = $3 } /^Fail:/ { fail = $2 }
        /^Unexpected Pass:/ { up = $3 } /^Timeout:/ { to = $2 } /^Skipped:/ { seen = 1 }
        END { printf "%d %d %d\n", ok + xf, fail + up + to, (seen || ok != "" ) }' "$log")
    rm -f "$log"
    local passed failed found
    read -r passed failed found <<<"$counts"
    if ((found == 0)); then
        echo "=== $dir: no test summary from meson (exit $status)"
        failed=$((failed + 1))
    elif ((status != 0 && failed == 0)); then
        echo "=== $dir: meson test exited $status with no failed test"
        failed=1
    elif ((passed + failed == 0)); then
        echo "=== $dir: no tests ran"
        failed=1
    fi
    tally "${STAGE_LABEL:-$dir tests}" "$passed" "$failed"
}

# Installs build folder $1 into a staging folder, a prefix the loader does not search,
# and there, without LD_LIBRARY_PATH: runs the installed latent (its RUNPATH,
# $ORIGIN/../lib/..., finds the staged liblatent), and compiles the API example with
# pkg-config and the -rpath the README gives, as users do, and runs it. Also checks that
# latent.pc names each private link flag once.
install_check() {
    local dir=$1 stage passed=0 failed=0
    stage=$(mktemp -d) || return 1
    # install_step NAME COMMAND...: runs COMMAND on the CPU without LD_LIBRARY_PATH and counts it.
    install_step() {
        if env -u LD_LIBRARY_PATH LATENT_DEVICE=cpu "${@:2}" >"$stage/log" 2>&1; then
            passed=$((passed + 1))
        else
            failed=$((failed + 1))
            echo "=== install check: $1: failed"
            tail -n 8 "$stage/log" | sed 's/^/    /'
            return 1
        fi
    }
    # uses_staged_lib FILE: FILE loads liblatent.so.0 from the staging folder
    # shellcheck disable=SC2016 # expanded by the bash -c that runs it
    local uses_staged_lib='env -u LD_LIBRARY_PATH ldd "$1" | grep -q "liblatent\.so\.0 => $2/"'
    if install_step "meson install --destdir" meson install -C "$dir" --destdir "$stage/root" --quiet; then
        local pc prefix bindir exe libdir flags
        pc=$(find "$stage/root" -name latent.pc -print -quit)
        { read -r prefix && read -r bindir; } < <(meson introspect "$dir" --buildoptions | python3 -c '
import json, os, sys
o = {x["name"]: x["value"] for x in json.load(sys.stdin)}
print(o["prefix"]); print(os.path.join(o["prefix"], o["bindir"]))')
        exe=$stage/root$bindir/latent
        install_step "the installed latent --version" "$exe" --version
        install_step "the installed latent devices" "$exe" devices
        install_step "the installed latent loads the staged liblatent (ldd)" bash -c "$uses_staged_lib" _ "$exe" "$stage"
        if [[ -n $pc ]] && flags=$(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config \
            --define-variable=prefix="$stage/root$prefix" --cflags --libs latent) &&
            libdir=$(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --define-variable=prefix="$stage/root$prefix" \
                --variable=libdir latent); then
            # shellcheck disable=SC2086 # flags are words
            install_step "cc example.c \$(pkg-config --cflags --libs latent) -Wl,-rpath,\$(pkg-config --variable=libdir latent)" \
                cc -std=c11 -Wall -Wextra -Werror apps/example.c $flags -Wl,-rpath,"$libdir" -o "$stage/example" &&
                install_step "the example loads the staged liblatent (ldd)" bash -c "$uses_staged_lib" _ \
                    "$stage/example" "$stage" &&
                install_step "the example runs" "$stage/example"
            # shellcheck disable=SC2016 # expanded by the bash -c that runs it
            install_step "latent.pc names each private link flag once" bash -c \
                '! sed -n "s/^Libs.private://p" "$1" | tr " " "\n" | sed "/^$/d" | sort | uniq -d | grep .' _ "$pc"
        else
            failed=$((failed + 1))
            echo "=== install check: no usable latent.pc under $stage/root"
        fi
    fi
    rm -rf "$stage"
    tally "install check" "$passed" "$failed"
}

# 1. The regular build: CPU fallback and OpenCL tests.
if build build-test --buildtype=debugoptimized -Dopencl=auto; then
    run_tests build-test
    # 2. What users do: install, then build the example with pkg-config.
    install_check build-test
    # 2b. A second vendor's OpenCL: Intel's CPU runtime, registered for these tests only
    # (its own ICD list; Debian's ocl-icd stays the loader). Only OpenCL tests run.
    intel=.deps/intel-opencl
    if [[ -f $intel/ready ]]; then
        OCL_ICD_VENDORS=$PWD/$intel/icd LD_LIBRARY_PATH=$(cat "$intel/library_path")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} \
            STAGE_LABEL="intel-opencl tests" run_tests build-test test_philox test_backend_ops test_conv_ops \
            test_latent_ops test_rnn_ops test_augment test_model-opencl test_rnn-opencl test_modelfile-opencl \
            test_train-opencl test_golden-opencl test_golden_rnn-opencl cli-opencl example-opencl
    else
        echo "=== intel-opencl: skipped (Intel's OpenCL runtime is not installed: tests/install-intel-opencl.sh)"
    fi
    # 2c. Oclgrind, an OpenCL simulator that checks what real devices let pass.
    if command -v oclgrind >/dev/null && [[ -d build-test/cl_kernels ]]; then
        log=$(mktemp)
        bash tests/oclgrind_stage.sh build-test 2>&1 | tee "$log"
        read -r og_passed og_failed og_found < <(awk '/^oclgrind: [0-9]+ passed, [0-9]+ failed$/ {
            p = $2; f = $4; seen = 1 } END { print p + 0, f + 0, seen + 0 }' "$log")
        rm -f "$log"
        if ((og_found == 0)); then og_failed=$((og_failed + 1)); echo "=== oclgrind: no summary line"; fi
        tally "oclgrind tests" "$og_passed" "$og_failed"
    else
        echo "=== oclgrind: skipped (no oclgrind, or build-test has no OpenCL)"
    fi
else
    tally "build-test (build failed)" 0 1
fi

# 3. No OpenCL and no OpenMP anywhere: the plain-C fallback builds and passes alone.
if build build-plain --buildtype=debugoptimized -Dopencl=disabled -Dopenmp=disabled -Dmpi=disabled -Dinterop=disabled; then
    run_tests build-plain
else
    tally "build-plain (build failed)" 0 1
fi

# 4. Sanitizers. Leak detection is off only because PoCL's LLVM leaks at exit, which
# would fail every OpenCL test; abort_on_error makes any report a crash the tests see.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
if build build-asan --buildtype=debugoptimized -Dopencl=auto -Db_sanitize=address,undefined -Db_lundef=false; then
    run_tests build-asan --timeout-multiplier 2
else
    tally "build-asan (build failed)" 0 1
fi

# 5. Fuzzing: libFuzzer targets (tests/fuzz/), clang only. Only the targets and the
# library are compiled (the alias target 'fuzz'), all instrumented; each runs for
# LATENT_FUZZ_SECONDS (60) with the seed LATENT_FUZZ_SEED (20261205) and fails on a
# crash, leak, hang or sanitizer report.
fuzz_cc=
probe=$(mktemp -d)
for c in clang-15 clang; do
    if command -v "$c" >/dev/null &&
        echo 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { return d && n; }' >"$probe/p.c" &&
        "$c" -fsanitize=fuzzer,address,undefined "$probe/p.c" -o "$probe/p" >/dev/null 2>&1; then
        fuzz_cc=$c
        break
    fi
done
rm -rf "$probe"
# Configures build-fuzz with compiler $1 (a first setup; a reconfigure keeps the one it
# has) and compiles the fuzz targets and the library alone.
build_fuzz() {
    local opts=(--buildtype=debugoptimized -Dfuzz=true -Db_lundef=false -Dopencl=disabled -Dopenmp=disabled
        -Dlapack=disabled)
    echo "=== configure build-fuzz (CC=$1): ${opts[*]}"
    if [[ -f build-fuzz/meson-private/coredata.dat ]]; then
        meson setup --reconfigure build-fuzz "${opts[@]}" || CC=$1 meson setup --wipe build-fuzz "${opts[@]}" || return 1
    else
        CC=$1 meson setup build-fuzz "${opts[@]}" || return 1
    fi
    echo "=== compile build-fuzz (the fuzz targets)"
    meson compile -C build-fuzz -j "$jobs" fuzz
}
if [[ -z $fuzz_cc ]]; then
    echo "=== fuzz: skipped (no clang with libFuzzer: clang-15 from tests/install-deps.sh)"
elif build_fuzz "$fuzz_cc"; then
    log=$(mktemp)
    # A fixed seed: the stage replays the same mutations each time (a red run means a
    # change of latent's, not a lucky draw); hour-long runs without it explore.
    LATENT_FUZZ_SEED=${LATENT_FUZZ_SEED:-20261205} bash tests/fuzz/run.sh build-fuzz "${LATENT_FUZZ_SECONDS:-60}" 2>&1 | tee "$log"
    read -r fz_passed fz_failed fz_found < <(awk '/^fuzz: [0-9]+ passed, [0-9]+ failed$/ {
        p = $2; f = $4; seen = 1 } END { print p + 0, f + 0, seen + 0 }' "$log")
    rm -f "$log"
    if ((fz_found == 0)); then fz_failed=$((fz_failed + 1)); echo "=== fuzz: no summary line"; fi
    tally "fuzz targets" "$fz_passed" "$fz_failed"
else
    tally "build-fuzz (build failed)" 0 1
fi

echo "$total_passed passed, $total_failed failed"
((total_failed == 0))
