# shellcheck shell=bash
# postfix.bash - one private Postfix instance's configuration: its own queue, data and
# log, no local delivery, no DNS; the settings of each role in the study, and starting it.
# Sourced by lab/lab (namespaced instances), lab/node (real hosts) and bench/bench: the
# lab and real hosts run the very same configuration.

# postfix_instance_conf DIR NAME LISTEN_IP COMMENT [QUEUE] [MYNETWORKS] - write
# DIR/main.cf and DIR/master.cf for an instance called NAME listening on LISTEN_IP (smtpd
# on port 25 unless the caller changes master.cf); data in DIR/data, log in DIR/maillog,
# queue in DIR/queue, or in QUEUE with DIR/queue a symbolic link to it: Postfix's sockets
# live in the queue, and a socket path may not exceed 107 bytes (a run directory can be
# deep). MYNETWORKS (default: the lab's 198.18.0.0/15) may relay through it.
postfix_instance_conf() {
    local d=$1 name=$2 ip=$3 comment=$4 q=${5:-$1/queue} nets=${6:-198.18.0.0/15}
    mkdir -p "$q" "$d/data"
    [[ "$q" == "$d/queue" ]] || ln -sfn "$q" "$d/queue"
    chown postfix "$d/data"
    cp /etc/postfix/master.cf "$d/master.cf"
    cat >"$d/main.cf" <<CF
# $comment
compatibility_level = 3.6
queue_directory = $q
data_directory = $d/data
myhostname = $name.test
inet_interfaces = $ip
inet_protocols = ipv4
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
mynetworks = $nets, 127.0.0.0/8
maillog_file = $d/maillog
maillog_file_prefixes = $d
biff = no
smtpd_banner = \$myhostname ESMTP
CF
    postconf -c "$d" -F '*/*/chroot = n' >/dev/null
}

# postfix_role_conf DIR ROLE AGG AGG_WAN MXMAP - append ROLE's settings to DIR/main.cf:
# msa delivers to the MXs by address (MXMAP: "mx1=ADDR mx2=ADDR ..."), msa-relayed hands
# everything to the relay at AGG, relay (on agg) delivers to the MXs from AGG_WAN and
# returns what it cannot deliver at once (the study's relay keeps no mail for later)
postfix_role_conf() {
    local d=$1 role=$2 agg=$3 wan=$4 map="" kv
    for kv in $5; do map+="{${kv%%=*}.test=smtp:[${kv#*=}]:25}, "; done
    case "$role" in
        # transport_maps would win over relayhost: a relayed MSA knows only the relay
        msa-relayed) echo "relayhost = [$agg]:25" >>"$d/main.cf" ;;
        msa | relay) echo "transport_maps = inline:{ ${map%, } }" >>"$d/main.cf" ;;
        *) return 1 ;;
    esac
    [[ "$role" != relay ]] ||
        printf 'smtp_bind_address = %s\nbounce_queue_lifetime = 0\nmaximal_queue_lifetime = 0\n' "$wan" >>"$d/main.cf"
}

# postfix_up DIR IP JOIN [PREFIX...] - check DIR's configuration, start the instance and
# wait until it listens on IP:25, every command run under PREFIX (e.g. ip netns exec NS);
# JOIN runs first in the shell that starts it (a cgroup to join, or :). Returns 0, or
# prints why not and returns 1.
postfix_up() {
    local d=$1 ip=$2 join=$3 out
    shift 3
    # postfix check has been seen failing once, silently, right after another lab's
    # teardown: a second try tells a transient failure from a configuration error
    if ! out=$("$@" postfix -c "$d" check 2>&1); then
        echo "'postfix check' of $d failed (${out:-no output}); trying once more" >&2
        sleep 1
        if ! out=$("$@" postfix -c "$d" check 2>&1); then
            echo "the instance in $d refused its configuration: ${out:-no output} $(tail -n 3 "$d/maillog" 2>/dev/null)"
            return 1
        fi
    fi
    if ! ("$join" && exec "$@" postfix -c "$d" start) >>"$d/start.log" 2>&1; then
        echo "the instance in $d did not start: $(tail -n 3 "$d/start.log")"
        return 1
    fi
    for _ in $(seq 100); do
        "$@" python3 -c "import socket; socket.create_connection(('$ip', 25), 0.2)" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "the instance in $d does not listen on $ip:25 (see $d/maillog)"
    return 1
}

# postfix_master_stop DIR - stop the instance whose queue is DIR/queue (TERM to its
# master, KILL after 10 s; the caller sources lab/proc.bash); quiet when it is not running
postfix_master_stop() {
    local pid=""
    [[ -f "$1/queue/pid/master.pid" ]] && pid=$(tr -d ' ' <"$1/queue/pid/master.pid")
    [[ -z "$pid" ]] || stop_pid "$pid" # lab/proc.bash
}
