#!/usr/bin/env bash
# Tests of the latent command-line program: help, every kind of bad input (usage
# errors exit 2, runtime errors exit 1, nothing ever crashes), and short real runs.
#
#   tests/test_cli.sh path/to/latent
#
# The device comes from LATENT_DEVICE (meson runs this once per backend). Fashion-MNIST
# checks run when the data are there ($LATENT_DATA_DIR or the Debian package).
set -u

source "$(dirname "$0")/checks.sh"
check_start test_cli.sh "${1:?usage: test_cli.sh path/to/latent}" cli
CHECK_STDERR=$tmp/stderr
echo "# latent: $LATENT, LATENT_DEVICE=${LATENT_DEVICE:-<unset>}, temp: $tmp"
rc=0

# Runs latent with the given arguments; keeps stdout, stderr and the exit status.
lt() {
    "$LATENT" "$@" >"$tmp/stdout" 2>"$tmp/stderr"
    rc=$?
}

# expect NAME RC [PATTERN [stdout|stderr]]: the last lt run exited with RC, did not
# crash, and its stream (stderr by default) matches the extended regex PATTERN.
expect() {
    local name=$1 want=$2 pattern=${3-} stream=${4:-stderr} why=""
    if ((rc >= 128)); then
        why="crashed (exit $rc, signal $((rc - 128)))"
    elif [[ $rc != "$want" ]]; then
        why="exit status $rc, expected $want"
    elif [[ -n $pattern ]] && ! grep -Eq -- "$pattern" "$tmp/$stream"; then
        why="$stream does not match /$pattern/"
    fi
    record "$name" "$why"
}

# usage_error NAME PATTERN ARGS...: a usage error (exit 2) naming the problem, with a hint.
usage_error() {
    local name=$1 pattern=$2
    shift 2
    lt "$@"
    expect "$name" 2 "$pattern"
    if [[ $rc == 2 ]] && ! grep -q -- "--help" "$tmp/stderr"; then
        record "$name (hint)" "no '--help' hint on stderr"
    fi
}

# file_check NAME FILE: FILE exists and is a PNG.
png_check() {
    local why=""
    if [[ ! -s $2 ]]; then
        why="$2 is missing or empty"
    elif [[ $(head -c 8 "$2" | od -An -tx1 | tr -d ' \n') != 89504e470d0a1a0a ]]; then
        why="$2 is not a PNG"
    fi
    record "$1" "$why"
}

# close_enough A B: the two numbers agree to 1e-4 absolute or 1e-3 relative.
close_enough() {
    awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; if (d < 0) d = -d; m = (a < 0 ? -a : a);
                                     exit !(d <= 1e-4 || d <= 1e-3 * m) }'
}

# ------------------------------------------------------------------ help and version
lt --help
expect "latent --help" 0 "^Usage: latent COMMAND" stdout
lt --version
expect "latent --version" 0 "^latent [0-9]+\.[0-9]+\.[0-9]+$" stdout
lt
expect "no command" 2 "missing command"
for cmd in devices train eval summary reconstruct bench; do
    lt "$cmd" --help
    expect "$cmd --help" 0 "^Usage: latent $cmd" stdout
done
lt help eval
expect "help eval" 0 "^Usage: latent eval" stdout
lt train --help
expect "train --help names the batch default" 0 "default 256" stdout

# ------------------------------------------------------------------ usage errors (exit 2)
usage_error "unknown command" "unknown command 'frobnicate'" frobnicate
usage_error "unknown option" "unknown option '--frobnicate'" train --frobnicate
usage_error "option of another command" "'--epochs' does not apply to 'eval'" eval m.lt --epochs 3
usage_error "missing value at the end" "'--epochs' needs a value" train --epochs
usage_error "missing value before an option" "'--epochs' needs a value" train --epochs --batch 3
usage_error "non-numeric --epochs" "--epochs: 'abc' is not a whole number" train --epochs abc
usage_error "fractional --batch" "--batch: '1.5' is not a whole number" train --batch 1.5
usage_error "zero --epochs" "--epochs: '0' is out of range" train --epochs 0
usage_error "huge --epochs" "--epochs: '99999999999999999999' is out of range" train --epochs 99999999999999999999
usage_error "negative --lr" "--lr: '-1' is out of range" train --lr -1
usage_error "NaN --lr" "--lr: 'nan' is not a finite number" train --lr nan
usage_error "--lr beyond float" "--lr: '1e99' is out of range" train --lr 1e99
usage_error "negative --seed" "--seed: '-1' is not a non-negative whole number" train --seed -1
usage_error "--validation-split 1" "--validation-split: '1' is out of range" train --validation-split 1
usage_error "value on a flag" "'--quiet' takes no value" train --quiet=yes
usage_error "single-dash option" "unknown option '-x'" train -x
usage_error "extra operand" "unexpected argument 'extra'" train extra
usage_error "unknown --optimizer" "unknown optimizer 'adamw'" train --optimizer adamw --data swiss-roll
usage_error "unknown --loss" "unknown loss 'hinge'" train --loss hinge --data swiss-roll
usage_error "--momentum with adam" "--momentum and --nesterov apply to --optimizer sgd only" \
    train --momentum 0.9 --data swiss-roll
usage_error "negative --clipnorm" "--clipnorm: '-1' is out of range: must be at least 0" train --clipnorm -1
usage_error "non-numeric --clipnorm" "--clipnorm: 'abc' is not a number" train --clipnorm abc
usage_error "NaN --global-clipnorm" "--global-clipnorm: 'nan' is not a finite number" train --global-clipnorm nan
usage_error "--clipnorm with --global-clipnorm" "--clipnorm and --global-clipnorm cannot be used together" \
    train --clipnorm 1 --global-clipnorm 1 --data swiss-roll
usage_error "--clipnorm on eval" "'--clipnorm' does not apply to 'eval'" eval m.lt --clipnorm 1
usage_error "unknown --device" "--device: unknown device 'gpu'" devices --device gpu
usage_error "malformed --device opencl:x" "unknown device 'opencl:x'" summary --device opencl:x
LATENT_DEVICE=tpu lt summary
expect "unknown LATENT_DEVICE" 2 "LATENT_DEVICE: unknown device 'tpu'"
usage_error "unknown --arch (summary)" "--arch 'nosuch'" summary --arch nosuch
usage_error "unknown --arch (train)" "--arch 'nosuch'" train --arch nosuch --data swiss-roll --out "$tmp/x.lt"
usage_error "bad --arch spec" "--arch 'dense:abc'" bench --arch dense:abc --seconds 0.1
usage_error "eval without a model" "missing the MODEL file" eval
usage_error "summary with a model and --arch" "not both" summary m.lt --arch mlp-ae

# ------------------------------------------------------------------ runtime errors (exit 1)
lt summary --device opencl:99
expect "no such device opencl:99" 1 "opencl:99"
if [[ ${LATENT_DEVICE:-} == opencl* ]]; then
    # a tensor over the device's largest buffer (lowered for the test) is named, and
    # no model file is left behind
    LATENT_CL_MAX_MEM_ALLOC_SIZE=20000 lt train --data swiss-roll --epochs 1 --out "$tmp/too-big.lt"
    expect "tensor over the largest buffer" 1 "the (activations|training inputs|parameters).*CL_DEVICE_MAX_MEM_ALLOC_SIZE"
    [[ -e $tmp/too-big.lt ]] && record "no model file after a failed allocation" "$tmp/too-big.lt exists"
    LATENT_CL_MAX_WORK_GROUP_SIZE=abc lt summary --arch mlp-ae
    expect "malformed LATENT_CL_MAX_WORK_GROUP_SIZE" 1 "LATENT_CL_MAX_WORK_GROUP_SIZE='abc'"
fi
lt train --data "$tmp/no-such-folder" --out "$tmp/x.lt"
expect "missing data folder" 1 "no-such-folder"
mkdir -p "$tmp/empty"
lt train --data "$tmp/empty" --out "$tmp/x.lt"
expect "data folder without IDX files" 1 "."
lt train --data swiss-roll --out "$tmp/no-such-folder/x.lt"
expect "--out in a missing folder" 1 "cannot write in folder"
lt eval "$tmp/no-such-model.lt" --data swiss-roll
expect "missing model file" 1 "no-such-model.lt"

head -c 4096 /dev/urandom >"$tmp/random.lt"
lt eval "$tmp/random.lt" --data swiss-roll
expect "eval of a random-bytes model file" 1 "random.lt"
lt summary "$tmp/random.lt"
expect "summary of a random-bytes model file" 1 "random.lt"
lt reconstruct "$tmp/random.lt" --data swiss-roll --out "$tmp/r.png"
expect "reconstruct of a random-bytes model file" 1 "random.lt"
# A named pipe with no writer as a model, data or image file: refused at once, no hang.
if mkfifo "$tmp/pipe"; then
    lt summary "$tmp/pipe"
    expect "a pipe as the model file" 1 "pipe: cannot read: not a regular file"
    lt train --data "$tmp/pipe" --out "$tmp/x.lt"
    expect "a pipe as the CSV file" 1 "pipe: cannot read: not a regular file"
