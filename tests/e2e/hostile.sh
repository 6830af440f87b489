#!/usr/bin/env bash
# hostile.sh - the hostile-input suite: every case of tests/e2e/hostile.py against
# bin/proxy (in front of bin/mx with STARTTLS), bin/mx and bin/tarpit, and the
# misbehaving-MX cases against a proxy in front of hostile.py's own scripted MX. The
# three targets run side by side; each prints TAP, and this script adds up their plans.
set -euo pipefail
# shellcheck source=tests/e2e/lib.bash
. "$(dirname "$0")/lib.bash"

T=$E2E_TMP
IDLE=3
mkdir -p "$T/tls"
make_cert "$T/tls" mx1.test
TLS=(--tls-cert "$T/tls/cert.pem" --tls-key "$T/tls/key.pem")
if [[ "${SANITIZE:-0}" == 1 ]]; then
    export ASAN_OPTIONS=quarantine_size_mb=8 # freed memory held for checks would look like a leak
fi

MX=$(free_port)
start_daemon "$T/mx.err" "$BIN/mx" --listen "127.0.0.1:$MX" --hostname mx1.test --record "$T/mx.jsonl" \
    --maildir "$T/mx.md" --idle-timeout "$IDLE" "${TLS[@]}"
MX_PID=$DAEMON_PID
TP=$(free_port)
start_daemon "$T/tp.err" "$BIN/tarpit" --listen "127.0.0.1:$TP" --hostname mx2.test --record "$T/tp.jsonl" \
    --maildir "$T/tp.md" --idle-timeout "$IDLE" "${TLS[@]}"
TP_PID=$DAEMON_PID
MXP=$(free_port)
start_daemon "$T/mxp.err" "$BIN/mx" --listen "127.0.0.1:$MXP" --hostname mx3.test --record "$T/px.jsonl" \
    --maildir "$T/px.md" "${TLS[@]}"
PX=$(free_port)
start_daemon "$T/px.err" "$BIN/proxy" --listen "127.0.0.1:$PX" --upstream "127.0.0.1:$MXP" \
    --timeout-idle "$IDLE" --log "$T/px.log" --log-level messages
PX_PID=$DAEMON_PID
EVIL_MX=$(free_port)
PXE=$(free_port)
start_daemon "$T/pxe.err" "$BIN/proxy" --listen "127.0.0.1:$PXE" --upstream "127.0.0.1:$EVIL_MX" \
    --timeout-idle "$IDLE" --timeout-reply 5 --timeout-data 6 --log "$T/pxe.log"
for p in "$MX" "$TP" "$MXP" "$PX" "$PXE"; do wait_port 127.0.0.1 "$p"; done

H="$E2E_DIR/hostile.py"
python3 "$H" mx "127.0.0.1:$MX" "$MX_PID" "$T/mx.jsonl" --maildir "$T/mx.md" --idle "$IDLE" >"$T/mx.tap" 2>&1 &
A=$!
python3 "$H" tarpit "127.0.0.1:$TP" "$TP_PID" "$T/tp.jsonl" --maildir "$T/tp.md" --idle "$IDLE" >"$T/tp.tap" 2>&1 &
B=$!
python3 "$H" proxy "127.0.0.1:$PX" "$PX_PID" "$T/px.jsonl" --maildir "$T/px.md" --idle "$IDLE" \
    --evil "127.0.0.1:$PXE" --evil-mx "$EVIL_MX" >"$T/px.tap" 2>&1 &
C=$!
wait "$A" || true
wait "$B" || true
wait "$C" || true

total=0
for f in mx tp px; do
    n=$(sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' "$T/$f.tap" | head -n 1)
    total=$((total + ${n:-1}))
done
plan "$total"
n=0
for f in mx tp px; do
    # renumber: the three runs share one TAP stream
    while IFS= read -r line; do
        case "$line" in
            "ok "*) n=$((n + 1)); echo "ok $n ${line#ok [0-9]* }" ;;
            "not ok "*) n=$((n + 1)); echo "not ok $n ${line#not ok [0-9]* }" ;;
            1..*) ;;
            *) echo "# $line" ;;
        esac
    done <"$T/$f.tap"
done
for pid in "$MX_PID" "$TP_PID" "$PX_PID"; do
    kill -0 "$pid" 2>/dev/null || echo "# daemon $pid died"
done
