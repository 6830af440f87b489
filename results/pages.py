#!/usr/bin/env python3
"""pages.py - the pages people browse, from the markdown the reports are written in (one
code path): report.html beside a run's report.md (figures inline as SVG), results/
index.html over every run and bench, and compare pages of two runs of one scenario.
Pages are standalone (no fonts, scripts or styles from elsewhere) and print.
Usage: pages.py report RUN_DIR | md FILE.md | index RESULTS_DIR | compare RUN_A RUN_B OUT_DIR"""
import html
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import figures  # noqa: E402 (beside this file: the figures, and their overlay in a compare)

STYLE = """
body{font-family:sans-serif;max-width:1100px;margin:1em auto;padding:0 1em;color:#222;line-height:1.4}
h1{font-size:1.5em}h2{font-size:1.25em;border-bottom:1px solid #ccc;margin-top:1.6em}h3{font-size:1.05em}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
th,td{border:1px solid #ccc;padding:.2em .5em;text-align:right}th{background:#f2f2f2;cursor:pointer}
td:first-child,th:first-child{text-align:left}
li.yes::marker{content:"\\2714  ";color:#2a7d2a}li.no::marker{content:"\\2718  ";color:#b22}
li.yes strong{color:#2a7d2a}li.no strong{color:#b22}
figure{margin:1em 0}figure svg{width:100%;height:auto;border:1px solid #eee}
code{background:#f4f4f4;padding:0 .2em}.diff-up{color:#b22}.diff-down{color:#2a7d2a}
@media print{th{cursor:auto}figure{break-inside:avoid}a{color:inherit}}
"""

# Sortable tables (a click on a header sorts by that column, numbers as numbers), and a
# load check the browser test reads: every figure drew something, no image is broken.
SCRIPT = """
document.querySelectorAll('table').forEach(function (t) {
  t.querySelectorAll('th').forEach(function (th, i) {
    th.addEventListener('click', function () {
      var rows = Array.prototype.slice.call(t.tBodies[0].rows), up = th.dataset.dir !== 'up';
      var key = function (r) { var s = r.cells[i] ? r.cells[i].textContent : ''; var n = parseFloat(s);
        return isNaN(n) ? s : n; };
      rows.sort(function (a, b) { var x = key(a), y = key(b);
        return (x < y ? -1 : x > y ? 1 : 0) * (up ? 1 : -1); });
      th.dataset.dir = up ? 'up' : 'down';
      rows.forEach(function (r) { t.tBodies[0].appendChild(r); });
    });
  });
});
window.addEventListener('load', function () {
  var svgs = document.querySelectorAll('figure svg'), drawn = 0, broken = 0, hover = 0;
  svgs.forEach(function (s) { if (s.querySelectorAll('path').length > 20) drawn++;
    if (s.querySelector('g.hover > title')) hover++; });
  document.querySelectorAll('img').forEach(function (i) { if (!i.complete || i.naturalWidth === 0) broken++; });
  document.body.setAttribute('data-check', 'figures ' + svgs.length + ' drawn ' + drawn + ' broken ' + broken +
    ' hover ' + hover);
});
"""


def inline(text):
    """one line of markdown's inline marks as HTML: **bold**, `code`, [text](link)"""
    t = html.escape(text, quote=False)
    t = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", t)
    t = re.sub(r"`([^`]+)`", r"<code>\1</code>", t)
    return re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)", lambda m: '<a href="%s">%s</a>' % (
        html.escape(m.group(2).replace("report.md", "report.html")), m.group(1)), t)


def svg_inline(path, n):
    """the SVG file at path, ready to sit in a page: no XML prologue, ids made unique (f<n>-)"""
    s = open(path, encoding="utf-8").read()
    s = s[s.index("<svg"):]
    s = re.sub(r"""\bid=(['"])([^'"]+)\1""", lambda m: 'id="f%d-%s"' % (n, m.group(2)), s)
    s = re.sub(r"""(href=)(['"])#([^'"]+)\2""", lambda m: '%s"#f%d-%s"' % (m.group(1), n, m.group(3)), s)
    return re.sub(r"url\(#([^)]+)\)", lambda m: "url(#f%d-%s)" % (n, m.group(1)), s)


