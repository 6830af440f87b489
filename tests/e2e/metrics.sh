#!/usr/bin/env bash
# metrics.sh - the proxy's Prometheus endpoint: scraped with curl after a known load
# (messages by class per tenant and destination, TLS sessions by version, the latency
# histogram, upstream failures by reason, refusals), the exposition checked strictly by
# promfmt.py (and by promtool when it is installed), and HTTP beyond GET /metrics.
set -euo pipefail
# shellcheck source=tests/e2e/lib.bash
. "$(dirname "$0")/lib.bash"

plan 7
T=$E2E_TMP
FAIR="python3 $(dirname "$0")/fair.py"
mkdir -p "$T/tls"
make_cert "$T/tls" mx1.test

MX=$(free_port)
start_daemon "$T/mx.err" "$BIN/mx" --listen "127.0.0.1:$MX" --hostname mx1.test --record "$T/rec.jsonl" \
    --tls-cert "$T/tls/cert.pem" --tls-key "$T/tls/key.pem"
wait_port 127.0.0.1 "$MX"
printf '[tenant shop]\nmatch = 127.0.0.11\n[destination mx1]\nmatch = 127.0.0.1\nlimit = 2\n' >"$T/policy.conf"
PX=$(free_port)
MP=$(free_port)
start_daemon "$T/proxy.err" "$BIN/proxy" --listen "127.0.0.1:$PX" --upstream "127.0.0.1:$MX" \
    --policy "$T/policy.conf" --metrics "127.0.0.1:$MP" --max-sessions 20
wait_port 127.0.0.1 "$PX"
wait_port 127.0.0.1 "$MP"
$FAIR groups "$PX" 127.0.0.11:3:2:0.2 127.0.0.12:2:1 >"$T/load.jsonl"
# a second proxy whose MX refuses connections: an upstream failure by reason
DEAD=$(free_port)
PX2=$(free_port)
MP2=$(free_port)
start_daemon "$T/proxy2.err" "$BIN/proxy" --listen "127.0.0.1:$PX2" --upstream "127.0.0.1:$DEAD" \
    --metrics "127.0.0.1:$MP2"
wait_port 127.0.0.1 "$PX2"
wait_port 127.0.0.1 "$MP2"
$FAIR groups "$PX2" 127.0.0.13:2:1 >"$T/dead.jsonl"

curl -sf "http://127.0.0.1:$MP/metrics" -D "$T/head.txt" -o "$T/metrics.txt"
curl -sf "http://127.0.0.1:$MP2/metrics" -o "$T/metrics2.txt"
check "the exposition is well formed (promfmt.py)" python3 "$(dirname "$0")/promfmt.py" "$T/metrics.txt"
if command -v promtool >/dev/null; then
    check "promtool check metrics accepts it" bash -c "promtool check metrics <'$T/metrics.txt'"
else
    skip "promtool is not installed (Debian's prometheus package; deps.sh leaves it out: it starts a server)"
fi
check "Content-Type is the text format 0.0.4" grep -qi '^Content-Type: text/plain; version=0.0.4' "$T/head.txt"
check "the numbers match the load: 6 and 2 messages 2xx by tenant, a TLS session per connection, 8 latencies" \
    python3 - "$T/metrics.txt" "$T/load.jsonl" <<'P'
import json, re, sys, os
sys.path.insert(0, os.environ["E2E_DIR"])
from promvalues import values
m = values(sys.argv[1])
rs = [json.loads(l) for l in open(sys.argv[2])]
assert sum(r["delivered"] for r in rs) == 8, rs
assert m['smtp_proxy_messages_total{tenant="shop",destination="[mx1]",class="2xx"}'] == 6, m
assert m['smtp_proxy_messages_total{tenant="127.0.0.12",destination="[mx1]",class="2xx"}'] == 2, m
assert m['smtp_proxy_messages_total{tenant="shop",destination="[mx1]",class="5xx"}'] == 0
conns = sum(r["connections"] for r in rs)  # a client handed back reconnects
assert m['smtp_proxy_tls_sessions_total{version="TLSv1.3"}'] == conns, (m['smtp_proxy_tls_sessions_total{version="TLSv1.3"}'], conns)
assert m['smtp_proxy_relay_latency_seconds_count'] == 8 and m['smtp_proxy_relay_latency_seconds_bucket{le="+Inf"}'] == 8
assert m["smtp_proxy_sessions_total"] == conns + 1, m["smtp_proxy_sessions_total"]  # and wait_port's probe
assert m["smtp_proxy_held_total"] >= 1, m["smtp_proxy_held_total"]
assert m['smtp_proxy_policy_reloads_total{result="ok"}'] == 0
P
check "the refusing MX: 3 upstream failures, reason refused" \
    grep -qx 'smtp_proxy_upstream_failures_total{reason="refused"} 3' "$T/metrics2.txt"
check "anything but GET /metrics: 404, 405; a flood of header lines: 431" bash -c "
    [ \$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$MP/) = 404 ] &&
    [ \$(curl -s -o /dev/null -w '%{http_code}' -X POST http://127.0.0.1:$MP/metrics) = 405 ] &&
    python3 -c \"
import socket
s = socket.create_connection(('127.0.0.1', $MP))
s.sendall(b'GET /metrics HTTP/1.1\r\n' + b'X: y\r\n' * 100 + b'\r\n')
assert s.recv(100).startswith(b'HTTP/1.1 431'), 'no 431'
\""
big=$(python3 -c "print('x' * 100000)")
check "a scrape during relaying changes nothing: the proxy relays after 20 scrapes and a bad request" bash -c "
    for i in \$(seq 20); do curl -sf http://127.0.0.1:$MP/metrics >/dev/null || exit 1; done
    curl -s -o /dev/null 'http://127.0.0.1:$MP/$big' || true
    $FAIR groups $PX 127.0.0.12:1:1 | grep -q '\"delivered\": 1'"
stop_all_daemons
