"""A checkpoint on an assistant tool call: parsed, fingerprinted, and on every wire."""

from __future__ import annotations

import copy
import json

import pytest

from gateway.anthropic.translate import to_anthropic
from gateway.bedrock.translate import to_converse
from gateway.openai.translate import to_openai, unplaced_checkpoints
from templates_app.engine.body import parse_body
from templates_app.engine.errors import BodyError
from templates_app.engine.rendering import compile_body, render

MARK = {"type": "ephemeral"}
BODY = {
    "model": "anthropic/claude-sonnet-4-5",
    "variables": {"q": {"type": "string"}},
    "messages": [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Find order 7."},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "lookup", "arguments": '{"id": 7}'},
                },
                {
                    "id": "call_2",
                    "type": "function",
                    "function": {"name": "audit", "arguments": "{}"},
                },
            ],
        },
        {
            "role": "tool",
            "tool_call_id": "call_1",
            "content": "shipped",
            "cache_control": MARK,
        },
        {"role": "tool", "tool_call_id": "call_2", "content": "ok"},
        {"role": "user", "content": "{{ q }}"},
    ],
}
# The fingerprint this body had before tool calls could carry markers: unmarked calls keep it.
UNMARKED_FINGERPRINT = "sha256:7d8440e767047abe74310df4cc6967eae914beb5223ae89c39ccd78065d4d5c9"


def marked(index: int = 0, model: str = "anthropic/claude-sonnet-4-5") -> dict:
    body = copy.deepcopy(BODY)
    body["model"] = model
    body["messages"][2]["tool_calls"][index]["cache_control"] = MARK
    return body


def rendered(body: dict):
    return render(compile_body(body), {"q": "Status?"})


def test_a_tool_call_marker_is_a_checkpoint_on_the_messages_block():
    parsed = parse_body(marked(1))

    first = parsed.checkpoints[0]
    assert (first.path, first.section) == ("messages[2].tool_calls[1]", "messages")
    assert parsed.blocks[first.block_index][0] == "messages[2].content"
    assert [c.path for c in parsed.checkpoints] == [
        "messages[2].tool_calls[1]",
        "messages[3].content",
    ]


def test_unmarked_tool_calls_keep_their_fingerprint_and_a_marker_changes_it():
    assert [c.fingerprint for c in rendered(BODY).checkpoints] == [UNMARKED_FINGERPRINT]
    with_marker = rendered(marked(0)).checkpoints
    assert with_marker[-1].fingerprint != UNMARKED_FINGERPRINT


def test_an_unknown_key_on_a_tool_call_is_named():
    body = copy.deepcopy(BODY)
    body["messages"][2]["tool_calls"][0]["cache"] = MARK

    with pytest.raises(BodyError) as caught:
        parse_body(body)

    assert caught.value.details[0]["path"] == "messages[2].tool_calls[0].cache"


def test_anthropic_puts_the_marker_on_that_tool_use_block():
    wire = to_anthropic(rendered(marked(0)).request)

    first, second = wire["messages"][1]["content"]
    assert first["type"] == "tool_use" and first["cache_control"] == {"type": "ephemeral"}
    assert "cache_control" not in second


def test_bedrock_puts_a_cache_point_right_after_that_tool_use():
    body = marked(0, "bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0")

    content = to_converse(rendered(body).request)["messages"][1]["content"]

    assert [next(iter(block)) for block in content] == ["toolUse", "cachePoint", "toolUse"]
    assert content[0]["toolUse"]["toolUseId"] == "call_1"


def test_openai_drops_it_and_lint_can_say_so_for_explicit_models():
    request = rendered(marked(0, "openai/gpt-5.6-terra")).request

    wire = to_openai(request)  # GPT-5.6 goes through the Responses API
    calls = [item for item in wire["input"] if item["type"] == "function_call"]
    assert calls and "cache_control" not in json.dumps(calls)
    assert "prompt_cache_breakpoint" not in json.dumps(calls)
    assert ("messages[2].tool_calls[0]", "OpenAI takes no breakpoint in assistant messages") in (
        unplaced_checkpoints(request)
    )


@pytest.mark.parametrize(
    ("model", "fixture", "translate"),
    [
        ("anthropic/claude-sonnet-4-5", "anthropic/tool_call_checkpoint.json", to_anthropic),
        (
            "bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0",
            "bedrock/tool_call_checkpoint.json",
            to_converse,
        ),
    ],
)
def test_the_whole_wire_matches_the_recorded_payload(model, fixture, translate):
    from tests.gateway import samples

    assert translate(rendered(marked(0, model)).request) == samples.load(fixture)
