from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.anthropic.client import AnthropicClient
from gateway.anthropic.translate import from_anthropic, to_anthropic
from gateway.errors import (
    AuthenticationError,
    BadRequestError,
    GatewayError,
    MalformedResponseError,
    OverloadedError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    ServerError,
    StreamInterruptedError,
)
from gateway.registry import translator
from gateway.types import ChatRequest, Message, Result, StreamEvent, ToolCall
from gateway.wire import dumps
from tests.fakes import anthropic as fake
from tests.fakes.server import FakeServer, Reply
from tests.gateway import samples

API_KEY = "sk-ant-api03-FAKE-SECRET-7f3a9c2e-never-echo"
REQUEST = samples.system_checkpoint("anthropic/claude-sonnet-4-5")


class Harness:
    """Runs a real AnthropicClient against the fake server, each call in a fresh loop."""

    def __init__(self, server: FakeServer) -> None:
        self.server = server
        self.sleeps: list[float] = []

    async def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def run(self, use: Callable[[AnthropicClient], Awaitable[Any]], **options: Any) -> Any:
        options = {"base_url": self.server.url, "sleep": self._sleep, **options}

        async def main() -> Any:
            client = AnthropicClient(API_KEY, **options)
            try:
                return await use(client)
            finally:
                await client.aclose()

        return asyncio.run(main())

    def send(self, request: ChatRequest = REQUEST, **options: Any) -> Any:
        return self.run(lambda client: client.send(request), **options)

    def stream(self, request: ChatRequest = REQUEST, seen: list | None = None, **options: Any):
        """Every streamed event; ``seen`` collects them as they come, for broken streams."""
        events = [] if seen is None else seen

        async def consume(client: AnthropicClient) -> list[StreamEvent]:
            async for event in client.stream(request):
                events.append(event)
            return events

        return self.run(consume, **options)


@pytest.fixture(scope="module")
def shared_server():
    # One server per module: stopping one takes up to half a second (its poll interval).
    with FakeServer() as server:
        yield server


@pytest.fixture
def server(shared_server: FakeServer) -> FakeServer:
    shared_server.replies.clear()
    shared_server.requests.clear()
    shared_server.default = Reply(status=500, body=b"no reply scripted")
    return shared_server


@pytest.fixture
def anthropic(server: FakeServer) -> Harness:
    return Harness(server)


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def stream_usage() -> dict[str, Any]:
    return fake.usage(9, 1, read=2563)


# Sending: the wire


def test_wire_body_is_the_translation_byte_for_byte(anthropic, server):
    server.script(fake.reply(fake.message_response()))

    anthropic.send()

    (recorded,) = server.requests
    assert (recorded.method, recorded.path) == ("POST", "/v1/messages")
    assert recorded.body == dumps(to_anthropic(REQUEST))
    assert recorded.body == dumps(samples.load("anthropic/system_checkpoint.json"))
    assert recorded.headers["x-api-key"] == API_KEY
    assert recorded.headers["anthropic-version"] == "2023-06-01"
    assert recorded.headers["content-type"] == "application/json"


def test_non_ascii_and_authored_key_order_reach_the_wire_unchanged(anthropic, server):
    request = samples.tool_turns("anthropic/claude-sonnet-4-5")
    message = Message("user", "Wie ist das Wetter in Zürich? ☀")
    request = ChatRequest(request.model, (*request.messages, message), request.tools)
    server.script(fake.reply(fake.message_response()))

    anthropic.send(request)

    body = server.requests[0].body
    assert body == dumps(to_anthropic(request))
    assert "Zürich? ☀".encode() in body
    assert b'"properties":{"city":' in body


def test_send_returns_text_stop_reason_model_and_request_id(anthropic, server):
    server.script(fake.reply(fake.message_response("Hello."), request_id="req_abc"))

    result = anthropic.send()

    assert result.text == "Hello."
    assert result.stop_reason == "end_turn"
    assert result.model == "claude-sonnet-4-5-20250929"
    assert result.request_id == "req_abc"
    assert result.tool_calls == ()


