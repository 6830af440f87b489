#!/usr/bin/env bash
# valgrind.sh - the proxy's and mx's end-to-end tests (proxy.sh, fair.sh, mx.sh) again, with every
# bin/proxy and bin/mx they start running under valgrind memcheck: uninitialised reads,
# invalid accesses and leaks are what the sanitizer build cannot all see. Release build
# only (valgrind cannot run ASan binaries); each program gets a wrapper in a private bin/.
set -euo pipefail
# shellcheck source=tests/e2e/lib.bash
. "$(dirname "$0")/lib.bash"

plan 5
if [[ "${SANITIZE:-0}" == 1 ]]; then
    for i in 1 2 3 4 5; do skip "valgrind test $i: valgrind runs the release build (the sanitizer pass cannot)"; done
    exit 0
fi
if ! command -v valgrind >/dev/null; then
    for i in 1 2 3 4 5; do skip "valgrind test $i: valgrind is not installed (make deps installs it)"; done
    exit 0
fi

VBIN=$E2E_TMP/bin
VLOG=$E2E_TMP/vg
mkdir -p "$VBIN" "$VLOG"
for prog in "$BIN"/*; do
    name=$(basename "$prog")
    case "$name" in
        proxy | mx)
            cat >"$VBIN/$name" <<W
#!/bin/sh
exec valgrind --tool=memcheck --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \\
    --show-leak-kinds=definite --track-fds=no --log-file="$VLOG/$name.%p.log" "$prog" "\$@"
W
            chmod +x "$VBIN/$name"
            ;;
        *) ln -s "$prog" "$VBIN/$name" ;;
    esac
done

# run_suite NAME - the suite with the wrappers; ok when every case passed.
run_suite() {
    local out
    out=$(BIN="$VBIN" VALGRIND=1 bash "$E2E_DIR/$1.sh" 2>&1) || true
    if grep -q '^not ok' <<<"$out" || ! grep -q '^ok' <<<"$out"; then
        not_ok "$1.sh under valgrind: every case passes" "$(grep -v '^ok' <<<"$out" | head -n 30)"
    else
        ok "$1.sh under valgrind: every case passes ($(grep -c '^ok' <<<"$out") cases)"
    fi
}

# memcheck_clean NAME - every valgrind log of NAME says 0 errors, and there was one.
memcheck_clean() {
    local logs=("$VLOG/$1".*.log) bad=()
    [[ -e "${logs[0]}" ]] || { not_ok "$1: memcheck ran" "no valgrind log of $1"; return; }
    for f in "${logs[@]}"; do
        grep -q 'ERROR SUMMARY: 0 errors' "$f" || bad+=("$f")
    done
    if [[ ${#bad[@]} -eq 0 ]]; then
        ok "$1: memcheck found 0 errors and no definite leak in ${#logs[@]} processes"
    else
        not_ok "$1: memcheck found errors" "$(grep -h -A12 -m3 '^==[0-9]*== [A-Z].*\(uninitialised\|Invalid\|definitely\)' "${bad[@]}" | head -n 60)"
    fi
}

run_suite proxy
run_suite fair
run_suite mx
memcheck_clean proxy
memcheck_clean mx
