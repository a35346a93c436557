"""Canonical JSON, newline normalising and prefix fingerprints. Pure: no Django.

The canonical text of a body keeps the authored key order (tool schemas are sent
in the order they were written) and uses one fixed separator and escaping
policy, so the same body always gives the same bytes and the same
``content_hash``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from typing import Any

from gateway.types import ChatRequest, Message, Part, Tool
from gateway.wire import compact_json

SURROGATE_RE = re.compile("[\ud800-\udfff]")


def content_hash(text: str) -> str:
    """``sha256:`` of a canonical body text."""
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def normalize_newlines(value: Any) -> Any:
    """Return ``value`` with every CRLF and lone CR in its strings (keys too) made LF."""
    if isinstance(value, str):
        return value.replace("\r\n", "\n").replace("\r", "\n") if "\r" in value else value
    if isinstance(value, list):
        return [normalize_newlines(item) for item in value]
    if isinstance(value, dict):
        return {normalize_newlines(k): normalize_newlines(v) for k, v in value.items()}
    return value


def sort_keys_deep(value: Any) -> Any:
    """Return ``value`` with every object's keys sorted, recursively.

    Variable values are canonicalized this way before rendering: JSON objects are
    unordered, so two equal values must render the same bytes whatever order the
    caller wrote their keys in.
    """
    if isinstance(value, dict):
        return {key: sort_keys_deep(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [sort_keys_deep(item) for item in value]
    return value


def _marker(target: dict[str, Any], cache_control: Any) -> dict[str, Any]:
    if cache_control is not None:
        target["cache_control"] = cache_control.to_dict()
    return target


def _tool_block(tool: Tool) -> dict[str, Any]:
    spec = {"name": tool.name, "description": tool.description, "parameters": tool.parameters}
    return _marker({"tool": spec}, tool.cache_control)


def _message_header(index: int, message: Message) -> dict[str, Any]:
    header: dict[str, Any] = {"message": index, "role": message.role}
    if message.name is not None:
        header["name"] = message.name
    if message.tool_call_id is not None:
        header["tool_call_id"] = message.tool_call_id
    if message.tool_calls:
        # A call's marker is appended only when there is one: unmarked calls keep the
        # serialization (and so the fingerprints) they always had.
        header["tool_calls"] = [
            [c.id, c.name, c.arguments]
            + ([c.cache_control.to_dict()] if c.cache_control is not None else [])
            for c in message.tool_calls
        ]
    return header


def _part_value(part: Part) -> dict[str, Any]:
    value: dict[str, Any] = {"type": part.type}
    if part.text is not None:
        value["text"] = part.text
    if part.data is not None:
        value["data"] = part.data
    return value


def iter_block_texts(request: ChatRequest) -> Iterator[tuple[str, str]]:
    """Yield ``(path, canonical text)`` of every block in prefix order tools → system → messages."""
    for index, tool in enumerate(request.tools):
        yield f"tools[{index}]", compact_json(_tool_block(tool))
    for index, message in enumerate(request.messages):
        header = _message_header(index, message)
        if not isinstance(message.content, tuple):
            block = _marker({**header, "content": message.content}, message.cache_control)
            yield f"messages[{index}].content", compact_json(block)
            continue
        for part_index, part in enumerate(message.content):
            # The message header rides on its first block, so a checkpoint anywhere in
            # the message covers the role, name and tool calls too.
            block = {**header} if part_index == 0 else {"message": index}
            block["part"] = _part_value(part)
            yield (
                f"messages[{index}].content[{part_index}]",
                compact_json(_marker(block, part.cache_control)),
            )


def block_text(request: ChatRequest, path: str) -> str | None:
    """The readable text of the block at ``path``: its text, or a tool's JSON; None if absent."""
    for index, tool in enumerate(request.tools):
        if path == f"tools[{index}]":
            return compact_json(_tool_block(tool))
    for index, message in enumerate(request.messages):
        if path == f"messages[{index}].content" and not isinstance(message.content, tuple):
            return message.content or ""
        if isinstance(message.content, tuple):
            for part_index, part in enumerate(message.content):
                if path == f"messages[{index}].content[{part_index}]":
                    return part.text if part.text is not None else compact_json(_part_value(part))
    return None


def fingerprints(request: ChatRequest, checkpoint_paths: list[str]) -> dict[str, str]:
    """Map each checkpoint path to ``sha256:`` of the canonical prefix it closes.

    The hash covers the model and every block up to and including the checkpoint,
    one canonical JSON text per line. Equal prefixes give equal fingerprints.
    """
    wanted = set(checkpoint_paths)
    hasher = hashlib.sha256(compact_json({"model": request.model}).encode("utf-8") + b"\n")
    result: dict[str, str] = {}
    for path, text in iter_block_texts(request):
        if len(result) == len(wanted):
            break
        hasher.update(text.encode("utf-8") + b"\n")
        if path in wanted:
            result[path] = "sha256:" + hasher.copy().hexdigest()
    return result


def string_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored or sent, or None.

    NUL cannot be stored in PostgreSQL text, and a lone surrogate (valid as a JSON
    escape, ``"\\ud800"``) is not Unicode and cannot be encoded as UTF-8.
    """
    if "\x00" in text:
        return "contains a NUL character (\\u0000)"
    if not text.isascii() and SURROGATE_RE.search(text):
        return "contains an unpaired surrogate (\\ud800-\\udfff), which is not valid Unicode"
    return None


def text_problem(value: Any, path: str = "") -> tuple[str, str] | None:
    """The first ``(path, problem)`` of a string anywhere in ``value`` (keys included)."""
    if isinstance(value, str):
        problem = string_problem(value)
        return (path, problem) if problem else None
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            found = text_problem(key, here) or text_problem(item, here)
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = text_problem(item, f"{path}[{index}]")
            if found:
                return found
    return None
