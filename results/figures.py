#!/usr/bin/env python3
"""figures.py - a run's figures: the data of every series reduced here from the run's CSVs
(reduce.py's loader, columns by name), drawn by gnuplot with one script per figure
(results/gp/NAME.gp) as PNG and SVG; the SVG's sampled points show their values on hover.

  figures.py RUN_DIR                  draw RUN_DIR/figures/NAME.{png,svg} (and NAME.json,
                                      the figure's series, and data/NAME.tsv, their points)
  figures.py overlay RUN_A RUN_B OUT  every figure both runs have, A's and B's series in one
                                      plot: OUT/NAME.{png,svg}"""
import json
import math
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reduce import LABEL, Run, demand_fairness, windowed_fairness, windows  # noqa: E402 (beside this file)

GP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gp")
WINDOW = 10          # seconds per window of the fairness and windows figures
HOVER_POINTS = 40    # points per series that show their values on hover
MAX_POINTS = 2000    # points drawn per series: two per pixel of a 1000-pixel-wide figure
# the same variant has the same colour in every figure; tenants differ by dash
COLOR = {"postfix": "#d62728", "proxy": "#1f77b4", "proxy-fair": "#2ca02c"}
# every figure, in the order the report and a compare show them
FIGURES = (("cumulative", "Messages received at each MX over time"),
           ("cumulative-mx", "Messages received at each MX, one panel per MX on its own scale"),
           ("relay-latency", "Mean relay latency per second (log)"),
           ("relay-latency-cdf", "Relay latency CDF per MSA"),
           ("latency-cdf", "End-to-end latency CDF over every submitted message"),
           ("arrivals", "Arrivals per second per MSA"),
           ("mx1-arrivals", "Receive times at mx1 per MSA"),
           ("fairness", "Fairness between MSAs over time"),
           ("windows", "Messages delivered per MSA in each 10 s window"),
           ("fairness-demand", "Fairness by demand in each 10 s window"),
           ("completion", "Completion time per MSA"),
           ("queues", "Queue lengths"),
           ("disk-rate", "Aggregation server disk writes per second"),
           ("disk-writes", "Aggregation server cumulative disk writes"),
           ("cpu", "Aggregation server CPU use"))

TERMINALS = (("png", "pngcairo size 1000,600 font 'sans,11' linewidth 1.5"),
             ("svg", "svg size 1000,600 dynamic font 'sans,11' linewidth 1.5"))


class Figure:
    """one figure's series: each a title, a colour, a dash, a width, a panel and its points
    (x, y[, label]); hover is the format of a sampled point's tooltip ({t} the series'
    title, {x} and {y} its values)"""

    def __init__(self, name, hover=None):
        self.name, self.hover, self.series, self.panels = name, hover, [], []

    def add(self, variant, title, points, dt=1, lw=1.5, panel=0):
        """adds a series in variant's colour, unless it has no points"""
        if points:
            self.series.append({"title": "%s: %s" % (LABEL[variant], title), "color": COLOR[variant],
                                "dt": dt, "lw": lw, "panel": panel, "points": points})


def cum_counts(xs):
    """(x, running count) over xs sorted"""
    return [(x, i + 1) for i, x in enumerate(sorted(xs))]


def cdf(xs, floor, n=0):
    """(x raised to floor for a log axis, share of n (default: of xs)) over xs sorted"""
    n = n or len(xs)
    return [(max(x, floor), (i + 1) / n) for i, x in enumerate(sorted(xs))]


def floats(rows, column, keep=lambda r: True):
    """column's values as floats over the rows keep accepts that have one"""
    return [float(r[column]) for r in rows if r[column] != "" and keep(r)]


def agg_rates(sampler):
    """(seconds since the sampler started, KiB written per s, % of one core, MiB written
    so far) per sampling interval of agg (bytes: /proc/PID/io, columns by name)"""
    out = []
    if len(sampler) < 2:
        return out
    t0, w0 = int(sampler[0]["t_us"]), int(sampler[0]["proc_write_bytes"])
    for p, r in zip(sampler, sampler[1:]):
        dt = (int(r["t_us"]) - int(p["t_us"])) / 1e6
        if dt <= 0:
            continue
        w = int(r["proc_write_bytes"])
        out.append(((int(r["t_us"]) - t0) / 1e6, (w - int(p["proc_write_bytes"])) / 1024 / dt,
                    100 * (float(r["cpu_s"]) - float(p["cpu_s"])) / dt, (w - w0) / 1048576))
    return out


