#!/usr/bin/env bash
# Compiles latent's embedded OpenCL program offline, with clang, for real GPU targets, and
# fails on any compile error, any warning, or any kernel that needs scratch memory:
#   AMD gfx1030 and gfx90a (amdgcn-amd-amdhsa): every kernel must use no scratch (private
#     segment): no register spills to memory, no private arrays left in memory, no dynamic
#     stack (which an unresolved call forces);
#   NVIDIA sm_80 (nvptx64-nvidia-cuda, to PTX): must compile cleanly; when ptxas (CUDA) is
#     found, no function may spill.
# Why: the CI's OpenCL is pocl on the CPU, which tells nothing of what a GPU compiler makes
# of the kernels; a warning there, or a spill that slows a kernel down many times over,
# would only show on a user's GPU. Every kernel of the program must come out of each
# target, and math builtins (exp, tanh, ...) are resolved from libclc's bitcode so that
# the register and scratch figures are the kernels' own and not a guess for an unknown call.
# The program is built as the backend builds it (cl_kernels/meson.build: the files of
# cl_program_files, in that order, with embed.c's #line markers; OpenCL C 1.2, no
# fast-math). Before latent's program, a small known-clean kernel and two known-spilling
# ones are compiled on every run, and the detectors must call them clean and spilling,
# so the check cannot pass vacuously.
# Usage: bash tests/check_gpu_compile.sh [repository root]; exits 0 when all is well,
# 1 on a finding, 77 (skip) without clang-15 or libclc (Debian: clang-15 libclc-15).
# CLANG, LIBCLC_DIR and PTXAS override where the tools are looked for (PTXAS=none: no ptxas).
set -u
root=${1:-$(dirname "$0")/..}
cd "$root" || exit 2

me=check_gpu_compile
skip() {
    echo "$me: SKIP: $*"
    exit 77
}
# Indents stdin, for quoted tool output.
indent() {
    sed 's/^/    /'
}
bad=0
fail() {
    echo "$me: FAIL: $*"
    bad=$((bad + 1))
}

# --- tools -------------------------------------------------------------------------
clang=${CLANG:-}
if [[ -z $clang ]]; then
    clang=$(command -v clang-15 || true)
    [[ -z $clang && -x /usr/lib/llvm-15/bin/clang ]] && clang=/usr/lib/llvm-15/bin/clang
fi
if [[ -z $clang ]] || ! command -v "$clang" >/dev/null; then
    skip "clang-15 not found (Debian package clang-15, or set CLANG)"
fi
clc=${LIBCLC_DIR:-/usr/lib/clc}
amd_bc=$clc/amdgcn--amdhsa.bc  # libclc has no gfx10/gfx90a file: this one is generic amdgcn
nv_bc=$clc/nvptx64--nvidiacl.bc
[[ -r $amd_bc && -r $nv_bc ]] ||
    skip "libclc bitcode not found ($amd_bc, $nv_bc; Debian package libclc-15, or set LIBCLC_DIR)"
ptxas=${PTXAS:-}  # PTXAS=none: do without
if [[ $ptxas == none ]]; then
    ptxas=
elif [[ -z $ptxas ]]; then
    ptxas=$(command -v ptxas || true)
    [[ -z $ptxas && -x /usr/local/cuda/bin/ptxas ]] && ptxas=/usr/local/cuda/bin/ptxas
fi

tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT

# --- flags -------------------------------------------------------------------------
# -O2 is what clang does for OpenCL C when no option is given (clBuildProgram options "").
# -Wno-unused-parameter: a kernel's parameter list is an ABI with the host (arguments are
# set by index), so a parameter a kernel does not read (lt_im2col's k_h, lt_rnn_forward's
# has_rbias) is deliberate; everything else of -Wall -Wextra stays an error.
# -Wno-error=linker-warnings: libclc's bitcode carries its own triple (amdgcn-unknown-amdhsa,
# nvptx64-unknown-nvidiacl), so linking it always warns that the triples differ; that one
# message is dropped by name below (same architecture, a different vendor/OS field only),
# and any other linker warning (a data layout mismatch, ...) still fails the check.
cflags=(-x cl -cl-std=CL1.2 -Xclang -finclude-default-header -O2 -nogpulib
    -Wall -Wextra -Wno-unused-parameter -Werror -Wno-error=linker-warnings)