fi
: >"$tmp/empty.lt"
lt eval "$tmp/empty.lt" --data swiss-roll
expect "eval of an empty model file" 1 "empty.lt"

# A well-formed model file whose nested models are not an encoder then a decoder: a Dense
# before the first nested model (so it takes 4 values, not the model's 3). The CLI must
# not run it as an encoder on the data (that read past the data's rows once).
le32() { local v=$1 i; for i in 0 8 16 24; do printf "\\x$(printf %02x $(((v >> i) & 255)))"; done; }
section() { # TAG FILE: tag, no flags, u64 length, payload, CRC32 (gzip's trailer holds it)
    printf '%s' "$1"; le32 0; le32 "$(wc -c <"$2")"; le32 0; cat "$2"; gzip -c <"$2" | tail -c 8 | head -c 4
}
printf '%s\n' "latent-arch 1" "input 3" "model outer" "layer dense pre units=4 activation=linear alpha=0" \
    "model enc" "layer dense e units=2 activation=linear alpha=0" "end" "model dec" \
    "layer dense d units=3 activation=linear alpha=0" "end" "end" "loss mse" \
    "optimizer adam lr=0.001 momentum=0 nesterov=0 rho=0.9 beta1=0.9 beta2=0.999 epsilon=1e-07" >"$tmp/odd.arch"
head -c $((4 * (16 + 10 + 9))) /dev/zero >"$tmp/odd.wght"
{ printf 'LATENTMD'; le32 1; le32 2; section ARCH "$tmp/odd.arch"; section WGHT "$tmp/odd.wght"; } >"$tmp/odd.lt"
printf '1,2,3\n4,5,6\n7,8,9\n' >"$tmp/three.csv"
lt summary "$tmp/odd.lt"
expect "a hand-made model file loads (CRC32s from gzip)" 0 "Total params: 35" stdout
lt eval "$tmp/odd.lt" --data "$tmp/three.csv"
expect "eval of a model whose first nested model is not its encoder" 0 "^test mse:" stdout
record "no code statistics from a nested model that is not the encoder" "$(grep '^code:' "$tmp/stdout")"
lt reconstruct "$tmp/odd.lt" --data "$tmp/three.csv" --out "$tmp/r.png"
expect "reconstruct with no encoder of the model's input" 1 "no encoder with a 2-D output"
lt generate "$tmp/odd.lt" --grid 3 --out "$tmp/r.png"
expect "generate with no encoder and decoder" 1 "no encoder and decoder to generate with"

printf 'x,y,z\n1,2,3\n4,oops,6\n7,8,9\n' >"$tmp/bad.csv"
lt train --data "$tmp/bad.csv" --out "$tmp/x.lt"
expect "CSV with a non-numeric cell" 1 "bad.csv.*line 3"
printf '1,2,3\n4,5\n' >"$tmp/ragged.csv"
lt train --data "$tmp/ragged.csv" --out "$tmp/x.lt"
expect "CSV with a short row" 1 "ragged.csv"

# ------------------------------------------------------------------ swiss roll, end to end
lt train --data swiss-roll --epochs 3 --batch 32 --out "$tmp/swiss.lt" --quiet
expect "train swiss-roll" 0 "^test mse: [0-9]+\.[0-9]{5}$" stdout
train_mse=$(sed -n 's/^test mse: //p' "$tmp/stdout")
record "train --quiet writes nothing on stderr" "$([[ -s $tmp/stderr ]] && echo "stderr not empty")"
record "train writes the model file" "$([[ -s $tmp/swiss.lt ]] || echo "no $tmp/swiss.lt")"
png_check "train writes the code scatter (.lt -> .png)" "$tmp/swiss.png"

lt eval "$tmp/swiss.lt" --data swiss-roll
expect "eval swiss-roll" 0 "^test mse: [0-9]+\.[0-9]{5}$" stdout
eval_mse=$(sed -n 's/^test mse: //p' "$tmp/stdout")
if [[ -n $train_mse && -n $eval_mse ]] && close_enough "$train_mse" "$eval_mse"; then
    record "eval of the saved model matches train's test loss" ""
else
    record "eval of the saved model matches train's test loss" "train '$train_mse', eval '$eval_mse'"
fi
lt summary "$tmp/swiss.lt"
expect "summary of a model file" 0 "[Pp]aram" stdout
lt summary --arch swissroll-ae
expect "summary --arch swissroll-ae" 0 "[Pp]aram" stdout
lt summary --arch mlp-ae --input 100 --threads 2
expect "summary --arch mlp-ae --input 100" 0 "[Pp]aram" stdout
lt reconstruct "$tmp/swiss.lt" --data swiss-roll --out "$tmp/codes.png"
expect "reconstruct swiss-roll" 0
png_check "reconstruct writes the scatter" "$tmp/codes.png"
lt bench --arch swissroll-ae --batch 64 --seconds 0.2
expect "bench swissroll-ae" 0 "^bench swissroll-ae batch 64 on [a-z]+ \(.*\): [0-9]+ samples/s$" stdout
lt devices
expect "devices" 0 "cpu" stdout
if [[ ${LATENT_DEVICE:-} == opencl* ]]; then
    expect "devices: the limits kept to" 0 "limits kept to: work-groups of [0-9]+ items, .* KiB local memory, buffers up to" stdout
    LATENT_CL_MAX_WORK_GROUP_SIZE=16 LATENT_CL_LOCAL_MEM_SIZE=8192 XDG_CACHE_HOME=$tmp/cache lt devices
    expect "devices: limits lowered by LATENT_CL_*" 0 "lowered by LATENT_CL_\*\): work-groups of 16 items, 8.0 KiB" stdout
    expect "devices: a new cache folder" 0 "cache +$tmp/cache/latent \(not created yet\)" stdout
    expect "devices: the program not cached there" 0 "kernels: not cached yet" stdout
    LATENT_DEVICE=opencl XDG_CACHE_HOME=$tmp/cache lt summary --arch mlp-ae
    XDG_CACHE_HOME=$tmp/cache lt devices
    expect "devices: the program cached after a use" 0 "kernels: compiled program cached" stdout
    expect "devices: the cache's entries" 0 "cache +$tmp/cache/latent: [1-9][0-9]* compiled program" stdout
fi

# A truncated model file and one with a flipped byte must be refused, not crash.
size=$(wc -c <"$tmp/swiss.lt")
head -c $((size / 2)) "$tmp/swiss.lt" >"$tmp/truncated.lt"
lt eval "$tmp/truncated.lt" --data swiss-roll
expect "eval of a truncated model file" 1 "truncated.lt"
cp "$tmp/swiss.lt" "$tmp/flipped.lt"
printf '\xff' | dd of="$tmp/flipped.lt" bs=1 seek=$((size - 9)) conv=notrunc status=none
lt eval "$tmp/flipped.lt" --data swiss-roll
expect "eval of a model file with a flipped byte" 1 "flipped.lt"

# Width mismatch: the swiss-roll model takes 3 inputs, this CSV has 4 columns.
printf 'a,b,c,d\n1,2,3,4\n5,6,7,8\n' >"$tmp/four.csv"
lt eval "$tmp/swiss.lt" --data "$tmp/four.csv"
expect "eval with a different data width" 1 "width 3.*width 4"

# A failed training run leaves an existing --out file byte for byte as it was.
cp "$tmp/swiss.lt" "$tmp/keep.lt"
lt train --data swiss-roll --optimizer sgd --lr 1e30 --epochs 3 --out "$tmp/keep.lt" --quiet
expect "diverging training fails" 1 "[Nn]a[Nn]|non-finite|infinit"
record "diverged run leaves --out intact" "$(cmp -s "$tmp/swiss.lt" "$tmp/keep.lt" || echo "keep.lt changed")"
lt train --data "$tmp/no-such.csv" --out "$tmp/keep.lt" --quiet
expect "training on a missing file fails" 1 "no-such.csv"
record "bad data path leaves --out intact" "$(cmp -s "$tmp/swiss.lt" "$tmp/keep.lt" || echo "keep.lt changed")"
# A picture is never written over a model file, and two outputs never share a name.
lt reconstruct "$tmp/keep.lt" --data swiss-roll --out "$tmp/keep.lt"
expect "reconstruct --out onto its model" 1 "keep.lt' is a latent model file"
record "reconstruct --out onto a model leaves it intact" "$(cmp -s "$tmp/swiss.lt" "$tmp/keep.lt" || echo "keep.lt changed")"
usage_error "train --png same as --out" "--out and --png both name" \
    train --data swiss-roll --epochs 1 --out "$tmp/both.png" --png "$tmp/both.png"
