"""Hourly invocation rollups: every way a row is written adds it once, concurrent writers
lose no count, the stats and charts read them and agree with the rows, purging keeps them."""

from __future__ import annotations

import importlib
import random
import threading
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from time import sleep
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.db import connection, connections, transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate

from templates_app import selectors, services
from templates_app.models import (
    MONEY_FIELDS,
    TOKEN_FIELDS,
    Invocation,
    InvocationRollup,
    rollup_hour,
)
from templates_app.sending.writer import InvocationWriter, reserve_ids
from tests.factories import make_body, make_invocation, make_template, make_version

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
STATUSES = list(Invocation.Status)


def random_rows(versions: list[Any], count: int, *, seed: int = 7) -> list[Invocation]:
    """Unsaved rows spread over four days, with every status, label, token and money kind."""
    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        version = rng.choice(versions)
        ok = rng.random() < 0.8
        saved = Decimal(rng.randint(-3000, 9000)) / Decimal(10**7)
        rows.append(
            make_invocation(
                version,
                created_at=NOON - timedelta(seconds=rng.randint(0, 4 * 86400)),
                status=Invocation.Status.OK if ok else rng.choice(STATUSES[1:]),
                label=rng.choice(["", "production", "staging"]),
                model=rng.choice(["sim/claude-sonnet-4-5", "sim/claude-haiku-4-5"]),
                input_tokens=rng.randint(0, 5000) if ok else None,
                output_tokens=rng.randint(0, 900) if ok else None,
                cache_read_tokens=rng.choice([0, 0, 1800, 3600]) if ok else None,
                cache_write_5m_tokens=rng.choice([0, 1800]) if ok else None,
                cache_write_1h_tokens=rng.choice([0, 0, 2400]) if ok else None,
                cost_usd=Decimal(rng.randint(1, 90000)) / Decimal(10**7) if ok else None,
                cost_without_cache_usd=Decimal(rng.randint(1, 90000)) / Decimal(10**7)
                if ok
                else None,
                saved_usd=saved if ok else None,
                **coalesced(rng, ok),
            )
        )
    return rows


def coalesced(rng: random.Random, ok: bool) -> dict[str, Any]:
    """A random turn on the cached prefix: a follower that read may have avoided a write."""
    role = rng.choice([*Invocation.Coalesce.values, ""])
    avoided = Decimal(rng.randint(1, 5000)) / Decimal(10**7)
    waited = role == Invocation.Coalesce.WAITED
    return {
        "coalesce": role,
        "coalesce_wait_ms": rng.randint(0, 900) if waited else None,
        "write_avoided_usd": avoided if waited and ok and rng.random() < 0.7 else None,
    }


@pytest.fixture
def versions():
    template = make_template()
    return [make_version(template), make_version(template, body=make_body(params={}))]


def rollup_totals(**filters: Any) -> dict[str, Any]:
    names = ("calls", "ok", "hits", "ok_hits", *TOKEN_FIELDS, *MONEY_FIELDS)
    rows = InvocationRollup.objects.filter(**filters).order_by()
    return rows.aggregate(**{f"total_{name}": Sum(name) for name in names})


# --- every write adds to the rollups ----------------------------------------------------------


def test_a_saved_invocation_adds_one_call_with_its_tokens_and_money_to_its_hour(versions):
    Invocation.objects.create(
        template_id=versions[0].template_id,
        version=versions[0],
        model="sim/claude-sonnet-4-5",
        provider="sim",
        status=Invocation.Status.OK,
        created_at=NOON + timedelta(minutes=59),
        input_tokens=120,
        cache_read_tokens=80,
        cost_usd=Decimal("0.0012"),
        saved_usd=Decimal("-0.0003"),
    )
    [rollup] = InvocationRollup.objects.all()
    assert (rollup.hour, rollup.version_id, rollup.label) == (NOON, versions[0].pk, "")
    assert (rollup.calls, rollup.ok, rollup.hits, rollup.ok_hits) == (1, 1, 1, 1)
    assert (rollup.input_tokens, rollup.cache_read_tokens, rollup.output_tokens) == (120, 80, 0)
    assert rollup.cost_usd == Decimal("0.0012")
    assert rollup.saved_gross_usd == 0 and rollup.write_overhead_usd == Decimal("-0.0003")


