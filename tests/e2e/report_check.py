#!/usr/bin/env python3
"""report_check.py - recompute a run's report.md numbers from its CSVs, independently of
results/report.py and of collect, and print every cell that differs. Exit 0 when all agree.
Usage: report_check.py RUN_DIR"""
import csv
import math
import os
import re
import sys

run = sys.argv[1]
LABEL = {"postfix": "Postfix relay", "proxy": "proxy", "proxy-fair": "proxy-fair"}
VARIANT = {v: k for k, v in LABEL.items()}
problems = []
checked = 0


def rows(*path):
    with open(os.path.join(run, *path), newline="") as f:
        return list(csv.DictReader(f))


def rank(xs, p):
    """nearest-rank percentile of a sorted list"""
    return xs[max(1, math.ceil(p / 100.0 * len(xs))) - 1]


def tables(md):
    """{heading: [row cells, ...]} for every markdown table, header and rule skipped"""
    out, head, body = {}, None, []
    for line in md.splitlines():
        if line.startswith("## "):
            head = line[3:]
            body = out.setdefault(head, [])
        elif line.startswith("|") and head is not None:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if all(re.fullmatch(r"-+", c) for c in cells):
                continue
            body.append(cells)
    return {h: b[1:] for h, b in out.items() if b}


def same(where, shown, want):
    """compare a report cell with the recomputed value (3 decimals, or '> run' for censored)"""
    global checked
    checked += 1
    if want is None or (isinstance(want, float) and math.isinf(want)):
        ok = shown == "> run"
    elif isinstance(want, (int, str)):
        ok = shown == str(want)
    else:
        try:
            ok = abs(float(shown) - want) <= 0.0005 + 1e-9 * abs(want)
        except ValueError:
            ok = False
    if not ok:
        problems.append("%s: report says %r, the CSVs give %r" % (where, shown, want))


md = open(os.path.join(run, "report.md")).read()
tab = tables(md)
variants = [v for v in ("postfix", "proxy", "proxy-fair") if os.path.exists(os.path.join(run, v, "mua.csv"))]
data = {}
for v in variants:
    subs = {}
    for r in rows(v, "mua.csv"):
        if r["code"].startswith("2"):
            subs[(r["run"], r["tenant"], r["round"], r["seq"])] = {"tenant": r["tenant"], "start": int(r["start_us"]), "arr": []}
    msgs = [m for m in rows(v, "collect", "messages.csv") if m["tenant"] != "-"]
    for m in msgs:
        # the Message-ID is <RUN.TENANT.ROUND.SEQ@host>
        run_id, tenant, rnd, seq = m["message_id"].strip("<>").split("@")[0].split(".")
        s = subs.get((run_id, tenant, rnd, seq))
        if s is not None and m["arrival_us"]:
            s["arr"].append(int(m["arrival_us"]))
    data[v] = (subs, msgs)

# per tenant: every submitted message, undelivered ones censored
key = [h for h in tab if h.startswith("Per tenant")][0]
within = float(re.search(r"within (\d+(?:\.\d+)?)s", md).group(1))
for cells in tab[key]:
    tenant, v = cells[0], VARIANT[cells[1]]
    subs = [s for s in data[v][0].values() if s["tenant"] == tenant]
    e2e = sorted((min(s["arr"]) - s["start"]) / 1e6 if s["arr"] else math.inf for s in subs)
    where = "per tenant %s %s" % (tenant, v)
    same(where + " submitted", cells[2], len(subs))
    same(where + " delivered", cells[3], sum(1 for s in subs if s["arr"]))
    same(where + " within", cells[4], sum(1 for x in e2e if x <= within))
    for i, p in enumerate((50, 90, 99, 100)):
        same(where + " p%d" % p, cells[5 + i], rank(e2e, p))

# relay latency of delivered mail, per MSA and per MX
for cells in tab["Relay latency of delivered mail, per MSA and per MX (s)"]:
    group, v = cells[0], VARIANT[cells[1]]
    xs = sorted(float(m["relay_latency_s"]) for m in data[v][1]
                if (m["tenant"] == group or m["mx"] == group) and m["relay_latency_s"])
    where = "relay latency %s %s" % (group, v)
    same(where + " count", cells[2], len(xs))
    same(where + " mean", cells[3], sum(xs) / len(xs))
    for i, p in enumerate((50, 90, 99, 100)):
        same(where + " p%d" % p, cells[4 + i], rank(xs, p))

# per variant: what the CSVs alone determine
per = {cells[0]: dict(zip(variants, cells[1:])) for cells in tab["Per variant"]}
for v in variants:
    subs, msgs = data[v]
    same("%s submitted" % v, per["submitted"][v], len(subs))
    same("%s delivered" % v, per["delivered"][v], sum(1 for s in subs.values() if s["arr"]))
    same("%s duplicates" % v, per["duplicates"][v], sum(max(len(s["arr"]) - 1, 0) for s in subs.values()))
    lost = len(subs) - sum(1 for s in subs.values() if s["arr"]) - int(per["still queued"][v]) - int(per["bounced or expired"][v])
    same("%s lost" % v, per["lost"][v], lost)
    last = max(int(m["arrival_us"]) for m in msgs if m["arrival_us"])
    same("%s span" % v, per["first submission to last arrival (s)"][v], (last - min(s["start"] for s in subs.values())) / 1e6)
    smp = [r for r in rows(v, "sampler.csv") if None not in r.values()]  # a row cut short is no sample
    disk = int(smp[-1]["proc_write_bytes"]) - int(smp[0]["proc_write_bytes"])
    same("%s bytes written per message" % v, per["agg bytes written per submitted message"][v], round(disk / len(subs)))
    cpu = float(smp[-1]["cpu_s"]) - float(smp[0]["cpu_s"])
    same("%s CPU per 1,000" % v, per["agg CPU seconds per 1,000 submitted messages"][v], 1000 * cpu / len(subs))
    same("%s peak memory" % v, per["agg peak memory (KiB)"][v],
         max(int(r["pss_kb"] if "pss_kb" in r else r["rss_kb"]) for r in smp))
    if "disk" not in data:
        data["disk"] = {}
    data["disk"][v] = disk / len(subs)

