"""The TTL advisor on the template page: per version, a table of each checkpoint's cost
under 5m and under 1h with the recommendation, and the lint hint when the TTL costs more."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from templates_app.models import Invocation
from tests.factories import (
    make_body,
    make_checkpoint,
    make_invocation,
    make_template,
    make_version,
)
from tests.templates_app.admin.test_pages import change_url, dom, login

pytestmark = pytest.mark.django_db


def log_calls(version, seconds, *, days_ago: int = 2, **fields) -> None:
    start = timezone.now() - timedelta(days=days_ago)
    fields.setdefault("checkpoints", [make_checkpoint()])
    Invocation.objects.bulk_create(
        make_invocation(version, created_at=start + timedelta(seconds=s), **fields) for s in seconds
    )


@pytest.fixture
def root():
    return login("root", superuser=True)


def test_the_page_shows_each_checkpoints_cost_under_both_ttls_and_the_recommendation(root):
    template = make_template()
    first = make_version(template)
    make_version(template, body=make_body(params={}))
    log_calls(first, range(0, 86_400, 3600))  # hourly at 1h: 5m is cheaper
    page = dom(root.get(change_url(template)))
    section = page.find(id="ttl-advice")
    assert "last 7 days" in section.find("h2").text
    # only the version with calls has a table
    [version] = section.find_all(class_="ttl-advice-version")
    assert version.attrs["data-version"] == "1"
    row = version.find("tr", data_ordinal="1")
    assert "messages[0].content[1]" in row.text
    costs = {cell.attrs["data-ttl"]: cell for cell in row.find_all(class_="ttl-cost")}
    # 24 writes of 100,000 tokens: $9.00 under 5m, $14.40 under 1h
    assert costs["5m"].text == "$9.00" and costs["1h"].text == "$14.40"
    assert costs["1h"].attrs["title"] == "1 write, 23 re-writes, 0 reads"
    assert row.find(class_="ttl-recommended").text == "5m"
    # $5.40 saved over the 7-day window: $0.771428… a day
    assert row.find(class_="ttl-saved").text == "$0.771429"
    assert version.find(class_="ttl-version-saved").text == "$0.771429 per day"
    [hint] = version.find_all(class_="ttl-hint")
    assert hint.attrs["data-code"] == "ttl_costs_more"
    assert "checkpoint 1 uses a 1h TTL" in hint.text and "$0.77 less per day" in hint.text


def test_the_hint_is_counted_among_the_versions_lint_warnings(root):
    template = make_template()
    first = make_version(template)
    log_calls(first, range(0, 86_400, 3600))
    row = dom(root.get(change_url(template))).find("tr", data_version="1")
    warning = row.find(class_="cachet-warn")
    assert warning.text == "1 warning"
    assert "5m would have cost $0.77 less per day" in warning.attrs["title"]


def test_a_version_whose_ttl_is_the_cheaper_gets_no_hint(root):
    template = make_template()
    first = make_version(template)
    log_calls(first, [burst * 1200 + offset for burst in range(72) for offset in (0, 10, 20)])
    section = dom(root.get(change_url(template))).find(id="ttl-advice")
    assert section.find_all(class_="ttl-hint") == []
    assert section.find(class_="ttl-recommended").text == "1h"
    assert section.find(class_="ttl-version-saved").text == "keep them"


def test_without_recent_calls_the_section_says_so(root):
    template = make_template()
    first = make_version(template)
    log_calls(first, [0, 60], days_ago=10)
    section = dom(root.get(change_url(template))).find(id="ttl-advice")
    assert "No successful calls in the last 7 days." in section.text


def test_calls_on_a_model_without_a_choice_are_named_with_the_reason(root):
    template = make_template()
    first = make_version(template)
    log_calls(first, [0, 60], model="openai/gpt-5.6-sol", provider="openai")
    version = dom(root.get(change_url(template))).find(class_="ttl-advice-version")
    assert "No recommendation: no call in the window was on a model with a choice" in version.text
    assert "2 calls on openai/gpt-5.6-sol not priced" in version.text and "30m" in version.text
