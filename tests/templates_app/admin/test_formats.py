"""One way to write money, counts and ratios in the admin (admin/formats.py), on every page
that shows one: the catalog, the charts' tooltips, the analytics, the TTL advisor, the
invocation pages, API keys. The browser's copy (formats.js) is held to these rules by
tests/browser/test_pages.py."""

from __future__ import annotations

import math
from datetime import date, timedelta
from decimal import Decimal
from xml.etree import ElementTree

import pytest
from django.template import Context, Template
from django.urls import reverse

from gateway.catalog import get_profile
from templates_app.admin import catalog, charts, formats
from templates_app.models import ApiKey, Invocation
from tests.factories import make_checkpoint, make_invocation, make_template, make_version
from tests.templates_app.admin.test_pages import change_url, dom, login


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "—"),
        (0, "$0.00"),
        (Decimal("0.0240000000"), "$0.024"),
        (0.022544, "$0.022544"),
        (1204.1, "$1,204.10"),
        (-1.5, "-$1.50"),
        (-0.0000001, "$0.00"),  # a loss too small to show has no sign
        (0.0078125, "$0.007813"),  # an exact tie rounds away from zero
        (-0.0000015, "-$0.000002"),
        (1e21, "$1,000,000,000,000,000,000,000.00"),
        (math.nan, "—"),
        (math.inf, "—"),
    ],
)
def test_usd_writes_dollars_with_two_to_six_decimals(value, text):
    assert formats.usd(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "—"),
        (3797, "3,797"),
        (2.5, "3"),
        (-2.5, "-3"),
        (-0.4, "0"),
        (1e20, "100,000,000,000,000,000,000"),
    ],
)
def test_count_writes_whole_numbers_with_separators(value, text):
    assert formats.count(value) == text


@pytest.mark.parametrize(
    ("ratio", "text"),
    [(None, "—"), (0.87, "87%"), (0.125, "13%"), (-0.004, "0%"), (1, "100%"), (1e307, "—")],
)
def test_percent_writes_a_ratio_as_a_whole_percentage(ratio, text):
    assert formats.percent(ratio) == text


def test_the_template_filters_are_the_formats():
    rendered = Template("{% load cachet_format %}{{ a|usd }} {{ b|count }} {{ c|percent }}").render(
        Context({"a": 0.0051, "b": 12345, "c": 0.5})
    )
    assert rendered == "$0.0051 12,345 50%"


# --- the pages ----------------------------------------------------------------------------


def test_the_catalog_writes_prices_as_dollars_and_limits_as_counts():
    profile = get_profile("sim/claude-sonnet-4-5")
    row = catalog.profile_row(profile)
    assert row["prices"][0] == formats.usd(profile.prices.input)
    assert row["prices"][0].startswith("$")
    figures = {figure["name"]: figure["value"] for figure in row["figures"]}
    assert figures["min tokens"] == formats.count(profile.min_tokens) == "1,024"


def test_chart_tooltips_write_exact_figures_and_money_ticks_as_dollars():
    tokens = ElementTree.fromstring(
        charts.bar_chart(
            chart="t", title="t", labels=["a"], series=[charts.Series("read", [3797], "#000")]
        )
    )
    assert [t.text for t in tokens.iter("title")][-1] == "a · read: 3,797"
    money = ElementTree.fromstring(
        charts.bar_chart(
            chart="m",
            title="m",
            labels=["a"],
            series=[charts.Series("saved", [0.0123456], "#000")],
            kind="usd",
        )
    )
    assert [t.text for t in money.iter("title")][-1] == "a · saved: $0.012346"
    ticks = [t.text for t in money.iter("text") if (t.text or "").startswith("$")]
    assert ticks and all(tick == formats.usd(float(tick[1:])) for tick in ticks)
    ratio = ElementTree.fromstring(
        charts.line_chart(
            chart="r",
            title="r",
            labels=["a"],
            series=[charts.Series("hit", [87.5], "#000")],
            kind="percent",
            high=100,
        )
    )
    assert [t.text for t in ratio.iter("title")][-1] == "a · hit: 88%"


def test_daily_savings_tooltips_are_dollars():
    rows = [
        {
            "date": date(2026, 3, 1) + timedelta(days=n),
            "hit_ratio": 0.5,
            "input_tokens": 1200,
            "cache_read_tokens": 0,
            "cache_write_5m_tokens": 0,
            "cache_write_1h_tokens": 0,
            "output_tokens": 0,
            "saved_gross_usd": 0.01,
            "write_overhead_usd": -0.002,
        }
        for n in range(2)
    ]
    svgs = charts.daily_charts(rows)
    assert "03-02 · uncached: 1,200" in svgs["tokens"]
    assert "03-02 · paid for writes: -$0.002" in svgs["savings"]


@pytest.mark.django_db
def test_the_template_page_writes_its_counts_with_separators():
    root = login("root", superuser=True)
    template = make_template()
    version = make_version(template)
    Invocation.objects.bulk_create(
        [make_invocation(version, checkpoints=[make_checkpoint()]) for _ in range(1001)]
    )
    page = dom(root.get(change_url(template)))
    assert "1,001 calls" in page.find(id="analytics").text
    assert "1,001 calls" in page.find(id="ttl-advice").text


@pytest.mark.django_db
def test_the_invocation_list_counts_with_separators_past_its_cap(monkeypatch):
    from templates_app.admin.model_admins import CappedPaginator

    root = login("root", superuser=True)
    monkeypatch.setattr(CappedPaginator, "cap", 1000)
    version = make_version()
    Invocation.objects.bulk_create([make_invocation(version) for _ in range(1001)])
    page = root.get(reverse("admin:templates_app_invocation_changelist")).content.decode()
    assert "more than 1,000 invocations" in page


@pytest.mark.django_db
def test_an_api_keys_rate_limit_is_a_count():
    root = login("root", superuser=True)
    key, _ = ApiKey.generate(name="busy")
    key.rate_limit_per_minute = 12000
    key.save()
    page = root.get(reverse("admin:templates_app_apikey_changelist")).content.decode()
    assert "12,000" in page
