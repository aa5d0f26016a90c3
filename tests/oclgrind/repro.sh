#!/usr/bin/env bash
# Minimal reproductions of what Oclgrind 21.10 (Debian 12) gets wrong, each run on
# Oclgrind and, for comparison, on the system's first OpenCL platform (PoCL here). Not
# part of the test suite: on Oclgrind they show the simulator's faults by design.
# tests/oclgrind_stage.sh says how latent keeps clear of each.
#   bash tests/oclgrind/repro.sh
set -u
# Oclgrind's reports of uninitialized values in log $1 (0 when it wrote none).
reports() { cat "$1" 2>/dev/null | grep -c '^Uninitialized'; }
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rt=/usr/lib/oclgrind/liboclgrind-rt-icd.so
mkdir -p "$tmp/icd" && echo "$rt" >"$tmp/icd/oclgrind.icd"
og() { OCL_ICD_VENDORS="$tmp/icd" "$@"; }
cc_cl() { cc -O1 -o "$tmp/$1" "${@:2}" -lOpenCL 2>/dev/null || { echo "cannot build $1"; exit 1; }; }
cc_cl switch "$here/run_kernel.c" "$here/switch_ref.c"
cc_cl divrem "$here/run_kernel.c" "$here/divrem_ref.c"
cc_cl atexit_release "$here/atexit_release.c"
cc_cl write_offset "$here/write_offset.c"
cc_cl reuse_id "$here/reuse_id.c"

echo "1. switch on (q & 3), LLVM's switch i2: Oclgrind's results differ from C's"
og "$tmp/switch" "$here/switch.cl" 8
"$tmp/switch" "$here/switch.cl" 8

echo "2. a / w beside a % w under --uninitialized: LLVM's DivRemPairs emits freeze, which"
echo "   Oclgrind's plugin does not support (the work-item stops); -DEXPLICIT_REM avoids it"
OCLGRIND_UNINITIALIZED=1 og "$tmp/divrem" "$here/divrem.cl" 64 2>&1 | grep -E 'FATAL|freeze|differ' | sort | uniq -c
OCLGRIND_UNINITIALIZED=1 og "$tmp/divrem" "$here/divrem.cl" 64 -DEXPLICIT_REM 2>&1 | tail -n 1

echo "3. an OpenCL object released from an atexit handler (as CLBlast's static cache does)"
og "$tmp/atexit_release" atexit; echo "   exit status $?"
og "$tmp/atexit_release" main; echo "   exit status $? (released in main)"
"$tmp/atexit_release" atexit; echo "   exit status $? (other runtime)"

echo "4. --uninitialized after a whole write and a second write at an element offset: every"
echo "   value is written, yet Oclgrind reports (count of reports, per offset)"
for off in 0 5; do
    OCLGRIND_UNINITIALIZED=1 OCLGRIND_LOG="$tmp/wo.log" og "$tmp/write_offset" "$off" 2>/dev/null
    echo "   offset $off: $(reports "$tmp/wo.log") reports"
    rm -f "$tmp/wo.log"
done
OCLGRIND_UNINITIALIZED=1 OCLGRIND_LOG="$tmp/wo.log" og "$tmp/write_offset" 0 w 2>/dev/null
echo "   whole write only: $(reports "$tmp/wo.log") reports"

echo "5. --uninitialized on a buffer created after a smaller one was released, written whole"
echo "   by a kernel before it is read"
for na in 0 4 64; do
    rm -f "$tmp/ri.log"
    OCLGRIND_UNINITIALIZED=1 OCLGRIND_LOG="$tmp/ri.log" og "$tmp/reuse_id" "$na" 2>/dev/null
    echo "   released buffer of $na floats first: $(reports "$tmp/ri.log") reports"
done
