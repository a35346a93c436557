"""Cold-start coalescing, measured: 64 concurrent sends of a cold 100k-token prefix.

Everything runs on 127.0.0.1: Cachet with its production command (``scripts/serve.sh``)
in front of its simulator, whose answers begin ``--latency`` seconds after each call (its
time to first byte; what a call writes is readable from then on). Each scenario sends a
document no earlier send has cached, 64 times at once, and prints what the answers say:
writes and reads, each send's turn, how long the followers waited against the leader's
time to first byte, and the dollars the avoided writes would have cost.

Scenarios: one worker with coalescing on, then off; two workers without a shared cache
(each coalesces its own sends), then sharing Redis (``--redis-url``; skipped when Redis
does not answer).

    .venv/bin/python benchmarks/coalescing.py [--database-url URL] [--latency 0.5]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.gateway import Cachet, fresh_database, machine, percentile  # noqa: E402
from benchmarks.render import make_document  # noqa: E402

SENDS = 64
DEFAULT_DATABASE = "sqlite:////tmp/cachet-bench-coalescing.sqlite3"
BODY = {
    "model": "sim/claude-sonnet-4-5",
    "params": {"max_tokens": 64},
    "variables": {"document": {"type": "string"}, "question": {"type": "string"}},
    "messages": [
        {
            "role": "system",
            "content": [
                {"type": "text", "text": "{{ document }}", "cache_control": {"type": "ephemeral"}}
            ],
        },
        {"role": "user", "content": "{{ question }}"},
    ],
}


def prepare(cachet: Cachet) -> str:
    """Migrate, make an API key and the template; return the key."""
    cachet.manage("migrate", "--noinput", "-v0")
    key = cachet.manage("create_api_key", "bench", "--rate-limit", "0").strip().splitlines()[-1]
    with cachet.serve():
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=cachet.url + "/api/v1", headers=headers, timeout=30) as api:
            api.post("/templates", json={"slug": "doc", "name": "Doc"}).raise_for_status()
            api.post("/templates/doc/versions", json={"body": BODY}).raise_for_status()
    return key


async def cold_sends(urls: list[str], key: str) -> list[dict[str, Any]]:
    """``SENDS`` sends at once of a document no send has cached, spread over ``urls``."""
    document = f"{uuid.uuid4()}\n{make_document(100_000)}"
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=SENDS)
    async with httpx.AsyncClient(headers=headers, timeout=120, limits=limits) as client:

        async def one(n: int) -> dict[str, Any]:
            variables = {"document": document, "question": f"Question {n}?"}
            url = f"{urls[n % len(urls)]}/api/v1/templates/doc/send"
            response = await client.post(url, json={"variables": variables})
            response.raise_for_status()
            return response.json()

        return await asyncio.gather(*(one(n) for n in range(SENDS)))


def report(name: str, answers: list[dict[str, Any]]) -> None:
    wrote = sum(1 for a in answers if a["usage"]["cache_write_tokens"])
    read = sum(1 for a in answers if a["usage"]["cache_read_tokens"])
    roles = Counter(a["coalescing"]["role"] for a in answers)
    leaders = [a["latency_ms"] for a in answers if a["coalescing"]["role"] == "led"]
    waits = [a["coalescing"]["waited_ms"] for a in answers if a["coalescing"]["role"] == "waited"]
    avoided = sum(a["coalescing"]["write_avoided_usd"] or 0 for a in answers)
    leader = f"{max(leaders)}" if leaders else "-"
    waited = f"{percentile(waits, 50):.0f} / {max(waits)}" if waits else "-"
    over = f"{max(waits) - max(leaders)}" if waits and leaders else "-"
    turns = ", ".join(f"{role} {count}" for role, count in sorted(roles.items()))
    print(f"| {name} | {wrote} | {read} | {turns} | {leader} | {waited} | {over} | {avoided:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE)
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"{SENDS} concurrent sends of a cold 100k-token prefix; simulator time to first byte ")
    print(f"{args.latency} s; wait bound CACHET_COALESCE_WAIT 5 s (ms below)\n")
    fresh_database(args.database_url)
    base = {"CACHET_SIM_LATENCY": str(args.latency)}
    key = prepare(Cachet(args.database_url, 0, 1, **base))
    scenarios: list[tuple[str, int, dict[str, str]]] = [
        ("1 worker, coalescing on", 1, {}),
        ("1 worker, coalescing off", 1, {"CACHET_COALESCE": "false"}),
        ("2 workers, no shared cache", 2, {}),
    ]
    if redis_answers(args.redis_url):
        scenarios.append(("2 workers, shared Redis", 2, {"REDIS_URL": args.redis_url}))
    else:
        print(f"(Redis does not answer at {args.redis_url}: its scenario is skipped)\n")
    print(
        "| scenario | wrote | read | turns | leader's latency | followers' wait p50 / max "
        "| max wait - leader | writes avoided, USD |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, workers, extra in scenarios:
        cachets = [Cachet(args.database_url, 0, 1, **base, **extra) for _ in range(workers)]
        with contextlib.ExitStack() as stack:
            for cachet in cachets:
                stack.enter_context(cachet.serve())
            report(name, asyncio.run(cold_sends([c.url for c in cachets], key)))


def redis_answers(url: str) -> bool:
    try:
        import redis

        client = redis.Redis.from_url(url)
        client.flushdb()
        return True
    except Exception:  # noqa: BLE001 (any failure means: no Redis to measure with)
        return False


if __name__ == "__main__":
    main()
