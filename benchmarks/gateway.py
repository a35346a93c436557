"""Gateway overhead, throughput, capacity and memory, against a stub of the Anthropic API.

Everything runs on 127.0.0.1. The script starts ``benchmarks/upstream.py`` (a Messages
API stand-in with a fixed latency) and Cachet with its production command
(``scripts/serve.sh``: uvicorn, ``CACHET_WORKERS`` processes, invocation logging on), makes
a template whose system prompt holds a 10k-token cached document, and measures:

(a) added latency: a send through Cachet minus a direct httpx call of the identical wire
    body to the same stub (20 ms latency), p50 and p99, at concurrency 1, 8 and 64. The
    two are interleaved in rounds so that drift hits both alike;
(b) throughput at concurrency 64 against a zero-latency stub, with ``wrk``: Cachet beside
    the stub called directly with the same body, and the invocation rows counted after;
(c) capacity: N sends in flight at once through one worker against a 2-second stub, for
    N = 100, 1000 and 2000; wall time against the 2 s ideal;
(d) resident memory of each worker, peak over each phase;
(w) with ``--parts w``: a warm prefix's latency with cold-start coalescing on (the default)
    and off (``CACHET_COALESCE=false``), one worker each, interleaved in rounds against the
    20 ms stub: what coalescing costs a send whose prefix is warm;
(s) with ``--parts s``: a soak, one worker under steady load (concurrency 32, zero-latency
    stub) for ``--soak-minutes`` (default 10), its resident memory sampled every 30 s.

    .venv/bin/python benchmarks/gateway.py [--quick] [--database-url URL]

The database defaults to a fresh ``cachet_bench`` database on the local PostgreSQL
(the production database); pass ``--database-url sqlite:////tmp/bench.sqlite3`` for SQLite.
Needs ``wrk`` for (b) (``apt-get install wrk``); without it, (b) is skipped and says so.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.render import INSTRUCTIONS, make_document  # noqa: E402
from gateway.wire import dumps  # noqa: E402

PYTHON = str(ROOT / ".venv" / "bin" / "python")
DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/cachet_bench"
QUESTION = {"question": "Where is customer data kept?"}
STUB_HEADERS = {
    "x-api-key": "bench",
    "anthropic-version": "2023-06-01",
    "content-type": "application/json",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_listening(port: int, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"process on port {port} exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.1)
    raise SystemExit(f"nothing listening on port {port} after {seconds} s")


@contextlib.contextmanager
def running(
    command: list[str], env: dict[str, str], port: int, seconds: float = 60
) -> Iterator[subprocess.Popen]:
    """Run ``command`` in its own process group until the block ends; print its errors.
    ``seconds``: how long it may take to listen on ``port``."""
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, **env},
            start_new_session=True,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        failed = True
        try:
            wait_listening(port, process, seconds)
            yield process
            failed = False
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            log.seek(0)
            output = log.read()
            if failed or "Traceback" in output or "ERROR" in output:
                print(f"{command[0]} said:\n{output[-3000:]}", file=sys.stderr)


def stub(latency_ms: int, **env: str) -> tuple[Any, int]:
    """The upstream stand-in (``benchmarks/upstream.py``), and the port it listens on."""
    port = free_port()
    command = [
        PYTHON,
        "-m",
        "uvicorn",
        "benchmarks.upstream:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
        "--backlog",
        "4096",
    ]
    return running(command, {"STUB_LATENCY_MS": str(latency_ms), **env}, port), port


class Cachet:
    """Cachet started with its production command, and the environment it runs with."""

    def __init__(self, database_url: str, stub_port: int, workers: int, **extra: str) -> None:
        self.port = free_port()
        self.env = {
            # The production settings, whatever the caller runs under (the test suite's).
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "false",
            "SECRET_KEY": "benchmark-only-secret-key-0123456789-abcdefghij",
            "DATABASE_URL": database_url,
            "DATABASE_CONN_MAX_AGE": "600",
            "ANTHROPIC_API_KEY": "bench",
            "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{stub_port}",
            "CACHET_WORKERS": str(workers),
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "CACHET_GRACEFUL_TIMEOUT": "30",
            "LOG_LEVEL": "WARNING",
            **extra,
        }
        self.url = f"http://127.0.0.1:{self.port}"

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [PYTHON, "manage.py", *args],
            cwd=ROOT,
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout

    def serve(self) -> Any:
        return running(["scripts/serve.sh"], self.env, self.port)


def fresh_database(url: str) -> None:
    """Drop and create the benchmark database (PostgreSQL), or remove the SQLite file."""
    if url.startswith("sqlite:"):
        Path(url.split("sqlite://", 1)[1]).unlink(missing_ok=True)
        return
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def template_body() -> dict[str, Any]:
    return {
        "model": "anthropic/claude-sonnet-4-5",
        "params": {"max_tokens": 256},
        "variables": {"question": {"type": "string", "required": True}},
        "messages": [
            {
                "role": "system",
                "content": [
                    {"type": "text", "text": INSTRUCTIONS},
                    {
                        "type": "text",
                        "text": make_document(10_000),
                        "cache_control": {"type": "ephemeral"},
                    },
                ],
            },
            {"role": "user", "content": "{{ question }}"},
        ],
    }


def prepare(cachet: Cachet) -> tuple[str, bytes]:
    """Migrate, make an API key and the template; return the key and the exact wire body."""
    cachet.manage("migrate", "--noinput", "-v0")
    key = (
        cachet.manage(
            "create_api_key", "bench", "--scopes", "read,write,render,send", "--rate-limit", "0"
        )
        .strip()
        .splitlines()[-1]
    )
    with cachet.serve():
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=cachet.url + "/api/v1", headers=headers, timeout=30) as api:
            api.post("/templates", json={"slug": "bench", "name": "Bench"}).raise_for_status()
            created = api.post(
                "/templates/bench/versions", json={"body": template_body(), "message": "bench"}
            )
            created.raise_for_status()
            rendered = api.post("/templates/bench/render", json={"variables": QUESTION})
            rendered.raise_for_status()
    return key, dumps(rendered.json()["request"])


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def timed_calls(
    client: httpx.AsyncClient, url: str, body: bytes, total: int, concurrency: int
) -> tuple[list[float], int]:
    """``total`` POSTs by ``concurrency`` workers; per-call seconds, and the failures."""
    latencies: list[float] = []
    failures = 0
    remaining = total

    async def worker() -> None:
        nonlocal remaining, failures
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            try:
                response = await client.post(url, content=body)
                problem = None if response.status_code == 200 else response.text[:200]
            except httpx.HTTPError as error:
                problem = f"{type(error).__name__}: {error}"
            latencies.append(time.perf_counter() - started)
            if problem is not None:
                failures += 1
                if failures == 1:
                    print(f"  first failure ({url.split('/', 3)[-1]}): {problem}")

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, failures


async def added_latency(
    cachet: Cachet, key: str, wire: bytes, stub_port: int, per_level: dict[int, int]
) -> list[dict[str, Any]]:
    send_url = f"{cachet.url}/api/v1/templates/bench/send"
    send_body = json.dumps({"variables": QUESTION}).encode()
    direct_url = f"http://127.0.0.1:{stub_port}/v1/messages"
    rows = []
    for concurrency, total in per_level.items():
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        through = httpx.AsyncClient(
            headers={"Authorization": f"Bearer {key}", "content-type": "application/json"},
            limits=limits,
            timeout=60,
        )
        direct = httpx.AsyncClient(headers=STUB_HEADERS, limits=limits, timeout=60)
        async with through, direct:
            # Warm both pools (and Cachet's compiled template and upstream connections).
            await timed_calls(through, send_url, send_body, concurrency * 4, concurrency)
            await timed_calls(direct, direct_url, wire, concurrency * 4, concurrency)
            cachet_times, direct_times, failures = [], [], 0
            rounds = 10
            for _ in range(rounds):
                times, failed = await timed_calls(
                    direct, direct_url, wire, total // rounds, concurrency
                )
                direct_times += times
                failures += failed
                times, failed = await timed_calls(
                    through, send_url, send_body, total // rounds, concurrency
                )
                cachet_times += times
                failures += failed
        row = {"concurrency": concurrency, "calls": len(cachet_times), "failures": failures}
        for p in (50, 99):
            c, d = percentile(cachet_times, p), percentile(direct_times, p)
            row[f"p{p}"] = (d * 1000, c * 1000, (c - d) * 1000)
        rows.append(row)
    return rows


WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = {body}
{headers}
"""