# fairness in 10 s windows: recomputed here from the submissions and first arrivals
def fair_split(demand, total):
    """max-min split by repeated equal shares, capped by demand (not reduce.py's loop)"""
    share = dict.fromkeys(demand, 0.0)
    left = float(total)
    for _ in range(len(demand) + 1):
        want = [t for t in demand if demand[t] - share[t] > 1e-9]
        if not want or left <= 1e-9:
            break
        each = left / len(want)
        for t in want:
            g = min(each, demand[t] - share[t])
            share[t] += g
            left -= g
    return share


def deferred_lines(v, prefix):
    d = os.path.join(run, v, "logs")
    return sum(sum(1 for ln in open(os.path.join(d, f), errors="replace") if "status=deferred" in ln)
               for f in (os.listdir(d) if os.path.isdir(d) else [])
               if f.startswith("postfix-" + prefix) and f.endswith(".maillog"))


key = [h for h in tab if h.startswith("Fairness at the destination")]
for cells in tab[key[0]] if key else []:
    v = VARIANT[cells[0]]
    subs = list(data[v][0].values())
    t0 = min(s["start"] for s in subs)
    tenants = sorted({s["tenant"] for s in subs})
    last = max([s["start"] for s in subs] + [min(s["arr"]) for s in subs if s["arr"]])
    idx = []
    for k in range(int((last - t0) // 10_000_000) + 1):
        a, b = t0 + k * 10_000_000, t0 + (k + 1) * 10_000_000
        x = {t: sum(1 for s in subs if s["tenant"] == t and s["arr"] and a <= min(s["arr"]) < b) for t in tenants}
        d = {t: sum(1 for s in subs if s["tenant"] == t and s["start"] < b)
             - sum(1 for s in subs if s["tenant"] == t and s["arr"] and min(s["arr"]) < a) for t in tenants}
        pend = [t for t in tenants if d[t] > 0]
        if len(pend) < 2 or sum(x.values()) == 0:
            continue
        f = fair_split({t: d[t] for t in pend}, sum(x.values()))
        r = [x[t] / f[t] for t in pend if f[t] > 0]
        idx.append(sum(r) ** 2 / (len(r) * sum(q * q for q in r)) if any(r) else float("nan"))
    where = "fairness %s" % v
    same(where + " windows", cells[1], len(idx))
    if idx:
        same(where + " mean", cells[2], sum(idx) / len(idx))
        same(where + " lowest", cells[3], min(idx))
    same(where + " MSA deferrals", cells[4], deferred_lines(v, "msa"))
    same(where + " relay deferrals", cells[5], deferred_lines(v, "agg"))
    for i, t in enumerate(tenants):
        mine = [s for s in subs if s["tenant"] == t]
        end = max(min(s["arr"]) for s in mine if s["arr"]) if all(s["arr"] for s in mine) else None
        same(where + " completion " + t, cells[6 + i], None if end is None else (end - t0) / 1e6)

# receive times per MSA: first arrivals after the first accepted submission
key = [h for h in tab if h.startswith("Receive times at the MXs")]
for cells in tab[key[0]] if key else []:
    t, v = cells[0], VARIANT[cells[1]]
    subs = list(data[v][0].values())
    t0 = min(s["start"] for s in subs)
    mine = [s for s in subs if s["tenant"] == t]
    xs = sorted((min(s["arr"]) - t0) / 1e6 for s in mine if s["arr"])
    where = "receive %s %s" % (t, v)
    same(where + " arrived", cells[2], "%d/%d" % (len(xs), len(mine)))
    for i, pc in enumerate((10, 50, 90)):
        if xs:
            same("%s p%d" % (where, pc), cells[3 + i], rank(xs, pc))
    if xs:
        same(where + " last", cells[6], xs[-1])

# the verdict lines' numbers
m = re.search(r"Bytes written per message: relay (\d+), proxy (\d+)\.", md)
if m and "disk" in data:
    same("verdict disk relay", m.group(1), round(data["disk"]["postfix"]))
    same("verdict disk proxy", m.group(2), round(data["disk"]["proxy"]))
m = re.search(r"Share of (\S+) mail delivered within \d+ s: relay (\d+)%, proxy (\d+)%", md)
if m:
    tenants = m.group(1).split("+")
    for v, shown in (("postfix", m.group(2)), ("proxy", m.group(3))):
        subs = [s for s in data[v][0].values() if s["tenant"] in tenants]
        ok = sum(1 for s in subs if s["arr"] and (min(s["arr"]) - s["start"]) / 1e6 <= within)
        same("verdict share %s" % v, shown, round(100 * ok / len(subs)))

for p in problems:
    print("report_check: " + p)
print("report_check: %d numbers checked, %d differ" % (checked, len(problems)))
sys.exit(1 if problems or checked == 0 else 0)
