"""Cachet beside two peer gateways, Portkey and LiteLLM, measured in one run.

Everything runs on 127.0.0.1 against one Anthropic stand-in (``benchmarks/upstream.py``,
recording what it receives): the stub called directly with httpx, Cachet's send endpoint
(``scripts/serve.sh``, one worker, invocation logging on; the template of
``benchmarks/gateway.py`` holds the 10k-token cached system prompt), Portkey's open-source
gateway (``@portkey-ai/gateway`` under node, one process) and the LiteLLM proxy
(``litellm --num_workers 1``). The peers get the same logical request on their
OpenAI-compatible ``/v1/chat/completions``: the same system blocks with a
``cache_control`` checkpoint on the document, the same user question, model
claude-sonnet-4-5. For each it measures:

- added latency (its latency minus the direct call's), p50 and p99, at concurrency 1 and
  8 against a 20 ms stub; all targets take turns in rounds, so drift hits all alike;
- requests per second at concurrency 64 against a 0 ms stub (a keep-alive HTTP/1.1
  client of its own, much lighter than httpx; the direct row shows its ceiling);
- resident memory of the gateway's process tree: after warm-up (idle) and the peak under
  load;
- whether the body the stub received still carries ``cache_control`` on a system block.

    .venv/bin/python benchmarks/peers.py --install     # once: the peers, pinned below
    .venv/bin/python benchmarks/peers.py [--quick] [--database-url URL]

The peers are never dependencies of Cachet: ``--install`` puts them in ``--cache``
(default ``~/.cache/cachet-bench-peers``, or ``$CACHET_BENCH_PEERS``): npm for Portkey,
a venv of its own for LiteLLM. The database defaults to a fresh ``cachet_peers``
database on the local PostgreSQL; ``--database-url sqlite:////tmp/peers.sqlite3`` for
SQLite. The default run takes about 5 minutes on 2 cores, ``--quick`` about 2.
A peer that fails to start or answers errors is reported as such, with its error count.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.gateway import (  # noqa: E402
    PYTHON,
    QUESTION,
    STUB_HEADERS,
    Cachet,
    MemoryWatch,
    descendants,
    free_port,
    fresh_database,
    machine,
    percentile,
    prepare,
    read_response,
    rss_kib,
    running,
    template_body,
    timed_calls,
)

# Checked on the registries on 2026-12-03. Portkey: the latest on npm. LiteLLM: 1.110.x
# and 1.109.x ask for a litellm-proxy (or litellm-proxy-extras) release that PyPI does not
# serve, so ``litellm[proxy]`` cannot install; 1.108.7 is the newest whose proxy installs.
PORTKEY_VERSION = "1.15.2"
LITELLM_VERSION = "1.108.7"
CHECKED = "2026-12-03"

DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/cachet_peers"
DEFAULT_CACHE = Path(
    os.environ.get("CACHET_BENCH_PEERS", Path.home() / ".cache" / "cachet-bench-peers")
)
MODEL = "claude-sonnet-4-5"
NAMES = ("direct", "Cachet", "Portkey", "LiteLLM")
CACHET_SHAPES = ("Cachet", "Cachet (document as variable)")


# -- installing the peers ---------------------------------------------------------------


def portkey_entry(cache: Path) -> Path:
    return cache / "portkey/node_modules/@portkey-ai/gateway/build/start-server.js"


def litellm_bin(cache: Path) -> Path:
    return cache / "litellm-venv" / "bin" / "litellm"


def installed_versions(cache: Path) -> dict[str, str | None]:
    """The installed version of each peer, or None."""
    found: dict[str, str | None] = {"Portkey": None, "LiteLLM": None}
    package = portkey_entry(cache).parents[1] / "package.json"
    with contextlib.suppress(OSError, ValueError):
        found["Portkey"] = json.loads(package.read_text())["version"]
    if litellm_bin(cache).exists():
        done = subprocess.run(
            [
                str(litellm_bin(cache).parent / "python"),
                "-c",
                "import importlib.metadata as m; print(m.version('litellm'))",
            ],
            capture_output=True,
            text=True,
        )
        found["LiteLLM"] = done.stdout.strip() or None
    return found


def install(cache: Path) -> None:
    """npm install Portkey and pip install LiteLLM's proxy, at the pinned versions."""
    if shutil.which("npm") is None or shutil.which("node") is None:
        raise SystemExit("--install needs node and npm on PATH (Portkey's gateway is a node app)")
    portkey = cache / "portkey"
    portkey.mkdir(parents=True, exist_ok=True)
    (portkey / "package.json").write_text(
        json.dumps({"name": "cachet-bench-peers", "private": True}) + "\n"
    )
    print(f"npm install @portkey-ai/gateway@{PORTKEY_VERSION} into {portkey}", flush=True)
    # Its postinstall (patch-package) has no patches to apply in the published package.
    subprocess.run(
        [
            "npm",
            "install",
            "--no-audit",
            "--no-fund",
            "--ignore-scripts",
            "--omit=dev",
            "--save-exact",
            f"@portkey-ai/gateway@{PORTKEY_VERSION}",
        ],
        cwd=portkey,
        check=True,
    )
    venv = cache / "litellm-venv"
    if not (venv / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    print(f"pip install litellm[proxy]=={LITELLM_VERSION} into {venv}", flush=True)
    subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            f"litellm[proxy]=={LITELLM_VERSION}",
        ],
        check=True,
    )
    print(f"installed: {installed_versions(cache)}")