def test_save_bulk_create_and_create_each_add_a_row_once(versions):
    make_invocation(versions[0], created_at=NOON).save()
    Invocation.objects.bulk_create([make_invocation(versions[0], created_at=NOON)] * 1)
    Invocation.objects.bulk_create(
        [make_invocation(versions[0], created_at=NOON, status="timeout") for _ in range(3)]
    )
    assert rollup_totals()["total_calls"] == 5 == Invocation.objects.count()
    assert rollup_totals()["total_ok"] == 2


def test_saving_a_stored_row_again_adds_nothing(versions):
    row = make_invocation(versions[0], created_at=NOON)
    row.save()
    row.caller = "edited"
    row.save()
    assert rollup_totals()["total_calls"] == 1


def test_a_bulk_create_that_would_skip_rows_is_refused(versions):
    with pytest.raises(ValueError, match="miscount"):
        Invocation.objects.bulk_create([make_invocation(versions[0])], ignore_conflicts=True)
    assert not Invocation.objects.exists() and not InvocationRollup.objects.exists()


def test_a_failed_insert_adds_nothing_to_the_rollups(versions):
    row = make_invocation(versions[0])
    row.save()
    with pytest.raises(Exception), transaction.atomic():  # noqa: B017, PT011 - the same id
        Invocation.objects.bulk_create([make_invocation(versions[0], pk=row.pk)])
    assert rollup_totals()["total_calls"] == 1


def test_rows_of_one_batch_in_different_hours_and_labels_get_their_own_rollups(versions):
    Invocation.objects.bulk_create(
        [
            make_invocation(versions[0], created_at=NOON),
            make_invocation(versions[0], created_at=NOON + timedelta(minutes=30)),
            make_invocation(versions[0], created_at=NOON + timedelta(hours=1)),
            make_invocation(versions[0], created_at=NOON, label="production"),
            make_invocation(versions[1], created_at=NOON),
        ]
    )
    buckets = InvocationRollup.objects.values_list("version_id", "hour", "label", "calls")
    assert sorted(buckets) == sorted(
        [
            (versions[0].pk, NOON, "", 2),
            (versions[0].pk, NOON + timedelta(hours=1), "", 1),
            (versions[0].pk, NOON, "production", 1),
            (versions[1].pk, NOON, "", 1),
        ]
    )


def test_more_buckets_than_one_statement_takes_are_all_written(versions):
    rows = [make_invocation(versions[0], created_at=NOON - timedelta(hours=h)) for h in range(95)]
    Invocation.objects.bulk_create(rows)
    assert InvocationRollup.objects.count() == 95 and rollup_totals()["total_calls"] == 95


@pytest.mark.django_db(transaction=True)  # the writer's thread has a connection of its own
def test_the_writer_thread_and_its_one_by_one_fallback_keep_the_rollups(versions):
    writer = InvocationWriter(capacity=100, batch_size=50, linger=0.01)
    rows = [make_invocation(versions[0], pk=pk, created_at=NOON) for pk in reserve_ids(4)]
    rows[2].label = "x" * 500  # too long for its column on PostgreSQL; SQLite stores it
    try:
        for row in rows:
            writer.put_blocking(row)
        assert writer.flush(timeout=10)
    finally:
        writer.stop()
    written = Invocation.objects.count()
    assert written == 4 - writer.refused
    assert rollup_totals()["total_calls"] == written


def test_the_migration_backfill_builds_the_rollups_the_writes_built(versions):
    Invocation.objects.bulk_create(random_rows(versions, 300))
    expected = set(InvocationRollup.objects.values_list(*ROLLUP_COMPARED))
    InvocationRollup.objects.all().delete()
    migration = importlib.import_module("templates_app.migrations.0008_invocation_rollup")
    migration.backfill(apps, connection.schema_editor())
    assert set(InvocationRollup.objects.values_list(*ROLLUP_COMPARED)) == expected


ROLLUP_COMPARED = (
    "template_id",
    "version_id",
    "hour",
    "label",
    "model",
    "provider",
    "calls",
    "ok",
    "hits",
    "ok_hits",
    *TOKEN_FIELDS,
)


