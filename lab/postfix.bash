# shellcheck shell=bash
# postfix.bash - one private Postfix instance's configuration: its own queue, data and
# log, no local delivery, no DNS. Sourced by lab/lab (namespaced instances) and bench/bench.

# postfix_instance_conf DIR NAME LISTEN_IP COMMENT [QUEUE] - write DIR/main.cf and
# DIR/master.cf for an instance called NAME listening on LISTEN_IP (smtpd on port 25
# unless the caller changes master.cf); data in DIR/data, log in DIR/maillog, queue in
# DIR/queue, or in QUEUE with DIR/queue a symbolic link to it: Postfix's sockets live in
# the queue, and a socket path may not exceed 107 bytes (a run directory can be deep).
postfix_instance_conf() {
    local d=$1 name=$2 ip=$3 comment=$4 q=${5:-$1/queue}
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
mynetworks = 198.18.0.0/15, 127.0.0.0/8
maillog_file = $d/maillog
maillog_file_prefixes = $d
biff = no
smtpd_banner = \$myhostname ESMTP
CF
    postconf -c "$d" -F '*/*/chroot = n' >/dev/null
}
