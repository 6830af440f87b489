#!/usr/bin/env python3
"""promfmt.py - check a Prometheus text exposition (format 0.0.4) strictly: every sample
belongs to a family declared once with # HELP and # TYPE before its samples, names and
labels are well formed, values are numbers, no series twice, counters are not negative,
histograms have increasing le buckets, cumulative counts, +Inf equal to _count, and _sum.
Usage: promfmt.py FILE   (exit 0 and "N families, M samples" when it is good)"""
import math
import re
import sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\\\|\\"|\\n)*"'
SAMPLE = re.compile(r"^(%s)(\{(?:%s)(?:,%s)*\})? (\S+)$" % (NAME, LABEL, LABEL))
problems, types, helps, seen, order = [], {}, set(), set(), []
hist = {}


def family_of(name):
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and types.get(name[: -len(suffix)]) == "histogram":
            return name[: -len(suffix)], suffix
    return name, ""


text = open(sys.argv[1], encoding="utf-8").read()
if not text.endswith("\n"):
    problems.append("the exposition does not end with a newline")
samples = 0
for n, line in enumerate(text.splitlines(), 1):
    if line.startswith("# HELP ") or line.startswith("# TYPE "):
        parts = line.split(" ", 3)
        if len(parts) < 4 or not re.fullmatch(NAME, parts[2]):
            problems.append("line %d: malformed %s" % (n, parts[1]))
            continue
        name = parts[2]
        if parts[1] == "TYPE":
            if name in types:
                problems.append("line %d: TYPE of %s again" % (n, name))
            if parts[3] not in ("counter", "gauge", "histogram", "summary", "untyped"):
                problems.append("line %d: unknown type %r" % (n, parts[3]))
            if name in order:
                problems.append("line %d: TYPE of %s after its samples" % (n, name))
            types[name] = parts[3]
        else:
            if name in helps:
                problems.append("line %d: HELP of %s again" % (n, name))
            helps.add(name)
        continue
    if line.startswith("#") or not line:
        continue
    m = SAMPLE.match(line)
    if not m:
        problems.append("line %d: not a sample: %r" % (n, line))
        continue
    name, labels, value = m.group(1), m.group(2) or "", m.group(3)
    fam, suffix = family_of(name)
    if fam not in types:
        problems.append("line %d: %s has no TYPE before it" % (n, name))
    if fam not in helps:
        problems.append("line %d: %s has no HELP" % (n, name))
    if order and order[-1] != fam and fam in order:
        problems.append("line %d: samples of %s are not together" % (n, fam))
    if not order or order[-1] != fam:
        order.append(fam)
    if (name, labels) in seen:
        problems.append("line %d: series %s%s twice" % (n, name, labels))
    seen.add((name, labels))
    try:
        v = float(value.replace("+Inf", "inf").replace("-Inf", "-inf"))
    except ValueError:
        problems.append("line %d: value %r is not a number" % (n, value))
        continue
    samples += 1
    if types.get(fam) == "counter" and (v < 0 or math.isnan(v)):
        problems.append("line %d: counter %s is %s" % (n, name, value))
    if types.get(fam) == "histogram":
        h = hist.setdefault(fam, {"le": [], "sum": None, "count": None})
        if suffix == "_bucket":
            le = re.search(r'le="([^"]*)"', labels)
            if not le:
                problems.append("line %d: bucket without le" % n)
                continue
            h["le"].append((float(le.group(1).replace("+Inf", "inf")), v))
        elif suffix == "_sum":
            h["sum"] = v
        elif suffix == "_count":
            h["count"] = v
for fam, h in hist.items():
    les = [x for x, _ in h["le"]]
    counts = [c for _, c in h["le"]]
    if les != sorted(les) or len(set(les)) != len(les) or not les or les[-1] != math.inf:
        problems.append("%s: le buckets not increasing up to +Inf: %s" % (fam, les))
    if counts != sorted(counts):
        problems.append("%s: bucket counts not cumulative: %s" % (fam, counts))
    if h["count"] is None or h["sum"] is None:
        problems.append("%s: _sum or _count missing" % fam)
    elif counts and counts[-1] != h["count"]:
        problems.append("%s: +Inf bucket %s != _count %s" % (fam, counts[-1], h["count"]))
for p in problems:
    print("promfmt: " + p)
print("promfmt: %d families, %d samples, %d problems" % (len(types), samples, len(problems)))
sys.exit(1 if problems or samples == 0 else 0)