def test_cache_write_then_read_are_normalized(anthropic, server):
    server.script(
        fake.reply(fake.message_response(usage=fake.usage(14, 19, write_5m=412, write_1h=2151))),
        fake.reply(fake.message_response(usage=fake.usage(16, 12, read=2563))),
    )

    async def twice(client: AnthropicClient) -> tuple[Result, Result]:
        return await client.send(REQUEST), await client.send(REQUEST)

    first, second = anthropic.run(twice)

    assert (first.usage.input_tokens, first.usage.output_tokens) == (14, 19)
    assert (first.usage.cache_write_5m_tokens, first.usage.cache_write_1h_tokens) == (412, 2151)
    assert first.usage.cache_read_tokens == 0
    assert first.usage.prompt_tokens == 14 + 2563
    assert second.usage.cache_read_tokens == 2563
    assert second.usage.cache_write_tokens == 0
    assert second.usage.input_tokens == 16
    assert second.usage.raw == fake.usage(16, 12, read=2563)


def test_tool_use_response_becomes_tool_calls(anthropic, server):
    server.script(fake.reply(fake.load("response_tool_use.json")))

    result = anthropic.send()

    assert result.text == "I'll check the current weather in Zürich."
    assert result.tool_calls == (
        ToolCall("toolu_01A09q90qw90lq917835lq9", "get_weather", '{"city":"Zürich","unit":"c"}'),
    )
    assert result.stop_reason == "tool_use"


def test_a_tool_input_holding_nan_is_a_malformed_answer_not_a_crash(anthropic, server):
    body = fake.load("response_tool_use.json")
    body["content"][1]["input"] = {"temperature": float("nan")}  # sent as the literal NaN
    server.script(fake.reply(body))

    with pytest.raises(MalformedResponseError, match="tool_use input"):
        anthropic.send()


# Sending: retries


def test_429_waits_for_retry_after_then_succeeds(anthropic, server):
    server.script(
        fake.error_reply(
            429, "rate_limit_error", "Number of request tokens exceeded", retry_after="2"
        ),
        fake.reply(fake.message_response("ok")),
    )

    assert anthropic.send().text == "ok"
    assert anthropic.sleeps == [2.0]
    assert len(server.requests) == 2


def test_529_is_retried(anthropic, server):
    server.script(
        fake.reply(fake.load("error_overloaded.json"), 529), fake.reply(fake.message_response("ok"))
    )

    assert anthropic.send().text == "ok"
    assert len(anthropic.sleeps) == 1
    assert 0.25 <= anthropic.sleeps[0] <= 0.5


@pytest.mark.parametrize("status", [500, 503, 504])
def test_5xx_is_retried(anthropic, server, status):
    server.script(
        fake.error_reply(status, "api_error", "Internal server error"),
        fake.reply(fake.message_response("ok")),
    )

    assert anthropic.send().text == "ok"
    assert len(server.requests) == 2


def test_three_529s_raise_overloaded_after_three_attempts(anthropic, server):
    server.script(*[fake.reply(fake.load("error_overloaded.json"), 529) for _ in range(3)])

    with pytest.raises(OverloadedError) as caught:
        anthropic.send()

    assert len(server.requests) == 3
    assert len(anthropic.sleeps) == 2
    assert caught.value.status == 529
    assert caught.value.message == "Overloaded"
    assert caught.value.request_id == "req_011CSHpq7jkbM1sdGfQp4n8d"


def test_max_attempts_bounds_the_tries(anthropic, server):
    server.default = fake.error_reply(503, "api_error", "Service unavailable")

    with pytest.raises(ServerError):
        anthropic.send(max_attempts=5)

    assert len(server.requests) == 5


def test_400_carries_the_provider_message_and_request_id_and_is_not_retried(anthropic, server):
    server.script(fake.reply(fake.load("error_invalid_request.json"), 400, request_id="req_header"))

    with pytest.raises(BadRequestError) as caught:
        anthropic.send()

    error = caught.value
    assert error.status == 400
    assert error.message == "A maximum of 4 blocks with cache_control may be provided. Found 5."
    assert error.request_id == "req_header"
    assert len(server.requests) == 1
    assert anthropic.sleeps == []


def test_request_id_falls_back_to_the_error_body(anthropic, server):
    body = json.dumps(fake.load("error_invalid_request.json")).encode()
    server.script(Reply(400, body, {"content-type": "application/json"}))

    with pytest.raises(BadRequestError) as caught:
        anthropic.send()

    assert caught.value.request_id == "req_011CSHoEeqs5C35K2UUqR7Fy"