def verdict_class(line):
    """'yes' for a finding that holds, 'no' for one that does not, '' otherwise"""
    m = re.match(r"\*\*(Reproduced|Met|Not reproduced|Not met)\*\*", line)
    if not m:
        return ""
    return "yes" if m.group(1) in ("Reproduced", "Met") else "no"


def body_html(md, base):
    """the markdown of a report (the subset report.py, repeats.py and summary.py write) as
    HTML; an image whose SVG sits beside it under base is drawn inline"""
    out, para, lines, i, figs = [], [], md.splitlines(), 0, 0

    def flush():
        if para:
            out.append("<p>%s</p>" % inline(" ".join(para)))
            para.clear()

    while i < len(lines):
        line = lines[i]
        m = re.match(r"(#{1,3}) (.*)", line)
        if m:
            flush()
            out.append("<h%d>%s</h%d>" % (len(m.group(1)), inline(m.group(2)), len(m.group(1))))
        elif line.startswith("|"):
            flush()
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                cells = [c.strip() for c in lines[i].strip().strip("|").split("|")]
                if not all(re.fullmatch(r"-+", c) for c in cells):
                    rows.append(cells)
                i += 1
            i -= 1
            out.append("<table><thead><tr>%s</tr></thead><tbody>" % "".join("<th>%s</th>" % inline(c) for c in rows[0]))
            out += ["<tr>%s</tr>" % "".join("<td>%s</td>" % inline(c) for c in r) for r in rows[1:]]
            out.append("</tbody></table>")
        elif line.startswith("- "):
            flush()
            out.append("<ul>")
            while i < len(lines) and (lines[i].startswith("- ") or lines[i].startswith("  - ")):
                if lines[i].startswith("  - "):
                    sub = []
                    while i < len(lines) and lines[i].startswith("  - "):
                        sub.append("<li>%s</li>" % inline(lines[i][4:]))
                        i += 1
                    out.append("<ul>%s</ul>" % "".join(sub))
                    continue
                cls = verdict_class(lines[i][2:])
                out.append('<li%s>%s</li>' % (' class="%s"' % cls if cls else "", inline(lines[i][2:])))
                i += 1
            i -= 1
            out.append("</ul>")
        elif re.match(r"!\[[^\]]*\]\([^)]+\)$", line):
            flush()
            alt, src = re.match(r"!\[([^\]]*)\]\(([^)]+)\)", line).groups()
            svg = os.path.join(base, os.path.splitext(src)[0] + ".svg")
            figs += 1
            if os.path.exists(svg):
                out.append('<figure aria-label="%s">%s</figure>' % (html.escape(alt), svg_inline(svg, figs)))
            else:
                out.append('<figure><img src="%s" alt="%s"></figure>' % (html.escape(src), html.escape(alt)))
        elif line.strip():
            para.append(line.strip())
        else:
            flush()
        i += 1
    flush()
    return "\n".join(out)


def page(title, body):
    """a standalone page around body"""
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1"><title>%s</title>'
            "<style>%s</style></head><body>\n%s\n<script>%s</script></body></html>\n" % (
                html.escape(title), STYLE, body, SCRIPT))


def md_page(md_path):
    """a markdown page (a report, a repeats report, a summary) as .html beside it, its
    figures inline; returns the new file's path"""
    md = open(md_path, encoding="utf-8").read()
    title = md.splitlines()[0].lstrip("# ") if md else md_path
    path = os.path.splitext(md_path)[0] + ".html"
    open(path, "w", encoding="utf-8").write(page(title, body_html(md, os.path.dirname(md_path) or ".")))
    return path


def report(run):
    """RUN/report.md as RUN/report.html; returns its path"""
    return md_page(os.path.join(run, "report.md"))


def verdict_counts(md):
    """(findings that hold, findings that do not) in a report's markdown"""
    labels = re.findall(r"^- \*\*(Reproduced|Met|Not reproduced|Not met)\*\*", md, re.M)
    yes = sum(1 for x in labels if x in ("Reproduced", "Met"))
    return yes, len(labels) - yes


