"""Canonical request types shared by the renderer and every provider.

A ``ChatRequest`` is what the renderer produces and what each provider's
``to_<wire>()`` translates. It follows the OpenAI chat shape of the template
body (the README's "Templates") with the Jinja already rendered. Key order inside
``Tool.parameters`` and ``Part.data`` is the authored order and must be kept
as is all the way to the wire.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

TTLS = ("5m", "1h")  # every TTL a checkpoint may ask for, shortest first
DEFAULT_TTL = "5m"  # what a provider applies to a marker without one
TTL_SECONDS = {"5m": 300, "1h": 3600}
# A pre-warm whose prefix does not end in a turn a provider answers gets this user turn after it.
ANSWERED_ROLES = ("user", "tool")
PREWARM_TURN_TEXT = "."


def effective_ttl(ttl: str | None) -> str:
    """The TTL a provider applies to a marker whose ``ttl`` is ``ttl`` (None: the default)."""
    return ttl or DEFAULT_TTL


def expired(elapsed_seconds: float, ttl: str | None) -> bool:
    """Whether an entry of TTL ``ttl`` (``5m``, ``1h``) last used ``elapsed_seconds`` ago is
    gone: it is at its expiry instant, so a gap of exactly the TTL misses."""
    return elapsed_seconds >= TTL_SECONDS[effective_ttl(ttl)]


@dataclass(frozen=True, slots=True)
class CacheControl:
    """A checkpoint marker; ``ttl`` is ``None`` when the author left the provider default."""

    ttl: str | None = None

    def to_dict(self) -> dict[str, str]:
        """The marker as Anthropic and the body format spell it."""
        marker = {"type": "ephemeral"}
        if self.ttl is not None:
            marker["ttl"] = self.ttl
        return marker

    @property
    def effective_ttl(self) -> str:
        """The TTL the provider applies: the default is five minutes."""
        return effective_ttl(self.ttl)


@dataclass(frozen=True, slots=True)
class Part:
    """One content part: ``text`` for text parts, ``data`` (authored, minus marker) otherwise."""

    type: str
    text: str | None = None
    data: Mapping[str, Any] | None = None
    cache_control: CacheControl | None = None


@dataclass(frozen=True, slots=True)
class ToolCall:
    """An assistant tool call; ``arguments`` is the JSON text as authored; a marker on it
    closes a checkpoint right after this call."""

    id: str
    name: str
    arguments: str
    cache_control: CacheControl | None = None


@dataclass(frozen=True, slots=True)
class Message:
    """A chat message; ``cache_control`` is only set when ``content`` is not a list of parts.

    A message-level marker covers the whole message: its text, or for an assistant
    message without text, its tool calls.
    """

    role: str
    content: str | tuple[Part, ...] | None
    cache_control: CacheControl | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Tool:
    """A function tool, flattened from the OpenAI ``{"type": "function", "function": …}`` shape."""

    name: str
    description: str
    parameters: Mapping[str, Any]
    cache_control: CacheControl | None = None


@dataclass(frozen=True, slots=True)
class Block:
    """One cacheable unit in provider prefix order, with its path in the body."""

    path: str
    section: str  # "tools" | "system" | "messages"
    cache_control: CacheControl | None


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """A rendered request: model is ``provider/model-id``; params are provider-neutral."""

    model: str
    messages: tuple[Message, ...]
    tools: tuple[Tool, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)
    cache_key: str | None = None  # fingerprint of the last checkpoint, when there is one

    @property
    def provider(self) -> str:
        """The ``provider/`` prefix of ``model``."""
        return self.model.split("/", 1)[0]

    @property
    def model_id(self) -> str:
        """``model`` without its provider prefix."""
        return self.model.split("/", 1)[1]

    @property
    def system(self) -> tuple[Message, ...]:
        """The leading system messages (the body format requires them first)."""
        return tuple(m for m in self.messages if m.role == "system")

    @property
    def conversation(self) -> tuple[Message, ...]:
        """Every message that is not a system message, in order."""
        return tuple(m for m in self.messages if m.role != "system")


def iter_blocks(request: ChatRequest) -> Iterator[Block]:
    """Yield every block in provider prefix order: tools, then system, then messages."""
    for index, tool in enumerate(request.tools):
        yield Block(f"tools[{index}]", "tools", tool.cache_control)
    for index, message in enumerate(request.messages):
        section = "system" if message.role == "system" else "messages"
        if isinstance(message.content, tuple):
            for part_index, part in enumerate(message.content):
                yield Block(f"messages[{index}].content[{part_index}]", section, part.cache_control)
        else:
            yield Block(f"messages[{index}].content", section, message.cache_control)


@dataclass(frozen=True, slots=True)
class Usage:
    """Normalized token usage. ``None`` means the provider did not say (unknown, not 0).

    ``input_tokens`` counts only uncached input: never the tokens read from or
    written to the cache, whatever the provider's own convention.
    """

    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_5m_tokens: int | None = None
    cache_write_1h_tokens: int | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def cache_write_tokens(self) -> int | None:
        """Tokens written to the cache at any TTL."""
        if self.cache_write_5m_tokens is None and self.cache_write_1h_tokens is None:
            return None
        return (self.cache_write_5m_tokens or 0) + (self.cache_write_1h_tokens or 0)

    @property
    def prompt_tokens(self) -> int:
        """Every input token: uncached, read and written."""
        return (
            (self.input_tokens or 0)
            + (self.cache_read_tokens or 0)
            + (self.cache_write_tokens or 0)
        )


@dataclass(frozen=True, slots=True)
class CacheDiagnosis:
    """The provider's own word on a cache miss, against the previous call it was told of.

    ``reason`` is None when the provider found no miss (or has not decided yet); else its
    coarse reason (``system_changed``, ``previous_message_not_found``, ...).
    """

    provider: str
    reason: str | None
    missed_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class Result:
    """A provider's answer, normalized: text, tool calls, why it stopped, usage."""

    text: str
    tool_calls: tuple[ToolCall, ...]
    stop_reason: str | None
    usage: Usage
    model: str | None = None  # the model id the provider says answered
    request_id: str | None = None
    response_id: str | None = None  # the answer's own id (``msg_…``), for diagnostics
    diagnosis: CacheDiagnosis | None = None


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One streamed event: ``start`` once the provider's answer has begun (its response
    headers came: cache entries the call writes are readable from then on), ``delta``
    carries text, ``done`` carries the whole result."""

    type: str  # "start" | "delta" | "done"
    text: str = ""
    result: Result | None = None


def prefix_request(request: ChatRequest, block_index: int) -> ChatRequest:
    """``request`` cut after block ``block_index`` (in ``iter_blocks`` order): the prefix a
    checkpoint there closes. Later messages and parts are dropped; params are kept."""
    tools = request.tools[: block_index + 1]
    remaining = block_index + 1 - len(tools)
    messages: list[Message] = []
    for message in request.messages:
        if remaining <= 0:
            break
        if isinstance(message.content, tuple):
            kept = message.content[:remaining]
            remaining -= len(kept)
            messages.append(replace(message, content=kept))
        else:
            remaining -= 1
            messages.append(message)
    return replace(request, tools=tools, messages=tuple(messages), cache_key=None)


def prewarm_request(prefix: ChatRequest, *, max_tokens: int) -> ChatRequest:
    """A call of ``prefix`` (a request cut after its last checkpoint) that writes its cache
    entries and asks for at most ``max_tokens`` of output. A one-character user turn follows
    when the prefix does not end in a turn a provider answers (it ends in tools, system or
    an assistant turn); every block of the prefix, the params but ``max_tokens``, the
    markers and the cache key stay as they are."""
    messages = prefix.messages
    if not messages or messages[-1].role not in ANSWERED_ROLES:
        messages = (*messages, Message("user", PREWARM_TURN_TEXT))
    return replace(prefix, messages=messages, params={**prefix.params, "max_tokens": max_tokens})
