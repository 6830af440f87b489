#!/usr/bin/env bash
# bench.sh - `make bench QUICK=1` runs every comparison once, small, and writes its table,
# CSV, markdown and machine facts; it checks that the bench works, not its figures.
# Bad usage is refused with a message. (The Postfix rows need root; skipped otherwise.)
set -euo pipefail
# shellcheck source=tests/e2e/lib.bash
. "$(dirname "$0")/lib.bash"

plan 5
T=$E2E_TMP
if [[ "${SANITIZE:-0}" == 1 ]]; then
    for i in 1 2 3 4 5; do skip "bench test $i: the bench measures the release build, not the sanitizer build"; done
    exit 0
fi

check "make bench QUICK=1 runs to the end" \
    env BENCH_OUT="$T/out" make -s -C "$TOP" bench QUICK=1

# every measurement and ratio the bench promises is in results.csv with a number
complete() {
    local want=(tput_1_direct tput_1_proxy tput_1_proxy-budget tput_1_haproxy tput_100_direct tput_100_proxy tput_100_haproxy
        cpu_1_proxy cpu_100_proxy cpu_1_haproxy rss_peak_proxy idle_kib_per_session_proxy
        busy_kib_per_session_proxy busy_delivered
        rtt_p50_proxy rtt_p99_proxy rtt_p50_direct tput_proxy_tls tput_proxy_plain
        tput_1_mx tput_1_smtp-sink tput_mua tput_100_smtp-source collect_records
        "proxy / HAProxy, 1 msg/conn" "proxy / direct, 100 msgs/conn" "proxy KiB per idle session"
        "bin/mx / smtp-sink" "collect records/s" "STARTTLS / plain, through the proxy"
        "proxy with a budget / proxy, 1 msg/conn")
    [[ $(id -u) -eq 0 ]] && want+=(tput_1_postfix tput_100_postfix "proxy / Postfix relay, 1 msg/conn")
    python3 - "$T/out/results.csv" "${want[@]}" <<'P'
import csv, sys
rows = {r["name"]: r for r in csv.DictReader(open(sys.argv[1]))}
bad = [w for w in sys.argv[2:] if w not in rows or not float(rows[w]["median"]) > 0]
for w in bad:
    print("results.csv has no positive median for %r" % w, file=sys.stderr)
sys.exit(1 if bad else 0)
P
}
check "results.csv holds every measurement and ratio, each positive" complete

machine() {
    python3 -c 'import json, sys; m = json.load(open(sys.argv[1])); assert m["cores"] > 0 and m["kernel"] and m["haproxy"] and m["quick"] == 1, m' \
        "$T/out/machine.json" && grep -q "^| proxy / HAProxy, 1 msg/conn |" "$T/out/results.md" && grep -q "Quick mode" "$T/out/results.md"
}
check "machine.json has the machine's facts; results.md the tables" machine

# the bench runs every daemon in its work directory (bench.XXXXXX): none may be left
no_leftovers() {
    local p left=""
    for p in /proc/[0-9]*; do
        [[ "$(readlink "$p/cwd" 2>/dev/null)" =~ /bench\.[A-Za-z0-9]{6} ]] && left+=" ${p#/proc/}: $(tr '\0' ' ' <"$p/cmdline")"
    done
    [[ -z "$left" ]] || { echo "left running:$left" >&2; return 1; }
}
check "the bench leaves no process behind" no_leftovers

bad_usage() {
    local out
    out=$(env BENCH_OUT="$T/bad" REPS=0 "$TOP/bench/bench" --quick 2>&1) && return 1
    grep -q "REPS='0': expected a positive integer" <<<"$out" || return 1
    out=$("$TOP/bench/bench" --fast 2>&1) && return 1
    grep -q "usage: bench/bench" <<<"$out"
}
check "bad usage is refused with a message" bad_usage