def missing_peers(cache: Path) -> list[str]:
    wanted = {"Portkey": PORTKEY_VERSION, "LiteLLM": LITELLM_VERSION}
    found = installed_versions(cache)
    return [
        f"{name} {wanted[name]} (found {found[name] or 'nothing'})"
        for name in wanted
        if found[name] != wanted[name]
    ]


# -- the targets ------------------------------------------------------------------------


@dataclass
class Target:
    """One thing to call: its URL, headers and body, and the process serving it."""

    name: str
    url: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    pid: int | None = None
    error: str | None = None  # why it has no figures (failed to start, answers errors)
    errors: int = 0
    calls: int = 0
    latency: dict[int, list[float]] = field(default_factory=dict)  # concurrency: seconds
    rps: float | None = None
    rss_idle: float | None = None  # MiB
    rss_load: float | None = None
    markers: str = "not checked"
    watch: MemoryWatch | None = None
    ttfb: list[float] = field(default_factory=list)  # seconds to the first byte, streamed


def streamed(body: bytes) -> bytes:
    """``body`` asking for a streamed answer (every target here reads ``"stream": true``)."""
    return json.dumps({**json.loads(body), "stream": True}).encode()


def chat_body() -> bytes:
    """The OpenAI-style request the peers get: the template's system blocks (with the
    cache_control checkpoint on the document) and the question, as Cachet renders them."""
    template = template_body()
    system = template["messages"][0]["content"]
    return json.dumps(
        {
            "model": MODEL,
            "max_tokens": template["params"]["max_tokens"],
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": QUESTION["question"]},
            ],
        }
    ).encode()


def variable_template_body() -> dict[str, Any]:
    """``template_body`` with the document passed as a variable, as a client sends it."""
    body = template_body()
    body["variables"]["document"] = {"type": "string", "required": True}
    body["messages"][0]["content"][1]["text"] = "{{ document }}"
    return body


def sdk_template_body() -> dict[str, Any]:
    """``template_body`` without its user turn: an SDK call's ``messages`` bring it."""
    body = template_body()
    body["variables"] = {}
    body["messages"] = body["messages"][:1]
    return body


def prepare_shapes(cachet: Cachet, key: str) -> None:
    """Templates ``bench-var`` (the document comes from the client, ~40 KB a request) and
    ``bench-sdk`` (the question comes as the SDK call's messages)."""
    shapes = {"bench-var": variable_template_body(), "bench-sdk": sdk_template_body()}
    with cachet.serve():
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=cachet.url + "/api/v1", headers=headers, timeout=30) as api:
            for slug, body in shapes.items():
                api.post("/templates", json={"slug": slug, "name": slug}).raise_for_status()
                api.post(
                    f"/templates/{slug}/versions", json={"body": body, "message": "bench"}
                ).raise_for_status()


