#!/usr/bin/env bash
# collect.sh - bin/collect end to end: known latencies through bin/mx (plain, STARTTLS,
# pipelined), Maildir and mbox input, a Maildir written by a real Postfix MX (in a
# private network namespace, as root), and bad input counted per kind, never dropped.
set -euo pipefail
# shellcheck source=tests/e2e/lib.bash
. "$(dirname "$0")/lib.bash"

plan 9
T=$E2E_TMP
mkdir -p "$T/tls" "$T/out" "$T/out2"
make_cert "$T/tls" mx1.test
PORT=$(free_port)
start_daemon "$T/mx.log" "$BIN/mx" --listen "127.0.0.1:$PORT" --hostname mx1.test \
    --record "$T/rec.jsonl" --maildir "$T/md" --tls-cert "$T/tls/cert.pem" --tls-key "$T/tls/key.pem"
MX=$DAEMON_PID
wait_port 127.0.0.1 "$PORT"

# script NAME TLS - an smtpscript sending one pipelined message stamped relative to now:
# sent 2.5 s ago, intended 3 s ago, first Received 10 s before the current second.
script() {
    python3 - "$1" "$2" <<'P'
import sys, time, email.utils
name, tls = sys.argv[1], sys.argv[2] == "tls"
now = time.time()
sent, intended, oldest = int((now - 2.5) * 1e6), int((now - 3.0) * 1e6), int(now) - 10
print("< 220\n> EHLO msa1.test\n< 250")
if tls:
    print("> STARTTLS\n< 220\nstarttls\n> EHLO msa1.test\n< 250")
print("> MAIL FROM:<a@msa1.test>\n> RCPT TO:<u@mx1.test>\n> DATA\n< 250\n< 250\n< 354")
print("> Received: from mua (unknown [198.18.1.2])\n>\tby msa1.test (Postfix) with ESMTP id X%s;" % name)
print(">\t%s" % email.utils.formatdate(oldest))
print("> Message-ID: <%s@test>" % name)
print("> Date: %s" % email.utils.formatdate(now - 3))
print("> X-Mua-Stamp: run=r1; tenant=msa1; round=0; seq=%d; intended=%d; sent=%d" % (len(name), intended, sent))
print(">\n> body\n> .\n< 250\n> QUIT\n< 221")
P
}
script plain plain | smtp "$PORT" && script tlsmsg tls | smtp "$PORT" && script pipe plain | smtp "$PORT"
stop_daemon "$MX"

"$BIN/collect" --out-dir "$T/out" "$T/rec.jsonl" 2>"$T/collect.err"
check "latencies from records: e2e about 2.5 s, intended 3 s, relay - e2e exact" python3 - "$T/out/messages.csv" "$T/rec.jsonl" <<'P'
import csv, json, sys
rows = {r["message_id"]: r for r in csv.DictReader(open(sys.argv[1]))}
recs = {json.loads(l)["message_id"]: json.loads(l) for l in open(sys.argv[2])}
assert len(rows) == 3, rows.keys()
for mid, r in rows.items():
    e2e, intended, relay = float(r["e2e_latency_s"]), float(r["e2e_intended_s"]), float(r["relay_latency_s"])
    assert 2.5 <= e2e < 3.5, (mid, e2e)
    assert abs(intended - e2e - 0.5) < 1e-5, (mid, intended, e2e)
    rec = recs[mid]
    st = dict(kv.split("=") for kv in rec["stamp"].split("; "))
    # relay - e2e = sent - oldest Received, exactly (microseconds)
    want = int(st["sent"]) / 1e6 - rec["received"][0]["t"]
    assert abs((relay - e2e) - want) < 1e-5, (mid, relay, e2e, want)
    assert r["tenant"] == "msa1" and r["mx"] == "mx1.test" and r["errors"] == "", r
    assert float(r["relay_latency_hdr_s"]) in (10.0, 11.0, 12.0), r
P
check "the TLS message's record says so" grep -q '"message_id":"<tlsmsg@test>".*' "$T/rec.jsonl"
check "summary.json counts every message, no problems" python3 - "$T/out/summary.json" <<'P'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["messages"] == 3 and s["duplicates"] == 0 and sum(s["errors"].values()) == 0, s
g = s["groups"][0]
assert g["group"] == "mx1.test" and g["count"] == 3 and g["e2e_latency_s"]["count"] == 3, g
assert 2.5 <= g["e2e_latency_s"]["p50"] < 3.5, g
P

