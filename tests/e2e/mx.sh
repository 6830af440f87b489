#!/usr/bin/env bash
# mx.sh - bin/mx end to end: the SMTP dialogue (pipelining, errors, limits, timeouts,
# STARTTLS), records and Maildir content, and a clean stop that loses nothing.
set -euo pipefail
# shellcheck source=tests/e2e/lib.bash
. "$(dirname "$0")/lib.bash"

plan 17
T=$E2E_TMP
PORT=$(free_port)
start_daemon "$T/mx.log" "$BIN/mx" --listen "127.0.0.1:$PORT" --hostname mx1.test \
    --record "$T/rec.jsonl" --maildir "$T/md" --max-size 4000
MX=$DAEMON_PID
wait_port 127.0.0.1 "$PORT"

check "EHLO offers PIPELINING, SIZE, 8BITMIME, ENHANCEDSTATUSCODES and no STARTTLS without a key" \
    smtp "$PORT" <<'S'
< 220 mx1.test ESMTP
> EHLO client.test
< 250 PIPELINING[\s\S]*SIZE 4000[\s\S]*ENHANCEDSTATUSCODES[\s\S]*8BITMIME
> EHLO again.test
< 250 ^(?![\s\S]*STARTTLS)
> QUIT
< 221
<eof
S

check "a pipelined group is answered in order, dots are unstuffed" smtp "$PORT" <<'S'
< 220
> EHLO client.test
< 250
> MAIL FROM:<a@msa1.test>
> RCPT TO:<u1@mx1.test>
> RCPT TO:<u2@mx1.test>
> DATA
< 250 2.1.0
< 250 2.1.5
< 250 2.1.5
< 354
> Message-ID: <pipelined.1@test>
> Date: Tue, 24 Nov 2026 06:13:59 +0000
> Received: from msa1.test (unknown [198.18.1.11]) by msa1.test (Postfix) with ESMTP id A1; Tue, 24 Nov 2026 06:13:50 +0000 (UTC)
>
> first
> ..leading dot
> ...two dots
> .
< 250 2.0.0 Ok: queued as
> QUIT
< 221
S

sleep 1.2 # records are flushed at least once a second
check "the record holds envelope, headers and the Received chain" python3 - "$T/rec.jsonl" <<'P'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
r = [x for x in recs if x["message_id"] == "<pipelined.1@test>"][0]
assert r["mx"] == "mx1.test" and r["client"] == "127.0.0.1" and r["helo"] == "client.test", r
assert r["mail_from"] == "a@msa1.test" and r["rcpt"] == ["u1@mx1.test", "u2@mx1.test"], r
assert r["date_s"] == 1795500839 and r["tls"] is False, r
assert r["received"][0]["t"] == 1795500830, r
assert r["mail_us"] <= r["t_us"] and r["connect_us"] <= r["mail_us"], r
P

check "the Maildir copy is the message as sent, unstuffed, behind our Received:" python3 - "$T/md" <<'P'
import os, sys
d = os.path.join(sys.argv[1], "new")
msgs = [open(os.path.join(d, f), "rb").read() for f in os.listdir(d)]
m = [x for x in msgs if b"<pipelined.1@test>" in x][0]
head, body = m.split(b"\n\n", 1)
assert head.startswith(b"Received: from client.test (unknown [127.0.0.1])\n\tby mx1.test (mailagg-mx) with ESMTP id "), head
assert body == b"first\n.leading dot\n..two dots\n", body
assert not os.listdir(os.path.join(sys.argv[1], "tmp"))
P

check "commands out of order, unknown, malformed or too long are refused" smtp "$PORT" <<'S'
< 220
> RCPT TO:<x@y>
< 503 5.5.1
> MAIL FROM:<a@b>
< 503 5.5.1 Error: send HELO
> HELO
< 501
> HELO client.test
< 250 mx1.test
> DATA
< 503 5.5.1
> MAIL FROM:<a@b
< 501 5.1.7
> MAIL FROM:<a@b>
< 250
> MAIL FROM:<a@b>
< 503 5.5.1 Error: nested
> DATA
< 554 5.5.1
> RCPT TO:<>
< 501 5.1.3
> XYZZY
< 500 5.5.2
> VRFY someone
< 252
> EXPN list
< 502
> NOOP
< 250
>bytes 1200
< 500 5.5.2 Error: line too long
> RSET
< 250
> QUIT
< 221
S

check "messages over --max-size get 552, announced or not" smtp "$PORT" <<'S'
< 220
> EHLO c
< 250
> MAIL FROM:<a@b> SIZE=5000
< 552 5.3.4
> MAIL FROM:<a@b>
> RCPT TO:<u@mx1.test>
> DATA
< 250
< 250
< 354
> Subject: big
>
>bytes 998
>bytes 998
>bytes 998
>bytes 998
>bytes 998
> .
< 552 5.3.4
> MAIL FROM:<a@b>
< 250
> QUIT
< 221
S

check "swaks with pipelining delivers" swaks --silent 2 --server "127.0.0.1:$PORT" --pipeline \
    --from a@msa1.test --to u@mx1.test --header "Message-ID: <swaks.1@test>"

check "smtp-source: 300 messages over 10 sessions" smtp-source -s 10 -m 300 -l 1000 "127.0.0.1:$PORT"