# Compiles OpenCL C file $1 to assembly $2 for triple $3 with libclc bitcode $4 ("" for
# none) and further clang arguments $5...; prints every diagnostic but the libclc triple
# warning and returns 1 on an error or on any diagnostic left.
compile() {
    local src=$1 out=$2 triple=$3 bc=$4 err rc
    shift 4
    local link=()
    [[ -n $bc ]] && link=(-Xclang -mlink-builtin-bitcode -Xclang "$bc")
    err=$tmp/stderr
    "$clang" "${cflags[@]}" --target="$triple" "$@" -S -o "$out" "$src" "${link[@]}" 2>"$err"
    rc=$?
    awk -v bc="$bc" -v arch="${triple%%-*}" -v triple="$triple" '
        skip && $0 == " [-Wlinker-warnings]" { skip = 0; next }
        { skip = 0 }
        index($0, "warning: linking module \047" bc "\047: Linking two modules of different target triples: \047" bc "\047 is \047" arch "-") == 1 &&
            substr($0, length($0) - length(triple) - 1) == "\047" triple "\047" { skip = 1; next }
        /^[0-9]+ warnings? generated\.$/ { next }
        { print }' "$err" >"$err.left"
    if [[ -s $err.left ]]; then
        # the targets mostly say the same: quote it once
        if [[ -s $tmp/said ]] && cmp -s "$err.left" "$tmp/said"; then
            echo "    (the same diagnostics as above)"
        else
            indent <"$err.left"
            cp "$err.left" "$tmp/said"
        fi
        return 1
    fi
    return "$rc"
}

# --- AMD detectors ---------------------------------------------------------------------
# Prints one line per kernel of AMDGPU assembly $1: name, scratch bytes per lane
# (; ScratchSize, callees included), .amdhsa_private_segment_fixed_size,
# .amdhsa_uses_dynamic_stack, VGPRs, AGPRs, SGPRs, occupancy (waves per SIMD) and the
# number of spill stores in the kernel's own body.
amd_table() {
    awk '
        /^[A-Za-z_$][A-Za-z0-9_.$]*:/ { fn = substr($1, 1, index($1, ":") - 1); ki = ""; next }
        /; [0-9]+-byte Folded Spill/ { spills[fn]++ }
        /^; Kernel info:/ { ki = fn }
        ki != "" && $2 == "ScratchSize:" { scratch[ki] = $3 }
        ki != "" && $2 == "NumVgprs:" { vgpr[ki] = $3 }
        ki != "" && $2 == "NumAgprs:" { agpr[ki] = $3 }
        ki != "" && $2 == "NumSgprs:" { sgpr[ki] = $3 }
        ki != "" && $2 == "Occupancy:" { occ[ki] = $3 }
        $1 == ".amdhsa_kernel" { k = $2; names[++n] = k }
        $1 == ".amdhsa_private_segment_fixed_size" { priv[k] = $2 }
        $1 == ".amdhsa_uses_dynamic_stack" { dyn[k] = $2 }
        END {
            for (i = 1; i <= n; i++) {
                k = names[i]
                printf "%s %s %s %s %s %s %s %s %d\n", k, (k in scratch) ? scratch[k] : "?",
                    (k in priv) ? priv[k] : "?", (k in dyn) ? dyn[k] : 0, (k in vgpr) ? vgpr[k] : "?",
                    (k in agpr) ? agpr[k] : 0, (k in sgpr) ? sgpr[k] : "?", (k in occ) ? occ[k] : "?", spills[k]
            }
        }' "$1"
}

