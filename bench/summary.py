#!/usr/bin/env python3
"""summary.py - turn a bench run's raw.csv into medians with min-max, ratios pair by pair
against the targets, and write results.csv and results.md next to it; print the table.
Usage: summary.py OUT_DIR   (OUT_DIR holds raw.csv and machine.json from bench/bench)"""
import csv
import json
import os
import statistics
import sys

out = sys.argv[1]
machine = json.load(open(os.path.join(out, "machine.json")))
raw = {}
units = {}
for r in csv.DictReader(open(os.path.join(out, "raw.csv"))):
    raw.setdefault(r["metric"], {})[int(r["rep"])] = float(r["value"])
    units[r["metric"]] = r["unit"]

# (metric, what it is)
METRICS = [
    ("tput_1_direct", "smtp-source -> smtp-sink, 1 msg/conn"),
    ("tput_1_proxy", "  through bin/proxy"),
    ("tput_1_proxy-budget", "  through bin/proxy --dest-limit 1000 (budget never reached)"),
    ("tput_1_haproxy", "  through HAProxy (TCP, 1 thread)"),
    ("tput_1_proxy-w2", "  through bin/proxy --workers 2"),
    ("tput_1_proxy-w2-budget", "  through bin/proxy --workers 2 --dest-limit 1000 (all to worker 0)"),
    ("tput_1_haproxy-t2", "  through HAProxy (TCP, nbthread 2)"),
    ("tput_1_postfix", "  through a Postfix relay (until delivered)"),
    ("tput_100_direct", "smtp-source -> smtp-sink, 100 msgs/conn"),
    ("tput_100_proxy", "  through bin/proxy"),
    ("tput_100_proxy-budget", "  through bin/proxy --dest-limit 1000 (budget never reached)"),
    ("tput_100_haproxy", "  through HAProxy (TCP, 1 thread)"),
    ("tput_100_proxy-w2", "  through bin/proxy --workers 2"),
    ("tput_100_proxy-w2-budget", "  through bin/proxy --workers 2 --dest-limit 1000 (all to worker 0)"),
    ("tput_100_haproxy-t2", "  through HAProxy (TCP, nbthread 2)"),
    ("tput_100_postfix", "  through a Postfix relay (until delivered)"),
    ("cpu_1_proxy", "proxy CPU per message, 1 msg/conn"),
    ("cpu_1_proxy-budget", "proxy --dest-limit 1000 CPU per message, 1 msg/conn"),
    ("cpu_1_haproxy", "HAProxy CPU per message, 1 msg/conn"),
    ("cpu_100_proxy", "proxy CPU per message, 100 msgs/conn"),
    ("cpu_100_haproxy", "HAProxy CPU per message, 100 msgs/conn"),
    ("cpu_1_proxy-w2", "proxy --workers 2 CPU per message, 1 msg/conn"),
    ("cpu_1_haproxy-t2", "HAProxy nbthread 2 CPU per message, 1 msg/conn"),
    ("rss_peak_proxy", "proxy peak RSS (20 sessions, all runs)"),
    ("idle_sessions", "idle sessions held through a fresh proxy"),
    ("idle_rss_base_proxy", "  its RSS before them"),
    ("idle_rss_proxy", "  its RSS with them"),
    ("idle_kib_per_session_proxy", "  RSS per idle session"),
    ("busy_sessions", "sessions at once, a message in flight in each"),
    ("busy_delivered", "  messages the MX recorded (each once)"),
    ("busy_kib_per_session_proxy", "  proxy RSS per busy session"),
    ("rtt_p50_direct", "NOOP round trip p50, direct"),
    ("rtt_p50_proxy", "  through bin/proxy"),
    ("rtt_p50_haproxy", "  through HAProxy"),
    ("rtt_p99_direct", "NOOP round trip p99, direct"),
    ("rtt_p99_proxy", "  through bin/proxy"),
    ("rtt_p99_haproxy", "  through HAProxy"),
    ("tput_proxy_plain", "mua -> proxy -> bin/mx, plain"),
    ("tput_proxy_tls", "mua -> proxy -> bin/mx, STARTTLS to the MX"),
    ("tput_1_smtp-sink", "smtp-source -> smtp-sink, 1 msg/conn"),
    ("tput_1_mx", "smtp-source -> bin/mx (recording), 1 msg/conn"),
    ("tput_100_smtp-source", "smtp-source -d -> smtp-sink, 100 msgs/conn"),
    ("tput_mua", "mua -> smtp-sink, 20 sessions"),
    ("collect_records", "bin/collect over mx records"),
]

