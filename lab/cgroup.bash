# shellcheck shell=bash
# cgroup.bash - the group that accounts the aggregation server's processes, on cgroup v1
# (this lab's machine) or v2 (a stock Debian 12 host), and the 1 s sampler that reads it.
# Sourced by lab/lab (the lab) and lab/node (a real host): one sampler for both.

CG_V1=(cpuacct blkio memory pids)

# cg_v2 - true when the unified hierarchy (cgroup v2) is mounted at /sys/fs/cgroup
cg_v2() { [[ -f /sys/fs/cgroup/cgroup.controllers ]]; }

# cg_make NAME DEV - create the group (v1: in every controller the sampler reads; DEV is
# the disk's major:minor, which v1 blkio counts only with a throttle rule that never limits)
cg_make() {
    local c
    if cg_v2; then
        mkdir -p "/sys/fs/cgroup/$1"
        return 0
    fi
    for c in "${CG_V1[@]}"; do mkdir -p "/sys/fs/cgroup/$c/$1"; done
    [[ -z "$2" ]] || echo "$2 100000000000" >"/sys/fs/cgroup/blkio/$1/blkio.throttle.write_bps_device" 2>/dev/null || true
}

# cg_join NAME - move this shell ($BASHPID) into the group; its children inherit it
cg_join() {
    local c
    if cg_v2; then
        echo "$BASHPID" >"/sys/fs/cgroup/$1/cgroup.procs"
        return 0
    fi
    for c in "${CG_V1[@]}"; do echo "$BASHPID" >"/sys/fs/cgroup/$c/$1/cgroup.procs"; done
}

# cg_remove NAME - remove the group (it must be empty); quiet when it does not exist
cg_remove() {
    local c
    if cg_v2; then
        rmdir "/sys/fs/cgroup/$1" 2>/dev/null || true
        return 0
    fi
    for c in "${CG_V1[@]}"; do
        if [[ -d "/sys/fs/cgroup/$c/$1" ]]; then rmdir "/sys/fs/cgroup/$c/$1" 2>/dev/null || true; fi
    done
}

# cg_procs NAME - the pids in the group, one per line
cg_procs() {
    if cg_v2; then cat "/sys/fs/cgroup/$1/cgroup.procs" 2>/dev/null; else cat "/sys/fs/cgroup/pids/$1/cgroup.procs" 2>/dev/null; fi
}

# cg_cpu NAME - CPU seconds the group used so far
cg_cpu() {
    if cg_v2; then
        awk '$1 == "usage_usec" {printf "%.3f", $2 / 1e6; found = 1} END {if (!found) print 0}' "/sys/fs/cgroup/$1/cpu.stat" 2>/dev/null || echo 0
    else
        awk '{printf "%.3f", $1 / 1e9}' "/sys/fs/cgroup/cpuacct/$1/cpuacct.usage" 2>/dev/null || echo 0
    fi
}

# cg_blkio_write NAME DEV - bytes the block layer wrote for the group on DEV (v1: only
# writes done in the processes' own context; v2: io.stat's wbytes)
cg_blkio_write() {
    if cg_v2; then
        awk -v d="$2" '$1 == d {for (i = 2; i <= NF; i++) if ($i ~ /^wbytes=/) {sub(/wbytes=/, "", $i); print $i}}' \
            "/sys/fs/cgroup/$1/io.stat" 2>/dev/null | head -n 1
    else
        awk -v d="$2" '$1 == d && $2 == "Write" {print $3}' "/sys/fs/cgroup/blkio/$1/blkio.throttle.io_service_bytes" 2>/dev/null | head -n 1
    fi
}

# disk_of_root [NAME] - the block device the root file system is on (NAME when given)
disk_of_root() {
    if [[ -n "${1:-}" ]]; then echo "$1"; return; fi
    local src
    src=$(findmnt -no SOURCE / 2>/dev/null || true)
    src=$(basename "${src:-/dev/vda}")
    # a partition (sda1, nvme0n1p1) is counted on its disk
    if [[ -e "/sys/class/block/$src/partition" ]]; then basename "$(dirname "$(readlink -f "/sys/class/block/$src")")"; else echo "$src"; fi
}

# sample_loop OUT INTERVAL CGROUP INSTANCES DISK - every INTERVAL seconds, a line of OUT:
# the group's CPU, its block-layer writes, what its processes caused to be written
# (/proc/PID/io, buffered writes included), their RSS and PSS, the disk's sectors, and
# the queue of every Postfix instance listed in INSTANCES ("NAME DIR" lines)
sample_loop() {
    local out=$1 interval=$2 g=$3 instances=$4 disk=$5
    local dev names=() dirs=() n d
    dev=$(cat "/sys/block/$disk/dev" 2>/dev/null || true)
    if [[ -f "$instances" ]]; then
        while read -r n d; do names+=("$n"); dirs+=("$d"); done <"$instances"
    fi
    {
        printf 't_us,cpu_s,blkio_write_bytes,proc_write_bytes,rss_kb,disk_write_bytes,pss_kb'
        for n in "${names[@]}"; do printf ',%s_incoming,%s_active,%s_deferred' "$n" "$n" "$n"; done
        printf '\n'
    } >"$out"
    # a few processes per sample whatever the number of Postfix processes: the relay runs
    # a hundred, and a fork per process would stretch a 1 s interval to several
    local qdirs=()
    for d in "${dirs[@]}"; do qdirs+=("$d/queue/incoming" "$d/queue/active" "$d/queue/deferred"); done
    while :; do
        local cpu blk pw rss pss sectors pid files counts line
        cpu=$(cg_cpu "$g")
        blk=$(cg_blkio_write "$g" "$dev")
        files=()
        while read -r pid; do
            files+=("/proc/$pid/io" "/proc/$pid/status" "/proc/$pid/smaps_rollup")
        done < <(cg_procs "$g")
        # write_bytes: what each process caused to be written, buffered writes included
        # (cgroup v1 blkio misses those); Pss: shared pages split between their users
        read -r pw rss pss < <(cat "${files[@]}" /dev/null 2>/dev/null |
            awk '/^write_bytes/ {w += $2} /^cancelled_write_bytes/ {c += $2} /^VmRSS/ {r += $2} /^Pss:/ {p += $2}
                 END {print w - c, r + 0, p + 0}')
        sectors=$(awk '{printf "%.0f", $7 * 512}' "/sys/block/$disk/stat" 2>/dev/null || echo 0)
        counts=""
        if [[ ${#qdirs[@]} -gt 0 ]]; then
            counts=$(find "${qdirs[@]}" -type f -printf '%H\n' 2>/dev/null |
                awk -v dirs="$(printf '%s\n' "${qdirs[@]}")" 'BEGIN {n = split(dirs, q, "\n")} {c[$0]++}
                    END {for (i = 1; i <= n; i++) printf ",%d", c[q[i]]}')
        fi
        # one write per line: a sampler stopped between two lines leaves no half line
        line=$(printf '%s,%s,%s,%s,%s,%s,%s%s' "$(date +%s%6N)" "$cpu" "${blk:-0}" "${pw:-0}" "${rss:-0}" \
            "$sectors" "${pss:-0}" "$counts")
        echo "$line" >>"$out"
        sleep "$interval"
    done
}
