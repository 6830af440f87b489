#!/usr/bin/env bash
# proxy.sh - bin/proxy end to end. Fixed mode (--upstream): swaks and smtp-source through
# the proxy to bin/mx with STARTTLS, byte-identical delivery, failures towards the MX as
# 421s, 4xx/5xx passed unchanged, self-loop refused, idle timeout, a client leaving
# mid-DATA, SIGTERM. Transparent mode (root): a REDIRECT rule in a private namespace.
set -euo pipefail
# shellcheck source=tests/e2e/lib.bash
. "$(dirname "$0")/lib.bash"

plan 15
T=$E2E_TMP
mkdir -p "$T/tls"
make_cert "$T/tls" mx1.test

MXPORT=$(free_port)
start_daemon "$T/mx.log" "$BIN/mx" --listen "127.0.0.1:$MXPORT" --hostname mx1.test --record "$T/rec.jsonl" \
    --maildir "$T/md" --tls-cert "$T/tls/cert.pem" --tls-key "$T/tls/key.pem"
MX=$DAEMON_PID
PXPORT=$(free_port)
start_daemon "$T/proxy.err" "$BIN/proxy" --listen "127.0.0.1:$PXPORT" --upstream "127.0.0.1:$MXPORT" \
    --log "$T/proxy.log" --timeout-idle 2
wait_port 127.0.0.1 "$MXPORT"
wait_port 127.0.0.1 "$PXPORT"

# a message with dots, long lines and 8-bit text, sent as a file so we can compare bytes
python3 - "$T/msg.eml" <<'P'
import sys
lines = ["Message-ID: <bytes.1@test>", "Date: Tue, 24 Nov 2026 06:13:59 +0000", "Subject: bytes", "",
         ".leading dot", "..two", "caf\u00e9", "x" * 3000, "tab\there", "."[0:0] + "end"]
open(sys.argv[1], "wb").write(("\r\n".join(lines) + "\r\n").encode())
P
swaks --server "127.0.0.1:$PXPORT" --pipeline --from a@msa1.test --to u@mx1.test \
    --data "$T/msg.eml" >"$T/swaks.out" 2>&1 || true
check "swaks with pipelining through the proxy: accepted" grep -q '^<-  250 2.0.0 Ok: queued' "$T/swaks.out"
check "the client never saw STARTTLS" bash -c "! grep -q 'STARTTLS' '$T/swaks.out'"
check "smtp-source: 200 messages over 10 sessions through the proxy" \
    smtp-source -s 10 -m 200 -l 2000 "127.0.0.1:$PXPORT"
stop_daemon "$MX" || true
check "the MX got every message; EHLO sessions over TLS; the test message byte for byte" python3 - "$T/rec.jsonl" "$T/md" "$T/msg.eml" <<'P'
import json, os, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert len(recs) == 201, len(recs)
# swaks speaks EHLO: the proxy did STARTTLS towards the MX; smtp-source speaks HELO (plain)
sw = [r for r in recs if r["message_id"] == "<bytes.1@test>"][0]
assert sw["tls"] and sw["tls_version"].startswith("TLSv1."), sw
sent = open(sys.argv[3], "rb").read().replace(b"\r\n", b"\n")
d = os.path.join(sys.argv[2], "new")
got = [open(os.path.join(d, f), "rb").read() for f in os.listdir(d)]
m = [g for g in got if b"<bytes.1@test>" in g][0]
body = m.split(b"\n", 3)[3]  # after our three-line Received:
# swaks ends the data with CRLF "." CRLF after the file's own CRLF: one empty line more
assert body == sent + b"\n", (body[-100:], sent[-100:])
P
sleep 1.2
check "the proxy log: session, TLS (not verified: self-signed), commands, replies, message" python3 - "$T/proxy.log" <<'P'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
kinds = {e["event"] for e in ev}
assert {"open", "tls", "command", "reply", "message", "close"} <= kinds, kinds
t = [e for e in ev if e["event"] == "tls"][0]
assert t["tls"] and t["version"].startswith("TLSv1.") and t["verified"] is False, t
m = [e for e in ev if e["event"] == "message" and e["size"] > 3000][0]
assert m["code"] == 250 and m["queue_id"] and m["rcpt"][0] == {"addr": "u@mx1.test", "code": 250}, m
assert m["ms_connect_to_354"] > 0 and m["ms_mail_to_final"] >= 0, m
P

# failures towards the MX become 421s
DEAD=$(free_port)
P2=$(free_port)
start_daemon "$T/p2.err" "$BIN/proxy" --listen "127.0.0.1:$P2" --upstream "127.0.0.1:$DEAD" --timeout-connect 2
wait_port 127.0.0.1 "$P2"
check "MX not listening: the client gets 421 4.4.1 at once" smtp "$P2" --timeout 3 <<'S'
< 421 4.4.1 proxy: cannot connect
<eof
S

