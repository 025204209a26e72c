"""Charts as inline SVG drawn on the server: bars per day, stacked when there are several series.

No chart library and no script: the page is complete as it arrives, prints, and works with no way
out of the network. Each chart is an ``<svg role="img">`` with a title and a description naming
the totals, and the page puts the same numbers in a table below it (templates/overview.html), so a
screen reader or a keyboard user gets every figure without the picture.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from itertools import count

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 200
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 10, 26
_ids = count(1)


@dataclass(frozen=True)
class Series:
    name: str
    values: list[float]
    css: str  # the bar's class: s1..s4 (static/console.css gives each a colour and a pattern)
    percent: bool = False


def _nice_max(value: float) -> float:
    """The axis' top: 1, 2 or 5 times a power of ten at or above ``value``."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)


def _fmt(value: float, percent: bool) -> str:
    if percent:
        return f"{value:.0f}%"
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


def bars(title: str, days: list[date], series: list[Series], summary: str) -> Markup:
    """One chart: a bar (a stack of bars) per day."""
    n = max(len(days), 1)
    totals = [sum(s.values[i] for s in series) for i in range(len(days))]
    percent = any(s.percent for s in series)
    top = 100.0 if percent else _nice_max(max(totals, default=0))
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = inner_w / n
    bar_w = max(1.0, slot * 0.7)
    ident = f"chart-{next(_ids)}"
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{ident}-t {ident}-d" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{ident}-t">{escape(title)}</title><desc id="{ident}-d">{escape(summary)}</desc>',
    ]
    for fraction in (0.0, 0.5, 1.0):  # grid lines and their values
        y = TOP + inner_h * (1 - fraction)
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        tick = _fmt(top * fraction, percent)
        parts.append(f'<text class="axis" x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end">{tick}</text>')
    for i, day in enumerate(days):
        x = LEFT + slot * i + (slot - bar_w) / 2
        base = 0.0
        for s in series:
            value = s.values[i]
            if value <= 0:
                continue
            h = inner_h * value / top
            y = TOP + inner_h - inner_h * base / top - h
            label = f"{day.isoformat()}: {s.name} {_fmt(value, s.percent)}"
            parts.append(
                f'<rect class="{s.css}" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}">'
                f"<title>{escape(label)}</title></rect>"
            )
            base += value
    for i in sorted({0, n // 2, n - 1}) if days else []:  # a few dates along the bottom
        x = LEFT + slot * i + slot / 2
        parts.append(f'<text class="axis" x="{x:.1f}" y="{HEIGHT - 8}" text-anchor="middle">{days[i]:%d %b}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def legend(series: list[Series]) -> Markup:
    items = "".join(f'<li><span class="swatch {s.css}" aria-hidden="true"></span>{escape(s.name)}</li>' for s in series)
    return Markup(f'<ul class="legend">{items}</ul>')
