from __future__ import annotations

import subprocess
import sys

import pytest

from gateway.bedrock.translate import to_converse
from gateway.types import CacheControl, ChatRequest, Message, Part, Tool
from gateway.wire import dumps
from tests.gateway import samples
from tests.gateway.samples import SEARCH_SCHEMA, assert_wire, image, text

CLAUDE = "bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0"
NOVA = "bedrock/amazon.nova-pro-v1:0"


def test_checkpoint_becomes_cachepoint_after_block():
    payload = to_converse(samples.system_checkpoint(CLAUDE))

    assert_wire(payload, "bedrock/system_checkpoint_claude.json")


def test_nova_and_claude_ids_translate_the_same_way():
    payload = to_converse(samples.system_checkpoint(NOVA))

    assert_wire(payload, "bedrock/system_checkpoint_nova.json")
    assert payload["modelId"] == "amazon.nova-pro-v1:0"


def test_multiple_checkpoints_follow_tool_system_and_message_blocks():
    payload = to_converse(samples.multiple_checkpoints(CLAUDE))

    assert_wire(payload, "bedrock/multiple_checkpoints.json")
    assert list(payload) == [
        "modelId",
        "toolConfig",
        "system",
        "messages",
        "inferenceConfig",
        "additionalModelRequestFields",
    ]


def test_images_become_bytes_with_format():
    payload = to_converse(samples.images(CLAUDE, remote=False))

    assert_wire(payload, "bedrock/images.json")


def test_remote_image_url_is_rejected_naming_the_part():
    with pytest.raises(ValueError, match=r"messages\[0\]\.content\[3\]"):
        to_converse(samples.images(CLAUDE))


def test_unsupported_image_type_is_rejected():
    request = ChatRequest(CLAUDE, (Message("user", (image("data:image/bmp;base64,Qk0="),)),))

    with pytest.raises(ValueError, match="image/bmp"):
        to_converse(request)


def test_cachepoint_follows_tool_result_never_inside():
    assert_wire(to_converse(samples.tool_turns(CLAUDE)), "bedrock/tool_turns.json")


def test_consecutive_tool_messages_merge_into_one_user_turn():
    payload = to_converse(samples.parallel_tool_results(CLAUDE))

    assert_wire(payload, "bedrock/parallel_tool_results.json")
    assert [message["role"] for message in payload["messages"]] == ["user", "assistant", "user"]


def test_one_hour_ttl_is_forwarded_on_the_cachepoint():
    payload = to_converse(samples.one_hour_ttl("bedrock/global.anthropic.claude-opus-4-6-v1"))

    assert_wire(payload, "bedrock/one_hour_ttl.json")


@pytest.mark.parametrize(
    "model_id",
    [
        "anthropic.claude-opus-4-5-20251101-v1:0",
        "eu.anthropic.claude-haiku-4-5-20251001-v1:0",
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-pro-v1:0",
    ],
)
def test_model_id_is_kept_as_given(model_id):
    request = ChatRequest(f"bedrock/{model_id}", (Message("user", "Hi"),))

    assert to_converse(request)["modelId"] == model_id


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", {"auto": {}}),
        ("required", {"any": {}}),
        (
            {"type": "function", "function": {"name": "get_weather"}},
            {"tool": {"name": "get_weather"}},
        ),
    ],
)
def test_tool_choice_maps_to_converse_shape(choice, expected):
    request = samples.tool_turns(CLAUDE)
    request = ChatRequest(request.model, request.messages, request.tools, {"tool_choice": choice})

    assert to_converse(request)["toolConfig"]["toolChoice"] == expected


def test_tool_choice_none_keeps_tools_and_omits_tool_choice():
    request = samples.tool_turns(CLAUDE)
    request = ChatRequest(request.model, request.messages, request.tools, {"tool_choice": "none"})

    assert list(to_converse(request)["toolConfig"]) == ["tools"]


def test_tool_checkpoint_on_nova_is_translated_and_left_to_lint():
    payload = to_converse(samples.multiple_checkpoints(NOVA))

    assert payload["toolConfig"]["tools"][-1] == {"cachePoint": {"type": "default"}}


def test_tool_schema_key_order_reaches_the_wire():
    payload = to_converse(samples.multiple_checkpoints(CLAUDE))

    schema = payload["toolConfig"]["tools"][1]["toolSpec"]["inputSchema"]["json"]
    assert list(schema) == ["type", "required", "properties", "additionalProperties"]
    assert dumps(SEARCH_SCHEMA) in dumps(payload)


def test_string_content_with_marker_gets_cachepoint_after_its_text():
    request = ChatRequest(CLAUDE, (Message("user", "Long context", CacheControl("1h")),))

    content = to_converse(request)["messages"][0]["content"]
    assert content == [{"text": "Long context"}, {"cachePoint": {"type": "default", "ttl": "1h"}}]


def test_system_content_must_be_text():
    part = image("data:image/png;base64,iVBORw0KGgo=")
    request = ChatRequest(CLAUDE, (Message("system", (part,)), Message("user", "Hi")))

    with pytest.raises(ValueError, match="text only"):
        to_converse(request)


def test_unsupported_part_type_is_rejected_naming_the_part():
    part = Part("document", data={"source": {}})
    request = ChatRequest(CLAUDE, (Message("user", (text("Read:"), part)),))

    with pytest.raises(ValueError, match=r"messages\[0\]\.content\[1\].*document"):
        to_converse(request)


def test_tool_without_description_omits_it():
    tool = Tool("ping", "", {"type": "object", "properties": {}})
    payload = to_converse(ChatRequest(CLAUDE, (Message("user", "Hi"),), (tool,)))

    assert payload["toolConfig"]["tools"][0] == {
        "toolSpec": {"name": "ping", "inputSchema": {"json": {"type": "object", "properties": {}}}}
    }


def test_importing_the_module_does_not_import_boto3():
    code = "import sys, gateway.bedrock.client; sys.exit('boto3' in sys.modules or 'botocore' in sys.modules)"

    assert (
        subprocess.run([sys.executable, "-c", code], check=False, cwd=samples.ROOT).returncode == 0
    )


def test_top_k_goes_in_each_model_family_native_field():
    claude = ChatRequest(
        model="bedrock/anthropic.claude-3-haiku-20240307-v1:0",
        messages=(Message("user", "hi"),),
        params={"top_k": 5},
    )
    nova = ChatRequest(
        model="bedrock/us.amazon.nova-pro-v1:0",
        messages=(Message("user", "hi"),),
        params={"top_k": 5},
    )
    assert to_converse(claude)["additionalModelRequestFields"] == {"top_k": 5}
    assert to_converse(nova)["additionalModelRequestFields"] == {"inferenceConfig": {"topK": 5}}
