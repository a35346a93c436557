"""Two real uvicorn processes of Cachet on one database: a change made through one (or by
a third process) reaches the other's cached keys and send targets within the bound.

The database is that of the run: a PostgreSQL database made for this test when the suite
runs on PostgreSQL, else a SQLite file. No shared Django cache (no ``REDIS_URL``): the
shared epoch lives in the database, which every deployment shares. With Redis shared, a
cold cached prefix sent through both at once is written once.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from templates_app.models import CACHE_BOUND_SECONDS
from tests.factories import DOCUMENT, make_body
from tests.redis_dbs import WORKERS_DB, redis_url
from tests.test_readme import free_port, wait_for

ROOT = Path(__file__).resolve().parents[1]
# The bound, and process scheduling on a busy two-core machine on top of it.
WITHIN = CACHE_BOUND_SECONDS + 1.0
VARIABLES = {"document": DOCUMENT, "question": "What is the uptime?"}


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A database of its own for the two workers, migrated, of the run's kind."""
    if connection.vendor != "postgresql":
        url = f"sqlite:///{tmp_path}/workers.sqlite3"
        manage("migrate", "--noinput", "-v0", url=url)
        yield url
        return
    import psycopg

    params = connection.get_connection_params()
    name = f"cachet_workers_{os.getpid()}"
    server = {k: params[k] for k in ("host", "port", "user", "password") if params.get(k)}
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    user = params.get("user") or "postgres"
    password = f":{params['password']}" if params.get("password") else ""
    host, port = params.get("host") or "127.0.0.1", params.get("port") or 5432
    url = f"postgres://{user}{password}@{host}:{port}/{name}"
    try:
        manage("migrate", "--noinput", "-v0", url=url)
        yield url
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def environment(url: str, **extra: str) -> dict[str, str]:
    env = {**os.environ, "SECRET_KEY": "workers-test-secret", "DATABASE_URL": url}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    env["PYTHONPATH"] = str(ROOT)  # this checkout's code, whatever is installed
    for name in ("DEBUG", "REDIS_URL"):
        env.pop(name, None)
    return {**env, **extra}


def manage(*args: str, url: str) -> str:
    """``manage.py`` in a process of its own, on the workers' database; its output."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        env=environment(url),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@contextlib.contextmanager
def worker(url: str, **extra: str) -> Iterator[str]:
    """One uvicorn process of Cachet (``extra``: more environment); its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "config.asgi:application"]
        + ["--host", "127.0.0.1", "--port", str(port), "--no-access-log"],
        env=environment(url, **extra),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        wait_for(port, process, seconds=90)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.communicate(timeout=60)


def sql(url: str, query: str) -> list[tuple[Any, ...]]:
    """The rows of ``query`` on the workers' database, read straight from it."""
    if url.startswith("sqlite:"):
        import sqlite3

        with contextlib.closing(sqlite3.connect(url.split("sqlite:///", 1)[1])) as db:
            return db.execute(query).fetchall()
    import psycopg

    with psycopg.connect(url) as db:
        return db.execute(query).fetchall()


