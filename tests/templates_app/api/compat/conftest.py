"""A real Cachet server on 127.0.0.1 (uvicorn in a thread, the test database) for the
official SDKs to call, and loopback provider fakes for it to send to."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest
import uvicorn
from django.core.cache import cache

from templates_app.sending import clients
from tests.fakes.server import FakeServer


class CachetServer:
    """``config.asgi.application`` served by uvicorn on a free port, in a thread."""

    def __init__(self) -> None:
        from config.asgi import application

        config = uvicorn.Config(
            application, host="127.0.0.1", port=0, lifespan="on", log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.run(self.server.serve())

    def __enter__(self) -> CachetServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the Cachet server did not start")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture(scope="session")
def cachet_server() -> Iterator[CachetServer]:
    with CachetServer() as running:
        yield running


@pytest.fixture
def upstream(settings) -> Iterator[Any]:
    """``upstream(responder, **gateway_settings)``: a provider fake the server sends to."""
    servers: list[FakeServer] = []

    def start(responder: Any, **config: Any) -> FakeServer:
        server = FakeServer(responder=responder).__enter__()
        servers.append(server)
        values = {key: value.format(url=server.url) for key, value in config.items()}
        settings.GATEWAY = {**settings.GATEWAY, **values, "MAX_ATTEMPTS": 1}
        clients.forget_clients()
        return server

    yield start
    for server in servers:
        server.__exit__(None, None, None)
    clients.forget_clients()


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    """The simulator's entries live in Django's cache: each test starts cold."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def openai_client(cachet_server: CachetServer, api_key: str) -> openai.OpenAI:
    """The official OpenAI SDK, pointed at Cachet with a valid key (no retries)."""
    return openai.OpenAI(base_url=f"{cachet_server.url}/openai/v1", api_key=api_key, max_retries=0)


@pytest.fixture
def anthropic_client(cachet_server: CachetServer, api_key: str) -> anthropic.Anthropic:
    """The official Anthropic SDK, pointed at Cachet with a valid key (no retries)."""
    return anthropic.Anthropic(
        base_url=f"{cachet_server.url}/anthropic", api_key=api_key, max_retries=0
    )