def cachet_targets(cachet: Cachet, key: str) -> list[Target]:
    """Cachet's three shapes of the same logical request: its own send with the document
    stored in the template, the same with the document sent as a variable, and the OpenAI
    SDK's chat/completions naming the stored template."""
    headers = {"Authorization": f"Bearer {key}", "content-type": "application/json"}
    document = template_body()["messages"][0]["content"][1]["text"]
    sdk = {
        "model": "default",
        "messages": [{"role": "user", "content": QUESTION["question"]}],
        "prompt": {"id": "bench-sdk"},
    }
    return [
        Target(
            "Cachet",
            url=f"{cachet.url}/api/v1/templates/bench/send",
            headers=headers,
            body=json.dumps({"variables": QUESTION}).encode(),
        ),
        Target(
            "Cachet (document as variable)",
            url=f"{cachet.url}/api/v1/templates/bench-var/send",
            headers=headers,
            body=json.dumps({"variables": {**QUESTION, "document": document}}).encode(),
        ),
        Target(
            "Cachet (OpenAI SDK endpoint)",
            url=f"{cachet.url}/openai/v1/chat/completions",
            headers=headers,
            body=json.dumps(sdk).encode(),
        ),
    ]


def litellm_config(stub_port: int, master_key: str) -> str:
    return json.dumps(
        {
            "model_list": [
                {
                    "model_name": MODEL,
                    "litellm_params": {
                        "model": f"anthropic/{MODEL}",
                        "api_base": f"http://127.0.0.1:{stub_port}",
                        "api_key": "bench",
                    },
                }
            ],
            "litellm_settings": {"telemetry": False, "drop_params": True},
            # It refuses to start without one; checked per request, as Cachet checks its key.
            "general_settings": {"master_key": master_key},
        }
    )


def start_portkey(cache: Path, stub_port: int) -> tuple[Any, Target]:
    port = free_port()
    command = ["node", str(portkey_entry(cache)), f"--port={port}", "--headless"]
    target = Target(
        "Portkey",
        url=f"http://127.0.0.1:{port}/v1/chat/completions",
        headers={
            "content-type": "application/json",
            "authorization": "Bearer bench",
            "x-portkey-provider": "anthropic",
            # Anthropic's base URL is https://api.anthropic.com/v1; the gateway adds /messages.
            "x-portkey-custom-host": f"http://127.0.0.1:{stub_port}/v1",
        },
        body=chat_body(),
    )
    return running(command, {"NODE_ENV": "production"}, port), target


def start_litellm(cache: Path, stub_port: int, config: Path) -> tuple[Any, Target]:
    port = free_port()
    master_key = f"sk-bench-{secrets.token_hex(16)}"
    config.write_text(litellm_config(stub_port, master_key))
    # No database: LiteLLM then keeps no spend rows (it wants PostgreSQL for them).
    command = [
        "env",
        "-u",
        "DATABASE_URL",
        str(litellm_bin(cache)),
        "--config",
        str(config),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--num_workers",
        "1",
    ]
    env = {
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # no fetch of the price list at start
        "LITELLM_LOG": "ERROR",
        "LITELLM_TELEMETRY": "False",
    }
    target = Target(
        "LiteLLM",
        url=f"http://127.0.0.1:{port}/v1/chat/completions",
        headers={"content-type": "application/json", "authorization": f"Bearer {master_key}"},
        body=chat_body(),
    )
    return running(command, env, port, seconds=180), target


# -- measuring --------------------------------------------------------------------------


def system_marked(body: dict[str, Any]) -> bool:
    """Whether an Anthropic Messages body has ``cache_control`` on a system block."""
    system = body.get("system")
    return isinstance(system, list) and any(
        isinstance(block, dict) and block.get("cache_control") for block in system
    )


def stub_received(stub_port: int) -> dict[str, Any]:
    response = httpx.get(f"http://127.0.0.1:{stub_port}/_stub/received", timeout=30)
    response.raise_for_status()
    return response.json()


def set_stub_latency(stub_port: int, ms: float) -> None:
    response = httpx.put(f"http://127.0.0.1:{stub_port}/_stub/latency", json={"ms": ms}, timeout=30)
    response.raise_for_status()


def check_markers(target: Target, stub_port: int) -> None:
    """One call through ``target``; then what the stub received from it."""
    before = stub_received(stub_port)["requests"]
    try:
        answer = httpx.post(target.url, content=target.body, headers=target.headers, timeout=60)
    except httpx.HTTPError as error:
        target.markers = f"unknown ({type(error).__name__})"
        return
    after = stub_received(stub_port)
    if after["requests"] == before:
        target.markers = f"unknown: no request reached the stub (HTTP {answer.status_code})"
        return
    last = after["received"][-1]
    if not last["path"].endswith("/v1/messages"):
        target.markers = f"unknown: it called {last['path']}"
        return
    target.markers = "yes" if system_marked(json.loads(last["body"])) else "no"