lt train --data swiss-roll --epochs 1 --out "$tmp/other.lt" --png "$tmp/keep.lt" --quiet
expect "train --png onto another model" 1 "keep.lt' is a latent model file"
record "train --png onto a model leaves it intact" "$(cmp -s "$tmp/swiss.lt" "$tmp/keep.lt" || echo "keep.lt changed")"

# The same seed gives the same model.
lt train --data swiss-roll --epochs 1 --batch 64 --seed 7 --out "$tmp/s7a.lt" --quiet
first=$(cat "$tmp/stdout")
lt train --data swiss-roll --epochs 1 --batch 64 --seed 7 --out "$tmp/s7b.lt" --quiet
expect "train --seed 7 twice" 0 "^test mse:" stdout
record "--seed 7 twice gives the same test loss" \
    "$([[ $first == "$(cat "$tmp/stdout")" ]] || echo "'$first' vs '$(cat "$tmp/stdout")'")"

# Gradient-norm clipping trains, and the model file keeps the setting.
lt train --data swiss-roll --epochs 2 --batch 32 --clipnorm 1 --out "$tmp/clip.lt" --quiet
expect "train --clipnorm 1" 0 "^test mse: [0-9]+\.[0-9]{5}$" stdout
record "the model file keeps clipnorm" "$(grep -aq ' clipnorm=1$' "$tmp/clip.lt" || echo "no clipnorm=1 in clip.lt")"
lt train --data swiss-roll --epochs 2 --batch 32 --optimizer sgd --global-clipnorm 0.5 --out "$tmp/gclip.lt" --quiet
expect "train --global-clipnorm 0.5" 0 "^test mse: [0-9]+\.[0-9]{5}$" stdout
lt bench --arch swissroll-ae --seconds 0.2 --clipnorm 1
expect "bench --clipnorm 1" 0 "samples/s" stdout

# A model trained with another loss reports "test loss", in train and in eval.
lt train --data swiss-roll --epochs 1 --loss bce --out "$tmp/bce.lt" --quiet
expect "bce on data outside [0, 1] (the standardized roll)" 1 "binary cross-entropy needs targets in \[0, 1\].*row [0-9]+, column [0-9]+ is -?[0-9.]+.*use mse"
awk 'BEGIN { print "a,b,c"; for (i = 0; i < 200; i++) printf "%.4f,%.4f,%.4f\n", (i % 10) / 10, (i % 7) / 7, 0.5 }' \
    >"$tmp/unit.csv"
lt train --data "$tmp/unit.csv" --arch swissroll-ae --epochs 1 --loss bce --out "$tmp/bce.lt" --quiet
expect "train --loss bce" 0 "^test loss: [0-9]+\.[0-9]{5}$" stdout
lt eval "$tmp/bce.lt"
expect "eval of a bce model" 0 "^test loss: [0-9]+\.[0-9]{5}$" stdout
lt train --data "$tmp/unit.csv" --arch "dense:4:sigmoid,sparsity:0.05:1|dense:in:sigmoid" --epochs 1 --out "$tmp/x.lt" --quiet
expect "mse plus a sparsity penalty is a 'test loss', not a 'test mse'" 0 "^test loss: [0-9]+\.[0-9]{5}$" stdout
lt eval "$tmp/bce.lt" --data swiss-roll
expect "eval of a bce model on data outside [0, 1]" 1 "evaluation data \(the targets\): binary cross-entropy needs targets in \[0, 1\]"

# A CSV table trains and evaluates like any other data.
awk 'BEGIN { print "x,y,z"; for (i = 0; i < 300; i++) printf "%.4f,%.4f,%.4f\n", sin(i), cos(i), i / 300 }' \
    >"$tmp/table.csv"
lt train --data "$tmp/table.csv" --epochs 2 --batch 32 --validation-split 0.2 --out "$tmp/table.lt" --quiet
expect "train on a CSV file" 0 "^test mse:" stdout
lt eval "$tmp/table.lt" --data "$tmp/table.csv" --limit 100
expect "eval on a CSV file" 0 "^test mse:" stdout

# ------------------------------------------------------------------ image files
# le32 N / le16 N: little-endian bytes as printf escapes.
le32() { printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)); }
le16() { printf '\\x%02x\\x%02x' $(($1 & 255)) $(($1 >> 8 & 255)); }

# bmp FILE W H SEED: a 24-bit BMP of smooth colour gradients (no Python needed).
bmp() {
    local f=$1 w=$2 h=$3 s=$4 row=$(((3 * $2 + 3) / 4 * 4)) x y
    {
        printf 'BM'; printf "$(le32 $((54 + row * h)))"; printf "$(le32 0)"; printf "$(le32 54)"
        printf "$(le32 40)$(le32 "$w")$(le32 "$h")$(le16 1)$(le16 24)$(le32 0)$(le32 $((row * h)))"
        printf "$(le32 2835)$(le32 2835)$(le32 0)$(le32 0)"
        for ((y = 0; y < h; y++)); do
            local line=""
            for ((x = 0; x < w; x++)); do
                line+=$(printf '\\x%02x\\x%02x\\x%02x' $(((x * 5 + s * 40) & 255)) $(((y * 6 + x * 2) & 255)) $(((x * y + s * 17) & 255)))
            done
            for ((x = 3 * w; x < row; x++)); do line+='\x00'; done
            printf "$line"
        done
    } >"$f"
}

mkdir -p "$tmp/imgs" "$tmp/empty"
bmp "$tmp/imgs/a.bmp" 40 36 1
bmp "$tmp/imgs/b.bmp" 33 40 2
echo "not an image" >"$tmp/imgs/notes.txt" # other files in the folder are skipped
lt train --data "$tmp/imgs" --arch sr2x --patch 16 --epochs 1 --batch 8 --out "$tmp/sr.lt" --quiet
expect "train sr2x on a folder of images" 0 "^test mse: [0-9]+\.[0-9]{5}$" stdout
lt upscale "$tmp/sr.lt" "$tmp/imgs/b.bmp" "$tmp/up.png"
expect "upscale an image" 0
png_check "upscale writes a PNG" "$tmp/up.png"
if [[ -s $tmp/up.png && $(od -An -tu1 -j16 -N8 "$tmp/up.png" | tr -s ' ' | sed 's/^ //') != "0 0 0 66 0 0 0 80" ]]; then
    record "upscale doubles the size (33x40 -> 66x80)" "PNG header says $(od -An -tu1 -j16 -N8 "$tmp/up.png")"
else
    record "upscale doubles the size (33x40 -> 66x80)" ""
fi
lt score "$tmp/sr.lt" "$tmp/imgs/a.bmp" --downscale 2 --png "$tmp/sr-score.png"
expect "score a super-resolution model" 0 "^latent +[0-9]+\.[0-9]{2} +[0-9]\.[0-9]{4}$" stdout
png_check "score writes the before/after picture" "$tmp/sr-score.png"
lt train --data "$tmp/imgs" --arch "conv:4:3x3:elu:same,conv:c:3x3:same" --patch 16 --noise 0.1 --augment lecture \
    --epochs 1 --batch 8 --out "$tmp/dn.lt" --quiet
expect "train a denoiser with noise and augmentation" 0 "^test mse:" stdout
lt denoise "$tmp/dn.lt" "$tmp/imgs/a.bmp" "$tmp/clean.png"
expect "denoise an image" 0
png_check "denoise writes a PNG" "$tmp/clean.png"
lt score "$tmp/dn.lt" "$tmp/imgs/a.bmp" "$tmp/imgs/b.bmp" --noise 0.1
expect "score a denoiser: noisy row" 0 "^noisy input +[0-9]+\.[0-9]{2}" stdout
expect "score a denoiser: baseline row" 0 "^gaussian blur \(sigma [0-9.]+\)" stdout
lt eval "$tmp/dn.lt" --data "$tmp/imgs" --noise 0.1
expect "eval a denoiser on noisy inputs" 0 "^test mse:" stdout

# A model remembers how it was trained: its task and the options that shaped its data.
lt train --data "$tmp/imgs" --arch "conv:4:3x3:elu:same,conv:c:3x3:same" --patch 16 --noise 0.2 --epochs 1 \
    --batch 8 --out "$tmp/dn2.lt" --quiet
dn2_mse=$(sed -n 's/^test mse: //p' "$tmp/stdout")
lt eval "$tmp/dn2.lt"
expect "eval takes the recorded data and noise" 0 "as '.*dn2\.lt' was trained: --data .*imgs --noise 0\.2 --seed 1$"
record "eval of a denoiser repeats train's test loss with no options" \
    "$([[ -n $dn2_mse && $(sed -n 's/^test mse: //p' "$tmp/stdout") == "$dn2_mse" ]] || echo "train '$dn2_mse', eval '$(cat "$tmp/stdout")'")"
lt eval "$tmp/dn2.lt" --noise 0 --quiet
record "an option given overrides the recorded one (--noise 0: clean inputs)" \
    "$([[ $rc == 0 && -n $dn2_mse && $(sed -n 's/^test mse: //p' "$tmp/stdout") != "$dn2_mse" ]] || echo "exit $rc, '$(cat "$tmp/stdout")'")"
