"""Bedrock Runtime on top of ``FakeServer``: Converse JSON, ConverseStream event-stream
frames, error replies, and checks on the SigV4 signature of a recorded request.

Shapes follow botocore's ``bedrock-runtime`` service model: ``ConverseResponse`` is
``output.message``, ``stopReason``, ``usage`` (``TokenUsage`` with ``cacheDetails``,
1h listed first) and ``metrics.latencyMs``. Errors carry their name in the
``x-amzn-errortype`` header and a JSON body with ``message``.
"""

from __future__ import annotations

import json
import re
import struct
import zlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote, unquote

from tests.fakes.caching import PrefixCache
from tests.fakes.server import Recorded, Reply

REQUEST_ID = "5f3c8a2e-7b1d-4c9e-9a60-2d4b1e8f0c11"
EVENTSTREAM = "application/vnd.amazon.eventstream"
# Bedrock pads stream events with a random-length "p" field against length side channels.
PADDING = "abcdefghijklmnopqrstuvwxyzABCDEFGH"
_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)"
    r"/(?P<service>[^/]+)/aws4_request, SignedHeaders=(?P<signed>[a-z0-9;-]+), "
    r"Signature=(?P<signature>[0-9a-f]{64})"
)


def model_path(model_id: str, operation: str = "converse") -> str:
    """The request path botocore builds: ``modelId`` percent-encoded as one segment."""
    return f"/model/{quote(model_id, safe='')}/{operation}"


def usage(
    input_tokens: int,
    output_tokens: int,
    *,
    cache_read: int = 0,
    write_5m: int = 0,
    write_1h: int = 0,
) -> dict[str, Any]:
    """A ``TokenUsage``; ``inputTokens`` excludes cache reads and writes, as on Bedrock."""
    details = [{"ttl": ttl, "inputTokens": n} for ttl, n in (("1h", write_1h), ("5m", write_5m))]
    return {
        "inputTokens": input_tokens,
        "outputTokens": output_tokens,
        "totalTokens": input_tokens + cache_read + write_5m + write_1h + output_tokens,
        "cacheReadInputTokens": cache_read,
        "cacheWriteInputTokens": write_5m + write_1h,
        "cacheDetails": [detail for detail in details if detail["inputTokens"]],
    }