def reduce_run(R):
    """every figure of run R, as Figure objects with their series"""
    tenants = R.tenants()
    f = {n: Figure(n, h) for n, h in (
        ("cumulative", "{t}: {y:.0f} messages by {x:.2f} s"),
        ("cumulative-mx", "{t}: {y:.0f} messages by {x:.2f} s"),
        ("relay-latency", "{t}: mean {y:.4f} s in the second at {x:.0f} s"),
        ("latency-cdf", "{t}: {y:.1%} within {x:.3f} s"),
        ("relay-latency-cdf", "{t}: {y:.1%} within {x:.4f} s"),
        ("mx1-arrivals", "{t}: {y:.0f} messages by {x:.2f} s"),
        ("arrivals", "{t}: {y:.0f} in the second at {x:.0f} s"),
        ("fairness", "{t}: index {y:.3f} in the window at {x:.0f} s"),
        ("windows", "{t}: {y:.0f} delivered in the window at {x:.0f} s"),
        ("fairness-demand", "{t}: index {y:.3f} in the window at {x:.0f} s"),
        ("completion", None),
        ("queues", "{t}: {y:.0f} queued at {x:.1f} s"),
        ("disk-writes", "{t}: {y:.2f} MiB by {x:.1f} s"),
        ("disk-rate", "{t}: {y:.0f} KiB/s at {x:.1f} s"),
        ("cpu", "{t}: {y:.1f}% of a core at {x:.1f} s"))}
    mxs = sorted({r["mx"] for v in R.variants for r in R.messages(v) if r["mx"] and r["offset_s"]})
    f["cumulative-mx"].panels = mxs
    for v in R.variants:
        msgs = [r for r in R.messages(v) if r["tenant"] != "-"]
        # messages received at each MX and at all of them (the study's "linear vs slowed")
        for i, m in enumerate(mxs):
            pts = cum_counts(floats(msgs, "offset_s", lambda r: r["mx"] == m))
            f["cumulative"].add(v, m, pts, dt=2 + i)
            f["cumulative-mx"].add(v, m, pts, lw=2, panel=i + 1)
        f["cumulative"].add(v, "all MXs", cum_counts(floats(msgs, "offset_s")), lw=3.5)
        accepted = R.accepted(v)
        ts = R.timeseries(v)
        for dt, t in enumerate(tenants, 1):
            mine = [r for r in msgs if r["tenant"] == t]
            f["relay-latency"].add(v, t, [(float(r["bin_start_s"]), float(r["mean_relay_latency_s"])) for r in ts
                                          if r["group"] == t and r["mean_relay_latency_s"] and float(r["mean_relay_latency_s"]) > 0], dt=dt)
            # every submitted message counts: undelivered ones keep the curve below 1
            n = sum(1 for r in accepted if r["tenant"] == t)
            if n:
                f["latency-cdf"].add(v, t, cdf(floats(mine, "e2e_latency_s"), 0.001, n), dt=dt)
            f["relay-latency-cdf"].add(v, t, cdf(floats(mine, "relay_latency_s"), 0.0001), dt=dt)
            f["mx1-arrivals"].add(v, t, cum_counts(floats(
                mine, "offset_s", lambda r: r["mx"] == "mx1" or r["mx"].startswith("mx1."))), dt=dt)
            f["arrivals"].add(v, t, [(float(r["bin_start_s"]), int(r["received"])) for r in ts if r["group"] == t], dt=dt)
        f["fairness"].add(v, "", windowed_fairness(ts, WINDOW))
        wins = windows(R.mua(v), R.messages(v), WINDOW)
        for dt, t in enumerate(tenants, 1):
            pts = [(k * WINDOW, row[t][0]) for k, row in enumerate(wins) if t in row]
            if pts:  # the last window closed by a point at its end, so steps show it
                pts.append((pts[-1][0] + WINDOW, pts[-1][1]))
            f["windows"].add(v, t, pts, dt=dt)
        f["fairness-demand"].add(v, "", [(s, j) for s, j, _ in demand_fairness(R.mua(v), R.messages(v), WINDOW)])
        # completion: the last arrival of each MSA's mail and of all of it, labelled
        # delivered/submitted, since a variant that delivered less may look faster
        bars = []
        for t in tenants + ["all"]:
            got = floats(msgs, "offset_s", lambda r: t == "all" or r["tenant"] == t)
            nsub = sum(1 for r in accepted if t == "all" or r["tenant"] == t)
            bars.append((t, max(got) if got else float("nan"), "%d/%d" % (len(got), nsub)))
        f["completion"].add(v, "", bars)
        s = R.sampler(v)
        if s:
            t0 = int(s[0]["t_us"])
            # NAME_incoming, NAME_active, NAME_deferred per Postfix instance
            hosts = sorted(c[:-len("_incoming")] for c in s[0] if c.endswith("_incoming"))
            for dt, host in enumerate(hosts, 1):
                f["queues"].add(v, host, [((int(r["t_us"]) - t0) / 1e6, sum(
                    int(r[host + q]) for q in ("_incoming", "_active", "_deferred"))) for r in s], dt=dt)
            rates = agg_rates(s)
            for name, col in (("disk-rate", 1), ("cpu", 2), ("disk-writes", 3)):
                f[name].add(v, "", [(x[0], x[col]) for x in rates])
    for fig in f.values():  # a series of the whole variant is titled by the variant alone
        for s in fig.series:
            s["title"] = s["title"].rstrip(": ")
    return [fig for fig in f.values() if fig.series or fig.name == "fairness-demand"]


