#!/usr/bin/env python3
"""repeats.py - one report over a scenario's repeats (scenarios/run with REPEAT=N): every
number of the repeats' own reports as its median and min-max over the repeats, and each
finding's verdict, which holds only if it holds in every repeat.
Usage: repeats.py RUN_DIR   (RUN_DIR/rep1 .. repN are whole runs; writes RUN_DIR/report.md
and RUN_DIR/meta.json)"""
import json
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pages import number, tables  # noqa: E402 (beside this file: one markdown table reader)

SKIP = ("Parameters", "Delivered per MSA in each")  # inputs, or windows that differ per repeat
HOLDS = ("Reproduced", "Met")


def verdicts(md):
    """[(label, statement, numbers)] of the report's findings lines"""
    out = []
    for line in md.splitlines():
        m = re.match(r"- \*\*([^*]+)\*\*: (.*?\.) (?=[A-Z])(.*)$", line)
        if m:
            out.append(m.groups())
    return out


def span(xs):
    med = statistics.median(xs)
    fmt = "%.0f" if all(float(x).is_integer() for x in xs) and med.is_integer() else "%.3f"
    if min(xs) == max(xs):
        return fmt % med
    return ("%s (%s-%s)" % (fmt, fmt, fmt)) % (med, min(xs), max(xs))


def main():
    base = sys.argv[1]
    reps = sorted((d for d in os.listdir(base) if re.fullmatch(r"rep[0-9]+", d)), key=lambda d: int(d[3:]))
    reps = [r for r in reps if os.path.exists(os.path.join(base, r, "report.md"))]
    if not reps:
        sys.exit("repeats: %s has no rep*/report.md" % base)
    mds = [open(os.path.join(base, r, "report.md")).read() for r in reps]
    metas = [json.load(open(os.path.join(base, r, "meta.json"))) for r in reps]
    name = metas[0]["params"]["name"]
    out = ["# %s: %d repeats" % (name, len(reps)), "",
           "Every variant ran %d times, each time on a fresh lab (%s). A number is the median over the repeats, "
           "with the range in brackets when they differ; a finding holds only if it holds in every repeat. Each "
           "repeat's own report: %s." % (len(reps), ", ".join(reps),
                                         ", ".join("[%s](%s/report.md)" % (r, r) for r in reps)), "",
           "## Findings of the study", ""]
    per = [verdicts(md) for md in mds]
    for i, (_, statement, _) in enumerate(per[0]):
        seen = [p[i] for p in per if i < len(p) and p[i][1] == statement]
        held = sum(1 for lab, _, _ in seen if lab in HOLDS)
        ok = held == len(reps) and len(seen) == len(reps)
        if per[0][i][0] in ("Met", "Not met"):
            word = "Met" if ok else "Not met"
        else:
            word = "Reproduced" if ok else "Not reproduced"
        out.append("- **%s** (holds in %d of %d repeats): %s" % (word, held, len(reps), statement))
        for r, (lab, _, nums) in zip(reps, seen):
            out.append("  - %s (%s): %s" % (r, lab, nums))
    tabs = [tables(md) for md in mds]
    for t, (head, header, rows) in enumerate(tabs[0]):
        if head.startswith(SKIP):
            continue
        out += ["", "## " + head, "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for row in rows:
            key = [c for c in row if number(c) is None]
            cells = []
            for j, c in enumerate(row):
                if number(c) is None:
                    cells.append(c)
                    continue
                xs = []
                for other in tabs:
                    match = [o for o in other if o[0] == head]
                    for r2 in match[0][2] if match else []:
                        if [c2 for c2 in r2 if number(c2) is None] == key and j < len(r2) and number(r2[j]) is not None:
                            xs.append(number(r2[j]))
                            break
                cells.append(span(xs) if len(xs) == len(reps) else "%s (not in every repeat)" % c)
            out.append("| " + " | ".join(cells) + " |")
    open(os.path.join(base, "report.md"), "w").write("\n".join(out) + "\n")
    meta = dict(metas[0])
    meta.update({"repeats": len(reps), "runs": reps, "started": metas[0]["started"], "ended": metas[-1]["ended"]})
    json.dump(meta, open(os.path.join(base, "meta.json"), "w"), indent=1)
    print("repeats: %s/report.md (%d repeats)" % (base, len(reps)))


main()