# (name, numerator, denominator or None for an absolute figure, comparison, target)
RATIOS = [
    ("proxy / HAProxy, 1 msg/conn", "tput_1_proxy", "tput_1_haproxy", ">=", 1.0),
    ("proxy / direct, 1 msg/conn", "tput_1_proxy", "tput_1_direct", ">=", 0.45),
    ("proxy with a budget / proxy, 1 msg/conn", "tput_1_proxy-budget", "tput_1_proxy", ">=", 0.95),
    ("proxy with a budget / proxy, 100 msgs/conn", "tput_100_proxy-budget", "tput_100_proxy", ">=", 0.95),
    ("proxy with a budget / HAProxy, 1 msg/conn", "tput_1_proxy-budget", "tput_1_haproxy", ">=", 1.0),
    ("proxy / Postfix relay, 1 msg/conn", "tput_1_proxy", "tput_1_postfix", ">=", 5.0),
    ("proxy / HAProxy, 100 msgs/conn", "tput_100_proxy", "tput_100_haproxy", ">=", 1.0),
    ("proxy / direct, 100 msgs/conn", "tput_100_proxy", "tput_100_direct", ">=", 0.45),
    ("proxy / Postfix relay, 100 msgs/conn", "tput_100_proxy", "tput_100_postfix", ">=", 5.0),
    ("proxy --workers 2 / HAProxy nbthread 2, 1 msg/conn", "tput_1_proxy-w2", "tput_1_haproxy-t2", ">=", 1.0),
    ("proxy --workers 2 / HAProxy nbthread 2, 100 msgs/conn", "tput_100_proxy-w2", "tput_100_haproxy-t2", ">=", 1.0),
    ("proxy scaling, 2 workers / 1, 1 msg/conn", "tput_1_proxy-w2", "tput_1_proxy", "", None),
    ("proxy scaling, 2 workers / 1, 100 msgs/conn", "tput_100_proxy-w2", "tput_100_proxy", "", None),
    ("2 workers with a budget / 1 process with it, 1 msg/conn", "tput_1_proxy-w2-budget", "tput_1_proxy-budget", "", None),
    ("2 workers with a budget / 1 process with it, 100 msgs/conn", "tput_100_proxy-w2-budget", "tput_100_proxy-budget", "", None),
    ("HAProxy scaling, 2 threads / 1, 1 msg/conn", "tput_1_haproxy-t2", "tput_1_haproxy", "", None),
    ("HAProxy scaling, 2 threads / 1, 100 msgs/conn", "tput_100_haproxy-t2", "tput_100_haproxy", "", None),
    ("proxy CPU ms/msg, 1 msg/conn", "cpu_1_proxy", None, "<=", 0.1),
    ("proxy CPU ms/msg, 100 msgs/conn", "cpu_100_proxy", None, "<=", 0.1),
    ("proxy CPU / HAProxy CPU, 1 msg/conn", "cpu_1_proxy", "cpu_1_haproxy", "<=", 1.0),
    ("proxy CPU / HAProxy CPU, 100 msgs/conn", "cpu_100_proxy", "cpu_100_haproxy", "<=", 1.0),
    ("proxy peak RSS KiB, 20 sessions", "rss_peak_proxy", None, "<=", 8192),
    ("proxy KiB per idle session", "idle_kib_per_session_proxy", None, "<=", 32),
    ("proxy KiB per busy session", "busy_kib_per_session_proxy", None, "<=", 32),
    ("added round trip p50 us: proxy - direct", "rtt_p50_proxy", "-rtt_p50_direct", "", None),
    ("added round trip p99 us: proxy - direct", "rtt_p99_proxy", "-rtt_p99_direct", "", None),
    ("added round trip p50 us: HAProxy - direct", "rtt_p50_haproxy", "-rtt_p50_direct", "", None),
    ("STARTTLS / plain, through the proxy", "tput_proxy_tls", "tput_proxy_plain", "", None),
    ("mua / smtp-source -d (both reuse connections)", "tput_mua", "tput_100_smtp-source", ">=", 1.0),
    ("mua / smtp-source (its default, 1 msg/conn)", "tput_mua", "tput_1_smtp-sink", ">=", 1.0),
    ("bin/mx / smtp-sink", "tput_1_mx", "tput_1_smtp-sink", ">=", 1.0),
    ("collect records/s", "collect_records", None, ">=", 200000),
]