def thin(pts):
    """at most MAX_POINTS of pts, evenly spaced by rank, the first and the last kept (a
    30,000-message curve drawn at 1,000 pixels looks the same and its SVG stays small)"""
    if len(pts) <= MAX_POINTS:
        return pts
    return [pts[round(i * (len(pts) - 1) / (MAX_POINTS - 1))] for i in range(MAX_POINTS)]


def number(x):
    """x as data text: NaN for not-a-number, integers without a point"""
    if isinstance(x, float) and math.isnan(x):
        return "NaN"
    return "%d" % x if isinstance(x, int) or float(x).is_integer() else "%.6g" % x


def write(fig, fig_dir):
    """fig's points as one TSV (a block per series, at most MAX_POINTS of them, HOVER_POINTS
    of those labelled) and
    its series as FIG_DIR/NAME.json; returns the spec"""
    os.makedirs(os.path.join(fig_dir, "data"), exist_ok=True)
    path = os.path.join(fig_dir, "data", fig.name + ".tsv")
    series = []
    with open(path, "w") as out:
        for b, s in enumerate(fig.series):
            pts = thin(s["points"])
            marks = {round(i * (len(pts) - 1) / (HOVER_POINTS - 1)) for i in range(HOVER_POINTS)} if fig.hover else set()
            for i, p in enumerate(pts):
                if len(p) == 3:  # a labelled bar: category, value, label
                    out.write("%s\t%s\t%s\n" % (p[0], number(p[1]), p[2]))
                else:
                    text = fig.hover.format(t=s["title"], x=p[0], y=p[1]) if i in marks else ""
                    out.write("%s\t%s\t%s\n" % (number(p[0]), number(p[1]), text.replace("'", "")))
            out.write("\n\n")
            series.append({k: s[k] for k in ("title", "color", "dt", "lw", "panel")} | {
                "file": os.path.join("data", fig.name + ".tsv"), "block": b})
    spec = {"figure": fig.name, "panels": fig.panels, "series": series}
    json.dump(spec, open(os.path.join(fig_dir, fig.name + ".json"), "w"), indent=1)
    return absolute(spec, fig_dir)


def absolute(spec, fig_dir):
    """spec with its series' files as paths from here (they are kept relative to the
    run's figures directory, so that a run can move)"""
    return dict(spec, series=[dict(s, file=os.path.join(fig_dir, s["file"])) for s in spec["series"]])


def gp_string(s):
    """s as a gnuplot string literal"""
    return '"%s"' % s.replace("\\", "\\\\").replace('"', '\\"')


def gp_vars(spec):
    """the gnuplot statements that hand spec's series to its figure's script"""
    ss = spec["series"]
    out = ["N = %d" % len(ss)]
    for name, key, fmt in (("FILE", "file", gp_string), ("TITLE", "title", gp_string), ("COLOR", "color", gp_string),
                           ("DT", "dt", str), ("LW", "lw", str), ("BLOCK", "block", str), ("PANEL", "panel", str)):
        out.append("array %s[%d] = [%s]" % (name, max(len(ss), 1), ", ".join(fmt(s[key]) for s in ss) or "0"))
    ps = spec.get("panels") or []
    out.append("NP = %d" % len(ps))
    out.append("array PANELS[%d] = [%s]" % (max(len(ps), 1), ", ".join(gp_string(p) for p in ps) or '""'))
    return "; ".join(out)


