from __future__ import annotations

from dataclasses import replace

import pytest

from gateway.anthropic.translate import to_anthropic
from gateway.errors import UnknownProviderError
from gateway.registry import (
    PROVIDERS,
    prewarm,
    provider_names,
    provider_of,
    translate,
    translator,
)
from gateway.types import CacheControl, ChatRequest, Message, Part, Tool, ToolCall
from tests.gateway import samples


def test_provider_of_returns_the_prefix():
    assert provider_of("bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0") == "bedrock"


def test_model_id_may_contain_slashes():
    assert provider_of("openai/meta-llama/Llama-3.1-8B-Instruct") == "openai"


@pytest.mark.parametrize("model", ["claude-sonnet-4-5", "/claude", "anthropic/", ""])
def test_malformed_model_string_is_rejected_with_the_expected_shape(model):
    with pytest.raises(UnknownProviderError, match="provider/model-id"):
        provider_of(model)


def test_unknown_provider_error_names_it_and_lists_the_known_ones():
    with pytest.raises(UnknownProviderError) as caught:
        provider_of("vertex/gemini-2.5-pro")

    assert "'vertex'" in str(caught.value)
    assert "anthropic, bedrock, openai, sim" in str(caught.value)
    assert caught.value.status_code == 400


def test_provider_names_are_the_registry_keys():
    assert provider_names() == ("anthropic", "bedrock", "openai", "sim")


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_every_provider_resolves_to_a_translate_function(provider):
    assert callable(translator(provider))


def test_translate_dispatches_on_the_provider_prefix():
    payload = translate(samples.system_checkpoint("bedrock/amazon.nova-pro-v1:0"))

    assert payload["modelId"] == "amazon.nova-pro-v1:0"


def test_sim_speaks_the_anthropic_shape():
    sim = translate(samples.tool_turns("sim/claude-sonnet-4-5"))

    assert sim == to_anthropic(samples.tool_turns("anthropic/claude-sonnet-4-5"))


def test_translate_rejects_an_unknown_provider():
    with pytest.raises(UnknownProviderError):
        translate(ChatRequest("vertex/gemini", (Message("user", "Hi"),)))


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_every_provider_has_a_client_named_after_it(provider):
    from gateway.registry import client_class

    cls = client_class(provider)
    assert cls.name == provider
    assert callable(cls.from_config) and callable(cls.unavailable)
    assert callable(translator(provider))


# --- pre-warm: the smallest call that writes a prefix --------------------------------------

SYSTEM_PREFIX = ChatRequest(
    "anthropic/claude-sonnet-4-5",
    (Message("system", (Part("text", text="doc", cache_control=CacheControl("1h")),)),),
    params={"max_tokens": 512, "temperature": 0},
    cache_key="sha256:prefix",
)


@pytest.mark.parametrize(
    ("model", "field", "least"),
    [
        ("anthropic/claude-sonnet-4-5", "max_tokens", 0),
        ("sim/claude-sonnet-4-5", "max_tokens", 0),
        (
            "bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            ("inferenceConfig", "maxTokens"),
            1,
        ),
        ("openai/gpt-4o", "max_completion_tokens", 1),
        ("openai/gpt-5.6-sol", "max_output_tokens", 16),
    ],
)
def test_a_prewarm_asks_for_the_least_output_its_provider_takes(model, field, least):
    request = prewarm(replace(SYSTEM_PREFIX, model=model))

    wire = translate(request)
    value = wire[field[0]][field[1]] if isinstance(field, tuple) else wire[field]
    assert value == least
    assert request.params == {"max_tokens": least, "temperature": 0}


@pytest.mark.parametrize("choice", ["required", {"type": "function", "function": {"name": "f"}}])
def test_an_anthropic_prewarm_that_forces_a_tool_asks_for_one_token(choice):
    forced = replace(SYSTEM_PREFIX, params={"max_tokens": 512, "tool_choice": choice})

    assert prewarm(forced).params["max_tokens"] == 1
    unforced = replace(SYSTEM_PREFIX, params={"max_tokens": 512, "tool_choice": "auto"})
    assert prewarm(unforced).params["max_tokens"] == 0


def test_a_prefix_that_ends_in_system_or_tools_gets_a_user_turn_after_it():
    tools_only = ChatRequest(
        "sim/claude-sonnet-4-5", (), tools=(Tool("t", "d", {}, CacheControl()),)
    )

    for prefix in (SYSTEM_PREFIX, tools_only):
        request = prewarm(prefix)
        assert request.messages[:-1] == prefix.messages
        assert request.messages[-1] == Message("user", ".")
        assert request.tools == prefix.tools
        assert request.cache_key == prefix.cache_key


def test_a_prefix_that_ends_in_a_user_or_tool_turn_is_sent_as_it_is():
    user = (*SYSTEM_PREFIX.messages, Message("user", "hello", CacheControl()))
    tool = (*user, Message("assistant", None, tool_calls=(ToolCall("c1", "f", "{}"),)))
    tool = (*tool, Message("tool", "42", CacheControl(), tool_call_id="c1"))

    for messages in (user, tool):
        assert prewarm(replace(SYSTEM_PREFIX, messages=messages)).messages == messages


def test_a_prefix_that_ends_in_an_assistant_turn_gets_a_user_turn_after_it():
    messages = (Message("user", "hi"), Message("assistant", "hello", CacheControl()))

    request = prewarm(replace(SYSTEM_PREFIX, messages=messages))

    assert request.messages == (*messages, Message("user", "."))