lt summary "$tmp/dn2.lt"
expect "summary names the task" 0 "^Task: denoiser$" stdout
expect "summary lists the recorded options" 0 "^Trained with: --data .*imgs --noise 0\.2 --seed 1 --patch 16 --arch .* --epochs 1 --batch 8 " stdout
lt score "$tmp/dn2.lt" "$tmp/imgs/a.bmp"
expect "score takes the recorded noise" 0 "^noisy input +[0-9]+\.[0-9]{2}" stdout
lt upscale "$tmp/dn2.lt" "$tmp/imgs/a.bmp" "$tmp/o.png"
expect "upscale with a denoiser" 1 "trained as a denoiser, not for super-resolution.*latent denoise"
lt denoise "$tmp/sr.lt" "$tmp/imgs/a.bmp" "$tmp/o.png"
expect "denoise with a super-resolution model" 1 "trained for super-resolution, not for denoising.*latent upscale"
lt summary "$tmp/sr.lt"
expect "sr2x records its default factor" 0 "^Trained with: --data .*imgs --downscale 2 " stdout
# Bad image input.
cp "$tmp/imgs/notes.txt" "$tmp/bad.png"
lt denoise "$tmp/dn.lt" "$tmp/bad.png" "$tmp/o.png"
expect "denoise a corrupt image" 1 "bad\.png.*(not a readable|corrupt)"
lt denoise "$tmp/dn.lt" "$tmp/missing.png" "$tmp/o.png"
expect "denoise a missing image" 1 "missing\.png"
head -c 100 "$tmp/imgs/a.bmp" >"$tmp/trunc.bmp"
lt denoise "$tmp/dn.lt" "$tmp/trunc.bmp" "$tmp/o.png"
expect "denoise a truncated image" 1 "trunc\.bmp"
if [[ -p $tmp/pipe ]]; then
    lt denoise "$tmp/dn.lt" "$tmp/pipe" "$tmp/o.png"
    expect "a pipe as the image" 1 "pipe: cannot read: not a regular file"
fi
lt train --data "$tmp/imgs" --channels 1 --arch "conv:2:3x3:same,conv:c:3x3:same" --patch 16 --epochs 1 --out "$tmp/gray.lt" --quiet
expect "train on gray patches" 0
usage_error "score without a task (the model records no corruption)" "--noise S .* --downscale F" score "$tmp/gray.lt"
lt denoise "$tmp/gray.lt" "$tmp/imgs/a.bmp" "$tmp/o.png"
expect "colour image into a gray model" 1 "colour image.*gray"
lt denoise "$tmp/swiss.lt" "$tmp/imgs/a.bmp" "$tmp/o.png"
expect "denoise with a model that takes no images" 1 "takes flat vectors of 3 values, not images"
lt score "$tmp/gray.lt" "$tmp/imgs/a.bmp" --noise 0.1
expect "score a colour image with a gray model" 1 "colour image.*gray"
lt score "$tmp/dn.lt" "$tmp/imgs/a.bmp" --noise 0
expect "score on clean inputs (--noise 0)" 0 "^noisy input +[0-9]+\.[0-9]{2}" stdout
lt pca --data swiss-roll
expect "pca keeps the default k that fit the data" 0 "^pca k=2: test mse" stdout
lt train --data "$tmp/empty" --arch sr2x --out "$tmp/e.lt"
expect "train on an empty folder" 1 "no PNG, JPEG or BMP"
lt train --data "$tmp/imgs" --arch sr2x --patch 64 --out "$tmp/e.lt"
expect "patches larger than every image" 1 "64"
lt train --data "$tmp/imgs" --arch denoise-rgb --epochs 1 --out "$tmp/e.lt"
expect "denoise-rgb needs 63x63 patches the images cannot give" 1 "63"
lt train --data swiss-roll --augment rotation=10 --epochs 1 --out "$tmp/e.lt"
expect "augmentation of non-image data" 1 "augmentation warps images, but the model takes"
lt train --data swiss-roll --noise 0.1 --epochs 1 --out "$tmp/e.lt" --quiet
expect "noise on non-image data trains" 0 "^test mse:" stdout
lt train --data swiss-roll --kl-warmup 1 --epochs 1 --out "$tmp/e.lt"
expect "KL warm-up without a Sampling layer" 1 "KL warm-up weights a VAE's KL term, but the model has no Sampling layer"
lt train --data "$tmp/imgs" --arch conv-ae --channels 3 --epochs 1 --out "$tmp/e.lt"
expect "gray conv-ae on RGB patches" 1 "gives 784 values per sample, but its targets \(the inputs\) have 2352: it makes 1-channel"
lt summary --arch denoise-rgb
expect "summary of denoise-rgb without data: 63x63x3" 0 "\(None, 63, 63, 3\)" stdout
usage_error "unknown augmentation item" "unknown item 'spin'" train --augment spin
usage_error "bad augmentation value" "rotation='x'" train --augment rotation=x
usage_error "augmentation with super-resolution" "not with --downscale" train --arch sr2x --augment flip
usage_error "denoise without operands" "expected MODEL IN OUT.png" denoise "$tmp/dn.lt"
usage_error "noise and downscale together" "give one" score "$tmp/dn.lt" --noise 0.1 --downscale 2
usage_error "--channels outside image folders" "folders of images only" train --data swiss-roll --channels 1
lt train --data "$tmp/imgs" --arch sr2x --patch 2 --epochs 1 --out "$tmp/x.lt"
expect "super-resolution on patches too small to shrink" 1 "an image of 2x2 is too small to downscale by 2 \(it needs at least 3"
usage_error "--patch outside image folders" "--patch applies to folders of images only" train --data swiss-roll --patch 8

# ------------------------------------------------------------------ time series
# A sine with a text date column and a spike at row 270, in the last fifth (the test rows).
awk 'BEGIN { print "date,value,other"
             for (i = 0; i < 300; i++) { v = sin(i / 4); if (i == 270) v += 6
                                         printf "d%03d,%.5f,%.5f\n", i, v, cos(i / 7) } }' >"$tmp/series.csv"
tiny_seq="lstm:8|repeat:t,lstm:8:seq,td:c"
series=(--data "$tmp/series.csv" --columns value --window 12)
lt train "${series[@]}" --arch "$tiny_seq" --epochs 4 --batch 16 --out "$tmp/ser.lt" --quiet
expect "train a sequence autoencoder on CSV series windows" 0 "^test mse: [0-9]+\.[0-9]{5}$" stdout
series_mse=$(sed -n 's/^test mse: //p' "$tmp/stdout")
lt eval "$tmp/ser.lt" "${series[@]}"
expect "eval on the series' test windows" 0 "^test mse:" stdout
record "eval of the series model matches train's test loss" \
    "$([[ -n $series_mse ]] && close_enough "$series_mse" "$(sed -n 's/^test mse: //p' "$tmp/stdout")" || echo "train '$series_mse', eval '$(cat "$tmp/stdout")'")"
lt summary "$tmp/ser.lt"
expect "summary of the series model: (steps, features) input" 0 "\(None, 12, 1\)" stdout
lt summary "${series[@]}"
expect "summary --window builds seq-ae for the windows" 0 "lstm.*\(None, 64\)" stdout
lt anomaly "$tmp/ser.lt" "${series[@]}" --out "$tmp/ser-anomaly.csv"
expect "anomaly scores every window of a series" 0 "^flagged: [0-9]+ of 289 windows" stdout
expect "anomaly prints the flagged rows" 0 "^flagged rows: .*[0-9]+-[0-9]+" stdout
expect "anomaly names the training rows" 0 "^series: 300 rows, training rows 0-239, test rows 240-299$" stdout
png_check "anomaly draws the series (.csv -> .png)" "$tmp/ser-anomaly.png"
if [[ $(head -n 1 "$tmp/ser-anomaly.csv") != window,first_row,last_row,score,flagged || $(wc -l <"$tmp/ser-anomaly.csv") != 290 ]]; then
    record "series anomaly CSV: a header and one line per window" "$(head -n 1 "$tmp/ser-anomaly.csv"), $(wc -l <"$tmp/ser-anomaly.csv") lines"
else
    record "series anomaly CSV: a header and one line per window" ""
fi
# Every window that holds the spike's row is flagged.
missed=$(awk -F, 'NR > 1 && $2 <= 270 && $3 >= 270 && $5 != 1' "$tmp/ser-anomaly.csv" | wc -l)
record "the windows over the injected spike are flagged" "$( ((missed == 0)) || echo "$missed of them not flagged")"
lt anomaly "$tmp/ser.lt" "${series[@]}" --stride 4 --percentile 99 --out "$tmp/ser-anomaly2.csv" --png "$tmp/ser-plot.png"
expect "anomaly with --stride and --png" 0 "^flagged: [0-9]+ of 73 windows" stdout
png_check "anomaly --png writes the plot there" "$tmp/ser-plot.png"