def stat(xs):
    xs = list(xs)
    return statistics.median(xs), min(xs), max(xs), len(xs)


def num(x):
    if x is None:
        return ""
    if abs(x) >= 100:
        return "%.0f" % x
    if abs(x) >= 1:
        return "%.2f" % x
    return "%.4f" % x


rows = []  # kind, name, unit, median, min, max, n, target, met
for m, what in METRICS:
    if m not in raw:
        continue
    med, lo, hi, n = stat(raw[m].values())
    rows.append(("metric", m, what, units[m], med, lo, hi, n, "", ""))
for name, a, b, cmp, target in RATIOS:
    if a not in raw or (b and b.lstrip("-") not in raw):
        continue
    if b is None:
        per = list(raw[a].values())
        unit = units[a]
    elif b.startswith("-"):  # a difference, rep by rep
        per = [raw[a][r] - raw[b[1:]][r] for r in raw[a] if r in raw[b[1:]]]
        unit = units[a]
    else:  # a ratio, rep by rep: the two were measured side by side
        per = [raw[a][r] / raw[b][r] for r in raw[a] if r in raw[b] and raw[b][r]]
        unit = "x"
    if not per:
        continue
    med, lo, hi, n = stat(per)
    met = ""
    if cmp:
        met = "yes" if (med >= target if cmp == ">=" else med <= target) else "NO"
    rows.append(("target" if cmp else "figure", name, name, unit, med, lo, hi, n,
                 "%s %s" % (cmp, num(target)) if cmp else "", met))

with open(os.path.join(out, "results.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["kind", "name", "what", "unit", "median", "min", "max", "n", "target", "met"])
    for r in rows:
        w.writerow([r[0], r[1], r[2], r[3], "%.6g" % r[4], "%.6g" % r[5], "%.6g" % r[6], r[7], r[8], r[9]])

md = ["# bench %s" % machine["started"], ""]
if machine["quick"]:
    md += ["**Quick mode**: one small repetition, to check that the bench runs; the figures mean little.", ""]
md += ["%d cores (%s), %d MiB, kernel %s, Debian %s; gcc %s, libev %s, %s, HAProxy %s, Postfix %s; "
       "fd limit %d; git %s; %d repetitions, peers alternated." % (
           machine["cores"], machine["cpu"], machine["memory_kib"] // 1024, machine["kernel"], machine["debian"],
           machine["gcc"], machine["libev"], machine["openssl"], machine["haproxy"], machine["postfix"],
           machine["fd_limit"], machine["git"], machine["reps"]), "",
       "## Measurements (median, min-max)", "", "| what | unit | median | min | max | n |", "|---|---|---|---|---|---|"]
for r in rows:
    if r[0] == "metric":
        md.append("| %s | %s | %s | %s | %s | %d |" % (r[2].strip(), r[3], num(r[4]), num(r[5]), num(r[6]), r[7]))
md += ["", "## Ratios and targets (per repetition, then median)", "",
       "| comparison | median | min | max | target | met |", "|---|---|---|---|---|---|"]
for r in rows:
    if r[0] != "metric":
        md.append("| %s | %s | %s | %s | %s | %s |" % (r[1], num(r[4]), num(r[5]), num(r[6]), r[8], r[9]))
open(os.path.join(out, "results.md"), "w").write("\n".join(md) + "\n")

print("%-48s %-10s %10s %10s %10s  %s" % ("", "unit", "median", "min", "max", "target"))
for r in rows:
    label = r[2] if r[0] == "metric" else r[1]
    tail = "%s %s" % (r[8], "" if not r[9] else ("(met)" if r[9] == "yes" else "(NOT MET)"))
    print("%-48s %-10s %10s %10s %10s  %s" % (label[:48], r[3], num(r[4]), num(r[5]), num(r[6]), tail.strip()))
print("bench: %s/{results.md,results.csv,raw.csv,machine.json}" % out)
