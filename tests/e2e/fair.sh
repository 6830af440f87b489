#!/usr/bin/env bash
# fair.sh - the proxy's fair admission end to end on loopback: bin/tarpit allowing each
# client 10 connections (tarpit/mx1-conn-limit.conf) behind bin/proxy, client groups
# from 127.0.0.11-13 (three tenants). With --dest-limit 10 and with auto, no client sees
# the MX's 421 and freed slots alternate between groups; --hold-max answers 421 on time;
# a held client that leaves costs nothing; a tenant above its share yields at RSET; an
# idle pooled connection hands its slot over; a policy file sets a tenant's outbound
# address and a destination's budget, and a broken one names its line.
set -euo pipefail
# shellcheck source=tests/e2e/lib.bash
. "$(dirname "$0")/lib.bash"

plan 19
T=$E2E_TMP
FAIR="python3 $(dirname "$0")/fair.py"

# tarpit PORT [OPTIONS] - the limiting MX on PORT, its records in $T/rec.PORT.jsonl
tarpit() {
    local port=$1
    shift
    start_daemon "$T/tarpit.$port.err" "$BIN/tarpit" --listen "127.0.0.1:$port" --hostname mx1.test \
        --config tarpit/mx1-conn-limit.conf --record "$T/rec.$port.jsonl" "$@"
    TARPIT=$DAEMON_PID
    wait_port 127.0.0.1 "$port"
}

# proxy NAME MXPORT OPTIONS... - a proxy in front of the MX; its port in PXPORT
proxy() {
    local name=$1 mxport=$2
    shift 2
    PXPORT=$(free_port)
    start_daemon "$T/$name.err" "$BIN/proxy" --listen "127.0.0.1:$PXPORT" --upstream "127.0.0.1:$mxport" \
        --log "$T/$name.log" --log-level messages "$@"
    PX=$DAEMON_PID
    wait_port 127.0.0.1 "$PXPORT"
}


# rehup FILE TEXT - write TEXT (printf format) to the policy FILE, SIGHUP the proxy, let it read
rehup() {
    # shellcheck disable=SC2059 # TEXT is the format, by design
    printf "$2" >"$1"
    kill -HUP "$PX"
    sleep 0.3
}

MX1=$(free_port)
tarpit "$MX1"

# --- a fixed budget: 20 + 10 + 10 clients, 2 messages each, holding their slot 0.3 s
proxy fixed "$MX1" --dest-limit 10
$FAIR groups "$PXPORT" 127.0.0.11:20:2:0.3 127.0.0.12:10:2:0.3 127.0.0.13:10:2:0.3 >"$T/fixed.jsonl"
check "dest-limit 10: all 40 clients greeted 220 (none saw the MX's 421), 80 messages accepted" \
    python3 - "$T/fixed.jsonl" <<'P'
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
assert len(rs) == 40, len(rs)
bad = [r for r in rs if r["greeting"] != "220" or r.get("error")]
assert not bad, bad[:3]
assert sum(r["delivered"] for r in rs) == 80, [r for r in rs if r["delivered"] != 2][:2]
P
if [[ "${VALGRIND:-0}" == 1 ]]; then
    # who is greeted first depends on timing, which a proxy 20 times slower changes
    skip "admission order (under valgrind, timing is not the proxy's: checked in the other runs)"
else
    check "dest-limit 10: the first 10 slots went to the first group; of the next 10, 3 or more to each other group" \
        python3 - "$T/fixed.jsonl" <<'P'
