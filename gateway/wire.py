"""Helpers shared by the provider translations: the one JSON serialization (``compact_json``),
data URLs and tool-call arguments."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import orjson

from gateway.types import Part, ToolCall

DEFAULT_MAX_TOKENS = 1024

_DATA_URL = re.compile(r"data:(?P<media_type>[\w.+-]+/[\w.+-]+);base64,(?P<data>.*)", re.DOTALL)


def compact_json(value: Any) -> str:
    """The one JSON text of Cachet: compact, key order kept, non-ASCII as is, no NaN.

    Byte stability rests on it: stored bodies, ``content_hash``, fingerprints, the
    simulator's cache keys and every wire body are this text. Keys are never sorted:
    tool schemas keep their authored order, so the prefix bytes a provider hashes are
    the bytes the author wrote. Raises ``ValueError`` for NaN or infinity.

    The text is the standard library's ``json.dumps`` (compact, ``ensure_ascii=False``);
    orjson writes it, fifty times faster, when it writes the very same bytes.
    """
    if _orjson_writes_alike(value):
        try:
            return orjson.dumps(value).decode()
        except TypeError:  # a lone surrogate, an integer past 64 bits, nesting past 255
            pass
    return _stdlib_json(value)


def dumps(payload: Any) -> bytes:
    """``payload`` as sent on the wire: ``compact_json`` in UTF-8."""
    if _orjson_writes_alike(payload):
        try:
            return orjson.dumps(payload)
        except TypeError:
            pass
    return _stdlib_json(payload).encode()


def _stdlib_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _orjson_writes_alike(value: Any) -> bool:
    """Whether orjson's text of ``value`` is ``json.dumps``'s, as far as types tell: only
    JSON's own types (orjson also writes dataclasses, dates, ... where json raises), and
    each float as ``repr`` writes it (orjson writes ``1e-05`` as ``0.00001``, NaN as
    ``null``). orjson raises for what else differs, and then the standard library writes."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str or kind is int or kind is bool or item is None:
            continue
        if kind is dict:
            stack.extend(item.values())
        elif kind is list or kind is tuple:
            stack.extend(item)
        elif kind is float:
            if orjson.dumps(item) != float.__repr__(item).encode():
                return False
        else:
            return False  # a subclass, or a type JSON does not have
    return True


def plain(value: Any) -> Any:
    """``value`` with every mapping turned into a dict and every tuple into a list, order kept."""
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def image_url(part: Part) -> str:
    """The URL of an ``image_url`` part (its ``data`` is the authored ``{"url": …}``)."""
    url = (part.data or {}).get("url")
    if not isinstance(url, str) or not url:
        raise ValueError(f"image_url part has no url: {part.data!r}")
    return url


def file_source(part: Part) -> tuple[str, str]:
    """The source of a ``file`` part: its kind (``file_data``, ``url`` or ``file_id``) and
    its value; raises ValueError when it has none."""
    data = part.data or {}
    for kind in ("file_data", "url", "file_id"):
        if isinstance(data.get(kind), str) and data[kind]:
            return kind, data[kind]
    raise ValueError(f"file part has no file_data, url or file_id: {sorted(data)}")


def parse_data_url(url: str) -> tuple[str, str] | None:
    """``(media_type, base64 data)`` for a base64 ``data:`` URL, None for any other URL."""
    if not url.startswith("data:"):
        return None
    match = _DATA_URL.fullmatch(url)
    if match is None:
        raise ValueError(f"data URL must be 'data:<media type>;base64,<data>': {url[:40]!r}")
    return match["media_type"], match["data"]


def tool_input(call: ToolCall) -> dict[str, Any]:
    """The arguments of ``call`` decoded to an object, authored key order kept."""
    try:
        value = json.loads(call.arguments)
    except json.JSONDecodeError as exc:
        raise ValueError(f"tool call {call.id!r} ({call.name}) has invalid JSON arguments") from exc
    if not isinstance(value, dict):
        raise ValueError(f"tool call {call.id!r} ({call.name}) arguments must be a JSON object")
    return value
