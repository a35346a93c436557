"""Provider name -> its client class and its pure translation, both imported lazily.

The keys of ``PROVIDERS`` are the ``provider/`` prefixes of model strings and are
written nowhere else. Modules load on first use, so boto3 only loads for Bedrock, and
translating a request (``translate``) never imports an HTTP library at all.

To add a provider (docs/architecture.md, "Adding a provider"):

1. Save recorded payloads in ``fixtures/providers/<name>/``.
2. Write ``tests/gateway/<name>/test_translate.py`` against them, then
   ``gateway/<name>/translate.py`` with a pure ``to_<wire>(request) -> dict`` and
   ``from_<wire>(body) -> Result`` (no httpx, no boto3: a test enforces it).
3. Write a fake in ``tests/fakes/``, then ``gateway/<name>/client.py`` with the
   ``<Name>Client`` (``gateway.base.ProviderClient``) and its error mapping.
4. Add one entry to ``PROVIDERS`` and the model entries to ``gateway/catalog.py``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from gateway.base import ProviderClient
from gateway.errors import UnknownProviderError
from gateway.types import ChatRequest, prewarm_request

Translate = Callable[[ChatRequest], dict[str, Any]]


@dataclass(frozen=True)
class Provider:
    """Where a provider's code lives, as dotted paths."""

    client: str  # the ProviderClient class: I/O, may import httpx or boto3
    translate: str  # the pure canonical -> wire function


PROVIDERS: dict[str, Provider] = {
    "anthropic": Provider(
        "gateway.anthropic.client.AnthropicClient", "gateway.anthropic.translate.to_anthropic"
    ),
    "bedrock": Provider(
        "gateway.bedrock.client.BedrockClient", "gateway.bedrock.translate.to_converse"
    ),
    "openai": Provider("gateway.openai.client.OpenAIClient", "gateway.openai.translate.to_openai"),
    "sim": Provider("gateway.sim.SimClient", "gateway.sim.to_sim"),
}

# How the HTTP clients carry their bytes (``gateway/aio.py``, ``gateway/http.py``): named
# here, where nothing heavy is imported, so that settings can check the choice at start.
HTTP_TRANSPORTS = ("aiohttp", "httpx")
DEFAULT_HTTP_TRANSPORT = "aiohttp"


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


def _load(dotted: str) -> Any:
    module_name, _, attribute = dotted.rpartition(".")
    return getattr(importlib.import_module(module_name), attribute)


def _entry(provider: str) -> Provider:
    if provider not in PROVIDERS:
        raise UnknownProviderError(f"{provider}/", PROVIDERS)
    return PROVIDERS[provider]


@cache
def client_class(provider: str) -> type[ProviderClient]:
    """The client class of ``provider``, imported on first use."""
    cls: type[ProviderClient] = _load(_entry(provider).client)
    return cls


@cache
def translator(provider: str) -> Translate:
    """The pure translate function of ``provider``, imported on first use."""
    function: Translate = _load(_entry(provider).translate)
    return function


def unavailable(provider: str, config: Mapping[str, Any]) -> str | None:
    """Why ``provider`` cannot be used with ``config`` (a missing key, say), or None.

    Builds nothing: no connection pool is opened to find out.
    """
    return client_class(provider).unavailable(config)


def get_client(provider: str, config: Mapping[str, Any]) -> ProviderClient:
    """A new client for ``provider`` built from ``config`` (the gateway settings).

    Raises ``ProviderUnavailableError`` when the provider lacks credentials.
    """
    return client_class(provider).from_config(config)


def _translation(request: ChatRequest, name: str) -> Any:
    """The function ``name`` of the request's provider translation, if it has one."""
    module = _entry(provider_of(request.model)).translate.rpartition(".")[0]
    return getattr(importlib.import_module(module), name, None)


def unplaced_checkpoints(request: ChatRequest) -> list[tuple[str, str]]:
    """``(path, why)`` of each checkpoint the provider's wire cannot carry (dropped there)."""
    unplaced = _translation(request, "unplaced_checkpoints")
    return [] if unplaced is None else unplaced(request)


def with_diagnostics(
    request: ChatRequest, wire: Mapping[str, Any], previous_id: str
) -> dict[str, Any]:
    """``wire`` asking the provider why it missed against its answer ``previous_id``; as is
    for a provider without cache diagnostics."""
    ask = _translation(request, "with_diagnostics")
    return dict(wire) if ask is None else ask(wire, previous_id)


def prewarm(prefix: ChatRequest) -> ChatRequest:
    """``prefix`` (a request cut after its last checkpoint) as the smallest call of its
    provider that writes its cache entries: the least output its translation's
    ``prewarm_max_tokens`` allows."""
    max_tokens = _translation(prefix, "prewarm_max_tokens")(prefix)
    return prewarm_request(prefix, max_tokens=max_tokens)


def translate(request: ChatRequest) -> dict[str, Any]:
    """The wire request for ``request``, built by its provider's pure translation."""
    return translator(provider_of(request.model))(request)
