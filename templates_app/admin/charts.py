"""Server-rendered SVG charts: labelled series in, an SVG string out. Pure: no Django.

The SVG is meant to be inlined in an HTML page: it carries no script, loads nothing,
and every piece of text is XML-escaped, so it is well-formed XML too. Text and axes
use ``currentColor`` so the chart follows the page's light or dark theme. Values may
be ``None`` (no data that day): a line chart leaves a gap, a bar chart draws nothing.

A tooltip writes its figure exactly, as every admin page does (``formats.py``); axis ticks
keep a compact style (1.2k, 45%), money ticks excepted: dollars are always ``formats.usd``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from . import formats

WIDTH, HEIGHT = 480, 230
TITLE_HEIGHT, LEGEND_ROW, RIGHT, BOTTOM, LEFT = 30, 16, 14, 28, 62
MAX_X_LABELS = 8
FORMATS = ("count", "percent", "usd")
TOKEN_KINDS = (
    ("input_tokens", "uncached", "#79aec8"),
    ("cache_read_tokens", "cache read", "#3c9a5f"),
    ("cache_write_5m_tokens", "write 5m", "#e0a030"),
    ("cache_write_1h_tokens", "write 1h", "#c2571a"),
    ("output_tokens", "output", "#8a6bb8"),
)


@dataclass(frozen=True)
class Series:
    """One named run of values, one per label, drawn in ``color``."""

    name: str
    values: Sequence[float | None]
    color: str


@dataclass(frozen=True)
class _Frame:
    low: float
    high: float
    ticks: list[float]
    count: int
    top: float

    @property
    def band(self) -> float:
        return (WIDTH - RIGHT - LEFT) / max(self.count, 1)

    def x(self, index: int) -> float:
        return LEFT + self.band * (index + 0.5)

    def y(self, value: float) -> float:
        span = (self.high - self.low) or 1.0
        return HEIGHT - BOTTOM - (value - self.low) / span * (HEIGHT - BOTTOM - self.top)


def nice_ticks(low: float, high: float, count: int = 4) -> list[float]:
    """Round tick values (steps of 1, 2 or 5 × 10^n) covering ``low``..``high``, 0 included."""
    low, high = min(low, 0.0), max(high, 0.0)
    if high - low <= 0:
        high = low + 1.0
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step + 1e-9)
    ticks = []
    while not ticks or ticks[-1] < high - step * 1e-9:
        ticks.append(round((first + len(ticks)) * step, 12))
    return ticks


def format_value(value: float, kind: str, step: float = 0.0) -> str:
    """A tick label: ``count`` (1.2k, 3M), ``percent`` (45%, a value from 0 to 100) or
    ``usd`` ($0.012, as ``formats.usd``)."""
    if kind == "percent":
        return f"{value:.0f}%" if step >= 1 or step == 0 else f"{value:.1f}%"
    if kind == "usd":
        return formats.usd(value)
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.3g}{suffix}"
    return f"{value:.3g}" if value != int(value) else str(int(value))


def exact_value(value: float, kind: str) -> str:
    """A tooltip's figure, as every admin page writes it: ``3,797``, ``45%``, ``$0.0123``."""
    if kind == "percent":
        return formats.percent(value / 100)
    return formats.usd(value) if kind == "usd" else formats.count(value)


def line_chart(
    *,
    chart: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    kind: str = "count",
    high: float | None = None,
) -> str:
    """Lines over the labels, broken where a value is ``None``, with a dot and tooltip per value.

    ``high`` fixes the top of the y axis (100 for a percentage).
    """
    values = [v for s in series for v in s.values if v is not None]
    frame = _frame(labels, values, series, high=high)
    parts = []
    for one in series:
        for run in _runs(one.values):
            points = " ".join(f"{frame.x(i):.1f},{frame.y(v):.1f}" for i, v in run)
            parts.append(
                f'<polyline points="{points}" fill="none" stroke={quoteattr(one.color)} '
                'stroke-width="2" stroke-linejoin="round"/>'
            )
        for i, value in enumerate(one.values):
            if value is not None:
                tip = f"{labels[i]} · {one.name}: {exact_value(value, kind)}"
                parts.append(
                    f'<circle cx="{frame.x(i):.1f}" cy="{frame.y(value):.1f}" r="2.5" '
                    f"fill={quoteattr(one.color)}><title>{escape(tip)}</title></circle>"
                )
    return _svg(chart, title, labels, series, kind, frame, parts, empty=not values)


def bar_chart(
    *,
    chart: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    kind: str = "count",
) -> str:
    """Bars per label, the series stacked (positive values up, negative values down)."""
    totals_up = [sum(max(s.values[i] or 0, 0) for s in series) for i in range(len(labels))]
    totals_down = [sum(min(s.values[i] or 0, 0) for s in series) for i in range(len(labels))]
    frame = _frame(labels, [*totals_up, *totals_down], series)
    width = max(frame.band * 0.7, 1.0)
    up, down = [0.0] * len(labels), [0.0] * len(labels)
    parts = []
    for one in series:
        for i, value in enumerate(one.values):
            if not value:
                continue
            stack = up if value > 0 else down
            start, stack[i] = stack[i], stack[i] + value
            top, bottom = frame.y(max(start, stack[i])), frame.y(min(start, stack[i]))
            tip = f"{labels[i]} · {one.name}: {exact_value(value, kind)}"
            parts.append(
                f'<rect x="{frame.x(i) - width / 2:.1f}" y="{top:.1f}" width="{width:.1f}" '
                f'height="{max(bottom - top, 0.5):.1f}" fill={quoteattr(one.color)}>'
                f"<title>{escape(tip)}</title></rect>"
            )
    empty = not any(totals_up) and not any(totals_down)
    return _svg(chart, title, labels, series, kind, frame, parts, empty=empty)