# --- the stats and the charts read the rollups and agree with the rows -------------------------


def raw_stats(template: Any, since: datetime | None, until: datetime | None) -> list[dict]:
    """The per-version stats aggregated over the logged rows themselves."""
    rows = Invocation.objects.filter(template=template)
    if since is not None:
        rows = rows.filter(created_at__gte=since)
    if until is not None:
        rows = rows.filter(created_at__lt=until)
    grouped = (
        rows.order_by()
        .values("version__number")
        .annotate(**selectors.logged_sums())
        .order_by("-version__number")
    )
    return [selectors._stats_row(row) for row in grouped]


def rounded(stats: list[dict]) -> list[dict]:
    """Money to 8 places: SQLite adds decimals as floats, in whatever order it reads them."""
    return [
        row
        | {
            "cost": {k: round(v, 8) for k, v in row["cost"].items()},
            "coalescing": row["coalescing"]
            | {"writes_avoided_usd": round(row["coalescing"]["writes_avoided_usd"], 8)},
        }
        for row in stats
    ]


WINDOWS = [
    (None, None),
    (NOON - timedelta(days=2), None),
    (None, NOON - timedelta(days=1)),
    (NOON - timedelta(days=3), NOON - timedelta(days=1)),
    (NOON - timedelta(days=2, minutes=17), NOON - timedelta(hours=5, seconds=3)),  # parts
    (NOON - timedelta(hours=30, minutes=10), NOON - timedelta(hours=30, minutes=5)),  # one hour
    (NOON - timedelta(hours=30, minutes=50), NOON - timedelta(hours=29, minutes=10)),  # 2 parts
    (NOON - timedelta(minutes=20, microseconds=1), None),
    (None, NOON - timedelta(days=3, microseconds=5)),
    (NOON - timedelta(hours=3), NOON - timedelta(hours=3)),  # empty
    (NOON, NOON - timedelta(hours=3)),  # backwards: empty
    (datetime(2026, 3, 9, 17, 0, tzinfo=ZoneInfo("Asia/Kolkata")), None),  # 11:30 UTC
]


@pytest.mark.parametrize("since, until", WINDOWS)
def test_stats_from_rollups_equal_the_aggregates_of_the_rows(versions, since, until):
    Invocation.objects.bulk_create(random_rows(versions, 400))
    template = versions[0].template
    got = selectors.template_stats(template=template, since=since, until=until)
    assert rounded(got) == rounded(raw_stats(template, since, until))


def test_a_window_off_the_hour_reads_the_logged_rows_only_at_its_ends(versions):
    Invocation.objects.bulk_create(random_rows(versions, 100))
    since = NOON - timedelta(days=2, minutes=17)
    with_rollups_only = InvocationRollup.objects.count()
    Invocation.objects.filter(created_at__gte=rollup_hour(since) + timedelta(hours=1)).delete()
    # Rows gone from the whole hours change nothing: those hours are read from the rollups.
    got = selectors.template_stats(template=versions[0].template, since=since)
    assert InvocationRollup.objects.count() == with_rollups_only
    assert sum(row["calls"] for row in got) == (
        rollup_totals(hour__gt=rollup_hour(since))["total_calls"]
        + Invocation.objects.filter(created_at__gte=since).count()
    )


def raw_daily(template: Any, days: int, today: date) -> dict[date, dict[str, Any]]:
    first = today - timedelta(days=days - 1)
    rows = (
        Invocation.objects.filter(
            template=template,
            created_at__gte=datetime.combine(first, time.min, tzinfo=UTC),
            created_at__lt=datetime.combine(today + timedelta(days=1), time.min, tzinfo=UTC),
        )
        .annotate(day=TruncDate("created_at", tzinfo=UTC))
        .order_by()
        .values("day")
        .annotate(
            calls=Count("id"),
            ok=Count("id", filter=Q(status="ok")),
            hits=Count("id", filter=Q(status="ok", cache_read_tokens__gt=0)),
            gross=Sum("saved_usd", filter=Q(saved_usd__gt=0)),
            overhead=Sum("saved_usd", filter=Q(saved_usd__lt=0)),
            writes_avoided=Count("id", filter=Q(write_avoided_usd__isnull=False)),
            **{name: Sum(name) for name in (*TOKEN_FIELDS, *MONEY_FIELDS, "write_avoided_usd")},
        )
    )
    return {row["day"]: row for row in rows}


