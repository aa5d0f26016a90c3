# Sourced by the shell tests (test_cli.sh, test_train_resume.sh, test_dist_cli.sh):
#   check_start SCRIPT LATENT TAG: takes the latent program (made absolute in $LATENT),
#     makes a temporary folder ($tmp, removed at exit) and zeroes the counts;
#   record NAME WHY: counts a check, passed when WHY is empty, else prints it with the
#     end of $CHECK_STDERR (the file holding the last command's stderr);
#   loads FILE: whether model file FILE loads (every section's CRC checked);
#   check_end: prints "N passed, N failed"; its status is the suite's.
check_start() {
    LATENT=$2
    [[ -n $LATENT && -x $LATENT ]] || { echo "$1: '$LATENT' is not an executable"; exit 1; }
    LATENT=$(cd "$(dirname "$LATENT")" && pwd)/$(basename "$LATENT")
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/latent-$3.XXXXXX") || exit 1
    trap 'rm -rf "$tmp"' EXIT
    passed=0
    failed=0
}

record() {
    if [[ -z $2 ]]; then
        passed=$((passed + 1))
        echo "ok   $1"
    else
        failed=$((failed + 1))
        echo "FAIL $1: $2"
        if [[ -n ${CHECK_STDERR:-} && -f $CHECK_STDERR ]]; then sed 's/^/     stderr: /' "$CHECK_STDERR" | tail -n 8; fi
    fi
}

loads() { "$LATENT" summary "$1" >/dev/null 2>&1; }

check_end() {
    echo "$passed passed, $failed failed"
    ((failed == 0))
}