def tree_rss_mib(pid: int) -> float:
    return sum(rss_kib(p) for p in [pid, *descendants(pid)]) / 1024


def warm(target: Target, calls: int) -> None:
    """``calls`` calls one after another; a target whose answers all fail gets an error."""
    failures, last = 0, ""
    with httpx.Client(headers=target.headers, timeout=60) as client:
        for _ in range(calls):
            try:
                response = client.post(target.url, content=target.body)
                if response.status_code != 200:
                    failures += 1
                    last = f"HTTP {response.status_code}: {response.text[:300]}"
            except httpx.HTTPError as error:
                failures += 1
                last = f"{type(error).__name__}: {error}"
    if failures:
        target.error = f"{failures} of {calls} warm-up calls failed; last: {last}"
        target.errors += failures
        print(f"  {target.name}: {target.error}", flush=True)


async def interleaved(targets: list[Target], levels: dict[int, int], rounds: int) -> None:
    """Latency at each concurrency, all targets taking turns in ``rounds`` rounds."""
    for concurrency, total in levels.items():
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        clients = {
            t.name: httpx.AsyncClient(headers=t.headers, limits=limits, timeout=60) for t in targets
        }
        try:
            for t in targets:  # warm each pool to this concurrency
                await timed_calls(clients[t.name], t.url, t.body, concurrency * 4, concurrency)
            for t in targets:
                t.latency[concurrency] = []
            for _ in range(rounds):
                for t in targets:
                    times, failed = await timed_calls(
                        clients[t.name], t.url, t.body, total // rounds, concurrency
                    )
                    t.latency[concurrency] += times
                    t.calls += len(times)
                    t.errors += failed
        finally:
            for client in clients.values():
                await client.aclose()


async def first_bytes(targets: list[Target], total: int, rounds: int) -> None:
    """Time to the first byte of a streamed answer at concurrency 1, targets taking turns."""
    clients = {t.name: httpx.AsyncClient(headers=t.headers, timeout=60) for t in targets}

    async def one(t: Target) -> None:
        started = time.perf_counter()
        first = None
        try:
            async with clients[t.name].stream("POST", t.url, content=streamed(t.body)) as answer:
                async for _ in answer.aiter_raw():
                    first = first or time.perf_counter()
                ok = answer.status_code == 200
        except httpx.HTTPError:
            ok = False
        if ok and first is not None:
            t.ttfb.append(first - started)
        else:
            t.errors += 1

    try:
        for t in targets:  # warm
            for _ in range(5):
                await one(t)
            t.ttfb.clear()
        for _ in range(rounds):
            for t in targets:
                for _ in range(total // rounds):
                    await one(t)
    finally:
        for client in clients.values():
            await client.aclose()


async def hammer(
    url: str, headers: dict[str, str], body: bytes, concurrency: int, seconds: float
) -> tuple[float, int, int]:
    """POSTs on ``concurrency`` keep-alive connections for ``seconds``: requests per second
    (2xx answers over the wall time until the last answer), completed, failed."""
    parts = urlsplit(url)
    head = f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request = (head + f"content-length: {len(body)}\r\n\r\n").encode() + body
    done = failed = 0
    deadline = time.perf_counter() + seconds

    async def connection() -> None:
        nonlocal done, failed
        reader = writer = None
        while time.perf_counter() < deadline:
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
                writer.write(request)
                status, close = await read_response(reader)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                failed += 1
                if writer is not None:
                    writer.close()
                reader = writer = None
                await asyncio.sleep(0.01)
                continue
            if 200 <= status < 300:
                done += 1
            else:
                failed += 1
            if close:
                writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return done / (time.perf_counter() - started), done, failed


# -- the table --------------------------------------------------------------------------


def added(target: Target, direct: Target, concurrency: int, p: float) -> float | None:
    """``target``'s latency minus the direct call's at the ``p``th percentile, in ms."""
    mine, base = target.latency.get(concurrency), direct.latency.get(concurrency)
    if not mine or not base:
        return None
    return (percentile(mine, p) - percentile(base, p)) * 1000


def added_first_byte(target: Target, direct: Target) -> float | None:
    """``target``'s median time to a streamed answer's first byte minus the direct call's."""
    if not target.ttfb or not direct.ttfb:
        return None
    return (percentile(target.ttfb, 50) - percentile(direct.ttfb, 50)) * 1000


def ratio(ours: float | None, theirs: float | None) -> str:
    """Cachet's figure divided by a peer's, as ``1.23×``; '–' when either is missing or
    not positive (an added latency at or below the direct call's has no ratio)."""
    if ours is None or theirs is None or ours <= 0 or theirs <= 0:
        return "–"
    return f"{ours / theirs:.2f}×"


def ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f} ms"


