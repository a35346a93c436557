"""What OpenAI's two APIs share: the breakpoint rules, inclusive usage, checked reads.

Chat Completions (``translate``) and the Responses API (``responses``) place explicit
breakpoints by the same rules (docs/providers.md §6.3), count cached and written
tokens inside the prompt total, and answer with the same kind of JSON objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.catalog import ModelProfile, get_profile
from gateway.errors import MalformedResponseError
from gateway.types import TTL_SECONDS, ChatRequest, Message, Part, Usage, effective_ttl
from gateway.wire import plain

PROVIDER = "openai"

BREAKPOINT = {"mode": "explicit"}
EXPLICIT_TTL = "30m"  # the only TTL GPT-5.6 offers
EXPLICIT_TTL_SECONDS = 30 * 60
EXPLICIT_MODE = {"mode": "explicit", "ttl": EXPLICIT_TTL}


def entry_ttl(profile: ModelProfile, ttl: str | None) -> str:
    """The TTL of the entry a checkpoint marked ``ttl`` writes: 30 minutes on a model with
    explicit breakpoints (GPT-5.6), whatever the marker says; else the marker's own."""
    return EXPLICIT_TTL if profile.explicit_breakpoints else effective_ttl(ttl)


def entry_seconds(ttl: str | None) -> int:
    """How long an entry of TTL ``ttl`` lives (``5m``, ``1h``, ``30m``; None: the default)."""
    return EXPLICIT_TTL_SECONDS if ttl == EXPLICIT_TTL else TTL_SECONDS[effective_ttl(ttl)]


BREAKPOINT_ROLES = ("system", "developer", "user")
# The canonical part types each API takes a breakpoint on.
BREAKPOINT_PARTS = {
    "chat": ("text", "image_url", "input_audio"),
    "responses": ("text", "image_url", "file"),
}


def explicit_breakpoints(model: str) -> bool:
    """Whether ``model``'s profile takes explicit breakpoints (an unlisted model does not)."""
    return get_profile(model).explicit_breakpoints


def unplaced_checkpoints(request: ChatRequest) -> list[tuple[str, str]]:
    """``(path, why)`` of each checkpoint OpenAI cannot carry, for a model with explicit
    breakpoints; the prefix up to it is cached only by a later breakpoint."""
    profile = get_profile(request.model)
    if not profile.explicit_breakpoints:
        return []
    parts = BREAKPOINT_PARTS.get(profile.api, BREAKPOINT_PARTS["chat"])
    unplaced = [
        (f"tools[{index}]", "OpenAI takes no breakpoint on a tool definition")
        for index, tool in enumerate(request.tools)
        if tool.cache_control is not None
    ]
    for index, message in enumerate(request.messages):
        path = f"messages[{index}]"
        if isinstance(message.content, tuple):
            marked = [
                (f"{path}.content[{i}]", part)
                for i, part in enumerate(message.content)
                if part.cache_control is not None
            ]
        else:
            marked = [(f"{path}.content", None)] if message.cache_control is not None else []
        for where, part in marked:
            why = _unplaceable(message, part, parts)
            if why is not None:
                unplaced.append((where, why))
        unplaced += [
            (f"{path}.tool_calls[{i}]", "OpenAI takes no breakpoint in assistant messages")
            for i, call in enumerate(message.tool_calls)
            if call.cache_control is not None
        ]
    return unplaced


def _unplaceable(message: Message, part: Part | None, parts: tuple[str, ...]) -> str | None:
    if message.role not in BREAKPOINT_ROLES:
        return f"OpenAI takes no breakpoint in {message.role} messages"
    if part is not None and part.type not in parts:
        return f"OpenAI takes no breakpoint on a {part.type} part"
    return None


def takes_breakpoint(message: Message, part: Part | None, api: str) -> bool:
    """Whether ``part`` of ``message`` (None: its whole string content) carries a checkpoint
    this API can place."""
    marker = message.cache_control if part is None else part.cache_control
    return marker is not None and _unplaceable(message, part, BREAKPOINT_PARTS[api]) is None


def has_breakpoint(items: list[dict[str, Any]]) -> bool:
    """Whether a content part of the wire ``items`` (messages or input items) carries an
    explicit breakpoint: explicit mode with none would cache nothing at all."""
    return any(
        "prompt_cache_breakpoint" in part
        for item in items
        if isinstance(item.get("content"), list)
        for part in item["content"]
    )


def inclusive_usage(usage: Any, *, prompt: str, details: str, output: str) -> Usage:
    """Normalized usage from OpenAI's inclusive counts: uncached input is the ``prompt``
    total minus cached and written tokens (never counted twice)."""
    if usage is None:
        return Usage()
    usage = as_object(usage, "usage")
    detail = as_object(usage.get(details) or {}, details)
    total = count(usage, prompt)
    cached = count(detail, "cached_tokens")
    written = count(detail, "cache_write_tokens")
    if written is None and cached is not None:
        written = 0  # automatic caching (before GPT-5.6) writes nothing it bills
    uncached = None if total is None else total - (cached or 0) - (written or 0)
    if uncached is not None and uncached < 0:
        raise malformed(f"usage counts more cached than prompt tokens: {plain(usage)}")
    return Usage(
        input_tokens=uncached,
        output_tokens=count(usage, output),
        cache_read_tokens=cached,
        # OpenAI has no TTL split (its explicit TTL is 30m): writes count as the catalog's
        # 5m writes, which its OpenAI entries price as OpenAI does.
        cache_write_5m_tokens=written,
        raw=plain(usage),
    )


def malformed(message: str) -> MalformedResponseError:
    """A ``MalformedResponseError`` of this provider."""
    return MalformedResponseError(PROVIDER, None, message)


def as_object(value: Any, what: str) -> Mapping[str, Any]:
    """``value`` if it is an object; else ``MalformedResponseError`` naming ``what``."""
    if not isinstance(value, Mapping):
        raise malformed(f"{what} is not an object")
    return value


def typed_field(mapping: Mapping[str, Any], key: str, kind: type, *, required: bool = False) -> Any:
    """``mapping[key]`` if it is a ``kind``, None if absent; else MalformedResponseError."""
    value = mapping.get(key)
    if value is None and required:
        raise malformed(f"{key!r} is missing")
    if value is not None and not isinstance(value, kind):
        raise malformed(f"{key!r} has the wrong type: {type(value).__name__}")
    return value


def count(mapping: Mapping[str, Any], key: str) -> int | None:
    """``mapping[key]`` as a token count (None when absent); else MalformedResponseError."""
    value = mapping.get(key)
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        return value
    raise malformed(f"{key!r} is not a token count: {value!r}")
