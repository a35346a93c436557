"""The interface every provider client implements."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol

from .types import ChatRequest, Result, StreamEvent


class ProviderClient(Protocol):
    """Sends a canonical request to one provider and returns a normalized result.

    ``send`` and ``stream`` raise ``gateway.errors`` exceptions only. ``stream``
    yields ``delta`` events and ends with exactly one ``done`` event; if the
    stream breaks it raises instead of yielding ``done``.
    """

    name: str

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ProviderClient:
        """Build the client from the gateway settings; ``ProviderUnavailableError`` if it
        lacks credentials."""
        ...

    @staticmethod
    def translate(request: ChatRequest) -> dict[str, Any]:
        """The pure wire translation of ``request``."""
        ...

    async def send(self, request: ChatRequest) -> Result: ...

    def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]: ...

    async def aclose(self) -> None: ...
