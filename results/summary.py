#!/usr/bin/env python3
"""summary.py - one page over every scenario's newest run (what `make scenario-all` ran):
per finding of the study, the study's figure, ours, the verdict and the run it comes from.
Usage: summary.py [--since ISO_TIME] [--results DIR] [--out DIR]
  --since: only runs that started at or after it (default: any); --results: where the
  runs are (default results/runs); --out: where summary.md goes (default
  RESULTS/all/<UTC time>)."""
import argparse
import json
import os
import re
import sys
import time

# scenario: the experiment it reproduces
EXPERIMENT = {"congestion": "1", "congestion-bulk": "1 (bulk sender)", "resource": "2",
              "concurrent": "3", "concurrent-continuous": "3 (sending continuously)"}
# a finding's statement (its start) -> what the study reported (../shared/paper.md)
STUDY = [("with the relay, a throttling destination delays", "relay: mx1 and mx2 receive slowly, their latency grows "
          "very large; proxy: mx1 and mx2 receive linearly, without delay"),
         ("the relay writes every message to its queue", "relay: writes every message to its queue files; proxy: "
          "its disk I/O is only its logging"),
         ("the proxy finishes before the relay", "proxy 158 min, relay 187 min (proxy/relay 0.845), 3,333,000 messages"),
         ("at a destination's connection limit the proxy couples", "the MSAs compete for mx1's 10 connections; "
          "fairness between them may be lost (the study's open problem)"),
         ("the fair proxy keeps", "(beyond the study: this project's answer to its open problem)")]


def newest_runs(results, since):
    """{scenario: run dir} of the newest run (with report.md) of each scenario"""
    out = {}
    for sc in sorted(os.listdir(results)) if os.path.isdir(results) else []:
        if sc == "all":
            continue
        runs = []
        for r in os.listdir(os.path.join(results, sc)):
            d = os.path.join(results, sc, r)
            if not os.path.exists(os.path.join(d, "report.md")) or not os.path.exists(os.path.join(d, "meta.json")):
                continue
            if since and json.load(open(os.path.join(d, "meta.json"))).get("started", "") < since:
                continue
            runs.append(r)
        if runs:
            out[sc] = os.path.join(results, sc, max(runs))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--since", default="")
    ap.add_argument("--results", default="results/runs")
    ap.add_argument("--out", default="")
    a = ap.parse_args()
    runs = newest_runs(a.results, a.since)
    if not runs:
        sys.exit("summary: no run with a report under %s%s" % (a.results, " since " + a.since if a.since else ""))
    out_dir = a.out or os.path.join(a.results, "all", time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))
    os.makedirs(out_dir, exist_ok=True)
    md = ["# The study vs this project", "",
          "Each scenario's newest run%s; the verdict is its report's (a REPEAT=N run: held in every repeat)." % (
              " since " + a.since if a.since else ""), "",
          "| experiment | finding | the study | here | verdict | run |", "|---|---|---|---|---|---|"]
    for sc in sorted(runs, key=lambda s: (EXPERIMENT.get(s, "9"), s)):
        run = runs[sc]
        meta = json.load(open(os.path.join(run, "meta.json")))
        p = meta.get("params", {})
        scale = "SCALE=%g" % p["scale"] if p.get("scale", 1) != 1 else "full scale"
        rel = os.path.relpath(run, out_dir)
        found = False
        lines = open(os.path.join(run, "report.md")).read().splitlines()
        for i, line in enumerate(lines):
            m = re.match(r"- \*\*([^*]+)\*\*( \(holds in \d+ of \d+ repeats\))?: (.*?\.)(?: (?=[A-Z])(.*))?$", line)
            if not m:
                continue
            label, held, statement, here = m.groups()
            if held:  # a repeats report: each repeat's numbers follow on their own lines
                label += held
                reps = []
                for nxt in lines[i + 1:]:
                    if not nxt.startswith("  - "):
                        break
                    reps.append(nxt[4:])
                here = "; ".join(reps)
            study = next((s for k, s in STUDY if statement.startswith(k)), "")
            md.append("| %s | %s | %s | %s (%s, %s) | %s | [%s](%s/report.md) |" % (
                EXPERIMENT.get(sc, sc), statement, study, here, scale, ",".join(meta.get("variants", "").split(",")),
                label, os.path.basename(run), rel))
            found = True
        if not found:
            md.append("| %s | (no finding: the run had fewer than two variants) | | | | [%s](%s/report.md) |" % (
                EXPERIMENT.get(sc, sc), os.path.basename(run), rel))
    open(os.path.join(out_dir, "summary.md"), "w").write("\n".join(md) + "\n")
    json.dump({"scenario": "all", "params": {"name": "all"}, "variants": "",
               "started": min(json.load(open(os.path.join(r, "meta.json"))).get("started", "") for r in runs.values()),
               "ended": max(json.load(open(os.path.join(r, "meta.json"))).get("ended", "") for r in runs.values())},
              open(os.path.join(out_dir, "meta.json"), "w"))
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from pages import md_page  # noqa: E402 (beside this file)
    md_page(os.path.join(out_dir, "summary.md"))
    print("summary: %s/summary.md (%d scenarios)" % (out_dir, len(runs)))


main()
