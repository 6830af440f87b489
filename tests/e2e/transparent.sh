#!/usr/bin/env bash
# transparent.sh - interception proven on a lab with IPv6 (root): the proxy behind an
# IPv6 REDIRECT rule (SO_ORIGINAL_DST for IPv6), then behind TPROXY rules for IPv4 and
# IPv6 (the destination is the socket's own address); each time the MX records the
# outbound address the proxy's policy chose for the tenant, per address family.
set -euo pipefail
# shellcheck source=tests/e2e/lib.bash
. "$(dirname "$0")/lib.bash"

plan 4
lab_tests_or_skip 4 transparent
T=$E2E_TMP
chmod 755 "$T"
P="tp$$"
P=${P:0:12}
LAB=("$TOP/lab/lab" --prefix "$P")
E2E_CLEANUP+=("'$TOP/lab/lab' --prefix '$P' down >/dev/null 2>&1")

"${LAB[@]}" up --msas 2 --mxs 1 --agg-addrs 1 --ipv6 --dir "$T/run" 2>"$T/up.err"
MX4=$("${LAB[@]}" addr mx1)
MX6=$("${LAB[@]}" addr6 mx1)
"${LAB[@]}" start mx1 mx1 "$BIN/mx" --listen "$MX4:25" --listen "[$MX6]:25" --hostname mx1.test \
    --record "$T/mx1.jsonl" >/dev/null
cat >"$T/policy.conf" <<CONF
[tenant shop1]
match = $("${LAB[@]}" addr msa1), $("${LAB[@]}" addr6 msa1)
outbound = $("${LAB[@]}" addr agg-wan1), $("${LAB[@]}" addr6 agg-wan1)
CONF

# send TAG MSA TARGET - 5 messages from MSA's namespace to TARGET port 25 (intercepted)
send() {
    "${LAB[@]}" exec "$2" "$BIN/mua" --target "$3:25" --from "a@$2.test" --to u@mx1.test \
        --messages 5 --sessions 1 --size 300 --tenant "$2" --run "$1" --log "$T/$1.csv" >"$T/$1.out" 2>&1 ||
        echo "# mua run $1 failed: $(tail -n 2 "$T/$1.out")"
}
# sources WANT... - each "RUN=CLIENT:COUNT": the MX recorded COUNT messages of mua run
# RUN, all from CLIENT
sources() {
    python3 - "$T/mx1.jsonl" "$@" <<'P'
import json, sys, time
for _ in range(30):  # the MX writes its records within a second
    recs = [json.loads(l) for l in open(sys.argv[1])]
    got = {}
    for r in recs:
        run = r["message_id"][1:].split(".")[0]
        got.setdefault(run, {}).setdefault(r["client"], 0)
        got[run][r["client"]] += 1
    want = {w.split("=")[0]: {w.split("=")[1].rsplit(":", 1)[0]: int(w.rsplit(":", 1)[1])} for w in sys.argv[2:]}
    if all(got.get(k) == v for k, v in want.items()):
        sys.exit(0)
    time.sleep(0.2)
print("# want", want, "got", {k: got.get(k) for k in want})
sys.exit(1)
P
}

# --- REDIRECT, IPv6 and IPv4
"${LAB[@]}" start agg proxy "$BIN/proxy" --listen "$("${LAB[@]}" addr agg):10025" \
    --listen "[$("${LAB[@]}" addr6 agg)]:10025" --policy "$T/policy.conf" --tls none --log "$T/redirect.log" >/dev/null
"${LAB[@]}" redirect 10025
send r6a msa1 "[$MX6]"
send r6b msa2 "[$MX6]"
send r4a msa1 "$MX4"
check "IPv6 REDIRECT: msa1's mail from fd00:2::11 (its policy), msa2's from agg's fd00:2::1; IPv4: from 198.18.2.11" \
    sources "r6a=fd00:2::11:5" "r6b=fd00:2::1:5" "r4a=198.18.2.11:5"
sleep 1.2 # the proxy writes its log every second
check "the proxy learned the IPv6 destination behind REDIRECT (SO_ORIGINAL_DST)" \
    grep -q "\"dst\":\"\\[$MX6\\]:25\",\"outbound\":\"\\[fd00:2::11\\]:" "$T/redirect.log"
"${LAB[@]}" stop proxy

# --- TPROXY, IPv4 and IPv6: the proxy's transparent sockets see the MX's address
"${LAB[@]}" start agg proxyt "$BIN/proxy" --tproxy --listen 0.0.0.0:10026 --listen "[::]:10026" \
    --policy "$T/policy.conf" --tls none --log "$T/tproxy.log" >/dev/null
"${LAB[@]}" tproxy 10026
send t4a msa1 "$MX4"
send t6a msa1 "[$MX6]"
send t6b msa2 "[$MX6]"
check "TPROXY: IPv4 msa1 from 198.18.2.11, IPv6 msa1 from fd00:2::11, msa2 from fd00:2::1" \
    sources "t4a=198.18.2.11:5" "t6a=fd00:2::11:5" "t6b=fd00:2::1:5"
check "TPROXY: every session's destination was the MX itself (15 sessions, 15 messages)" python3 - "$T/tproxy.log" "$MX4" "$MX6" <<'P'
import json, sys, time
want = {"%s:25" % sys.argv[2], "[%s]:25" % sys.argv[3]}
for _ in range(40):  # the proxy writes its log every second
    ev = [json.loads(l) for l in open(sys.argv[1])]
    dsts = [e["dst"] for e in ev if e["event"] == "message"]
    if len(dsts) >= 15:
        break
    time.sleep(0.2)
assert len(dsts) == 15 and set(dsts) == want, (len(dsts), set(dsts))
P
