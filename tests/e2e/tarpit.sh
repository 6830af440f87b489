#!/usr/bin/env bash
# tarpit.sh - bin/tarpit end to end: measured delays, the 11th connection refused while
# 10 stay open, a 30% deferral rate within statistical bounds, rate windows, stutter,
# early talkers, events and records, and Postfix's smtp-source against every policy.
set -euo pipefail
# shellcheck source=tests/e2e/lib.bash
. "$(dirname "$0")/lib.bash"

plan 11
T=$E2E_TMP

# tarpit NAME ARGS... - start a tarpit on a fresh port; sets PORT and PID.
tarpit() {
    local name=$1
    shift
    PORT=$(free_port)
    start_daemon "$T/$name.log" "$BIN/tarpit" --listen "127.0.0.1:$PORT" --hostname "$name.test" \
        --events "$T/$name.events" --record "$T/$name.rec" "$@"
    PID=$DAEMON_PID
    wait_port 127.0.0.1 "$PORT"
}

# elapsed PORT - seconds an smtpscript (stdin) takes against 127.0.0.1:PORT.
elapsed() {
    local start end
    cat >"$T/elapsed.script"
    start=$(date +%s.%N)
    smtp "$1" "$T/elapsed.script" >&2 || return 1
    end=$(date +%s.%N)
    python3 -c "print('%.3f' % ($end - $start))"
}

tarpit delays --delay-mail 0.5 --delay-rcpt 0.3 --delay-dot 0.4
t=$(elapsed "$PORT" <<'S'
< 220
> EHLO c
< 250
> MAIL FROM:<a@b>
< 250
> RCPT TO:<u@delays.test>
< 250
> DATA
< 354
> Subject: x
>
> .
< 250
> QUIT
< 221
S
)
check "stage delays add up: 0.5 + 0.3 + 0.4 s (measured $t s)" approx "$t" 1.2 0.25

tarpit limit --config "$TOP/tarpit/mx1-conn-limit.conf"
python3 - "$PORT" >"$T/limit.out" <<'P'
import socket, sys, time
port = int(sys.argv[1])
held = []
for i in range(10):
    s = socket.create_connection(("127.0.0.1", port), 5)
    held.append((s, s.makefile("rb")))
for s, f in held:
    assert f.readline().startswith(b"220"), "one of the first 10 was refused"
extra = socket.create_connection(("127.0.0.1", port), 5)
print("eleventh:", extra.makefile("rb").readline().decode().strip())
for s, f in held:  # the ten are still open and working
    s.sendall(b"NOOP\r\n")
    assert f.readline().startswith(b"250"), "a held connection stopped answering"
print("ten still open")
P
check "the 11th concurrent connection gets 421 while 10 stay open" bash -c \
    "grep -q '^eleventh: 421 4.7.0 limit.test Error: too many connections from 127.0.0.1' '$T/limit.out' && grep -q 'ten still open' '$T/limit.out'"

tarpit defer --tempfail-rcpt 0.3 --seed 11
python3 - "$PORT" >"$T/defer.out" <<'P'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 10)
f = s.makefile("rb")
def reply():
    while True:
        l = f.readline()
        if l[3:4] != b"-":
            return l
reply(); s.sendall(b"EHLO c\r\n"); reply()
deferred = 0
for i in range(1000):
    s.sendall(b"MAIL FROM:<a@b>\r\nRCPT TO:<u@x>\r\nRSET\r\n")
    reply(); r = reply(); reply()
    deferred += r.startswith(b"450")
print(deferred)
P
d=$(cat "$T/defer.out")
check "a 30% deferral rate over 1,000 messages lands within bounds ($d deferred)" approx "$d" 300 60

tarpit rate --msg-rate 5 --rate-window 2
check "msg-rate 5 per 2 s: the 6th MAIL gets 450, the window frees it again" smtp "$PORT" <<'S'
< 220
> EHLO c
< 250
> MAIL FROM:<a@b>
> RSET
> MAIL FROM:<a@b>
> RSET
> MAIL FROM:<a@b>
> RSET
> MAIL FROM:<a@b>
> RSET
> MAIL FROM:<a@b>
> RSET
> MAIL FROM:<a@b>
< 250
< 250
< 250
< 250
< 250
< 250
< 250
< 250
< 250
< 250
< 450 4.7.1 Error: too much mail from 127.0.0.1
sleep 2.1
> MAIL FROM:<a@b>
< 250
S

