"""Chat Completions replies for ``FakeServer``: completions, SSE streams and errors.

Bodies follow what api.openai.com sends (``chat.completion`` and
``chat.completion.chunk`` objects, a final usage chunk with empty ``choices``, then
``data: [DONE]``); ``details=False`` drops ``prompt_tokens_details`` the way Ollama,
and vLLM without ``--enable-prompt-tokens-details``, answer. Recorded samples live in
``fixtures/providers/openai/`` and are served as is by ``recorded_reply``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tests.fakes.caching import PrefixCache
from tests.fakes.server import Recorded, Reply

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "providers" / "openai"
MODEL = "gpt-4o-2024-08-06"
COMPLETION_ID = "chatcmpl-C7kVx2PzR9aQm1Lb4TnW8yHd3Efs"
CREATED = 1755770400
REQUEST_ID = "req_5f2c9a1e7b3d4c6a8e0f1a2b3c4d5e6f"
SSE_HEADERS = {"content-type": "text/event-stream; charset=utf-8", "x-request-id": REQUEST_ID}


def usage(
    prompt_tokens: int,
    completion_tokens: int,
    *,
    cached_tokens: int = 0,
    cache_write_tokens: int | None = None,
    details: bool = True,
) -> dict[str, Any]:
    """A ``usage`` object; ``prompt_tokens`` already includes cached and written tokens."""
    body: dict[str, Any] = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    if details:
        prompt_details: dict[str, Any] = {"cached_tokens": cached_tokens, "audio_tokens": 0}
        if cache_write_tokens is not None:
            prompt_details["cache_write_tokens"] = cache_write_tokens
        body["prompt_tokens_details"] = prompt_details
        body["completion_tokens_details"] = {"reasoning_tokens": 0, "audio_tokens": 0}
    return body


def completion(
    text: str | None = "Revenue was 4.2M EUR.",
    *,
    tool_calls: list[dict[str, Any]] | None = None,
    finish_reason: str = "stop",
    usage_body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``chat.completion`` object with one choice."""
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if tool_calls:
        message["tool_calls"] = tool_calls
    message |= {"refusal": None, "annotations": []}
    return {
        "id": COMPLETION_ID,
        "object": "chat.completion",
        "created": CREATED,
        "model": MODEL,
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}
        ],
        "usage": usage_body if usage_body is not None else usage(2006, 9),
        "service_tier": "default",
        "system_fingerprint": "fp_07871e2ad8",
    }


def completion_reply(*args: Any, delay: float = 0.0, **kwargs: Any) -> Reply:
    """A 200 answer carrying ``completion(*args, **kwargs)``, sent after ``delay`` seconds."""
    headers = {"x-request-id": REQUEST_ID, "openai-processing-ms": "412"}
    return Reply.json(200, completion(*args, **kwargs), headers=headers, delay=delay)


def chunk(
    delta: dict[str, Any] | None = None,
    *,
    finish_reason: str | None = None,
    usage_body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``chat.completion.chunk``; without ``delta`` it is the final usage chunk."""
    choices = []
    if delta is not None:
        choices = [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]
    return {
        "id": COMPLETION_ID,
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": MODEL,
        "system_fingerprint": "fp_07871e2ad8",
        "choices": choices,
        "usage": usage_body,
    }


def text_chunks(pieces: list[str], usage_body: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The chunks of a streamed text answer: role, pieces, finish, then usage (if any)."""
    chunks = [chunk({"role": "assistant", "content": "", "refusal": None})]
    chunks += [chunk({"content": piece}) for piece in pieces]
    chunks.append(chunk({}, finish_reason="stop"))
    if usage_body is not None:
        chunks.append(chunk(usage_body=usage_body))
    return chunks


def sse_events(chunks: list[dict[str, Any]], *, done: bool = True) -> list[bytes]:
    """One ``data:`` event per chunk, then ``data: [DONE]`` unless ``done`` is False."""
    events = [f"data: {json.dumps(item)}\n\n".encode() for item in chunks]
    return [*events, b"data: [DONE]\n\n"] if done else events


def stream_reply(events: list[bytes], **kwargs: Any) -> Reply:
    """A 200 SSE answer sent event by event (``cut_after`` breaks the connection)."""
    return Reply(status=200, headers=dict(SSE_HEADERS), chunks=events, **kwargs)


def recorded_reply(name: str, **kwargs: Any) -> Reply:
    """A recorded fixture served as is: ``*.json`` as a body, ``*.txt`` as SSE events."""
    raw = (FIXTURES / name).read_bytes()
    if name.endswith(".txt"):
        events = [event + b"\n\n" for event in raw.split(b"\n\n") if event]
        return stream_reply(events, **kwargs)
    headers = {"content-type": "application/json", "x-request-id": REQUEST_ID}
    return Reply(status=200, body=raw, headers=headers, **kwargs)


def error_reply(
    status: int,
    message: str,
    *,
    type: str = "invalid_request_error",
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    """An error in OpenAI's shape ``{"error": {"message", "type", "param", "code"}}``."""
    error = {"message": message, "type": type, "param": None, "code": code}
    headers = {"x-request-id": REQUEST_ID, **(headers or {})}
    return Reply.json(status, {"error": error}, headers=headers)


def cache_blocks(body: Mapping[str, Any]) -> list[tuple[Any, str | None]]:
    """The request's content in prefix order, each part with "30m" when it carries an explicit
    breakpoint; raises ValueError where OpenAI answers 400."""
    explicit = (body.get("prompt_cache_options") or {}).get("mode") == "explicit"
    blocks: list[tuple[Any, str | None]] = [(tool, None) for tool in body.get("tools", [])]
    for message in body["messages"]:
        content = message.get("content")
        parts = content if isinstance(content, list) else [content]
        for part in parts:
            marked = isinstance(part, Mapping) and "prompt_cache_breakpoint" in part
            if marked and message["role"] not in ("system", "developer", "user"):
                raise ValueError(f"prompt_cache_breakpoint is not allowed in {message['role']}")
            blocks.append((part, "30m" if marked and explicit else None))
        if message.get("tool_calls"):
            blocks.append((message["tool_calls"], None))
    if sum(1 for _, ttl in blocks if ttl) > 4:
        raise ValueError("at most 4 prompt_cache_breakpoint blocks may be given")
    return blocks


class CachingCompletions:
    """A ``FakeServer`` responder for Chat Completions in explicit mode: it writes at each
    breakpoint and reads a known prefix, reporting ``cache_write_tokens`` and
    ``cached_tokens`` inside an inclusive ``prompt_tokens``. Without explicit mode it
    caches nothing it bills (automatic caching writes nothing)."""

    def __init__(self, min_tokens: int = 1024) -> None:
        self.cache = PrefixCache(min_tokens)

    def __call__(self, recorded: Recorded) -> Reply:
        try:
            blocks = cache_blocks(recorded.json())
        except ValueError as exc:
            return error_reply(400, str(exc))
        read, written, total = self.cache.use(
            [(block, "5m" if ttl else None) for block, ttl in blocks]
        )
        body = usage(total, 0, cached_tokens=read, cache_write_tokens=written["5m"])
        return completion_reply(usage_body=body)