def duration(meta):
    """minutes from a run's start to its end, as text"""
    import datetime
    try:
        a, b = (datetime.datetime.strptime(meta[k], "%Y-%m-%dT%H:%M:%SZ") for k in ("started", "ended"))
        return "%.1f min" % ((b - a).total_seconds() / 60)
    except (KeyError, ValueError):
        return ""


def index(results):
    """RESULTS/index.html: every run under RESULTS/runs and every bench under
    RESULTS/bench, newest first; returns its path"""
    rows = []
    runs = os.path.join(results, "runs")
    for sc in sorted(os.listdir(runs)) if os.path.isdir(runs) else []:
        for r in os.listdir(os.path.join(runs, sc)):
            d = os.path.join(runs, sc, r)
            if not os.path.exists(os.path.join(d, "meta.json")):
                continue
            meta = json.load(open(os.path.join(d, "meta.json")))
            page_md = os.path.join(d, "summary.md" if sc == "all" else "report.md")
            md = open(page_md, encoding="utf-8").read() if os.path.exists(page_md) else ""
            if md and not os.path.exists(os.path.splitext(page_md)[0] + ".html"):
                md_page(page_md)
            yes, no = verdict_counts(md)
            p = meta.get("params", {})
            link = os.path.relpath(os.path.splitext(page_md)[0] + ".html", results)
            rows.append((r, sc, meta.get("variants", ""), str(p.get("scale", "")) + (
                " &times; %d" % meta["repeats"] if meta.get("repeats") else ""), duration(meta),
                meta.get("git_revision", "")[:12], "%d held, %d not" % (yes, no) if yes + no else "", link))
    bench = os.path.join(results, "bench")
    for r in sorted(os.listdir(bench)) if os.path.isdir(bench) else []:
        d = os.path.join(bench, r)
        if os.path.exists(os.path.join(d, "results.md")):
            m = json.load(open(os.path.join(d, "machine.json"))) if os.path.exists(os.path.join(d, "machine.json")) else {}
            md = open(os.path.join(d, "results.md"), encoding="utf-8").read()
            met = md.count("| yes |")
            rows.append((r, "bench", "", "quick" if m.get("quick") else "", "", str(m.get("git", ""))[:12],
                         "%d of %d targets met" % (met, met + md.count("| NO |")),
                         os.path.relpath(os.path.join(d, "results.md"), results)))
    rows.sort(key=lambda x: x[0], reverse=True)
    body = ["<h1>Runs</h1>", "<p>Every scenario run under <code>results/runs</code> and every bench under "
            "<code>results/bench</code>, newest first. Rewritten by every run and by <code>make plot</code>.</p>",
            "<table><thead><tr><th>run</th><th>scenario</th><th>variants</th><th>scale</th><th>duration</th>"
            "<th>git</th><th>verdicts</th><th>report</th></tr></thead><tbody>"]
    for r in rows:
        body.append("<tr>%s<td><a href=\"%s\">%s</a></td></tr>" % (
            "".join("<td>%s</td>" % (c if c.startswith("&") or "&times;" in c else html.escape(c)) for c in r[:7]),
            html.escape(r[7]), "report"))
    body.append("</tbody></table>")
    path = os.path.join(results, "index.html")
    open(path, "w", encoding="utf-8").write(page("mailagg runs", "\n".join(body)))
    return path


def tables(md):
    """[(heading, header, rows)] of a report's markdown tables"""
    out, head = [], None
    for line in md.splitlines():
        if line.startswith("## "):
            head = line[3:]
        elif line.startswith("|") and head is not None:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if all(re.fullmatch(r"-+", c) for c in cells):
                continue
            if out and out[-1][0] == head:
                out[-1][2].append(cells)
            else:
                out.append((head, cells, []))
    return out


def number(cell):
    """a cell's number (a "12/30" cell: its first part), or None"""
    m = re.fullmatch(r"(-?[0-9][0-9,]*(?:\.[0-9]+)?)(?:/[0-9]+)?", cell)
    return float(m.group(1).replace(",", "")) if m else None


