#!/usr/bin/env python3
"""probe.py - the bench's two socket probes, identical for every peer they measure.
  probe.py rtt HOST:PORT N        N sequential NOOP round trips on one SMTP session;
                                  prints p50 and p99 in microseconds
  probe.py idle HOST:PORT N PID   opens N SMTP sessions that stay idle after the
                                  greeting; prints N and PID's RSS (KiB) before and with them"""
import socket
import sys
import time


def addr(text):
    host, port = text.rsplit(":", 1)
    return host, int(port)


def reply(f):
    """read one SMTP reply (all its lines); return its code, or fail"""
    while True:
        line = f.readline()
        if len(line) < 4:
            sys.exit("probe: connection closed while waiting for a reply")
        if line[3:4] != b"-":
            return int(line[:3])


def rss_kib(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    sys.exit("probe: no VmRSS for pid %d" % pid)


def rtt(target, n):
    s = socket.create_connection(addr(target), 5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    f = s.makefile("rb")
    if reply(f) != 220:
        sys.exit("probe: %s did not greet with 220" % target)
    s.sendall(b"EHLO bench.test\r\n")
    reply(f)
    times = []
    for _ in range(n):
        t = time.perf_counter_ns()
        s.sendall(b"NOOP\r\n")
        if reply(f) != 250:
            sys.exit("probe: NOOP refused by %s" % target)
        times.append((time.perf_counter_ns() - t) / 1000.0)
    s.sendall(b"QUIT\r\n")
    times.sort()
    print("%.1f %.1f" % (times[max(1, -(-50 * n // 100)) - 1], times[max(1, -(-99 * n // 100)) - 1]))


def idle(target, n, pid):
    before = rss_kib(pid)
    socks = []
    for i in range(n):
        s = socket.create_connection(addr(target), 10)
        socks.append(s)
    for i, s in enumerate(socks):  # every session relayed: its greeting came through
        f = s.makefile("rb")
        if reply(f) != 220:
            sys.exit("probe: session %d of %d got no 220 greeting" % (i + 1, n))
    time.sleep(0.5)
    print("%d %d %d" % (n, before, rss_kib(pid)))
    for s in socks:
        s.close()


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "rtt":
        rtt(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) == 5 and sys.argv[1] == "idle":
        idle(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        sys.exit(__doc__)
