# shellcheck shell=bash
# lib.bash - shared helpers for end-to-end tests: TAP output, checks, certificates, and
# (from tools/daemons.bash) daemons always stopped by pid; temporary files removed on exit.
# Sourced by tests/e2e/*.sh; expects BIN (programs) to be set by tests/run.sh.

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export E2E_DIR # the tests' python helpers (promvalues.py) are imported from it
TOP=$(cd "$E2E_DIR/../.." && pwd)
BIN=${BIN:-bin}
[[ "$BIN" = /* ]] || BIN="$TOP/$BIN"
SMTPSCRIPT="$E2E_DIR/smtpscript.py"
TAP_N=0
# shellcheck source=tools/daemons.bash
. "$TOP/tools/daemons.bash"
E2E_CLEANUP=()
E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/e2e.XXXXXX")

# e2e_teardown - stop every daemon we started (by pid), run cleanups, remove files.
e2e_teardown() {
    local c
    stop_all_daemons
    for c in "${E2E_CLEANUP[@]}"; do
        eval "$c" || true
    done
    rm -rf "$E2E_TMP"
}
trap e2e_teardown EXIT
trap 'exit 130' INT TERM

plan() { echo "1..$1"; }
ok() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $1"; }
not_ok() {
    TAP_N=$((TAP_N + 1))
    echo "not ok $TAP_N - $1"
    [[ $# -gt 1 ]] && printf '%s\n' "$2" | sed 's/^/# /'
    return 0
}
skip() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N # SKIP $1"; }

# check NAME CMD... - one TAP line from a command's status; its output shown on failure.
check() {
    local name=$1 out
    shift
    if out=$("$@" 2>&1); then ok "$name"; else not_ok "$name" "$out"; fi
}

# term_during PID CLIENT - half a second into CLIENT's session (a background job), send
# SIGTERM to the daemon PID; wait for both and leave the daemon's exit status in TERM_RC.
# shellcheck disable=SC2034 # TERM_RC is read by the caller
term_during() {
    local pid=$1 client=$2
    sleep 0.5
    kill -TERM "$pid"
    wait "$client" || true
    TERM_RC=0
    wait "$pid" || TERM_RC=$?
}

# eventually CMD... - CMD until it succeeds, for up to 10 s: counters a daemon prints on
# SIGUSR1 and logs it flushes every second arrive a little later (under valgrind, later).
# CMD must not read stdin: a here-document is used up by the first try, and a second
# try of `python3 -` would run an empty script and pass.
eventually() {
    for _ in $(seq 50); do "$@" 2>/dev/null && return 0; sleep 0.2; done
    "$@"
}

# smtp PORT - run an smtpscript (from stdin) against 127.0.0.1:PORT.
smtp() {
    python3 "$SMTPSCRIPT" "127.0.0.1:$1" "${@:2}"
}

# approx GOT WANT TOL - |GOT - WANT| <= TOL
approx() {
    python3 -c "import sys; g,w,t=map(float,sys.argv[1:]); sys.exit(0 if abs(g-w)<=t else 1)" "$1" "$2" "$3" ||
        { echo "got $1, want $2 +- $3" >&2; return 1; }
}

# lab_tests_or_skip N WHAT - when not root, or in the sanitizer pass, report the N
# planned tests as skipped (saying why) and exit.
lab_tests_or_skip() {
    local n=$1 what=$2 why=""
    if [[ $(id -u) -ne 0 ]]; then
        why="needs root (network namespaces, nft, Postfix)"
    elif [[ "${SANITIZE:-0}" == 1 ]]; then
        why="slow lab tests run in the plain pass only"
    fi
    [[ -z "$why" ]] && return 0
    for i in $(seq "$n"); do skip "$what test $i: $why"; done
    exit 0
}