# Prints the kernels of amd_table output $1 that use scratch (or whose figures are missing).
amd_scratchy() {
    awk '$2 != "0" || $3 != "0" || $4 != "0" {
        printf "%s: ScratchSize %s, private segment %s, dynamic stack %s, %d spill store(s) in its body, %s VGPRs\n",
            $1, $2, $3, $4, $9, $5 }' "$1"
}

# Prints the symbols AMDGPU assembly $1 references (calls, tables) but does not define.
amd_unresolved() {
    comm -23 <(grep -oE '[A-Za-z_.$][A-Za-z0-9_.$]*@(rel32|gotpcrel32|gotpcrel|abs32|abs64|rel64)' "$1" |
                   sed 's/@.*//' | sort -u) \
             <(sed -n 's/^\([A-Za-z_.$][A-Za-z0-9_.$]*\):.*/\1/p' "$1" | sort -u)
}

# --- NVIDIA detectors ------------------------------------------------------------------
# Prints the kernels (.entry) of PTX $1.
nv_kernels() {
    grep -oE '\.entry[[:space:]]+[A-Za-z_$][A-Za-z0-9_$]*' "$1" | awk '{print $2}'
}

# Prints the functions PTX $1 declares .extern (called, never defined: an unresolved builtin).
nv_unresolved() {
    grep -E '^[[:space:]]*\.extern[[:space:]]+\.func' "$1" | sed 's/.*[[:space:])]\([A-Za-z_$][A-Za-z0-9_$]*\)[[:space:]]*(\{0,1\}$/\1/'
}

# Runs ptxas for sm_80 on PTX $1; writes its log to $1.log and one line per function to
# stdout: name, stack frame bytes, spill store bytes, spill load bytes, registers ("-"
# for a non-kernel function). Returns ptxas's status.
ptxas_table() {
    "$ptxas" -arch=sm_80 -v -o "$1.cubin" "$1" >"$1.log" 2>&1 || return 1
    awk '
        /Function properties for/ { f = $NF; if (!(f in seen)) { seen[f] = 1; names[++n] = f }; regs[f] = "-" }
        /bytes stack frame/ { stack[f] = $1; st[f] = $5; ld[f] = $9 }
        /Used [0-9]+ registers/ { match($0, /Used [0-9]+/); regs[f] = substr($0, RSTART + 5, RLENGTH - 5) }
        END { for (i = 1; i <= n; i++) { f = names[i]; print f, stack[f], st[f], ld[f], regs[f] } }' "$1.log"
}

# --- the self-test kernels --------------------------------------------------------------
cat >"$tmp/selftest.cl" <<'EOF'
/* Known clean: math builtins (resolved by libclc), no private memory. */
__kernel void st_clean(__global float *p, ulong n)
{
    for (ulong i = get_global_id(0); i < n; i += get_global_size(0))
        p[i] = tanh(p[i]) + exp(p[i]) * log(1.0f + fabs(p[i])) + sqrt(fabs(p[i]));
}

/* Known scratch user: a private array indexed at run time stays in private memory. */
__kernel void st_private(__global float *p, uint i, uint j)
{
    float a[1024];
    for (uint k = 0; k < 1024; k++) a[k] = p[k];
    a[i & 1023] += 1.0f;
    p[0] = a[j & 1023];
}

/* Known spiller: ST_N values live at once, more than the registers allowed (AMD: capped at
 * 32 VGPRs, so the test stays quick; NVIDIA: 255 registers a thread). */
#ifdef __AMDGCN__
#define ST_N 96
#define ST_REGS __attribute__((amdgpu_num_vgpr(32)))
#else
#define ST_N 320
#define ST_REGS
#endif
__kernel ST_REGS void st_spill(__global float *p, ulong s)
{
    float v[ST_N];
#pragma unroll
    for (int k = 0; k < ST_N; k++) v[k] = p[k * s + get_global_id(0)];
    float t = 0.0f;
#pragma unroll
    for (int k = 0; k < ST_N; k++) t = t * v[k] + v[ST_N - 1 - k];
#pragma unroll
    for (int k = 0; k < ST_N; k++) p[k] = v[k] * t;
}
EOF