def table(targets: list[Target]) -> list[str]:
    """The comparison as Markdown lines; a target with an error shows it, not figures."""
    direct = next(t for t in targets if t.name == "direct")
    lines = [
        "| one worker each, same stub, same request | added p50 c=1 | added p99 c=1 "
        "| added p50 c=8 | added first byte p50, streamed | req/s c=64 | RSS idle / load "
        "| markers |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for t in targets:
        if t.error:
            cells = [f"failed: {t.error[:120]} ({t.errors} errors)", "", "", "", "", "", t.markers]
        elif t is direct:
            p50_1, p99_1, p50_8 = (
                percentile(t.latency[c], p) * 1000 if t.latency.get(c) else None
                for c, p in ((1, 50), (1, 99), (8, 50))
            )
            first = percentile(t.ttfb, 50) * 1000 if t.ttfb else None
            cells = [
                f"(baseline {ms(p50_1)})",
                f"(baseline {ms(p99_1)})",
                f"(baseline {ms(p50_8)})",
                f"(baseline {ms(first)})",
                f"{t.rps:,.0f}" if t.rps is not None else "–",
                "–",
                t.markers,
            ]
        else:
            cells = [
                f"**{ms(added(t, direct, 1, 50))}**",
                ms(added(t, direct, 1, 99)),
                ms(added(t, direct, 8, 50)),
                ms(added_first_byte(t, direct)),
                f"{t.rps:,.0f}" if t.rps is not None else "–",
                f"{t.rss_idle:.0f} / {t.rss_load:.0f} MiB"
                if t.rss_idle is not None and t.rss_load is not None
                else "–",
                t.markers,
            ]
            if t.errors:
                cells[0] += f" ({t.errors} errors)"
        lines.append(f"| {t.name} | " + " | ".join(cells) + " |")
    return lines


def ratios(targets: list[Target]) -> str:
    """One line: each of Cachet's figures divided by each peer's."""
    by_name = {t.name: t for t in targets}
    direct = by_name["direct"]
    parts = []
    for cachet_name, peer in itertools.product(CACHET_SHAPES, ("Portkey", "LiteLLM")):
        cachet = by_name.get(cachet_name)
        other = by_name.get(peer)
        if cachet is None or other is None or cachet.error or other.error:
            parts.append(f"{cachet_name} ÷ {peer}: – (no figures for both)")
            continue
        figures = [
            ("added p50 c=1", added(cachet, direct, 1, 50), added(other, direct, 1, 50)),
            ("added p50 c=8", added(cachet, direct, 8, 50), added(other, direct, 8, 50)),
            ("added first byte", added_first_byte(cachet, direct), added_first_byte(other, direct)),
            ("req/s", cachet.rps, other.rps),
            ("RSS at load", cachet.rss_load, other.rss_load),
        ]
        parts.append(
            f"{cachet_name} ÷ {peer}: "
            + ", ".join(f"{name} {ratio(a, b)}" for name, a, b in figures)
        )
    return "ratios:\n" + "\n".join(f"- {part}" for part in parts)


# -- the run ----------------------------------------------------------------------------


def versions(cache: Path) -> str:
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    found = installed_versions(cache)
    return (
        f"Node {node}; peers: @portkey-ai/gateway {found['Portkey']}, "
        f"litellm[proxy] {found['LiteLLM']} (pinned, checked {CHECKED})"
    )


def measure(args: argparse.Namespace, cache: Path) -> list[Target]:
    quick = args.quick
    levels = {1: 300, 8: 800} if quick else {1: 1000, 8: 2400}
    seconds = 6 if quick else 15
    fresh_database(args.database_url)
    stub_context, stub_port = _stub(20)
    targets = [
        Target("direct", url=f"http://127.0.0.1:{stub_port}/v1/messages", headers=STUB_HEADERS)
    ]
    with stub_context, contextlib.ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        cachet = Cachet(args.database_url, stub_port, 1)
        key, wire = prepare(cachet)
        targets[0].body = wire
        print(
            f"wire body (direct): {len(wire):,} bytes; peers' body: {len(chat_body()):,} bytes",
            flush=True,
        )
        prepare_shapes(cachet, key)
        cachet_shapes = cachet_targets(cachet, key)
        starters: list[tuple[str, Callable[[], tuple[Any, Target]]]] = [
            ("Cachet", lambda: (cachet.serve(), cachet_shapes[0])),
            ("Portkey", lambda: start_portkey(cache, stub_port)),
            ("LiteLLM", lambda: start_litellm(cache, stub_port, Path(tmp) / "litellm.json")),
        ]
        for name, start in starters:
            print(f"starting {name} ...", flush=True)
            context, target = start()
            try:
                process = stack.enter_context(context)
                target.pid = process.pid
            except (SystemExit, OSError) as error:
                target.error = f"did not start: {error}"
                print(f"  {name} {target.error}", flush=True)
            targets.append(target)
            if name == "Cachet":  # its other shapes, served by the same process
                for shape in cachet_shapes[1:]:
                    shape.pid, shape.error = target.pid, target.error
                    targets.append(shape)

        live = [t for t in targets if not t.error]
        for t in live:
            warm(t, 20)
        live = [t for t in targets if not t.error]
        time.sleep(1)
        for t in live:
            if t.pid:
                t.rss_idle = tree_rss_mib(t.pid)
                t.watch = stack.enter_context(MemoryWatch(t.pid))
            check_markers(t, stub_port)
            print(f"  {t.name}: markers forwarded: {t.markers}", flush=True)

        print(f"latency, stub 20 ms, {levels} calls per target ...", flush=True)
        asyncio.run(interleaved(live, levels, rounds=10))

        first_calls = 100 if quick else 300
        print(f"time to first byte, streamed, stub 20 ms, {first_calls} calls each ...", flush=True)
        asyncio.run(first_bytes(live, first_calls, rounds=10))

        set_stub_latency(stub_port, 0)
        print(f"throughput, stub 0 ms, concurrency 64, {seconds} s each ...", flush=True)
        for t in live:
            rps, done, failed = asyncio.run(hammer(t.url, t.headers, t.body, 64, seconds))
            t.rps = rps
            t.errors += failed
            print(f"  {t.name}: {rps:.0f} req/s, {done} answered, {failed} failed", flush=True)
        for t in live:
            if t.watch is not None:
                t.rss_load = sum(t.watch.peak.values()) / 1024
            if t.errors and t.calls and t.errors * 2 > t.calls:
                t.error = "answers errors"
    return targets


def _stub(latency_ms: int) -> tuple[Any, int]:
    from benchmarks.gateway import stub

    return stub(latency_ms, STUB_RECORD="20")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--install", action="store_true", help="install the pinned peers")
    parser.add_argument("--quick", action="store_true", help="fewer calls, for a smoke run")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="where the peers live")
    args = parser.parse_args()
    cache = args.cache.expanduser()
    if args.install:
        install(cache)
        return
    missing = missing_peers(cache)
    if missing:
        raise SystemExit(
            f"The peer gateways are not installed in {cache}: {', '.join(missing)}.\n"
            f"Install them first (npm and pip, a few minutes):\n"
            f"    {Path(PYTHON).relative_to(ROOT)} benchmarks/peers.py --install"
            + (f" --cache {cache}" if cache != DEFAULT_CACHE else "")
        )
    started = time.monotonic()
    print(f"machine: {machine()}, load average {os.getloadavg()[0]:.2f}")
    print(versions(cache))
    print(f"database: {args.database_url.split('@')[-1]}\n", flush=True)
    targets = measure(args, cache)
    print()
    for t in targets:
        print(
            f"{t.name}: markers forwarded: {t.markers}; {t.calls} latency calls, "
            f"{t.errors} errors" + (f"; {t.error}" if t.error else "")
        )
    print()
    print("\n".join(table(targets)))
    print(ratios(targets))
    print(
        f"\n{'quick' if args.quick else 'default'} run, {time.monotonic() - started:.0f} s; "
        f"machine: {machine()}; {versions(cache)}"
    )


if __name__ == "__main__":
    main()
