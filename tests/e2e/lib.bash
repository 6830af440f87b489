# shellcheck shell=bash
# lib.bash - shared helpers for end-to-end tests: TAP output, free loopback ports,
# daemons started and always stopped by pid, temporary directories removed on exit.
# Sourced by tests/e2e/*.sh; expects BIN (programs) to be set by tests/run.sh.

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$E2E_DIR/../.." && pwd)
BIN=${BIN:-bin}
[[ "$BIN" = /* ]] || BIN="$TOP/$BIN"
SMTPSCRIPT="$E2E_DIR/smtpscript.py"
TAP_N=0
E2E_PIDS=()
E2E_CLEANUP=()
E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/e2e.XXXXXX")

# e2e_teardown - stop every daemon we started (by pid), run cleanups, remove files.
e2e_teardown() {
    local pid c
    for pid in "${E2E_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${E2E_PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
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

# free_port - a TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_port HOST PORT [SECONDS] - until something accepts connections there.
wait_port() {
    local host=$1 port=$2 tries=$((${3:-5} * 20))
    for _ in $(seq "$tries"); do
        if python3 -c "import socket,sys; socket.create_connection(('$host',$port),0.2).close()" 2>/dev/null; then
            return 0
        fi
        sleep 0.05
    done
    echo "nothing listens on $host:$port" >&2
    return 1
}

# start_daemon LOG CMD... - start CMD in the background, remember its pid in DAEMON_PID.
start_daemon() {
    local log=$1
    shift
    "$@" >"$log" 2>&1 &
    DAEMON_PID=$!
    E2E_PIDS+=("$DAEMON_PID")
}

# stop_daemon PID - TERM, wait up to 10 s; returns the exit status.
stop_daemon() {
    local pid=$1 rc=0
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" || rc=$?
    return $rc
}

# smtp PORT - run an smtpscript (from stdin) against 127.0.0.1:PORT.
smtp() {
    python3 "$SMTPSCRIPT" "127.0.0.1:$1" "${@:2}"
}

# make_cert DIR NAME - a self-signed certificate and key for NAME in DIR.
make_cert() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj "/CN=$2" -keyout "$1/key.pem" -out "$1/cert.pem" >/dev/null 2>&1
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
