from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from gateway.errors import (
    AuthenticationError,
    BadRequestError,
    GatewayError,
    MalformedResponseError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitError,
    ServerError,
    StreamInterruptedError,
)
from gateway.openai.client import OpenAIClient
from gateway.openai.translate import from_openai, to_openai
from gateway.registry import translator
from gateway.types import StreamEvent, ToolCall, Usage
from gateway.wire import dumps
from tests.fakes import openai as fake
from tests.fakes.server import FakeServer, Reply
from tests.gateway import samples

KEY = "sk-test-4f9a1c2e8b7d6a5f3e2d1c0b9a8f7e6d"
REQUEST = samples.multiple_checkpoints("openai/gpt-4o")
STREAM_OPTIONS = {"stream": True, "stream_options": {"include_usage": True}}
WEATHER_CALLS = (
    ToolCall("call_Qh3kX9mZ2vB7", "get_weather", '{"city": "Paris", "unit": "c"}'),
    ToolCall("call_Lw8pR4tN6cY1", "get_weather", '{"city": "Oslo"}'),
)


class Sleeps(list[float]):
    """A fake ``asyncio.sleep`` that records the delays instead of waiting."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture(scope="module")
def shared_server():
    # One server for the module: each FakeServer shutdown waits out a 0.5 s poll.
    with FakeServer() as fake_server:
        yield fake_server


@pytest.fixture
def server(shared_server):
    shared_server.replies.clear()
    shared_server.requests.clear()
    return shared_server


def call(
    server: FakeServer,
    action: Callable[[OpenAIClient], Awaitable[Any]],
    *,
    api_key: str | None = KEY,
    sleeps: Sleeps | None = None,
    **options: Any,
) -> Any:
    """Run ``action`` with a real client pointed at ``server``, then close the client."""

    async def main() -> Any:
        sleep = sleeps if sleeps is not None else Sleeps()
        client = OpenAIClient(api_key, base_url=f"{server.url}/v1", sleep=sleep, **options)
        try:
            return await action(client)
        finally:
            await client.aclose()

    return asyncio.run(main())


def send(client: OpenAIClient) -> Awaitable[Any]:
    return client.send(REQUEST)


def streamer(events: list[StreamEvent]) -> Callable[[OpenAIClient], Awaitable[None]]:
    """An action that streams REQUEST into ``events``, so a test sees them even on error."""

    async def action(client: OpenAIClient) -> None:
        async for event in client.stream(REQUEST):
            events.append(event)

    return action


def stream(server: FakeServer, **options: Any) -> list[StreamEvent]:
    events: list[StreamEvent] = []
    call(server, streamer(events), **options)
    return events


def refused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# from_openai: pure parsing of recorded bodies


def test_text_response_is_normalized():
    body = samples.load("openai/response_text.json")

    result = from_openai(body)

    assert result.text == "Revenue was 4.2M EUR, up 12% on Q2."
    assert result.tool_calls == ()
    assert result.stop_reason == "stop"
    assert result.model == "gpt-4o-2024-08-06"
    # No writes before GPT-5.6: 0, not unknown.
    assert result.usage == Usage(2006, 14, 0, 0, None, raw=body["usage"])


def test_cached_tokens_are_not_counted_as_input():
    usage = from_openai(samples.load("openai/response_cached.json")).usage

    assert (usage.input_tokens, usage.cache_read_tokens) == (86, 1920)
    assert usage.prompt_tokens == usage.raw["prompt_tokens"] == 2006


def test_cache_write_tokens_are_subtracted_from_input_and_count_as_5m_writes():
    usage = from_openai(samples.load("openai/response_cache_write.json")).usage

    assert (usage.input_tokens, usage.cache_read_tokens, usage.cache_write_5m_tokens) == (
        440,
        1024,
        1536,
    )
    assert usage.cache_write_1h_tokens is None
    assert usage.prompt_tokens == 3000


def test_tool_calls_keep_their_arguments_as_given():
    result = from_openai(samples.load("openai/response_tool_calls.json"))

    assert result.text == ""
    assert result.tool_calls == WEATHER_CALLS
    assert result.stop_reason == "tool_calls"


@pytest.mark.parametrize("name", ["openai/response_ollama.json", "openai/response_vllm.json"])
def test_missing_cached_field_is_unknown_not_zero(name):
    usage = from_openai(samples.load(name)).usage

    assert usage.cache_read_tokens is None
    assert usage.cache_write_tokens is None
    assert (usage.input_tokens, usage.output_tokens) == (2006, 14)


def test_missing_usage_is_unknown_not_zero():
    body = fake.completion()
    del body["usage"]

    assert from_openai(body).usage == Usage()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"choices": []},
        {"choices": [{"message": "hello"}]},
        {"choices": [{"message": {"content": 42}}]},
        fake.completion(tool_calls=[{"id": "call_1", "function": {"arguments": "{}"}}]),
        fake.completion(usage_body={"prompt_tokens": "2006", "completion_tokens": 9}),
        fake.completion(usage_body=fake.usage(100, 9, cached_tokens=128)),
    ],
)
def test_body_outside_the_protocol_is_malformed(body):
    with pytest.raises(MalformedResponseError):
        from_openai(body)


# The client against the fake server: the wire


def test_wire_body_is_the_translation_byte_for_byte(server):
    server.script(fake.completion_reply())

    call(server, send)

    [recorded] = server.requests
    assert (recorded.method, recorded.path) == ("POST", "/v1/chat/completions")
    assert recorded.body == dumps(to_openai(REQUEST))
    assert recorded.json()["prompt_cache_key"] == REQUEST.cache_key
    assert b"cache_control" not in recorded.body
    assert recorded.headers["authorization"] == f"Bearer {KEY}"
    assert recorded.headers["content-type"] == "application/json"


def test_second_call_reads_the_cache_without_double_counting(server):
    server.script(
        fake.completion_reply(usage_body=fake.usage(2006, 9)),
        fake.completion_reply(usage_body=fake.usage(2006, 9, cached_tokens=1920)),
    )

    async def twice(client: OpenAIClient) -> tuple[Any, Any]:
        return await client.send(REQUEST), await client.send(REQUEST)

    first, second = call(server, twice)

    assert (first.usage.input_tokens, first.usage.cache_read_tokens) == (2006, 0)
    assert (second.usage.input_tokens, second.usage.cache_read_tokens) == (86, 1920)
    assert second.usage.output_tokens == 9
    assert second.usage.prompt_tokens == second.usage.raw["prompt_tokens"] == 2006
    assert second.request_id == fake.REQUEST_ID
    assert server.requests[0].body == server.requests[1].body


def test_missing_cached_field_reaches_the_caller_as_unknown(server):
    server.script(fake.completion_reply(usage_body=fake.usage(2006, 9, details=False)))

    usage = call(server, send).usage

    assert usage.cache_read_tokens is None
    assert usage.input_tokens == 2006


# Errors and retries


def test_429_waits_for_retry_after(server):
    server.script(
        fake.error_reply(429, "Rate limit reached", type="requests", headers={"retry-after": "2"}),
        fake.completion_reply(),
    )
    sleeps = Sleeps()

    result = call(server, send, sleeps=sleeps)

    assert result.text == "Revenue was 4.2M EUR."
    assert sleeps == [2.0]
    assert len(server.requests) == 2


def test_429_prefers_retry_after_ms(server):
    headers = {"retry-after": "2", "retry-after-ms": "1500"}
    server.script(fake.error_reply(429, "Slow down", headers=headers), fake.completion_reply())
    sleeps = Sleeps()

    call(server, send, sleeps=sleeps)

    assert sleeps == [1.5]


def test_429_that_persists_is_a_rate_limit_error(server):
    headers = {"retry-after": "1"}
    server.script(*[fake.error_reply(429, "Rate limit reached", headers=headers)] * 3)

    with pytest.raises(RateLimitError) as caught:
        call(server, send)

    assert caught.value.retry_after == 1.0
    assert len(server.requests) == 3


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retried_with_backoff(server, status):
    error = fake.error_reply(status, "The server had an error", type="server_error")
    server.script(error, error, fake.completion_reply())
    sleeps = Sleeps()

    assert call(server, send, sleeps=sleeps).text == "Revenue was 4.2M EUR."
    assert len(server.requests) == 3
    assert len(sleeps) == 2 and all(0 < delay <= 8 for delay in sleeps)


def test_server_error_gives_up_after_max_attempts(server):
    server.script(*[fake.error_reply(503, "Service Unavailable", type="server_error")] * 3)

    with pytest.raises(ServerError) as caught:
        call(server, send)

    assert caught.value.status == 503
    assert caught.value.message == "Service Unavailable"
    assert len(server.requests) == 3


def test_400_is_a_bad_request_with_the_provider_message_and_not_retried(server):
    message = "Invalid value for 'temperature': must be between 0 and 2."
    server.script(fake.error_reply(400, message, code="invalid_value"))
    sleeps = Sleeps()

    with pytest.raises(BadRequestError) as caught:
        call(server, send, sleeps=sleeps)

    assert (caught.value.status, caught.value.message) == (400, message)
    assert caught.value.request_id == fake.REQUEST_ID
    assert len(server.requests) == 1 and sleeps == []


@pytest.mark.parametrize("status", [404, 422])
def test_other_request_errors_are_bad_requests(server, status):
    server.script(fake.error_reply(status, "The model `gpt-9` does not exist"))

    with pytest.raises(BadRequestError):
        call(server, send)


@pytest.mark.parametrize("status", [401, 403])
def test_rejected_key_is_an_authentication_error_without_the_key(server, status):
    message = f"Incorrect API key provided: {KEY}. You can find your API key at ..."
    server.script(fake.error_reply(status, message, code="invalid_api_key"))

    with pytest.raises(AuthenticationError) as caught:
        call(server, send)

    assert KEY not in str(caught.value)
    assert caught.value.message.startswith("Incorrect API key provided: ")
    assert len(server.requests) == 1


def test_error_without_json_keeps_a_short_excerpt(server):
    page = b"<html><body><h1>502 Bad Gateway</h1>" + b"x" * 1000 + b"</body></html>"
    server.script(*[Reply(status=502, body=page, headers={"content-type": "text/html"})] * 3)

    with pytest.raises(ServerError) as caught:
        call(server, send)

    assert caught.value.message.startswith("<html><body><h1>502 Bad Gateway</h1>")
    assert len(caught.value.message) <= 200


@pytest.mark.parametrize(("status", "error"), [(413, ProviderError), (529, ServerError)])
def test_413_is_a_plain_provider_error_and_529_a_server_error(server, status, error):
    server.script(*[fake.error_reply(status, "nope")] * 3)

    with pytest.raises(error) as caught:
        call(server, send)

    assert type(caught.value) is error
    assert len(server.requests) == (3 if error is ServerError else 1)


def test_read_timeout_is_a_timeout_and_not_retried(server):
    server.script(fake.completion_reply(delay=1.0))
    sleeps = Sleeps()

    with pytest.raises(ProviderTimeoutError):
        call(server, send, sleeps=sleeps, timeout=0.2)

    assert len(server.requests) == 1 and sleeps == []


def test_answer_cut_after_the_status_line_is_not_retried(server):
    body = json.dumps(fake.completion()).encode()
    chunks = [body[:40], body[40:]]
    headers = {"content-type": "application/json", "x-request-id": fake.REQUEST_ID}
    server.script(Reply(status=200, headers=headers, chunks=chunks, cut_after=1))
    sleeps = Sleeps()

    with pytest.raises(StreamInterruptedError) as caught:
        call(server, send, sleeps=sleeps)

    assert caught.value.request_id == fake.REQUEST_ID
    assert len(server.requests) == 1 and sleeps == []


def test_connection_refused_is_a_connection_error_and_retried():
    sleeps = Sleeps()

    async def main() -> None:
        base_url = f"http://127.0.0.1:{refused_port()}/v1"
        client = OpenAIClient(KEY, base_url=base_url, sleep=sleeps)
        try:
            await client.send(REQUEST)
        finally:
            await client.aclose()

    with pytest.raises(ProviderConnectionError) as caught:
        asyncio.run(main())

    assert len(sleeps) == 2
    assert KEY not in str(caught.value)


@pytest.mark.parametrize(
    "reply",
    [
        Reply(status=200, body=b"<html>maintenance</html>", headers={"content-type": "text/html"}),
        Reply.json(200, {"object": "chat.completion", "choices": []}),
    ],
)
def test_malformed_body_is_a_malformed_response_error(server, reply):
    server.script(reply)

    with pytest.raises(MalformedResponseError):
        call(server, send)

    assert len(server.requests) == 1


@pytest.mark.parametrize(
    "reply",
    [
        fake.error_reply(401, f"Incorrect API key provided: {KEY}"),
        fake.error_reply(400, f"Header 'Authorization: Bearer {KEY}' is not allowed here"),
        Reply(status=500, body=f"upstream rejected key {KEY}".encode()),
        Reply.json(200, {"choices": [], "echo": KEY}),
    ],
)
def test_no_error_carries_the_key(server, reply):
    server.script(reply, reply, reply)

    with pytest.raises(GatewayError) as caught:
        call(server, send)

    assert KEY not in str(caught.value)
    assert all(KEY not in str(arg) for arg in caught.value.args)


def test_local_server_key_is_redacted_too(server):
    secret = "local-secret-7c1d"
    server.script(fake.error_reply(401, f"bad key {secret}"))

    with pytest.raises(AuthenticationError) as caught:
        call(server, send, api_key=secret)

    assert secret not in str(caught.value)


# Streaming


def test_stream_yields_deltas_then_one_done_with_usage(server):
    server.script(fake.recorded_reply("stream_text.txt"))

    events = stream(server)

    start, *deltas, done = events
    assert start.type == "start"
    assert all(event.type == "delta" for event in deltas)
    assert "".join(event.text for event in deltas) == "Revenue was 4.2M EUR, up 12% on Q2."
    assert done.type == "done" and done.result is not None
    assert done.result.text == "Revenue was 4.2M EUR, up 12% on Q2."
    assert done.result.stop_reason == "stop"
    assert done.result.request_id == fake.REQUEST_ID
    usage = done.result.usage
    assert (usage.input_tokens, usage.cache_read_tokens, usage.output_tokens) == (86, 1920, 14)
    assert usage.prompt_tokens == 2006


def test_stream_body_asks_for_usage_and_keeps_the_prefix_bytes(server):
    server.script(fake.recorded_reply("stream_text.txt"))

    stream(server)

    [recorded] = server.requests
    assert recorded.path == "/v1/chat/completions"
    assert recorded.body == dumps({**to_openai(REQUEST), **STREAM_OPTIONS})
    assert recorded.body.startswith(dumps(to_openai(REQUEST))[:-1])


def test_stream_assembles_tool_calls_from_fragments(server):
    server.script(fake.recorded_reply("stream_tool_calls.txt"))

    events = stream(server)

    assert [event.type for event in events] == ["start", "done"]
    result = events[1].result
    assert result is not None
    assert result.tool_calls == WEATHER_CALLS
    assert result.stop_reason == "tool_calls"
    assert result.usage.input_tokens == 412


def test_stream_cut_midway_raises_stream_interrupted(server):
    chunks = fake.text_chunks(["Revenue", " was", " 4.2M"], fake.usage(2006, 3))
    server.script(fake.stream_reply(fake.sse_events(chunks), cut_after=3))
    events: list[StreamEvent] = []

    with pytest.raises(StreamInterruptedError):
        call(server, streamer(events))

    assert [(e.type, e.text) for e in events] == [
        ("start", ""),
        ("delta", "Revenue"),
        ("delta", " was"),
    ]
    assert len(server.requests) == 1


def test_stream_ending_without_done_raises_stream_interrupted(server):
    chunks = fake.text_chunks(["Revenue"], fake.usage(2006, 1))
    server.script(fake.stream_reply(fake.sse_events(chunks, done=False)))
    events: list[StreamEvent] = []

    with pytest.raises(StreamInterruptedError):
        call(server, streamer(events))

    assert [event.type for event in events] == ["start", "delta"]


def test_stream_error_event_raises_stream_interrupted_with_its_message(server):
    error = {"error": {"message": "The server had an error while processing your request."}}
    events = fake.sse_events([fake.chunk({"content": "Rev"}), error], done=False)
    server.script(fake.stream_reply(events))

    with pytest.raises(StreamInterruptedError) as caught:
        stream(server)

    assert caught.value.message == error["error"]["message"]


def test_stream_event_that_is_not_json_is_malformed(server):
    server.script(fake.stream_reply([b"data: {not json\n\n", b"data: [DONE]\n\n"]))

    with pytest.raises(MalformedResponseError):
        stream(server)


def test_stream_text_with_line_breaking_characters_arrives_whole(server):
    # U+2028 and U+0085 may stand raw in a JSON string; the form feed goes escaped ("\f").
    # None of them ends an event-stream line, though str.splitlines breaks at each.
    text = "one\u2028two\x0cthree\x85four"
    chunks = fake.text_chunks([text], fake.usage(2006, 4))
    events = [f"data: {json.dumps(c, ensure_ascii=False)}\n\n".encode() for c in chunks]
    server.script(fake.stream_reply([*events, b"data: [DONE]\n\n"]))

    start, *deltas, done = stream(server)

    assert start.type == "start"
    assert [event.text for event in deltas] == [text]
    assert done.result is not None
    assert done.result.text == text


def test_stream_without_usage_reports_unknown_usage(server):
    server.script(fake.recorded_reply("stream_no_usage.txt"))

    done = stream(server)[-1]

    assert done.result is not None
    assert done.result.text == "Revenue was 4.2M EUR."
    assert done.result.usage == Usage()


def test_stream_retries_a_503_before_the_first_event(server):
    server.script(
        fake.error_reply(503, "Service Unavailable", type="server_error"),
        fake.recorded_reply("stream_text.txt"),
    )
    sleeps = Sleeps()

    events = stream(server, sleeps=sleeps)

    assert events[-1].type == "done"
    assert len(server.requests) == 2 and len(sleeps) == 1


def test_stream_error_status_is_mapped_like_send(server):
    server.script(fake.error_reply(400, "stream_options is only allowed with stream"))

    with pytest.raises(BadRequestError) as caught:
        stream(server)

    assert caught.value.message == "stream_options is only allowed with stream"


# Configuration and local servers


def test_local_server_needs_no_key_and_gets_no_authorization_header(server):
    server.script(
        fake.recorded_reply("response_ollama.json"), fake.recorded_reply("stream_no_usage.txt")
    )

    async def both(client: OpenAIClient) -> tuple[Any, list[StreamEvent]]:
        result = await client.send(REQUEST)
        return result, [event async for event in client.stream(REQUEST)]

    async def main() -> tuple[Any, list[StreamEvent]]:
        client = OpenAIClient.from_config({"OPENAI_BASE_URL": f"{server.url}/v1"})
        try:
            return await both(client)
        finally:
            await client.aclose()

    result, events = asyncio.run(main())

    assert result.usage.cache_read_tokens is None
    assert events[-1].type == "done"
    assert [r.path for r in server.requests] == ["/v1/chat/completions"] * 2
    assert all("authorization" not in r.headers for r in server.requests)


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"OPENAI_API_KEY": "", "OPENAI_BASE_URL": "https://api.openai.com/v1"},
        {"OPENAI_API_KEY": None, "OPENAI_BASE_URL": "https://eu.api.openai.com/v1/"},
    ],
)
def test_openai_without_key_is_unavailable(config):
    with pytest.raises(ProviderUnavailableError) as caught:
        OpenAIClient.from_config(config)

    assert "OPENAI_API_KEY" in str(caught.value)


def test_from_config_reads_key_timeouts_and_attempts(server):
    server.script(fake.error_reply(500, "boom", type="server_error"))
    config = {
        "OPENAI_API_KEY": KEY,
        "OPENAI_BASE_URL": f"{server.url}/v1",
        "CONNECT_TIMEOUT": 1.0,
        "TIMEOUT": 5.0,
        "MAX_ATTEMPTS": 1,
    }

    async def main() -> None:
        client = OpenAIClient.from_config(config)
        try:
            await client.send(REQUEST)
        finally:
            await client.aclose()

    with pytest.raises(ServerError):
        asyncio.run(main())

    assert len(server.requests) == 1
    assert server.requests[0].headers["authorization"] == f"Bearer {KEY}"


def test_client_names_itself_and_the_registry_translates_with_to_openai():
    assert OpenAIClient.name == "openai"
    assert translator("openai") is to_openai
    assert json.loads(dumps(translator("openai")(REQUEST)))["model"] == "gpt-4o"


def test_a_local_servers_key_echoed_in_a_stream_error_is_hidden(server):
    local_key = "local-server-key-7Q2"
    error = {"error": {"message": f"invalid token {local_key}"}}
    server.script(fake.stream_reply(fake.sse_events([error], done=False)))

    with pytest.raises(StreamInterruptedError) as caught:
        stream(server, api_key=local_key)

    assert local_key not in str(caught.value)
