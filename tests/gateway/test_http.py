from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.errors import (
    AuthenticationError,
    OverloadedError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitError,
    ServerError,
    StreamInterruptedError,
)
from gateway.http import (
    EMPTY_BODY,
    Dialect,
    ErrorDetails,
    ProviderHTTP,
    excerpt,
    json_or_none,
    redact,
)
from tests.fakes.server import FakeServer, Reply

SECRET = "test-secret-51c9"
SSE_HEADERS = {"content-type": "text/event-stream"}


def details(response: httpx.Response, body: bytes) -> ErrorDetails:
    """The whole body as the message, ``x-id`` as the request id, ``wait`` as the wait."""
    wait = response.headers.get("wait")
    return ErrorDetails(body.decode(), response.headers.get("x-id"), float(wait) if wait else None)


def dialect(*, strict_error_body: bool = False) -> Dialect:
    return Dialect(
        "test",
        statuses={401: AuthenticationError, 429: RateLimitError, 529: OverloadedError},
        server_statuses=range(500, 600),
        error_details=details,
        strict_error_body=strict_error_body,
    )


@pytest.fixture(scope="module")
def shared_server():
    with FakeServer() as fake_server:
        yield fake_server


@pytest.fixture
def server(shared_server):
    shared_server.replies.clear()
    shared_server.requests.clear()
    return shared_server


def run(
    url: str,
    action: Callable[[ProviderHTTP], Awaitable[Any]],
    *,
    sleeps: list[float] | None = None,
    timeout: float = 5.0,
    attempts: int = 1,
    strict_error_body: bool = False,
) -> Any:
    """Run ``action`` with a ProviderHTTP pointed at ``url``, then close it."""
    recorded = [] if sleeps is None else sleeps

    async def sleep(seconds: float) -> None:
        recorded.append(seconds)

    async def main() -> Any:
        client = httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(timeout, connect=1.0))
        http = ProviderHTTP(
            client,
            dialect(strict_error_body=strict_error_body),
            redact=lambda text: redact(text, SECRET, "[redacted]"),
            unreachable=lambda exc: f"unreachable ({type(exc).__name__})",
            attempts=attempts,
            sleep=sleep,
        )
        try:
            return await action(http)
        finally:
            await http.aclose()

    return asyncio.run(main())


async def post_and_read(http: ProviderHTTP) -> bytes:
    response = await http.post("/v1/call", b'{"q":1}')
    return await http.read(response, during="while testing", status=response.status_code)


async def post_and_stream(http: ProviderHTTP) -> list[tuple[str | None, str]]:
    response = await http.post("/v1/call", b"{}")
    try:
        return [event async for event in http.events(response, during="mid-test")]
    finally:
        await response.aclose()


# Pure helpers


def test_excerpt_puts_the_body_on_one_line():
    assert excerpt(b"<p>\n  one\ttwo </p>\r\n") == "<p> one two </p>"


def test_excerpt_cuts_at_200_characters_then_adds_the_ellipsis():
    assert excerpt(b"x" * 500) == "x" * 200 + "..."
    assert excerpt(b"x" * 500, ellipsis="") == "x" * 200
    assert excerpt(b"x" * 200) == "x" * 200


def test_blank_body_is_named_unless_told_otherwise():
    assert excerpt(b"  \n\t") == EMPTY_BODY == "(empty body)"
    assert excerpt(b"", empty="") == ""


def test_excerpt_replaces_bytes_that_are_not_utf8():
    assert excerpt(b"\xff ok") == "\ufffd ok"


@given(st.binary(max_size=600))
def test_excerpt_is_one_short_line_for_any_body(body):
    text = excerpt(body)

    assert "\n" not in text and "\r" not in text
    assert 0 < len(text) <= 203


def test_json_or_none_decodes_json_and_gives_none_otherwise():
    assert json_or_none(b'{"error": {"message": "no"}}') == {"error": {"message": "no"}}
    assert json_or_none(b"<html>") is None
    assert json_or_none(b"") is None


def test_redact_replaces_every_occurrence_of_the_secret():
    assert redact(f"key {SECRET}, again {SECRET}", SECRET, "***") == "key ***, again ***"
    assert redact("no key here", None, "***") == "no key here"
    assert redact("no key here", "", "***") == "no key here"


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, AuthenticationError),
        (429, RateLimitError),
        (529, OverloadedError),
        (500, ServerError),
        (599, ServerError),
        (600, ProviderError),
        (418, ProviderError),
        (None, ProviderError),
    ],
)
def test_error_class_is_the_table_then_the_server_range_then_provider_error(status, error):
    assert dialect().error_class(status) is error


