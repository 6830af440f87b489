#!/usr/bin/env bash
# results.sh - `make plot` on the committed fixture run (tests/fixtures/congestion-quick, a
# real quick congestion run): every figure a valid PNG and SVG, each embedded in
# report.md, every number of the report equal to one recomputed from the CSVs, and the
# check itself failing when a CSV no longer matches the report. Bad runs get clear errors.
set -euo pipefail
# shellcheck source=tests/e2e/lib.bash
. "$(dirname "$0")/lib.bash"

plan 10
T=$E2E_TMP
RUN="$T/run"
cp -r "$TOP/tests/fixtures/congestion-quick" "$RUN"
FIGURES=$(python3 "$TOP/results/report.py" --figures)

check "make plot RUN=<fixture> succeeds" make -s -C "$TOP" plot RUN="$RUN"

# valid_figures - every figure: PNG with its signature and 1000x600 header, SVG that
# parses as XML with an <svg> root holding drawn paths
valid_figures() {
    python3 - "$RUN/figures" "$FIGURES" <<'P'
import struct, sys, xml.etree.ElementTree as ET
d, bad = sys.argv[1], 0
for f in sys.argv[2].split():
    try:
        png = open("%s/%s.png" % (d, f), "rb").read()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR", "not a PNG"
        w, h = struct.unpack(">II", png[16:24])
        assert (w, h) == (1000, 600), "PNG is %dx%d" % (w, h)
        root = ET.parse("%s/%s.svg" % (d, f)).getroot()
        assert root.tag.endswith("svg"), "SVG root is " + root.tag
        paths = [e for e in root.iter() if e.tag.endswith("path") or e.tag.endswith("rect")]
        assert len(paths) > 20, "SVG draws %d paths" % len(paths)
    except Exception as e:
        print("figure %s: %s" % (f, e), file=sys.stderr)
        bad += 1
sys.exit(bad)
P
}
check "every figure ($(echo "$FIGURES" | wc -w)) is a valid PNG and SVG" valid_figures

embedded() {
    local f
    for f in $FIGURES; do
        grep -q "](figures/$f.png)" "$RUN/report.md" || { echo "report.md does not show $f" >&2; return 1; }
    done
}
check "report.md embeds every figure" embedded

# the figures read the CSVs by column name: the fixture with every CSV's columns in
# reverse order draws the very same points
by_name() {
    local R="$T/reversed"
    cp -r "$TOP/tests/fixtures/congestion-quick" "$R"
    python3 - "$R" <<'P'
import csv, glob, sys
for p in glob.glob(sys.argv[1] + "/*/*.csv") + glob.glob(sys.argv[1] + "/*/collect/*.csv"):
    rows = list(csv.reader(open(p, newline="")))
    csv.writer(open(p, "w", newline="")).writerows([r[::-1] for r in rows])
P
    python3 "$TOP/results/figures.py" "$R" && diff -r "$RUN/figures/data" "$R/figures/data" &&
        [ "$(find "$R/figures/data" -name '*.tsv' | wc -l)" -eq "$(echo "$FIGURES" | wc -w)" ]
}
check "figures read the CSVs by column name: columns reversed, the same points" by_name

check "every number in report.md equals its recomputation from the CSVs" \
    python3 "$E2E_DIR/report_check.py" "$RUN"

# the check must be able to fail: one proxy delivery of msa1 removed from messages.csv
tamper() {
    awk -F, 'done || $2 != "msa1" {print; next} {done = 1}' "$RUN/proxy/collect/messages.csv" >"$T/m.csv"
    mv "$T/m.csv" "$RUN/proxy/collect/messages.csv"
    ! python3 "$E2E_DIR/report_check.py" "$RUN" >"$T/tamper.log" 2>&1 &&
        grep -q "per tenant msa1 proxy delivered: report says '12', the CSVs give 11" "$T/tamper.log"
}
check "a CSV changed after the report is caught, cell by cell" tamper

# experiment 3's verdict: the fixture's data under the name concurrent (the code path and
# its numbers; the finding itself is judged on real concurrent runs)
exp3() {
    local R="$T/exp3"
    cp -r "$TOP/tests/fixtures/congestion-quick" "$R"
    python3 - "$R/meta.json" <<'P'
import json, sys
m = json.load(open(sys.argv[1]))
m["params"]["name"] = "concurrent"
json.dump(m, open(sys.argv[1], "w"))
P
    python3 "$TOP/results/report.py" "$R" &&
        grep -E '^- \*\*(Not reproduced|Reproduced)\*\*: at a destination.s connection limit the proxy couples the MSAs again' "$R/report.md" |
        grep -E 'MSA deferrals: relay [0-9]+, proxy [0-9]+; .*mean windowed fairness: relay [0-9.]+, proxy [0-9.]+; spread of the MSAs. median receive times: relay [0-9.]+ s, proxy [0-9.]+ s; completion per MSA \(msa1, msa2, msa3\)' &&
        grep -q '^## Receive times at the MXs per MSA' "$R/report.md" &&
        python3 "$E2E_DIR/report_check.py" "$R"
}
check "a concurrent run's verdict names deferrals, windowed fairness, receive-time spread and completion per MSA" exp3

# scenario-all's summary page over a results tree holding the fixture run
summary() {
    mkdir -p "$T/tree/congestion"
    cp -r "$TOP/tests/fixtures/congestion-quick" "$T/tree/congestion/20260101T000000Z"
    python3 "$TOP/results/report.py" "$T/tree/congestion/20260101T000000Z" &&
        python3 "$TOP/results/summary.py" --results "$T/tree" --out "$T/sum" &&
        grep -E '^\| 1 \| with the relay, a throttling destination delays the other tenants; with the proxy it does not\. \| relay: mx1 and mx2 receive slowly.* \| Share of msa1\+msa2 mail delivered within 5 s: relay [0-9]+%, proxy [0-9]+%\. .* \| (Reproduced|Not reproduced) \| \[20260101T000000Z\]\(../tree/congestion/20260101T000000Z/report.md\) \|$' "$T/sum/summary.md" &&
        ! python3 "$TOP/results/summary.py" --results "$T/tree" --since 2099-01-01T00:00:00Z --out "$T/sum2" 2>"$T/sum2.err" &&
        grep -q "summary: no run with a report under $T/tree since 2099" "$T/sum2.err"
}
check "scenario-all's summary: one row per finding with the study's figure, ours, the verdict and a link" summary

bad_run() {
    local out
    out=$(make -s -C "$TOP" plot RUN="$T/nowhere" 2>&1) && return 1
    grep -q "usage: results/plot RUN_DIR (with meta.json)" <<<"$out"
}
check "make plot RUN=<not a run> fails with a usage message" bad_run

no_variant() {
    local out
    mkdir -p "$T/empty" && cp "$RUN/meta.json" "$T/empty/"
    out=$("$TOP/results/plot" "$T/empty" 2>&1) && return 1
    grep -q "has no variant with collect output" <<<"$out"
}
check "a run with no collect output says so" no_variant