sleep 1.2
check "every accepted message has one record and one Maildir file" python3 - "$T/rec.jsonl" "$T/md" <<'P'
import json, os, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
files = os.listdir(os.path.join(sys.argv[2], "new"))
assert len(recs) == 302, len(recs)
assert len(files) == 302, len(files)
assert len({r["queue_id"] for r in recs}) == 302
P

# a transaction open when SIGTERM comes is finished, then the session is told goodbye
python3 - "$PORT" >"$T/term.out" 2>&1 <<'P' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
f = s.makefile("rb")
def reply():
    while True:
        l = f.readline()
        if len(l) < 4 or l[3:4] != b"-":
            return l
reply()
s.sendall(b"EHLO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<u@mx1.test>\r\nDATA\r\n")
for _ in range(4):
    reply()
s.sendall(b"Message-ID: <sigterm.1@test>\r\n\r\nbody\r\n")
time.sleep(1.0)  # SIGTERM arrives now
s.sendall(b".\r\n")
print(reply().decode().strip())
print(f.readline().decode().strip())
P
term_during "$MX" $!
check "SIGTERM: the open message is accepted, then 421, and mx exits 0" bash -c \
    "grep -q '^250 ' '$T/term.out' && grep -q '^421 4.3.2' '$T/term.out' && [ $TERM_RC -eq 0 ]"
check "the record of the message accepted during shutdown was flushed" \
    grep -q 'sigterm.1@test' "$T/rec.jsonl"

# SIGTERM while a client stalls its TLS handshake: the process still stops at --grace
MX4=$(free_port)
mkdir -p "$T/tls4"
make_cert "$T/tls4" mx4.test
start_daemon "$T/mx4.log" "$BIN/mx" --listen "127.0.0.1:$MX4" --hostname mx4.test --grace 1 \
    --tls-cert "$T/tls4/cert.pem" --tls-key "$T/tls4/key.pem"
MX4_PID=$DAEMON_PID
wait_port 127.0.0.1 "$MX4"
python3 - "$MX4" >"$T/stall.out" 2>&1 <<'P' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 10)
f = s.makefile("rb")
f.readline()
s.sendall(b"EHLO c\r\n")
while f.readline()[3:4] == b"-":
    pass
s.sendall(b"STARTTLS\r\n")
print(f.readline().decode().strip())
s.sendall(b"\x16\x03\x01\x02\x00\x01")  # half a ClientHello, then silence
time.sleep(6)
P
STALL=$!
sleep 1
t0=$(date +%s%N)
kill -TERM "$MX4_PID"
rc=0
wait "$MX4_PID" || rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
wait "$STALL" || true
check "SIGTERM during a stalled TLS handshake: mx exits 0 within --grace 1 (${ms} ms)" \
    bash -c "grep -q '^220 ' '$T/stall.out' && [ $rc -eq 0 ] && [ $ms -lt 2500 ]"

# limits and timeouts, on a second mx
PORT2=$(free_port)
start_daemon "$T/mx2.log" "$BIN/mx" --listen "127.0.0.1:$PORT2" --hostname mx2.test \
    --max-conns 2 --idle-timeout 1
wait_port 127.0.0.1 "$PORT2"
python3 -c "
import socket, time
a = socket.create_connection(('127.0.0.1', $PORT2)); b = socket.create_connection(('127.0.0.1', $PORT2))
time.sleep(0.3)
c = socket.create_connection(('127.0.0.1', $PORT2)); print(c.recv(200).decode().strip())
" >"$T/conns.out" 2>&1 || true
check "the connection over --max-conns gets 421" grep -q '^421 4.7.0' "$T/conns.out"
check "an idle client is closed with 421 after --idle-timeout" smtp "$PORT2" <<'S'
< 220
sleep 1.5
< 421 4.4.2
<eof
S

# STARTTLS
mkdir -p "$T/tls"
make_cert "$T/tls" mx3.test
PORT3=$(free_port)
start_daemon "$T/mx3.log" "$BIN/mx" --listen "127.0.0.1:$PORT3" --hostname mx3.test \
    --record "$T/rec3.jsonl" --tls-cert "$T/tls/cert.pem" --tls-key "$T/tls/key.pem"
MX3=$DAEMON_PID
wait_port 127.0.0.1 "$PORT3"
check "STARTTLS is offered, commands pipelined after it are discarded, EHLO again over TLS" \
    smtp "$PORT3" <<'S'
< 220
> EHLO c
< 250 STARTTLS
> STARTTLS
> NOOP
< 220 2.0.0
starttls
> EHLO c
< 250 ^(?![\s\S]*STARTTLS)
> MAIL FROM:<a@b>
> RCPT TO:<u@mx3.test>
> DATA
< 250
< 250
< 354
> Message-ID: <tls.1@test>
>
> secret
> .
< 250
> QUIT
< 221
S
stop_daemon "$MX3" || true
check "the record says TLS, with protocol and cipher" python3 - "$T/rec3.jsonl" <<'P'
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])][0]
assert r["tls"] is True and r["tls_version"] in ("TLSv1.2", "TLSv1.3") and r["tls_cipher"], r
P

check "bad options are refused with a message naming them" bash -c \
    "! '$BIN/mx' --max-size lots 2>&1 | grep -q . || '$BIN/mx' --max-size lots 2>&1 | grep -q -- '--max-size'"
