#!/usr/bin/env bash
# workers.sh - bin/proxy --workers N on loopback: sessions spread over the workers and
# every message reaches the MX once; metrics are the workers' sums; a killed worker is
# started again and its listening socket kept meanwhile; a budget holds across workers
# (worker 0 admits every budgeted connection); HUP and TERM reach every worker; a worker
# that cannot start stops the parent with its reason; bad counts are refused.
set -euo pipefail
# shellcheck source=tests/e2e/lib.bash
. "$(dirname "$0")/lib.bash"

plan 9
T=$E2E_TMP
FAIR="python3 $(dirname "$0")/fair.py"


# proxy NAME MXPORT OPTIONS... - a proxy with 2 workers in front of the MX; its port in
# PXPORT, its metrics port in MPORT, the parent's pid in PX
proxy() {
    local name=$1 mxport=$2
    shift 2
    PXPORT=$(free_port)
    MPORT=$(free_port)
    start_daemon "$T/$name.err" "$BIN/proxy" --workers 2 --listen "127.0.0.1:$PXPORT" \
        --upstream "127.0.0.1:$mxport" --log "$T/$name.log" --log-level messages \
        --metrics "127.0.0.1:$MPORT" "$@"
    PX=$DAEMON_PID
    wait_port 127.0.0.1 "$PXPORT"
    wait_port 127.0.0.1 "$MPORT"
}

# workers_of PID - the worker pids under the parent PID, one per line
workers_of() { pgrep -P "$1" | sort -n; }

MX=$(free_port)
start_daemon "$T/tarpit.err" "$BIN/tarpit" --listen "127.0.0.1:$MX" --hostname mx1.test \
    --config tarpit/mx1-conn-limit.conf --record "$T/rec.jsonl"
wait_port 127.0.0.1 "$MX"

# --- no budget: the kernel spreads connections over both workers' sockets
proxy plain "$MX"
$FAIR groups "$PXPORT" 127.0.0.11:30:2 127.0.0.12:30:2 >"$T/plain.jsonl"
cat >"$T/plain.py" <<'P'
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
assert int(sys.argv[4]) == 2, sys.argv[4]
assert sum(r["delivered"] for r in rs) == 120 and all(r["greeting"] == "220" for r in rs)
ids = [json.loads(l)["message_id"] for l in open(sys.argv[2])]
assert len(ids) == 120 and len(set(ids)) == 120, (len(ids), len(set(ids)))
opens = [e for e in map(json.loads, open(sys.argv[3])) if e["event"] == "open"]
by = {}
for e in opens:
    by[e["worker"]] = by.get(e["worker"], 0) + 1
assert set(by) == {0, 1} and min(by.values()) >= 5, by
assert len({e["session"] for e in opens}) == len(opens)
P
check "2 workers under the parent; 60 clients x 2 messages: 120 accepted, each once at the MX; both workers relayed; session ids unique" \
    eventually python3 "$T/plain.py" "$T/plain.jsonl" "$T/rec.jsonl" "$T/plain.log" "$(workers_of "$PX" | wc -l)"
curl -sf "http://127.0.0.1:$MPORT/metrics" -o "$T/metrics.txt"
cat >"$T/sums.py" <<'P'
import json, sys, os
sys.path.insert(0, os.environ["E2E_DIR"])
from promvalues import values
m = values(sys.argv[1])
msgs = sum(v for k, v in m.items() if k.startswith("smtp_proxy_messages_total{") and 'class="2xx"' in k)
assert msgs == 120, msgs
opens = sum(1 for e in map(json.loads, open(sys.argv[2])) if e["event"] == "open")
assert m["smtp_proxy_sessions_total"] == opens, (m["smtp_proxy_sessions_total"], opens)
assert m["smtp_proxy_relay_latency_seconds_count"] == 120
assert m["smtp_proxy_workers"] == 2 and m["smtp_proxy_worker_restarts_total"] == 0
P
check "metrics are the workers' sums: 120 messages 2xx, sessions as the log opened them, 2 workers" \
    eventually python3 "$T/sums.py" "$T/metrics.txt" "$T/plain.log"
check "the merged exposition passes promfmt.py" python3 "$(dirname "$0")/promfmt.py" "$T/metrics.txt"