# The series' scaling comes from the training rows only: test rows 100 higher stay far
# off after scaling (with statistics of all rows they would land near the training data).
awk 'BEGIN { print "v"; for (i = 0; i < 300; i++) printf "%.5f\n", sin(i / 4) + (i >= 240 ? 100 : 0) }' >"$tmp/shift.csv"
lt train --data "$tmp/shift.csv" --window 12 --arch "$tiny_seq" --epochs 1 --batch 32 --out "$tmp/shift.lt" --quiet
expect "train on a series whose test rows are shifted" 0 "^test mse:" stdout
shift_mse=$(sed -n 's/^test mse: //p' "$tmp/stdout")
record "test rows are scaled with the training rows' statistics" \
    "$(awk -v m="${shift_mse:-0}" 'BEGIN { exit !(m > 1000) }' || echo "test mse $shift_mse, expected > 1000")"

lt train --data "$tmp/shift.csv" --window 12 --center-windows --arch "$tiny_seq" --epochs 1 --batch 32 --out "$tmp/shift.lt" --quiet
expect "train on centred windows of the shifted series" 0 "^test mse:" stdout
shift_mse=$(sed -n 's/^test mse: //p' "$tmp/stdout")
record "--center-windows takes the level out of each window" \
    "$(awk -v m="${shift_mse:-1e9}" 'BEGIN { exit !(m < 10) }' || echo "test mse $shift_mse, expected < 10")"

# Wide tables read across their rows: one row per "year", four "months".
awk 'BEGIN { print "year,m1,m2,m3,m4"; for (y = 0; y < 40; y++) { printf "%d", 1950 + y
             for (m = 0; m < 4; m++) printf ",%.4f", sin((4 * y + m) / 3); print "" } }' >"$tmp/wide.csv"
lt train --data "$tmp/wide.csv" --columns 2-5 --wide --window 8 --stride 4 --arch "$tiny_seq" --epochs 1 \
    --out "$tmp/wide.lt" --quiet
expect "train on a wide table read across its rows" 0 "^test mse:" stdout
lt summary "$tmp/wide.lt"
expect "a wide table gives one feature" 0 "\(None, 8, 1\)" stdout

# Missing values: an error naming the cell, or interpolated.
awk 'BEGIN { print "t,v"; for (i = 0; i < 120; i++) print i "," (i == 30 || i == 31 ? "" : sprintf("%.4f", sin(i / 5))) }' \
    >"$tmp/gaps.csv"
lt train --data "$tmp/gaps.csv" --columns v --window 10 --arch "$tiny_seq" --epochs 1 --out "$tmp/x.lt"
expect "an empty cell in a series" 1 "gaps\.csv: line 32, column 2 \(\"v\"\): empty cell.*--interpolate"
lt train --data "$tmp/gaps.csv" --columns v --window 10 --interpolate --arch "$tiny_seq" --epochs 1 --out "$tmp/x.lt" --quiet
expect "--interpolate fills the gap" 0 "^test mse:" stdout

# Bad series input: clear messages, exit 1.
lt eval "$tmp/ser.lt" --data "$tmp/series.csv" --columns value --window 10
expect "a window length the model was not trained for" 1 "12 steps x 1 feature, .*10 steps x 1 feature "
lt anomaly "$tmp/ser.lt" --data "$tmp/series.csv" --columns value,other --window 12 --out "$tmp/x.csv"
expect "more columns than the model was trained on" 1 "trained on a series of 1 column, but --data '.*series\.csv' gives 2"
# A model file from before notes existed (ser.lt less its run record and notes, the
# sections after its first three) records nothing.
meta_at=$(grep -abo PROG "$tmp/ser.lt" | tail -n 1 | cut -d: -f1)
head -c "${meta_at:-0}" "$tmp/ser.lt" >"$tmp/old.lt"
printf '\003' | dd of="$tmp/old.lt" bs=1 seek=12 conv=notrunc 2>/dev/null
lt summary "$tmp/old.lt"
record "a model file without notes loads" "$( ((rc == 0)) && ! grep -q "Trained with" "$tmp/stdout" || echo "exit $rc")"
lt anomaly "$tmp/old.lt" --data "$tmp/series.csv" --columns value,other --window 12 --out "$tmp/x.csv"
expect "more features than the model takes" 1 "12 steps x 1 feature, .*12 steps x 2 features"
lt eval "$tmp/old.lt" --data "$tmp/series.csv" --columns value
expect "flat CSV rows for a sequence model" 1 "takes sequences of 12 steps x 1 feature, .*flat samples of width 1.*--window"
lt eval "$tmp/ser.lt" --quiet
record "a series model repeats train's test loss with no options" \
    "$([[ -n $series_mse && $(sed -n 's/^test mse: //p' "$tmp/stdout") == "$series_mse" ]] || echo "train '$series_mse', eval '$(cat "$tmp/stdout")'")"
# New data are scaled as the training data were: the same series 100 higher is far off.
awk -F, 'NR == 1 { print; next } { printf "%s,%.5f,%s\n", $1, $2 + 100, $3 }' "$tmp/series.csv" >"$tmp/higher.csv"
lt eval "$tmp/ser.lt" --data "$tmp/higher.csv" --quiet
higher_mse=$(sed -n 's/^test mse: //p' "$tmp/stdout")
record "new data take the model's scaling, not their own" \
    "$(awk -v m="${higher_mse:-0}" 'BEGIN { exit !(m > 1000) }' || echo "exit $rc, test mse '$higher_mse', expected > 1000")"
lt eval "$tmp/old.lt" --data "$tmp/higher.csv" --columns value --window 12 --quiet
old_mse=$(sed -n 's/^test mse: //p' "$tmp/stdout")
record "a model without notes scales new data with their own statistics" \
    "$([[ -n $old_mse && -n $series_mse ]] && close_enough "$old_mse" "$series_mse" || echo "exit $rc, '$old_mse' vs '$series_mse'")"
lt train "${series[@]}" --arch "dense:4:elu|dense:in" --epochs 1 --out "$tmp/dense-ser.lt" --quiet
expect "a dense autoencoder on series windows (flattened)" 0 "^test mse:" stdout
lt anomaly "$tmp/dense-ser.lt" --data "$tmp/series.csv" --columns value --window 10 --out "$tmp/x.csv"
expect "windows of another length for a dense model" 1 "width 12, .*windows of 10 steps x 1 feature \(width 10\)"
lt train --data "$tmp/series.csv" --columns value --arch seq-ae --out "$tmp/x.lt"
expect "a recurrent model on a CSV table" 1 "recurrent layer.*sequences.*--window"
lt train --data "$tmp/series.csv" --columns value --window 400 --out "$tmp/x.lt"
expect "a window longer than the series" 1 "--window 400 is longer than the series.*has 300 rows"
lt train --data "$tmp/series.csv" --columns value --window 100 --out "$tmp/x.lt"
expect "a window longer than the test rows" 1 "test part has only 60 rows"
usage_error "a backward column range" "--columns: columns \"2-1\": range 2-1 runs backwards" \
    train --data "$tmp/series.csv" --columns 2-1 --window 12 --out "$tmp/x.lt"
lt train --data "$tmp/series.csv" --columns nosuch --window 12 --out "$tmp/x.lt"
expect "an unknown column" 2 "no column named \"nosuch\" \(the header has \"date\", \"value\", \"other\"\)"
lt train --data "$tmp/series.csv" --columns 4 --window 12 --out "$tmp/x.lt"
expect "a column number past the end" 2 "column 4 does not exist: the file has 3 columns"
lt train --data "$tmp/series.csv" --window 12 --out "$tmp/x.lt"
expect "a text column read as numbers" 1 "line 2, column 1 \(\"date\"\): cell \"d000\" is not a number"
sed '5s/,[^,]*,/,abc,/' "$tmp/series.csv" >"$tmp/badseries.csv"
lt train --data "$tmp/badseries.csv" --columns value --window 12 --out "$tmp/x.lt"
expect "a non-numeric cell in a series" 1 "badseries\.csv: line 5, column 2 \(\"value\"\): cell \"abc\" is not a number"
usage_error "--window with non-CSV data" "apply to CSV files" train --data swiss-roll --window 12
usage_error "--test-split without --window" "--test-split, --wide and --center-windows apply to a CSV series" \
    train --data "$tmp/series.csv" --test-split 0.3
usage_error "--center-windows without --window" "apply to a CSV series read with --window" \
    eval "$tmp/old.lt" --data "$tmp/series.csv" --center-windows
usage_error "--stride with neither images nor a series" "--stride applies to folders of images and to CSV series" \
    train --data swiss-roll --stride 2
usage_error "--test-split 1" "--test-split: '1' is out of range" train --test-split 1
usage_error "anomaly --png for a table" "--png: anomaly draws a plot for a CSV series" anomaly "$tmp/old.lt" --png "$tmp/x.png"
usage_error "anomaly --limit on a series" "--limit: anomaly scores every window" anomaly "$tmp/ser.lt" "${series[@]}" --limit 5