def test_the_daily_chart_rows_from_rollups_equal_the_aggregates_of_the_rows(versions):
    Invocation.objects.bulk_create(random_rows(versions, 400))
    template, today = versions[0].template, NOON.date() - timedelta(days=1)
    daily = selectors.template_daily_stats(template, 3, today=today)
    raw = raw_daily(template, 3, today)
    assert [row["date"] for row in daily] == [today - timedelta(days=n) for n in (2, 1, 0)]
    assert sum(row["calls"] for row in daily) > 0
    for row in daily:
        expected = raw.get(row["date"], {})
        assert row["calls"] == expected.get("calls", 0)
        assert (row["ok"], row["hits"]) == (expected.get("ok", 0), expected.get("hits", 0))
        for name in TOKEN_FIELDS:
            assert row[name] == (expected.get(name) or 0)
        assert row["writes_avoided"] == expected.get("writes_avoided", 0)
        money = [*MONEY_FIELDS, "write_avoided_usd"]
        for name, raw_name in [*((m, m) for m in money), ("saved_gross_usd", "gross")]:
            assert row[name] == pytest.approx(float(expected.get(raw_name) or 0), abs=1e-8)
        assert row["write_overhead_usd"] == pytest.approx(
            float(expected.get("overhead") or 0), abs=1e-8
        )


def test_the_stats_and_charts_read_no_invocation_rows_for_whole_hours(versions):
    Invocation.objects.bulk_create(random_rows(versions, 50))
    template = versions[0].template
    with CaptureQueries() as queries:
        selectors.template_stats(template=template, since=NOON - timedelta(days=2))
        selectors.template_daily_stats(template, 30, today=NOON.date())
    assert queries.touching(Invocation._meta.db_table) == []


class CaptureQueries:
    """The SQL run inside the block."""

    def __enter__(self) -> CaptureQueries:
        from django.test.utils import CaptureQueriesContext

        self.context = CaptureQueriesContext(connection)
        self.context.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.context.__exit__(*exc)

    def touching(self, table: str) -> list[str]:
        quoted = connection.ops.quote_name(table)
        return [q["sql"] for q in self.context.captured_queries if f"FROM {quoted}" in q["sql"]]


# --- purging keeps the rollups -----------------------------------------------------------------


def test_purging_invocations_keeps_the_stats_over_whole_hours(versions):
    Invocation.objects.bulk_create(random_rows(versions, 200))
    template = versions[0].template
    before = selectors.template_stats(template=template)
    daily_before = selectors.template_daily_stats(template, 5, today=NOON.date())
    deleted = services.invocations_purge(before=NOON - timedelta(days=1), batch=50)
    assert deleted > 0 and Invocation.objects.count() == 200 - deleted
    assert selectors.template_stats(template=template) == before
    assert selectors.template_daily_stats(template, 5, today=NOON.date()) == daily_before


# --- concurrent writers (PostgreSQL) -----------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_writer_batches_on_the_same_buckets_lose_no_count():
    template = make_template()
    one = make_version(template)
    hours = [NOON - timedelta(hours=h) for h in range(6)]
    first_inserted = threading.Event()
    errors: list[BaseException] = []

    def batch(order: list[datetime], hold: bool) -> None:
        try:
            with transaction.atomic():
                Invocation.objects.bulk_create(
                    [make_invocation(one, created_at=at, input_tokens=10) for at in order * 50]
                )
                if hold:
                    first_inserted.set()
                    sleep(0.5)  # the other batch now waits on these buckets' locks
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    holder = threading.Thread(target=batch, args=(hours, True))
    holder.start()
    assert first_inserted.wait(10)
    # The same buckets, listed the other way round: sorted upserts cannot deadlock.
    other = threading.Thread(target=batch, args=(hours[::-1], False))
    other.start()
    holder.join(30)
    other.join(30)
    assert errors == []
    assert set(InvocationRollup.objects.values_list("hour", "calls", "input_tokens")) == {
        (hour, 100, 1000) for hour in hours
    }
