"""The invocation log at scale: the reads of the log answer in under a second at 10M rows.

On a fresh PostgreSQL database the script migrates, makes six templates of three versions
each, loads ``--rows`` invocation rows (default 10,000,000) with PostgreSQL COPY, spread
over 35 days (templates from busy to rare, labels, every status, tokens and costs),
builds their rollups with the migration's own backfill, runs ANALYZE, then times each read
through the real views with Django's test client (``--runs`` times; median and max):

- ``GET /invocations``: the first page and one deep in the log (a cursor half way back),
  unfiltered, by template and by status;
- ``GET /templates/{slug}/stats``: all time, and the last 30 days (not on an hour);
- the admin's invocation list, unfiltered, by template, and its 100th page;
- the admin's template page with its 30-day charts;
- ``GET /templates/{slug}/versions/2/diff/3``, whose re-write estimate counts the cache
  entries of the last 24 hours' rows;
- one purge batch (5,000 rows, ``services.invocations_purge``) while a thread keeps
  writing invocation batches of 500 as sends do.

    .venv/bin/python benchmarks/log_scale.py [--rows N] [--runs N] [--database-url URL]
                                             [--reuse]

The database (default ``cachet_log_scale`` on the local PostgreSQL) is dropped and created
again: never point it at one you keep. ``--reuse`` times the reads again on the database an
earlier run loaded (migrating it first), without loading anything.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.gateway import fresh_database  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/cachet_log_scale"
TARGET = 1.0  # seconds
DAYS = 35
# Templates from busy to rare: the share of the traffic each gets.
TEMPLATE_WEIGHTS = {
    "support-triage": 40,
    "document-qa": 25,
    "code-review": 15,
    "summarize": 12,
    "translate": 6,
    "rare-report": 2,
}
STATUSES = {
    "ok": 95.0,
    "provider_error": 2.5,
    "timeout": 1.5,
    "unavailable": 0.5,
    "client_disconnected": 0.5,
}
LABELS = {"production": 70, "staging": 20, "": 10}
COLUMNS = (
    "template_id",
    "version_id",
    "label",
    "model",
    "provider",
    "stream",
    "status",
    "error_type",
    "error_message",
    "request_id",
    "caller",
    "checkpoints",
    "last_fingerprint",
    "block_hashes",
    "prefix_variable_hashes",
    "variables",
    "metadata",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "usage_raw",
    "cost_usd",
    "cost_without_cache_usd",
    "saved_usd",
    "miss",
    "output_text",
    "stop_reason",
    "latency_ms",
    "created_at",
)


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("SECRET_KEY", "log-scale-benchmark-secret-key-not-for-production")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("CACHET_LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.test.utils import setup_test_environment

    setup_test_environment()  # the test client's host, and nothing else that matters here


def body(number: int) -> dict[str, Any]:
    return {
        "model": "sim/claude-sonnet-4-5" if number < 3 else "sim/claude-haiku-4-5",
        "params": {"max_tokens": 256},
        "variables": {"question": {"type": "string", "required": True}},
        "messages": [
            {
                "role": "system",
                "content": [
                    {
                        "type": "text",
                        "text": f"Version {number}. Answer briefly.\n" + "Rule.\n" * 400,
                        "cache_control": {"type": "ephemeral"},
                    }
                ],
            },
            {"role": "user", "content": "{{ question }}"},
        ],
    }


def stored_templates() -> list[tuple[Any, list[Any]]]:
    """The templates and versions an earlier run made."""
    from templates_app.models import Template

    templates = Template.objects.filter(slug__in=TEMPLATE_WEIGHTS).order_by("pk")
    return [(t, list(t.versions.order_by("number"))) for t in templates]


def make_templates() -> list[tuple[Any, list[Any]]]:
    from templates_app import services

    made = []
    for slug in TEMPLATE_WEIGHTS:
        template = services.template_create(slug=slug, name=slug.replace("-", " ").title())
        versions = [
            services.version_create(template=template, body=body(n), message=f"v{n}")
            for n in (1, 2, 3)
        ]
        made.append((template, versions))
    return made


def picker(weights: dict[Any, float], rng: random.Random) -> Callable[[], Any]:
    """A function drawing keys by weight, fast (a table of 1,000 draws)."""
    table = rng.choices(list(weights), weights=list(weights.values()), k=1000)
    return lambda: table[rng.randrange(1000)]


def rows(count: int, made: list[tuple[Any, list[Any]]], now: datetime, seed: int = 1):
    """``count`` invocation rows, oldest first, over the ``DAYS`` days up to ``now``."""
    rng = random.Random(seed)
    template_of = picker({i: w for i, w in enumerate(TEMPLATE_WEIGHTS.values())}, rng)
    status_of, label_of = picker(STATUSES, rng), picker(LABELS, rng)
    start, step = now - timedelta(days=DAYS), timedelta(days=DAYS) / count
    for n in range(count):
        template, versions = made[template_of()]
        version = versions[min(2, int(rng.random() * 3.6))]  # the latest gets the most
        status, at = status_of(), start + step * n
        ok = status == "ok"
        read = rng.choice((0, 0, 4100, 4100, 4100)) if ok else None
        write = (4100 if not read else 0) if ok else None
        cost = Decimal(rng.randint(200, 9000)) / Decimal(10**6) if ok else None
        saved = (Decimal(rng.randint(-400, 4000)) / Decimal(10**6)) if ok else None
        fingerprint = f"sha256:{version.pk:04d}{rng.randrange(40):060d}"
        yield (
            template.pk,
            version.pk,
            label_of(),
            "sim/claude-sonnet-4-5",
            "sim",
            rng.random() < 0.3,
            status,
            "" if ok else "ProviderError",
            "" if ok else "the provider answered 529: overloaded",
            f"req_{n:012d}",
            f"service-{rng.randrange(12)}",
            f'[{{"ordinal": 1, "path": "messages[0].content[0]", "fingerprint": "{fingerprint}"}}]',
            fingerprint if ok else "",
            '[["messages[0].content[0]", "ab12cd34ef56"]]',
            "{}",
            f'{{"question": "question number {rng.randrange(10**6)}"}}',
            "{}",
            rng.randint(5, 400) if ok else None,
            rng.randint(20, 600) if ok else None,
            read,
            write,
            0 if ok else None,
            '{"input_tokens": 12}' if ok else "{}",
            cost,
            None if cost is None else cost + (saved or 0),
            saved,
            None,
            "An answer of a sentence or two, as a model would give it." * 2 if ok else "",
            "end_turn" if ok else "",
            rng.randint(150, 4000),
            at,
        )


def load(count: int, made: list[tuple[Any, list[Any]]], now: datetime) -> float:
    """COPY ``count`` rows into the invocation table; the seconds it took."""
    from django.db import connection

    from templates_app.models import Invocation

    began = time.perf_counter()
    sql = f"COPY {Invocation._meta.db_table} ({', '.join(COLUMNS)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for n, row in enumerate(rows(count, made, now)):
            copy.write_row(row)
            if n and n % 1_000_000 == 0:
                print(f"  {n:,} rows loaded ({time.perf_counter() - began:.0f} s)", flush=True)
    return time.perf_counter() - began


def build_rollups() -> float:
    """The rollups of every loaded row, by the migration's backfill; the seconds it took."""
    import importlib

    from django.apps import apps
    from django.db import connection

    began = time.perf_counter()
    backfill = importlib.import_module("templates_app.migrations.0008_invocation_rollup").backfill
    backfill(apps, connection.schema_editor())
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return time.perf_counter() - began


