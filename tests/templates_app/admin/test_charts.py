"""SVG charts: well-formed, escaped, self-contained, with axes, gaps and negative bars."""

from __future__ import annotations

from datetime import date, timedelta
from xml.etree import ElementTree

import pytest

from templates_app.admin.charts import (
    HEIGHT,
    Series,
    bar_chart,
    daily_charts,
    format_value,
    line_chart,
    nice_ticks,
)

LABELS = ["03-01", "03-02", "03-03", "03-04"]


def parse(svg: str) -> ElementTree.Element:
    return ElementTree.fromstring(svg)


def texts(root: ElementTree.Element) -> list[str]:
    return [t.text or "" for t in root.iter("text")]


def test_line_chart_is_well_formed_svg_with_title_axes_and_labels():
    svg = line_chart(
        chart="hit_ratio",
        title="Cache hit ratio",
        labels=LABELS,
        series=[Series("hit ratio", [50, 75, 100, 25], "#417690")],
        kind="percent",
        high=100,
    )
    root = parse(svg)
    assert root.tag == "svg" and root.get("data-chart") == "hit_ratio"
    assert root.get("role") == "img" and root.get("aria-label") == "Cache hit ratio"
    assert root.find("title").text == "Cache hit ratio"
    assert {"0%", "25%", "50%", "75%", "100%"} <= set(texts(root))
    assert {"03-01", "03-04"} <= set(texts(root))
    assert len(root.findall("polyline")) == 1 and len(root.findall("circle")) == 4


def test_text_is_escaped():
    svg = bar_chart(
        chart='x"><script>',
        title="<b>Tokens</b> & more",
        labels=["<a>", "b&c"],
        series=[Series("in<put>", [1, 2], "#000")],
    )
    root = parse(svg)
    assert "<script>" not in svg and "<b>" not in svg
    assert root.get("data-chart") == 'x"><script>'
    assert "<b>Tokens</b> & more" in texts(root)
    assert "in<put>" in texts(root) and "<a>" in texts(root)


def test_charts_load_nothing_and_run_nothing():
    svg = daily_charts(rows(3))["tokens"]
    for forbidden in ("http", "href", "<script", "url(", "xlink", "on" + "load"):
        assert forbidden not in svg


def test_none_breaks_the_line_and_draws_no_dot():
    root = parse(
        line_chart(
            chart="c",
            title="t",
            labels=[str(n) for n in range(6)],
            series=[Series("s", [1, 2, None, 3, 4, None], "#000")],
        )
    )
    assert len(root.findall("polyline")) == 2
    assert len(root.findall("circle")) == 4


def test_stacked_bars_go_up_and_negative_bars_go_down_from_zero():
    root = parse(
        bar_chart(
            chart="savings",
            title="Saved",
            labels=["a", "b"],
            series=[Series("saved", [2, 0], "#0a0"), Series("paid", [0, -1], "#a00")],
            kind="usd",
        )
    )
    zero = next(
        float(line.get("y1")) for line in root.iter("line") if line.get("stroke-opacity") == "0.5"
    )
    bars = [r for r in root.iter("rect") if r.find("title") is not None]
    up, down = bars
    assert float(up.get("y")) + float(up.get("height")) == pytest.approx(zero, abs=0.2)
    assert float(down.get("y")) == pytest.approx(zero, abs=0.2)
    assert "-$1.00" in down.find("title").text
    assert "-$1.00" in texts(root) and "$2.00" in texts(root)


def test_an_empty_chart_says_so_and_still_has_axes():
    root = parse(
        bar_chart(chart="c", title="t", labels=LABELS, series=[Series("s", [0] * 4, "#000")])
    )
    assert "no calls in this period" in texts(root)
    assert {"0", "1"} <= set(texts(root))


def test_x_labels_are_thinned_but_the_last_day_always_shows():
    labels = [f"d{n}" for n in range(30)]
    root = parse(
        bar_chart(chart="c", title="t", labels=labels, series=[Series("s", [1] * 30, "#000")])
    )
    shown = [t for t in texts(root) if t.startswith("d")]
    assert shown[-1] == "d29" and 4 <= len(shown) <= 8


def test_long_legends_wrap_and_push_the_plot_down():
    short = parse(bar_chart(chart="c", title="t", labels=["a"], series=[Series("s", [1], "#000")]))
    many = [Series(f"a rather long series name {n}", [1], "#000") for n in range(4)]
    wrapped = parse(bar_chart(chart="c", title="t", labels=["a"], series=many))
    assert max(float(t.get("y")) for t in wrapped.iter("text") if "series" in (t.text or "")) > 40

    def top(root):
        return min(float(r.get("y")) for r in root.iter("rect") if r.find("title") is not None)

    assert top(wrapped) > top(short)


@pytest.mark.parametrize(
    ("low", "high", "ticks"),
    [
        (0, 100, [0, 25, 50, 75, 100]),
        (0, 90, [0, 25, 50, 75, 100]),
        (0, 0, [0, 0.25, 0.5, 0.75, 1]),
        (0, 7, [0, 2, 4, 6, 8]),
        (-0.003, 0.012, [-0.005, 0, 0.005, 0.01, 0.015]),
        (5, 9, [0, 2.5, 5, 7.5, 10]),
    ],
)
def test_nice_ticks_are_round_and_include_zero(low, high, ticks):
    assert nice_ticks(low, high) == pytest.approx(ticks)


@pytest.mark.parametrize(
    ("value", "kind", "step", "text"),
    [
        (1500, "count", 0, "1.5k"),
        (2_000_000, "count", 0, "2M"),
        (12, "count", 0, "12"),
        (50, "percent", 25, "50%"),
        (0.5, "usd", 0.25, "$0.50"),
        (-0.0005, "usd", 0.0005, "-$0.0005"),
        (0.000123, "usd", 0, "$0.000123"),
    ],
)
def test_values_are_formatted_for_their_kind(value, kind, step, text):
    assert format_value(value, kind, step) == text


def rows(days: int) -> list[dict]:
    first = date(2026, 3, 1)
    return [
        {
            "date": first + timedelta(days=n),
            "hit_ratio": None if n % 2 else 0.5,
            "input_tokens": 100,
            "cache_read_tokens": 1000 * n,
            "cache_write_5m_tokens": 0,
            "cache_write_1h_tokens": 500,
            "output_tokens": 20,
            "saved_gross_usd": 0.01 * n,
            "write_overhead_usd": -0.002,
        }
        for n in range(days)
    ]


def test_daily_charts_give_the_three_charts_of_the_template_page():
    charts = daily_charts(rows(30))
    assert list(charts) == ["hit_ratio", "tokens", "savings"]
    for name, svg in charts.items():
        root = parse(svg)
        assert root.get("data-chart") == name
        assert root.get("viewBox") == f"0 0 {root.get('viewBox').split()[2]} {HEIGHT}"
    tokens = parse(charts["tokens"])
    legend = texts(tokens)
    assert {"uncached", "cache read", "write 5m", "write 1h", "output"} <= set(legend)
    assert "03-30" in texts(parse(charts["hit_ratio"]))