def hover_titles(svg_path):
    """rewrites gnuplot's hypertext points in an SVG as <title> tooltips, which every
    browser shows on hover without a script"""
    s = open(svg_path, encoding="utf-8").read()
    s = re.sub(r"""<g onmousemove="gnuplot_svg\.showHypertext\(evt,'([^']*)'\)" onmouseout="gnuplot_svg\.hideHypertext\(\)"><title> </title>""",
               r'<g class="hover"><title>\1</title>', s)
    open(svg_path, "w", encoding="utf-8").write(s)


def draw(spec, out_base):
    """spec's figure as OUT_BASE.png and .svg by results/gp/NAME.gp; returns an error
    message or None"""
    for ext, term in TERMINALS:
        r = subprocess.run(["gnuplot", "-e", "GP = %s; set terminal %s; set output %s; %s" % (
            gp_string(GP + "/"), term, gp_string(out_base + "." + ext), gp_vars(spec)),
            os.path.join(GP, spec["figure"] + ".gp")], capture_output=True, text=True)
        if r.returncode != 0:
            return "%s.%s: %s" % (spec["figure"], ext, " ".join(r.stderr.strip().splitlines()[-3:]))
        if ext == "svg":
            hover_titles(out_base + ".svg")
    return None


def lighter(color):
    """color mixed half with white (run B's series in an overlay)"""
    r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    return "#%02x%02x%02x" % tuple((c + 255) // 2 for c in (r, g, b))


def overlay(a, b, out_dir):
    """every figure both runs drew, A's and B's series in one plot (B's wider and lighter) as
    OUT_DIR/NAME.png and .svg; returns [(figure, error or None)]"""
    os.makedirs(out_dir, exist_ok=True)
    done = []
    fa, fb = os.path.join(a, "figures"), os.path.join(b, "figures")
    for run, d in ((a, fa), (b, fb)):  # a run plotted before figures kept their series
        if not (os.path.isdir(d) and any(x.endswith(".json") for x in os.listdir(d))):
            for fig in reduce_run(Run(run)):
                write(fig, d)
    for name, _ in FIGURES:
        if not all(os.path.exists(os.path.join(d, name + ".json")) for d in (fa, fb)):
            continue
        sa, sb = (absolute(json.load(open(os.path.join(d, name + ".json"))), d) for d in (fa, fb))
        panels = sa["panels"] + [p for p in sb["panels"] if p not in sa["panels"]]
        series = []
        # B first, wide and light, under A: where the runs agree A's line runs inside B's
        for tag, spec in (("B", sb), ("A", sa)):
            for s in spec["series"]:
                s = dict(s, title="%s %s" % (tag, s["title"]))
                if tag == "B":
                    s["color"], s["lw"] = lighter(s["color"]), 2.5 * s["lw"]
                if s["panel"]:
                    s["panel"] = panels.index(spec["panels"][s["panel"] - 1]) + 1
                series.append(s)
        done.append((name, draw({"figure": name, "panels": panels, "series": series}, os.path.join(out_dir, name))))
    return done


def main():
    if len(sys.argv) == 2 and not sys.argv[1].startswith("-"):
        R = Run(sys.argv[1])
        if not R.variants:
            sys.exit("figures: %s has no variant with collect output" % sys.argv[1])
        fig_dir = os.path.join(sys.argv[1], "figures")
        failed = 0
        for fig in reduce_run(R):
            err = draw(write(fig, fig_dir), os.path.join(fig_dir, fig.name))
            if err:
                print("figures: " + err, file=sys.stderr)
                failed += 1
        sys.exit("figures: %d figures failed" % failed if failed else 0)
    elif len(sys.argv) == 5 and sys.argv[1] == "overlay":
        errs = [e for _, e in overlay(*sys.argv[2:5]) if e]
        for e in errs:
            print("figures: " + e, file=sys.stderr)
        sys.exit(1 if errs else 0)
    else:
        sys.exit(__doc__.strip().splitlines()[0] + "\n" + "\n".join(__doc__.strip().splitlines()[2:]))


if __name__ == "__main__":
    main()
