# shellcheck shell=bash
# daemons.bash - background processes started and always stopped by pid, free loopback
# ports, waiting for a listener, and a certificate for a daemon's STARTTLS. Sourced by
# tests/e2e/lib.bash and bench/bench.

DAEMON_PIDS=()

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
    DAEMON_PIDS+=("$DAEMON_PID")
}

# stop_daemon PID - TERM and wait; returns the exit status.
stop_daemon() {
    local pid=$1 rc=0
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" || rc=$?
    return $rc
}

# stop_all_daemons - TERM every daemon started here, KILL what is left after 5 s.
stop_all_daemons() {
    local pid
    for pid in "${DAEMON_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${DAEMON_PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    DAEMON_PIDS=()
}

# make_cert DIR NAME - a self-signed certificate and key for NAME in DIR.
make_cert() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj "/CN=$2" -keyout "$1/key.pem" -out "$1/cert.pem" >/dev/null 2>&1
}