def call(base: str, key: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"{base}/api/v1{path}",
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def sent(base: str, key: str) -> tuple[int, Any]:
    """A send of ``doc-qa`` through ``base``: its status and the version it went to."""
    status, answer = call(base, key, "POST", "/templates/doc-qa/send", {"variables": VARIABLES})
    return status, answer.get("version") if status == 200 else answer["error"]["message"]


def seconds_until(check: Callable[[], bool], *, within: float) -> float:
    """Poll ``check`` until it holds; how long that took. Fails after ``within`` seconds."""
    start = time.monotonic()
    while not check():
        elapsed = time.monotonic() - start
        assert elapsed < within, f"still not changed after {elapsed:.2f} s"
        time.sleep(0.05)
    return time.monotonic() - start


def wait_for_version(base: str, key: str, number: int) -> None:
    """A's first sends: the label may have been read before the move (a warm-up, no bound)."""
    seconds_until(lambda: sent(base, key) == (200, number), within=30)


def test_a_label_move_and_a_revocation_reach_the_other_worker_within_the_bound(database_url):
    key = manage("create_api_key", "workers", url=database_url).strip().splitlines()[-1]
    with worker(database_url) as a, worker(database_url) as b:
        assert call(b, key, "POST", "/templates", {"slug": "doc-qa", "name": "Doc QA"})[0] == 201
        for tokens in (256, 128):
            body = make_body(params={"max_tokens": tokens})
            assert call(b, key, "POST", "/templates/doc-qa/versions", {"body": body})[0] == 201
        assert call(b, key, "PUT", "/templates/doc-qa/labels/production", {"version": 1})[0] == 200
        wait_for_version(a, key, 1)
        assert sent(a, key) == (200, 1)  # warm: served from A's caches

        assert call(b, key, "PUT", "/templates/doc-qa/labels/production", {"version": 2})[0] == 200
        took = seconds_until(lambda: sent(a, key) == (200, 2), within=WITHIN)
        assert took <= WITHIN

        revoke = "from templates_app import services; from templates_app.models import ApiKey; "
        revoke += "services.api_key_revoke(keys=ApiKey.objects.filter(name='workers'))"
        manage("shell", "-c", revoke, url=database_url)  # a third process, as the admin is
        refused = (401, "this API key has been revoked")
        took = seconds_until(lambda: sent(a, key) == refused, within=WITHIN)
        assert took <= WITHIN
        assert sent(b, key) == refused


REDIS = redis_url(WORKERS_DB)  # a database of its own, emptied before and after
LEADER_LATENCY = 3.0  # the simulated time to first byte: the other sends come meanwhile


@pytest.fixture
def shared_cache() -> Iterator[str]:
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS)
    try:
        client.flushdb()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    yield REDIS
    client.flushdb()


def test_two_workers_sharing_redis_write_a_cold_prefix_once(database_url, shared_cache):
    key = manage("create_api_key", "workers", url=database_url).strip().splitlines()[-1]
    extra = {"REDIS_URL": shared_cache, "CACHET_SIM_LATENCY": str(LEADER_LATENCY)}
    with worker(database_url, **extra) as a, worker(database_url, **extra) as b:
        assert call(a, key, "POST", "/templates", {"slug": "doc-qa", "name": "Doc QA"})[0] == 201
        assert call(a, key, "POST", "/templates/doc-qa/versions", {"body": make_body()})[0] == 201

        def send_through(base: str, n: int) -> int:
            body = {"variables": {**VARIABLES, "question": f"Q{n}?"}, "metadata": {"via": base}}
            return call(base, key, "POST", "/templates/doc-qa/send", body)[0]

        with ThreadPoolExecutor(max_workers=17) as pool:
            first = pool.submit(send_through, a, 0)  # A's send leads
            time.sleep(0.5)
            rest = [pool.submit(send_through, (a, b)[n % 2], n) for n in range(1, 17)]
            assert [f.result() for f in [first, *rest]] == [200] * 17

    rows = sql(
        database_url,
        "SELECT metadata, coalesce, cache_write_5m_tokens + cache_write_1h_tokens,"
        " cache_read_tokens FROM templates_app_invocation",
    )
    assert len(rows) == 17
    assert sum(1 for _, _, wrote, _ in rows if wrote) == 1
    assert sum(1 for _, _, _, read in rows if read) == 16
    # SQLite gives the JSON column as text, psycopg as the decoded object.
    via = [(json.loads(m) if isinstance(m, str) else m)["via"] for m, _, _, _ in rows]
    by_role = sorted((v == b, role) for v, (_, role, _, _) in zip(via, rows, strict=True))
    # A's first send led; every send through B waited for it, in another process.
    assert by_role.count((False, "led")) == 1
    assert by_role.count((True, "waited")) == 8