# ProviderHTTP against a loopback server


def test_post_sends_the_bytes_and_read_returns_the_body(server):
    server.script(Reply(200, b'{"ok":true}'))

    assert run(server.url, post_and_read) == b'{"ok":true}'
    [recorded] = server.requests
    assert (recorded.method, recorded.path, recorded.body) == ("POST", "/v1/call", b'{"q":1}')


def test_error_answer_is_the_dialect_error_with_a_redacted_message(server):
    server.script(Reply(401, f"bad key {SECRET}".encode(), {"x-id": "req_1", "wait": "3"}))

    with pytest.raises(AuthenticationError) as caught:
        run(server.url, post_and_read)

    error = caught.value
    assert (error.provider, error.status, error.message) == ("test", 401, "bad key [redacted]")
    assert (error.request_id, error.retry_after) == ("req_1", 3.0)


def test_an_empty_message_is_named_empty_body(server):
    server.script(Reply(503, b""))

    with pytest.raises(ServerError) as caught:
        run(server.url, post_and_read)

    assert caught.value.message == EMPTY_BODY


def test_retryable_statuses_are_retried_with_their_wait(server):
    server.script(Reply(429, b"slow down", {"wait": "2"}), Reply(200, b"done"))
    sleeps: list[float] = []

    assert run(server.url, post_and_read, sleeps=sleeps, attempts=3) == b"done"
    assert sleeps == [2.0]


@pytest.mark.parametrize(
    ("strict", "error"), [(False, ServerError), (True, ProviderConnectionError)]
)
def test_an_error_body_that_breaks_off_is_empty_unless_strict(server, strict, error):
    server.script(Reply(503, chunks=[b"partial"], cut_after=0))

    with pytest.raises(error) as caught:
        run(server.url, post_and_read, strict_error_body=strict)

    assert type(caught.value) is error
    if not strict:
        assert caught.value.message == EMPTY_BODY


def test_a_body_that_breaks_off_is_interrupted_in_the_callers_words(server):
    server.script(Reply(200, chunks=[b'{"partial":', b"true}"], cut_after=1))
    sleeps: list[float] = []

    with pytest.raises(StreamInterruptedError) as caught:
        run(server.url, post_and_read, sleeps=sleeps, attempts=3)

    message = "the connection broke while testing (RemoteProtocolError)"
    assert (caught.value.status, caught.value.message) == (200, message)
    assert len(server.requests) == 1 and sleeps == []


def test_read_timeout_is_a_timeout_error_naming_the_limit_and_not_retried(server):
    server.script(Reply(200, b"late", delay=0.6))
    sleeps: list[float] = []

    with pytest.raises(ProviderTimeoutError) as caught:
        run(server.url, post_and_read, sleeps=sleeps, timeout=0.2, attempts=3)

    assert caught.value.message == "no answer within 0.2 s"
    assert len(server.requests) == 1 and sleeps == []


def test_refused_connection_is_retried_and_worded_by_unreachable():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    sleeps: list[float] = []

    with pytest.raises(ProviderConnectionError) as caught:
        run(url, post_and_read, sleeps=sleeps, attempts=3)

    assert caught.value.message == "unreachable (ConnectError)"
    assert len(sleeps) == 2


def test_events_are_parsed_from_the_bytes(server):
    raw = "event: a\ndata: one\u2028two\n\n".encode()
    server.script(Reply(200, headers=SSE_HEADERS, chunks=[raw[:19], raw[19:]]))  # U+2028 cut

    assert run(server.url, post_and_stream) == [("a", "one\u2028two")]


def test_events_that_break_off_are_interrupted(server):
    chunks = [b"data: 1\n\n", b"data: 2\n\n"]
    server.script(Reply(200, headers=SSE_HEADERS, chunks=chunks, cut_after=1))

    with pytest.raises(StreamInterruptedError) as caught:
        run(server.url, post_and_stream)

    message = "the connection broke mid-test (RemoteProtocolError)"
    assert (caught.value.status, caught.value.message) == (None, message)
