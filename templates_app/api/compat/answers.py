"""Cachet's answers in each provider's own shape: bodies, event streams and errors.

Whatever provider served the call, the answer is the shape the caller's SDK parses, with
usage in that SDK's convention (``gateway.conventions``) and one ``cachet`` object added:
the invocation id, checkpoints and fingerprints, cost and miss explanation.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from typing import Any

from gateway.conventions import (
    anthropic_stop_reason,
    anthropic_usage,
    chat_completions_usage,
    openai_finish_reason,
    responses_usage,
)
from gateway.errors import GatewayError
from gateway.types import Result, ToolCall
from gateway.wire import compact_json

from ...models import Invocation
from ...sending.flow import send_payload, sse
from ...services import Rendered


def cachet_object(invocation: Invocation, rendered: Rendered, result: Result) -> dict[str, Any]:
    """What Cachet adds to a provider-shaped answer: everything its own send answers
    except the output, which the provider shape already holds."""
    payload = send_payload(invocation, rendered, result)
    payload.pop("output")
    return payload


def _model(rendered: Rendered, result: Result | None = None) -> str:
    return (result.model if result is not None else None) or rendered.result.request.model_id


def _arguments(call: ToolCall) -> Any:
    """A tool call's arguments as the object Anthropic's ``tool_use.input`` is."""
    try:
        value = json.loads(call.arguments or "{}")
    except ValueError:
        return {"arguments": call.arguments}
    return value if isinstance(value, dict) else {"arguments": value}


def _data(payload: dict[str, Any]) -> bytes:
    return f"data: {compact_json(payload)}\n\n".encode()


# ---------------------------------------------------------------- OpenAI Chat Completions


def _chat_call(call: ToolCall, index: int | None = None) -> dict[str, Any]:
    wire: dict[str, Any] = {} if index is None else {"index": index}
    function = {"name": call.name, "arguments": call.arguments}
    return {**wire, "id": call.id, "type": "function", "function": function}


def chat_completion(invocation: Invocation, rendered: Rendered, result: Result) -> dict[str, Any]:
    """A ``chat.completion`` object."""
    message: dict[str, Any] = {
        "role": "assistant",
        "content": result.text if result.text or not result.tool_calls else None,
        "refusal": None,
    }
    if result.tool_calls:
        message["tool_calls"] = [_chat_call(call) for call in result.tool_calls]
    reason = openai_finish_reason(result.stop_reason, called=bool(result.tool_calls))
    return {
        "id": f"chatcmpl-cachet-{invocation.pk}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": _model(rendered, result),
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": reason}],
        "usage": chat_completions_usage(result.usage),
        "cachet": cachet_object(invocation, rendered, result),
    }


class ChatEvents:
    """``chat.completion.chunk`` events (``data:`` only), then ``data: [DONE]``."""

    def __init__(self, include_usage: bool) -> None:
        self.include_usage = include_usage
        self.created = int(time.time())
        self.head: dict[str, Any] = {}

    def _chunk(self, delta: dict[str, Any] | None, finish: str | None = None) -> dict[str, Any]:
        choices = [] if delta is None else [
            {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        ]  # fmt: skip
        return {**self.head, "choices": choices}

    def start(self, rendered: Rendered) -> bytes:
        self.head = {
            "id": f"chatcmpl-cachet-{uuid.uuid4().hex[:24]}",  # one id for the whole stream
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": _model(rendered),
        }
        return _data(self._chunk({"role": "assistant", "content": ""}))

    def delta(self, text: str) -> bytes:
        return _data(self._chunk({"content": text}))

    def done(self, invocation: Invocation, rendered: Rendered, result: Result) -> bytes:
        chunks = []
        if result.tool_calls:
            calls = [_chat_call(call, i) for i, call in enumerate(result.tool_calls)]
            chunks.append(self._chunk({"tool_calls": calls}))
        reason = openai_finish_reason(result.stop_reason, called=bool(result.tool_calls))
        chunks.append(self._chunk({}, reason))
        if self.include_usage:
            chunks.append({**self._chunk(None), "usage": chat_completions_usage(result.usage)})
        chunks[-1]["cachet"] = cachet_object(invocation, rendered, result)
        return b"".join(_data(chunk) for chunk in chunks) + b"data: [DONE]\n\n"

    def error(self, error: GatewayError, details: dict[str, Any]) -> bytes:
        return _data(openai_error_body(error.status_code, str(error), details=details))


# ---------------------------------------------------------------- OpenAI Responses


def _output(invocation_id: Any, result: Result) -> list[dict[str, Any]]:
    part = {"type": "output_text", "text": result.text, "annotations": []}
    items: list[dict[str, Any]] = []
    if result.text or not result.tool_calls:
        items.append(
            {"type": "message", "id": f"msg_cachet_{invocation_id}", "status": "completed",
             "role": "assistant", "content": [part]}
        )  # fmt: skip
    items += [
        {"type": "function_call", "id": f"fc_cachet_{invocation_id}_{index}", "call_id": call.id,
         "name": call.name, "arguments": call.arguments, "status": "completed"}
        for index, call in enumerate(result.tool_calls)
    ]  # fmt: skip
    return items


def _response_head(response_id: str, model: str, created: int) -> dict[str, Any]:
    return {
        "id": response_id,
        "object": "response",
        "created_at": created,
        "model": model,
        "error": None,
        "instructions": None,
        "metadata": {},
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
    }


def response_object(
    invocation: Invocation, rendered: Rendered, result: Result, created: int | None = None
) -> dict[str, Any]:
    """A ``response`` object (``status`` completed, or incomplete at the token limit)."""
    reason = openai_finish_reason(result.stop_reason, called=bool(result.tool_calls))
    incomplete = {"length": "max_output_tokens", "content_filter": "content_filter"}.get(reason)
    head = _response_head(
        f"resp_cachet_{invocation.pk}", _model(rendered, result), created or int(time.time())
    )
    return {
        **head,
        "status": "incomplete" if incomplete else "completed",
        "incomplete_details": {"reason": incomplete} if incomplete else None,
        "output": _output(invocation.pk, result),
        "usage": responses_usage(result.usage),
        "cachet": cachet_object(invocation, rendered, result),
    }


class ResponsesEvents:
    """Responses API events (``event:`` and ``data:``), ending with ``response.completed``."""

    def __init__(self) -> None:
        self.created = int(time.time())
        self.numbers = itertools.count()
        token = uuid.uuid4().hex[:24]  # one id each for the whole stream
        self.response_id, self.item_id = f"resp_cachet_{token}", f"msg_cachet_{token}"
        self.text: list[str] = []

    def _event(self, kind: str, **fields: Any) -> bytes:
        payload = {"type": kind, "sequence_number": next(self.numbers), **fields}
        return f"event: {kind}\ndata: {compact_json(payload)}\n\n".encode()

    def start(self, rendered: Rendered) -> bytes:
        head = _response_head(self.response_id, _model(rendered), self.created)
        started = {**head, "status": "in_progress", "output": [], "usage": None}
        item = {"type": "message", "id": self.item_id, "status": "in_progress",
                "role": "assistant", "content": []}  # fmt: skip
        part = {"type": "output_text", "text": "", "annotations": []}
        where = {"item_id": self.item_id, "output_index": 0, "content_index": 0}
        return b"".join(
            [
                self._event("response.created", response=started),
                self._event("response.in_progress", response=started),
                self._event("response.output_item.added", output_index=0, item=item),
                self._event("response.content_part.added", **where, part=part),
            ]
        )

    def delta(self, text: str) -> bytes:
        self.text.append(text)
        where = {"item_id": self.item_id, "output_index": 0, "content_index": 0}
        return self._event("response.output_text.delta", **where, delta=text, logprobs=[])

    def done(self, invocation: Invocation, rendered: Rendered, result: Result) -> bytes:
        response = response_object(invocation, rendered, result, self.created)
        where = {"item_id": self.item_id, "output_index": 0, "content_index": 0}
        part = {"type": "output_text", "text": "".join(self.text), "annotations": []}
        item = {"type": "message", "id": self.item_id, "status": "completed",
                "role": "assistant", "content": [part]}  # fmt: skip
        events = [
            self._event("response.output_text.done", **where, text=part["text"], logprobs=[]),
            self._event("response.content_part.done", **where, part=part),
            self._event("response.output_item.done", output_index=0, item=item),
        ]
        calls = [i for i in response["output"] if i["type"] == "function_call"]
        for index, call in enumerate(calls, start=1):
            events += [
                self._event("response.output_item.added", output_index=index, item=call),
                self._event(
                    "response.function_call_arguments.done",
                    item_id=call["id"],
                    output_index=index,
                    name=call["name"],
                    arguments=call["arguments"],
                ),  # fmt: skip
                self._event("response.output_item.done", output_index=index, item=call),
            ]
        # The completed response holds the items as streamed: the message first, at index 0.
        response["id"], response["output"] = self.response_id, [item, *calls]
        kind = "response.completed" if response["status"] == "completed" else "response.incomplete"
        return b"".join([*events, self._event(kind, response=response)])

    def error(self, error: GatewayError, details: dict[str, Any]) -> bytes:
        body = openai_error_body(error.status_code, str(error), details=details)["error"]
        return self._event("error", code=body["code"], message=body["message"], param=None)


# ---------------------------------------------------------------- Anthropic Messages


def message_object(invocation: Invocation, rendered: Rendered, result: Result) -> dict[str, Any]:
    """An Anthropic ``message`` object."""
    content: list[dict[str, Any]] = []
    if result.text or not result.tool_calls:
        content.append({"type": "text", "text": result.text})
    content += [
        {"type": "tool_use", "id": call.id, "name": call.name, "input": _arguments(call)}
        for call in result.tool_calls
    ]
    return {
        "id": f"msg_cachet_{invocation.pk}",
        "type": "message",
        "role": "assistant",
        "model": _model(rendered, result),
        "content": content,
        "stop_reason": anthropic_stop_reason(result.stop_reason, called=bool(result.tool_calls)),
        "stop_sequence": None,
        "usage": anthropic_usage(result.usage),
        "cachet": cachet_object(invocation, rendered, result),
    }


class MessagesEvents:
    """Anthropic's events: ``message_start``, content blocks, ``message_delta``, ``message_stop``.

    Usage is known only once the provider has answered, so ``message_start`` carries zeros
    and ``message_delta`` the whole usage (the SDKs take every count from it). The text
    block opens with the first text, so an answer of tool calls alone has no empty text
    block (which Anthropic refuses when it is sent back as history)."""

    def __init__(self) -> None:
        self.blocks = 0  # content blocks opened so far

    def _event(self, kind: str, **fields: Any) -> bytes:
        return sse(kind, {"type": kind, **fields})

    def start(self, rendered: Rendered) -> bytes:
        message = {
            "id": f"msg_cachet_{uuid.uuid4().hex[:24]}",
            "type": "message",
            "role": "assistant",
            "model": _model(rendered),
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        }
        return self._event("message_start", message=message)

    def _open_text(self) -> bytes:
        self.blocks = 1
        block = {"type": "text", "text": ""}
        return self._event("content_block_start", index=0, content_block=block)

    def delta(self, text: str) -> bytes:
        opening = b"" if self.blocks else self._open_text()
        delta = {"type": "text_delta", "text": text}
        return opening + self._event("content_block_delta", index=0, delta=delta)

    def done(self, invocation: Invocation, rendered: Rendered, result: Result) -> bytes:
        events = [] if self.blocks or result.tool_calls else [self._open_text()]
        if self.blocks:
            events.append(self._event("content_block_stop", index=0))
        for index, call in enumerate(result.tool_calls, start=self.blocks):
            block = {"type": "tool_use", "id": call.id, "name": call.name, "input": {}}
            partial = {"type": "input_json_delta", "partial_json": compact_json(_arguments(call))}
            events += [
                self._event("content_block_start", index=index, content_block=block),
                self._event("content_block_delta", index=index, delta=partial),
                self._event("content_block_stop", index=index),
            ]
        reason = anthropic_stop_reason(result.stop_reason, called=bool(result.tool_calls))
        events.append(
            self._event(
                "message_delta",
                delta={"stop_reason": reason, "stop_sequence": None},
                usage=anthropic_usage(result.usage),
                cachet=cachet_object(invocation, rendered, result),
            )
        )
        events.append(self._event("message_stop"))
        return b"".join(events)

    def error(self, error: GatewayError, details: dict[str, Any]) -> bytes:
        return sse("error", anthropic_error_body(error.status_code, str(error), details=details))


# ---------------------------------------------------------------- errors

OPENAI_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
}
ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}


def openai_error_body(
    status: int, message: str, *, code: str | None = None, param: str | None = None,
    details: Any = None,
) -> dict[str, Any]:  # fmt: skip
    """OpenAI's ``{"error": {"message", "type", "param", "code"}}``, with Cachet's details."""
    kind = OPENAI_ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    error = {"message": message, "type": kind, "param": param, "code": code, "cachet": details}
    return {"error": error}


def anthropic_error_body(status: int, message: str, *, details: Any = None) -> dict[str, Any]:
    """Anthropic's ``{"type": "error", "error": {"type", "message"}}``, with Cachet's details."""
    kind = ANTHROPIC_ERROR_TYPES.get(
        status, "api_error" if status >= 500 else "invalid_request_error"
    )
    return {"type": "error", "error": {"type": kind, "message": message, "cachet": details}}
