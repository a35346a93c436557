"""The admin index's overview (spend, savings, caching across templates, the costliest
templates, failing caching) and the template list's columns: figures from the rollups equal to
the stats API's, reasons with links, the empty state, and queries that do not grow with rows."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from templates_app import selectors, services
from templates_app.admin import formats, overview
from templates_app.admin.model_admins import lint_state
from templates_app.models import ApiKey, Invocation, Version
from tests.factories import DOCUMENT, make_body, make_invocation, make_template, make_version
from tests.templates_app.admin.test_pages import dom, login

pytestmark = pytest.mark.django_db

INDEX = "/admin/"
TEMPLATE_LIST = "/admin/templates_app/template/"
FIGURES = ("calls", "cost_usd", "saved_usd", "hit_ratio", "cache_write_tokens")
SHORT = {"document": "Uptime is 99.9%.", "question": "Uptime?"}  # below the 1,024-token minimum


@pytest.fixture
def root():
    return login("root", superuser=True)


def cached_body(**overrides):
    """A body whose cached prefix is long static text: it caches whatever the samples."""
    body = make_body(**overrides)
    body["messages"][0]["content"][0]["text"] = DOCUMENT
    return body


def uncached_body():
    """A body that marks nothing for caching."""
    body = make_body()
    del body["messages"][0]["content"][1]["cache_control"]
    return body


def call(version, *, ago=timedelta(minutes=1), **fields):
    """One stored successful call of ``version``, ``ago`` before now (added to its rollup)."""
    values = {
        "input_tokens": 100,
        "output_tokens": 20,
        "cost_usd": Decimal("0.0100"),
        "cost_without_cache_usd": Decimal("0.0150"),
        "saved_usd": Decimal("0.0050"),
        "created_at": timezone.now() - ago,
        **fields,
    }
    invocation = make_invocation(version, **values)
    invocation.save()
    return invocation


def hit(version, **fields):
    return call(version, cache_read_tokens=1500, cache_write_1h_tokens=0, **fields)


def write(version, **fields):
    return call(version, cache_read_tokens=0, cache_write_1h_tokens=1500, **fields)


def card(page, window):
    return page.find("div", class_="cachet-card", data_window=window)


def figure(page, window, field):
    return card(page, window).find(data_field=field).text


def failing(page):
    """``{slug: (change link, {reason code: message})}`` of the failing list."""
    found = page.find_all("ul", id="overview-failing")
    if not found:
        return {}
    return {
        item.attrs["data-slug"]: (
            item.find("a").attrs["href"],
            {
                r.attrs["data-reason"]: r.text
                for r in item.find_all("li")
                if "data-reason" in r.attrs
            },
        )
        for item in found[0].children
        if item.tag == "li"
    }


def stats_api(slug, since):
    _, raw = ApiKey.generate(name=f"stats-{slug}-{since}")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    response = client.get(f"/api/v1/templates/{slug}/stats", {"since": since})
    assert response.status_code == 200, response.content
    return response.json()["versions"]


def api_sums(slugs, since):
    """The stats API's figures added up over ``slugs``' versions, as the overview adds them."""
    calls = ok = hits = writes = 0
    cost = saved = 0.0
    for slug in slugs:
        for row in stats_api(slug, since):
            version_ok = row["calls"] - row["errors"]
            calls, ok = calls + row["calls"], ok + version_ok
            hits += round((row["cache_hit_ratio"] or 0) * version_ok)
            writes += row["tokens"]["cache_write_tokens"]
            cost, saved = cost + row["cost"]["usd"], saved + row["cost"]["saved_usd"]
    return {
        "calls": formats.count(calls),
        "cost_usd": formats.usd(cost),
        "saved_usd": formats.usd(saved),
        "hit_ratio": formats.percent(hits / ok if ok else None),
        "cache_write_tokens": formats.count(writes),
    }


# --- the figures ----------------------------------------------------------------------------


def test_an_empty_database_shows_a_friendly_empty_state(root):
    page = dom(root.get(INDEX))
    empty = page.find(id="overview-empty")
    assert "no templates" in empty.text
    assert empty.find("a").attrs["href"] == reverse("admin:templates_app_template_add")
    assert not page.find_all(class_="cachet-card")
    assert "$" not in page.find(id="cachet-overview").text
    assert page.find_all("a", href=TEMPLATE_LIST), "the app list stays below the overview"


def test_templates_without_calls_say_so_instead_of_showing_zeros(root):
    make_version(make_template())
    page = dom(root.get(INDEX))
    for window in ("24h", "30d"):
        assert "No calls in the last" in card(page, window).find(data_field="no-calls").text
        assert not card(page, window).find_all(data_field="cost_usd")
    assert page.find(id="overview-top-empty")
    assert "no template was called" in page.find(id="overview-failing-none").text
    assert "$" not in page.find(id="cachet-overview").text


def test_the_windows_add_up_calls_as_the_stats_api_does(root):
    first = make_version(make_template(slug="doc-qa"))
    second = make_version(make_template(slug="faq"), body=cached_body())
    newer = make_version(first.template, body=cached_body())
    write(first)
    hit(first)
    hit(newer, ago=timedelta(hours=2))
    hit(second, ago=timedelta(days=3))
    write(second, ago=timedelta(days=10))
    call(second, status=Invocation.Status.TIMEOUT, cost_usd=None, saved_usd=None)
    hit(first, ago=timedelta(days=40))  # outside both windows
    page = dom(root.get(INDEX))

    day, month = card(page, "24h"), card(page, "30d")
    assert figure(page, "24h", "calls") == "4"
    assert figure(page, "24h", "cost_usd") == "$0.03"
    assert figure(page, "24h", "saved_usd") == "$0.015"
    assert figure(page, "24h", "hit_ratio") == "67%"  # 2 hits of 3 successful calls
    assert figure(page, "24h", "cache_write_tokens") == "1,500"
    assert figure(page, "30d", "calls") == "6"
    assert figure(page, "30d", "hit_ratio") == "60%"
    assert figure(page, "30d", "cache_write_tokens") == "3,000"
    for window in (day, month):
        shown = {field: window.find(data_field=field).text for field in FIGURES}
        assert shown == api_sums(["doc-qa", "faq"], window.attrs["data-since"])


def test_a_window_starts_on_a_whole_hour_so_it_reads_only_rollups(root):
    version = make_version(make_template())
    hit(version)
    page = dom(root.get(INDEX))
    since = card(page, "24h").attrs["data-since"]
    start = selectors.rollup_window_start(timedelta(hours=24))
    assert since == start.isoformat() and start.minute == start.second == 0
    assert timezone.now() - start >= timedelta(hours=24)
    Invocation.objects.all().delete()  # purged: the rollups keep the figures
    assert figure(dom(root.get(INDEX)), "24h", "calls") == "1"


def test_the_costliest_templates_are_listed_with_links_to_their_pages(root):
    cheap = make_version(make_template(slug="cheap", name="Cheap one"))
    dear = make_version(make_template(slug="dear", name="Dear one"))
    idle = make_version(make_template(slug="idle"))
    hit(cheap)
    for _ in range(3):
        hit(dear, cost_usd=Decimal("0.25"), saved_usd=Decimal("0.5"))
    hit(idle, ago=timedelta(days=31))
    rows = dom(root.get(INDEX)).find("table", id="overview-top").find("tbody").find_all("tr")
    assert [row.attrs["data-slug"] for row in rows] == ["dear", "cheap"]
    link = rows[0].find("a")
    assert link.text == "Dear one"
    assert link.attrs["href"] == reverse(
        "admin:templates_app_template_change", args=[dear.template.pk]
    )
    cells = {f: rows[0].find(data_field=f).text for f in ("calls", "cost_usd", "saved_usd")}
    assert cells == {"calls": "3", "cost_usd": "$0.75", "saved_usd": "$1.50"}


def test_the_costliest_list_is_capped(root):
    for n in range(overview.TOP_TEMPLATES + 2):
        hit(make_version(make_template(slug=f"t-{n:02d}"), body=cached_body()))
    rows = dom(root.get(INDEX)).find("table", id="overview-top").find("tbody").find_all("tr")
    assert len(rows) == overview.TOP_TEMPLATES


# --- failing caching --------------------------------------------------------------------------


def test_a_checkpoint_below_the_minimum_in_production_is_listed_with_its_reason(root):
    template = make_template(slug="short-doc", sample_variables=SHORT)
    fine = make_version(template, body=cached_body())
    short = make_version(template)
    assert any(w["code"] == "below_minimum" for w in short.lint["warnings"])
    services.label_move(template=template, label="production", version=1)
    hit(fine)
    assert "short-doc" not in failing(dom(root.get(INDEX))), "production (v1) caches"

    services.label_move(template=template, label="production", version=2)
    link, reasons = failing(dom(root.get(INDEX)))["short-doc"]
    assert link == reverse("admin:templates_app_template_change", args=[template.pk])
    assert reasons["below_minimum"].startswith("v2 (production): checkpoint 1 closes a prefix")
    assert "below the 1,024" in reasons["below_minimum"]
    assert root.get(link).status_code == 200


def test_without_production_the_latest_version_is_the_one_checked(root):
    template = make_template(slug="no-labels", sample_variables=SHORT)
    version = make_version(template)
    hit(version)
    _, reasons = failing(dom(root.get(INDEX)))["no-labels"]
    assert reasons["below_minimum"].startswith("v1 (latest): ")


def test_frequent_prefix_changes_are_listed(root):
    churn = make_version(make_template(slug="churn"), body=cached_body())
    steady = make_version(make_template(slug="steady"), body=cached_body())
    write(churn, miss={"reason": "first_call"})
    for _ in range(3):
        write(churn, miss={"reason": "prefix_changed", "message": "the prefix changed"})
    for _ in range(2):  # two in 40 calls: under both thresholds
        write(steady, miss={"reason": "prefix_changed"})
    for _ in range(38):
        hit(steady)
    for _ in range(5):
        write(steady, miss={"reason": "prefix_changed"}, ago=timedelta(hours=30))  # too old
    found = failing(dom(root.get(INDEX)))
    assert found["churn"][1] == {
        "prefix_changed": "the prefix changed before 3 of its 4 calls in the last 24 hours: "
        "each of them wrote a new cache entry"
    }
    assert "steady" not in found


def test_prefix_changes_are_counted_from_a_bounded_read_of_the_newest_calls():
    version = make_version(make_template(), body=cached_body())
    for _ in range(3):
        write(version, miss={"reason": "prefix_changed"}, ago=timedelta(minutes=30))
    for _ in range(2):
        hit(version)
    since = timezone.now() - timedelta(hours=1)
    counts, truncated = selectors.template_miss_counts(
        since=since, reason="prefix_changed", max_calls=3
    )
    assert counts == {version.template_id: {"calls": 3, "missed": 1}} and truncated
    counts, truncated = selectors.template_miss_counts(since=since, reason="prefix_changed")
    assert counts == {version.template_id: {"calls": 5, "missed": 3}} and not truncated


def test_a_low_hit_ratio_over_enough_calls_is_listed(root):
    low = make_version(make_template(slug="low"), body=cached_body())
    few = make_version(make_template(slug="few"), body=cached_body())
    plain = make_version(make_template(slug="plain"), body=uncached_body())
    for n in range(overview.LOW_HIT_MIN_CALLS):
        (hit if n < 5 else write)(low)
        call(plain)
    for _ in range(overview.LOW_HIT_MIN_CALLS - 1):
        write(few)
    found = failing(dom(root.get(INDEX)))
    assert found["low"][1] == {
        "low_hit_ratio": "cache hit ratio 25% over 20 successful calls in the last 24 hours, "
        "below 50%"
    }
    assert "few" not in found, "too few calls to judge"
    assert "plain" not in found, "a body without checkpoints is not meant to hit the cache"


def test_the_page_says_what_failing_means(root):
    hit(make_version(make_template()))
    rules = dom(root.get(INDEX)).find(id="overview-criteria")
    assert "below 50% over at least 20 successful calls" in rules.text
    assert "at least 10% of its calls" in rules.text
    assert "caches as it should" in dom(root.get(INDEX)).find(id="overview-failing-none").text


# --- access and cost ----------------------------------------------------------------------


def test_staff_who_may_not_see_invocations_get_the_stock_index():
    user = get_user_model().objects.create_user("reader", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_template"))
    client = Client()
    client.force_login(user)
    hit(make_version(make_template()))
    page = dom(client.get(INDEX))
    assert not page.find_all(id="cachet-overview")
    assert page.find_all("a", href=TEMPLATE_LIST)


def busy_template(n):
    """A template failing every way, with labels and calls in both windows."""
    template = make_template(slug=f"busy-{n}", sample_variables=SHORT)
    version = make_version(template)
    make_version(template, body=cached_body())
    services.label_move(template=template, label="production", version=1)
    services.label_move(template=template, label="staging", version=2)
    for _ in range(overview.LOW_HIT_MIN_CALLS):
        write(version, miss={"reason": "prefix_changed"})
    hit(version, ago=timedelta(days=3))
    return template


@pytest.mark.parametrize("url", [INDEX, TEMPLATE_LIST])
def test_the_page_takes_the_same_queries_however_many_templates(
    root, url, django_assert_max_num_queries
):
    busy_template(0)
    root.get(url)
    with CaptureQueriesContext(connection) as few:
        root.get(url)
    for n in range(1, 8):
        busy_template(n)
    with django_assert_max_num_queries(len(few.captured_queries), info=url):
        response = root.get(url)
    assert b"busy-7" in response.content


# --- the template list ----------------------------------------------------------------------


def list_row(client, slug):
    page = dom(client.get(TEMPLATE_LIST))
    [row] = [r for r in page.find("table", id="result_list").find_all("tr") if slug in r.text]
    return {
        name: row.find(class_=f"field-{name}").text
        for name in ("label_list", "served_model", "served_lint", "calls_7d", "saved_7d")
    }


def test_the_template_list_shows_labels_model_lint_and_a_week_of_calls(root):
    template = make_template(slug="listed", sample_variables=SHORT)
    # v1's checkpoint is below the minimum (one warning); v2 caches.
    first = make_version(template, body=make_body(model="sim/claude-haiku-4-5"))
    second = make_version(template, body=cached_body())
    services.label_move(template=template, label="production", version=2)
    services.label_move(template=template, label="canary", version=1)
    hit(second, saved_usd=Decimal("0.25"))
    hit(first, ago=timedelta(days=6), saved_usd=Decimal("0.5"))
    hit(first, ago=timedelta(days=8), saved_usd=Decimal("4"))  # older than a week
    assert list_row(root, "listed") == {
        "label_list": "canary → v1, production → v2",
        "served_model": "sim/claude-sonnet-4-5",
        "served_lint": "ok",
        "calls_7d": "2",
        "saved_7d": "$0.75",
    }
    services.label_move(template=template, label="production", version=1)
    row = list_row(root, "listed")
    assert row["served_model"] == "sim/claude-haiku-4-5"
    assert row["served_lint"] == "1 warning"


def test_a_template_without_versions_or_calls_is_listed_plainly(root):
    make_template(slug="bare")
    assert list_row(root, "bare") == {
        "label_list": "—",
        "served_model": "—",
        "served_lint": "—",
        "calls_7d": "0",
        "saved_7d": "—",
    }


def test_the_lint_state_counts_errors_before_warnings(root):
    template = make_template(slug="stored-errors")
    body = json.dumps(make_body())
    report = {"model": "sim/claude-sonnet-4-5", "errors": [{"message": "no"}], "warnings": []}
    Version.objects.create(
        template=template, number=1, body=body, content_hash="sha256:0", lint=report
    )
    assert list_row(root, "stored-errors")["served_lint"] == "1 error"
    assert lint_state({"errors": [], "warnings": [{}, {}]}) == "2 warnings"
    assert lint_state({"errors": [{}, {}], "warnings": [{}]}) == "2 errors"
    assert lint_state({}) == "ok"
