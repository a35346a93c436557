"""GPT-5.6 and later through the Responses API: the wire both ways, diagnostics, and the
real client against a loopback server speaking ``POST /v1/responses``."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from gateway.errors import BadRequestError, MalformedResponseError, StreamInterruptedError
from gateway.openai.client import OpenAIClient
from gateway.openai.responses import from_responses, to_responses
from gateway.openai.translate import to_openai, unplaced_checkpoints, with_diagnostics
from gateway.types import CacheControl, CacheDiagnosis, ChatRequest, Message, Part, Tool, ToolCall
from tests.fakes import openai_responses as fake
from tests.fakes.server import FakeServer

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "providers" / "openai"
MARK = CacheControl()
MODEL = "openai/gpt-5.6-terra"


def conversation(model: str = MODEL, **params) -> ChatRequest:
    return ChatRequest(
        model=model,
        tools=(Tool("lookup", "Find a record", {"type": "object", "properties": {}}),),
        messages=(
            Message(
                "system",
                (
                    Part("text", text="You answer from the document."),
                    Part("text", text="DOCUMENT " * 400, cache_control=MARK),
                ),
            ),
            Message("user", "Examples: Q1 -> A1.", cache_control=MARK),
            Message("assistant", None, tool_calls=(ToolCall("call_1", "lookup", '{"id": 7}'),)),
            Message("tool", "record 7: up", tool_call_id="call_1"),
            Message("assistant", "Record 7 is up."),
            Message("user", "What is the uptime?"),
        ),
        params={
            "max_tokens": 64,
            "tool_choice": {"type": "function", "function": {"name": "lookup"}},
            **params,
        },
        cache_key="sha256:abc",
    )


def test_a_gpt_5_6_request_is_a_responses_body_with_two_breakpoints_and_explicit_mode():
    wire = to_openai(conversation())

    assert wire == json.loads((FIXTURES / "responses_explicit_breakpoints.json").read_text())
    system, examples, call, output, answer, question = wire["input"]
    assert system["content"][1]["prompt_cache_breakpoint"] == {"mode": "explicit"}
    assert examples["content"] == [
        {
            "type": "input_text",
            "text": "Examples: Q1 -> A1.",
            "prompt_cache_breakpoint": {"mode": "explicit"},
        }
    ]
    assert call == {
        "type": "function_call",
        "call_id": "call_1",
        "name": "lookup",
        "arguments": '{"id": 7}',
    }
    assert output == {"type": "function_call_output", "call_id": "call_1", "output": "record 7: up"}
    assert answer == {"type": "message", "role": "assistant", "content": "Record 7 is up."}
    assert question == {"type": "message", "role": "user", "content": "What is the uptime?"}
    assert wire["prompt_cache_options"] == {"mode": "explicit", "ttl": "30m"}
    assert wire["max_output_tokens"] == 64 and "max_tokens" not in wire
    assert wire["tool_choice"] == {"type": "function", "name": "lookup"}
    assert wire["tools"] == [
        {
            "type": "function",
            "name": "lookup",
            "description": "Find a record",
            "parameters": {"type": "object", "properties": {}},
            "strict": False,
        }
    ]


def test_images_and_files_become_input_parts_and_files_take_breakpoints():
    request = ChatRequest(
        model=MODEL,
        messages=(
            Message(
                "user",
                (
                    Part("image_url", data={"url": "https://example.com/a.png"}),
                    Part(
                        "file",
                        data={"file_data": "data:application/pdf;base64,JVBE", "filename": "a.pdf"},
                        cache_control=MARK,
                    ),
                    Part("file", data={"file_id": "file-abc"}),
                ),
            ),
        ),
    )

    image, pdf, stored = to_responses(request)["input"][0]["content"]

    assert image == {
        "type": "input_image",
        "image_url": "https://example.com/a.png",
        "detail": "auto",
    }
    assert pdf == {
        "type": "input_file",
        "file_data": "data:application/pdf;base64,JVBE",
        "filename": "a.pdf",
        "prompt_cache_breakpoint": {"mode": "explicit"},
    }
    assert stored == {"type": "input_file", "file_id": "file-abc"}
    assert unplaced_checkpoints(request) == []


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (conversation(stop=["END"]), "the Responses API takes no stop parameter"),
        (conversation(seed=7), "the Responses API takes no seed parameter"),
        (conversation(max_tokens=8), "the Responses API needs max_tokens of at least 16"),
        (
            ChatRequest(model=MODEL, messages=(Message("user", "hi", name="ann"),)),
            "the Responses API takes no message name",
        ),
        (
            ChatRequest(
                model=MODEL,
                messages=(
                    Message("user", (Part("input_audio", data={"data": "x", "format": "wav"}),)),
                ),
            ),
            "the Responses API takes no input_audio part",
        ),
    ],
)
def test_what_the_responses_api_cannot_carry_is_refused_before_sending(request_, message):
    with pytest.raises(ValueError, match=message):
        to_openai(request_)


def test_diagnostics_name_the_previous_response_and_keep_explicit_mode():
    wire = with_diagnostics(to_openai(conversation()), "resp_previous")

    assert wire["prompt_cache_options"] == {
        "mode": "explicit",
        "ttl": "30m",
        "comparison_response_id": "resp_previous",
    }
    chat = {"model": "gpt-4o", "messages": []}
    assert with_diagnostics(chat, "resp_previous") == chat  # Chat Completions has none


def test_a_response_is_normalized_with_inclusive_usage_and_its_id():
    body = fake.response(
        "Uptime is 99.95%.",
        tool_calls=[("call_9", "lookup", '{"id": 9}')],
        usage_body=fake.usage(2610, 9, cached_tokens=2400, cache_write_tokens=100),
    )

    result = from_responses(body)

    assert result.text == "Uptime is 99.95%."
    assert result.tool_calls == (ToolCall("call_9", "lookup", '{"id": 9}'),)
    assert result.stop_reason == "tool_calls"
    assert (result.usage.input_tokens, result.usage.cache_read_tokens) == (110, 2400)
    assert result.usage.cache_write_tokens == 100 and result.usage.prompt_tokens == 2610
    assert result.response_id == fake.RESPONSE_ID and result.model == fake.MODEL
    assert result.diagnosis is None


@pytest.mark.parametrize(
    ("status", "incomplete", "expected"),
    [
        ("completed", None, "stop"),
        ("incomplete", "max_output_tokens", "length"),
        ("incomplete", "content_filter", "content_filter"),
    ],
)
def test_stop_reasons_read_as_chat_completions_ones(status, incomplete, expected):
    assert (
        from_responses(fake.response(status=status, incomplete=incomplete)).stop_reason == expected
    )


@pytest.mark.parametrize(
    ("diagnostics", "expected"),
    [
        (
            {"type": "cache_hit", "reason": None, "cache_missed_tokens": 12},
            CacheDiagnosis("openai", None, 12),
        ),
        (
            {
                "type": "cache_miss",
                "reason": "tools_changed",
                "comparison_reusable_tokens": 0,
                "cache_missed_tokens": 2400,
            },
            CacheDiagnosis("openai", "tools_changed", 2400),
        ),
        (
            {"type": "comparison_response_not_found", "reason": None},
            CacheDiagnosis("openai", "comparison_response_not_found"),
        ),
        ({"type": "unavailable"}, CacheDiagnosis("openai", "unavailable")),
    ],
)
def test_prompt_cache_diagnostics_are_read_in_every_published_shape(diagnostics, expected):
    assert from_responses(fake.response(diagnostics=diagnostics)).diagnosis == expected


@pytest.mark.parametrize(
    "body",
    [
        {"id": "resp_1", "status": "completed"},  # no output
        {**fake.response(), "prompt_cache_diagnostics": {"type": "cache_maybe"}},
        {**fake.response(), "usage": fake.usage(10, 1, cached_tokens=20)},
    ],
)
def test_a_malformed_response_is_a_malformed_response_error(body):
    with pytest.raises(MalformedResponseError):
        from_responses(body)


@pytest.fixture
def server():
    with FakeServer() as running:
        yield running


def with_client(server, use):
    """``use(client)`` on a real client pointed at ``server``, closed afterwards."""

    async def main():
        client = OpenAIClient("sk-test", base_url=f"{server.url}/v1")
        try:
            return await use(client)
        finally:
            await client.aclose()

    return asyncio.run(main())


def collect(request, wire=None):
    async def use(client):
        return [event async for event in client.stream(request, wire)]

    return use


def test_the_client_posts_to_v1_responses_and_reads_the_answer(server):
    server.script(fake.response_reply())
    result = with_client(server, lambda client: client.send(conversation()))

    (request,) = server.requests
    assert request.path == "/v1/responses"
    assert request.headers["authorization"] == "Bearer sk-test"
    assert request.json() == to_openai(conversation())
    assert result.text == "Uptime was 99.95%."
    assert result.request_id == "req_5f2c9a1e7b3d4c6a8e0f1a2b3c4d5e6f"


def test_a_stream_yields_text_deltas_then_the_completed_response(server):
    body = fake.response(
        "Uptime was 99.95%.", usage_body=fake.usage(2600, 9, cache_write_tokens=2400)
    )
    server.script(fake.stream_reply(fake.sse(fake.events(body, ["Uptime was ", "99.95%."]))))
    events = with_client(server, collect(conversation()))

    assert server.requests[0].json()["stream"] is True
    assert "stream_options" not in server.requests[0].json()
    assert [e.text for e in events if e.type == "delta"] == ["Uptime was ", "99.95%."]
    done = events[-1].result
    assert done.text == "Uptime was 99.95%." and done.usage.cache_write_tokens == 2400
    assert done.response_id == fake.RESPONSE_ID


def test_a_stream_cut_before_response_completed_is_interrupted(server):
    items = fake.events(fake.response(), ["Uptime ", "was"])
    server.script(fake.stream_reply(fake.sse(items), cut_after=4))

    with pytest.raises(StreamInterruptedError):
        with_client(server, collect(conversation()))


def test_a_failed_stream_names_the_providers_message(server):
    error = {"code": "server_error", "message": "The model failed."}
    failed = {
        "type": "response.failed",
        "response": {**fake.response(), "status": "failed", "error": error},
    }
    server.script(fake.stream_reply(fake.sse([failed])))

    with pytest.raises(StreamInterruptedError, match="The model failed."):
        with_client(server, collect(conversation()))


def test_the_caching_fake_writes_reads_and_diagnoses_through_the_client(server):
    server.responder = fake.CachingResponses(min_tokens=512)

    async def use(client):
        first = await client.send(conversation())
        wire = with_diagnostics(to_openai(conversation()), first.response_id)
        return first, await client.send(conversation(), wire)

    first, second = with_client(server, use)

    assert first.usage.cache_write_tokens > 0 and first.usage.cache_read_tokens == 0
    assert second.usage.cache_read_tokens == first.usage.cache_write_tokens
    missed = second.usage.prompt_tokens - second.usage.cache_read_tokens
    assert second.diagnosis == CacheDiagnosis("openai", None, missed)


def test_an_unknown_field_is_the_apis_400(server):
    server.responder = fake.CachingResponses()
    wire = {**to_openai(conversation()), "messages": []}

    with pytest.raises(BadRequestError, match="Unknown parameter: 'messages'"):
        with_client(server, lambda client: client.send(conversation(), wire))


def test_a_refusal_is_its_text_with_a_content_filter_stop():
    body = fake.response(None)
    body["output"].append(
        {
            "type": "message",
            "id": "msg_2",
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "refusal", "refusal": "I can't help with that."}],
        }
    )

    result = from_responses(body)

    assert (result.text, result.stop_reason) == ("I can't help with that.", "content_filter")
