"""Cachet under load, with a faulty upstream, served by its production command.

Everything runs on 127.0.0.1: ``scripts/serve.sh`` with two workers, in front of the
Anthropic stand-in of ``benchmarks/upstream.py``, against a database of its own (a SQLite
file, or a fresh PostgreSQL database when the suite runs on PostgreSQL).

- 10,000 sends at concurrency 64 while one upstream request in 20 fails (HTTP 500, 529,
  a hang past the provider timeout, a connection cut mid-body or mid-stream): every send
  is answered (a result, or a clear error), none with a 500, and the invocation log
  holds exactly one row per send.
- A SIGTERM while sends are in flight: each still gets its answer, and every row is
  written before the workers exit.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import os
import signal
import sqlite3
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks.gateway import QUESTION, Cachet, fresh_database, prepare, stub

SENDS = 10_000
CONCURRENCY = 64
STREAM_EVERY = 5  # one send in five streams

logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per request


def database_url(tmp_path: Path, name: str) -> str:
    """A database for the server: on the suite's PostgreSQL when it runs there."""
    suite = os.environ.get("DATABASE_URL", "")
    if suite.startswith(("postgres://", "postgresql://")):
        return f"{suite.rsplit('/', 1)[0]}/{name}"
    return f"sqlite:///{tmp_path}/{name}.sqlite3"


def invocation_statuses(url: str) -> collections.Counter[str]:
    """Invocation rows by status, read straight from the database."""
    query = "SELECT status, COUNT(*) FROM templates_app_invocation GROUP BY status"
    if url.startswith("sqlite:"):
        with sqlite3.connect(url.split("sqlite://", 1)[1]) as db:
            return collections.Counter(dict(db.execute(query).fetchall()))
    import psycopg

    with psycopg.connect(url) as db:
        return collections.Counter(dict(db.execute(query).fetchall()))


def drop_database(url: str) -> None:
    if url.startswith("sqlite:"):
        return
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def check_answer(status: int, content_type: str, body: bytes, stream: bool) -> str:
    """What one answer was ('ok', or the error type), failing on anything unclear."""
    assert status != 500, body[:500]
    if stream and status == 200:
        assert content_type.startswith("text/event-stream"), body[:300]
        events = [
            chunk.split("\n", 1)[0].removeprefix("event: ")
            for chunk in body.decode().strip().split("\n\n")
        ]
        endings = [e for e in events if e in ("done", "error")]
        assert len(endings) == 1 and events[-1] == endings[0], events
        if endings[0] == "done":
            return "ok"
        data = body.decode().strip().split("\n\n")[-1].split("data: ", 1)[1]
        return json.loads(data)["type"]
    payload = json.loads(body)
    if status == 200:
        assert payload["output"]["text"] and payload["invocation_id"], payload
        return "ok"
    assert status in (502, 503, 504), (status, payload)
    assert payload["error"]["type"] and payload["error"]["message"], payload
    return payload["error"]["type"]


async def send_all(url: str, key: str, total: int, concurrency: int) -> collections.Counter[str]:
    """``total`` sends by ``concurrency`` workers; how they were answered."""
    outcomes: collections.Counter[str] = collections.Counter()
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    numbers = iter(range(total))

    async def worker(client: httpx.AsyncClient) -> None:
        for n in numbers:
            stream = n % STREAM_EVERY == 0
            payload = {"variables": QUESTION, "stream": stream, "metadata": {"n": n}}
            response = await client.post(f"{url}/api/v1/templates/bench/send", json=payload)
            content_type = response.headers.get("content-type", "")
            outcomes[
                check_answer(response.status_code, content_type, response.content, stream)
            ] += 1

    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=60) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return outcomes


def stop(server: Any) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=90)


def test_ten_thousand_sends_with_upstream_faults_are_all_answered_and_recorded(tmp_path):
    url = database_url(tmp_path, f"cachet_load_{os.getpid()}")
    fresh_database(url)
    upstream, port = stub(0, STUB_FAULT_EVERY="20", STUB_HANG_S="5")
    try:
        with upstream:
            cachet = Cachet(url, port, workers=2)
            cachet.env["CACHET_PROVIDER_TIMEOUT"] = "1"
            key, _ = prepare(cachet)
            with cachet.serve() as server:
                started = time.monotonic()
                outcomes = asyncio.run(send_all(cachet.url, key, SENDS, CONCURRENCY))
                elapsed = time.monotonic() - started
                stop(server)
                assert server.returncode == 0
            rows = invocation_statuses(url)
    finally:
        drop_database(url)
    print(f"\n{SENDS} sends in {elapsed:.1f} s: {dict(outcomes)}; rows: {dict(rows)}")
    assert sum(outcomes.values()) == SENDS
    # Faults of every kind reached the callers as clear errors, not only as retries.
    assert outcomes["provider_timeout"] > 0 and outcomes["provider_stream_interrupted"] > 0, (
        outcomes
    )
    assert sum(rows.values()) == SENDS, rows
    assert rows["ok"] == outcomes["ok"], (rows, outcomes)
    assert "client_disconnected" not in rows


async def all_upstream(client: httpx.AsyncClient, port: int, count: int) -> None:
    """Wait until the stub on ``port`` has received ``count`` requests (at most a minute)."""
    deadline = time.monotonic() + 60
    while True:
        received = await client.get(f"http://127.0.0.1:{port}/_stub/received")
        if received.json()["requests"] >= count:
            return
        assert time.monotonic() < deadline, f"the stub received {received.json()['requests']}"
        await asyncio.sleep(0.05)


def test_sigterm_lets_in_flight_sends_finish_and_writes_every_row(tmp_path):
    url = database_url(tmp_path, f"cachet_drain_{os.getpid()}")
    fresh_database(url)
    in_flight = 40
    # The stub counts what it receives (STUB_RECORD), so the SIGTERM goes only once every
    # send is in flight upstream: a signal sent after a fixed sleep could beat a send a busy
    # machine had not yet handed to a worker, and that send would find the door closed.
    upstream, port = stub(3000, STUB_RECORD="1")
    try:
        with upstream:
            cachet = Cachet(url, port, workers=2)
            key, _ = prepare(cachet)
            before = sum(invocation_statuses(url).values())
            with cachet.serve() as server:

                async def sends_then_sigterm() -> list[httpx.Response]:
                    headers = {"Authorization": f"Bearer {key}"}
                    async with httpx.AsyncClient(headers=headers, timeout=60) as client:
                        calls = [
                            asyncio.create_task(
                                client.post(
                                    f"{cachet.url}/api/v1/templates/bench/send",
                                    json={"variables": QUESTION},
                                )
                            )
                            for _ in range(in_flight)
                        ]
                        await all_upstream(client, port, in_flight)
                        os.killpg(server.pid, signal.SIGTERM)
                        return await asyncio.gather(*calls)

                answers = asyncio.run(sends_then_sigterm())
                server.wait(timeout=90)
                assert server.returncode == 0
            rows = invocation_statuses(url)
    finally:
        drop_database(url)
    assert [a.status_code for a in answers] == [200] * in_flight
    assert sum(rows.values()) - before == in_flight, rows