def converse_body(
    text: str = "Revenue was 4.2M EUR.",
    *,
    tool_uses: Sequence[Mapping[str, Any]] = (),
    stop_reason: str = "end_turn",
    token_usage: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``ConverseResponse`` body; ``tool_uses`` are ``ToolUseBlock`` dicts."""
    content: list[dict[str, Any]] = [{"text": text}] if text else []
    content += [{"toolUse": dict(block)} for block in tool_uses]
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop_reason,
        "usage": dict(token_usage or usage(12, 7)),
        "metrics": {"latencyMs": 412},
    }


def converse_reply(body: Mapping[str, Any] | None = None, **kwargs: Any) -> Reply:
    """A 200 Converse answer with its request id."""
    headers = {"x-amzn-requestid": REQUEST_ID, **kwargs.pop("headers", {})}
    return Reply.json(200, body or converse_body(), headers=headers, **kwargs)


def error_reply(status: int, code: str, message: str, **kwargs: Any) -> Reply:
    """An error as Bedrock sends it: name in ``x-amzn-errortype``, ``message`` in the body."""
    headers = {
        "x-amzn-requestid": REQUEST_ID,
        "x-amzn-errortype": f"{code}:http://internal.amazon.com/coral/com.amazon.bedrock/",
    }
    return Reply.json(status, {"message": message}, headers=headers, **kwargs)


def _header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    return (
        struct.pack(">B", len(raw_name))
        + raw_name
        + struct.pack(">BH", 7, len(raw_value))
        + raw_value
    )


def frame(headers: Mapping[str, str], payload: Mapping[str, Any]) -> bytes:
    """One event-stream message: prelude, its CRC, string headers, JSON payload, message CRC."""
    raw_headers = b"".join(_header(name, value) for name, value in headers.items())
    body = json.dumps(payload, separators=(",", ":")).encode()
    total = 12 + len(raw_headers) + len(body) + 4
    prelude = struct.pack(">II", total, len(raw_headers))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + raw_headers + body
    return message + struct.pack(">I", zlib.crc32(message))


def event(event_type: str, payload: Mapping[str, Any]) -> bytes:
    """An ``event`` frame of ``event_type``."""
    headers = {
        ":event-type": event_type,
        ":content-type": "application/json",
        ":message-type": "event",
    }
    return frame(headers, payload)


def exception(exception_type: str, message: str) -> bytes:
    """An ``exception`` frame, e.g. ``throttlingException``."""
    headers = {
        ":exception-type": exception_type,
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    return frame(headers, {"message": message})


def text_events(index: int, chunks: Iterable[str]) -> list[bytes]:
    """A text content block streamed as ``chunks``."""
    deltas = [
        event("contentBlockDelta", {"contentBlockIndex": index, "delta": {"text": chunk}, "p": "a"})
        for chunk in chunks
    ]
    return deltas + [event("contentBlockStop", {"contentBlockIndex": index, "p": PADDING[:9]})]


def tool_use_events(
    index: int, tool_use_id: str, name: str, input_chunks: Iterable[str]
) -> list[bytes]:
    """A toolUse block: its start (id, name), then its JSON input in pieces."""
    start = {"toolUse": {"toolUseId": tool_use_id, "name": name}}
    frames = [event("contentBlockStart", {"contentBlockIndex": index, "start": start, "p": "ab"})]
    frames += [
        event("contentBlockDelta", {"contentBlockIndex": index, "delta": {"toolUse": {"input": c}}})
        for c in input_chunks
    ]
    return frames + [event("contentBlockStop", {"contentBlockIndex": index})]


def stream_events(
    blocks: Sequence[bytes],
    *,
    stop_reason: str = "end_turn",
    token_usage: Mapping[str, Any] | None = None,
) -> list[bytes]:
    """A whole ConverseStream: messageStart, ``blocks``, messageStop, metadata."""
    start = event("messageStart", {"p": PADDING[:5], "role": "assistant"})
    stop = event("messageStop", {"p": PADDING, "stopReason": stop_reason})
    metadata = {
        "metrics": {"latencyMs": 388},
        "p": "abc",
        "usage": dict(token_usage or usage(9, 4)),
    }
    return [start, *blocks, stop, event("metadata", metadata)]


def stream_reply(frames: Sequence[bytes], **kwargs: Any) -> Reply:
    """A 200 ConverseStream answer, one frame per HTTP chunk."""
    headers = {"content-type": EVENTSTREAM, "x-amzn-requestid": REQUEST_ID}
    return Reply(status=200, headers=headers, chunks=list(frames), **kwargs)


def assert_sigv4(recorded: Recorded, *, access_key: str, region: str) -> dict[str, str]:
    """The request carries a SigV4 ``authorization`` for service ``bedrock``; its parts."""
    match = _AUTHORIZATION.fullmatch(recorded.headers.get("authorization", ""))
    assert match, f"no SigV4 authorization header: {recorded.headers.get('authorization')!r}"
    parts = match.groupdict()
    assert parts["key"] == access_key
    assert parts["region"] == region
    assert parts["service"] == "bedrock"
    assert recorded.headers["x-amz-date"].startswith(parts["date"])
    assert {"host", "x-amz-date"} <= set(parts["signed"].split(";"))
    return parts


def signature_is_valid(
    recorded: Recorded, base_url: str, *, access_key: str, secret_key: str, region: str
) -> bool:
    """Recompute the signature with botocore's ``SigV4Auth`` over what the server received."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    parts = assert_sigv4(recorded, access_key=access_key, region=region)
    signed = parts["signed"].split(";")
    headers = {name: recorded.headers[name] for name in signed}
    request = AWSRequest(recorded.method, base_url + recorded.path, headers, recorded.body)
    request.context["timestamp"] = recorded.headers["x-amz-date"]
    auth = SigV4Auth(Credentials(access_key, secret_key), "bedrock", region)
    canonical = auth.canonical_request(request)
    return auth.signature(auth.string_to_sign(request, canonical), request) == parts["signature"]


_TTL_ORDER = ("5m", "1h")


def cache_blocks(model_id: str, body: Mapping[str, Any]) -> list[tuple[Any, str | None]]:
    """The request's blocks in Bedrock's prefix order (toolConfig, system, messages), each
    with the TTL of the cachePoint after it; raises ValueError where Bedrock answers 400."""
    elements = [*body.get("toolConfig", {}).get("tools", []), *body.get("system", [])]
    for message in body.get("messages", []):
        for block in message["content"]:
            result = block.get("toolResult") if isinstance(block, Mapping) else None
            if result and any("cachePoint" in inner for inner in result.get("content", [])):
                raise ValueError("a cachePoint is not a valid ToolResultContentBlock member")
            elements.append(block)
    blocks: list[tuple[Any, str | None]] = []
    longest = None
    for element in elements:
        point = element.get("cachePoint")
        if point is None:
            blocks.append((element, None))
            continue
        ttl = point.get("ttl", "5m")
        if ttl not in _TTL_ORDER:
            raise ValueError(f"cachePoint.ttl {ttl!r} is not one of 5m, 1h")
        if ttl == "1h" and "anthropic." not in model_id:
            raise ValueError("Extended TTL prompt caching is only supported for Anthropic models")
        if longest is not None and _TTL_ORDER.index(ttl) > _TTL_ORDER.index(longest):
            raise ValueError(f"a {ttl} cachePoint may not follow a {longest} one")
        longest = ttl if longest is None else min(longest, ttl, key=_TTL_ORDER.index)
        if not blocks:
            raise ValueError("a cachePoint must follow a content block")
        blocks[-1] = (blocks[-1][0], ttl)
    return blocks


class CachingConverse:
    """A ``FakeServer`` responder for Converse that checks cachePoints as Bedrock does and
    answers with the reads and per-TTL writes of a real prefix cache, whose entries are
    readable once the answer of the call that wrote them has begun."""

    def __init__(
        self, min_tokens: int = 1024, *, first_byte: float = 0.0, hold: Any = None
    ) -> None:
        self.cache = PrefixCache(min_tokens, first_byte=first_byte, hold=hold)

    def __call__(self, recorded: Recorded) -> Reply:
        model_id = unquote(recorded.path.split("/")[2])
        try:
            blocks = cache_blocks(model_id, recorded.json())
        except ValueError as exc:
            return error_reply(400, "ValidationException", str(exc))
        read, written, total = self.cache.use(blocks)
        uncached = total - read - written["5m"] - written["1h"]
        token_usage = usage(
            uncached, 5, cache_read=read, write_5m=written["5m"], write_1h=written["1h"]
        )
        return converse_reply(converse_body("ok", token_usage=token_usage))