import json, sys
rs = sorted((json.loads(l) for l in open(sys.argv[1])), key=lambda r: r["t_greeting"])
order = [r["group"] for r in rs]
assert order[:10] == ["127.0.0.11"] * 10, order[:12]
nxt = order[10:20]  # first come, first served would give them all to 127.0.0.11's other 10
assert nxt.count("127.0.0.12") >= 3 and nxt.count("127.0.0.13") >= 3, nxt
P
fi
kill -USR1 "$PX"
counters_fixed() {
    python3 - "$T/fixed.err" <<'P'
import re, sys
m = re.search(r"held=(\d+) held_total=(\d+) hold_expired=(\d+) held_gone=(\d+) rehelds=(\d+)", open(sys.argv[1]).read())
held, total, expired, gone, rehelds = map(int, m.groups())
assert held == 0 and total >= 30 and expired == 0 and gone == 0 and rehelds == 0, m.group(0)
P
}
check "SIGUSR1: at least 30 of 40 were held, none is left held, none was refused by the MX" eventually counters_fixed
stop_daemon "$PX" || true

# --- auto: the proxy learns the limit from the MX's own 421 at the greeting
proxy auto "$MX1" --dest-limit auto
$FAIR groups "$PXPORT" 127.0.0.11:20:2:0.3 127.0.0.12:10:2:0.3 127.0.0.13:10:2:0.3 >"$T/auto.jsonl"
check "dest-limit auto: all 40 clients greeted 220, every message accepted" python3 - "$T/auto.jsonl" <<'P'
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
assert len(rs) == 40, len(rs)
assert all(r["greeting"] == "220" and not r.get("error") for r in rs), [r for r in rs if r["greeting"] != "220"][:3]
assert sum(r["delivered"] for r in rs) == 80, [r for r in rs if r["delivered"] != 2][:2]
P
check "dest-limit auto: learned a limit of at most 10 from the refusals, held the refused clients again" \
    python3 - "$T/auto.log" <<'P'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
learned = [e for e in ev if e["event"] == "dest_limit"]
assert learned and learned[0]["why"] == "refused at the greeting" and learned[0]["limit"] <= 10, learned[:3]
again = [e for e in ev if e["event"] == "close" and e["reason"].startswith("held again")]
assert again, "no session was held again"
opens = [e for e in ev if e["event"] == "open"]
assert all(e["decision"] in ("admitted", "held") and "held_ms" in e for e in opens), opens[:2]
assert any(e["decision"] == "held" and e["held_ms"] > 0 for e in opens), "nobody waited"
P
stop_daemon "$PX" || true
stop_daemon "$TARPIT" || true
check "the MX recorded 160 messages (both runs): none lost, none twice" python3 - "$T/rec.$MX1.jsonl" <<'P'
import json, sys
ids = [json.loads(l)["message_id"] for l in open(sys.argv[1])]
assert len(ids) == 160 and len(set(ids)) == 80, (len(ids), len(set(ids)))
P
tarpit "$MX1"

# --- hold-max: one slot, taken; the next client gets 421 4.4.5 after --hold-max
proxy holdmax "$MX1" --dest-limit 1 --hold-max 1.5
$FAIR holder "$PXPORT" 127.0.0.11 8 >"$T/holder.out" &
HOLDER=$!
check "SIGUSR1 while the holder sends: the destination's budget of 1 is taken" \
    eventually bash -c "kill -USR1 $PX; sleep 0.2;
        grep -qE 'proxy: dest 127.0.0.1:$MX1 mode=fixed limit=1 open=1 held=0 admitted=1' '$T/holdmax.err'"
$FAIR leaver "$PXPORT" 127.0.0.13
$FAIR groups "$PXPORT" 127.0.0.12:1:1 >"$T/holdmax.jsonl"
check "hold-max 1.5: the held client got 421 between 1.4 and 2.6 s" python3 - "$T/holdmax.jsonl" <<'P'
import json, sys
r = json.loads(open(sys.argv[1]).readline())
assert r["greeting"] == "421" and 1.4 <= r["t_greeting"] <= 2.6, r
P
wait "$HOLDER"
check "the holder had its slot (220) and its slow message was accepted" \
    grep -q '"greeting": "220", "replies": \["250", "250", "250", "354", "250"\]' "$T/holder.out"
