"""Provider name -> client class, imported lazily.

The keys of ``PROVIDERS`` are the ``provider/`` prefixes of model strings and are
written nowhere else. Modules load on first use, so boto3 only loads for Bedrock.

To add a provider:

1. Save recorded payloads in ``fixtures/providers/<name>/``.
2. Write ``tests/gateway/test_<name>.py`` against them, then ``gateway/<name>.py``
   with a pure ``to_<wire>(request) -> dict`` and ``from_<wire>(body) -> Result``.
3. Write a fake in ``tests/fakes/``, then the ``<Name>Client`` (``gateway.base.ProviderClient``)
   and its error mapping.
4. Add one line to ``PROVIDERS`` and the model entries to ``gateway/catalog.py``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from gateway.base import ProviderClient
from gateway.errors import UnknownProviderError
from gateway.types import ChatRequest

Translate = Callable[[ChatRequest], dict[str, Any]]

PROVIDERS: dict[str, str] = {
    "anthropic": "gateway.anthropic.AnthropicClient",
    "bedrock": "gateway.bedrock.BedrockClient",
    "openai": "gateway.openai.OpenAIClient",
    "sim": "gateway.sim.SimClient",
}


def provider_names() -> tuple[str, ...]:
    """Every known provider name, sorted."""
    return tuple(sorted(PROVIDERS))


def provider_of(model: str) -> str:
    """The provider of a ``provider/model-id`` string; raises UnknownProviderError."""
    provider, slash, model_id = model.partition("/")
    if not slash or not provider or not model_id:
        reason = f"model {model!r} must look like 'provider/model-id'"
        raise UnknownProviderError(model, PROVIDERS, reason=reason)
    if provider not in PROVIDERS:
        raise UnknownProviderError(model, PROVIDERS)
    return provider


@cache
def client_class(provider: str) -> type[ProviderClient]:
    """The client class of ``provider``, imported on first use."""
    if provider not in PROVIDERS:
        raise UnknownProviderError(f"{provider}/", PROVIDERS)
    module_name, _, attribute = PROVIDERS[provider].rpartition(".")
    cls: type[ProviderClient] = getattr(importlib.import_module(module_name), attribute)
    return cls


def translator(provider: str) -> Translate:
    """The pure translate function of ``provider``."""
    return client_class(provider).translate


def get_client(provider: str, config: Mapping[str, Any]) -> ProviderClient:
    """A new client for ``provider`` built from ``config`` (the gateway settings).

    Raises ``ProviderUnavailableError`` when the provider lacks credentials.
    """
    return client_class(provider).from_config(config)


def translate(request: ChatRequest) -> dict[str, Any]:
    """The wire request for ``request``, built by its provider's pure translation."""
    return translator(provider_of(request.model))(request)
