"""reduce.py - a run's data and the statistics on it, written once for the report, the
figures and the pages: one loader (every CSV read once, columns by name), the
nearest-rank percentile (as lib/stats.c), Jain's fairness index, first arrivals, time
windows and fairness by demand. A module: report.py and figures.py import it."""
import csv
import json
import math
import os

VARIANTS = ("postfix", "proxy", "proxy-fair")  # in the order every table and figure shows them
LABEL = {"postfix": "Postfix relay", "proxy": "proxy", "proxy-fair": "proxy-fair"}


def rows(path):
    """a CSV file's rows as dicts (columns by name); [] when it does not exist"""
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


class Run:
    """one run directory (results/runs/SCENARIO/TIME): its meta.json, the variants that
    collected, and each variant's CSVs, each read once on first use"""

    def __init__(self, path):
        self.path = path
        self.meta = json.load(open(os.path.join(path, "meta.json")))
        self.params = self.meta.get("params", {})
        self.variants = [v for v in VARIANTS if os.path.exists(os.path.join(path, v, "collect", "messages.csv"))]
        self._cache = {}

    def _csv(self, v, rel):
        k = (v, rel)
        if k not in self._cache:
            self._cache[k] = rows(os.path.join(self.path, v, rel))
        return self._cache[k]

    def mua(self, v):
        """the mua's record of every submission"""
        return self._csv(v, "mua.csv")

    def messages(self, v):
        """collect's record of every arrival at an MX"""
        return self._csv(v, os.path.join("collect", "messages.csv"))

    def timeseries(self, v):
        """collect's arrivals per second per group"""
        return self._csv(v, os.path.join("collect", "timeseries.csv"))

    def sampler(self, v):
        """the sampler's rows (the aggregation server and every queue over time); a row
        cut short when the sampler was stopped mid-line is no sample"""
        return [r for r in self._csv(v, "sampler.csv") if None not in r.values()]

    def accepted(self, v):
        """the submissions the MSAs accepted (2xx)"""
        return [r for r in self.mua(v) if r["code"].startswith("2")]

    def tenants(self):
        """every tenant that submitted, in any variant"""
        return sorted({r["tenant"] for v in self.variants for r in self.mua(v)})

    def first_arrivals(self, v):
        """{(tenant, message_id): first arrival_us} of the run's own mail (a message
        delivered twice counts at its first arrival)"""
        return first_arrivals(self.messages(v))


def first_arrivals(messages):
    """{(tenant, message_id): first arrival_us} over messages.csv rows of the run's mail"""
    first = {}
    for r in messages:
        if r["tenant"] != "-" and r["arrival_us"]:
            a = int(r["arrival_us"])
            k = (r["tenant"], r["message_id"])
            first[k] = min(first.get(k, a), a)
    return first


def nearest_rank(sorted_xs, p):
    """the p-th percentile by nearest rank (as lib/stats.c): always an observed value"""
    if not sorted_xs:
        return float("nan")
    return sorted_xs[max(1, math.ceil(p / 100.0 * len(sorted_xs))) - 1]


def jain(xs):
    """Jain's fairness index (sum x)^2 / (n sum x^2): 1 when every share is equal"""
    s, q = sum(xs), sum(x * x for x in xs)
    return s * s / (len(xs) * q) if q else float("nan")


def windowed_fairness(timeseries, window):
    """(window start, Jain's index) of per-group arrivals (timeseries.csv rows) for each
    window with arrivals; the groups are every group that ever received (a silent group
    counts as 0)"""
    per = {}
    groups = set()
    last = 0
    for r in timeseries:
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


def windows(mua, messages, window):
    """per window k from the first accepted submission (mua.csv and messages.csv rows):
    {tenant: (delivered in the window, demand = submitted before the window's end -
    delivered before its start)}, as a list; a message delivered twice counts at its
    first arrival"""
    subs = {}
    for r in mua:
        if r["code"].startswith("2"):
            subs.setdefault(r["tenant"], []).append(int(r["start_us"]))
    first = first_arrivals(messages)
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


def demand_fairness(mua, messages, window):
    """(start, index, tenants pending) for each window in which more than one tenant had
    mail pending and something was delivered (mua.csv and messages.csv rows)"""
    out = []
    for k, row in enumerate(windows(mua, messages, window)):
        demand = {t: max(d, 0) for t, (_, d) in row.items()}
        pending = [t for t in demand if demand[t] > 0]
        total = sum(x for x, _ in row.values())
        if len(pending) < 2 or total == 0:
            continue
        fair = maxmin_shares(demand, total)
        out.append((k * window, jain([row[t][0] / fair[t] for t in pending if fair[t] > 0]), len(pending)))
    return out