# held_after - the last counters: nothing held, one expired, the leaver gone (under valgrind
# wait_port's late probe can be held too, and leave or be admitted when the holder ends)
held_after() {
    kill -USR1 "$PX"
    sleep 0.2
    grep -q '"event":"held_gone"' "$T/holdmax.log" || return 1
    python3 - "$T/holdmax.err" <<'P'
import re, sys
c = re.findall(r"held=(\d+) held_total=(\d+) hold_expired=(\d+) held_gone=(\d+)", open(sys.argv[1]).read())
held, total, expired, gone = map(int, c[-1])
assert held == 0 and expired == 1 and gone >= 1 and total >= expired + gone, c[-1]
P
}
check "a held client that left was dropped at once; nothing is held or open afterwards" eventually held_after
stop_daemon "$PX" || true

# --- idle: a client silent between messages hands its slot to a held one
proxy idle "$MX1" --dest-limit 1
$FAIR holder "$PXPORT" 127.0.0.11 3 idle >"$T/idler.out" &
IDLER=$!
sleep 0.5
$FAIR groups "$PXPORT" 127.0.0.12:1:1 >"$T/idle.jsonl"
wait "$IDLER"
check "idle: the held client got the idle client's slot within 1 s and delivered; the idle one got 421" \
    python3 - "$T/idle.jsonl" "$T/idler.out" "$T/idle.log" <<'P'
import json, sys
r = json.loads(open(sys.argv[1]).readline())
assert r["greeting"] == "220" and r["t_greeting"] < 1.0 and r["delivered"] == 1, r
h = json.loads(open(sys.argv[2]).readline())
assert h["replies"][:5] == ["250", "250", "250", "354", "250"] and h["replies"][5] in ("421", "error"), h
ev = [json.loads(l) for l in open(sys.argv[3])]
assert any(e["event"] == "close" and e["reason"] == "idle: handed to a held client" for e in ev)
P
stop_daemon "$PX" || true