tarpit stutter --stutter 4/0.1
t=$(elapsed "$PORT" <<'S'
< 220 stutter.test ESMTP mailagg-tarpit
> QUIT
< 221
S
)
# "220 stutter.test ESMTP mailagg-tarpit\r\n" is 39 bytes: 10 chunks, 9 waits of 0.1 s
check "stutter sends 4 bytes per 0.1 s: the greeting takes about 0.9 s (measured $t s)" approx "$t" 0.9 0.25

tarpit early --delay-connect 1
check "a client talking before the greeting gets 554 and is closed" smtp "$PORT" <<'S'
> EHLO impatient
< 554 5.5.1 Error: early talker
<eof
S
tarpit patient --delay-connect 0.3 --early-talkers allow
check "with early-talkers allow, the early command is answered after the greeting" smtp "$PORT" <<'S'
> EHLO impatient
< 220
< 250
S

tarpit mixed --config "$TOP/tarpit/mx3-throttled.conf" --delay-connect 0 --delay-helo 0 \
    --delay-data odds:0.02:50 --tempfail-rcpt 0.2 --permfail-mail 0.05 --disconnect-data 0.05 \
    --disconnect-dot 0.02 --preset gmail --stutter 128/0.001 --seed 3
# smtp-source stops at its first refusal; run it until every policy has been met
for _ in $(seq 12); do
    smtp-source -s 5 -m 40 -l 500 "127.0.0.1:$PORT" >>"$T/source.out" 2>&1 || true
done
# a client that goes on through refusals and hang-ups, so every policy shows in the logs
python3 - "$PORT" >"$T/persist.out" <<'P'
import socket, sys
port, outcomes = int(sys.argv[1]), {}
def reply(f):
    while True:
        l = f.readline()
        if not l:
            raise EOFError
        if l[3:4] != b"-":
            return l
for i in range(150):
    try:
        s = socket.create_connection(("127.0.0.1", port), 10)
        f = s.makefile("rb")
        reply(f)
        for cmd in (b"EHLO c", b"MAIL FROM:<a@b>", b"RCPT TO:<u@mixed.test>", b"DATA"):
            s.sendall(cmd + b"\r\n")
            r = reply(f)
            if r[:1] not in b"23":
                raise ValueError(r[:3])
        s.sendall(b"Message-ID: <p%d@test>\r\nDate: Tue, 24 Nov 2026 06:13:59 +0000\r\n\r\nhi\r\n.\r\n" % i)
        r = reply(f)
        outcomes[r[:3]] = outcomes.get(r[:3], 0) + 1
        s.sendall(b"QUIT\r\n")
    except (EOFError, ValueError, OSError) as e:
        k = type(e).__name__
        outcomes[k] = outcomes.get(k, 0) + 1
    finally:
        s.close()
print(outcomes)
P
check "Postfix's smtp-source and a persistent client against every policy: the tarpit survives" smtp "$PORT" <<'S'
< 220
> QUIT
< 221
S
kill -0 "$PID"
stop_daemon "$PID" || true
check "events: one JSON line per push-back, with time, client, stage, action and code" python3 - "$T/mixed.events" <<'P'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
acts = {e["action"] for e in ev}
assert {"tempfail", "permfail", "disconnect"} <= acts, acts
for e in ev:
    assert e["t_us"] > 0 and e["client"] == "127.0.0.1" and e["stage"] in ("connect", "helo", "mail", "rcpt", "data", "dot"), e
    assert (e["code"] is None) == (e["action"] in ("disconnect", "delay", "stutter")), e
t = [e for e in ev if e["action"] == "tempfail"][0]
assert t["code"] == 450, t
P
mkdir -p "$T/c"
check "collect reads the tarpit's records" bash -c \
    "'$BIN/collect' --out-dir '$T/c' '$T/mixed.rec' 2>/dev/null && python3 -c \"import json; s=json.load(open('$T/c/summary.json')); assert s['messages'] == $(wc -l <"$T/mixed.rec") > 0, s\""

printf 'delay-dot = 1\nstutter = fast\n' >"$T/bad.conf"
out=$("$BIN/tarpit" --config "$T/bad.conf" 2>&1) && rc=0 || rc=$?
if [[ $rc -eq 2 && "$out" == *"$T/bad.conf:2: stutter"* ]]; then
    ok "a bad configuration names file, line and key, and exits 2"
else
    not_ok "a bad configuration names file, line and key, and exits 2" "exit $rc: $out"
fi