"$BIN/collect" --out-dir "$T/out2" "$T/md" 2>>"$T/collect.err"
check "the same messages from the Maildir give the same latencies within the header's second" \
    python3 - "$T/out/messages.csv" "$T/out2/messages.csv" <<'P'
import csv, sys
a = {r["message_id"]: r for r in csv.DictReader(open(sys.argv[1]))}
b = {r["message_id"]: r for r in csv.DictReader(open(sys.argv[2]))}
assert a.keys() == b.keys(), (a.keys(), b.keys())
for k in a:
    assert abs(float(a[k]["e2e_latency_s"]) - float(b[k]["e2e_latency_s"])) < 0.05, (a[k], b[k])
    assert a[k]["relay_latency_hdr_s"] == b[k]["relay_latency_hdr_s"], (a[k], b[k])
P

# mbox, with the study's header-only forms
cat >"$T/box.mbox" <<'M'
From a@b Tue Nov 24 06:14:30 2026
Received: from agg.test (unknown [198.18.2.1]) by mx2.test (Postfix) with ESMTP id M2; Tue, 24 Nov 2026 06:14:30 +0000 (UTC)
Received: from msa2.test (unknown [198.18.1.12]) by agg.test (Postfix) with ESMTP id A2; Tue, 24 Nov 2026 06:14:10 +0000 (UTC)
Received: from mua (unknown [198.18.1.2]) by msa2.test (Postfix) with ESMTP id S2; Tue, 24 Nov 2026 06:14:00 +0000 (UTC)
Date: Tue, 24 Nov 2026 06:13:59 +0000
Message-ID: <mbox.1@test>

From the body, not a separator
From a@b Tue Nov 24 06:15:00 2026
Received: from msa2.test (unknown [198.18.1.12]) by mx2.test (Postfix) with ESMTP id M3; Tue, 24 Nov 2026 06:15:00 +0000 (UTC)
Date: Tue, 24 Nov 2026 06:14:58 +0000
Message-ID: <mbox.2@test>

body
M
mkdir -p "$T/out3"
"$BIN/collect" --out-dir "$T/out3" "$T/box.mbox" 2>>"$T/collect.err"
check "mbox: newest minus oldest Received, newest minus Date" python3 - "$T/out3/messages.csv" <<'P'
import csv, sys
r = {x["message_id"]: x for x in csv.DictReader(open(sys.argv[1]))}
assert len(r) == 2, r
a, b = r["<mbox.1@test>"], r["<mbox.2@test>"]
assert float(a["relay_latency_hdr_s"]) == 30 and float(a["e2e_latency_hdr_s"]) == 31, a
assert float(a["relay_latency_s"]) == 30 and a["mx"] == "mx2.test", a
assert float(b["relay_latency_hdr_s"]) == 0 and float(b["e2e_latency_hdr_s"]) == 2, b
P

# bad input: every line is a message, counted, each problem named with file:line
cat >"$T/bad.jsonl" <<'B'
{"t_us":1795500840000000,"mx":"mx1.test","message_id":"<ok@t>","date":"Tue, 24 Nov 2026 06:13:59 +0000","received":[{"text":"x","t":1795500839}]}
this is not json
{"t_us":1795500840000000,"mx":"mx1.test","message_id":"<baddate@t>","date":"yesterday","received":[{"text":"x","t":1795500839}]}
{"t_us":1795500840000000,"mx":"mx1.test","message_id":"<norcv@t>","date":"Tue, 24 Nov 2026 06:13:59 +0000","received":[]}
{"t_us":1795500840000000,"mx":"mx1.test","message_id":"<badstamp@t>","date":"Tue, 24 Nov 2026 06:13:59 +0000","stamp":"run=x","received":[{"text":"x","t":1795500839}]}
{"mx":"mx1.test"}
B
mkdir -p "$T/out4"
"$BIN/collect" --out-dir "$T/out4" "$T/bad.jsonl" 2>"$T/bad.err" || true
check "bad input is counted per kind and never drops a message" python3 - "$T/out4/summary.json" <<'P'
import json, sys
s = json.load(open(sys.argv[1]))
e = s["errors"]
assert s["messages"] == 6, s
assert e["json"] == 1 and e["date"] == 1 and e["no_received"] == 1 and e["stamp"] == 1 and e["field"] == 1, e
P
check "each problem is reported with file and line" bash -c \
    "grep -q 'bad.jsonl:2: json' '$T/bad.err' && grep -q 'bad.jsonl:3: date' '$T/bad.err' && grep -q 'bad.jsonl:6: field' '$T/bad.err'"

