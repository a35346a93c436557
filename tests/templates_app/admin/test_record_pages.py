"""The invocation list (the columns that fit a 1280-pixel window, a flat query count) and one
invocation's page (cache first)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from templates_app.models import Invocation
from tests.factories import make_checkpoint, make_invocation, make_template, make_version
from tests.templates_app.admin.test_pages import dom, login

pytestmark = pytest.mark.django_db

LIST = "admin:templates_app_invocation_changelist"
FINGERPRINT = "sha256:" + "ab12" * 16


@pytest.fixture
def root():
    return login("root", superuser=True)


@pytest.fixture
def version():
    return make_version(make_template(slug="document-qa"))


def column_class(th) -> str:
    return next(c for c in th.attrs["class"].split() if c.startswith("column-"))


def logged(version, **fields) -> Invocation:
    row = make_invocation(version, **fields)
    row.save()
    return row


# --- the list ---------------------------------------------------------------------------


def test_the_list_shows_time_template_at_version_model_status_tokens_cost_saved_and_miss(
    root, version
):
    row = logged(
        version,
        input_tokens=12,
        cache_read_tokens=0,
        cache_write_5m_tokens=1200,
        cache_write_1h_tokens=3797,
        output_tokens=55,
        cost_usd=Decimal("0.0240000000"),
        saved_usd=Decimal("-0.0051030000"),
        miss={"reason": "first_call", "message": "first call with <this> prefix"},
        label="production",
    )
    page = dom(root.get(reverse(LIST)))
    heads = [column_class(th) for th in page.find("thead").find_all("th")]
    assert heads == [
        "column-when",
        "column-template_version",
        "column-model",
        "column-status",
        "column-tokens_uncached",
        "column-tokens_read",
        "column-tokens_write",
        "column-cost",
        "column-saved",
        "column-miss_reason",
    ]
    cells = {
        cell.attrs["class"].split()[0].removeprefix("field-"): cell
        for cell in page.find("tbody").find("tr").children
    }
    link = cells["template_version"].find("a")
    assert link.text == "document-qa@v1"
    assert link.attrs["href"] == reverse("admin:templates_app_invocation_change", args=[row.pk])
    assert (cells["tokens_uncached"].text, cells["tokens_read"].text) == ("12", "0")
    write = cells["tokens_write"].find("span")
    assert (write.text, write.attrs["title"]) == ("4,997", "5m: 1,200 · 1h: 3,797")
    assert (cells["cost"].text, cells["saved"].text) == ("$0.024", "-$0.005103")
    miss = cells["miss_reason"].find("span")
    assert (miss.text, miss.attrs["title"]) == ("first_call", "first call with <this> prefix")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", cells["when"].text)


def test_label_and_output_tokens_are_on_the_invocation_page_not_in_the_list(root, version):
    row = logged(version, label="canary-7", output_tokens=4321)
    listing = dom(root.get(reverse(LIST))).find("table", id="result_list").text
    assert "canary-7" not in listing and "4,321" not in listing
    detail = root.get(reverse("admin:templates_app_invocation_change", args=[row.pk]))
    assert "canary-7" in detail.content.decode() and "4,321" in detail.content.decode()


def test_a_call_without_writes_or_a_miss_shows_dashes(root, version):
    logged(version, cache_read_tokens=1701)
    [row] = dom(root.get(reverse(LIST))).find("tbody").find_all("tr")
    cells = {cell.attrs["class"].split()[0]: cell.text for cell in row.children}
    assert (cells["field-tokens_write"], cells["field-miss_reason"]) == ("—", "—")
    assert cells["field-tokens_read"] == "1,701"


def test_the_list_sorts_by_time_only(root, version):
    logged(version)
    page = dom(root.get(reverse(LIST)))
    sortable = [th for th in page.find("thead").find_all("th") if "sortable" in th.attrs["class"]]
    assert [column_class(th) for th in sortable] == ["column-when"]


def test_the_list_runs_as_many_queries_for_fifty_rows_as_for_two(root, version):
    other = make_version(make_template(slug="other-qa"))

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert root.get(reverse(LIST)).status_code == 200
        return len(captured.captured_queries)

    Invocation.objects.bulk_create([make_invocation(version), make_invocation(other)])
    few = queries()
    Invocation.objects.bulk_create(
        [make_invocation(version if n % 2 else other, miss={"reason": "x"}) for n in range(48)]
    )
    assert queries() == few


def test_the_list_uses_its_own_stylesheet_and_no_navigation_sidebar(root, version):
    page = root.get(reverse(LIST)).content.decode()
    assert "cachet/records.css" in page
    assert 'id="nav-sidebar"' not in page
    template_list = root.get(reverse("admin:templates_app_template_changelist")).content.decode()
    assert 'id="nav-sidebar"' in template_list


# --- one invocation ---------------------------------------------------------------------


def test_the_invocation_page_shows_the_miss_and_checkpoints_first_then_usage(root, version):
    row = logged(
        version,
        checkpoints=[make_checkpoint(fingerprint=FINGERPRINT, tokens=3797)],
        last_fingerprint=FINGERPRINT,
        miss={"reason": "prefix_changed", "message": "checkpoint 1: the prefix changed"},
        cost_usd=Decimal("0.0225440000"),
        latency_ms=1234,
        write_avoided_usd=Decimal("0.0012000000"),
    )
    response = root.get(reverse("admin:templates_app_invocation_change", args=[row.pk]))
    content = response.content.decode()
    headings = [h.text for h in dom(response).find_all("h2", class_="fieldset-heading")]
    assert headings[:3] == ["Cache", "Usage and cost", "Call"]
    order = [content.index(f"field-{name}") for name in ("miss_explanation", "checkpoints_table")]
    assert order == sorted(order) and order[-1] < content.index("field-usage_table")
    copies = [c.attrs["data-copy"] for c in dom(response).find_all("code", class_="cachet-copy")]
    assert copies == [FINGERPRINT, FINGERPRINT]  # the checkpoint's, and the last one
    assert "cachet/copy.js" in content
    for figure in ("3,797", "$0.022544", "1,234 ms", "$0.0012"):
        assert figure in content, figure


def test_the_invocation_page_writes_its_time_in_utc_like_the_list(root, version):
    row = logged(version)
    content = root.get(reverse("admin:templates_app_invocation_change", args=[row.pk])).content
    stamp = row.created_at.strftime("%Y-%m-%d %H:%M:%S")
    assert stamp.encode() in content