@pytest.mark.parametrize(
    ("status", "kind", "error"),
    [
        (401, "authentication_error", AuthenticationError),
        (403, "permission_error", AuthenticationError),
        (404, "not_found_error", BadRequestError),
        (413, "request_too_large", BadRequestError),
        (422, "invalid_request_error", BadRequestError),
        (402, "billing_error", ProviderError),
        (409, "conflict_error", ProviderError),
    ],
)
def test_client_errors_map_to_their_class_and_are_not_retried(
    anthropic, server, status, kind, error
):
    server.script(fake.error_reply(status, kind, "nope"))

    with pytest.raises(error) as caught:
        anthropic.send()

    assert type(caught.value) is error
    assert (caught.value.status, caught.value.message) == (status, "nope")
    assert len(server.requests) == 1


def test_retries_end_with_the_last_error_and_an_empty_body_is_named(anthropic, server):
    html = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    server.script(Reply(502, html, {"content-type": "text/html"}), Reply(502, b""))

    with pytest.raises(ServerError) as caught:
        anthropic.send(max_attempts=2)

    assert caught.value.message == "(empty body)"
    assert len(server.requests) == 2


def test_non_json_error_message_is_an_excerpt(anthropic, server):
    html = b"<html>\n<body><h1>400 Bad Request</h1>" + b"x" * 5000 + b"</body></html>"
    server.script(Reply(400, html, {"content-type": "text/html"}))

    with pytest.raises(BadRequestError) as caught:
        anthropic.send()

    assert caught.value.message.startswith("<html> <body><h1>400 Bad Request</h1>")
    assert len(caught.value.message) <= 203


# Sending: transport failures


def test_read_timeout_is_a_timeout_error_and_not_retried(anthropic, server):
    server.script(Reply.json(200, fake.message_response(), delay=1.0))

    with pytest.raises(ProviderTimeoutError) as caught:
        anthropic.send(timeout=0.3)

    assert caught.value.message == "no answer within 0.3 s"
    assert len(server.requests) == 1
    assert anthropic.sleeps == []


def test_refused_connection_is_retried_then_raises_connection_error(anthropic):
    with pytest.raises(ProviderConnectionError) as caught:
        anthropic.send(base_url=closed_port_url())

    assert caught.value.provider == "anthropic"
    assert isinstance(caught.value.__cause__, Exception)
    assert len(anthropic.sleeps) == 2


