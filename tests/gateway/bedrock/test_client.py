"""BedrockClient: the real boto3 client against the loopback fake, plus from_converse."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Iterator
from typing import Any, TypeVar

import pytest

from gateway.bedrock.boto import ConverseStreamFold
from gateway.bedrock.client import BedrockClient
from gateway.bedrock.translate import from_converse, to_converse
from gateway.errors import (
    AuthenticationError,
    BadRequestError,
    GatewayError,
    MalformedResponseError,
    ProviderConnectionError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitError,
    ServerError,
    StreamInterruptedError,
)
from gateway.types import ChatRequest, Message, StreamEvent, ToolCall, Usage
from tests.fakes import bedrock as fake
from tests.fakes.server import FakeServer, Reply
from tests.gateway import samples

T = TypeVar("T")

ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
REGION = "us-east-1"
MODEL_ID = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
CLAUDE = f"bedrock/{MODEL_ID}"
HELLO = ChatRequest(CLAUDE, (Message("user", "Hi"),))


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """Dummy static keys and nothing else: no profile, no files, no instance metadata."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))


@pytest.fixture(scope="module")
def shared_server() -> Iterator[FakeServer]:
    # One server per module: stopping one waits out serve_forever's 0.5 s poll.
    with FakeServer() as fake_server:
        yield fake_server


@pytest.fixture
def server(shared_server: FakeServer, aws_env: None) -> FakeServer:
    """The shared fake with nothing scripted and nothing recorded."""
    shared_server.replies.clear()
    shared_server.requests.clear()
    return shared_server


def make_client(server: FakeServer, **overrides: Any) -> BedrockClient:
    options = {"endpoint_url": server.url, "connect_timeout": 1.0, "read_timeout": 2.0}
    return BedrockClient(REGION, **options | overrides)


def run(client: BedrockClient, call: Awaitable[T]) -> T:
    """Await ``call`` in a fresh event loop, then close the client."""

    async def scenario() -> T:
        try:
            return await call
        finally:
            await client.aclose()

    return asyncio.run(scenario())


def send(server: FakeServer, request: ChatRequest = HELLO, **overrides: Any) -> Any:
    client = make_client(server, **overrides)
    return run(client, client.send(request))


async def collect(events: AsyncIterator[StreamEvent], into: list[StreamEvent]) -> None:
    async with contextlib.aclosing(events) as stream:
        async for event in stream:
            into.append(event)


def stream(server: FakeServer, **overrides: Any) -> tuple[list[StreamEvent], GatewayError | None]:
    """Every event the client yielded, and the error that ended the stream, if any."""
    client = make_client(server, **overrides)
    events: list[StreamEvent] = []
    try:
        run(client, collect(client.stream(HELLO), events))
    except GatewayError as error:
        return events, error
    return events, None


# --- from_converse against recorded bodies -------------------------------------------


def test_text_answer_is_normalized_with_zero_cache_counts():
    result = from_converse(samples.load("bedrock/response_text.json"))

    assert result.text == "Revenue was 4.2M EUR in Q3, up 12% on Q2."
    assert result.tool_calls == ()
    assert result.stop_reason == "end_turn"
    assert result.usage == Usage(21, 17, 0, 0, 0, raw=result.usage.raw)
    assert result.usage.raw == samples.load("bedrock/response_text.json")["usage"]


def test_cache_write_is_split_by_cache_details_ttl():
    usage = from_converse(samples.load("bedrock/response_cache_write.json")).usage

    assert usage.input_tokens == 9
    assert (usage.cache_write_1h_tokens, usage.cache_write_5m_tokens) == (4120, 1024)
    assert usage.cache_read_tokens == 0
    assert usage.prompt_tokens == 9 + 5144


def test_cache_read_leaves_input_tokens_uncached():
    usage = from_converse(samples.load("bedrock/response_cache_read.json")).usage

    assert (usage.input_tokens, usage.cache_read_tokens, usage.cache_write_tokens) == (11, 5144, 0)


def test_cache_write_without_details_counts_as_five_minutes():
    usage = from_converse(samples.load("bedrock/response_write_without_details.json")).usage

    assert (usage.cache_write_5m_tokens, usage.cache_write_1h_tokens) == (2048, 0)


