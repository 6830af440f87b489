#!/usr/bin/env bash
# lab.sh - lab/lab as root: topology and routing through agg only, a message through
# each variant (proxy in the path, no queue on agg; relay's Received in the chain), an
# outbound address per tenant from the proxy's policy (agg with more addresses), the
# sampler's disk writes (relay many times the proxy), Postfix errors reported, and a
# down that leaves nothing behind.
set -euo pipefail
# shellcheck source=tests/e2e/lib.bash
. "$(dirname "$0")/lib.bash"

plan 9
lab_tests_or_skip 9 lab
T=$E2E_TMP
chmod 755 "$T"
P="lt$$"
P=${P:0:12}
LAB=("$TOP/lab/lab" --prefix "$P")
E2E_CLEANUP+=("'$TOP/lab/lab' --prefix '$P' down >/dev/null 2>&1")
RULES_BEFORE=$(nft list ruleset 2>/dev/null | md5sum)

"${LAB[@]}" up --msas 2 --mxs 2 --agg-addrs 2 --dir "$T/run" 2>"$T/up.err"
if "${LAB[@]}" up --msas 2 --mxs 2 2>"$T/up2.err"; then not_ok "a second up over a live lab is refused"
elif grep -q "already up; remove it with: lab/lab --prefix $P down" "$T/up2.err"; then ok "a second up over a live lab is refused, saying how to remove it"
else not_ok "a second up over a live lab is refused" "$(cat "$T/up2.err")"; fi

for m in 1 2; do
    "${LAB[@]}" start "mx$m" "mx$m" "$BIN/mx" --listen "198.18.2.2$m:25" --hostname "mx$m.test" \
        --record "$T/mx$m.jsonl" >/dev/null
done
reach() { # reach MSA MX - connect from the MSA to the MX's port 25
    "${LAB[@]}" exec "$1" python3 -c "import socket; socket.create_connection(('$("${LAB[@]}" addr "$2")', 25), 2)"
}
only_through_agg() {
    local s m
    for s in msa1 msa2; do for m in mx1 mx2; do reach "$s" "$m" || return 1; done; done
    "${LAB[@]}" exec agg sysctl -qw net.ipv4.ip_forward=0
    for s in msa1 msa2; do for m in mx1 mx2; do
        if reach "$s" "$m" 2>/dev/null; then echo "$s reached $m without agg forwarding"; return 1; fi
    done; done
    "${LAB[@]}" exec agg sysctl -qw net.ipv4.ip_forward=1
}
check "every MSA reaches every MX, and only through agg" only_through_agg

out=$("${LAB[@]}" postfix msa msa1 inet_interfaces=198.18.9.9 2>&1) && rc=0 || rc=$?
if [[ $rc -ne 0 && "$out" == *"refused its configuration"* ]]; then ok "a bad Postfix setting is reported with Postfix's own words"
else not_ok "a bad Postfix setting is reported" "$rc: $out"; fi

printf '# no tenant yet: every session leaves from agg-wan\n' >"$T/policy.conf"
"${LAB[@]}" start agg proxy --cgroup "$BIN/proxy" --listen 198.18.1.1:10025 --log "$T/proxy.log" \
    --policy "$T/policy.conf" >/dev/null
"${LAB[@]}" redirect 10025
"${LAB[@]}" postfix relay agg qmgr_message_active_limit=200
"${LAB[@]}" postfix msa msa1
"${LAB[@]}" postfix msa-relayed msa2
"${LAB[@]}" sampler start

send() { # send MSA MX COUNT TAG
    "$BIN/mua" --target "$("${LAB[@]}" addr "$1"):25" --from "a@$1.test" --to "u@$2.test" \
        --messages "$3" --sessions 5 --size 1000 --tenant "$1" --run "$4" --log "$T/$4.csv" >/dev/null 2>&1 &&
        return 0
    return 1
}
wait_records() { # wait_records FILE COUNT
    for _ in $(seq 150); do
        [[ -f "$1" && $(wc -l <"$1") -ge $2 ]] && return 0
        sleep 0.2
    done
    return 1
}
blkio() { tail -n 1 "$T/run/sampler.csv" | cut -d, -f3; }

sleep 2
b0=$(blkio)
"${LAB[@]}" exec mua "$BIN/mua" --target 198.18.1.11:25 --from a@msa1.test --to u@mx1.test \
    --messages 200 --sessions 5 --size 1000 --tenant msa1 --run proxyrun --log "$T/proxyrun.csv" >/dev/null 2>&1
