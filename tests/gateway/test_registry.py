from __future__ import annotations

import pytest

from gateway.anthropic.translate import to_anthropic
from gateway.errors import UnknownProviderError
from gateway.registry import PROVIDERS, provider_names, provider_of, translate, translator
from gateway.types import ChatRequest, Message
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