# ------------------------------------------------------------------ picture names, small data, progress
# Pictures are written as PNG whatever their name says: a name promising another
# format is a usage error naming its extension, and nothing is written.
usage_error "denoise OUT.jpg" "OUT '.*out\.jpg': pictures are written as PNG, but the name ends in '\.jpg' \(JPEG\)" \
    denoise "$tmp/dn.lt" "$tmp/imgs/a.bmp" "$tmp/out.jpg"
record "denoise OUT.jpg writes nothing" "$([[ -e $tmp/out.jpg ]] && echo "$tmp/out.jpg exists")"
usage_error "upscale OUT.bmp" "OUT '.*out\.bmp': .*ends in '\.bmp' \(BMP\)" upscale "$tmp/sr.lt" "$tmp/imgs/b.bmp" "$tmp/out.bmp"
usage_error "OUT without an extension" "OUT '.*out': pictures are written as PNG, and the name has no \.png extension" \
    denoise "$tmp/dn.lt" "$tmp/imgs/a.bmp" "$tmp/out"
usage_error "score --png x.jpeg" "--png '.*x\.jpeg': .*ends in '\.jpeg' \(JPEG\)" \
    score "$tmp/dn.lt" "$tmp/imgs/a.bmp" --png "$tmp/x.jpeg"
usage_error "reconstruct --out x.gif" "--out '.*x\.gif': .*ends in '\.gif' \(GIF\)" \
    reconstruct "$tmp/swiss.lt" --data swiss-roll --out "$tmp/x.gif"
usage_error "train --png x.jpg" "--png '.*x\.jpg': pictures are written as PNG" \
    train --data swiss-roll --epochs 1 --out "$tmp/named.lt" --png "$tmp/x.jpg"
record "train --png x.jpg trains and saves nothing" "$([[ -e $tmp/named.lt ]] && echo "$tmp/named.lt exists")"
usage_error "generate --out x.tiff" "--out '.*x\.tiff': .*\(TIFF\)" generate "$tmp/swiss.lt" --grid 3 --out "$tmp/x.tiff"
usage_error "embed --out x.webp" "--out '.*x\.webp': .*\(WebP\)" embed --data swiss-roll --method pca --out "$tmp/x.webp"
usage_error "anomaly --png x.jpg" "--png '.*x\.jpg': pictures are written as PNG" \
    anomaly "$tmp/ser.lt" "${series[@]}" --out "$tmp/x.csv" --png "$tmp/x.jpg"
lt denoise "$tmp/dn.lt" "$tmp/imgs/a.bmp" "$tmp/upper.PNG"
expect "OUT.PNG: the extension in any case" 0
png_check "denoise writes OUT.PNG" "$tmp/upper.PNG"
cp "$tmp/swiss.lt" "$tmp/model.png"
lt reconstruct "$tmp/swiss.lt" --data swiss-roll --out "$tmp/model.png"
expect "a model file named .png is still never written over" 1 "model\.png' is a latent model file"
lt train --data "$tmp/no-such-data" --out "$tmp/x.lt"
expect "a missing --data lists every kind, image folders too" 1 \
    "expected fashion-mnist, swiss-roll, a folder of IDX files, a folder of PNG, JPEG or BMP images, or a CSV file"

# A tiny labelled IDX folder: 2x2 gray images, gzip-compressed as the downloads are.
be32() { printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 >> 24 & 255)) $(($1 >> 16 & 255)) $(($1 >> 8 & 255)) $(($1 & 255)); }
idx_images() { # FILE N
    local i px=""
    for ((i = 0; i < 4 * $2; i++)); do px+=$(printf '\\x%02x' $(((i * 53 + i / 4 * 29) & 255))); done
    printf "\\x00\\x00\\x08\\x03$(be32 "$2")$(be32 2)$(be32 2)$px" | gzip -c >"$1"
}
idx_labels() { # FILE LABEL...
    local f=$1 l bytes=""
    shift
    for l in "$@"; do bytes+=$(printf '\\x%02x' "$l"); done
    printf "\\x00\\x00\\x08\\x01$(be32 $#)$bytes" | gzip -c >"$f"
}
mkdir -p "$tmp/idx4"
idx_images "$tmp/idx4/train-images-idx3-ubyte.gz" 12
idx_labels "$tmp/idx4/train-labels-idx1-ubyte.gz" 0 1 0 1 5 0 1 0 1 0 1 0 # class 5: one image
idx_images "$tmp/idx4/t10k-images-idx3-ubyte.gz" 6
idx_labels "$tmp/idx4/t10k-labels-idx1-ubyte.gz" 0 1 0 1 0 1
lt train --data "$tmp/idx4" --arch "dense:2|dense:in:sigmoid" --epochs 1 --out "$tmp/idx4.lt" --quiet
expect "train on a tiny IDX folder" 0 "^test mse: [0-9]+\.[0-9]{5}$" stdout
lt generate "$tmp/idx4.lt" --class 5 --n 3 --out "$tmp/one.png" --quiet
expect "generate --class from one image warns, --quiet or not" 0 \
    "latent generate: warning: --class 5: --data '.*idx4' has only one training image of that class, so the mean code is just that image's code"
png_check "generate --class from one image writes its grid" "$tmp/one.png"
lt generate "$tmp/idx4.lt" --class 1 --n 3 --out "$tmp/many.png"
expect "generate --class from several images" 0 "class 1: mean code of 5 training images, then 2 variations"
record "no warning for a class of several images" "$(grep warning "$tmp/stderr")"
lt embed "$tmp/idx4.lt" --method tsne --limit 3 --out "$tmp/x.png"
expect "t-SNE of fewer than 4 samples" 1 \
    "--method tsne needs at least 4 samples, but the test split of --data '.*idx4' has 3 \(--limit 3\)"
lt embed "$tmp/idx4.lt" --method tsne --limit 4 --out "$tmp/tsne4.png"
expect "t-SNE of 4 samples" 0 "latent: t-SNE of 4 codes of width 2"
png_check "t-SNE of 4 samples writes its plot" "$tmp/tsne4.png"
# Bytes after the end of a gzip stream (zlib's gzread skips them unseen) are an error.
cp -r "$tmp/idx4" "$tmp/idx4-trail"
printf 'garbage' >>"$tmp/idx4-trail/t10k-images-idx3-ubyte.gz"
lt eval "$tmp/idx4.lt" --data "$tmp/idx4-trail"
expect "bytes after an IDX file's gzip stream" 1 "idx4-trail/t10k-images-idx3-ubyte\.gz: 7 bytes after the end of the gzip stream"
lt eval "$tmp/idx4.lt" --data "$tmp/idx4"
expect "the same folder without them" 0 "^test mse:" stdout

# Commands that can run a while say on stderr what they are doing (unless --quiet),
# and their stdout holds only the results.
lt pca --data swiss-roll
expect "pca says what it fits" 0 "^latent: pca k=2: fitting on 2000 training samples \(their 3 x 3 covariance"
record "pca's stdout holds only its table" "$(grep -v '^pca k=' "$tmp/stdout")"
lt pca --data swiss-roll --quiet
record "pca --quiet writes nothing on stderr" "$([[ -s $tmp/stderr ]] && head -c 300 "$tmp/stderr")"
lt score "$tmp/dn.lt" "$tmp/imgs/a.bmp" "$tmp/imgs/b.bmp" --noise 0.1
expect "score says what it scores" 0 "^latent: scoring 2 images: noisy, restored by the model"
lt anomaly "$tmp/ser.lt" "${series[@]}" --out "$tmp/x.csv" --png "$tmp/x-plot.png"
expect "anomaly says what it scores" 0 "^latent: scoring [0-9]+ training windows by their reconstruction error"
lt classify --data "$tmp/idx4" --hidden 4 --labels 6 --epochs 1 --batch 4 --out "$tmp/clf4.lt"
expect "classify says what it does besides fitting" 0 "^latent: saved .*clf4\.lt; classifying 6 test samples"
lt embed --data "$tmp/idx4" --method pca --out "$tmp/x.png"
expect "embed --method pca says what it fits" 0 "^latent: PCA: fitting on 12 training samples \(their 4 x 4 covariance\)"