def timed(run: Callable[[], Any], runs: int) -> list[float]:
    run()  # warm: the first call of a view compiles what it compiles once
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        run()
        times.append(time.perf_counter() - began)
    return times


def get(client: Any, url: str, params: dict[str, Any] | None = None, **headers: Any) -> Any:
    def call() -> Any:
        response = client.get(url, params or {}, **headers)
        assert response.status_code == 200, (url, response.status_code, response.content[:300])
        return response

    return call


def cases(made: list[tuple[Any, list[Any]]], now: datetime) -> dict[str, Callable[[], Any]]:
    """The reads to time, by name."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from templates_app.api.pagination import cursor_encode
    from templates_app.models import ApiKey, Invocation

    _, raw = ApiKey.generate(name="benchmark")
    api = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    client = Client()
    admin = Client()
    users = get_user_model().objects
    root = users.filter(username="bench").first()
    admin.force_login(root or users.create_superuser("bench", "b@example.com", "pw"))
    busy, rare = made[0][0], made[-1][0]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT max(id) FROM {Invocation._meta.db_table}")  # noqa: S608
        middle = cursor.fetchone()[0] // 2
    half = Invocation.objects.only("created_at").get(pk=middle)
    deep = cursor_encode((half.created_at, half.pk))
    stats = f"/api/v1/templates/{busy.slug}/stats"
    changelist = reverse("admin:templates_app_invocation_changelist")
    month = (now - timedelta(days=30, minutes=17)).isoformat()
    return {
        "GET /invocations (first page)": get(client, "/api/v1/invocations", **api),
        "GET /invocations (deep page)": get(client, "/api/v1/invocations", {"cursor": deep}, **api),
        "GET /invocations?template=busy": get(
            client, "/api/v1/invocations", {"template": busy.slug}, **api
        ),
        "GET /invocations?template=busy (deep)": get(
            client, "/api/v1/invocations", {"template": busy.slug, "cursor": deep}, **api
        ),
        "GET /invocations?template=rare": get(
            client, "/api/v1/invocations", {"template": rare.slug}, **api
        ),
        "GET /invocations?template=rare (deep)": get(
            client, "/api/v1/invocations", {"template": rare.slug, "cursor": deep}, **api
        ),
        "GET /invocations?status=timeout": get(
            client, "/api/v1/invocations", {"status": "timeout"}, **api
        ),
        "GET /invocations?status=timeout (deep)": get(
            client, "/api/v1/invocations", {"status": "timeout", "cursor": deep}, **api
        ),
        "GET /invocations?status=ok (deep)": get(
            client, "/api/v1/invocations", {"status": "ok", "cursor": deep}, **api
        ),
        "GET /templates/busy/stats (all time)": get(client, stats, **api),
        "GET /templates/busy/stats (30 days)": get(client, stats, {"since": month}, **api),
        "admin invocation list": get(admin, changelist),
        "admin invocation list, by template": get(
            admin, changelist, {"template__id__exact": busy.pk}
        ),
        "admin invocation list, page 100": get(admin, changelist, {"p": 100}),
        "admin invocation list, rare template": get(
            admin, changelist, {"template__id__exact": rare.pk}
        ),
        "admin template page (30-day charts)": get(
            admin, reverse("admin:templates_app_template_change", args=[busy.pk])
        ),
        "GET /templates/busy/versions/2/diff/3": get(
            client, f"/api/v1/templates/{busy.slug}/versions/2/diff/3", **api
        ),
    }


def purge_while_writing(made: list[tuple[Any, list[Any]]], runs: int) -> tuple[list[float], int]:
    """One 5,000-row purge batch, ``runs`` times, while a thread writes batches of 500."""
    from django.db import connection, connections

    from templates_app import services
    from templates_app.models import Invocation

    template, versions = made[0]
    stop, written = threading.Event(), [0]

    def write() -> None:
        try:
            while not stop.is_set():
                Invocation.objects.bulk_create(
                    Invocation(
                        template=template,
                        version=versions[-1],
                        model="sim/claude-sonnet-4-5",
                        provider="sim",
                        status="ok",
                        input_tokens=10,
                    )  # fmt: skip
                    for _ in range(500)
                )
                written[0] += 500
        finally:
            connections.close_all()

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    times = []
    try:
        for _ in range(runs):
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT created_at FROM {Invocation._meta.db_table} "  # noqa: S608
                    "ORDER BY created_at, id OFFSET 5000 LIMIT 1"
                )
                before = cursor.fetchone()[0]
            began = time.perf_counter()
            deleted = services.invocations_purge(before=before, batch=5000)
            times.append(time.perf_counter() - began)
            assert deleted <= 5000, deleted
    finally:
        stop.set()
        writer.join(30)
    return times, written[0]


def report(results: dict[str, list[float]]) -> bool:
    width = max(len(name) for name in results) + 2
    print(f"\n{'read':<{width}} {'median':>9} {'max':>9} {'target':>8}  result")
    passed = True
    for name, times in results.items():
        median, worst = statistics.median(times), max(times)
        ok = worst < TARGET
        passed &= ok
        print(
            f"{name:<{width}} {median * 1000:>7.1f}ms {worst * 1000:>7.1f}ms "
            f"{'< 1 s':>8}  {'PASS' if ok else 'FAIL'}"
        )
    return passed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--reuse", action="store_true", help="time an earlier run's database")
    args = parser.parse_args()
    if not args.database_url.startswith("postgres"):
        parser.error("the log at scale is measured on PostgreSQL")
    if not args.reuse:
        fresh_database(args.database_url)
    setup_django(args.database_url)
    from django.core.management import call_command

    from templates_app.models import Invocation

    call_command("migrate", verbosity=0)
    now = datetime.now(UTC)
    if args.reuse:
        made = stored_templates()
        args.rows = Invocation.objects.order_by().count()
    else:
        made = make_templates()
        print(f"loading {args.rows:,} invocation rows over {DAYS} days with COPY ...", flush=True)
        print(f"  loaded in {load(args.rows, made, now):.0f} s", flush=True)
        print(f"  rollups built and analyzed in {build_rollups():.0f} s", flush=True)
    results = {name: timed(run, args.runs) for name, run in cases(made, now).items()}
    purge, written = purge_while_writing(made, args.runs)
    results["purge batch (5,000 rows) while writing"] = purge
    print(f"\n{args.rows:,} invocation rows, {args.runs} runs each (PostgreSQL)")
    passed = report(results)
    print(f"(the writing thread wrote {written:,} rows during the purges)")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
