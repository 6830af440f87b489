#!/usr/bin/env bash
# mua.sh - bin/mua end to end into bin/mx: counts per round and tenant, headers that
# collect parses, rounds on time, and failures (refused, 421, 5xx) recorded while the
# run goes on.
set -euo pipefail
# shellcheck source=tests/e2e/lib.bash
. "$(dirname "$0")/lib.bash"

plan 7
T=$E2E_TMP
PORT=$(free_port)
start_daemon "$T/mx.log" "$BIN/mx" --listen "127.0.0.1:$PORT" --hostname mx1.test --record "$T/rec.jsonl"
MX=$DAEMON_PID
wait_port 127.0.0.1 "$PORT"

cat >"$T/schedule" <<S
# two tenants, three rounds half a second apart
run = e2e1
interval = 0.5
rounds = 3
size = 800
[msa1]
target = 127.0.0.1:$PORT
from = a@msa1.test
to = u@mx1.test
messages = 10
sessions = 10
[msa3]
target = 127.0.0.1:$PORT
from = a@msa3.test
to = u@mx3.test
messages = 50
sessions = 4
S
check "a two-tenant schedule runs and exits 0" "$BIN/mua" --schedule "$T/schedule" --log "$T/mua.csv"
stop_daemon "$MX"
check "every message is logged once, counts per round and tenant are right" python3 - "$T/mua.csv" <<'P'
import csv, collections, sys
rows = list(csv.DictReader(open(sys.argv[1])))
c = collections.Counter((r["tenant"], r["round"]) for r in rows)
assert c == {("msa1", str(k)): 10 for k in range(3)} | {("msa3", str(k)): 50 for k in range(3)}, c
assert all(r["code"] == "250" and r["run"] == "e2e1" for r in rows), rows[0]
assert len({(r["tenant"], r["round"], r["seq"]) for r in rows}) == len(rows)
P
check "rounds start within 50 ms of their due time" python3 - "$T/mua.csv" <<'P'
import csv, collections, sys
first = collections.defaultdict(lambda: 10**20)
for r in csv.DictReader(open(sys.argv[1])):
    k = (r["tenant"], r["round"])
    first[k] = min(first[k], int(r["start_us"]) - int(r["intended_us"]))
assert all(0 <= v < 50000 for v in first.values()), dict(first)
due = sorted({int(r["intended_us"]) for r in csv.DictReader(open(sys.argv[1]))})
assert [b - a for a, b in zip(due, due[1:])] == [500000, 500000], due
P
mkdir -p "$T/out"
"$BIN/collect" --group-by tenant --out-dir "$T/out" "$T/rec.jsonl" 2>"$T/collect.err"
check "bin/mx received every message and collect parses every header" python3 - "$T/out/summary.json" "$T/rec.jsonl" <<'P'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["messages"] == 180 and s["duplicates"] == 0, s
assert s["errors"]["date"] == 0 and s["errors"]["stamp"] == 0, s["errors"]
counts = {g["group"]: g["count"] for g in s["groups"]}
assert counts == {"msa1": 30, "msa3": 150}, counts
r = json.loads(open(sys.argv[2]).readline())
assert r["helo"] == "localhost" and r["size"] > 800, r
P

DEAD=$(free_port) # nothing listens here
out=$("$BIN/mua" --target "127.0.0.1:$DEAD" --from a@b --to c@d --messages 3 --log "$T/refused.csv" 2>&1) && rc=0 || rc=$?
check "a refused connection is a failure per message, and the exit status says so" python3 - "$T/refused.csv" "$rc" <<'P'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert len(rows) == 3 and all(r["code"] == "0" and r["curl_error"] for r in rows), rows
assert sys.argv[2] == "1", sys.argv[2]
P

TP=$(free_port)
start_daemon "$T/tp.log" "$BIN/tarpit" --listen "127.0.0.1:$TP" --hostname tp.test \
    --tempfail-connect 0.3 --permfail-rcpt 0.3 --preset gmail --seed 5 --record "$T/tp.rec"
TPID=$DAEMON_PID
wait_port 127.0.0.1 "$TP"
check "421 and 5xx are recorded as failures, the run goes on, --allow-failures exits 0" \
    "$BIN/mua" --target "127.0.0.1:$TP" --from a@b --to u@tp.test --messages 40 --sessions 4 \
    --log "$T/fail.csv" --allow-failures
stop_daemon "$TPID" # flushes its records
check "the log holds the replies: 250s, 421 4.7.28 and 550 5.7.1" python3 - "$T/fail.csv" "$T/tp.rec" <<'P'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert len(rows) == 40, len(rows)
codes = {r["code"] for r in rows}
assert "250" in codes, codes
bad = [r for r in rows if r["code"] != "250"]
assert any("4.7.28" in r["reply"] for r in bad) and any("5.7.1" in r["reply"] for r in bad), bad[:3]
ok = sum(r["code"] == "250" for r in rows)
recs = sum(1 for _ in open(sys.argv[2]))
assert ok == recs, (ok, recs)  # what the mua counts as sent is what arrived
P