# --- yield: 4 slots held by one tenant sending 30 messages each; another tenant arrives
MX2=$(free_port)
tarpit "$MX2" --delay-dot 0.05
proxy yield "$MX2" --dest-limit 4
$FAIR groups "$PXPORT" 127.0.0.11:4:30 >"$T/yield-a.jsonl" &
GA=$!
sleep 0.3
$FAIR groups "$PXPORT" 127.0.0.12:2:1 >"$T/yield-b.jsonl"
wait "$GA"
stop_daemon "$PX" || true
stop_daemon "$TARPIT" || true
check "yield: the newcomer got slots within 1 s, while the first tenant still had mail" python3 - "$T/yield-b.jsonl" <<'P'
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
assert len(rs) == 2 and all(r["greeting"] == "220" and r["t_greeting"] < 1.0 for r in rs), rs
assert all(r["delivered"] == 1 for r in rs), rs
P
check "yield: the first tenant's RSET got 421 on the connections it gave up, it reconnected and delivered all 120" \
    python3 - "$T/yield-a.jsonl" "$T/yield.log" <<'P'
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
gave = sum(r["yielded"] for r in rs)
assert 1 <= gave <= 4, [(r["yielded"], r["connections"]) for r in rs]
assert sum(r["delivered"] for r in rs) == 120, [r["delivered"] for r in rs]
ev = [json.loads(l) for l in open(sys.argv[2])]
y = [e for e in ev if e["event"] == "close" and e["reason"] == "yielded to another tenant"]
assert len(y) == gave, (len(y), gave)
P
check "yield: no message lost or doubled: the MX recorded exactly the 122 messages" python3 - "$T/rec.$MX2.jsonl" <<'P'
import json, sys
ids = [json.loads(l)["message_id"] for l in open(sys.argv[1])]
assert len(ids) == 122 and len(set(ids)) == 122, (len(ids), len(set(ids)))
P
# --- the policy file: a tenant's own outbound address, a destination's budget
MX3=$(free_port)
start_daemon "$T/mx3.err" "$BIN/mx" --listen "127.0.0.1:$MX3" --hostname mx3.test --record "$T/rec.$MX3.jsonl"
MX3_PID=$DAEMON_PID
wait_port 127.0.0.1 "$MX3"
cat >"$T/policy.conf" <<CONF
hold-max = 30
[tenant shop]
match = 127.0.0.11/32
outbound = 127.0.0.2
[tenant bulk]
match = 127.0.0.12
weight = 2
[destination test-mx]
match = 127.0.0.1/32
limit = 2
CONF
proxy policy "$MX3" --policy "$T/policy.conf"
$FAIR groups "$PXPORT" 127.0.0.11:3:1:0.3 127.0.0.12:3:1:0.3 >"$T/policy.jsonl"
stop_daemon "$PX" || true
stop_daemon "$MX3_PID" || true
check "policy: shop's mail left from 127.0.0.2, bulk's from 127.0.0.1; the budget held some; the log names the rule" \
    python3 - "$T/policy.jsonl" "$T/rec.$MX3.jsonl" "$T/policy.log" <<'P'
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
assert len(rs) == 6 and sum(r["delivered"] for r in rs) == 6, rs
recs = [json.loads(l) for l in open(sys.argv[2])]
by = {r["helo"].split("_")[0]: r["client"] for r in recs}
assert by == {"g11": "127.0.0.2", "g12": "127.0.0.1"}, by
ev = [json.loads(l) for l in open(sys.argv[3])]
opens = [e for e in ev if e["event"] == "open" and not e["client"].startswith("127.0.0.1:")]  # not wait_port's
assert {e["tenant"] for e in opens} == {"shop", "bulk"}, opens
assert all(e["dest"] == "[test-mx]" for e in opens), opens
assert all(e.get("outbound_rule") == "tenant shop" for e in opens if e["tenant"] == "shop"), opens
assert all("outbound_rule" not in e for e in opens if e["tenant"] == "bulk"), opens
assert any(e["decision"] == "held" for e in opens), opens
P
# --- SIGHUP under load: sessions in flight finish on the policy they started with; new
# ones take the new one; a broken file is refused with its line and the policy stays
MX4=$(free_port)
start_daemon "$T/mx4.err" "$BIN/mx" --listen "127.0.0.1:$MX4" --hostname mx4.test --record "$T/rec.$MX4.jsonl"
MX4_PID=$DAEMON_PID
wait_port 127.0.0.1 "$MX4"
printf '[tenant shop]\nmatch = 127.0.0.11\noutbound = 127.0.0.2\n[destination mx]\nmatch = 127.0.0.1\nlimit = 3\n' \
    >"$T/reload.conf"
proxy reload "$MX4" --policy "$T/reload.conf"
$FAIR groups "$PXPORT" 127.0.0.11:8:3:0.5 >"$T/reload-1.jsonl" &
LOAD=$!
sleep 0.3
printf '[tenant shop]\nmatch = 127.0.0.11\noutbound = 127.0.0.3\n[destination mx]\nmatch = 127.0.0.1\nlimit = 5\n' \
    >"$T/reload.conf"
kill -HUP "$PX"
wait "$LOAD"
rehup "$T/reload.conf" '[tenant shop]\nmatch = 127.0.0.11\noutbound = 127.0.0.4\n[destination mx]\nlimit = 5\n'
$FAIR groups "$PXPORT" 127.0.0.11:2:1 >"$T/reload-2.jsonl"
stop_daemon "$PX" || true
stop_daemon "$MX4_PID" || true
check "SIGHUP under load: no session lost; old sessions kept 127.0.0.2, later ones 127.0.0.3; a broken file refused with its line" \
    python3 - "$T" "$MX4" <<'P'