TP=$(free_port)
start_daemon "$T/tp.log" "$BIN/tarpit" --listen "127.0.0.1:$TP" --hostname mx2.test \
    --permfail-rcpt 1 --preset gmail --disconnect-dot 1
P3=$(free_port)
start_daemon "$T/p3.err" "$BIN/proxy" --listen "127.0.0.1:$P3" --upstream "127.0.0.1:$TP" --tls none
wait_port 127.0.0.1 "$TP"
wait_port 127.0.0.1 "$P3"
check "the MX's 5xx reaches the client unchanged" smtp "$P3" <<'S'
< 220 mx2.test
> EHLO c
< 250
> MAIL FROM:<a@b>
< 250
> RCPT TO:<u@mx2.test>
< 550 5.7.1 Our system has detected that this message is likely unsolicited mail.
S
TP2=$(free_port)
start_daemon "$T/tp2.log" "$BIN/tarpit" --listen "127.0.0.1:$TP2" --hostname mx3.test --disconnect-dot 1
P4=$(free_port)
start_daemon "$T/p4.err" "$BIN/proxy" --listen "127.0.0.1:$P4" --upstream "127.0.0.1:$TP2" --tls none
wait_port 127.0.0.1 "$TP2"
wait_port 127.0.0.1 "$P4"
check "the MX hangs up after the message: the client gets 421, never 250" smtp "$P4" <<'S'
< 220
> EHLO c
< 250
> MAIL FROM:<a@b>
> RCPT TO:<u@mx3.test>
> DATA
< 250
< 250
< 354
> hello
> .
< 421 4.4.2
S

# shellcheck disable=SC2016 # the script is expanded by the inner bash
check "no original destination (no REDIRECT, no --upstream): 421 4.3.0" bash -c '
    P5=$1; BIN=$2
    "$BIN/proxy" --listen "127.0.0.1:$P5" & pid=$!
    for _ in $(seq 50); do python3 -c "import socket; socket.create_connection((\"127.0.0.1\",$P5),0.2)" 2>/dev/null && break; sleep 0.05; done
    out=$(python3 -c "import socket; s=socket.create_connection((\"127.0.0.1\",$P5),3); print(s.recv(200).decode())")
    kill $pid; wait $pid
    [[ "$out" == "421 4.3.0"* ]] || { echo "$out"; exit 1; }' _ "$(free_port)" "$BIN"
SELF=$(free_port)
out=$("$BIN/proxy" --listen "127.0.0.1:$SELF" --upstream "127.0.0.1:$SELF" 2>&1) && rc=0 || rc=$?
if [[ $rc -ne 0 && "$out" == *"own listening"* ]]; then ok "a self-loop upstream is refused at start"; else not_ok "a self-loop upstream is refused at start" "$rc: $out"; fi

# a client leaving mid-DATA: the MX must not get the message
MX2=$(free_port)
start_daemon "$T/mx2.log" "$BIN/mx" --listen "127.0.0.1:$MX2" --hostname mx4.test --record "$T/rec2.jsonl"
MX2PID=$DAEMON_PID
P6=$(free_port)
start_daemon "$T/p6.err" "$BIN/proxy" --listen "127.0.0.1:$P6" --upstream "127.0.0.1:$MX2" --log "$T/p6.log"
P6PID=$DAEMON_PID
wait_port 127.0.0.1 "$MX2"
wait_port 127.0.0.1 "$P6"
P8=$(free_port)
start_daemon "$T/p8.err" "$BIN/proxy" --listen "127.0.0.1:$P8" --upstream "127.0.0.1:$MX2" --timeout-idle 2
wait_port 127.0.0.1 "$P8"
check "an idle client is closed with 421 at --timeout-idle" smtp "$P8" --timeout 5 <<'S'
< 220
sleep 2.5
< 421 4.4.2 proxy: idle timeout
<eof
S

smtp "$P6" <<'S' || true
< 220
> EHLO c
< 250
> MAIL FROM:<a@b>
> RCPT TO:<u@mx4.test>
> DATA
< 250
< 250
< 354
> Subject: cut short
>
> half a message
S
sleep 0.5
check "a client gone mid-DATA: the proxy drops the upstream, no final dot" bash -c \
    "sleep 1.2; [ ! -s '$T/rec2.jsonl' ] && grep -q 'client left during DATA' '$T/p6.log'"