# --- a worker killed: the parent starts it again; meanwhile its socket queues clients
mapfile -t before < <(workers_of "$PX")
kill -KILL "${before[1]}"
$FAIR groups "$PXPORT" 127.0.0.11:20:1 >"$T/after.jsonl"
check "SIGKILL to a worker: started again (a new pid, restarts 1, the reason on stderr); 20 clients after it all delivered" \
    eventually bash -c "
    mapfile -t now < <(pgrep -P $PX)
    [ \${#now[@]} -eq 2 ] && [[ \" \${now[*]} \" == *' ${before[0]} '* ]] && [[ \" \${now[*]} \" != *' ${before[1]} '* ]] &&
    grep -q 'proxy: worker [01] (pid ${before[1]}) killed by signal 9; starting it again' '$T/plain.err' &&
    [ \$(grep -c '\"delivered\": 1' '$T/after.jsonl') -eq 20 ] &&
    curl -sf http://127.0.0.1:$MPORT/metrics | grep -qx 'smtp_proxy_worker_restarts_total 1'"

# --- HUP reaches each worker: both read the policy again
printf '[tenant shop]\nmatch = 127.0.0.11\n' >"$T/policy.conf"
proxy policy "$MX" --policy "$T/policy.conf"
printf '[tenant shop]\nmatch = 127.0.0.11\n[tenant bulk]\nmatch = 127.0.0.12\n' >"$T/policy.conf"
kill -HUP "$PX"
check "SIGHUP to the parent: each worker logs its own policy reload" eventually python3 -c "
import json, sys
ev = [json.loads(l) for l in open('$T/policy.log')]
pol = [e for e in ev if e['event'] == 'policy']
assert len(pol) == 2 and all(e['reloaded'] and e['tenants'] == 2 for e in pol), pol
"
kill -TERM "$PX"
wait "$PX" 2>/dev/null || true

# --- a budget across workers: 40 clients, 10 connections at a time, none sees the MX's 421
proxy fixed "$MX" --dest-limit 10
$FAIR groups "$PXPORT" 127.0.0.11:20:2:0.3 127.0.0.12:10:2:0.3 127.0.0.13:10:2:0.3 >"$T/fixed.jsonl"
kill -USR1 "$PX"
cat >"$T/fixed.py" <<'P'
import json, re, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
assert len(rs) == 40 and all(r["greeting"] == "220" for r in rs), [r["greeting"] for r in rs]
assert sum(r["delivered"] for r in rs) == 80
ev = [json.loads(l) for l in open(sys.argv[2])]
opens = [e for e in ev if e["event"] == "open" and e["client"].startswith("127.0.0.1") and e["client"] != "127.0.0.1"]
assert opens and all(e["worker"] == 0 for e in opens if "dest" in e), {e["worker"] for e in opens}
assert any(e["decision"] == "held" for e in opens)
handed = [int(x) for x in re.findall(r"worker=1 pid=\d+ handed_out=(\d+)", open(sys.argv[3]).read())]
assert handed and handed[-1] >= 5, handed
P
check "dest-limit 10 with 2 workers: all 40 greeted 220, 80 delivered; worker 0 admitted every session, worker 1 handed its clients over" \
    eventually python3 "$T/fixed.py" "$T/fixed.jsonl" "$T/fixed.log" "$T/fixed.err"

# --- TERM: a session in the middle of its message finishes, then every process leaves
(smtp "$PXPORT" >"$T/term.out" 2>&1 <<'S'; echo "rc=$?" >>"$T/term.out") &
< 220
> EHLO t.test
< 250
> MAIL FROM:<a@test>
< 250
> RCPT TO:<u@mx1.test>
< 250
> DATA
< 354
> Subject: t
>
> body
sleep 1
> .
< 250
> QUIT
< 221
S
CLIENT=$!
mapfile -t ws < <(workers_of "$PX")
term_during "$PX" "$CLIENT"
check "SIGTERM: the message in flight is accepted, the parent exits 0 and no worker is left" bash -c "
    [ $TERM_RC -eq 0 ] && grep -qx rc=0 '$T/term.out' && ! kill -0 ${ws[0]} 2>/dev/null && ! kill -0 ${ws[1]} 2>/dev/null"

check "a worker that cannot start (its log cannot be opened) stops the parent: exit 1, the reason, no worker left" bash -c "
    out=\$(timeout 10 '$BIN/proxy' --workers 2 --listen 127.0.0.1:$(free_port) --upstream 127.0.0.1:$MX \
        --log '$T/no/such/dir/log' 2>&1); rc=\$?
    [ \$rc -eq 1 ] && grep -q 'proxy: --log .*no/such/dir' <<<\"\$out\" &&
    grep -q 'proxy: worker [01] exited with status 1 before it was ready; stopping' <<<\"\$out\" &&
    ! pgrep -a -x proxy | grep -q '$T/no/such/dir/log'"
check "--workers 0 and 65 are refused with the range" bash -c "
    for n in 0 65 x; do out=\$('$BIN/proxy' --workers \$n --listen 127.0.0.1:1 2>&1); rc=\$?
        [ \$rc -eq 2 ] && [ \"\$out\" = \"proxy: --workers '\$n': expected a count 1..64\" ] || exit 1; done"
stop_all_daemons
