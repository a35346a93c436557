"""OpenAI Responses API replies for ``FakeServer``: responses, event streams, a caching fake.

Bodies follow what api.openai.com sends for ``POST /v1/responses``: a ``response`` object
whose ``output`` holds ``message`` and ``function_call`` items, inclusive ``usage``
(``input_tokens`` counts cached and written tokens), and, when the request named a
``comparison_response_id``, ``prompt_cache_diagnostics``. A stream is a series of
``event: <type>`` server-sent events ending with ``response.completed``; no ``[DONE]``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Mapping
from typing import Any

from tests.fakes.caching import PrefixCache
from tests.fakes.openai import REQUEST_ID, SSE_HEADERS, error_reply
from tests.fakes.server import Recorded, Reply

MODEL = "gpt-5.6-terra-2026-09-01"
RESPONSE_ID = "resp_68b1f0c2a9e4819d8f3e5a7b6c4d2e10"
CREATED = 1764720000
# The top-level request fields the fake accepts; anything else is a 400, as on the API.
REQUEST_FIELDS = {
    "model",
    "input",
    "instructions",
    "tools",
    "tool_choice",
    "max_output_tokens",
    "temperature",
    "top_p",
    "stream",
    "store",
    "prompt_cache_key",
    "prompt_cache_options",
    "metadata",
    "parallel_tool_calls",
    "reasoning",
    "text",
    "user",
    "previous_response_id",
}
BREAKPOINT_PARTS = ("input_text", "input_image", "input_file")
BREAKPOINT_ROLES = ("system", "developer", "user")


def usage(
    input_tokens: int, output_tokens: int, *, cached_tokens: int = 0, cache_write_tokens: int = 0
) -> dict[str, Any]:
    """A Responses ``usage``; ``input_tokens`` already includes cached and written tokens."""
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {
            "cached_tokens": cached_tokens,
            "cache_write_tokens": cache_write_tokens,
        },
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input_tokens + output_tokens,
    }


def response(
    text: str | None = "Uptime was 99.95%.",
    *,
    tool_calls: list[tuple[str, str, str]] = (),  # type: ignore[assignment]
    usage_body: dict[str, Any] | None = None,
    status: str = "completed",
    incomplete: str | None = None,
    diagnostics: dict[str, Any] | None = None,
    response_id: str = RESPONSE_ID,
) -> dict[str, Any]:
    """A ``response`` object: a reasoning item, the message, then any function calls."""
    output: list[dict[str, Any]] = [{"type": "reasoning", "id": "rs_01", "summary": []}]
    if text is not None:
        part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
        output.append(
            {
                "type": "message",
                "id": "msg_01",
                "status": "completed",
                "role": "assistant",
                "content": [part],
            }
        )
    output += [
        {
            "type": "function_call",
            "id": f"fc_{index}",
            "call_id": call_id,
            "name": name,
            "arguments": arguments,
            "status": "completed",
        }
        for index, (call_id, name, arguments) in enumerate(tool_calls)
    ]
    body = {
        "id": response_id,
        "object": "response",
        "created_at": CREATED,
        "status": status,
        "incomplete_details": {"reason": incomplete} if incomplete else None,
        "model": MODEL,
        "output": output,
        "usage": usage_body if usage_body is not None else usage(2006, 9),
        "error": None,
    }
    if diagnostics is not None:
        body["prompt_cache_diagnostics"] = diagnostics
    return body


def response_reply(body: dict[str, Any] | None = None, **kwargs: Any) -> Reply:
    """A 200 answer carrying ``body`` (default: ``response()``)."""
    headers = {"x-request-id": REQUEST_ID}
    return Reply.json(200, body if body is not None else response(), headers=headers, **kwargs)


def events(body: dict[str, Any], pieces: list[str]) -> list[dict[str, Any]]:
    """The events of a streamed ``body`` whose text arrives in ``pieces``."""
    started = {**body, "status": "in_progress", "output": [], "usage": None}
    found = [
        {"type": "response.created", "response": started},
        {"type": "response.in_progress", "response": started},
        {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": {"type": "message", "id": "msg_01", "role": "assistant", "content": []},
        },
    ]
    found += [
        {
            "type": "response.output_text.delta",
            "item_id": "msg_01",
            "output_index": 0,
            "content_index": 0,
            "delta": piece,
        }
        for piece in pieces
    ]
    found += [
        {
            "type": "response.output_text.done",
            "item_id": "msg_01",
            "output_index": 0,
            "content_index": 0,
            "text": "".join(pieces),
        },
        {
            "type": f"response.{'completed' if body['status'] == 'completed' else body['status']}",
            "response": body,
        },
    ]
    return [{**event, "sequence_number": number} for number, event in enumerate(found)]


def sse(items: list[dict[str, Any]]) -> list[bytes]:
    """One ``event:``/``data:`` server-sent event per item."""
    return [f"event: {item['type']}\ndata: {json.dumps(item)}\n\n".encode() for item in items]


def stream_reply(chunks: list[bytes], **kwargs: Any) -> Reply:
    """A 200 SSE answer sent event by event (``cut_after`` breaks the connection)."""
    return Reply(status=200, headers=dict(SSE_HEADERS), chunks=chunks, **kwargs)


def cache_blocks(body: Mapping[str, Any]) -> list[tuple[Any, str | None]]:
    """The request's content in prefix order, each part with "30m" when it carries an explicit
    breakpoint in explicit mode; raises ValueError where the Responses API answers 400."""
    unknown = sorted(set(body) - REQUEST_FIELDS)
    if unknown:
        raise ValueError(f"Unknown parameter: '{unknown[0]}'.")
    explicit = (body.get("prompt_cache_options") or {}).get("mode") == "explicit"
    blocks: list[tuple[Any, str | None]] = [(tool, None) for tool in body.get("tools", [])]
    for item in body["input"]:
        content = item.get("content")
        for part in content if isinstance(content, list) else [content or item]:
            marked = isinstance(part, Mapping) and "prompt_cache_breakpoint" in part
            if marked and (
                item.get("role") not in BREAKPOINT_ROLES or part.get("type") not in BREAKPOINT_PARTS
            ):
                raise ValueError("prompt_cache_breakpoint is not allowed here")
            blocks.append((part, "30m" if marked and explicit else None))
    if sum(1 for _, ttl in blocks if ttl) > 4:
        raise ValueError("at most 4 prompt_cache_breakpoint blocks may be given")
    return blocks


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


class CachingResponses:
    """A ``FakeServer`` responder for ``/v1/responses`` in explicit mode: it writes at each
    breakpoint, reads a known prefix, and answers ``comparison_response_id`` with
    ``prompt_cache_diagnostics`` naming the first thing that changed (model, tools, cache
    key, input). ``force_reason`` makes it report a miss reason whatever it saw."""

    def __init__(self, min_tokens: int = 1024, *, output_tokens: int = 9) -> None:
        self.cache = PrefixCache(min_tokens)
        self.output_tokens = output_tokens
        self.seen: dict[str, dict[str, str]] = {}  # response id -> what its request held
        self.force_reason: str | None = None
        self._ids = itertools.count(1)

    def __call__(self, recorded: Recorded) -> Reply:
        body = recorded.json()
        try:
            blocks = cache_blocks(body)
        except ValueError as exc:
            return error_reply(400, str(exc))
        read, written, total = self.cache.use(
            [(block, "5m" if ttl else None) for block, ttl in blocks]
        )
        shape = {
            "model": body["model"],
            "tools": _digest(body.get("tools", [])),
            "prompt_cache_key": body.get("prompt_cache_key") or "",
            "input": _digest(body["input"]),
        }
        response_id = f"resp_fake{next(self._ids):04d}"
        self.seen[response_id] = shape
        compared = (body.get("prompt_cache_options") or {}).get("comparison_response_id")
        diagnostics = None if compared is None else self._diagnose(compared, shape, read, total)
        answer = response(
            usage_body=usage(
                total, self.output_tokens, cached_tokens=read, cache_write_tokens=written["5m"]
            ),
            diagnostics=diagnostics,
            response_id=response_id,
        )
        if body.get("stream"):
            return stream_reply(sse(events(answer, ["Uptime was ", "99.95%."])))
        return response_reply(answer)

    def _diagnose(self, compared: str, shape: dict[str, str], read: int, total: int) -> dict:
        previous = self.seen.get(compared)
        if previous is None:
            return {"type": "comparison_response_not_found", "reason": None}
        changed = next((key for key in shape if shape[key] != previous[key]), "input")
        reason = self.force_reason or f"{changed}_changed"
        if read and self.force_reason is None:
            return {
                "type": "cache_hit",
                "reason": None,
                "comparison_reusable_tokens": read,
                "cache_missed_tokens": total - read,
            }
        return {
            "type": "cache_miss",
            "reason": reason,
            "comparison_reusable_tokens": read,
            "cache_missed_tokens": total - read,
        }
