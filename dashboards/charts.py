"""Server-side SVG charts for the printed report (no JavaScript in a PDF).

Plain hand-written SVG: horizontal bars for breakdowns (long Chinese labels read best that way),
vertical bars for monthly volumes and lines for monthly rates. Every chart in the report sits
next to a table with the same numbers, so the charts only need to be read at a glance.
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape

FONT = "Noto Sans CJK SC, WenQuanYi Zen Hei, sans-serif"
PALETTE = ("#1f6feb", "#d9480f", "#2b8a3e", "#9c36b5", "#e67700", "#0b7285")
INK = "#1d2733"
GRID = "#d0d7de"


def _text(x: float, y: float, text: str, *, size: int = 11, anchor: str = "start",
          fill: str = INK, weight: str = "normal") -> str:  # fmt: skip
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-family="{FONT}" font-size="{size}" '
        f'text-anchor="{anchor}" fill="{fill}" font-weight="{weight}">{escape(text)}</text>'
    )


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">'
        + _text(0, 14, title, size=13, weight="bold")
        + "".join(body)
        + "</svg>"
    )


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if value <= step * 5:
            return float(step * 5 if value > step * 4 else max(step * 4, value))
    return value


def hbar_chart(
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    title: str,
    unit: str = "",
    width: int = 460,
    maximum: float | None = None,
) -> str:
    """Horizontal bars, one per label; None draws no bar and shows "—"."""
    row = 22
    label_width = 110
    top = 28
    height = top + row * max(len(labels), 1) + 8
    peak = maximum or _nice_max(max([v for v in values if v is not None] or [0]))
    span = width - label_width - 60
    body: list[str] = []
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = top + index * row
        body.append(_text(label_width - 6, y + 14, label[:10], anchor="end"))
        if value is None:
            body.append(_text(label_width + 4, y + 14, "—", fill="#57606a"))
            continue
        length = span * (value / peak) if peak else 0
        body.append(
            f'<rect x="{label_width}" y="{y + 3}" width="{max(length, 1):.1f}" height="{row - 8}" '
            f'fill="{PALETTE[0]}" rx="2"/>'
        )
        shown = f"{value:.1f}{unit}" if unit == "%" else f"{value:g}{unit}"
        body.append(_text(label_width + length + 4, y + 14, shown, size=10))
    return _svg(width, height, body, title)


def vbar_chart(
    labels: Sequence[str], values: Sequence[float], *, title: str, width: int = 460
) -> str:
    """Vertical bars (monthly volumes)."""
    height, top, bottom, left = 200, 28, 36, 34
    peak = _nice_max(max(values or [0]))
    plot_w, plot_h = width - left - 8, height - top - bottom
    slot = plot_w / max(len(values), 1)
    body = _axis(left, top, plot_w, plot_h, peak, "")
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        bar_h = plot_h * value / peak if peak else 0
        x = left + index * slot + slot * 0.18
        body.append(
            f'<rect x="{x:.1f}" y="{top + plot_h - bar_h:.1f}" width="{slot * 0.64:.1f}" '
            f'height="{bar_h:.1f}" fill="{PALETTE[0]}"/>'
        )
        body.append(_text(x + slot * 0.32, top + plot_h - bar_h - 3, f"{value:g}", size=9,
                          anchor="middle"))  # fmt: skip
        body.append(_text(x + slot * 0.32, height - bottom + 14, label, size=9, anchor="middle"))
    return _svg(width, height, body, title)


def _axis(left: float, top: float, plot_w: float, plot_h: float, peak: float,
          unit: str) -> list[str]:  # fmt: skip
    body = []
    for step in range(5):
        value = peak * step / 4
        y = top + plot_h - plot_h * step / 4
        body.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w:.1f}" y2="{y:.1f}" '
            f'stroke="{GRID}" stroke-width="0.6"/>'
        )
        body.append(_text(left - 4, y + 3, f"{value:g}{unit}", size=9, anchor="end"))
    return body


def line_chart(
    labels: Sequence[str],
    series: dict[str, Sequence[float | None]],
    *,
    title: str,
    unit: str = "%",
    maximum: float = 100,
    width: int = 460,
) -> str:
    """Lines over months (rates); a missing value (—) breaks the line."""
    height, top, bottom, left = 220, 28, 54, 34
    plot_w, plot_h = width - left - 8, height - top - bottom
    slot = plot_w / max(len(labels), 1)
    body = _axis(left, top, plot_w, plot_h, maximum, unit)
    for index, label in enumerate(labels):
        body.append(_text(left + slot * (index + 0.5), top + plot_h + 14, label, size=9,
                          anchor="middle"))  # fmt: skip
    for number, (name, values) in enumerate(series.items()):
        colour = PALETTE[number % len(PALETTE)]
        points: list[str] = []
        segments: list[list[str]] = [points]
        for index, value in enumerate(values):
            if value is None:
                points = []
                segments.append(points)
                continue
            x = left + slot * (index + 0.5)
            y = top + plot_h - plot_h * min(value, maximum) / maximum
            points.append(f"{x:.1f},{y:.1f}")
            body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.2" fill="{colour}"/>')
        for segment in segments:
            if len(segment) > 1:
                body.append(
                    f'<polyline points="{" ".join(segment)}" fill="none" stroke="{colour}" '
                    'stroke-width="1.8"/>'
                )
        legend_x = left + number * 110
        body.append(
            f'<rect x="{legend_x}" y="{height - 16}" width="10" height="10" fill="{colour}"/>'
        )
        body.append(_text(legend_x + 14, height - 7, name, size=10))
    return _svg(width, height, body, title)