# SIGTERM: an idle session is told 421 and the proxy exits
python3 - "$P6" >"$T/term.out" 2>&1 <<'P' &
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 10)
f = s.makefile("rb")
print(f.readline().decode().strip())
print(f.readline().decode().strip())
P
term_during "$P6PID" $!
check "SIGTERM: idle sessions get 421 4.3.2 and the proxy exits 0" bash -c \
    "grep -q '^421 4.3.2' '$T/term.out' && [ $TERM_RC -eq 0 ]"
stop_daemon "$MX2PID" || true

P7=$(free_port)
MX3=$(free_port)
start_daemon "$T/mx3.log" "$BIN/mx" --listen "127.0.0.1:$MX3" --hostname mx5.test \
    --tls-cert "$T/tls/cert.pem" --tls-key "$T/tls/key.pem"
start_daemon "$T/p7.err" "$BIN/proxy" --listen "127.0.0.1:$P7" --upstream "127.0.0.1:$MX3" --tls verify
wait_port 127.0.0.1 "$MX3"
wait_port 127.0.0.1 "$P7"
check "--tls verify with a self-signed MX certificate: 421 4.7.0, the MSA keeps its mail" smtp "$P7" <<'S'
< 220
> EHLO c
< 421 4.7.0
S

# transparent mode: client -> [REDIRECT in agg] -> proxy -> mx, in private namespaces
transparent() {
    local c=$NS-c a=$NS-a m=$NS-m
    ip netns add "$c"; ip netns add "$a"; ip netns add "$m"
    ip link add name eth0 netns "$c" type veth peer name lan0 netns "$a"
    ip link add name eth0 netns "$m" type veth peer name wan0 netns "$a"
    ip -n "$c" addr add 198.18.1.11/24 dev eth0
    ip -n "$a" addr add 198.18.1.1/24 dev lan0
    ip -n "$a" addr add 198.18.2.1/24 dev wan0
    ip -n "$m" addr add 198.18.2.21/24 dev eth0
    for n in "$c" "$a" "$m"; do ip -n "$n" link set lo up; done
    ip -n "$c" link set eth0 up; ip -n "$m" link set eth0 up
    ip -n "$a" link set lan0 up; ip -n "$a" link set wan0 up
    ip -n "$c" route add default via 198.18.1.1
    ip -n "$m" route add default via 198.18.2.1
    ip netns exec "$a" sysctl -qw net.ipv4.ip_forward=1
    ip netns exec "$a" nft -f - <<NFT
table ip e2e_proxy {
    chain prerouting {
        type nat hook prerouting priority dstnat; policy accept;
        iifname "lan0" ip saddr 198.18.1.11 fib daddr type != local tcp dport 25 redirect to :10025
    }
}
NFT
    ip netns exec "$m" "$BIN/mx" --listen 198.18.2.21:25 --hostname mx1.test --record "$T/trec.jsonl" >"$T/tmx.log" 2>&1 &
    echo $! >"$T/tmx.pid"
    ip netns exec "$a" "$BIN/proxy" --listen 198.18.1.1:10025 --log "$T/tproxy.log" >"$T/tproxy.err" 2>&1 &
    echo $! >"$T/tproxy.pid"
    for _ in $(seq 50); do
        ip netns exec "$c" python3 -c "import socket; socket.create_connection(('198.18.2.21',25),0.2)" 2>/dev/null && break
        sleep 0.1
    done
    ip netns exec "$c" swaks --silent 2 --server 198.18.2.21:25 --from a@msa1.test --to u@mx1.test \
        --header "Message-ID: <transparent.1@test>"
    kill "$(cat "$T/tmx.pid")" "$(cat "$T/tproxy.pid")"
    sleep 0.3
    python3 - "$T/trec.jsonl" "$T/tproxy.log" <<'P'
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])]
assert len(r) == 1 and r[0]["message_id"] == "<transparent.1@test>", r
assert r[0]["client"] == "198.18.2.1", r  # the MX saw the proxy's WAN address: the proxy was in the path
ev = [json.loads(l) for l in open(sys.argv[2])]
o = [e for e in ev if e["event"] == "open"][0]
assert o["client"].startswith("198.18.1.11:") and o["dst"] == "198.18.2.21:25", o
P
}
NS="e2e-px-$$"
# shellcheck disable=SC2016
ns_teardown='for n in c a m; do for p in $(ip netns pids "$NS-$n" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done; ip netns del "$NS-$n" 2>/dev/null; done'
if [[ $(id -u) -ne 0 ]]; then
    skip "transparent interception (needs root for network namespaces and nft)"
else
    E2E_CLEANUP+=("$ns_teardown")
    check "transparent: a REDIRECTed connection reaches the MX it was meant for, through the proxy" transparent
fi