# a Maildir written by a real Postfix MX, in a private network namespace
PFX_NS="e2e-pfx-$$"
# pfx_teardown - stop the Postfix instance (by its master's pid), remove the namespace.
pfx_teardown() {
    local pid
    ip netns list | grep -qw "$PFX_NS" || return 0
    pid=$(tr -d ' ' <"$T/pfx/queue/pid/master.pid" 2>/dev/null || true)
    if [[ -n "$pid" ]]; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    for pid in $(ip netns pids "$PFX_NS" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    ip netns del "$PFX_NS"
}
postfix_maildir() {
    local ns=$PFX_NS cfg="$T/pfx" base="$T/vmail"
    ip netns add "$ns"
    ip netns exec "$ns" ip link set lo up
    chmod 755 "$T" # Postfix daemons run as postfix and must reach the queue
    mkdir -p "$cfg" "$T/pfx/queue" "$T/pfx/data" "$base"
    cp /etc/postfix/master.cf "$cfg/master.cf"
    chown postfix "$T/pfx/data"
    chown 65534:65534 "$base"
    cat >"$cfg/main.cf" <<CF
compatibility_level = 3.6
queue_directory = $cfg/queue
data_directory = $cfg/data
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mx9.test
mydestination =
local_recipient_maps =
alias_maps =
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
mynetworks = 127.0.0.0/8
maillog_file = $cfg/maillog
maillog_file_prefixes = $T
virtual_mailbox_domains = mx9.test
virtual_mailbox_base = $base
virtual_mailbox_maps = inline:{ {u@mx9.test=u/} }
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
CF
    postconf -c "$cfg" -F '*/*/chroot = n' >/dev/null
    ip netns exec "$ns" postfix -c "$cfg" start >"$T/pfx.start" 2>&1 || { cat "$T/pfx.start"; return 1; }
    for _ in $(seq 50); do ip netns exec "$ns" python3 -c "import socket; socket.create_connection(('127.0.0.1',25),0.2)" 2>/dev/null && break; sleep 0.1; done
    python3 - >"$T/pfx.script" <<'P'
import time, email.utils
now = time.time()
print("< 220\n> EHLO msa1.test\n< 250\n> MAIL FROM:<a@msa1.test>\n< 250\n> RCPT TO:<u@mx9.test>\n< 250\n> DATA\n< 354")
print("> Received: from mua (unknown [198.18.1.2]) by msa1.test (Postfix) with ESMTP id P1; %s" % email.utils.formatdate(int(now) - 20))
print("> Message-ID: <postfix.1@test>\n> Date: %s" % email.utils.formatdate(int(now) - 25))
print("> X-Mua-Stamp: run=r1; tenant=msa1; round=0; seq=1; intended=%d; sent=%d" % ((int(now) - 25) * 10**6, (int(now) - 25) * 10**6))
print(">\n> body\n> .\n< 250\n> QUIT\n< 221")
P
    ip netns exec "$ns" python3 "$SMTPSCRIPT" 127.0.0.1:25 "$T/pfx.script" || { tail -n 20 "$cfg/maillog"; return 1; }
    for _ in $(seq 100); do [ -n "$(ls "$base/u/new" 2>/dev/null)" ] && break; sleep 0.1; done
    mkdir -p "$T/out5"
    "$BIN/collect" --out-dir "$T/out5" "$base/u" 2>>"$T/collect.err"
    python3 - "$T/out5/messages.csv" <<'P'
import csv, sys
r = list(csv.DictReader(open(sys.argv[1])))
assert len(r) == 1, r
r = r[0]
assert r["mx"] == "mx9.test" and r["tenant"] == "msa1" and r["errors"] == "", r
# Postfix stamped its Received: about now: 20 s after the MSA's, 25 s after Date:
assert float(r["relay_latency_hdr_s"]) in (20.0, 21.0), r
assert float(r["e2e_latency_hdr_s"]) in (25.0, 26.0), r
assert 20 <= float(r["relay_latency_s"]) < 22 and 25 <= float(r["e2e_latency_s"]) < 27, r
P
}
if [[ $(id -u) -ne 0 ]]; then
    skip "a real Postfix MX's Maildir (needs root for a private network namespace)"
    skip "Postfix teardown (not started)"
else
    E2E_CLEANUP+=(pfx_teardown) # registered here: check runs its command in a subshell
    check "a Maildir written by a real Postfix MX parses to the right latencies" postfix_maildir
    pfx_teardown
    check "the Postfix instance and its namespace are gone" bash -c "! ip netns list | grep -qw '$PFX_NS'"
fi