import json, sys
t, port = sys.argv[1], sys.argv[2]
rs = [json.loads(l) for f in ("reload-1.jsonl", "reload-2.jsonl") for l in open("%s/%s" % (t, f))]
assert len(rs) == 10 and all(r["greeting"] == "220" for r in rs), rs
assert sum(r["delivered"] for r in rs) == 26, [r["delivered"] for r in rs]
recs = [json.loads(l) for l in open("%s/rec.%s.jsonl" % (t, port))]
assert len(recs) == 26, len(recs)  # the second load reuses the first one's Message-IDs
src = {r["client"] for r in recs}
assert src == {"127.0.0.2", "127.0.0.3"}, src
ev = [json.loads(l) for l in open("%s/reload.log" % t)]
pol = [e for e in ev if e["event"] == "policy"]
assert [e["reloaded"] for e in pol] == [True, False], pol
assert pol[1]["error"] == "%s/reload.conf:4: [destination mx] has no match line" % t or \
       pol[1]["error"].endswith("reload.conf:4: [destination mx] has no match line"), pol[1]
opens = [e for e in ev if e["event"] == "open" and e["client"].startswith("127.0.0.11:")]
assert opens[-1]["outbound"].startswith("127.0.0.3:"), opens[-1]  # the broken file changed nothing
P
check "the refused reload is on stderr with its reason" \
    grep -q "proxy: SIGHUP: policy not reloaded, the old one stays: .*reload.conf:4: \[destination mx\] has no match line" \
    "$T/reload.err"

# --- TLS per destination: verify (a self-signed MX fails it), none, and the default may
mkdir -p "$T/tls"
make_cert "$T/tls" mx5.test
MX5=$(free_port)
start_daemon "$T/mx5.err" "$BIN/mx" --listen "127.0.0.1:$MX5" --hostname mx5.test --record "$T/rec.$MX5.jsonl" \
    --tls-cert "$T/tls/cert.pem" --tls-key "$T/tls/key.pem"
MX5_PID=$DAEMON_PID
wait_port 127.0.0.1 "$MX5"
printf '[destination strict]\nmatch = 127.0.0.1\ntls = verify\n' >"$T/tls.conf"
proxy tls "$MX5" --policy "$T/tls.conf"
$FAIR groups "$PXPORT" 127.0.0.11:1:1 >"$T/tls-verify.jsonl"
rehup "$T/tls.conf" '[destination plain]\nmatch = 127.0.0.1\ntls = none\n'
$FAIR groups "$PXPORT" 127.0.0.12:1:1 >"$T/tls-none.jsonl"
rehup "$T/tls.conf" '[tenant any]\nmatch = 127.0.0.0/8\n'
$FAIR groups "$PXPORT" 127.0.0.13:1:1 >"$T/tls-may.jsonl"
stop_daemon "$PX" || true
stop_daemon "$MX5_PID" || true
check "tls per destination: verify refuses a self-signed MX with 421, none sends in the clear, may uses TLS" \
    python3 - "$T" "$MX5" <<'P'
import json, sys
t, port = sys.argv[1], sys.argv[2]
v = json.loads(open(t + "/tls-verify.jsonl").readline())
assert v["delivered"] == 0 and "421" in v["replies"], v
recs = {r["helo"]: r["tls"] for r in map(json.loads, open("%s/rec.%s.jsonl" % (t, port)))}
assert recs == {"g12_0.test": False, "g13_0.test": True}, recs
P

printf '[tenant shop]\nmatch = 127.0.0.11/24\n' >"$T/bad.conf"
check "a policy file with an error: file:line and the reason, exit 2, nothing listens" bash -c \
    "out=\$('$BIN/proxy' --listen 127.0.0.1:$(free_port) --policy '$T/bad.conf' 2>&1); rc=\$?;
     [ \$rc -eq 2 ] && [ \"\$out\" = \"proxy: --policy $T/bad.conf:2: '127.0.0.11/24' has bits set beyond /24\" ]"

stop_all_daemons
