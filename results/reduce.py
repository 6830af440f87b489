#!/usr/bin/env python3
"""reduce.py - the statistics the report and the figures share, written once: the
nearest-rank percentile (as lib/stats.c) and Jain's fairness index, also over time
windows of collect's timeseries.csv for results/plot.

  reduce.py fairness TIMESERIES_CSV WINDOW_S   "start,index" per window (Jain's index
                                               of per-group arrivals in the window)
  reduce.py windows MUA_CSV MESSAGES_CSV WINDOW_S
                        "start,tenant,delivered,demand" per window and tenant
  reduce.py demand-fairness MUA_CSV MESSAGES_CSV WINDOW_S
                        "start,index,tenants" per window in which more than one tenant
                        had mail pending: Jain's index of each tenant's deliveries over
                        its max-min fair share of what was delivered, given its demand"""
import csv
import math
import sys


def nearest_rank(sorted_xs, p):
    """the p-th percentile by nearest rank (as lib/stats.c): always an observed value"""
    if not sorted_xs:
        return float("nan")
    return sorted_xs[max(1, math.ceil(p / 100.0 * len(sorted_xs))) - 1]


def jain(xs):
    """Jain's fairness index (sum x)^2 / (n sum x^2): 1 when every share is equal"""
    s, q = sum(xs), sum(x * x for x in xs)
    return s * s / (len(xs) * q) if q else float("nan")


def windowed_fairness(timeseries_path, window):
    """(window start, Jain's index) of per-group arrivals for each window with arrivals;
    the groups are every group that ever received (a silent group counts as 0)"""
    per = {}
    groups = set()
    last = 0
    for r in csv.DictReader(open(timeseries_path)):
        if r["group"] == "-":
            continue
        k = int(float(r["bin_start_s"]) // window)
        per[(k, r["group"])] = per.get((k, r["group"]), 0) + int(r["received"])
        groups.add(r["group"])
        last = max(last, k)
    out = []
    for k in range(last + 1):
        xs = [per.get((k, g), 0) for g in groups]
        if any(xs):
            out.append((k * window, jain(xs)))
    return out


def windows(mua_path, messages_path, window):
    """per window k from the first accepted submission: {tenant: (delivered in the window,
    demand = submitted before the window's end - delivered before its start)}, as a list;
    a message delivered twice counts at its first arrival"""
    subs, first = {}, {}
    for r in csv.DictReader(open(mua_path)):
        if r["code"].startswith("2"):
            subs.setdefault(r["tenant"], []).append(int(r["start_us"]))
    for r in csv.DictReader(open(messages_path)):
        if r["tenant"] != "-" and r["arrival_us"]:
            a = int(r["arrival_us"])
            k = (r["tenant"], r["message_id"])
            first[k] = min(first.get(k, a), a)
    if not subs:
        return []
    t0 = min(min(x) for x in subs.values())
    arr = {}
    for (tenant, _), a in first.items():
        arr.setdefault(tenant, []).append(a)
    last = max([max(x) for x in subs.values()] + [max(x) for x in arr.values()] if arr else [t0])
    w = int(window * 1e6)
    out = []
    for k in range(int((last - t0) // w) + 1):
        a, b = t0 + k * w, t0 + (k + 1) * w
        row = {}
        for t in sorted(subs):
            got = arr.get(t, [])
            row[t] = (sum(1 for x in got if a <= x < b),
                      sum(1 for x in subs[t] if x < b) - sum(1 for x in got if x < a))
        out.append(row)
    return out


def maxmin_shares(demands, total):
    """max-min fair split of total among demands (water-filling): nobody gets more than
    it wants, the rest is shared equally"""
    shares = {t: 0.0 for t in demands}
    left, open_ = float(total), sorted((d, t) for t, d in demands.items() if d > 0)
    while open_ and left > 1e-9:
        each = left / len(open_)
        d, t = open_[0]
        if d - shares[t] <= each:
            give = d - shares[t]
            for _, u in open_:
                shares[u] += give
            left -= give * len(open_)
            open_ = [(d2, u) for d2, u in open_ if d2 - shares[u] > 1e-9]
        else:
            for _, u in open_:
                shares[u] += each
            left = 0
    return shares


def demand_fairness(mua_path, messages_path, window):
    """(start, index, tenants pending) for each window in which more than one tenant had
    mail pending and something was delivered"""
    out = []
    for k, row in enumerate(windows(mua_path, messages_path, window)):
        demand = {t: max(d, 0) for t, (_, d) in row.items()}
        pending = [t for t in demand if demand[t] > 0]
        total = sum(x for x, _ in row.values())
        if len(pending) < 2 or total == 0:
            continue
        fair = maxmin_shares(demand, total)
        out.append((k * window, jain([row[t][0] / fair[t] for t in pending if fair[t] > 0]), len(pending)))
    return out


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "fairness":
        for start, j in windowed_fairness(sys.argv[2], float(sys.argv[3])):
            print("%d,%f" % (start, j))
    elif len(sys.argv) == 5 and sys.argv[1] == "windows":
        for k, row in enumerate(windows(sys.argv[2], sys.argv[3], float(sys.argv[4]))):
            for t, (x, d) in row.items():
                print("%g,%s,%d,%d" % (k * float(sys.argv[4]), t, x, d))
    elif len(sys.argv) == 5 and sys.argv[1] == "demand-fairness":
        for start, j, n in demand_fairness(sys.argv[2], sys.argv[3], float(sys.argv[4])):
            print("%g,%f,%d" % (start, j, n))
    else:
        sys.exit(__doc__)
