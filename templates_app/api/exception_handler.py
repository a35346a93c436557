"""The one exception handler of the API: every error is ``{"error": {type, message, details}}``."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions
from rest_framework.response import Response

from gateway.errors import GatewayError

from ..engine.errors import CachetError
from ..models import ImmutableVersionError
from .serializers import UNKNOWN_FIELD

logger = logging.getLogger(__name__)

DRF_TYPES = {
    exceptions.ParseError: "parse_error",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.NotAuthenticated: "authentication_required",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "rate_limited",
}


def error_response(
    status: int,
    type_: str,
    message: str,
    details: Any = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """Build the JSON error response."""
    body = {"error": {"type": type_, "message": message, "details": details}}
    return Response(body, status=status, headers=headers)


def _first_message(detail: Any, path: str = "") -> str:
    if isinstance(detail, dict):
        key, value = next(iter(detail.items()))
        return _first_message(value, f"{path}.{key}" if path else str(key))
    if isinstance(detail, list) and detail:
        return _first_message(detail[0], path)
    return f"{path}: {detail}" if path and path != "non_field_errors" else str(detail)


def validation_message(detail: Any) -> str:
    """The message of a validation error: every unknown field named (they come first, and a
    typo is the likeliest cause of the rest), else the first error with its field path."""
    if isinstance(detail, dict):
        unknown = [
            f"{name}: {errors[0]}"
            for name, errors in detail.items()
            if isinstance(errors, list)
            and errors
            and getattr(errors[0], "code", None) == UNKNOWN_FIELD
        ]
        if unknown:
            return "; ".join(unknown)
    return _first_message(detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """Map domain, gateway, DRF and Django errors to JSON; unexpected ones to a logged 500."""
    if isinstance(exc, CachetError):
        return error_response(exc.status_code, exc.type, exc.message, exc.details)
    if isinstance(exc, GatewayError):
        return error_response(exc.status_code, exc.type, str(exc))
    if isinstance(exc, ImmutableVersionError):
        return error_response(409, "immutable", str(exc))
    if isinstance(exc, Http404):
        return error_response(404, "not_found", str(exc) or "not found")
    if isinstance(exc, RequestDataTooBig):
        return error_response(413, "request_too_large", str(exc))
    if isinstance(exc, exceptions.ValidationError):
        return error_response(400, "invalid_request", validation_message(exc.detail), exc.detail)
    if isinstance(exc, exceptions.APIException):
        headers = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
        kind = next((t for cls, t in DRF_TYPES.items() if isinstance(exc, cls)), exc.default_code)
        return error_response(exc.status_code, kind, str(exc.detail), headers=headers or None)
    if isinstance(exc, (OperationalError, InterfaceError)):
        # The database is away, or locked past its timeout: a moment's trouble, not a bug.
        logger.warning("database unavailable in %s: %s", context.get("view"), exc)
        return error_response(
            503,
            "database_unavailable",
            "the database is unavailable for the moment; try again",
            headers={"Retry-After": "1"},
        )
    logger.exception("unhandled error in %s", context.get("view"))
    return error_response(500, "internal_error", "internal error; it has been logged")


@csrf_exempt  # it changes nothing; a CSRF failure page would hide the real answer
def api_not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """Any URL under /api/v1/ that names no endpoint: a JSON 404, like every other error."""
    body = {
        "error": {
            "type": "not_found",
            "message": f"no API endpoint at {request.path}",
            "details": None,
        }
    }
    return JsonResponse(body, status=404)
