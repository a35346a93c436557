"""The provider clients' two HTTP transports side by side: CPU per call and calls per second.

Both post the same ~40 KB Messages body to ``benchmarks/upstream.py`` (0 ms latency, on
127.0.0.1) at a fixed concurrency, in alternating rounds so drift hits both alike:

- ``httpx``: httpx's own async pool (httpcore on anyio), in ``DEFAULT_POOLS`` pools as the
  clients build them with ``CACHET_HTTP_TRANSPORT=httpx``;
- ``aiohttp``: httpx over aiohttp (``gateway/aio.py``), the clients' default.

CPU is this process's (the stub runs in its own), divided by the calls made.

    .venv/bin/python benchmarks/http_clients.py [--calls 3000] [--concurrency 8] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.gateway import STUB_HEADERS, machine, stub, template_body  # noqa: E402
from gateway.http import DEFAULT_LIMITS, DEFAULT_POOLS, pooled_clients  # noqa: E402
from gateway.wire import dumps  # noqa: E402


def wire_body() -> bytes:
    body = template_body()
    system = body["messages"][0]["content"]
    return dumps(
        {
            "model": "claude-sonnet-4-5",
            "max_tokens": 256,
            "system": system,
            "messages": [{"role": "user", "content": "Where is customer data kept?"}],
        }
    )


async def calls(clients: list[httpx.AsyncClient], url: str, body: bytes, total: int, c: int):
    """``total`` posts by ``c`` workers, taking the clients in turn; (CPU µs a call, calls/s)."""
    remaining = total
    turn = 0

    async def worker() -> None:
        nonlocal remaining, turn
        while remaining > 0:
            remaining -= 1
            turn += 1
            response = await clients[turn % len(clients)].post(url, content=body)
            response.raise_for_status()

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(c)))
    return (time.process_time() - cpu) / total * 1e6, total / (time.perf_counter() - wall)


def transport_clients(name: str) -> list[httpx.AsyncClient]:
    pools = DEFAULT_POOLS if name == "httpx" else 1
    return pooled_clients(pools, DEFAULT_LIMITS, name, headers=STUB_HEADERS, timeout=30)


async def measure(url: str, args: argparse.Namespace) -> dict[str, list[tuple[float, float]]]:
    body = wire_body()
    figures: dict[str, list[tuple[float, float]]] = {"httpx": [], "aiohttp": []}
    for _ in range(args.rounds):
        for name in figures:
            clients = transport_clients(name)
            try:
                await calls(clients, url, body, 200, args.concurrency)  # warm the pool
                figures[name].append(await calls(clients, url, body, args.calls, args.concurrency))
            finally:
                for client in clients:
                    await client.aclose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    upstream, port = stub(0)
    with upstream:
        figures = asyncio.run(measure(f"http://127.0.0.1:{port}/v1/messages", args))
    print(f"\n{args.calls} calls a round, {args.rounds} rounds, concurrency {args.concurrency}\n")
    print("| transport | CPU per call (median) | calls/s (median) |")
    print("|---|---|---|")
    medians = {}
    for name, rounds in figures.items():
        cpu = statistics.median(r[0] for r in rounds)
        rate = statistics.median(r[1] for r in rounds)
        medians[name] = (cpu, rate)
        print(f"| {name} | {cpu:,.0f} µs | {rate:,.0f} |")
    (httpx_cpu, httpx_rate), (aio_cpu, aio_rate) = medians["httpx"], medians["aiohttp"]
    print(
        f"\naiohttp ÷ httpx: CPU per call {aio_cpu / httpx_cpu:.2f}×, calls/s "
        f"{aio_rate / httpx_rate:.2f}×\nmachine: {machine()}"
    )


if __name__ == "__main__":
    main()
