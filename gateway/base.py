"""The interface every provider client implements."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol

from .types import ChatRequest, Result, StreamEvent

Wire = Mapping[str, Any]


class ProviderClient(Protocol):
    """Sends a canonical request to one provider and returns a normalized result.

    ``send`` and ``stream`` raise ``gateway.errors`` exceptions only. ``stream``
    yields one ``start`` event as soon as the provider's answer has begun, then
    ``delta`` events, and ends with exactly one ``done`` event; if the stream
    breaks it raises instead of yielding ``done``. Both take the request's
    wire body (``registry.translate(request)``) when the caller has built it already,
    so a send translates once; without it they translate ``request`` themselves.
    """

    name: str

    @classmethod
    def unavailable(cls, config: Mapping[str, Any]) -> str | None:
        """Why the gateway settings cannot build this client (no key, say), or None."""
        ...

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ProviderClient:
        """Build the client from the gateway settings; ``ProviderUnavailableError`` if it
        lacks credentials."""
        ...

    async def send(self, request: ChatRequest, wire: Wire | None = None) -> Result: ...

    def stream(
        self, request: ChatRequest, wire: Wire | None = None
    ) -> AsyncIterator[StreamEvent]: ...

    async def aclose(self) -> None: ...
