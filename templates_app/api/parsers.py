"""A JSON parser that turns every malformed, oversized or too-deep body into a 4xx."""

from __future__ import annotations

import json
import math
from typing import Any

from django.conf import settings
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser

from ..engine.canonical import SURROGATE_RE


class RequestTooLarge(APIException):
    status_code = 413
    default_detail = "request body is too large"
    default_code = "request_too_large"


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def json_problem(value: Any, max_depth: int) -> str | None:
    """What makes parsed JSON unusable, naming where: too deep, a number out of range, or a
    string that is not Unicode (a lone surrogate escape such as ``"\\ud800"``)."""
    stack: list[tuple[Any, str, int]] = [(value, "", 1)]
    while stack:
        item, path, depth = stack.pop()
        where = path or "request body"
        if isinstance(item, dict | list):
            if depth > max_depth:
                return f"JSON is nested deeper than {max_depth} levels (at {where})"
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in pairs:
                if isinstance(key, str) and not key.isascii() and SURROGATE_RE.search(key):
                    return f"{where}: a key is not valid Unicode (unpaired surrogate)"
                here = (
                    f"{path}[{key}]" if isinstance(key, int) else (f"{path}.{key}" if path else key)
                )
                stack.append((child, here, depth + 1))
        elif isinstance(item, float) and not math.isfinite(item):
            return f"{where}: number is out of range"
        elif isinstance(item, str) and not item.isascii() and SURROGATE_RE.search(item):
            return f"{where}: contains an unpaired surrogate (\\ud800-\\udfff), not valid Unicode"
    return None


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
        if not raw.strip():
            raise ParseError("request body is empty: send a JSON object")
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
        problem = json_problem(data, settings.CACHET["MAX_JSON_DEPTH"])
        if problem:
            raise ParseError(problem)
        return data