# Fails the self-test with message $1: the detectors cannot be trusted, so stop here.
selftest_fail() {
    echo "$me: FAIL: self-test: $1 (the detector cannot be trusted; nothing else was checked)"
    exit 1
}

# Self-test for AMD processor $1.
selftest_amd() {
    local cpu=$1 s=$tmp/st-$1.s t=$tmp/st-$1.tab
    compile "$tmp/selftest.cl" "$s" amdgcn-amd-amdhsa "$amd_bc" -mcpu="$cpu" ||
        selftest_fail "the self-test kernels do not compile for $cpu"
    amd_table "$s" >"$t"
    [[ $(wc -l <"$t") == 3 ]] || selftest_fail "$cpu: expected 3 kernels, found: $(awk '{print $1}' "$t" | xargs)"
    [[ -z $(amd_unresolved "$s") ]] || selftest_fail "$cpu: libclc left unresolved: $(amd_unresolved "$s" | xargs)"
    local scratchy
    scratchy=$(amd_scratchy "$t")
    grep -q '^st_clean:' <<<"$scratchy" && selftest_fail "$cpu: st_clean reported as using scratch: $scratchy"
    grep -q '^st_private:' <<<"$scratchy" || selftest_fail "$cpu: st_private's private array not reported"
    grep -q '^st_spill:' <<<"$scratchy" || selftest_fail "$cpu: st_spill's spills not reported"
    awk '$1 == "st_spill" && $9 > 0 {ok = 1} END {exit !ok}' "$t" ||
        selftest_fail "$cpu: no spill stores counted in st_spill"
    # without libclc the builtins stay unresolved: that must be seen too
    compile "$tmp/selftest.cl" "$s.nolib" amdgcn-amd-amdhsa "" -mcpu="$cpu" ||
        selftest_fail "the self-test kernels do not compile for $cpu without libclc"
    [[ -n $(amd_unresolved "$s.nolib") ]] || selftest_fail "$cpu: unresolved builtins not reported without libclc"
}

# Self-test for sm_80; sets use_ptxas to 1 when ptxas works.
use_ptxas=0
selftest_nv() {
    local p=$tmp/st.ptx t=$tmp/st.ptx.tab
    compile "$tmp/selftest.cl" "$p" nvptx64-nvidia-cuda "$nv_bc" -march=sm_80 ||
        selftest_fail "the self-test kernels do not compile for sm_80"
    [[ $(nv_kernels "$p" | wc -l) == 3 ]] || selftest_fail "sm_80: expected 3 kernels, found: $(nv_kernels "$p" | xargs)"
    [[ -z $(nv_unresolved "$p") ]] || selftest_fail "sm_80: libclc left unresolved: $(nv_unresolved "$p" | xargs)"
    compile "$tmp/selftest.cl" "$p.nolib" nvptx64-nvidia-cuda "" -march=sm_80 ||
        selftest_fail "the self-test kernels do not compile for sm_80 without libclc"
    [[ -n $(nv_unresolved "$p.nolib") ]] || selftest_fail "sm_80: unresolved builtins not reported without libclc"
    if [[ -z $ptxas ]]; then
        echo "sm_80: ptxas (CUDA toolkit) not found or PTXAS=none: ptxas's spill check is skipped (set PTXAS to run it)"
        return
    fi
    if ! ptxas_table "$p" >"$t"; then
        echo "sm_80: $ptxas cannot assemble clang's PTX for sm_80 (too old?): the spill check is skipped:"
        head -5 "$p.log" | indent
        return
    fi
    awk '$1 == "st_clean" && $3 == 0 && $4 == 0 {ok = 1} END {exit !ok}' "$t" ||
        selftest_fail "sm_80: st_clean not reported spill-free by ptxas: $(xargs <"$t")"
    awk '$1 == "st_spill" && $3 > 0 {ok = 1} END {exit !ok}' "$t" ||
        selftest_fail "sm_80: st_spill's spills not reported by ptxas: $(xargs <"$t")"
    use_ptxas=1
}

