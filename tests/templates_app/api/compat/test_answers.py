"""Provider-shaped answers and event streams, checked against the official SDKs' own types."""

from __future__ import annotations

import json

import pytest
from anthropic.types import RawMessageStreamEvent
from openai.types.chat import ChatCompletionChunk
from openai.types.responses import ResponseStreamEvent
from pydantic import TypeAdapter

from gateway.types import Result, ToolCall, Usage
from templates_app import services
from templates_app.api.compat import answers
from tests.factories import DOCUMENT, make_invocation, make_version

pytestmark = pytest.mark.django_db

CALL = ToolCall("call_1", "lookup", '{"id":7}')
USAGE = Usage(input_tokens=20, output_tokens=5, cache_read_tokens=1800)


@pytest.fixture
def sent():
    version = make_version()
    rendered = services.version_render(
        version, None, {"document": DOCUMENT, "question": "Q?"}, model=None
    )
    invocation = make_invocation(version, pk=41)
    return invocation, rendered


def parse(raw: bytes) -> list[tuple[str | None, dict]]:
    events = []
    for block in raw.decode().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "data" in lines and lines["data"] != "[DONE]":
            events.append((lines.get("event"), json.loads(lines["data"])))
    return events


def stream(events, sent, result, pieces=()):
    invocation, rendered = sent
    raw = events.start(rendered) + b"".join(events.delta(p) for p in pieces)
    return parse(raw + events.done(invocation, rendered, result))


def test_an_anthropic_stream_of_tool_calls_alone_has_no_empty_text_block(sent):
    result = Result("", (CALL,), "tool_use", USAGE)

    events = stream(answers.MessagesEvents(), sent, result)

    adapter = TypeAdapter(RawMessageStreamEvent)
    for _, data in events:
        adapter.validate_python(data)
    starts = [d for _, d in events if d["type"] == "content_block_start"]
    assert [(d["index"], d["content_block"]["type"]) for d in starts] == [(0, "tool_use")]


def test_an_anthropic_stream_numbers_tool_blocks_after_its_text(sent):
    events = stream(
        answers.MessagesEvents(), sent, Result("Hi", (CALL,), "tool_use", USAGE), ["Hi"]
    )

    starts = [d for _, d in events if d["type"] == "content_block_start"]
    assert [(d["index"], d["content_block"]["type"]) for d in starts] == [
        (0, "text"),
        (1, "tool_use"),
    ]


def test_a_responses_stream_keeps_one_id_and_its_output_indexes(sent):
    result = Result("", (CALL,), "tool_calls", USAGE)

    events = stream(answers.ResponsesEvents(), sent, result)

    adapter = TypeAdapter(ResponseStreamEvent)
    parsed = [adapter.validate_python(data) for _, data in events]
    created, completed = parsed[0], parsed[-1]
    assert created.response.id == completed.response.id
    done = next(e for e in parsed if e.type == "response.function_call_arguments.done")
    assert (done.name, done.arguments, done.output_index) == ("lookup", '{"id":7}', 1)
    assert [item.type for item in completed.response.output] == ["message", "function_call"]


def test_chat_chunks_share_one_id_and_validate_as_the_sdks_chunks(sent):
    events = stream(
        answers.ChatEvents(include_usage=True),
        sent,
        Result("Hi", (CALL,), "tool_calls", USAGE),
        ["Hi"],
    )

    chunks = [ChatCompletionChunk.model_validate(data) for _, data in events]
    assert len({chunk.id for chunk in chunks}) == 1
    assert chunks[-1].usage.prompt_tokens == 1820
    assert chunks[-1].model_extra["cachet"]["invocation_id"] == 41


def test_a_tool_call_cut_by_the_token_limit_is_an_incomplete_response(sent):
    invocation, rendered = sent
    body = answers.response_object(invocation, rendered, Result("", (CALL,), "max_tokens", USAGE))

    assert body["status"] == "incomplete"
    assert body["incomplete_details"] == {"reason": "max_output_tokens"}
