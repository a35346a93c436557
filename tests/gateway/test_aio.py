"""aiohttp's errors reach the clients as the httpx errors httpx's own pool raises."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator

import aiohttp
import httpx
import pytest

from gateway.aio import aio_client, httpx_error

LIMITS = httpx.Limits(max_connections=4, max_keepalive_connections=4)


@pytest.mark.parametrize(
    ("error", "sending", "expected"),
    [
        (aiohttp.ConnectionTimeoutError(), True, httpx.ConnectTimeout),
        (aiohttp.SocketTimeoutError(), False, httpx.ReadTimeout),
        (TimeoutError(), False, httpx.ReadTimeout),
        (aiohttp.ServerDisconnectedError(), True, httpx.RemoteProtocolError),
        (aiohttp.ClientPayloadError("cut"), False, httpx.RemoteProtocolError),
        (aiohttp.ClientOSError(104, "reset"), True, httpx.WriteError),
        (aiohttp.ClientOSError(104, "reset"), False, httpx.ReadError),
    ],
)
def test_each_aiohttp_error_has_its_httpx_counterpart(error, sending, expected):
    assert type(httpx_error(error, sending=sending)) is expected


def test_an_error_that_is_not_aiohttps_is_left_alone():
    assert httpx_error(ValueError("x"), sending=True) is None


@pytest.fixture
def server() -> Iterator[tuple[int, list[str]]]:
    """A TCP server whose behaviour the test names: 'close' (hang up on the request),
    'silent' (never answer), or 'cut' (headers, then part of the body, then hang up)."""
    plan: list[str] = []
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        held = []
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            conn.recv(65536)
            if plan[0] == "cut":
                conn.sendall(b'HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{"par')
            if plan[0] == "silent":
                held.append(conn)
                continue
            conn.close()
        for conn in held:
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1], plan
    stop.set()
    thread.join(5)
    listener.close()


def call(port: int, timeout: float = 5.0) -> BaseException:
    async def go() -> BaseException:
        client = aio_client(LIMITS, timeout=httpx.Timeout(timeout, connect=2.0))
        try:
            response = await client.post(f"http://127.0.0.1:{port}/v1", content=b"{}")
            await response.aread()
        except Exception as exc:  # noqa: BLE001 - what the client raised is the subject
            return exc
        finally:
            await client.aclose()
        raise AssertionError("the call succeeded")

    return asyncio.run(go())


def test_a_refused_connection_is_a_connect_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there once closed
    assert isinstance(call(port), httpx.ConnectError)


def test_a_hang_up_before_the_answer_is_a_protocol_error_not_a_connect_error(server):
    port, plan = server
    plan.append("close")
    error = call(port)
    assert isinstance(error, httpx.RemoteProtocolError)
    assert not isinstance(error, httpx.ConnectError | httpx.ConnectTimeout)


def test_no_answer_within_the_read_timeout_is_a_read_timeout(server):
    port, plan = server
    plan.append("silent")
    assert isinstance(call(port, timeout=0.3), httpx.ReadTimeout)


def test_a_body_cut_short_is_a_protocol_error(server):
    port, plan = server
    plan.append("cut")
    assert isinstance(call(port), httpx.RemoteProtocolError)


def test_proxies_from_the_environment_are_used_as_httpx_would(monkeypatch, server):
    # A proxy that hangs up: the call fails there, not at the (unreachable) host itself.
    port, plan = server
    plan.append("close")
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)

    async def go() -> BaseException:
        client = aio_client(LIMITS, timeout=httpx.Timeout(5.0, connect=2.0))
        try:
            await client.post("http://provider.invalid/v1", content=b"{}")
        except Exception as exc:  # noqa: BLE001 - what the client raised is the subject
            return exc
        finally:
            await client.aclose()
        raise AssertionError("the call succeeded")

    error = asyncio.run(go())
    assert isinstance(error, httpx.RemoteProtocolError), error  # the proxy hung up