selftest_amd gfx1030
selftest_amd gfx90a
selftest_nv
echo "self-test: the detectors see a spill, a private array and an unresolved builtin, and pass a clean kernel"

# --- latent's program --------------------------------------------------------------------
# The files of cl_program_files = files(...) in cl_kernels/meson.build, in order.
mapfile -t files < <(awk '
    /^[[:space:]]*cl_program_files[[:space:]]*=[[:space:]]*files[[:space:]]*\(/ { on = 1 }
    on { print; if (index($0, ")")) exit }' cl_kernels/meson.build | grep -oE "'[^']+'" | tr -d "'")
if ((${#files[@]} == 0)); then
    echo "$me: FAIL: cannot read cl_program_files = files(...) from cl_kernels/meson.build; update this script"
    exit 1
fi
prog=$tmp/latent_program.cl
: >"$prog"
for f in "${files[@]}"; do
    if [[ ! -r cl_kernels/$f ]]; then
        echo "$me: FAIL: cl_kernels/meson.build names cl_kernels/$f, which is missing"
        exit 1
    fi
    # as cl_kernels/embed.c writes them, so diagnostics name the original file and line
    printf '\n#line 1 "%s"\n' "${f##*/}" >>"$prog"
    cat "cl_kernels/$f" >>"$prog"
done

# The kernels the source defines, from the preprocessed program (comments gone, macros expanded).
"$clang" "${cflags[@]}" --target=amdgcn-amd-amdhsa -E -P -o "$prog.i" "$prog" 2>"$tmp/stderr" || {
    indent <"$tmp/stderr"
    echo "$me: FAIL: the program does not preprocess"
    exit 1
}
grep -oE '(^|[^A-Za-z0-9_])(__)?kernel[[:space:]]+([^;{]*[[:space:]])?void[[:space:]]+[A-Za-z_][A-Za-z0-9_]*[[:space:]]*\(' "$prog.i" |
    sed -E 's/.*void[[:space:]]+([A-Za-z_][A-Za-z0-9_]*).*/\1/' | sort -u >"$tmp/kernels"
nk=$(wc -l <"$tmp/kernels")
if ((nk == 0)); then
    echo "$me: FAIL: found no __kernel in the program; update this script"
    exit 1
fi
echo "program: ${#files[@]} files from cl_kernels/meson.build, $nk kernels"

# Checks that the kernels of target $1 (names on stdin) are the source's.
check_kernel_set() {
    local missing extra
    sort -u >"$tmp/$1.kernels"
    missing=$(comm -23 "$tmp/kernels" "$tmp/$1.kernels" | xargs)
    extra=$(comm -13 "$tmp/kernels" "$tmp/$1.kernels" | xargs)
    [[ -z $missing ]] || fail "$1: kernels missing from the output: $missing"
    [[ -z $extra ]] || fail "$1: kernels in the output but not found in the source: $extra"
}

# AMD processor $1.
check_amd() {
    local cpu=$1 s=$tmp/$1.s t=$tmp/$1.tab before=$bad
    if ! compile "$prog" "$s" amdgcn-amd-amdhsa "$amd_bc" -mcpu="$cpu"; then
        fail "$cpu: the program does not compile cleanly (above)"
        return
    fi
    amd_table "$s" >"$t"
    awk '{print $1}' "$t" | check_kernel_set "$cpu"
    local unres scratchy
    unres=$(amd_unresolved "$s" | xargs)
    [[ -z $unres ]] || fail "$cpu: calls to functions nothing defines (libclc lacks them?): $unres"
    scratchy=$(amd_scratchy "$t")
    if [[ -n $scratchy ]]; then
        fail "$cpu: kernels using scratch memory:"
        indent <<<"$scratchy"
    fi
    awk -v cpu="$cpu" -v ok="$([[ $bad == "$before" ]] && echo ok || echo FAILED)" '
        { n++; if ($5 + $6 > mv) { mv = $5 + $6; mvk = $1 } if ($7 > ms) ms = $7
          if (min == "" || $8 < min) min = $8; if ($2 > sc) sc = $2 }
        END { printf "%s: %d kernels, max scratch %d B/lane, max VGPRs %d (%s), max SGPRs %d, min occupancy %d waves/SIMD: %s\n",
                  cpu, n, sc, mv, mvk, ms, min, ok }' "$t"
    sort -k5,5nr "$t" | head -4 | awk '{printf "    %-26s VGPRs %3d  AGPRs %d  SGPRs %3d  occupancy %2d  scratch %d\n", $1, $5, $6, $7, $8, $2}'
    # OpenCL C has no matrix instructions, so AGPRs hold spilled VGPRs (gfx90a): no scratch, so
    # allowed, but such a kernel needs more than 256 VGPRs (and spills to scratch on gfx1030)
    awk '$6 > 0 {printf "    note: %s holds %d VGPRs spilled into AGPRs (occupancy %d)\n", $1, $6, $8}' "$t"
}

# NVIDIA sm_80.
check_nv() {
    local p=$tmp/sm_80.ptx t=$tmp/sm_80.tab before=$bad
    if ! compile "$prog" "$p" nvptx64-nvidia-cuda "$nv_bc" -march=sm_80; then
        fail "sm_80: the program does not compile cleanly (above)"
        return
    fi
    nv_kernels "$p" | check_kernel_set sm_80
    local unres
    unres=$(nv_unresolved "$p" | xargs)
    [[ -z $unres ]] || fail "sm_80: calls to functions nothing defines (libclc lacks them?): $unres"
    if ((!use_ptxas)); then
        echo "sm_80: $(nv_kernels "$p" | wc -l) kernels (PTX only, no ptxas): $([[ $bad == "$before" ]] && echo ok || echo FAILED)"
        return
    fi
    if ! ptxas_table "$p" >"$t"; then
        fail "sm_80: ptxas rejects the PTX:"
        indent <"$p.log"
        return
    fi
    if grep -qE '^ptxas[[:space:]]+(warning|error|fatal)' "$p.log"; then
        fail "sm_80: ptxas says:"
        grep -E '^ptxas[[:space:]]+(warning|error|fatal)' "$p.log" | indent
    fi
    local spills
    spills=$(awk '$3 > 0 || $4 > 0 {printf "%s: %s bytes spill stores, %s bytes spill loads, %s registers\n", $1, $3, $4, $5}' "$t")
    if [[ -n $spills ]]; then
        fail "sm_80: functions spilling (ptxas):"
        indent <<<"$spills"
    fi
    awk -v n="$(nv_kernels "$p" | wc -l)" -v v="$("$ptxas" --version | sed -n 's/.*release \([0-9.]*\).*/\1/p')" \
        -v ok="$([[ $bad == "$before" ]] && echo ok || echo FAILED)" '
        $5 != "-" && $5 > mr { mr = $5; mk = $1 }
        { if ($3 > sp) sp = $3 }
        END { printf "sm_80: %d kernels (ptxas %s), max spill stores %d B, max registers %d (%s): %s\n", n, v, sp, mr, mk, ok }' "$t"
    sort -k5,5nr "$t" | awk '$5 != "-"' | head -4 | awk '{printf "    %-26s registers %3d  stack frame %d B\n", $1, $5, $2}'
    # a stack frame without spills is a non-inlined call's or a private array's: noted, allowed
    awk '$2 > 0 && $3 == 0 {printf "    note: %s has a %d-byte stack frame (local memory, no spill)\n", $1, $2}' "$t"
}

check_amd gfx1030
check_amd gfx90a
check_nv

if ((bad)); then
    echo "$me: $bad problem(s)"
    exit 1
fi
echo "$me: ok"
