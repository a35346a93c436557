from __future__ import annotations

import pytest

from gateway.anthropic.translate import to_anthropic
from gateway.types import CacheControl, ChatRequest, Message, Part, Tool, ToolCall
from gateway.wire import dumps
from tests.gateway import samples
from tests.gateway.samples import SEARCH_SCHEMA, assert_wire, text

MODEL = "anthropic/claude-sonnet-4-5"


def test_system_checkpoint_becomes_marked_system_block():
    assert_wire(to_anthropic(samples.system_checkpoint(MODEL)), "anthropic/system_checkpoint.json")


def test_multiple_checkpoints_keep_tools_system_messages_order():
    payload = to_anthropic(samples.multiple_checkpoints(MODEL))

    assert_wire(payload, "anthropic/multiple_checkpoints.json")
    assert list(payload) == [
        "model",
        "max_tokens",
        "tools",
        "system",
        "messages",
        "temperature",
        "top_p",
        "top_k",
        "stop_sequences",
    ]


def test_images_become_base64_or_url_sources():
    assert_wire(to_anthropic(samples.images(MODEL)), "anthropic/images.json")


def test_marker_on_tool_message_goes_on_tool_result_block():
    assert_wire(to_anthropic(samples.tool_turns(MODEL)), "anthropic/tool_turns.json")


def test_consecutive_tool_messages_merge_into_one_user_turn():
    payload = to_anthropic(samples.parallel_tool_results(MODEL))

    assert_wire(payload, "anthropic/parallel_tool_results.json")


def test_one_hour_ttl_is_passed_through():
    payload = to_anthropic(samples.one_hour_ttl("anthropic/claude-opus-4-6"))

    assert_wire(payload, "anthropic/one_hour_ttl.json")


def test_string_content_without_marker_stays_a_string():
    request = ChatRequest(MODEL, (Message("user", "Hi"),))

    assert to_anthropic(request)["messages"] == [{"role": "user", "content": "Hi"}]


def test_string_content_with_marker_becomes_one_marked_text_block():
    request = ChatRequest(MODEL, (Message("user", "Hi", CacheControl("1h")),))

    block = {"type": "text", "text": "Hi", "cache_control": {"type": "ephemeral", "ttl": "1h"}}
    assert to_anthropic(request)["messages"] == [{"role": "user", "content": [block]}]


def test_marker_on_assistant_with_text_and_tool_calls_goes_on_last_tool_use():
    call = ToolCall("call_1", "lookup", "{}")
    message = Message("assistant", "Checking.", CacheControl(), tool_calls=(call,))
    payload = to_anthropic(ChatRequest(MODEL, (Message("user", "Hi"), message)))

    text_block, tool_use = payload["messages"][1]["content"]
    assert "cache_control" not in text_block
    assert tool_use["cache_control"] == {"type": "ephemeral"}


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", {"type": "auto"}),
        ("none", {"type": "none"}),
        ("required", {"type": "any"}),
        ({"type": "function", "function": {"name": "search"}}, {"type": "tool", "name": "search"}),
    ],
)
def test_tool_choice_maps_to_anthropic_shape(choice, expected):
    request = samples.tool_turns(MODEL)
    request = ChatRequest(request.model, request.messages, request.tools, {"tool_choice": choice})

    assert to_anthropic(request)["tool_choice"] == expected


def test_unknown_tool_choice_is_rejected():
    request = ChatRequest(MODEL, (Message("user", "Hi"),), params={"tool_choice": "sometimes"})

    with pytest.raises(ValueError, match="sometimes"):
        to_anthropic(request)


def test_tool_schema_key_order_reaches_the_wire():
    payload = to_anthropic(samples.multiple_checkpoints(MODEL))

    schema = payload["tools"][1]["input_schema"]
    assert list(schema) == ["type", "required", "properties", "additionalProperties"]
    assert list(schema["properties"]) == ["query", "limit"]
    assert dumps(SEARCH_SCHEMA) in dumps(payload)


def test_tool_arguments_keep_their_key_order():
    call = ToolCall("call_1", "lookup", '{"zeta": 1, "alpha": 2}')
    request = ChatRequest(MODEL, (Message("assistant", None, tool_calls=(call,)),))

    tool_use = to_anthropic(request)["messages"][0]["content"][0]
    assert list(tool_use["input"]) == ["zeta", "alpha"]


def test_invalid_tool_arguments_name_the_tool_call():
    call = ToolCall("call_9", "lookup", "{not json")
    request = ChatRequest(MODEL, (Message("assistant", None, tool_calls=(call,)),))

    with pytest.raises(ValueError, match="call_9"):
        to_anthropic(request)


def test_document_parts_pass_through_unchanged():
    source = {"type": "text", "media_type": "text/plain", "data": "Plain text doc."}
    part = Part(
        "document", data={"type": "document", "source": source}, cache_control=CacheControl()
    )
    request = ChatRequest(MODEL, (Message("user", (part, text("Summarise."))),))

    blocks = to_anthropic(request)["messages"][0]["content"]
    assert blocks[0] == {
        "type": "document",
        "source": source,
        "cache_control": {"type": "ephemeral"},
    }


def test_max_tokens_defaults_to_1024_and_zero_is_kept():
    request = ChatRequest(MODEL, (Message("user", "Hi"),))
    prewarm = ChatRequest(MODEL, (Message("user", "Hi"),), params={"max_tokens": 0})

    assert to_anthropic(request)["max_tokens"] == 1024
    assert to_anthropic(prewarm)["max_tokens"] == 0


def test_empty_tools_and_system_are_omitted():
    payload = to_anthropic(ChatRequest(MODEL, (Message("user", "Hi"),)))

    assert list(payload) == ["model", "max_tokens", "messages"]


def test_payload_does_not_share_mutable_state_with_the_request():
    request = samples.multiple_checkpoints(MODEL)
    to_anthropic(request)["tools"][1]["input_schema"]["properties"]["extra"] = {}

    assert "extra" not in request.tools[1].parameters["properties"]
    assert dumps(to_anthropic(request)) == dumps(to_anthropic(request))


def test_tool_without_description_omits_it():
    tool = Tool("ping", "", {"type": "object", "properties": {}})
    payload = to_anthropic(ChatRequest(MODEL, (Message("user", "Hi"),), (tool,)))

    assert payload["tools"] == [
        {"name": "ping", "input_schema": {"type": "object", "properties": {}}}
    ]
