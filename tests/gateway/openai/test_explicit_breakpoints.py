"""GPT-5.6 and later on Chat Completions: checkpoints become explicit prompt-cache
breakpoints on the wire. The built-in catalog calls GPT-5.6 through the Responses API
(tests/gateway/openai/test_responses.py); an operator file may keep it on Chat Completions,
as these tests do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.openai.translate import from_openai, to_openai, unplaced_checkpoints
from gateway.types import CacheControl, ChatRequest, Message, Part, Tool, ToolCall
from tests.fakes import openai as fake

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "providers" / "openai"
MARK = CacheControl()
ON_CHAT = "".join(
    f'[[models]]\nmodel = "openai/gpt-5.6-{name}"\napi = "chat"\ndiagnostics = false\n\n'
    for name in ("sol", "terra", "luna")
)


@pytest.fixture(autouse=True)
def chat_completions(operator_catalog):
    operator_catalog(ON_CHAT)


def two_checkpoints(model: str = "openai/gpt-5.6-terra") -> ChatRequest:
    return ChatRequest(
        model=model,
        messages=(
            Message(
                "system",
                (
                    Part("text", text="You answer from the document."),
                    Part("text", text="DOCUMENT " * 400, cache_control=MARK),
                ),
            ),
            Message("user", "Examples: Q1 -> A1.", cache_control=CacheControl("1h")),
            Message("user", "What is the uptime?"),
        ),
        params={"max_tokens": 64},
        cache_key="sha256:abc",
    )


def test_two_checkpoints_give_two_breakpoints_and_explicit_mode():
    wire = to_openai(two_checkpoints())

    assert wire == json.loads((FIXTURES / "explicit_breakpoints.json").read_text())
    system, examples, question = wire["messages"]
    assert "prompt_cache_breakpoint" not in system["content"][0]
    assert system["content"][1]["prompt_cache_breakpoint"] == {"mode": "explicit"}
    # A marker on a whole string: the text is sent as one part carrying the breakpoint.
    assert examples["content"] == [
        {
            "type": "text",
            "text": "Examples: Q1 -> A1.",
            "prompt_cache_breakpoint": {"mode": "explicit"},
        }
    ]
    assert question["content"] == "What is the uptime?"
    assert wire["prompt_cache_options"] == {"mode": "explicit", "ttl": "30m"}
    assert wire["prompt_cache_key"] == "sha256:abc"


@pytest.mark.parametrize("model", ["openai/gpt-4o", "openai/gpt-5.5", "openai/my-local-llama"])
def test_models_without_explicit_breakpoints_keep_a_marker_free_wire(model):
    wire = to_openai(two_checkpoints(model))

    text = json.dumps(wire)
    assert "prompt_cache_breakpoint" not in text and "prompt_cache_options" not in text
    assert wire["messages"][1]["content"] == "Examples: Q1 -> A1."


def test_no_placeable_checkpoint_stays_implicit():
    request = ChatRequest(
        model="openai/gpt-5.6-sol",
        messages=(
            Message("user", "Hi"),
            Message("assistant", "Hello", cache_control=MARK),
            Message("user", "Go on"),
        ),
    )
    wire = to_openai(request)

    # Explicit mode with no breakpoint would cache nothing at all.
    assert "prompt_cache_options" not in wire
    assert "prompt_cache_breakpoint" not in json.dumps(wire)


def test_checkpoints_openai_cannot_carry_are_listed():
    request = ChatRequest(
        model="openai/gpt-5.6-luna",
        tools=(Tool("lookup", "", {"type": "object"}, cache_control=MARK),),
        messages=(
            Message("user", (Part("text", text="Doc", cache_control=MARK),)),
            Message(
                "assistant",
                None,
                cache_control=MARK,
                tool_calls=(ToolCall("call_1", "lookup", "{}"),),
            ),
            Message("tool", "result", cache_control=MARK, tool_call_id="call_1"),
        ),
    )

    assert unplaced_checkpoints(request) == [
        ("tools[0]", "OpenAI takes no breakpoint on a tool definition"),
        ("messages[1].content", "OpenAI takes no breakpoint in assistant messages"),
        ("messages[2].content", "OpenAI takes no breakpoint in tool messages"),
    ]
    wire = to_openai(request)
    assert "prompt_cache_breakpoint" in json.dumps(wire["messages"][0])
    assert "prompt_cache_breakpoint" not in json.dumps(wire["messages"][1:])
    assert "prompt_cache_breakpoint" not in json.dumps(wire["tools"])


def test_unplaced_is_empty_for_models_that_strip_markers():
    assert unplaced_checkpoints(two_checkpoints("openai/gpt-4o")) == []


def test_usage_with_writes_and_reads_is_inclusive_and_never_double_counted():
    write = from_openai(fake.completion(usage_body=fake.usage(2600, 9, cache_write_tokens=2400)))
    read = from_openai(fake.completion(usage_body=fake.usage(2610, 9, cached_tokens=2400)))

    assert (write.usage.input_tokens, write.usage.cache_write_tokens) == (200, 2400)
    assert write.usage.cache_read_tokens == 0
    assert (read.usage.input_tokens, read.usage.cache_read_tokens) == (210, 2400)
    assert read.usage.cache_write_tokens == 0  # reported cached tokens, no write field: 0
    assert read.usage.prompt_tokens == 2610


def test_a_server_that_reports_no_cache_fields_leaves_both_unknown():
    usage = from_openai(fake.completion(usage_body=fake.usage(100, 9, details=False))).usage

    assert usage.cache_read_tokens is None and usage.cache_write_tokens is None
