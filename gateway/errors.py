"""Errors raised by the gateway; plain exceptions with attributes, no I/O.

::

    GatewayError
      UnknownProviderError                                  -> 400
      UnknownModelError                                     -> 400
      ProviderError(provider, status, message, request_id)  -> 502
        AuthenticationError   401/403
        RateLimitError        429, ThrottlingException
        BadRequestError       400/404/422
        OverloadedError       529
        ServerError           other 5xx
        MalformedResponseError  a body that is not the provider's protocol
        StreamInterruptedError  the stream ended before its last event
      ProviderTimeoutError                                  -> 504
      ProviderConnectionError                               -> 502
      ProviderUnavailableError  no credentials configured   -> 503
      CatalogError(problems)  an invalid catalog file (at startup)

``status_code`` is the HTTP status the gateway answers with; ``ProviderError.status``
is the status the provider answered with. Messages never contain headers or keys.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class GatewayError(Exception):
    """Base of every error the gateway raises."""

    status_code = 500
    type = "gateway_error"


class UnknownProviderError(GatewayError):
    """The ``provider/`` prefix of a model string is missing or not a known provider."""

    status_code = 400
    type = "unknown_provider"

    def __init__(self, model: str, known: Iterable[str], *, reason: str | None = None) -> None:
        self.model = model
        self.provider = model.partition("/")[0]
        self.known = tuple(sorted(known))
        expected = ", ".join(self.known)
        if reason is None:
            reason = f"unknown provider {self.provider!r} in model {model!r}"
        super().__init__(f"{reason}; providers are: {expected}")


class UnknownModelError(GatewayError):
    """The model string has a known provider but no catalog entry."""

    status_code = 400
    type = "unknown_model"

    def __init__(self, model: str, known: Iterable[str]) -> None:
        self.model = model
        self.suggestions = tuple(difflib.get_close_matches(model, list(known), n=3, cutoff=0.6))
        if self.suggestions:
            hint = "close matches: " + ", ".join(self.suggestions)
        else:
            hint = "no close matches in the model catalog"
        super().__init__(f"unknown model {model!r}; {hint}")


class ProviderError(GatewayError):
    """The provider answered with an error; ``status`` is its HTTP status, if any."""

    status_code = 502
    type = "provider_error"

    def __init__(
        self,
        provider: str,
        status: int | None,
        message: str,
        request_id: str | None = None,
        *,
        retry_after: float | None = None,
    ) -> None:
        self.provider = provider
        self.status = status
        self.message = message
        self.request_id = request_id
        self.retry_after = retry_after
        detail = f"{provider} returned {status}: {message}" if status else f"{provider}: {message}"
        if request_id:
            detail += f" (request id {request_id})"
        super().__init__(detail)


class AuthenticationError(ProviderError):
    """The provider rejected the credentials (401/403)."""

    type = "provider_authentication_error"


class RateLimitError(ProviderError):
    """The provider rate-limited the call (429, Bedrock ThrottlingException)."""

    type = "provider_rate_limit_error"


class BadRequestError(ProviderError):
    """The provider rejected the request itself (400/404/422)."""

    type = "provider_bad_request_error"


class OverloadedError(ProviderError):
    """The provider is overloaded (Anthropic 529)."""

    type = "provider_overloaded_error"


class ServerError(ProviderError):
    """The provider failed with another 5xx."""

    type = "provider_server_error"


class MalformedResponseError(ProviderError):
    """The provider answered, but not in its protocol (bad JSON, missing fields)."""

    type = "provider_malformed_response"


class StreamInterruptedError(ProviderError):
    """The stream ended or broke before its final event."""

    type = "provider_stream_interrupted"


class ProviderTimeoutError(GatewayError):
    """The provider did not answer within the configured timeout."""

    status_code = 504
    type = "provider_timeout"

    def __init__(self, provider: str, message: str) -> None:
        self.provider = provider
        self.message = message
        super().__init__(f"{provider}: {message}")


class ProviderConnectionError(GatewayError):
    """The provider could not be reached (DNS, refused, reset, TLS)."""

    status_code = 502
    type = "provider_connection_error"

    def __init__(self, provider: str, message: str) -> None:
        self.provider = provider
        self.message = message
        super().__init__(f"{provider}: {message}")


class ProviderUnavailableError(GatewayError):
    """The provider is not configured here (no credentials); the simulator always is."""

    status_code = 503
    type = "provider_unavailable"

    def __init__(self, provider: str, message: str) -> None:
        self.provider = provider
        self.message = message
        super().__init__(f"{provider} is not available: {message}")


class CatalogError(GatewayError, ValueError):
    """A catalog file is invalid; ``problems`` lists every problem found, one per line."""

    status_code = 500
    type = "catalog_error"

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid model catalog:\n  " + "\n  ".join(self.problems))