def test_missing_cache_fields_are_unknown_not_zero():
    result = from_converse(samples.load("bedrock/response_no_cache_fields.json"))

    assert result.stop_reason == "max_tokens"
    assert result.usage.cache_read_tokens is None
    assert result.usage.cache_write_tokens is None


def test_tool_use_blocks_become_tool_calls_with_compact_json_arguments():
    result = from_converse(samples.load("bedrock/response_tool_use.json"))

    assert result.text == "Let me check the weather in both cities."
    assert result.tool_calls == (
        ToolCall("tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "get_weather", '{"city":"Zürich","unit":"c"}'),
        ToolCall("tooluse_3xWq0bH7TjOQm1nS9yVf2A", "get_weather", '{"city":"Oslo"}'),
    )
    assert result.stop_reason == "tool_use"


def test_request_id_comes_from_boto3_response_metadata():
    body = samples.load("bedrock/response_text.json") | {"ResponseMetadata": {"RequestId": "r-1"}}

    assert from_converse(body).request_id == "r-1"


def _without(path: tuple[str, ...]) -> dict[str, Any]:
    body = samples.load("bedrock/response_tool_use.json")
    node = body
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return body


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({}, "'output' is missing"),
        ({"message": "Internal error"}, "'output' is missing"),
        (_without(("usage",)), "'usage' is missing"),
        (_without(("stopReason",)), "'stopReason' is missing"),
        (_without(("usage", "inputTokens")), "'inputTokens' is missing"),
        (
            samples.load("bedrock/response_text.json") | {"output": {"message": {"content": "hi"}}},
            "'content' is not a list",
        ),
        (
            samples.load("bedrock/response_text.json")
            | {"usage": {"inputTokens": True, "outputTokens": 1}},
            "'inputTokens' is not an integer",
        ),
        (
            samples.load("bedrock/response_text.json")
            | {
                "usage": {
                    "inputTokens": 1,
                    "outputTokens": 1,
                    "cacheDetails": [{"ttl": "24h", "inputTokens": 5}],
                }
            },
            "ttl '24h'",
        ),
    ],
)
def test_malformed_body_raises_malformed_response_error(body, detail):
    with pytest.raises(MalformedResponseError, match=detail) as caught:
        from_converse(body)

    assert caught.value.provider == "bedrock"


def test_tool_use_without_input_is_malformed():
    body = samples.load("bedrock/response_tool_use.json")
    del body["output"]["message"]["content"][1]["toolUse"]["input"]

    with pytest.raises(MalformedResponseError, match="'input' is missing"):
        from_converse(body)


def test_stream_fold_gives_empty_tool_input_as_empty_object():
    fold = ConverseStreamFold()
    start = {"contentBlockIndex": 0, "start": {"toolUse": {"toolUseId": "t1", "name": "ping"}}}
    for event in (
        {"contentBlockStart": start},
        {"messageStop": {"stopReason": "tool_use"}},
        {"metadata": {"usage": {"inputTokens": 1, "outputTokens": 2}}},
    ):
        fold.add(event)

    assert from_converse(fold.body({})).tool_calls == (ToolCall("t1", "ping", "{}"),)