def _frame(
    labels: Sequence[str],
    values: Sequence[float],
    series: Sequence[Series],
    *,
    high: float | None = None,
) -> _Frame:
    low, top = min(values, default=0.0), max(values, default=0.0)
    ticks = nice_ticks(low, high if high is not None else top)
    rows = max((row for row, _, _ in _legend_layout(series)), default=0) + 1
    return _Frame(
        low=ticks[0],
        high=ticks[-1],
        ticks=ticks,
        count=len(labels),
        top=TITLE_HEIGHT + rows * LEGEND_ROW + 4,
    )


def _runs(values: Sequence[float | None]) -> list[list[tuple[int, float]]]:
    """Consecutive non-``None`` values with their indexes; one point draws a dot only."""
    runs: list[list[tuple[int, float]]] = [[]]
    for i, value in enumerate(values):
        if value is None:
            runs.append([])
        else:
            runs[-1].append((i, value))
    return [run for run in runs if len(run) > 1]


def _svg(
    chart: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    kind: str,
    frame: _Frame,
    marks: list[str],
    *,
    empty: bool,
) -> str:
    if kind not in FORMATS:
        raise ValueError(f"kind must be one of {', '.join(FORMATS)}")
    step = frame.ticks[1] - frame.ticks[0] if len(frame.ticks) > 1 else 0.0
    parts = [
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" '
        f"data-chart={quoteattr(chart)} aria-label={quoteattr(title)} "
        'font-family="inherit" font-size="11" class="cachet-chart">',
        f"<title>{escape(title)}</title>",
        f'<text x="{LEFT}" y="16" font-size="13" font-weight="bold" fill="currentColor">'
        f"{escape(title)}</text>",
        *_legend(series),
    ]
    for tick in frame.ticks:
        y = frame.y(tick)
        opacity = "0.5" if tick == 0 else "0.15"
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="currentColor" stroke-opacity="{opacity}"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="currentColor">'
            f"{escape(format_value(tick, kind, step))}</text>"
        )
    every = max(1, math.ceil(len(labels) / MAX_X_LABELS))
    for i, label in enumerate(labels):
        if (len(labels) - 1 - i) % every == 0:  # the last label (today) always shows
            parts.append(
                f'<text x="{frame.x(i):.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
                f'fill="currentColor">{escape(label)}</text>'
            )
    parts.append(
        f'<line x1="{LEFT}" x2="{LEFT}" y1="{frame.top}" y2="{HEIGHT - BOTTOM}" '
        'stroke="currentColor" stroke-opacity="0.5"/>'
    )
    parts += marks
    if empty:
        parts.append(
            f'<text x="{(LEFT + WIDTH - RIGHT) / 2:.0f}" '
            f'y="{(frame.top + HEIGHT - BOTTOM) / 2:.0f}" '
            'text-anchor="middle" fill="currentColor" opacity="0.7">no calls in this period</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _legend_layout(series: Sequence[Series]) -> list[tuple[int, float, Series]]:
    """(row, x, series) of each legend entry, wrapping at the right edge."""
    layout, row, x = [], 0, float(LEFT)
    for one in series:
        width = 14 + 6.5 * len(one.name)  # a rough text width is enough for a legend
        if x > LEFT and x + width > WIDTH - RIGHT:
            row, x = row + 1, float(LEFT)
        layout.append((row, x, one))
        x += width + 16
    return layout


def _legend(series: Sequence[Series]) -> list[str]:
    parts = []
    for row, x, one in _legend_layout(series):
        y = TITLE_HEIGHT + row * LEGEND_ROW
        parts.append(
            f'<rect x="{x:.0f}" y="{y - 4}" width="10" height="10" fill={quoteattr(one.color)}/>'
            f'<text x="{x + 14:.0f}" y="{y + 5}" fill="currentColor">{escape(one.name)}</text>'
        )
    return parts


def daily_charts(rows: Sequence[dict[str, Any]]) -> dict[str, str]:
    """The template page's charts from per-day rows (``date``, ``hit_ratio``, token counts,
    ``saved_gross_usd``, ``write_overhead_usd``): cache hit ratio, tokens by kind, savings."""
    labels = [row["date"].strftime("%m-%d") for row in rows]
    ratios = [None if row["hit_ratio"] is None else row["hit_ratio"] * 100 for row in rows]
    tokens = [Series(name, [row[key] for row in rows], color) for key, name, color in TOKEN_KINDS]
    return {
        "hit_ratio": line_chart(
            chart="hit_ratio",
            title="Cache hit ratio (successful calls that read the cache)",
            labels=labels,
            series=[Series("hit ratio", ratios, "#417690")],
            kind="percent",
            high=100,
        ),
        "tokens": bar_chart(chart="tokens", title="Tokens by kind", labels=labels, series=tokens),
        "savings": bar_chart(
            chart="savings",
            title="Saved by caching per day (USD)",
            labels=labels,
            series=[
                Series("saved on reads", [row["saved_gross_usd"] for row in rows], "#3c9a5f"),
                Series("paid for writes", [row["write_overhead_usd"] for row in rows], "#c2571a"),
            ],
            kind="usd",
        ),
    }