wait_records "$T/mx1.jsonl" 200 || true
sleep 2.5
b1=$(blkio)
check "proxy variant: msa1's mail reaches mx1 through the proxy, from agg's address" python3 - "$T/mx1.jsonl" "$T/proxy.log" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert len(recs) == 200, len(recs)
assert all(r["client"] == "198.18.2.1" for r in recs), recs[0]["client"]
assert all(len(r["received"]) == 1 and "by msa1.test" in r["received"][0]["text"] for r in recs), recs[0]["received"]
ev = [json.loads(l) for l in open(sys.argv[2])]
assert sum(e["event"] == "message" for e in ev) == 200
PY
check "proxy variant: no queue file on agg" bash -c "[ -z \"\$(find '$T/run/postfix/agg/queue/incoming' '$T/run/postfix/agg/queue/active' '$T/run/postfix/agg/queue/deferred' -type f)\" ]"

# outbound addresses per tenant: the policy gives msa1 and msa2 agg addresses of their own
cat >"$T/policy.conf" <<CONF
[tenant shop1]
match = $("${LAB[@]}" addr msa1)
outbound = $("${LAB[@]}" addr agg-wan1)
[tenant shop2]
match = $("${LAB[@]}" addr msa2)
outbound = $("${LAB[@]}" addr agg-wan2)
CONF
pkill -HUP -f -- "--log $T/proxy.log" # the proxy this test started
sleep 0.5
for s in 1 2; do
    "${LAB[@]}" exec "msa$s" "$BIN/mua" --target 198.18.2.21:25 --from "a@msa$s.test" --to u@mx1.test \
        --messages 10 --sessions 2 --size 500 --tenant "msa$s" --run "out$s" --log "$T/out$s.csv" >/dev/null 2>&1
done
wait_records "$T/mx1.jsonl" 220 || true
sleep 1.2 # the proxy writes its log every second
check "policy: the MX sees msa1's mail from 198.18.2.11 and msa2's from 198.18.2.12; the log names the rule" \
    python3 - "$T/mx1.jsonl" "$T/proxy.log" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])][200:]
by = {}
for r in recs:
    by.setdefault(r["mail_from"], set()).add(r["client"])
assert by == {"a@msa1.test": {"198.18.2.11"}, "a@msa2.test": {"198.18.2.12"}}, by
ev = [json.loads(l) for l in open(sys.argv[2])]
assert any(e["event"] == "policy" and e["reloaded"] for e in ev)
rules = {e.get("outbound_rule") for e in ev if e["event"] == "open" and e["outbound"].startswith("198.18.2.1")}
assert {"tenant shop1", "tenant shop2"} <= rules, rules
PY

"${LAB[@]}" exec mua "$BIN/mua" --target 198.18.1.12:25 --from a@msa2.test --to u@mx2.test \
    --messages 200 --sessions 5 --size 1000 --tenant msa2 --run relayrun --log "$T/relayrun.csv" >/dev/null 2>&1
wait_records "$T/mx2.jsonl" 200 || true
sleep 2.5
b2=$(blkio)
check "relay variant: msa2's mail reaches mx2 through agg's Postfix (its Received: in the chain)" python3 - "$T/mx2.jsonl" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert len(recs) == 200, len(recs)
assert all(any("by agg.test (Postfix)" in x["text"] for x in r["received"]) for r in recs), recs[0]["received"]
PY
echo "# agg disk writes (blkio): proxy phase $((b1 - b0)) bytes, relay phase $((b2 - b1)) bytes for 200 messages each"
check "sampler: the relay writes many times what the proxy does ($((b1 - b0)) vs $((b2 - b1)) bytes)" \
    python3 -c "import sys; p, r = $((b1 - b0)), $((b2 - b1)); sys.exit(0 if r > 200 * 5000 and r > 10 * max(p, 1) else 1)"

"${LAB[@]}" down 2>/dev/null
"${LAB[@]}" down 2>/dev/null
leftovers() {
    local bad=0
    if ip netns list | grep -q "^$P-"; then echo "namespaces left: $(ip netns list | grep "^$P-")"; bad=1; fi
    if [[ -d "/sys/fs/cgroup/cpuacct/mailagg-$P-agg" ]]; then echo "cgroup left"; bad=1; fi
    if pgrep -f "$T/run" >/dev/null; then echo "processes left: $(pgrep -af "$T/run")"; bad=1; fi
    if [[ -d "/run/mailagg-lab/$P" ]]; then echo "state left"; bad=1; fi
    if [[ -d "/var/spool/mailagg-lab/$P" ]]; then echo "queues left"; bad=1; fi
    if [[ "$(nft list ruleset 2>/dev/null | md5sum)" != "$RULES_BEFORE" ]]; then echo "root nft ruleset changed"; bad=1; fi
    return $bad
}
check "down (twice) leaves no namespace, cgroup, process, state or rule behind" leftovers
