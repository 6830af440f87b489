#!/usr/bin/env bash
# deps.sh - install the Debian packages the harness needs, only those missing.
# Called by make before every build, test and scenario; non-interactive; needs root
# only when something is missing (otherwise prints the exact apt-get line to run).
set -euo pipefail

build_pkgs=(build-essential libev-dev libssl-dev libcurl4-openssl-dev libcmocka-dev pkg-config
            clang libclang-rt-14-dev openssl shellcheck valgrind)
run_pkgs=(postfix gnuplot-nox iproute2 nftables iptables swaks haproxy procps psmisc
          ca-certificates python3 curl chromium ansible openssh-client openssh-server)

missing=()
for p in "${build_pkgs[@]}" "${run_pkgs[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

line="apt-get install -y --no-install-recommends ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
    echo "deps: missing Debian packages: ${missing[*]}" >&2
    echo "deps: as root, run:" >&2
    echo "  echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections" >&2
    echo "  apt-get update && DEBIAN_FRONTEND=noninteractive $line" >&2
    exit 1
fi

echo "deps: installing ${missing[*]}" >&2
# No package may start a system service (sshd, haproxy, a Postfix on port 25): the tests
# start their own. A policy-rc.d of the machine's own is left as it is.
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\n# written by the harness'"'"'s tools/deps.sh while it installs packages\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
# Postfix must install unconfigured: no main.cf written, no system instance started;
# every instance the lab runs has its own configuration directory.
echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/deps-apt.$$.log 2>&1; then
    apt-get update -q >/dev/null 2>&1 || true
    if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/deps-apt.$$.log 2>&1; then
        echo "deps: '$line' failed; its output:" >&2
        tail -n 20 /tmp/deps-apt.$$.log >&2
        rm -f /tmp/deps-apt.$$.log
        exit 1
    fi
fi
rm -f /tmp/deps-apt.$$.log
# A distribution Postfix started by the package would hold port 25 and a queue of its own.
if [[ -f /var/spool/postfix/pid/master.pid ]] && pid=$(tr -d ' ' </var/spool/postfix/pid/master.pid) &&
   [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && [[ ! -f /etc/postfix/main.cf ]]; then
    postfix stop >/dev/null 2>&1 || true
fi
echo "deps: done" >&2
