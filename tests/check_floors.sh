#!/usr/bin/env bash
# Fails when a source file crosses a floor of the architecture (README, "Architecture"):
#   apps/          -> latent.h and latent_mpi.h (the public API) and apps/'s own headers
#   lib/           -> lib/ and the backend contract's floor, lib/backend/; no OpenCL or
#                     backend-private header; backends opened only by lib/ctx.c (the
#                     registry); backend slots called only through lib/backend/dispatch.h
#   lib/backend/   -> its own headers and latent.h (for lt_status), nothing else of lib/
#   cpu_fallback/, cl_kernels/ -> their own headers, backend.h, conv_chunks.h and philox.h: never
#                     lib/ above the floor, never the front door, never each other
# Usage: bash tests/check_floors.sh [repository root]; prints each crossing and exits 1.
set -u
root=${1:-$(dirname "$0")/..}
cd "$root" || exit 2
bad=0

# Reports a crossing.
cross() {
    echo "floor crossed: $1"
    bad=$((bad + 1))
}

# Prints the quoted includes of file $1, one a line.
quoted_includes() {
    sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$1"
}

# Checks that every quoted include of each file under folder $1 is in the allowed list
# ($2: a space-separated list of names or folder/ prefixes, resolved as written).
check_folder() {
    local dir=$1 allowed=$2 f inc ok a
    for f in "$dir"/*.c "$dir"/*.h "$dir"/*.cpp; do
        [[ -e $f ]] || continue
        while read -r inc; do
            [[ -n $inc ]] || continue
            ok=0
            for a in $allowed; do
                if [[ $a == */ && $inc == "$a"* ]] || [[ $inc == "$a" ]]; then ok=1; fi
            done
            # a header of the file's own folder is always allowed
            if [[ $inc != */* && -e $dir/$inc ]]; then ok=1; fi
            ((ok)) || cross "$f includes \"$inc\""
        done < <(quoted_includes "$f")
    done
}

check_folder apps "latent.h latent_mpi.h"
check_folder lib "backend/ stb_image.h stb_image_write.h stb_image_resize.h"
check_folder lib/data "internal.h backend/philox.h stb_image.h stb_image_write.h stb_image_resize.h"
check_folder lib/backend "../latent.h"
check_folder cpu_fallback "backend.h conv_chunks.h philox.h"
check_folder cl_kernels "backend.h conv_chunks.h philox.h"

# No OpenCL types above the backends.
for f in lib/*.c lib/*.h lib/data/*.c lib/backend/*.c lib/backend/*.h apps/*.c apps/*.h; do
    grep -qE '#[[:space:]]*include[[:space:]]*<(CL/|OpenCL/|clblast)' "$f" && cross "$f includes an OpenCL header"
done

# Backends are opened only by the registry.
for f in lib/*.c lib/data/*.c lib/backend/*.c; do
    [[ $f == lib/ctx.c ]] && continue
    grep -qE 'lt_(cpu|opencl)_backend_open' "$f" && cross "$f opens a backend (only lib/ctx.c may)"
done

# Backend slots are called only through the front door (lib/backend/dispatch.c).
slots='destroy|buf_alloc|buf_free|buf_elems|upload|download|copy|fill|finish|gemm|axpby|mul|sum|bias_act_forward'
slots+='|act_backward|bias_act_backward|gather_rows|loss|optim_step|sum_squares|clip_by_norm|random_uniform'
slots+='|random_normal|dropout_mask|count_nonfinite|conv2d_forward|conv2d_backward_data|conv2d_backward_filter'
slots+='|maxpool_forward|maxpool_backward|upsample_forward|upsample_backward|affine_resample|vae_sample_forward'
slots+='|vae_sample_backward|kl_normal|sparsity_kl|l1_penalty|copy_strided|rnn_forward|rnn_backward|set_threads'
for f in lib/*.c lib/*.h lib/data/*.c tests/*.c tests/*.h; do
    # layers have a vtable of their own (l->ops->forward, ...): only backend handles count
    grep -nE "(be|be2|cpu|ctx->be|p->be|LT_BE\([a-z]+\))->ops->($slots)\b" "$f" |
        while IFS= read -r line; do echo "floor crossed: $f:$line calls a backend slot directly"; done
done | { out=$(cat); [[ -z $out ]] || { echo "$out"; exit 1; }; } || bad=$((bad + 1))

# Backends never call up: no front door, no lib/ context or model functions.
for f in cpu_fallback/*.c cl_kernels/*.c; do
    grep -nE '\blt_(be|check)_[a-z_0-9]+\(|\blt_set_error\(' "$f" |
        while IFS= read -r line; do echo "floor crossed: $f:$line calls up out of the backend"; done
done | { out=$(cat); [[ -z $out ]] || { echo "$out"; exit 1; }; } || bad=$((bad + 1))

if ((bad)); then
    echo "check_floors: $bad crossing(s)"
    exit 1
fi
echo "check_floors: no crossings"