# Pictures of image patches show patches with detail, not the first ones (often flat
# sky). Two folders, each one 32x96 picture: flat gray but for a busy quarter at the
# bottom (so its first patches are flat) or at the top. Flat patches compress to almost
# nothing, so a picture of the bottom folder's first patches is a fraction of the top
# folder's; with detailed patches picked the two are about as large.
bmp_half() { # FILE bottom|top
    local x y px line busy
    {
        printf 'BM\x36\x24\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00\x28\x00\x00\x00\x20\x00\x00\x00\x60\x00\x00\x00'
        printf '\x01\x00\x18\x00\x00\x00\x00\x00\x00\x24\x00\x00\x13\x0b\x00\x00\x13\x0b\x00\x00\x00\x00\x00\x00'
        printf '\x00\x00\x00\x00'
        for ((y = 0; y < 96; y++)); do # rows bottom-up
            if [[ $2 == bottom ]]; then busy=$((y < 24)); else busy=$((y >= 72)); fi
            line=""
            for ((x = 0; x < 32; x++)); do
                px='\x80\x80\x80'
                ((busy)) && printf -v px '\\x%02x\\x%02x\\x%02x' $(((x * 97 + y * 57 ^ x * y * 13) & 255)) \
                    $(((x * 31 ^ y * 71) & 255)) $(((x * y * 7 + 3 * y) & 255))
                line+=$px
            done
            printf "$line"
        done
    } >"$1"
}
for at in bottom top; do
    mkdir -p "$tmp/busy-$at"
    bmp_half "$tmp/busy-$at/a.bmp" "$at"
    lt train --data "$tmp/busy-$at" --arch "conv:2:3x3:same,conv:c:3x3:same" --patch 16 --downscale 2 --epochs 1 \
        --out "$tmp/busy-$at.lt" --quiet
    expect "train on the folder busy at the $at" 0 "^test mse:" stdout
    lt score "$tmp/busy-$at.lt" --png "$tmp/busy-$at-score.png" --quiet
    expect "score --png on the folder busy at the $at" 0 "^latent " stdout
done
# as_large NAME A B: file A is at least half as large as file B.
as_large() {
    local a b
    a=$(wc -c <"$2" 2>/dev/null || echo 0)
    b=$(wc -c <"$3" 2>/dev/null || echo 0)
    record "$1" "$( ((b > 0 && 2 * a >= b)) || echo "$2 has $a bytes, $3 $b: flat patches shown?")"
}
as_large "train's picture shows patches with detail" "$tmp/busy-bottom.png" "$tmp/busy-top.png"
as_large "score's picture shows patches with detail" "$tmp/busy-bottom-score.png" "$tmp/busy-top-score.png"

# ------------------------------------------------------------------ Fashion-MNIST
fm=""
for dir in "${LATENT_DATA_DIR:-}" /usr/share/datasets/fashion-mnist; do
    if [[ -n $dir && -e $dir/train-images-idx3-ubyte.gz || -n $dir && -e $dir/train-images-idx3-ubyte ]]; then
        fm=$dir
        break
    fi
done
if [[ -z $fm ]]; then
    echo "skip Fashion-MNIST checks: no data in \$LATENT_DATA_DIR or /usr/share/datasets/fashion-mnist"
