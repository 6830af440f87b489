#!/usr/bin/env python3
"""fair.py - clients for tests/e2e/fair.sh: groups of SMTP clients, each group from its
own loopback address (a tenant), through bin/proxy to one MX that limits connections.

  fair.py groups PORT SPEC...   SPEC = ADDR:COUNT:MESSAGES[:HOLD_S]; every client connects
                                at once, group after group, reads the greeting (noting
                                when), holds HOLD_S seconds, sends MESSAGES messages
                                (RSET between) and quits. Prints one JSON line per client.
  fair.py holder PORT ADDR SECONDS [idle]  one client that takes a slot for SECONDS: in a
                                message, or idle between messages
  fair.py leaver PORT ADDR           connect and close without a word
"""
import json
import socket
import sys
import threading
import time


def line(f):
    """one reply, multi-line joined; '' at EOF"""
    out = []
    while True:
        ln = f.readline()
        if not ln:
            return "".join(out)
        out.append(ln.decode("utf-8", "replace"))
        if len(ln) < 4 or ln[3:4] != b"-":
            return "".join(out)


def client(port, addr, name, messages, hold, t0, results):
    """one client; a 421 to its RSET (the proxy taking the connection back) makes it
    reconnect for the rest of its messages, as Postfix does with a cached connection"""
    r = {"client": name, "group": addr, "greeting": None, "t_greeting": None, "replies": [],
         "connections": 0, "yielded": 0, "delivered": 0}
    sent = 0
    try:
        while sent < messages or r["connections"] == 0:
            s = socket.socket()
            s.bind((addr, 0))
            s.settimeout(60)
            s.connect(("127.0.0.1", port))
            r["connections"] += 1
            f = s.makefile("rb")
            g = line(f)
            if r["greeting"] is None:
                r["greeting"] = g[:3]
                r["t_greeting"] = round(time.time() - t0, 3)
            if not g.startswith("220"):
                r["greeting"] = g[:3]
                break
            time.sleep(hold)

            def cmd(c):
                s.sendall(c.encode() + b"\r\n")
                rep = line(f)
                r["replies"].append(rep[:3])
                return rep

            cmd("EHLO " + name + ".test")
            first = True
            while sent < messages:
                if not first and not cmd("RSET").startswith("250"):
                    r["yielded"] += 1
                    break
                first = False
                cmd("MAIL FROM:<%s@test>" % name)
                cmd("RCPT TO:<u@mx1.test>")
                if cmd("DATA").startswith("354"):
                    s.sendall(("Message-ID: <%s.%d@test>\r\n\r\nhello\r\n.\r\n" % (name, sent)).encode())
                    rep = line(f)[:3]
                    r["replies"].append(rep)
                    r["delivered"] += rep == "250"
                sent += 1
            else:
                try:
                    cmd("QUIT")
                except OSError:
                    pass
            s.close()
    except OSError as e:
        r["error"] = str(e)
    results.append(r)


def groups(port, specs):
    t0 = time.time()
    results, threads = [], []
    for spec in specs:
        parts = spec.split(":")
        addr, count, msgs = parts[0], int(parts[1]), int(parts[2])
        hold = float(parts[3]) if len(parts) > 3 else 0
        for i in range(count):
            name = "g%s_%d" % (addr.split(".")[-1], i)
            t = threading.Thread(target=client, args=(port, addr, name, msgs, hold, t0, results))
            t.start()
            threads.append(t)
            time.sleep(0.005)  # arrival order: group after group
    for t in threads:
        t.join(120)
    for r in results:
        print(json.dumps(r))


def holder(port, addr, seconds, idle):
    """take a slot and keep it SECONDS: inside a message (DATA, the body slowly), or
    idle between messages after one (idle=1); print the replies"""
    s = socket.socket()
    s.bind((addr, 0))
    s.connect(("127.0.0.1", port))
    f = s.makefile("rb")
    r = {"greeting": line(f)[:3], "replies": []}
    for c in ["EHLO holder.test", "MAIL FROM:<h@test>", "RCPT TO:<u@mx1.test>", "DATA"]:
        s.sendall(c.encode() + b"\r\n")
        r["replies"].append(line(f)[:3])
    if idle:
        s.sendall(b"Message-ID: <holder.idle@test>\r\n\r\nx\r\n.\r\n")
        r["replies"].append(line(f)[:3])
        time.sleep(seconds)
        try:
            s.sendall(b"RSET\r\n")
            r["replies"].append(line(f)[:3])
        except OSError:
            r["replies"].append("error")
    else:
        s.sendall(b"Message-ID: <holder.slow@test>\r\n\r\n")
        t_end = time.time() + seconds
        while time.time() < t_end:
            s.sendall(b"x\r\n")
            time.sleep(0.1)
        s.sendall(b".\r\n")
        r["replies"].append(line(f)[:3])
    print(json.dumps(r), flush=True)
    s.close()


def leaver(port, addr):
    s = socket.socket()
    s.bind((addr, 0))
    s.connect(("127.0.0.1", port))
    time.sleep(0.3)
    s.close()


if __name__ == "__main__":
    mode, port = sys.argv[1], int(sys.argv[2])
    if mode == "groups":
        groups(port, sys.argv[3:])
    elif mode == "holder":
        holder(port, sys.argv[3], float(sys.argv[4]), len(sys.argv) > 5 and sys.argv[5] == "idle")
    elif mode == "leaver":
        leaver(port, sys.argv[3])
    else:
        sys.exit("fair.py: unknown mode " + mode)