def test_stream_fold_rejects_tool_input_that_is_not_json():
    fold = ConverseStreamFold()
    start = {"contentBlockIndex": 0, "start": {"toolUse": {"toolUseId": "t1", "name": "ping"}}}
    fold.add({"contentBlockStart": start})
    fold.add({"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"toolUse": {"input": "{"}}}})
    fold.add({"messageStop": {"stopReason": "tool_use"}})
    fold.add({"metadata": {"usage": {"inputTokens": 1, "outputTokens": 2}}})

    with pytest.raises(MalformedResponseError, match="not JSON"):
        fold.body({"RequestId": "r-2"})


# --- Converse over the wire --------------------------------------------------------


def test_converse_posts_translated_body_to_encoded_model_path_signed_with_sigv4(server):
    request = samples.images(CLAUDE, remote=False)
    server.script(fake.converse_reply())

    result = send(server, request)

    (recorded,) = server.requests
    payload = to_converse(request)
    assert recorded.method == "POST"
    assert recorded.path == "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse"
    assert recorded.path == fake.model_path(MODEL_ID)
    assert recorded.json() == {key: value for key, value in payload.items() if key != "modelId"}
    assert list(recorded.json()) == ["messages", "inferenceConfig"]
    image = recorded.json()["messages"][0]["content"][1]["image"]
    assert image["source"]["bytes"] == samples.PNG  # base64 on the wire, as in the payload
    fake.assert_sigv4(recorded, access_key=ACCESS_KEY, region=REGION)
    assert fake.signature_is_valid(
        recorded, server.url, access_key=ACCESS_KEY, secret_key=SECRET_KEY, region=REGION
    )
    assert result.text == "Revenue was 4.2M EUR."
    assert result.request_id == fake.REQUEST_ID


def test_checkpoints_and_tool_schema_order_reach_the_wire(server):
    request = samples.multiple_checkpoints(CLAUDE)
    server.script(fake.converse_reply())

    send(server, request)

    body = server.requests[0].json()
    expected = {key: value for key, value in to_converse(request).items() if key != "modelId"}
    assert body == expected
    schema = body["toolConfig"]["tools"][1]["toolSpec"]["inputSchema"]["json"]
    assert list(schema) == ["type", "required", "properties", "additionalProperties"]


def test_tool_result_images_are_base64_on_the_wire(server):
    part = samples.image(f"data:image/png;base64,{samples.PNG}")
    messages = (
        Message("user", "Draw it"),
        Message("assistant", None, tool_calls=(ToolCall("t1", "draw", "{}"),)),
        Message("tool", (part,), tool_call_id="t1"),
    )
    request = ChatRequest(CLAUDE, messages)
    server.script(fake.converse_reply())

    send(server, request)

    assert server.requests[0].json()["messages"] == to_converse(request)["messages"]


def test_cache_write_then_read_are_normalized_from_the_wire(server):
    write = fake.usage(9, 15, write_1h=4120, write_5m=1024)
    read = fake.usage(11, 10, cache_read=5144)
    server.script(
        fake.converse_reply(fake.converse_body(token_usage=write)),
        fake.converse_reply(fake.converse_body(token_usage=read)),
    )
    client = make_client(server)

    async def twice() -> tuple[Any, Any]:
        return await client.send(HELLO), await client.send(HELLO)

    first, second = run(client, twice())

    assert first.usage == Usage(9, 15, 0, 1024, 4120, raw=write)
    assert second.usage == Usage(11, 10, 5144, 0, 0, raw=read)
    assert write["cacheDetails"][0]["ttl"] == "1h"


def test_throttling_is_retried_by_botocore_then_succeeds(server):
    server.script(
        fake.error_reply(429, "ThrottlingException", "Too many requests, please wait."),
        fake.converse_reply(),
    )

    started = time.monotonic()
    result = send(server)

    # Standard mode waits rand(0, 1) s before the first retry of a throttle.
    assert time.monotonic() - started < 2.5
    assert len(server.requests) == 2
    assert server.requests[1].headers["amz-sdk-request"].endswith("attempt=2; max=3")
    assert result.text == "Revenue was 4.2M EUR."


def test_internal_server_error_is_retried_then_succeeds(server):
    server.script(
        fake.error_reply(500, "InternalServerException", "An internal error occurred."),
        fake.converse_reply(),
    )

    assert send(server).stop_reason == "end_turn"
    assert len(server.requests) == 2


def test_server_errors_stop_after_max_attempts_in_all(server):
    server.script(*[fake.error_reply(500, "InternalServerException", "Still down.")] * 4)

    with pytest.raises(ServerError) as caught:
        send(server, max_attempts=3)

    assert len(server.requests) == 3
    assert (caught.value.status, caught.value.message) == (500, "Still down.")


def test_validation_error_is_bad_request_with_provider_message_not_retried(server):
    message = (
        "Invocation of model ID anthropic.claude-sonnet-4-5-20250929-v1:0 with on-demand "
        "throughput isn't supported. Retry your request with the ID or ARN of an inference profile."
    )
    server.script(fake.error_reply(400, "ValidationException", message))

    with pytest.raises(BadRequestError) as caught:
        send(server)

    error = caught.value
    assert (error.provider, error.status, error.message) == ("bedrock", 400, message)
    assert error.request_id == fake.REQUEST_ID
    assert len(server.requests) == 1


def test_access_denied_is_authentication_error(server):
    message = "You don't have access to the model with the specified model ID."
    server.script(fake.error_reply(403, "AccessDeniedException", message))

    with pytest.raises(AuthenticationError) as caught:
        send(server)

    assert (caught.value.status, caught.value.message) == (403, message)


@pytest.mark.parametrize(
    ("status", "code", "error_class"),
    [
        (429, "ModelNotReadyException", RateLimitError),
        (400, "ServiceQuotaExceededException", RateLimitError),
        (404, "ResourceNotFoundException", BadRequestError),
        (403, "UnrecognizedClientException", AuthenticationError),
        (503, "ServiceUnavailableException", ServerError),
        (424, "ModelErrorException", ServerError),
        (408, "ModelTimeoutException", ProviderTimeoutError),
        (418, "SomeFutureException", BadRequestError),
        (502, "SomeFutureFault", ServerError),
    ],
)
def test_error_codes_map_to_gateway_errors(server, status, code, error_class):
    server.script(fake.error_reply(status, code, f"{code} happened."))

    with pytest.raises(error_class, match=f"{code} happened"):
        send(server, max_attempts=1)


def test_read_timeout_is_provider_timeout_and_not_retried(server):
    server.script(fake.converse_reply(delay=1.0), fake.converse_reply())

    with pytest.raises(ProviderTimeoutError, match="read timed out"):
        send(server, read_timeout=0.3)

    assert len(server.requests) == 1


def test_connection_refused_is_connection_error(aws_env):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = BedrockClient(REGION, endpoint_url=f"http://127.0.0.1:{port}", connect_timeout=1.0)

    with pytest.raises(ProviderConnectionError, match="Could not connect"):
        run(client, client.send(HELLO))


@pytest.mark.parametrize(
    "reply",
    [
        Reply(200, b"not json{", headers={"content-type": "application/json"}),
        Reply.json(200, {"output": {"message": {"role": "assistant", "content": []}}}),
    ],
)
def test_malformed_200_body_is_malformed_response_error(server, reply):
    server.script(reply)

    with pytest.raises(MalformedResponseError):
        send(server)


def test_missing_credentials_are_unavailable_at_first_use(server, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    client = make_client(server)

    with pytest.raises(ProviderUnavailableError, match="no AWS credentials"):
        run(client, client.send(HELLO))

    assert server.requests == []


def test_partial_credentials_are_unavailable_when_the_client_is_built(server, monkeypatch):
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")

    with pytest.raises(ProviderUnavailableError, match="incomplete AWS credentials from env"):
        BedrockClient.from_config(
            {"AWS_REGION": REGION, "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": server.url}
        )


# --- from_config -----------------------------------------------------------------


def test_from_config_without_region_is_unavailable():
    with pytest.raises(ProviderUnavailableError, match="AWS_REGION is not set"):
        BedrockClient.from_config({"AWS_REGION": None, "CONNECT_TIMEOUT": 10, "TIMEOUT": 600})


def test_from_config_uses_endpoint_timeout_and_attempts(server):
    server.script(fake.converse_reply(delay=1.0))
    config = {
        "AWS_REGION": REGION,
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": server.url,
        "CONNECT_TIMEOUT": 1.0,
        "TIMEOUT": 0.3,
        "MAX_ATTEMPTS": 1,
    }
    client = BedrockClient.from_config(config)

    with pytest.raises(ProviderTimeoutError):
        run(client, client.send(HELLO))

    assert len(server.requests) == 1


def test_botocore_honours_the_endpoint_variable_itself(server, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", server.url)
    server.script(fake.converse_reply())
    client = BedrockClient.from_config({"AWS_REGION": REGION, "TIMEOUT": 2.0})

    assert run(client, client.send(HELLO)).request_id == fake.REQUEST_ID
    assert server.requests[0].path == fake.model_path(MODEL_ID)


# --- ConverseStream ---------------------------------------------------------------


def test_stream_yields_text_deltas_then_one_done_with_tool_call_and_usage(server):
    token_usage = fake.usage(9, 31, cache_read=2048, write_1h=512)
    frames = fake.stream_events(
        fake.text_events(0, ["Checking ", "the weather."])
        + fake.tool_use_events(1, "tooluse_1", "get_weather", ['{"city": ', '"Zürich"}']),
        stop_reason="tool_use",
        token_usage=token_usage,
    )
    server.script(fake.stream_reply(frames))

    events, error = stream(server)

    assert error is None
    assert [(e.type, e.text) for e in events] == [
        ("start", ""),
        ("delta", "Checking "),
        ("delta", "the weather."),
        ("done", ""),
    ]
    result = events[-1].result
    assert result is not None
    assert result.text == "Checking the weather."
    assert result.tool_calls == (ToolCall("tooluse_1", "get_weather", '{"city":"Zürich"}'),)
    assert result.stop_reason == "tool_use"
    assert result.usage == Usage(9, 31, 2048, 0, 512, raw=token_usage)
    assert result.request_id == fake.REQUEST_ID
    recorded = server.requests[0]
    assert recorded.path == fake.model_path(MODEL_ID, "converse-stream")
    assert recorded.json() == {
        "messages": [{"role": "user", "content": [{"text": "Hi"}]}],
        "inferenceConfig": {"maxTokens": 1024},
    }
    fake.assert_sigv4(recorded, access_key=ACCESS_KEY, region=REGION)


def test_stream_cut_midway_is_stream_interrupted(server):
    frames = fake.stream_events(fake.text_events(0, ["Hel", "lo", " there"]))
    server.script(fake.stream_reply(frames, cut_after=3))

    events, error = stream(server)

    assert [(e.type, e.text) for e in events] == [("start", ""), ("delta", "Hel"), ("delta", "lo")]
    assert isinstance(error, StreamInterruptedError)
    assert error.status is None
    assert error.request_id == fake.REQUEST_ID


def test_stream_stalling_past_the_read_timeout_is_provider_timeout(server):
    frames = fake.stream_events(fake.text_events(0, ["Hel", "lo"]))
    server.script(fake.stream_reply([frames[0] + frames[1], *frames[2:]], chunk_delay=1.0))

    events, error = stream(server, read_timeout=0.3)

    assert [(e.type, e.text) for e in events] == [("start", ""), ("delta", "Hel")]
    assert isinstance(error, ProviderTimeoutError)


def test_stream_ending_without_metadata_is_stream_interrupted(server):
    frames = fake.stream_events(fake.text_events(0, ["Hi"]))
    server.script(fake.stream_reply(frames[:-1]))

    events, error = stream(server)

    assert [e.type for e in events] == ["start", "delta"]
    assert isinstance(error, StreamInterruptedError)
    assert "metadata" in error.message


def test_throttling_exception_frame_midstream_is_rate_limit_error(server):
    frames = fake.stream_events(fake.text_events(0, ["Hel", "lo"]))
    throttle = fake.exception("throttlingException", "Too many tokens, please wait.")
    server.script(fake.stream_reply([*frames[:2], throttle, *frames[2:]]))

    events, error = stream(server)

    assert [(e.type, e.text) for e in events] == [("start", ""), ("delta", "Hel")]
    assert isinstance(error, RateLimitError)
    assert error.message == "Too many tokens, please wait."
    assert error.request_id == fake.REQUEST_ID
    assert len(server.requests) == 1  # an exception inside a 200 stream is never retried


def test_model_stream_error_frame_is_server_error(server):
    frames = fake.stream_events(fake.text_events(0, ["Hel"]))
    broken = fake.exception("modelStreamErrorException", "The model stream failed.")
    server.script(fake.stream_reply([frames[0], broken]))

    _, error = stream(server)

    assert isinstance(error, ServerError)
    assert error.message == "The model stream failed."


def test_stream_http_error_before_any_event_is_mapped(server):
    server.script(fake.error_reply(400, "ValidationException", "messages: must not be empty"))

    events, error = stream(server)

    assert events == []
    assert isinstance(error, BadRequestError)
    assert (error.status, error.message) == (400, "messages: must not be empty")


def test_consumer_stopping_early_stops_the_worker_thread_blocked_in_a_read(server):
    frames = fake.stream_events(fake.text_events(0, ["w0 ", "w1 ", "w2 "]))
    # The first delta arrives at once; the next chunk only after 2 s.
    server.script(fake.stream_reply([frames[0] + frames[1], *frames[2:]], chunk_delay=2.0))
    client = make_client(server, read_timeout=5.0)

    async def first_delta() -> str:
        async with contextlib.aclosing(client.stream(HELLO)) as events:
            async for event in events:
                if event.type == "delta":
                    return event.text
        raise AssertionError("no event")

    started = time.monotonic()
    assert run(client, first_delta()) == "w0 "
    # Stopping neither waits for the next chunk nor leaves the worker blocked in its read.
    assert time.monotonic() - started < 1.0
    deadline = time.monotonic() + 0.5
    while _stream_threads() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _stream_threads() == []


def _stream_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "bedrock-stream" and t.is_alive()]


# --- the event loop is never blocked ------------------------------------------------


async def _ticks_while(call: Awaitable[Any]) -> list[float]:
    ticks: list[float] = []

    async def ticker() -> None:
        while True:
            ticks.append(time.monotonic())
            await asyncio.sleep(0.05)

    task = asyncio.create_task(ticker())
    try:
        await call
    finally:
        task.cancel()
    return ticks


def _assert_kept_ticking(ticks: list[float], seconds: float) -> None:
    # A blocked loop misses most ticks and shows one gap as long as the 0.5 s wait; the
    # margins allow for a loaded machine (one 0.35 s stall was seen in a full-suite run).
    gaps = [round(later - earlier, 3) for earlier, later in zip(ticks, ticks[1:], strict=False)]
    assert len(ticks) >= seconds / 0.05 / 2, gaps
    assert max(gaps) < 0.45, gaps


def test_event_loop_keeps_ticking_during_a_slow_converse(server):
    server.script(fake.converse_reply(delay=0.5))
    client = make_client(server)

    ticks = run(client, _ticks_while(client.send(HELLO)))

    _assert_kept_ticking(ticks, 0.5)


def test_event_loop_keeps_ticking_during_a_slow_stream(server):
    frames = fake.stream_events(fake.text_events(0, ["a", "b", "c", "d"]))
    server.script(fake.stream_reply(frames, delay=0.5, chunk_delay=0.05))
    client = make_client(server)
    events: list[StreamEvent] = []

    ticks = run(client, _ticks_while(collect(client.stream(HELLO), events)))

    _assert_kept_ticking(ticks, 0.5 + 0.05 * len(frames))
    assert events[-1].type == "done"


# --- secrets ----------------------------------------------------------------------


def test_no_secret_or_signature_in_any_error_string(server, monkeypatch):
    errors: list[GatewayError | None] = []
    for reply in (
        fake.error_reply(403, "UnrecognizedClientException", "The security token is invalid."),
        fake.error_reply(400, "ValidationException", "Bad input."),
        fake.converse_reply(delay=1.0),
        Reply(200, b"<html>", headers={"content-type": "text/html"}),
    ):
        server.script(reply)
        with pytest.raises(GatewayError) as caught:
            send(server, read_timeout=0.3, max_attempts=1)
        errors.append(caught.value)
    server.script(fake.stream_reply([fake.exception("throttlingException", "Slow down.")]))
    errors.append(stream(server)[1])
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(ProviderUnavailableError) as caught:
        send(server)
    errors.append(caught.value)

    assert all(errors)
    for error in errors:
        text = f"{error} {error!r} {vars(error)}"
        for secret in (SECRET_KEY, "Signature=", "AWS4-HMAC-SHA256", "authorization"):
            assert secret not in text


def test_sends_in_flight_are_not_capped_by_the_default_executor(server):
    """Each send holds a worker thread while boto3 waits: the fake answers only once all
    of them have arrived, which five or six default-executor threads could never do."""
    in_flight = 24
    arrived = threading.Barrier(in_flight, timeout=60)

    def all_at_once(recorded: Any) -> Reply:
        try:
            arrived.wait()
        except threading.BrokenBarrierError:
            return fake.error_reply(500, "InternalServerException", "not all arrived")
        return fake.converse_reply()

    server.responder = all_at_once
    client = make_client(server, connect_timeout=30.0, read_timeout=90.0, max_attempts=1)

    async def scenario() -> list[Any]:
        try:
            return await asyncio.gather(*(client.send(HELLO) for _ in range(in_flight)))
        finally:
            await client.aclose()

    try:
        results = asyncio.run(scenario())
    finally:
        server.responder = None
    assert len(results) == in_flight
    assert all(result.text for result in results)


def test_the_worker_threads_and_pool_follow_the_connection_limit(aws_env):
    client = BedrockClient.from_config(
        {"AWS_REGION": REGION, "MAX_CONNECTIONS": 300, "MAX_KEEPALIVE": 40}
    )
    try:
        assert client._threads._max_workers == 300
        assert client._client.meta.config.max_pool_connections == 40
    finally:
        asyncio.run(client.aclose())