def wrk(url: str, body: bytes, headers: dict[str, str], seconds: int) -> dict[str, Any]:
    """``wrk`` at 64 connections; requests per second, completed and failed requests."""
    lines = "\n".join(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items())
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        # A Lua long string holds the body byte for byte.
        script.write(WRK_SCRIPT.format(body="[==[" + body.decode() + "]==]", headers=lines))
    try:
        out = subprocess.run(
            [
                "wrk",
                "-t2",
                "-c64",
                f"-d{seconds}s",
                "--timeout",
                "30s",
                "--latency",
                "-s",
                script.name,
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(script.name)
    completed = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "completed": completed,
        "non_2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": sum(map(int, errors.groups())) if errors else 0,
        "p50_ms": _wrk_ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1)),
        "p99_ms": _wrk_ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1)),
    }


def _wrk_ms(text: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def invocation_count(cachet: Cachet, key: str) -> int:
    headers = {"Authorization": f"Bearer {key}"}
    response = httpx.get(
        f"{cachet.url}/api/v1/invocations", params={"limit": 1}, headers=headers, timeout=30
    )
    response.raise_for_status()
    return response.json()["count"]


async def in_flight(url: str, headers: dict[str, str], body: bytes, n: int) -> dict[str, Any]:
    """``n`` POSTs started at once, each on a connection of its own; wall time until the
    last answer, and the failures. Raw asyncio sockets, not httpx: with httpx the load
    generator spent 4.7 s of CPU on 2,000 calls and was itself the bottleneck."""
    parts = urlsplit(url)
    head = f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request = (head + f"content-length: {len(body)}\r\nconnection: close\r\n\r\n").encode()
    request += body

    async def one() -> int | str:
        try:
            reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
            writer.write(request)
            status, _ = await read_response(reader)
            writer.close()
            return status
        except (OSError, asyncio.IncompleteReadError, ValueError) as error:
            return f"{type(error).__name__}: {error}"

    started = time.perf_counter()
    results = await asyncio.gather(*(one() for _ in range(n)))
    wall = time.perf_counter() - started
    failures = [r for r in results if r != 200]
    return {
        "n": n,
        "wall": wall,
        "failures": len(failures),
        "sample": failures[0] if failures else None,
    }


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one HTTP/1.1 response (Content-Length or chunked); its status, and whether the
    server closes the connection after it."""
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    status, headers = parse_head(head)
    if headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    else:
        await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers.get("connection", "").lower() == "close"


def parse_head(head: str) -> tuple[int, dict[str, str]]:
    """The status and the (lower-cased) headers of an HTTP/1.1 response head."""
    lines = head.split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return status, headers


class MemoryWatch:
    """Peak resident memory of each process under ``root`` (the server and its workers)."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.peak: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            for pid in [self.root, *descendants(self.root)]:
                rss = rss_kib(pid)
                if rss:
                    self.peak[pid] = max(self.peak.get(pid, 0), rss)

    def workers_mib(self) -> list[float]:
        """Peak RSS of the processes that served requests: uvicorn's workers when it has
        them (its helpers are small), else the one server process."""
        workers = [p for p in self.peak if p != self.root and self.peak[p] > 40_000]
        return sorted(round(self.peak[p] / 1024, 1) for p in workers or [self.root])


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_text()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def rss_kib(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def machine() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{os.cpu_count()} cores ({cpu}), {memory:.0f} GiB, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls, for a smoke run")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--parts", default="abc", help="which of (a), (b), (c), (s) to run")
    parser.add_argument("--soak-minutes", type=float, default=10.0)
    args = parser.parse_args()
    per_level = {1: 400, 8: 800, 64: 1600} if args.quick else {1: 2000, 8: 4000, 64: 8000}
    seconds = 5 if args.quick else 15
    capacity = [100, 1000] if args.quick else [100, 1000, 2000]

    print(f"machine: {machine()}")
    print(f"database: {args.database_url.split('@')[-1]}; Cachet workers: {args.workers}\n")
    fresh_database(args.database_url)

    memory: dict[str, list[float]] = {}
    stub_context, stub_port = stub(20)
    with stub_context:
        cachet = Cachet(args.database_url, stub_port, args.workers)
        key, wire = prepare(cachet)
        print(f"wire body: {len(wire):,} bytes (10k-token cached prefix)\n")
        if "a" in args.parts:
            part_a(args, cachet, key, wire, stub_port, per_level, memory)
        if "w" in args.parts:
            part_w(args, key, stub_port, per_level)
    if "b" in args.parts:
        part_b(args, key, wire, seconds, memory)
    if "c" in args.parts:
        part_c(args, key, wire, capacity, memory)
    if "s" in args.parts:
        part_s(args, key)
    print("\n(d) peak resident memory per worker (MiB)")
    for part, figures in memory.items():
        print(f"({part}): {figures}")


def part_a(args, cachet, key, wire, stub_port, per_level, memory) -> None:  # noqa: ANN001
    with cachet.serve() as server, MemoryWatch(server.pid) as watch:
        rows = asyncio.run(added_latency(cachet, key, wire, stub_port, per_level))
    memory[f"a, {args.workers} workers"] = watch.workers_mib()
    print("(a) latency added by Cachet, stub latency 20 ms (ms: direct / through Cachet / added)")
    print("| concurrency | calls | p50 | p99 | failures |")
    print("|---|---|---|---|---|")
    for row in rows:
        p50, p99 = row["p50"], row["p99"]
        print(
            f"| {row['concurrency']} | {row['calls']} | {p50[0]:.2f} / {p50[1]:.2f} / "
            f"**{p50[2]:.2f}** | {p99[0]:.2f} / {p99[1]:.2f} / **{p99[2]:.2f}** "
            f"| {row['failures']} |"
        )


def part_w(args, key, stub_port, per_level) -> None:  # noqa: ANN001
    on = Cachet(args.database_url, stub_port, 1)
    off = Cachet(args.database_url, stub_port, 1, CACHET_COALESCE="false")
    with on.serve(), off.serve():
        rows = asyncio.run(coalescing_latency(on, off, key, per_level))
    print("\n(w) a warm prefix, coalescing on and off, one worker each, stub latency 20 ms (ms)")
    print("| concurrency | calls each | p50 on / off | p99 on / off |")
    print("|---|---|---|---|")
    for row in rows:
        (p50_on, p50_off), (p99_on, p99_off) = row["p50"], row["p99"]
        print(
            f"| {row['concurrency']} | {row['calls']} | {p50_on:.2f} / {p50_off:.2f} "
            f"| {p99_on:.2f} / {p99_off:.2f} |"
        )


async def coalescing_latency(
    on: Cachet, off: Cachet, key: str, per_level: dict[int, int]
) -> list[dict[str, Any]]:
    send_body = json.dumps({"variables": QUESTION}).encode()
    path = "/api/v1/templates/bench/send"
    rows = []
    for concurrency, total in per_level.items():
        if concurrency > 8:
            continue  # one worker each: the figures above 8 measure the worker's queue
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        headers = {"Authorization": f"Bearer {key}", "content-type": "application/json"}
        client = httpx.AsyncClient(headers=headers, limits=limits, timeout=60)
        times: dict[str, list[float]] = {"on": [], "off": []}
        async with client:
            for target in (on, off):  # warm: the prefix, the pools, the compiled template
                await timed_calls(
                    client, target.url + path, send_body, concurrency * 4, concurrency
                )
            rounds = 10
            for _ in range(rounds):
                for name, target in (("on", on), ("off", off)):
                    measured, _ = await timed_calls(
                        client, target.url + path, send_body, total // rounds, concurrency
                    )
                    times[name] += measured
        row: dict[str, Any] = {"concurrency": concurrency, "calls": len(times["on"])}
        for p in (50, 99):
            row[f"p{p}"] = tuple(percentile(times[n], p) * 1000 for n in ("on", "off"))
        rows.append(row)
    return rows


def part_b(args, key, wire, seconds, memory) -> None:  # noqa: ANN001
    print(f"\n(b) throughput at concurrency 64, zero-latency stub, wrk for {seconds} s")
    if shutil.which("wrk") is None:
        print("skipped: wrk is not installed (apt-get install wrk)")
    else:
        stub_context, stub_port = stub(0)
        with stub_context:
            cachet = Cachet(args.database_url, stub_port, args.workers)
            with cachet.serve() as server, MemoryWatch(server.pid) as watch:
                before = invocation_count(cachet, key)
                send_headers = {
                    "Authorization": f"Bearer {key}",
                    "Content-Type": "application/json",
                }
                through = wrk(
                    f"{cachet.url}/api/v1/templates/bench/send",
                    json.dumps({"variables": QUESTION}).encode(),
                    send_headers,
                    seconds,
                )
                time.sleep(1)  # let the last batch of invocation rows land
                rows_written = invocation_count(cachet, key) - before
            memory[f"b, {args.workers} workers"] = watch.workers_mib()
            direct = wrk(f"http://127.0.0.1:{stub_port}/v1/messages", wire, STUB_HEADERS, seconds)
        print("| target | req/s | p50 ms | p99 ms | completed | non-2xx | socket errors |")
        print("|---|---|---|---|---|---|---|")
        for name, r in (("stub directly", direct), ("through Cachet", through)):
            print(
                f"| {name} | {r['rps']:.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} "
                f"| {r['completed']} | {r['non_2xx']} | {r['socket_errors']} |"
            )
        print(
            f"invocation rows written: {rows_written} for {through['completed']} completed "
            "sends (wrk does not count the calls still in flight when it stops)"
        )


def part_c(args, key, wire, capacity, memory) -> None:  # noqa: ANN001
    print("\n(c) capacity: N sends in flight at once, one worker, stub latency 2 s")
    stub_context, stub_port = stub(2000)
    with stub_context:
        cachet = Cachet(args.database_url, stub_port, 1)
        send = (
            f"{cachet.url}/api/v1/templates/bench/send",
            {"Authorization": f"Bearer {key}", "content-type": "application/json"},
            json.dumps({"variables": QUESTION}).encode(),
        )
        direct = (f"http://127.0.0.1:{stub_port}/v1/messages", STUB_HEADERS, wire)
        rows = []
        with cachet.serve() as server, MemoryWatch(server.pid) as watch:
            asyncio.run(in_flight(*send, 20))  # warm
            for n in capacity:
                rows.append((asyncio.run(in_flight(*direct, n)), asyncio.run(in_flight(*send, n))))
        memory[f"c, 1 worker, up to {capacity[-1]} in flight"] = watch.workers_mib()
    print("| N | direct: wall s (vs 2 s) | through Cachet: wall s (vs 2 s) | failures |")
    print("|---|---|---|---|")
    for d, c in rows:
        print(
            f"| {c['n']} | {d['wall']:.2f} ({d['wall'] / 2:.2f}×) | {c['wall']:.2f} "
            f"({c['wall'] / 2:.2f}×) | {d['failures']} / {c['failures']} |"
        )
        for r in (d, c):
            if r["sample"]:
                print(f"  first failure: {r['sample']}")


async def soak(
    cachet: Cachet, key: str, pid: int, seconds: float
) -> list[tuple[float, float, int]]:
    """Sends on 32 connections for ``seconds``; (elapsed s, worker RSS MiB, sends) every 30 s."""
    url = f"{cachet.url}/api/v1/templates/bench/send"
    body = json.dumps({"variables": QUESTION}).encode()
    headers = {"Authorization": f"Bearer {key}", "content-type": "application/json"}
    limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
    started = time.perf_counter()
    deadline = started + seconds
    sent = failed = 0
    samples: list[tuple[float, float, int]] = []

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal sent, failed
        while time.perf_counter() < deadline:
            try:
                response = await client.post(url, content=body)
                sent += response.status_code == 200
                failed += response.status_code != 200
            except httpx.HTTPError:
                failed += 1

    async def sampler() -> None:
        while time.perf_counter() < deadline:
            await asyncio.sleep(30)
            samples.append((time.perf_counter() - started, rss_kib(pid) / 1024, sent))

    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=60) as client:
        await asyncio.gather(sampler(), *(worker(client) for _ in range(32)))
    if failed:
        print(f"  {failed} sends failed")
    return samples


def part_s(args, key) -> None:  # noqa: ANN001
    minutes = args.soak_minutes
    print(f"\n(s) soak: one worker, concurrency 32, zero-latency stub, {minutes:g} minutes")
    stub_context, stub_port = stub(0)
    with stub_context:
        cachet = Cachet(args.database_url, stub_port, 1)
        with cachet.serve() as server:
            samples = asyncio.run(soak(cachet, key, server.pid, minutes * 60))
    print("| elapsed | worker RSS | sends so far |")
    print("|---|---|---|")
    for elapsed, rss, sent in samples:
        print(f"| {elapsed:.0f} s | {rss:.1f} MiB | {sent:,} |")
    if len(samples) >= 3:
        settled, last = samples[1][1], samples[-1][1]
        print(f"growth after the first minute: {last - settled:+.1f} MiB ({last / settled:.3f}×)")


if __name__ == "__main__":
    main()
