#!/usr/bin/env python3
"""probe.py - the bench's two socket probes, identical for every peer they measure.
  probe.py rtt HOST:PORT N        N sequential NOOP round trips on one SMTP session;
                                  prints p50 and p99 in microseconds
  probe.py idle HOST:PORT N PID   opens N SMTP sessions that stay idle after the
                                  greeting; prints N and PID's RSS (KiB) before and with them
  probe.py busy HOST:PORT N PID   opens N SMTP sessions at once and sends one message in
                                  each while all are open; prints N, the messages that got
                                  250, and PID's RSS (KiB) before and at the peak"""
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


def busy(target, n, pid):
    """N concurrent sessions, each MAIL, RCPT, DATA and a message, all in flight at once."""
    before = rss_kib(pid)
    socks = [socket.create_connection(addr(target), 30) for _ in range(n)]
    files = [s.makefile("rb") for s in socks]
    for i, f in enumerate(files):
        if reply(f) != 220:
            sys.exit("probe: session %d of %d got no 220 greeting" % (i + 1, n))
    for s in socks:
        s.sendall(b"EHLO bench.test\r\n")
    for f in files:
        reply(f)
    for i, s in enumerate(socks):
        s.sendall(b"MAIL FROM:<a@msa1.test>\r\nRCPT TO:<u@mx1.test>\r\nDATA\r\n")
    for i, f in enumerate(files):
        if (reply(f), reply(f), reply(f)) != (250, 250, 354):
            sys.exit("probe: session %d of %d: MAIL, RCPT or DATA refused" % (i + 1, n))
    peak = rss_kib(pid)  # every session open, every message in flight
    for i, s in enumerate(socks):
        s.sendall(b"Message-ID: <busy.%d@bench.test>\r\nSubject: busy\r\n\r\n%s\r\n.\r\n" % (i, b"x" * 800))
    ok = sum(1 for f in files if reply(f) == 250)
    for s in socks:
        s.sendall(b"QUIT\r\n")
    for s in socks:
        s.close()
    print("%d %d %d %d" % (n, ok, before, peak))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "rtt":
        rtt(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) == 5 and sys.argv[1] == "idle":
        idle(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif len(sys.argv) == 5 and sys.argv[1] == "busy":
        busy(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        sys.exit(__doc__)
