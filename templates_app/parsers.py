"""A JSON parser that turns every malformed, oversized or too-deep body into a 4xx."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser


class RequestTooLarge(APIException):
    status_code = 413
    default_detail = "request body is too large"
    default_code = "request_too_large"


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def json_depth_exceeds(value: Any, limit: int) -> bool:
    """True when ``value`` nests objects and arrays deeper than ``limit``."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


class StrictJSONParser(JSONParser):
    """UTF-8 JSON only; no NaN or Infinity; bounded size and nesting depth."""

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: dict[str, Any] | None = None,
    ) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise RequestTooLarge(f"request body is over the limit of {limit:,} bytes")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ParseError(f"request body is not UTF-8: {exc}") from None
        try:
            data = json.loads(text, parse_constant=_reject_constant)
        except RecursionError:
            raise ParseError("JSON is nested too deeply") from None
        except ValueError as exc:
            raise ParseError(f"invalid JSON: {exc}") from None
        if json_depth_exceeds(data, settings.CACHET["MAX_JSON_DEPTH"]):
            raise ParseError(
                f"JSON is nested deeper than {settings.CACHET['MAX_JSON_DEPTH']} levels"
            )
        return data
