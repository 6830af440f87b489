#!/usr/bin/env bash
# hosts.sh - the Ansible path (HOSTS=INVENTORY, lab/hosts) with the lab's namespaces standing
# in for hosts: each runs an sshd with a key made here, the inventory names their addresses,
# and the quick congestion scenario runs through deploy, ad-hoc tasks and fetch. It must show
# the lab's finding with 0 lost, record every host's clock, keep the lab's results layout,
# refuse inventories that cannot work before touching anything, and `hosts-down` must leave
# no process, rule, route, group or file behind, also after a run broken off half way.
set -euo pipefail
# shellcheck source=tests/e2e/lib.bash
. "$(dirname "$0")/lib.bash"

plan 7
lab_tests_or_skip 7 hosts
why=""
command -v ansible-playbook >/dev/null || why="ansible is not installed (make deps installs it, as root)"
[[ -x /usr/sbin/sshd ]] || why="openssh-server is not installed (make deps installs it, as root)"
if [[ -n "$why" ]]; then
    for i in $(seq 7); do skip "hosts test $i: $why"; done
    exit 0
fi

T=$E2E_TMP
P="hx$$"
P=${P:0:10}
LAB=("$TOP/lab/lab" --prefix "$P")
BASE="/var/tmp/mailagg-e2e.$$" # Postfix's own users must reach the queues: not under $T
INV="$T/inventory.yml"
CTL="${P}ctl"
export HOSTS_STATE="$T/state" ANSIBLE_SSH_CONTROL_PATH_DIR="$T/cp" ANSIBLE_LOCAL_TEMP="$T/ansible-tmp"
mkdir -p "$T/cp"
# teardown: the run's own hosts-down first, then every sshd and ssh master we started,
# the lab, the address and route to it, and the base directory
E2E_CLEANUP+=("'$TOP/lab/hosts' --inventory '$INV' undeploy >/dev/null 2>&1"
    "pkill -f -- '$T/cp' 2>/dev/null"
    "'${LAB[0]}' --prefix '$P' down >/dev/null 2>&1"
    "ip link del '$CTL' 2>/dev/null"
    "rm -rf '$BASE'")

"${LAB[@]}" up --msas 3 --mxs 3 --dir "$T/lab" 2>"$T/lab.log"
# this machine (the controller) on the lab's LAN, the MXs' side through agg
ip link add "$CTL" type veth peer name ctl netns "$P-sw"
ip -n "$P-sw" link set ctl master br-lan up
ip link set "$CTL" up
ip addr add 198.18.1.254/24 dev "$CTL"
ip route add 198.18.2.0/24 via 198.18.1.1 dev "$CTL"
ssh-keygen -q -t ed25519 -N '' -C "hosts.sh $$" -f "$T/id"
ssh-keygen -q -t ed25519 -N '' -C "hosts.sh host $$" -f "$T/hostkey"
cp "$T/id.pub" "$T/authorized_keys"
mkdir -p /run/sshd
# an sshd in each namespace's network only (nsenter, not ip netns exec, which would hide
# the cgroup file systems a real host has)
ROLES=(mua agg msa1 msa2 msa3 mx1 mx2 mx3)
for h in "${ROLES[@]}"; do
    start_daemon "$T/sshd-$h.log" nsenter --net="/run/netns/$P-$h" /usr/sbin/sshd -D -e -f /dev/null \
        -o ListenAddress="$("${LAB[@]}" addr "$h")" -o HostKey="$T/hostkey" -o AuthorizedKeysFile="$T/authorized_keys" \
        -o PidFile=none -o StrictModes=no -o PermitRootLogin=prohibit-password -o UsePAM=no >/dev/null
done
for h in "${ROLES[@]}"; do wait_port "$("${LAB[@]}" addr "$h")" 22 10; done

# inventory FILE - the namespaces as hosts, each with its role at its address
inventory() {
    local h a
    {
        printf 'all:\n  vars:\n    ansible_user: root\n    ansible_ssh_private_key_file: %s\n' "$T/id"
        printf '    ansible_ssh_common_args: -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null\n'
        printf '    mailagg_base: %s\n  hosts:\n' "$BASE"
        for h in "${ROLES[@]}"; do
            a=$("${LAB[@]}" addr "$h")
            printf '    ns-%s:\n      ansible_host: %s\n' "$h" "$a"
            if [[ $h == agg ]]; then
                printf '      mailagg_roles: {agg: %s, agg-wan: 198.18.2.1}\n' "$a"
            else
                printf '      mailagg_roles: {%s: %s}\n' "$h" "$a"
            fi
        done
    } >"$1"
}
inventory "$INV"

# refused SED EXPECTED - the inventory edited by SED is refused by the runner before
# anything is deployed, with EXPECTED in its message
refused() {
    local out
    sed "$1" "$INV" >"$T/bad.yml"
    out=$(HOSTS="$T/bad.yml" RESULTS="$T/badruns" "$TOP/scenarios/run" "$TOP/scenarios/congestion.conf" 2>&1) && return 1
    grep -qF -- "$2" <<<"$out" || { echo "$out"; return 1; }
    [[ ! -e "$BASE" ]]
}
bad_inventories() {
    refused 's/{msa2: 198.18.1.12}/{msa2: 198.18.1.11}/' 'roles msa1 and msa2 share 198.18.1.11' &&
        refused '/ns-mx3:/,+2d' 'role mx3 is missing (the scenario has 3 MSAs and 3 MXs)' &&
        refused '/ns-msa3:/,+2d; s/agg-wan: 198.18.2.1}/agg-wan: 198.18.2.1, msa3: 198.18.1.13}/' \
            "msa3 is on agg's host ns-agg: the MSAs' mail must cross agg to be intercepted" &&
        refused 's/{mx2: 198.18.2.22}/{mx2: 198.18.2.22, relay: 198.18.2.99}/' "host ns-mx2: unknown role 'relay'"
}
check "an inventory that cannot work is refused before anything is touched (shared address, missing role, MSA on agg's host, unknown role)" \
    bad_inventories