def compare_md(a, b, out_dir):
    """the markdown of a comparison of runs a and b (their tables side by side, B - A),
    their figures overlaid under OUT_DIR/figures"""
    ma, mb = (json.load(open(os.path.join(r, "meta.json"))) for r in (a, b))
    na, nb = ma["params"]["name"], mb["params"]["name"]
    if na != nb:
        raise ValueError("compare: A is a run of '%s' and B of '%s': only runs of one scenario compare" % (na, nb))
    ra, rb = (open(os.path.join(r, "report.md"), encoding="utf-8").read() for r in (a, b))
    out = ["# %s: %s (A) vs %s (B)" % (na, os.path.basename(a.rstrip("/")), os.path.basename(b.rstrip("/"))), "",
           "A: git %s, scale %s, %s. B: git %s, scale %s, %s. Each number: A, B, and B - A." % (
               ma.get("git_revision", "")[:12], ma["params"].get("scale"), ma.get("started", ""),
               mb.get("git_revision", "")[:12], mb["params"].get("scale"), mb.get("started", "")), "",
           "## Findings of the study", ""]
    for md, tag in ((ra, "A"), (rb, "B")):
        out += ["- %s: %s" % (tag, line[2:]) for line in md.splitlines() if re.match(r"- \*\*", line)]
    tb = {h: (hd, rows) for h, hd, rows in tables(rb)}
    for head, header, rows in tables(ra):
        if head.startswith(("Parameters", "Delivered per MSA in each")) or head not in tb:
            continue
        out += ["", "## " + head, "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        brows = {tuple(c for c in r if number(c) is None): r for r in tb[head][1]}
        for r in rows:
            other = brows.get(tuple(c for c in r if number(c) is None))
            cells = []
            for j, c in enumerate(r):
                x = number(c)
                y = number(other[j]) if other and j < len(other) else None
                if x is None:
                    cells.append(c)
                elif y is None:
                    cells.append("%s / (none)" % c)
                else:
                    cells.append("%s / %s (%+g)" % (c, other[j], round(y - x, 6)))
            out.append("| " + " | ".join(cells) + " |")
    out += ["", "## Figures, A and B in one plot (B wide and light, under A)", ""]
    for name, err in figures.overlay(a, b, os.path.join(out_dir, "figures")):
        title = dict(figures.FIGURES)[name]
        out += ["### " + title, "", "drawing failed: " + err if err else "![%s: A and B](figures/%s.png)" % (title, name), ""]
    return "\n".join(out) + "\n"


def compare(a, b, out_dir):
    """OUT_DIR/compare.md and compare.html for runs a and b (A and B link to them)"""
    md = compare_md(a, b, out_dir)
    os.makedirs(out_dir, exist_ok=True)
    for tag, run in (("A", a), ("B", b)):
        link = os.path.join(out_dir, tag)
        if os.path.islink(link):
            os.unlink(link)
        os.symlink(os.path.abspath(run), link)
    open(os.path.join(out_dir, "compare.md"), "w", encoding="utf-8").write(md)
    path = os.path.join(out_dir, "compare.html")
    open(path, "w", encoding="utf-8").write(page(md.splitlines()[0][2:], body_html(md, out_dir)))
    return path


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "report":
        print("pages: " + report(sys.argv[2]))
    elif len(sys.argv) == 3 and sys.argv[1] == "md":
        print("pages: " + md_page(sys.argv[2]))
    elif len(sys.argv) == 3 and sys.argv[1] == "index":
        print("pages: " + index(sys.argv[2]))
    elif len(sys.argv) == 5 and sys.argv[1] == "compare":
        for r in sys.argv[2:4]:
            if not os.path.exists(os.path.join(r, "report.md")) or not os.path.exists(os.path.join(r, "meta.json")):
                sys.exit("compare: %s is not a run with report.md (results/runs/SCENARIO/TIME)" % r)
        try:
            print("pages: " + compare(sys.argv[2], sys.argv[3], sys.argv[4]))
        except ValueError as e:
            sys.exit(str(e))
    else:
        sys.exit(__doc__.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
