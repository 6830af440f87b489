# shellcheck shell=bash
# proc.bash - stopping a process the testbed started: TERM, then KILL when it does not go.
# Sourced by lab/lab and lab/node (and postfix.bash's callers) so both stop things alike.

# stop_pid PID - TERM, wait up to 10 s, then KILL; quiet when PID is gone already
stop_pid() {
    local pid=$1
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
}