@pytest.fixture
def hang_up_url():
    """A server that reads each request and closes the connection without answering."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    done = threading.Event()

    def serve() -> None:
        while not done.is_set():
            with contextlib.suppress(TimeoutError):
                connection, _ = listener.accept()
                with connection, contextlib.suppress(TimeoutError):
                    connection.settimeout(0.05)
                    while connection.recv(65536):  # read the whole request, then hang up
                        pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    done.set()
    thread.join()
    listener.close()


def test_hang_up_before_the_status_line_is_a_retried_connection_error(anthropic, hang_up_url):
    with pytest.raises(ProviderConnectionError, match="RemoteProtocolError"):
        anthropic.send(base_url=hang_up_url)

    assert len(anthropic.sleeps) == 2


def test_body_that_is_not_json_is_malformed(anthropic, server):
    server.script(Reply(200, b"<html>maintenance</html>", {"content-type": "text/html"}))

    with pytest.raises(MalformedResponseError) as caught:
        anthropic.send()

    assert caught.value.status == 200
    assert "maintenance" in caught.value.message
    assert len(server.requests) == 1


def test_json_without_content_is_malformed(anthropic, server):
    server.script(fake.reply({"id": "msg_1", "type": "message", "usage": fake.usage(1, 1)}))

    with pytest.raises(MalformedResponseError) as caught:
        anthropic.send()

    assert caught.value.status == 200
    assert len(server.requests) == 1


def test_body_cut_after_the_status_line_is_not_retried(anthropic, server):
    chunks = [b'{"id": "msg_1", "content": [', b'{"type": "text"']
    server.script(
        Reply(200, headers={"content-type": "application/json"}, chunks=chunks, cut_after=1)
    )

    with pytest.raises(StreamInterruptedError) as caught:
        anthropic.send()

    assert caught.value.status == 200
    assert len(server.requests) == 1


# Streaming


def test_stream_starts_then_yields_deltas_then_one_done_with_usage_and_tool_call(anthropic, server):
    server.script(fake.stream_reply(fake.chunked(fake.recorded_stream(), 7)))

    events = anthropic.stream()

    assert [e.text for e in events if e.type == "delta"] == [
        "Okay, let",
        "'s check the weather in Zürich.",
    ]
    assert [e.type for e in events] == ["start", "delta", "delta", "done"]
    result = events[-1].result
    assert result.text == "Okay, let's check the weather in Zürich."
    assert result.tool_calls == (
        ToolCall("toolu_01T1x1fJ34qAmk2tNTrN7Up6", "get_weather", '{"city":"Zürich","unit":"c"}'),
    )
    assert result.stop_reason == "tool_use"
    assert result.request_id == fake.REQUEST_ID
    usage = result.usage
    assert (usage.input_tokens, usage.output_tokens, usage.cache_read_tokens) == (472, 89, 0)
    assert (usage.cache_write_5m_tokens, usage.cache_write_1h_tokens) == (0, 2563)


def test_stream_sends_the_translation_with_stream_true(anthropic, server):
    server.script(
        fake.stream_reply(fake.sse(fake.text_events(["Hi"], stream_usage(), {"output_tokens": 2})))
    )

    anthropic.stream()

    expected = dumps({**to_anthropic(REQUEST), "stream": True})
    assert server.requests[0].body == expected
    assert server.requests[0].headers["x-api-key"] == API_KEY


def test_message_delta_counters_override_message_start(anthropic, server):
    start = fake.usage(9, 1, write_1h=300)
    delta = {
        "input_tokens": 11,
        "cache_creation_input_tokens": 500,
        "cache_read_input_tokens": 7,
        "output_tokens": 42,
    }
    server.script(fake.stream_reply(fake.sse(fake.text_events(["a", "b"], start, delta))))

    usage = anthropic.stream()[-1].result.usage

    assert (usage.input_tokens, usage.output_tokens, usage.cache_read_tokens) == (11, 42, 7)
    # The write total moved on; the 1h share from message_start still stands.
    assert (usage.cache_write_1h_tokens, usage.cache_write_5m_tokens) == (300, 200)


def test_stream_opening_status_is_retried(anthropic, server):
    events = fake.text_events(["ok"], stream_usage(), {"output_tokens": 3})
    server.script(
        fake.reply(fake.load("error_overloaded.json"), 529), fake.stream_reply(fake.sse(events))
    )

    events = anthropic.stream()

    assert events[-1].result.text == "ok"
    assert len(server.requests) == 2
    assert len(anthropic.sleeps) == 1


def test_stream_cut_midway_raises_interrupted_after_the_deltas_so_far(anthropic, server):
    events = fake.text_events(["one ", "two ", "three"], stream_usage(), {"output_tokens": 3})
    server.script(fake.stream_reply(fake.sse(events), cut_after=5))
    seen: list[StreamEvent] = []

    with pytest.raises(StreamInterruptedError) as caught:
        anthropic.stream(seen=seen)

    assert [e.type for e in seen[:1]] == ["start"]
    assert [e.text for e in seen[1:]] == ["one ", "two "]
    assert caught.value.status is None
    assert len(server.requests) == 1
    assert anthropic.sleeps == []


def test_stream_that_ends_without_message_stop_is_interrupted(anthropic, server):
    events = fake.text_events(["partial"], stream_usage(), {"output_tokens": 3})[:-1]
    server.script(fake.stream_reply(fake.sse(events)))

    with pytest.raises(StreamInterruptedError, match="message_stop"):
        anthropic.stream()


def test_stream_error_event_raises_the_mapped_error(anthropic, server):
    events = fake.text_events(["Hel"], stream_usage(), {"output_tokens": 3})[:4]
    events.append(fake.load("error_overloaded.json"))
    server.script(fake.stream_reply(fake.sse(events)))
    seen: list[StreamEvent] = []

    with pytest.raises(OverloadedError) as caught:
        anthropic.stream(seen=seen)

    assert [e.type for e in seen[:1]] == ["start"]
    assert [e.text for e in seen[1:]] == ["Hel"]
    assert caught.value.message == "Overloaded"
    assert caught.value.request_id == "req_011CSHpq7jkbM1sdGfQp4n8d"
    assert len(server.requests) == 1


def test_stream_answered_with_json_is_malformed(anthropic, server):
    server.script(fake.reply(fake.message_response()))

    with pytest.raises(MalformedResponseError, match="not a stream"):
        anthropic.stream()


def test_stream_with_an_impossible_event_is_malformed(anthropic, server):
    events = fake.text_events(["x"], stream_usage(), {"output_tokens": 1})
    events[3] = {
        "type": "content_block_delta",
        "index": 7,
        "delta": {"type": "text_delta", "text": "x"},
    }
    server.script(fake.stream_reply(fake.sse(events)))

    with pytest.raises(MalformedResponseError, match="content_block_delta"):
        anthropic.stream()


def test_stream_read_timeout_between_events_is_a_timeout_error(anthropic, server):
    events = fake.sse(fake.text_events(["slow"], stream_usage(), {"output_tokens": 1}))
    server.script(
        Reply(200, headers={"content-type": "text/event-stream"}, chunks=events, chunk_delay=0.6)
    )

    with pytest.raises(ProviderTimeoutError):
        anthropic.stream(timeout=0.3)


def test_stream_text_with_a_line_separator_arrives_whole(anthropic, server):
    events = fake.text_events(["one\u2028two"], stream_usage(), {"output_tokens": 2})
    server.script(fake.stream_reply(fake.sse(events)))

    assert anthropic.stream()[-1].result.text == "one\u2028two"


# count_tokens


def test_count_tokens_posts_only_the_counted_fields(anthropic, server):
    request = samples.tool_turns("anthropic/claude-sonnet-4-5")
    server.script(fake.reply(fake.load("count_tokens.json")))

    assert anthropic.run(lambda client: client.count_tokens(request)) == 2095

    recorded = server.requests[0]
    assert recorded.path == "/v1/messages/count_tokens"
    wire = to_anthropic(request)
    expected = {key: wire[key] for key in ("model", "tools", "system", "messages", "tool_choice")}
    assert recorded.body == dumps(expected)
    assert "max_tokens" not in recorded.json()


def test_count_tokens_without_a_count_is_malformed(anthropic, server):
    server.script(fake.reply({"tokens": 3}))

    with pytest.raises(MalformedResponseError):
        anthropic.run(lambda client: client.count_tokens(REQUEST))


# Configuration


def test_from_config_without_key_is_unavailable():
    for config in ({}, {"ANTHROPIC_API_KEY": ""}, {"ANTHROPIC_API_KEY": None}):
        with pytest.raises(ProviderUnavailableError, match="ANTHROPIC_API_KEY is not set"):
            AnthropicClient.from_config(config)


def test_from_config_reads_the_gateway_settings(server):
    config = {
        "ANTHROPIC_API_KEY": API_KEY,
        "ANTHROPIC_BASE_URL": server.url,
        "CONNECT_TIMEOUT": 2.0,
        "TIMEOUT": 30.0,
        "MAX_ATTEMPTS": 1,
    }
    server.script(fake.error_reply(529, "overloaded_error", "Overloaded"))

    async def main() -> None:
        client = AnthropicClient.from_config(config)
        try:
            with pytest.raises(OverloadedError):
                await client.send(REQUEST)
        finally:
            await client.aclose()

    asyncio.run(main())
    assert len(server.requests) == 1
    assert server.requests[0].headers["x-api-key"] == API_KEY


def test_client_is_a_provider_client_and_the_registry_translates_with_to_anthropic():
    assert AnthropicClient.name == "anthropic"
    assert translator("anthropic") is to_anthropic


# Secrets


def failures(server: FakeServer) -> list[tuple[str, Callable[[Harness], Any]]]:
    echo = f"invalid x-api-key: {API_KEY}"
    return [
        (
            "401 echoing the key",
            lambda h: (
                server.script(fake.error_reply(401, "authentication_error", echo)),
                h.send(),
            ),
        ),
        (
            "html echoing the key",
            lambda h: (
                server.script(Reply(400, f"<p>x-api-key: {API_KEY}</p>".encode())),
                h.send(),
            ),
        ),
        (
            "200 not json",
            lambda h: (server.script(Reply(200, f"key={API_KEY}".encode())), h.send()),
        ),
        (
            "stream error event",
            lambda h: (
                server.script(fake.stream_reply(fake.sse([fake.error_body("api_error", echo)]))),
                h.stream(),
            ),
        ),
        ("timeout", lambda h: (server.script(Reply.json(200, {}, delay=0.5)), h.send(timeout=0.2))),
        ("refused", lambda h: h.send(base_url=closed_port_url(), max_attempts=1)),
    ]


def test_no_error_contains_the_key_or_a_header(anthropic, server):
    for label, scenario in failures(server):
        with pytest.raises(GatewayError) as caught:
            scenario(anthropic)
        error = caught.value
        for text in (str(error), repr(error), *map(str, error.args), getattr(error, "message", "")):
            assert API_KEY not in text, label
            assert "x-api-key: sk" not in text.lower(), label


# from_anthropic against recorded responses


def test_from_anthropic_splits_cache_writes_by_ttl():
    result = from_anthropic(fake.load("response_cache_write.json"), request_id="req_1")

    assert result.text == "Revenue was 4.2M EUR in Q3, up 12% on Q2."
    assert result.request_id == "req_1"
    usage = result.usage
    assert (usage.input_tokens, usage.output_tokens, usage.cache_read_tokens) == (14, 19, 0)
    assert (usage.cache_write_5m_tokens, usage.cache_write_1h_tokens) == (412, 2151)
    assert usage.cache_write_tokens == 2563
    assert usage.raw == fake.load("response_cache_write.json")["usage"]


def test_from_anthropic_reads_cache_reads():
    usage = from_anthropic(fake.load("response_cache_read.json")).usage

    assert (usage.input_tokens, usage.cache_read_tokens, usage.cache_write_tokens) == (16, 2563, 0)
    assert usage.prompt_tokens == 16 + 2563


def test_from_anthropic_counts_writes_without_breakdown_as_5m():
    usage = from_anthropic(fake.load("response_legacy_usage.json")).usage

    assert (usage.cache_write_5m_tokens, usage.cache_write_1h_tokens) == (1876, 0)
    assert usage.input_tokens == 21


def test_from_anthropic_keeps_missing_counters_unknown():
    body = fake.message_response("hi", {"input_tokens": 3, "output_tokens": 1})

    usage = from_anthropic(body).usage

    assert usage.cache_read_tokens is None
    assert usage.cache_write_tokens is None
    assert usage.input_tokens == 3


def test_from_anthropic_tool_arguments_are_compact_json_in_key_order():
    body = fake.load("response_tool_use.json")
    body["content"][1]["input"] = {"zeta": [1, 2], "alpha": {"é": None}}

    (call,) = from_anthropic(body).tool_calls

    assert call.arguments == '{"zeta":[1,2],"alpha":{"é":null}}'


def test_from_anthropic_skips_unknown_blocks():
    body = fake.message_response("answer")
    body["content"].insert(0, {"type": "thinking", "thinking": "hmm", "signature": "sig"})

    assert from_anthropic(body).text == "answer"


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        "text",
        {"type": "message", "usage": {"input_tokens": 1}},
        {"content": [], "usage": None},
        {"content": "hi", "usage": {}},
        {"content": [{"type": "text", "text": 5}], "usage": {}},
        {"content": [{"text": "no type"}], "usage": {}},
        {"content": ["hi"], "usage": {}},
        {"content": [{"type": "tool_use", "id": "t", "name": "n", "input": "{}"}], "usage": {}},
        {"content": [], "usage": {"input_tokens": "12"}},
        {"content": [], "usage": {"input_tokens": True}},
        {"content": [], "usage": {"cache_creation": [1, 2]}},
        {"content": [], "usage": {}, "stop_reason": 3},
    ],
)
def test_from_anthropic_rejects_what_is_not_a_messages_response(body):
    with pytest.raises(MalformedResponseError) as caught:
        from_anthropic(body, status=200)

    assert (caught.value.provider, caught.value.status) == ("anthropic", 200)


counts = st.integers(min_value=0, max_value=10**7)


@given(uncached=counts, read=counts, five=counts, hour=counts, output=counts)
def test_normalized_usage_adds_up_to_the_prompt(uncached, read, five, hour, output):
    body = fake.message_response(
        "x", fake.usage(uncached, output, read=read, write_5m=five, write_1h=hour)
    )

    usage = from_anthropic(body).usage

    assert (usage.cache_write_5m_tokens, usage.cache_write_1h_tokens) == (five, hour)
    assert usage.prompt_tokens == uncached + read + five + hour
