#!/usr/bin/env python3
"""reduce.py - the statistics the report and the figures share, written once: the
nearest-rank percentile (as lib/stats.c) and Jain's fairness index, also over time
windows of collect's timeseries.csv for results/plot.

  reduce.py fairness TIMESERIES_CSV WINDOW_S   "start,index" per window (Jain's index
                                               of per-group arrivals in the window)"""
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


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "fairness":
        for start, j in windowed_fairness(sys.argv[2], float(sys.argv[3])):
            print("%d,%f" % (start, j))
    else:
        sys.exit(__doc__)