else
    lt train --limit 2000 --epochs 1 --out "$tmp/fm.lt"
    expect "train mlp-ae on 2000 Fashion-MNIST images" 0 "^test mse: [0-9]+\.[0-9]{5}$" stdout
    png_check "train writes the image grid" "$tmp/fm.png"
    # The same data as a folder of IDX files.
    mkdir -p "$tmp/idx"
    ln -s "$fm"/* "$tmp/idx/"
    lt eval "$tmp/fm.lt" --data "$tmp/idx" --limit 500
    expect "eval on an IDX folder" 0 "^test mse: [0-9]+\.[0-9]{5}$" stdout
    lt reconstruct "$tmp/fm.lt" --data "$tmp/idx" --limit 100 --n 5 --out "$tmp/grid.png"
    expect "reconstruct images" 0
    png_check "reconstruct writes the image grid" "$tmp/grid.png"
    lt eval "$tmp/swiss.lt" --data fashion-mnist --limit 10
    expect "eval of a 3-input model on images" 1 "width 3.*width 784"
    lt train --arch conv-ae --noise 0.3 --limit 300 --epochs 1 --out "$tmp/dae.lt" --quiet
    expect "train a denoising conv-ae" 0 "^test mse:" stdout
    lt score "$tmp/dae.lt" --noise 0.3 --limit 20 --n 4 --png "$tmp/dae.png"
    expect "score a denoiser on Fashion-MNIST" 0 "^latent +[0-9]+\.[0-9]{2} +[0-9]\.[0-9]{4}$" stdout
    png_check "score writes the Fashion-MNIST picture" "$tmp/dae.png"
    # Variational autoencoders and generation.
    lt train --arch vae --limit 500 --epochs 1 --kl-warmup 1 --out "$tmp/vae.lt" --quiet
    expect "train a vae (bce-sum + KL)" 0 "^test loss: [0-9]+\.[0-9]{5}$" stdout
    lt eval "$tmp/vae.lt" --limit 200
    expect "eval a vae" 0 "^test loss: [0-9]+\.[0-9]{5}$" stdout
    lt generate "$tmp/vae.lt" --n 9 --out "$tmp/prior.png"
    expect "generate from the prior" 0
    png_check "generate writes a grid" "$tmp/prior.png"
    lt generate "$tmp/vae.lt" --class 3 --limit 500 --out "$tmp/class3.png"
    expect "generate from a class's mean code" 0 "class 3: mean code of [0-9]+ training images"
    png_check "class generation writes a grid" "$tmp/class3.png"
    lt generate "$tmp/vae.lt" --class 42 --limit 500 --out "$tmp/x.png"
    expect "a class that does not exist" 1 "--class 42: no training sample.*classes 0\.\.9"
    lt generate "$tmp/vae.lt" --between 0,5 --n 6 --out "$tmp/between.png"
    expect "interpolate between two codes" 0
    lt generate "$tmp/vae.lt" --between 0,99999 --out "$tmp/x.png"
    expect "interpolation past the test split" 1 "has 10000 images"
    lt generate "$tmp/vae.lt" --grid 4 --out "$tmp/x.png"
    expect "a manifold needs a 2-D code" 1 "2-D code.*20 dimensions"
    lt train --arch conv-vae --limit 300 --epochs 1 --out "$tmp/cvae.lt" --quiet
    expect "train a conv-vae" 0 "^test loss:" stdout
    lt generate "$tmp/cvae.lt" --grid 5 --out "$tmp/manifold.png"
    expect "the 2-D manifold of a conv-vae" 0
    png_check "manifold picture" "$tmp/manifold.png"
    lt generate "$tmp/fm.lt" --out "$tmp/x.png"
    expect "no prior without a VAE" 1 "not a VAE"
    usage_error "a classifier loss on an autoencoder" "--loss cce trains a classifier .*10 classes.*784 values per sample.*an autoencoder" \
        train --arch mlp-ae --loss cce --limit 100 --epochs 1 --out "$tmp/x.lt"
    usage_error "a classifier of one class" "--class 3 keeps one class.*drop --class" \
        train --arch rnn-clf --class 3 --limit 100 --epochs 1 --out "$tmp/x.lt"
    lt generate "$tmp/fm.lt" --class 1 --limit 300 --n 4 --out "$tmp/mlp-class.png"
    expect "class generation with a plain autoencoder" 0
    lt generate "$tmp/swiss.lt" --class 1 --out "$tmp/x.png"
    expect "generate with a decoder that makes no images" 1 "does not output images"
    # Views of the latent space, PCA, anomaly detection.
    lt embed "$tmp/cvae.lt" --limit 300 --out "$tmp/codes.png"
    expect "embed a 2-D code" 0
    png_check "embed writes a scatter plot" "$tmp/codes.png"
    lt embed "$tmp/vae.lt" --method tsne --limit 150 --out "$tmp/tsne.png"
    expect "embed a 20-D code with t-SNE" 0
    png_check "t-SNE plot" "$tmp/tsne.png"
    lt embed --method pca --limit 300 --out "$tmp/pca.png"
    expect "embed with PCA, no model" 0
    lt embed "$tmp/vae.lt" --limit 100 --out "$tmp/x.png"
    expect "--method code needs a 2-D code" 1 "20 dimensions"
    lt embed "$tmp/dn.lt" --data "$tmp/imgs" --limit 10 --out "$tmp/x.png"
    expect "embed data without labels" 1 "no labels"
    lt embed "$tmp/sr.lt" --data fashion-mnist --limit 10 --out "$tmp/x.png"
    expect "embed a model without a code layer" 1 "no encoder"
    lt pca --k 2,16 --limit 500
    expect "pca table" 0 "^pca k=16: test mse [0-9.]+, explained variance 0\.[0-9]{4}$" stdout
    lt pca --k 2,5000 --limit 500
    expect "pca with more components than dimensions" 1 "only 784 dimensions"
    lt train --arch mlp-ae --class 0 --limit 2000 --epochs 1 --out "$tmp/normal.lt" --quiet
    expect "train on one class" 0 "^test mse:" stdout
    lt anomaly "$tmp/normal.lt" --class 0 --limit 2000 --out "$tmp/scores.csv"
    expect "anomaly scores with ROC AUC" 0 "^roc auc: 0\.[0-9]{4} \(class 0 normal" stdout
    if [[ $(wc -l <"$tmp/scores.csv") != 2001 || $(head -n 1 "$tmp/scores.csv") != index,score,flagged,label ]]; then
        record "anomaly CSV: a header and one line per test sample" "$(wc -l <"$tmp/scores.csv") lines"
    else
        record "anomaly CSV: a header and one line per test sample" ""
    fi
    lt anomaly "$tmp/normal.lt" --class 12 --limit 500 --out "$tmp/x.csv"
    expect "anomaly with a class that does not exist" 1 "no sample of class 12"
    lt train --arch mlp-ae --class 10 --limit 500 --epochs 1 --out "$tmp/x.lt" --quiet
    expect "train on a class that does not exist" 1 "no sample of class 10 \(labels 0\.\.9\)"
    lt classify --labels 300 --limit 1000 --epochs 2 --batch 32 --pretrain --pretrain-epochs 1 --hidden 32,16 \
        --out "$tmp/clf.lt" --quiet
    expect "classify with layer-wise pretraining" 0 "^test accuracy: 0\.[0-9]{4}$" stdout
    lt eval "$tmp/clf.lt" --limit 500
    expect "eval of a classifier prints its accuracy" 0 "^test accuracy: 0\.[0-9]{4}$" stdout
    lt classify --data swiss-roll --out "$tmp/x.lt"
    expect "classify data without labels" 1 "no labels"
    usage_error "a bad --hidden list" "widths like 256,64" classify --hidden 256,,64
    usage_error "unknown embed method" "unknown method 'umap'" embed "$tmp/vae.lt" --method umap
    usage_error "a bad --k list" "component counts" pca --k 2,x
    usage_error "two generation modes" "give one" generate "$tmp/vae.lt" --class 1 --grid 3
    usage_error "a bad --between" "two test image numbers" generate "$tmp/vae.lt" --between 3
    # recurrent models: images as sequences of rows
    lt train --arch rnn-clf --limit 600 --epochs 1 --batch 64 --out "$tmp/rnn.lt" --quiet
    expect "train rnn-clf (a SimpleRNN classifier)" 0 "^test accuracy: 0\.[0-9]{4}$" stdout
    lt eval "$tmp/rnn.lt" --limit 300
    expect "eval of rnn-clf prints its accuracy" 0 "^test accuracy: 0\.[0-9]{4}$" stdout
    lt train --arch rnn-clf --limit 600 --epochs 1 --batch 64 --optimizer sgd --lr 0.1 --clipnorm 1 \
        --out "$tmp/rnnclip.lt" --quiet
    expect "train rnn-clf with SGD and --clipnorm 1 (clipped BPTT)" 0 "^test accuracy: 0\.[0-9]{4}$" stdout
    lt train --arch birnn-ae --limit 300 --epochs 1 --batch 32 --out "$tmp/birnn.lt" --quiet
    expect "train birnn-ae (bidirectional, many-to-many)" 0 "^test mse:" stdout
    lt summary "$tmp/birnn.lt"
    expect "summary of birnn-ae" 0 "bidirectional \(Bidirectional\) +\(None, 28, 128\) +11904" stdout
    lt train --arch "lstm:8|repeat:t,gru:8:seq,td:c:sigmoid" --limit 200 --epochs 1 --out "$tmp/seq.lt" --quiet
    expect "train an LSTM-GRU sequence autoencoder from a spec" 0 "^test mse:" stdout
    lt train --arch "lstm:8:state|lstm:8:seq:init,td:c:sigmoid" --limit 200 --epochs 1 --out "$tmp/s2s.lt" --quiet
    expect "train an encoder-decoder that passes the LSTM state (return_state, initial state)" 0 "^test mse:" stdout
    lt summary "$tmp/s2s.lt"
    expect "summary shows the encoder's state [h | c]" 0 "lstm(_[0-9]+)? \(LSTM\) +\(None, 16\) +1184" stdout
    expect "summary shows the decoder started from it (no input kernel)" 0 \
        "lstm_[0-9]+ \(LSTM\) +\(None, 28, 8\) +288" stdout
    usage_error "return_state with return_sequences" "does not go with 'seq'" summary --arch "lstm:8:seq:state"
    lt train --arch rnn-clf --limit 200 --epochs 1 --noise 0.2 --out "$tmp/x.lt"
    expect "a classifier refuses --noise" 2 "trains on clean inputs"
    usage_error "a recurrent layer with a bad field" "unknown field 'sideways'" summary --arch "rnn:8:sideways"
fi

# latent import: PyTorch weights (safetensors) for an architecture, saved as a model
# file; bad uses are clear errors and never write over a file that is not a model.
golden=$(dirname "$0")/golden
lt import "$golden/st_nested.safetensors" "$tmp/imported.lt" --arch "dense:16:elu,dense:4:nobias|dense:16:elu,dense:in:sigmoid" --input 20
if ! grep -q "built without" "$tmp/stderr"; then
    expect "import PyTorch weights" 0 "wrote .*imported.lt"
    lt summary "$tmp/imported.lt"
    expect "the imported model loads" 0 "dense_1 \(Dense\) +\(None, 4\) +64" stdout
    echo "not a model" >"$tmp/notes.txt"
    lt import "$golden/st_nested.safetensors" "$tmp/notes.txt" --arch "dense:16:elu,dense:4:nobias|dense:16:elu,dense:in:sigmoid" --input 20
    expect "import refuses to write over a file that is not a model" 1 "notes.txt' exists and is not a latent model file"
    [[ $(cat "$tmp/notes.txt") == "not a model" ]] && record "import left notes.txt as it was" "" ||
        record "import left notes.txt as it was" "it changed"
    lt import "$golden/st_nested.safetensors" "$tmp/imp2.lt"
    expect "import of weights without --arch" 1 "give the architecture and its input shape"
    lt import "$golden/st_nested.safetensors" "$tmp/imp2.lt" --arch "dense:16:elu,dense:5|dense:16:elu,dense:in:sigmoid" --input 20
    expect "import into the wrong architecture names the tensor and shapes" 1 "tensor '0.2.weight' has shape \[4, 16\]; layer dense_[0-9]+ \(Dense\) expects \[5, 16\]"
    [[ ! -e $tmp/imp2.lt ]] && record "a failed import writes no model file" "" ||
        record "a failed import writes no model file" "imp2.lt exists"
    lt import "$golden/st_nested.safetensors"
    expect "import needs two operands" 2 "give the file to import and the model file to write"
    lt import "$golden/keras_lab.h5" "$tmp/lab.lt"
    expect "import a legacy Keras .h5 file" 0 "wrote .*lab.lt"
    lt summary "$tmp/lab.lt"
    expect "the imported Keras model keeps Keras's names and counts" 0 "conv2d_transpose_1 \(Conv2DTranspose\) +\(None, 10, 10, 1\) +37" stdout
    lt export "$tmp/lab.lt" "$tmp/lab2.keras"
    expect "export to Keras" 0 "wrote .*lab2.keras"
    lt import "$tmp/lab2.keras" "$tmp/lab3.lt"
    expect "the export imports again" 0 "wrote .*lab3.lt"
    lt export "$tmp/lab.lt" "$tmp/lab.lt"
    expect "export refuses a name without .keras" 2 "name it .keras"
    cp "$tmp/lab.lt" "$tmp/model.keras"
    lt export "$tmp/lab.lt" "$tmp/model.keras"
    expect "export refuses to write over a latent model file" 1 "is a latent model file; refusing"
    lt import "$golden/keras_reg.keras" "$tmp/reg.lt"
    expect "import names the option latent lacks" 1 "layer 'withreg' \(Dense\): kernel_regularizer"
    lt export "$tmp/sparse.lt" "$tmp/sparse.keras" --quiet
    expect "export of a missing model" 1 "sparse.lt"
    lt train --arch "dense:8:sigmoid,sparsity:0.05:0.1|dense:in:sigmoid" --data swiss-roll --epochs 1 --out "$tmp/sparse.lt" --quiet
    lt export "$tmp/sparse.lt" "$tmp/sparse.keras"
    expect "export names the layer Keras cannot express" 1 "\(Sparsity\) cannot be exported: Keras has no KL sparsity penalty layer"
    [[ ! -e $tmp/sparse.keras ]] && record "a refused export writes no file" "" || record "a refused export writes no file" "sparse.keras exists"
else
    expect "a build without import says so" 1 "built without"
fi

# An impossible --batch on the CPU: the error names the bytes asked for and the machine's
# memory (13.5 TB of activations, refused by the backend's account before any is written).
lt bench --device cpu --arch "conv:4096:3x3:elu:same|conv:1:3x3:sigmoid:same" --batch 1048576 --seconds 0.1
expect "an impossible --batch on the CPU names the bytes asked for and the memory" 1 \
    "[0-9]+ bytes \([0-9.]+ [kMGT]B, [0-9]+ elements\) were asked for, (more than|but only [0-9]+ bytes \([0-9.]+ [kMGT]B\) of) the machine's [0-9.]+ [kMGT]B of memory"

check_end
