#!/usr/bin/env python3
"""Draws benchmark results as one SVG (Python 3.11, standard library only).

    python3 bench/chart.py RESULTS.jsonl OUT.svg [--title TEXT]

RESULTS.jsonl holds one JSON object per line, e.g.

    {"system": "storegate-rest", "engine": "postgres", "workload": "product",
     "connections": 64, "ops_per_s": 12345.6, "p99_ms": 4.56, "errors": 0, ...}

Each workload (and connection count, when there are several) gets one row of
two panels: operations per second (higher is better) and p99 latency (lower
is better), one bar per system + engine. Bars are scaled per panel, since
workloads differ by orders of magnitude. Blank lines and lines starting with
`#` are skipped. Lines of several rounds of bench/compare.sh (a `round`
field) are combined as bench/report.py combines them; otherwise, when a
system + engine + workload + connections appears more than once, the last
line wins (with a warning on stderr).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from html import escape

from report import combine  # bench/report.py: one rule for combining rounds

WORKLOAD_ORDER = ["product", "product_with_factory", "products_page", "store", "write_mix"]
WORKLOAD_TITLES = {
    "product": "product: one product with its factory's id and name",
    "product_with_factory": "product_with_factory: one product with its full factory",
    "products_page": "products_page: 100 products with their full factories",
    "store": "store: one store with its 20 items",
    "write_mix": "write_mix: create an item / update a todo",
}
SYSTEM_ORDER = ["storegate-rest", "storegate-graphql", "postgraphile", "flask", "ceiling"]
ENGINE_ORDER = ["postgres", "sqlite"]
# One hue per system (Okabe-Ito, colour-blind safe); sqlite is a lighter tint.
SYSTEM_COLOURS = {
    "storegate-rest": "#0072B2",
    "storegate-graphql": "#009E73",
    "postgraphile": "#D55E00",
    "flask": "#CC79A7",
    "ceiling": "#7F7F7F",
}
FALLBACK_COLOURS = ["#E69F00", "#56B4E9", "#F0E442", "#000000"]

FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
# Layout, in SVG user units (pixels).
MARGIN = 24
LABEL_GAP = 10
OPS_PLOT_W = 430
P99_PLOT_W = 230
PANEL_GAP = 46
BAR_H = 18
BAR_GAP = 7
ROW_TITLE_H = 24
AXIS_H = 38
ROW_GAP = 22


@dataclass(frozen=True)
class Result:
    system: str
    engine: str
    workload: str
    connections: int | None
    ops: float
    p99: float | None
    errors: int


def to_result(row: dict) -> Result:
    ops = row.get("ops_per_s", row.get("rps"))
    return Result(
        system=str(row["system"]),
        engine=str(row.get("engine", "")),
        workload=str(row["workload"]),
        connections=int(row["connections"]) if row.get("connections") is not None else None,
        ops=float(ops),
        p99=float(row["p99_ms"]) if row.get("p99_ms") is not None else None,
        errors=int(row.get("errors") or 0),
    )


def read_results(path: str) -> list[Result]:
    """Reads the JSON lines: rounds combined, else the last line wins for a repeated key."""
    found: dict[tuple, Result] = {}
    rounds: dict[tuple, list[dict]] = {}
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            try:
                row = json.loads(line)
                if row.get("round") is not None:
                    key = (str(row["system"]), str(row.get("engine", "")), str(row["workload"]))
                    rounds.setdefault(key, []).append(row)
                    continue
                result = to_result(row)
            except (ValueError, KeyError, TypeError) as e:
                sys.exit(f"chart: {path}:{number}: not a result line ({e!r})")
            key = (result.system, result.engine, result.workload, result.connections)
            if key in found:
                print(f"chart: {path}:{number}: repeats {key}; using this line", file=sys.stderr)
            found[key] = result
    for group in rounds.values():
        result = to_result(combine(group))
        found[(result.system, result.engine, result.workload, result.connections)] = result
    if not found:
        sys.exit(f"chart: {path}: no results")
    return list(found.values())


def order_key(order: list[str], value: str) -> tuple[int, str]:
    return (order.index(value), "") if value in order else (len(order), value)


def series_label(r: Result) -> str:
    return f"{r.system} ({r.engine})" if r.engine else r.system


def series_colour(r: Result, others: dict[str, str]) -> str:
    base = SYSTEM_COLOURS.get(r.system)
    if base is None:
        base = others.setdefault(r.system, FALLBACK_COLOURS[len(others) % len(FALLBACK_COLOURS)])
    return tint(base, 0.45) if r.engine == "sqlite" else base


def tint(hex_colour: str, amount: float) -> str:
    """Mixes a colour with white."""
    rgb = [int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(c + (255 - c) * amount):02X}" for c in rgb)


def nice_ticks(maximum: float, most: int) -> list[float]:
    """Round tick values from 0 to the smallest round top >= `maximum`, in 2 to `most` intervals."""
    if maximum <= 0:
        return [0.0, 1.0]
    best = None
    for exponent in range(math.floor(math.log10(maximum)) - 2, math.floor(math.log10(maximum)) + 1):
        for mantissa in (1, 2, 2.5, 5):
            step = mantissa * 10**exponent
            count = math.ceil(maximum / step - 1e-9)
            if 2 <= count <= most and (best is None or count * step < best[0] * best[1]):
                best = (count, step)
    count, step = best if best else (1, maximum)
    return [i * step for i in range(count + 1)]


def fmt_ops(v: float) -> str:
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:,.1f}"
    return f"{v:,.2f}"


def fmt_ms(v: float) -> str:
    if v >= 100:
        return f"{v:,.0f} ms"
    if v >= 10:
        return f"{v:.1f} ms"
    return f"{v:.2f} ms"


def fmt_tick(v: float) -> str:
    if v >= 1_000_000:
        return f"{v / 1_000_000:g}M"
    if v >= 1000:
        return f"{v / 1000:g}k"
    return f"{v:g}"


def error_text(r: Result) -> str:
    return f"⚠ {r.errors:,} error" + ("" if r.errors == 1 else "s")


def error_width(r: Result) -> float:
    return 6 + text_width(error_text(r), 10) if r.errors else 0


def text_width(text: str, size: float) -> float:
    """A generous estimate of rendered width (no font metrics here)."""
    return len(text) * size * 0.6


class Svg:
    def __init__(self) -> None:
        self.parts: list[str] = []

    def add(self, s: str) -> None:
        self.parts.append(s)

    def text(self, x, y, s, size=12, anchor="start", weight="normal", fill="#222", extra="") -> None:
        self.add(
            f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
            f'font-weight="{weight}" fill="{fill}"{extra}>{escape(s)}</text>'
        )

    def rect(self, x, y, w, h, fill, extra="", tooltip=None) -> None:
        tag = f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{h:.1f}" fill="{fill}"{extra}'
        self.add(f"{tag}><title>{escape(tooltip)}</title></rect>" if tooltip else f"{tag}/>")

    def line(self, x1, y1, x2, y2, stroke="#ddd", width=1, extra="") -> None:
        self.add(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{stroke}" '
            f'stroke-width="{width}"{extra}/>'
        )


def draw_panel(
    svg: Svg,
    rows: list[Result],
    colours: dict[Result, str],
    x0: float,
    y0: float,
    plot_w: float,
    value_of,
    fmt_value,
    axis_label: str,
    best: str,
    show_errors: bool,
) -> None:
    """Bars from x0 (the axis) rightwards; rows top-down from y0."""
    values = [value_of(r) for r in rows]
    present = [v for v in values if v is not None]
    ticks = nice_ticks(max(present) if present else 0, 6 if plot_w >= 400 else 4)
    # Room right of the longest bar for its value (and error count).
    value_room = 12 + max(
        (text_width(fmt_value(v), 11) + (error_width(r) if show_errors else 0) for r, v in zip(rows, values) if v is not None),
        default=0,
    )
    scale = (plot_w - value_room) / ticks[-1]
    height = len(rows) * (BAR_H + BAR_GAP) - BAR_GAP
    for t in ticks:
        x = x0 + t * scale
        svg.line(x, y0 - 4, x, y0 + height + 4, stroke="#e3e3e3" if t else "#999")
        svg.text(x, y0 + height + 18, fmt_tick(t), size=10, anchor="middle", fill="#666")
    svg.text(x0 + (plot_w - value_room) / 2, y0 + height + 33, axis_label, size=11, anchor="middle", fill="#444")
    # The best real system is in bold (the ceiling is a reference, not a contender).
    contenders = [v for r, v in zip(rows, values) if v is not None and r.system != "ceiling"]
    winner = None
    if len(contenders) > 1:
        winner = max(contenders) if best == "max" else min(contenders)
    for i, (r, v) in enumerate(zip(rows, values)):
        y = y0 + i * (BAR_H + BAR_GAP)
        if v is None:
            svg.text(x0 + 6, y + BAR_H - 5, "not measured", size=11, fill="#888", extra=' font-style="italic"')
            continue
        w = v * scale
        svg.rect(x0, y, w, BAR_H, colours[r], extra=' rx="2"', tooltip=f"{series_label(r)}: {fmt_value(v)}")
        label = fmt_value(v)
        weight = "bold" if v == winner and r.system != "ceiling" else "normal"
        svg.text(x0 + w + 5, y + BAR_H - 5, label, size=11, weight=weight)
        if r.errors and show_errors:
            svg.text(
                x0 + w + 5 + text_width(label, 11) + 6,
                y + BAR_H - 5,
                error_text(r),
                size=10,
                fill="#B00020",
                weight="bold",
            )


def render(results: list[Result], title: str) -> str:
    others: dict[str, str] = {}
    series = sorted(
        {(r.system, r.engine) for r in results},
        key=lambda se: (order_key(SYSTEM_ORDER, se[0]), order_key(ENGINE_ORDER, se[1])),
    )
    connection_counts = sorted({r.connections for r in results if r.connections is not None}, reverse=True)
    panels = sorted(
        {(r.workload, r.connections) for r in results},
        key=lambda wc: (order_key(WORKLOAD_ORDER, wc[0]), -(wc[1] or 0)),
    )
    by_key = {(r.system, r.engine, r.workload, r.connections): r for r in results}
    colours = {r: series_colour(r, others) for r in results}
    has_p99 = any(r.p99 is not None for r in results)

    labels = [f"{s} ({e})" if e else s for s, e in series]
    label_w = max(text_width(s, 12) for s in labels)
    x_label = MARGIN + label_w  # right edge of the row labels
    x_ops = x_label + LABEL_GAP
    x_p99 = x_ops + OPS_PLOT_W + PANEL_GAP
    width = (x_p99 + P99_PLOT_W if has_p99 else x_ops + OPS_PLOT_W) + MARGIN
    width = max(width, 2 * MARGIN + text_width(title, 20))

    svg = Svg()
    y = MARGIN + 20
    svg.text(MARGIN, y, title, size=20, weight="bold")
    subtitle = "bars scaled per panel"
    if len(connection_counts) == 1:
        subtitle = f"{connection_counts[0]} concurrent connections · " + subtitle
    y += 22
    svg.text(MARGIN, y, subtitle, size=12, fill="#555")

    # Legend: one swatch per system + engine, wrapped to the chart width.
    y += 22
    lx = MARGIN
    for (s, e), label in zip(series, labels):
        sample = next(r for r in results if r.system == s and r.engine == e)
        item_w = 14 + 6 + text_width(label, 12) + 18
        if lx + item_w > width - MARGIN and lx > MARGIN:
            lx = MARGIN
            y += 20
        svg.rect(lx, y - 11, 14, 14, colours[sample], extra=' rx="2"')
        svg.text(lx + 20, y + 1, label, size=12)
        lx += item_w
    y += 22

    for workload, connections in panels:
        rows = [by_key[k] for s, e in series if (k := (s, e, workload, connections)) in by_key]
        y += ROW_GAP
        heading = WORKLOAD_TITLES.get(workload, workload)
        if len(connection_counts) > 1 and connections is not None:
            heading += f" · {connections} connection" + ("" if connections == 1 else "s")
        svg.text(MARGIN, y, heading, size=14, weight="bold")
        y_rows = y + ROW_TITLE_H - 8
        for i, label in enumerate(series_label(r) for r in rows):
            svg.text(x_label, y_rows + i * (BAR_H + BAR_GAP) + BAR_H - 5, label, size=12, anchor="end")
        draw_panel(
            svg, rows, colours, x_ops, y_rows, OPS_PLOT_W,
            lambda r: r.ops, fmt_ops, "operations per second (higher is better)", "max", True,
        )  # fmt: skip
        if has_p99:
            draw_panel(
                svg, rows, colours, x_p99, y_rows, P99_PLOT_W,
                lambda r: r.p99, fmt_ms, "p99 latency, ms (lower is better)", "min", False,
            )  # fmt: skip
        y = y_rows + len(rows) * (BAR_H + BAR_GAP) - BAR_GAP + AXIS_H
    height = y + MARGIN

    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="{FONT}">'
        f"<title>{escape(title)}</title>"
        f'<rect width="100%" height="100%" fill="#fff"/>'
    )
    return "\n".join([head, *svg.parts, "</svg>", ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", help="JSON lines, one result per line")
    parser.add_argument("output", help="SVG file to write")
    parser.add_argument("--title", default="storegate vs PostGraphile and Flask: throughput and p99 latency")
    args = parser.parse_args()
    try:
        svg = render(read_results(args.results), args.title)
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(svg)
    except OSError as e:
        sys.exit(f"chart: {e}")


if __name__ == "__main__":
    main()