START=$(date +%s)
env HOSTS="$INV" RESULTS="$T/runs" ROUNDS=3 DRAIN=20 "$TOP/scenarios/run" "$TOP/scenarios/congestion.conf" >"$T/run.out" 2>&1 ||
    { tail -n 30 "$T/run.out"; }
echo "# the Ansible path took $(($(date +%s) - START)) s for both variants"
RUN=$(find "$T/runs/congestion" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | sort | tail -n 1)

accounting() {
    [[ -n "$RUN" ]] || return 1
    python3 - "$RUN" <<'P'
import json, os, sys
for v in ("postfix", "proxy"):
    a = json.load(open(os.path.join(sys.argv[1], v, "summary.json")))["accounting"]
    assert a["lost"] == 0 and a["duplicates"] == 0 and a["delivered"] > 0, (v, a)
    print("#", v, a)
P
}
check "congestion through Ansible: both variants ran, 0 lost, 0 duplicates" accounting

finding() {
    grep -E '^- \*\*(Reproduced|Not reproduced)\*\*: with the relay' "$RUN/report.md" | sed 's/^/# /'
    grep -qE '^- \*\*Reproduced\*\*: with the relay, a throttling destination delays the other tenants' "$RUN/report.md"
}
check "the same finding as the lab's: with the relay mx3 delays the other tenants, with the proxy it does not" finding

layout() {
    local v f
    for v in postfix proxy; do
        for f in mua.csv mx1.jsonl mx2.jsonl mx3.jsonl events-mx3.jsonl sampler.csv summary.json collect/messages.csv \
            logs/postfix-msa1.maillog logs/postfix-msa3.maillog logs/mx3.log; do
            [[ -s "$RUN/$v/$f" ]] || { echo "# $v/$f missing"; return 1; }
        done
    done
    [[ -s "$RUN/postfix/logs/postfix-agg.maillog" && -s "$RUN/proxy/proxy.jsonl" && -s "$RUN/report.html" ]] &&
        head -n 1 "$RUN/postfix/sampler.csv" | grep -q ',agg_incoming,.*,msa3_deferred' &&
        [[ $(find "$RUN/figures" -name '*.png' | wc -l) -eq $(python3 "$TOP/results/report.py" --figures | wc -w) ]]
}
check "the lab's results layout: records, the mua's log, every maillog, the samples with every host's queues, the report" layout

clocks() {
    python3 - "$RUN/meta.json" <<'P'
import json, sys
h = json.load(open(sys.argv[1]))["hosts"]
c = h["clocks"]
assert len(c) == 8 and all(x["same_kernel_as_controller"] for x in c.values()), c
assert h["roles"]["mx3"]["host"] == "ns-mx3" and h["roles"]["agg-wan"]["addr"] == "198.18.2.1", h["roles"]
print("# %d hosts, clocks: %s" % (len(c), sorted({x["note"] for x in c.values()})))
P
}
check "meta.json records where each role ran and every host's clock" clocks

# nothing_left - no process of the deployment, no redirect rule on agg, no route the
# deployment added on the MSAs, no group, no file
nothing_left() {
    local h
    if pgrep -af -- "$BASE" | sed 's/^/# left: /' | grep .; then return 1; fi
    ip netns exec "$P-agg" nft list tables | grep -q mailagg_redirect && { echo "# redirect rule left"; return 1; }
    for h in msa1 msa2 msa3; do
        ip -n "$P-$h" route | grep -q '198.18.2.2[1-3] via' && { echo "# route left on $h"; return 1; }
    done
    local g cg
    cg="mailagg-node-$(printf '%s' "$BASE/ns-agg" | cksum | cut -d' ' -f1)" # lab/node's name for agg's group
    for g in /sys/fs/cgroup/*/"$cg" "/sys/fs/cgroup/$cg"; do [[ ! -e "$g" ]] || { echo "# $g left"; return 1; }; done
    [[ ! -e "$BASE" ]] || { echo "# $BASE left"; return 1; }
}
hosts_down() { make -s -C "$TOP" hosts-down HOSTS="$INV" >>"$T/down.log" 2>&1 || { tail -n 20 "$T/down.log"; return 1; }; }
check "make hosts-down HOSTS=... leaves no process, rule, route, group or file" eval "hosts_down && nothing_left"

# a run broken off half way: deployed, the relay, an MX and the redirect rule up, the sampler
# running; then hosts-down (twice: it must be safe to repeat)
broken() {
    local H=("$TOP/lab/hosts" --inventory "$INV")
    "${H[@]}" up --msas 3 --mxs 3 --dir "$T/broken" 2>/dev/null &&
        "${H[@]}" start mx1 mx1 "$("${H[@]}" path mx1 bin)/mx" --listen 198.18.2.21:25 --hostname mx1.test \
            --record "$("${H[@]}" path mx1 out)/mx1.jsonl" >/dev/null &&
        "${H[@]}" postfix relay agg >/dev/null && "${H[@]}" redirect 10025 && "${H[@]}" sampler start &&
        pgrep -f -- "$BASE" >/dev/null && ip netns exec "$P-agg" nft list tables | grep -q mailagg_redirect &&
        hosts_down && nothing_left && hosts_down && nothing_left
}
check "after a run broken off half way, hosts-down removes it all, and is safe to run twice" broken
