"""The TTL advisor through the REST API: each version row of ``GET /templates/{slug}/stats``
has its ``ttl_advice``, as the schema describes it, and linting a stored version on demand
warns when its TTL costs more than the other on recent traffic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from templates_app.models import Invocation
from tests.factories import make_checkpoint, make_invocation, make_template, make_version
from tests.templates_app.api.test_openapi import assert_conforms

pytestmark = pytest.mark.django_db

DAY = datetime(2026, 3, 10, tzinfo=UTC)
STATS = "/api/v1/templates/doc-qa/stats"
ONE_DAY = {"since": "2026-03-10T00:00:00Z", "until": "2026-03-11T00:00:00Z"}


def log_calls(version, seconds, *, start=DAY, **fields) -> None:
    fields.setdefault("checkpoints", [make_checkpoint()])
    Invocation.objects.bulk_create(
        make_invocation(version, created_at=start + timedelta(seconds=s), **fields) for s in seconds
    )


@pytest.fixture
def version():
    return make_version(make_template())


def test_stats_give_each_version_the_cost_of_its_traffic_under_5m_and_1h(api, version):
    # 72 bursts, one every 20 minutes, of 3 calls 10 s apart: 216 calls, 100,000-token prefix
    log_calls(version, [burst * 1200 + offset for burst in range(72) for offset in (0, 10, 20)])
    response = api.get(STATS, ONE_DAY)
    assert response.status_code == 200
    [row] = response.json()["versions"]
    advice = row["ttl_advice"]
    assert advice["since"] == "2026-03-10T00:00:00Z" and advice["until"] == "2026-03-11T00:00:00Z"
    assert (advice["days"], advice["calls_analysed"], advice["truncated"]) == (1.0, 216, False)
    [checkpoint] = advice["checkpoints"]
    five, hour = checkpoint["costs"]["5m"], checkpoint["costs"]["1h"]
    # 5m: 72 writes × $0.375 + 144 reads × $0.03 = $27.00 + $4.32
    assert (five["writes"], five["rewrites"], five["reads"]) == (1, 71, 144)
    assert round(five["usd"], 2) == 31.32
    # 1h: 1 write × $0.60 + 215 reads × $0.03 = $0.60 + $6.45
    assert (hour["writes"], hour["rewrites"], hour["reads"]) == (1, 0, 215)
    assert round(hour["usd"], 2) == 7.05
    # the factory's checkpoint is 1h already: nothing to save
    assert checkpoint["ttl"] == checkpoint["recommended_ttl"] == checkpoint["assigned_ttl"] == "1h"
    assert checkpoint["saved_usd_per_day"] == 0
    assert advice["reason"] is None and advice["skipped"] == []
    assert round(advice["current_usd"], 2) == round(advice["recommended_usd"], 2) == 7.05
    assert_conforms("get", "/api/v1/templates/{slug}/stats", STATS, response, response.content)


def test_stats_recommend_5m_with_its_savings_for_hourly_traffic_at_1h(api, version):
    log_calls(version, range(0, 86_400, 3600))
    [row] = api.get(STATS, ONE_DAY).json()["versions"]
    [checkpoint] = row["ttl_advice"]["checkpoints"]
    # 24 writes: $9.00 at 5m, $14.40 at 1h
    assert (round(checkpoint["costs"]["5m"]["usd"], 2), checkpoint["costs"]["1h"]["usd"]) == (
        9.0,
        14.4,
    )
    assert checkpoint["recommended_ttl"] == checkpoint["assigned_ttl"] == "5m"
    assert round(checkpoint["saved_usd_per_day"], 2) == 5.40
    assert round(row["ttl_advice"]["saved_usd_per_day"], 2) == 5.40


def test_stats_name_the_calls_on_a_model_without_a_ttl_choice(api, version):
    log_calls(version, [0, 60], model="openai/gpt-5.6-sol", provider="openai")
    [row] = api.get(STATS, ONE_DAY).json()["versions"]
    advice = row["ttl_advice"]
    [skipped] = advice["skipped"]
    assert (skipped["model"], skipped["calls"]) == ("openai/gpt-5.6-sol", 2)
    assert "30m" in skipped["reason"]
    assert "no call in the window was on a model with a choice" in advice["reason"]


def test_a_version_with_only_failed_calls_has_advice_with_a_reason(api, version):
    log_calls(version, [0], status=Invocation.Status.PROVIDER_ERROR)
    response = api.get(STATS, ONE_DAY)
    [row] = response.json()["versions"]
    assert row["calls"] == 1 and row["errors"] == 1
    assert row["ttl_advice"]["reason"] == "no successful calls in the window"
    assert row["ttl_advice"]["saved_usd_per_day"] == 0
    assert_conforms("get", "/api/v1/templates/{slug}/stats", STATS, response, response.content)


def test_stats_without_since_advise_on_the_last_7_days(api, version):
    log_calls(version, [0, 60], start=timezone.now() - timedelta(days=3))
    log_calls(version, [0], start=timezone.now() - timedelta(days=9))
    [row] = api.get(STATS).json()["versions"]
    assert row["calls"] == 3
    assert row["ttl_advice"]["calls_analysed"] == 2 and row["ttl_advice"]["days"] == 7.0


def test_linting_a_stored_version_warns_when_its_ttl_costs_more(api, version):
    # hourly calls two days ago, at 1h: 5m would have saved $14.40 − $9.00 = $5.40 in the
    # 7-day window, $0.77 a day
    log_calls(version, range(0, 86_400, 3600), start=timezone.now() - timedelta(days=2))
    response = api.post("/api/v1/templates/doc-qa/lint", {"version": 1}, format="json")
    assert response.status_code == 200
    [hint] = [w for w in response.json()["warnings"] if w["code"] == "ttl_costs_more"]
    assert hint["path"] == "messages[0].content[1]"
    assert (hint["ordinal"], hint["ttl"], hint["recommended_ttl"]) == (1, "1h", "5m")
    assert round(hint["usd_per_day"], 2) == 0.77
    assert "checkpoint 1 uses a 1h TTL" in hint["message"]
    assert "5m would have cost $0.77 less per day" in hint["message"]


def test_linting_an_unsaved_body_gives_no_ttl_hint(api, version):
    log_calls(version, range(0, 86_400, 3600), start=timezone.now() - timedelta(days=2))
    response = api.post("/api/v1/templates/doc-qa/lint", {"body": version.body_data}, format="json")
    assert response.status_code == 200
    assert all(w["code"] != "ttl_costs_more" for w in response.json()["warnings"])
