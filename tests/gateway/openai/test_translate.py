from __future__ import annotations

import pytest

from gateway.openai.translate import to_openai
from gateway.types import ChatRequest, Message
from gateway.wire import dumps
from tests.gateway import samples
from tests.gateway.samples import SEARCH_SCHEMA, assert_wire

MODEL = "openai/gpt-4o"


def test_system_checkpoint_marker_is_removed():
    assert_wire(to_openai(samples.system_checkpoint(MODEL)), "openai/system_checkpoint.json")


def test_multiple_checkpoints_become_prompt_cache_key_and_top_k_is_dropped():
    payload = to_openai(samples.multiple_checkpoints(MODEL))

    assert_wire(payload, "openai/multiple_checkpoints.json")
    assert "top_k" not in payload


def test_images_pass_through_as_authored():
    assert_wire(to_openai(samples.images(MODEL)), "openai/images.json")


def test_tool_turns_keep_the_openai_shape():
    assert_wire(to_openai(samples.tool_turns(MODEL)), "openai/tool_turns.json")


def test_consecutive_tool_messages_stay_separate():
    payload = to_openai(samples.parallel_tool_results(MODEL))

    assert_wire(payload, "openai/parallel_tool_results.json")


@pytest.mark.parametrize(
    "build",
    [
        samples.system_checkpoint,
        samples.multiple_checkpoints,
        samples.images,
        samples.tool_turns,
        samples.parallel_tool_results,
        samples.one_hour_ttl,
    ],
)
def test_no_cache_control_reaches_the_wire(build):
    assert b"cache_control" not in dumps(to_openai(build(MODEL)))


def test_prompt_cache_key_is_omitted_without_cache_key():
    payload = to_openai(samples.system_checkpoint(MODEL))

    assert "prompt_cache_key" not in payload


@pytest.mark.parametrize(
    "choice",
    ["auto", "none", "required", {"type": "function", "function": {"name": "get_weather"}}],
)
def test_tool_choice_is_passed_as_authored(choice):
    request = samples.tool_turns(MODEL)
    request = ChatRequest(request.model, request.messages, request.tools, {"tool_choice": choice})

    assert to_openai(request)["tool_choice"] == choice


def test_tool_schema_key_order_reaches_the_wire():
    payload = to_openai(samples.multiple_checkpoints(MODEL))

    schema = payload["tools"][1]["function"]["parameters"]
    assert list(schema) == ["type", "required", "properties", "additionalProperties"]
    assert dumps(SEARCH_SCHEMA) in dumps(payload)


def test_local_model_id_is_sent_without_prefix():
    request = ChatRequest("openai/meta-llama/Llama-3.1-8B-Instruct", (Message("user", "Hi"),))

    assert to_openai(request) == {
        "model": "meta-llama/Llama-3.1-8B-Instruct",
        "messages": [{"role": "user", "content": "Hi"}],
    }


def test_message_name_is_kept():
    request = ChatRequest(MODEL, (Message("user", "Hi", name="alice"),))

    assert to_openai(request)["messages"] == [{"role": "user", "name": "alice", "content": "Hi"}]
