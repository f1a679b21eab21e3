"""Inline SVG charts, drawn in Python: no JavaScript, no fonts or files from the network.

Each function returns one ``<svg>`` element with a ``data-chart`` name (the browser test finds
the charts by it), a ``viewBox`` so that it scales with the page, and a ``<title>`` that says
in words what the chart shows (screen readers, and a tooltip on hover).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

INK = "#1f2328"
MUTED = "#656d76"
GRID = "#d0d7de"
BLUE = "#0969da"
BLUE_LIGHT = "#b6d4fb"
AMBER = "#bf8700"
AMBER_LIGHT = "#f5e0a3"
RED = "#cf222e"
RED_LIGHT = "#ffebe9"
GREEN = "#1a7f37"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"


def _svg(name: str, width: int, height: int, title: str, body: list[str]) -> str:
    return (
        f'<svg data-chart="{escape(name)}" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'font-family="{FONT}" font-size="12" fill="{INK}">'
        f"<title>{escape(title)}</title>" + "".join(body) + "</svg>"
    )


def _text(x: float, y: float, text: str, **attrs: str | float) -> str:
    extra = " ".join(f'{k.replace("_", "-")}="{v}"' for k, v in attrs.items())
    return f'<text x="{x:.1f}" y="{y:.1f}" {extra}>{escape(text)}</text>'


def _nice_ticks(low: float, high: float, count: int = 4) -> list[float]:
    if high <= low:
        high = low + 1
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    ticks = []
    value = start
    while value <= high + step * 0.5:
        ticks.append(round(value, 10))
        value += step
    return ticks


def sparkline(
    name: str,
    values: Sequence[float | None],
    provisional: Sequence[bool],
    title: str,
    width: int = 220,
    height: int = 44,
) -> str:
    """A line over the days; provisional days (outcomes not yet known) as hollow dots, the
    last day (the reported one) as a large dot."""
    pad = 5
    known = [v for v in values if v is not None]
    body: list[str] = []
    if not known:
        body.append(_text(width / 2, height / 2 + 4, "no data", text_anchor="middle", fill=MUTED))
        return _svg(name, width, height, title, body)
    low, high = min(known), max(known)
    if high - low < 1e-9:
        low, high = low - 1, high + 1
    n = len(values)

    def x(i: int) -> float:
        return pad + i * (width - 2 * pad) / max(n - 1, 1)

    def y(v: float) -> float:
        return height - pad - (v - low) / (high - low) * (height - 2 * pad)

    segment: list[str] = []
    segments: list[list[str]] = []
    for i, v in enumerate(values):
        if v is None:
            if segment:
                segments.append(segment)
            segment = []
        else:
            segment.append(f"{x(i):.1f},{y(v):.1f}")
    if segment:
        segments.append(segment)
    for points in segments:
        if len(points) > 1:
            body.append(
                f'<polyline points="{" ".join(points)}" fill="none" stroke="{BLUE}" '
                'stroke-width="1.5" stroke-linejoin="round"/>'
            )
    for i, v in enumerate(values):
        if v is None:
            continue
        last = i == n - 1
        hollow = provisional[i] if i < len(provisional) else False
        colour = AMBER if hollow else BLUE
        body.append(
            f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="{3.5 if last else 2}" '
            f'fill="{"#fff" if hollow else colour}" stroke="{colour}" stroke-width="1.2"/>'
        )
    return _svg(name, width, height, title, body)


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    note: str = ""  # printed after the bar
    highlight: bool = False
    secondary: float | None = None  # a comparison value, drawn as a tick (e.g. last week)


def horizontal_bars(
    name: str,
    bars: Sequence[Bar],
    title: str,
    value_format: Callable[[float], str],
    secondary_label: str = "",
    width: int = 560,
) -> str:
    """One labelled bar per row; an optional comparison tick per bar."""
    row, top, label_w, note_w = 26, 8, 150, 175
    height = top + row * max(len(bars), 1) + (22 if secondary_label else 6)
    plot_w = width - label_w - note_w - 10
    high = max([b.value for b in bars] + [b.secondary or 0 for b in bars] + [1e-9])
    body: list[str] = []
    for i, b in enumerate(bars):
        y0 = top + i * row
        w = max(b.value / high * plot_w, 0.5)
        body.append(
            _text(label_w - 8, y0 + 16, _truncate(b.label, 22), text_anchor="end", fill=INK)
        )
        body.append(
            f'<rect x="{label_w}" y="{y0 + 4}" width="{w:.1f}" height="{row - 10}" rx="2" '
            f'fill="{RED if b.highlight else BLUE}"/>'
        )
        end = label_w + w
        if b.secondary is not None:
            sx = label_w + b.secondary / high * plot_w
            body.append(
                f'<line x1="{sx:.1f}" x2="{sx:.1f}" y1="{y0 + 1}" y2="{y0 + row - 3}" '
                f'stroke="{INK}" stroke-width="2"/>'
            )
            end = max(end, sx)  # the value is written clear of the tick
        shown = value_format(b.value) + (f"  {b.note}" if b.note else "")
        body.append(_text(end + 6, y0 + 16, shown))
    if secondary_label:
        y0 = height - 10
        body.append(
            f'<line x1="{label_w}" x2="{label_w}" y1="{y0 - 9}" y2="{y0 + 2}" stroke="{INK}" '
            'stroke-width="2"/>'
        )
        body.append(_text(label_w + 6, y0, secondary_label, fill=MUTED))
    return _svg(name, width, height, title, body)


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Point:
    label: str
    x: float
    y: float
    highlight: bool = False


def quadrant_scatter(
    name: str,
    points: Sequence[Point],
    x_median: float | None,
    y_median: float | None,
    title: str,
    x_label: str,
    y_label: str,
    x_format: Callable[[float], str],
    y_format: Callable[[float], str],
    trap_label: str = "AHT trap: fast, but customers come back",
    width: int = 560,
    height: int = 330,
) -> str:
    """Points against the two medians; the fast-but-repeating quadrant (left, top) shaded and
    its points labelled."""
    left, right, top, bottom = 58, 16, 30, 42
    body: list[str] = []
    if not points:
        body.append(_text(width / 2, height / 2, "no rated agents", text_anchor="middle"))
        return _svg(name, width, height, title, body)
    xs = [p.x for p in points] + ([x_median] if x_median is not None else [])
    ys = [p.y for p in points] + ([y_median] if y_median is not None else [])
    x_ticks = _nice_ticks(min(xs), max(xs))
    y_ticks = _nice_ticks(min(ys), max(ys))
    x0, x1, y0, y1 = x_ticks[0], x_ticks[-1], y_ticks[0], y_ticks[-1]
    plot_w, plot_h = width - left - right, height - top - bottom

    def sx(v: float) -> float:
        return left + (v - x0) / ((x1 - x0) or 1) * plot_w

    def sy(v: float) -> float:
        return top + plot_h - (v - y0) / ((y1 - y0) or 1) * plot_h

    if x_median is not None and y_median is not None:
        body.append(
            f'<rect x="{left}" y="{top}" width="{sx(x_median) - left:.1f}" '
            f'height="{sy(y_median) - top:.1f}" fill="{RED_LIGHT}"/>'
        )
        body.append(
            f'<rect x="{left}" y="8" width="12" height="12" fill="{RED_LIGHT}" stroke="{RED}" '
            'stroke-width="0.8"/>'
        )
        body.append(_text(left + 17, 18, trap_label, fill=RED, font_weight="600"))
    for t in x_ticks:
        body.append(
            f'<line x1="{sx(t):.1f}" x2="{sx(t):.1f}" y1="{top}" y2="{top + plot_h}" '
            f'stroke="{GRID}" stroke-width="0.6"/>'
        )
        body.append(_text(sx(t), top + plot_h + 16, x_format(t), text_anchor="middle", fill=MUTED))
    for t in y_ticks:
        body.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{sy(t):.1f}" y2="{sy(t):.1f}" '
            f'stroke="{GRID}" stroke-width="0.6"/>'
        )
        body.append(_text(left - 6, sy(t) + 4, y_format(t), text_anchor="end", fill=MUTED))
    if x_median is not None:
        body.append(
            f'<line x1="{sx(x_median):.1f}" x2="{sx(x_median):.1f}" y1="{top}" '
            f'y2="{top + plot_h}" stroke="{MUTED}" stroke-dasharray="4 3"/>'
        )
    if y_median is not None:
        body.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{sy(y_median):.1f}" '
            f'y2="{sy(y_median):.1f}" stroke="{MUTED}" stroke-dasharray="4 3"/>'
        )
    for p in sorted(points, key=lambda p: p.highlight):
        colour = RED if p.highlight else BLUE
        body.append(
            f'<circle cx="{sx(p.x):.1f}" cy="{sy(p.y):.1f}" r="{5 if p.highlight else 4}" '
            f'fill="{colour}" fill-opacity="{0.9 if p.highlight else 0.55}" stroke="#fff"/>'
        )
        if p.highlight:
            body.append(_text(sx(p.x) + 7, sy(p.y) + 4, p.label, fill=RED, font_size=11))
    body.append(
        _text(left + plot_w / 2, height - 6, x_label + " (dashed: median)", text_anchor="middle")
    )
    body.append(
        f'<text transform="translate(14 {top + plot_h / 2:.1f}) rotate(-90)" '
        f'text-anchor="middle">{escape(y_label)}</text>'
    )
    return _svg(name, width, height, title, body)


@dataclass(frozen=True)
class Stack:
    label: str
    solid: float  # e.g. mature
    light: float  # e.g. pending
    highlight: bool = False


def stacked_columns(
    name: str,
    stacks: Sequence[Stack],
    title: str,
    solid_label: str,
    light_label: str,
    width: int = 560,
    height: int = 210,
) -> str:
    """Columns of a solid part (known) under a light part (not yet known)."""
    left, right, top, bottom = 44, 8, 26, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    high = max([s.solid + s.light for s in stacks] + [1])
    ticks = _nice_ticks(0, high, 3)
    high = ticks[-1]
    slot = plot_w / max(len(stacks), 1)
    bar_w = slot * 0.7
    body: list[str] = []
    for t in ticks:
        y = top + plot_h - t / high * plot_h
        body.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}" '
            'stroke-width="0.6"/>'
        )
        body.append(_text(left - 6, y + 4, f"{t:,.0f}", text_anchor="end", fill=MUTED))
    for i, s in enumerate(stacks):
        x = left + i * slot + (slot - bar_w) / 2
        h_solid = s.solid / high * plot_h
        h_light = s.light / high * plot_h
        base = top + plot_h
        body.append(
            f'<rect x="{x:.1f}" y="{base - h_solid:.1f}" width="{bar_w:.1f}" '
            f'height="{h_solid:.1f}" fill="{BLUE}"/>'
        )
        body.append(
            f'<rect x="{x:.1f}" y="{base - h_solid - h_light:.1f}" width="{bar_w:.1f}" '
            f'height="{h_light:.1f}" fill="{AMBER_LIGHT}" stroke="{AMBER}" stroke-width="0.8"/>'
        )
        for line, text in enumerate(s.label.split("|")):  # "|" breaks a label's lines
            body.append(
                _text(
                    x + bar_w / 2,
                    base + 13 + 12 * line,
                    text,
                    text_anchor="middle",
                    fill=INK if s.highlight else MUTED,
                    font_weight="700" if s.highlight else "400",
                    font_size=11,
                )
            )
    # legend
    body.append(f'<rect x="{left}" y="6" width="12" height="12" fill="{BLUE}"/>')
    body.append(_text(left + 17, 16, solid_label))
    lx = left + 36 + len(solid_label) * 7.5
    body.append(
        f'<rect x="{lx:.1f}" y="6" width="12" height="12" fill="{AMBER_LIGHT}" '
        f'stroke="{AMBER}" stroke-width="0.8"/>'
    )
    body.append(_text(lx + 17, 16, light_label))
    return _svg(name, width, height, title, body)


def paired_bars(
    name: str,
    pairs: Sequence[tuple[str, float | None, str]],
    title: str,
    value_format: Callable[[float], str],
    missing: str = "not yet observable",
    width: int = 360,
) -> str:
    """A few labelled horizontal bars on one scale (e.g. churn after resolved vs not)."""
    row, label_w = 30, 130
    height = 10 + row * len(pairs)
    plot_w = width - label_w - 80
    high = max([v for _, v, _ in pairs if v is not None] + [1e-9])
    body: list[str] = []
    for i, (label, value, colour) in enumerate(pairs):
        y0 = 6 + i * row
        body.append(_text(label_w - 8, y0 + 17, label, text_anchor="end"))
        if value is None:
            body.append(_text(label_w, y0 + 17, missing, fill=MUTED, font_style="italic"))
            continue
        w = max(value / high * plot_w, 0.5)
        body.append(
            f'<rect x="{label_w}" y="{y0 + 4}" width="{w:.1f}" height="{row - 10}" rx="2" '
            f'fill="{colour}"/>'
        )
        body.append(_text(label_w + w + 6, y0 + 17, value_format(value), font_weight="600"))
    return _svg(name, width, height, title, body)
