"""The TTL advisor's reads: each version's successful calls in the window, the default
window of 7 days, the cap on calls read, the few columns and queries it takes, and the
lint of a stored version that carries its hint."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from templates_app import selectors, services
from templates_app.models import Invocation
from tests.factories import (
    make_body,
    make_checkpoint,
    make_invocation,
    make_template,
    make_version,
)

pytestmark = pytest.mark.django_db

DAY = datetime(2026, 3, 10, tzinfo=UTC)
WINDOW = {"since": DAY, "until": DAY + timedelta(days=1)}


def log_calls(version, seconds, *, start=DAY, **fields) -> None:
    """Successful calls of ``version`` at ``start`` + each of ``seconds``, with the factory
    checkpoint (1h, 100,000 tokens)."""
    fields.setdefault("checkpoints", [make_checkpoint()])
    Invocation.objects.bulk_create(
        make_invocation(version, created_at=start + timedelta(seconds=s), **fields) for s in seconds
    )


@pytest.fixture
def versions():
    template = make_template()
    return make_version(template), make_version(template, body=make_body(params={}))


def test_each_version_gets_the_advice_of_its_own_successful_calls_in_the_window(versions):
    first, second = versions
    log_calls(first, range(0, 86_400, 3600))  # hourly: 24 calls
    log_calls(first, [60, 120], status=Invocation.Status.TIMEOUT)  # not successful
    log_calls(first, [0], start=DAY - timedelta(seconds=1))  # before the window
    log_calls(first, [0], start=DAY + timedelta(days=1))  # `until` is exclusive
    log_calls(second, [0, 10, 20])
    other = make_version(make_template(slug="other"))
    log_calls(other, range(0, 600, 60))

    advice = selectors.template_ttl_advice(template=first.template, **WINDOW)

    assert set(advice) == {1, 2}
    hourly = advice[1]
    assert (hourly["since"], hourly["until"], hourly["days"]) == (*WINDOW.values(), 1)
    assert hourly["calls_analysed"] == 24 and hourly["truncated"] is False
    [row] = hourly["checkpoints"]
    # 24 writes of 100,000 tokens: × $3.75 / 1e6 = $9.00 under 5m, × $6 / 1e6 = $14.40 under 1h
    assert row["costs"]["5m"]["usd"] == Decimal("9.00")
    assert row["costs"]["1h"]["usd"] == Decimal("14.40")
    assert row["recommended_ttl"] == "5m" and row["saved_usd_per_day"] == Decimal("5.40")
    assert advice[2]["calls_analysed"] == 3


def test_the_window_defaults_to_the_last_7_days_up_to_now(versions):
    first, _ = versions
    now = timezone.now()
    log_calls(first, [0, 60], start=now - timedelta(days=6))
    log_calls(first, [0], start=now - timedelta(days=8))
    advice = selectors.template_ttl_advice(template=first.template)[1]
    assert advice["calls_analysed"] == 2
    assert advice["until"] - advice["since"] == timedelta(days=7)
    assert advice["days"] == 7


def test_more_calls_than_the_cap_reads_the_newest_and_says_it_is_truncated(versions):
    first, second = versions
    log_calls(first, [0, 600, 1200, 1800])
    log_calls(second, [2400, 3000])
    advice = selectors.template_ttl_advice(template=first.template, **WINDOW, max_calls=3)
    # the newest 3: 3000 and 2400 (v2), 1800 (v1); the window starts at the oldest read
    assert (advice[1]["calls_analysed"], advice[2]["calls_analysed"]) == (1, 2)
    assert advice[1]["truncated"] is advice[2]["truncated"] is True
    assert advice[1]["since"] == DAY + timedelta(seconds=1800)
    assert advice[1]["days"] == Decimal(86_400 - 1800) / 86_400
    exact = selectors.template_ttl_advice(template=first.template, **WINDOW, max_calls=6)
    assert exact[1]["truncated"] is False and exact[1]["since"] == DAY


def test_the_advice_reads_the_log_once_for_the_few_columns_it_needs(versions):
    first, second = versions
    log_calls(first, range(0, 3600, 60))
    log_calls(second, range(0, 3600, 60))
    with CaptureQueriesContext(connection) as queries:
        selectors.template_ttl_advice(template=first.template, **WINDOW)
    log_reads = [q["sql"] for q in queries.captured_queries if "invocation" in q["sql"]]
    [sql] = log_reads
    selected = sql.split(" FROM ")[0]
    assert "checkpoints" in selected and "created_at" in selected
    assert "output_text" not in selected and "variables" not in selected
    assert "LIMIT" in sql and "ORDER BY" in sql
    assert len(queries.captured_queries) == 2  # the calls, then their versions' numbers


def test_a_version_without_calls_in_the_window_gets_a_reason(versions):
    first, _ = versions
    advice = selectors.version_ttl_advice(version=first, **WINDOW)
    assert advice["reason"] == "no successful calls in the window"
    assert advice["calls_analysed"] == 0 and advice["saved_usd_per_day"] == 0


def test_the_stats_rows_carry_each_versions_advice(versions):
    first, second = versions
    log_calls(first, range(0, 86_400, 3600))
    log_calls(second, [0], status=Invocation.Status.TIMEOUT)
    rows = selectors.template_stats_with_ttl_advice(template=first.template, **WINDOW)
    by_version = {row["version"]: row for row in rows}
    assert by_version[1]["ttl_advice"]["calls_analysed"] == 24
    assert by_version[2]["calls"] == 1
    assert by_version[2]["ttl_advice"]["reason"] == "no successful calls in the window"


def test_lint_of_a_stored_version_warns_when_its_ttl_costs_more_on_recent_traffic(versions):
    first, _ = versions
    # hourly calls yesterday: at 1h, 24 × $0.60 = $14.40; at 5m, 24 × $0.375 = $9.00;
    # over the 7-day window 5m saves $5.40 / 7 = $0.771… a day
    log_calls(first, range(0, 86_400, 3600), start=timezone.now() - timedelta(days=2))
    report = services.version_lint_stored(template=first.template, version=first)
    [hint] = [w for w in report["warnings"] if w["code"] == "ttl_costs_more"]
    assert hint["path"] == "messages[0].content[1]"
    assert (hint["ttl"], hint["recommended_ttl"]) == ("1h", "5m")
    assert round(hint["usd_per_day"], 2) == 0.77
    assert "5m would have cost $0.77 less per day" in hint["message"]
    assert report["ok"] is True


def test_lint_of_a_stored_version_without_costly_traffic_has_no_hint(versions):
    first, _ = versions
    log_calls(first, range(0, 3600, 600), start=timezone.now() - timedelta(days=1))
    report = services.version_lint_stored(template=first.template, version=first)
    assert all(w["code"] != "ttl_costs_more" for w in report["warnings"])
