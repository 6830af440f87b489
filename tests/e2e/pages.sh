#!/usr/bin/env bash
# pages.sh - the pages people browse, rendered in a real browser (headless Chromium): the
# fixture run's report.html, results/index.html and a compare page. Every figure drew
# (inline SVGs with drawn paths, no broken image), sampled points carry their values as
# hover titles, a compare overlays both runs in one plot, the browser logged no console message,
# the page's table cells equal report.md's, and compare refuses runs of two scenarios.
# Screenshots are kept in $PAGES_SHOTS when it is set (to look at them).
set -euo pipefail
# shellcheck source=tests/e2e/lib.bash
. "$(dirname "$0")/lib.bash"

plan 5
T=$E2E_TMP
if ! command -v chromium >/dev/null; then
    for i in $(seq 5); do skip "pages test $i: chromium is not installed (make deps installs it, as root)"; done
    exit 0
fi
mkdir -p "$T/results/runs/congestion" "$T/chrome"
RUN="$T/results/runs/congestion/20260101T000000Z"
cp -r "$TOP/tests/fixtures/congestion-quick" "$RUN"
"$TOP/results/plot" "$RUN" 2>"$T/plot.err"

# browse PAGE NAME - load PAGE in headless Chromium: its DOM after the scripts ran in
# $T/NAME.dom, a screenshot in $T/NAME.png, the browser's log in $T/NAME.log
browse() {
    local page=$1 name=$2 flags=(--headless=new --no-sandbox --disable-gpu --hide-scrollbars
        --user-data-dir="$T/chrome" --virtual-time-budget=3000 --enable-logging=stderr --v=0)
    timeout 60 chromium "${flags[@]}" --dump-dom "file://$page" >"$T/$name.dom" 2>"$T/$name.log"
    timeout 60 chromium "${flags[@]}" --window-size=1200,5000 --screenshot="$T/$name.png" "file://$page" \
        >/dev/null 2>>"$T/$name.log"
    if [[ -n "${PAGES_SHOTS:-}" ]]; then mkdir -p "$PAGES_SHOTS" && cp "$T/$name.png" "$PAGES_SHOTS/"; fi
}

# loaded NAME FIGURES HOVER - the page said every one of FIGURES figures drew, no image broke
# and HOVER figures have points with hover values; no console message; the screenshot is a
# PNG with something on it
loaded() {
    local name=$1 n=$2 h=$3
    grep -q "data-check=\"figures $n drawn $n broken 0 hover $h\"" "$T/$name.dom" ||
        { echo "$name: $(grep -o 'data-check="[^"]*"' "$T/$name.dom" || echo 'no data-check')"; return 1; }
    ! grep -E 'CONSOLE[:(]|Uncaught' "$T/$name.log" || return 1
    python3 -c "
import sys
png = open(sys.argv[1], 'rb').read()
assert png[:8] == b'\x89PNG\r\n\x1a\n' and len(png) > 30000, len(png)" "$T/$name.png"
}

# same_tables DOM MD - every table cell of the page equals report.md's (marks removed)
same_tables() {
    python3 - "$1" "$2" <<'P'
import html.parser, re, sys


class Cells(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows, self.cell = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.cell = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(self.cell.strip())
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data


p = Cells()
p.feed(open(sys.argv[1], encoding="utf-8").read())
md = []
for line in open(sys.argv[2], encoding="utf-8"):
    if line.startswith("|"):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not all(re.fullmatch(r"-+", c) for c in cells):
            md.append([re.sub(r"\*\*|`", "", c) for c in cells])
assert md and p.rows == md, "first difference: %s" % next(
    ((a, b) for a, b in zip(p.rows, md) if a != b), (len(p.rows), len(md)))
print("# %d table rows equal" % len(md))
P
}

NFIG=$(grep -c '^!\[' "$RUN/report.md")
browse "$RUN/report.html" report
# every figure but the completion bars (labelled with their values) shows values on hover
check "report.html: all $NFIG figures drawn inline, $((NFIG - 1)) with hover values, no broken image, no console message" \
    bash -c "$(declare -f loaded); T='$T'; loaded report $NFIG $((NFIG - 1)) &&
        grep -Eq '<g class=\"hover\"><title>proxy: msa1: 100.0% within [0-9.]+ s</title>' '$T/report.dom'"
check "report.html: every table cell equals report.md's, verdicts marked" bash -c "
    $(declare -f same_tables); same_tables '$T/report.dom' '$RUN/report.md' &&
    grep -Eq '<li class=\"(yes|no)\"><strong>(Reproduced|Not reproduced)</strong>' '$T/report.dom'"

browse "$T/results/index.html" index
check "index.html lists the run with its scenario and verdicts, and its link opens the report" bash -c "
    $(declare -f loaded); T='$T'; loaded index 0 0 &&
    grep -q '<td>20260101T000000Z</td><td>congestion</td>' '$T/index.dom' &&
    grep -q 'href=\"runs/congestion/20260101T000000Z/report.html\"' '$T/index.dom' &&
    [ -f '$T/results/runs/congestion/20260101T000000Z/report.html' ]"

cp -r "$RUN" "$T/results/runs/congestion/20260102T000000Z"
python3 "$TOP/results/pages.py" compare "$RUN" "$T/results/runs/congestion/20260102T000000Z" "$T/cmp" >/dev/null
browse "$T/cmp/compare.html" compare
check "a compare page: both runs in one plot per figure ($NFIG), tables side by side with their differences" bash -c "
    $(declare -f loaded); T='$T'; loaded compare $NFIG $((NFIG - 1)) &&
    grep -q '<title>A Postfix relay: all MXs</title>' '$T/compare.dom' &&
    grep -q '<title>B Postfix relay: all MXs</title>' '$T/compare.dom' &&
    grep -q '| msa1 | Postfix relay | 12 / 12 (+0) |' '$T/cmp/compare.md'"

mkdir -p "$T/other"
cp -r "$RUN" "$T/other/run"
sed -i 's/"name": *"congestion"/"name": "resource"/' "$T/other/run/meta.json"
check "compare refuses runs of two scenarios, and make compare without runs says how" bash -c "
    out=\$(python3 '$TOP/results/pages.py' compare '$RUN' '$T/other/run' '$T/cmp2' 2>&1) && exit 1
    [ \"\$out\" = \"compare: A is a run of 'congestion' and B of 'resource': only runs of one scenario compare\" ] &&
    out=\$(make -s -C '$TOP' compare 2>&1) && exit 1
    grep -q 'compare: usage: make compare A=RUN_DIR B=RUN_DIR' <<<\"\$out\""
