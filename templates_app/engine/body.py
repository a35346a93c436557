"""The template body format (README, "Templates"): validation and structure. Pure.

``parse_body`` checks a body as authored and returns a ``Body`` that knows its
Jinja text fields, its blocks in provider prefix order and its checkpoints.
Every problem is reported with its path (``messages[1].content[0].text``), all
at once. ``to_request`` turns a body whose text fields have been rendered into
the canonical ``ChatRequest``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import Any

from gateway.types import TTLS, CacheControl, ChatRequest, Message, Part, Tool, ToolCall

from .canonical import normalize_newlines, string_problem
from .errors import BodyError
from .validation import Checker, json_type
from .variables import VariableSpec, parse_variables

BODY_KEYS = ("model", "params", "variables", "tools", "messages", "caching")
CACHING_KEYS = ("coalesce",)  # booleans; each defaults to true
ROLES = ("system", "user", "assistant", "tool")
PART_TYPES = ("text", "image_url", "file")
FILE_KEYS = ("file_data", "url", "file_id", "filename")  # file_data: a base64 data: URL
TOOL_CHOICES = ("auto", "none", "required")
TOOL_CALL_KEYS = ("id", "type", "function", "cache_control")
MODEL_RE = re.compile(r"^[a-z][a-z0-9_-]*/[^\s/][^\s]*$")
TOOL_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True, slots=True)
class TextField:
    """A string in the body that is a Jinja template, and the block it belongs to."""

    path: str
    block: str
    source: str


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A ``cache_control`` marker, numbered from 1 in prefix order."""

    ordinal: int
    path: str
    section: str
    ttl: str | None
    block_index: int


@dataclass(frozen=True, slots=True)
class Body:
    """A validated body: the authored data (newlines normalised) and its structure."""

    data: dict[str, Any]
    variables: dict[str, VariableSpec]
    fields: tuple[TextField, ...]
    blocks: tuple[tuple[str, str], ...]  # (path, section) in prefix order
    checkpoints: tuple[Checkpoint, ...]

    @property
    def model(self) -> str:
        return self.data["model"]

    @property
    def coalesce(self) -> bool:
        """Whether concurrent sends of a cold prefix wait for the first (``caching.coalesce``)."""
        return bool(self.data.get("caching", {}).get("coalesce", True))

    @property
    def prefix_end(self) -> int:
        """Index of the last block covered by a checkpoint, or -1 when there is none."""
        return self.checkpoints[-1].block_index if self.checkpoints else -1

    def block_index(self, block_path: str) -> int:
        return next(i for i, (path, _) in enumerate(self.blocks) if path == block_path)


def _find_bad_text(value: Any, path: str, check: Checker) -> None:
    if isinstance(value, str):
        problem = string_problem(value)
        if problem:
            check.fail(path or "body", problem)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _find_bad_text(item, f"{path}[{index}]", check)
    elif isinstance(value, dict):
        for key, item in value.items():
            _find_bad_text(key, path, check)
            _find_bad_text(item, f"{path}.{key}" if path else str(key), check)


def parse_body(raw: Any) -> Body:
    """Validate an authored body and return its structure; ``BodyError`` lists every problem."""
    check = Checker()
    if not isinstance(raw, dict):
        raise BodyError([{"path": "body", "message": f"must be an object, got {json_type(raw)}"}])
    data = normalize_newlines(raw)
    _find_bad_text(data, "", check)
    for key in data:
        if key not in BODY_KEYS:
            check.fail(str(key), f"unknown key (allowed: {', '.join(BODY_KEYS)})")
    model = data.get("model")
    if check.expect(model, str, "model", "a string 'provider/model-id'") and not MODEL_RE.match(
        model
    ):
        check.fail("model", f"'{data['model']}' is not of the form 'provider/model-id'")
    _check_params(data.get("params", {}), check)
    _check_caching(data.get("caching", {}), check)
    variables = parse_variables(data.get("variables", {}), check)
    fields: list[TextField] = []
    blocks: list[tuple[str, str]] = []
    markers: list[tuple[str, str, Any]] = []
    _parse_tools(data.get("tools", []), check, fields, blocks, markers)
    _parse_messages(data.get("messages"), check, fields, blocks, markers)
    if check.issues:
        raise BodyError(check.issues)
    paths = [path for path, _ in blocks]
    checkpoints = tuple(
        Checkpoint(n, path, section, marker.ttl, paths.index(block[0] if block else path))
        for n, (path, section, marker, *block) in enumerate(markers, start=1)
    )
    return Body(data, variables, tuple(fields), tuple(blocks), checkpoints)


def check_params(params: Any) -> None:
    """Validate request params as a body's ``params`` are; raises ``BodyError``."""
    check = Checker()
    _check_params(params, check)
    if check.issues:
        raise BodyError(check.issues)


def _check_caching(caching: Any, check: Checker) -> None:
    if not check.expect(caching, dict, "caching", "an object"):
        return
    for key, value in caching.items():
        if key not in CACHING_KEYS:
            check.fail(f"caching.{key}", f"unknown key (allowed: {', '.join(CACHING_KEYS)})")
        else:
            check.expect(value, bool, f"caching.{key}", "true or false")


def _check_params(params: Any, check: Checker) -> None:
    if not check.expect(params, dict, "params", "an object"):
        return
    numbers = {"temperature": (0, 2), "top_p": (0, 1)}
    for key, value in params.items():
        path = f"params.{key}"
        if key in ("max_tokens", "top_k", "seed"):
            if check.expect(value, int, path, "an integer") and value < (0 if key == "seed" else 1):
                check.fail(path, "must be at least 1" if key != "seed" else "must be ≥ 0")
        elif key in numbers:
            low, high = numbers[key]
            if check.expect(value, (int, float), path, "a number") and not low <= value <= high:
                check.fail(path, f"must be between {low} and {high}")
        elif key == "stop":
            _check_stop(value, path, check)
        elif key == "tool_choice":
            _check_tool_choice(value, path, check)
        else:
            allowed = "max_tokens, temperature, top_p, top_k, stop, seed, tool_choice"
            check.fail(path, f"unknown parameter (allowed: {allowed})")


def _check_stop(value: Any, path: str, check: Checker) -> None:
    if isinstance(value, str):
        return
    if not check.expect(value, list, path, "a string or a list of strings"):
        return
    for index, item in enumerate(value):
        check.expect(item, str, f"{path}[{index}]", "a string")


def _check_tool_choice(value: Any, path: str, check: Checker) -> None:
    if value in TOOL_CHOICES:
        return
    function = value.get("function") if isinstance(value, dict) else None
    name = function.get("name") if isinstance(function, dict) else None
    if not (isinstance(value, dict) and value.get("type") == "function" and isinstance(name, str)):
        check.fail(
            path,
            'must be "auto", "none", "required" or {"type": "function", "function": {"name": …}}',
        )


def _parse_marker(raw: Any, path: str, check: Checker) -> CacheControl | None:
    if not check.expect(raw, dict, path, 'an object {"type": "ephemeral"}'):
        return None
    for key in raw:
        if key not in ("type", "ttl"):
            check.fail(f"{path}.{key}", "unknown key (allowed: type, ttl)")
    if raw.get("type") != "ephemeral":
        check.fail(f"{path}.type", 'must be "ephemeral"')
    ttl = raw.get("ttl")
    if ttl is not None and ttl not in TTLS:
        check.fail(f"{path}.ttl", f"must be {' or '.join(json.dumps(t) for t in TTLS)}")
        return None
    return CacheControl(ttl)


def _parse_tools(raw: Any, check: Checker, fields: list, blocks: list, markers: list) -> None:
    if not check.expect(raw, list, "tools", "a list"):
        return
    names: set[str] = set()
    for index, tool in enumerate(raw):
        path = f"tools[{index}]"
        if not check.expect(tool, dict, path, "an object"):
            continue
        for key in tool:
            if key not in ("type", "function", "cache_control"):
                check.fail(f"{path}.{key}", "unknown key (allowed: type, function, cache_control)")
        if tool.get("type") != "function":
            check.fail(f"{path}.type", 'must be "function"')
        function = tool.get("function")
        if not check.expect(function, dict, f"{path}.function", "an object"):
            continue
        _check_function(function, f"{path}.function", names, check)
        blocks.append((path, "tools"))
        if isinstance(function.get("description"), str):
            fields.append(TextField(f"{path}.function.description", path, function["description"]))
        markers_here = [m for m in (tool.get("cache_control"), function.get("cache_control")) if m]
        if len(markers_here) > 1:
            check.fail(path, "cache_control is given twice (on the tool and on its function)")
        elif "cache_control" in tool or "cache_control" in function:
            where = "cache_control" if "cache_control" in tool else "function.cache_control"
            marker = _parse_marker(
                tool.get("cache_control", function.get("cache_control")), f"{path}.{where}", check
            )
            if marker is not None:
                markers.append((path, "tools", marker))


def _check_function(function: dict[str, Any], path: str, names: set[str], check: Checker) -> None:
    for key in function:
        if key not in ("name", "description", "parameters", "strict", "cache_control"):
            check.fail(
                f"{path}.{key}",
                "unknown key (allowed: name, description, parameters, strict, cache_control)",
            )
    name = function.get("name")
    if check.expect(name, str, f"{path}.name", "a string"):
        if not TOOL_NAME_RE.match(name):
            check.fail(f"{path}.name", "must be 1-64 letters, digits, _ or -")
        elif name in names:
            check.fail(f"{path}.name", f"tool '{name}' is defined twice")
        names.add(name)
    if "description" in function:
        check.expect(function["description"], str, f"{path}.description", "a string")
    if "parameters" in function:
        check.expect(function["parameters"], dict, f"{path}.parameters", "a JSON schema object")


def _parse_messages(raw: Any, check: Checker, fields: list, blocks: list, markers: list) -> None:
    if not check.expect(raw, list, "messages", "a list of messages"):
        return
    if not raw:
        check.fail("messages", "must hold at least one message")
    _parse_message_list(raw, "messages", check, fields, blocks, markers)


def _parse_message_list(
    raw: list[Any],
    path: str,
    check: Checker,
    fields: list,
    blocks: list,
    markers: list,
    *,
    seen_other: bool = False,
) -> None:
    """Each message of ``raw``; ``seen_other``: a non-system message came before them."""
    for index, message in enumerate(raw):
        where = f"{path}[{index}]"
        if not check.expect(message, dict, where, "an object"):
            continue
        role = message.get("role")
        if role not in ROLES:
            check.fail(f"{where}.role", f"must be one of {', '.join(ROLES)}")
            continue
        if role == "system" and seen_other:
            check.fail(f"{where}.role", "system messages must come before every other message")
        seen_other = seen_other or role != "system"
        _parse_message(message, where, check, fields, blocks, markers)


def _parse_message(
    message: dict, path: str, check: Checker, fields: list, blocks: list, markers: list
) -> None:
    role = message["role"]
    section = "system" if role == "system" else "messages"
    allowed = {"role", "content", "cache_control", "name"}
    allowed |= {"tool_calls"} if role == "assistant" else set()
    allowed |= {"tool_call_id"} if role == "tool" else set()
    for key in message:
        if key not in allowed:
            check.fail(
                f"{path}.{key}",
                f"unknown key for a {role} message (allowed: {', '.join(sorted(allowed))})",
            )
    if "name" in message:
        check.expect(message["name"], str, f"{path}.name", "a string")
    if role == "tool":
        check.expect(message.get("tool_call_id"), str, f"{path}.tool_call_id", "a string")
    call_markers: list = []
    if role == "assistant" and "tool_calls" in message:
        call_markers = _check_tool_calls(message["tool_calls"], f"{path}.tool_calls", check)
    content = message.get("content")
    if isinstance(content, list):
        if not content:
            check.fail(f"{path}.content", "must not be an empty list")
        for part_index, part in enumerate(content):
            _parse_part(
                part, f"{path}.content[{part_index}]", section, check, fields, blocks, markers
            )
        if "cache_control" in message and content:
            _last_part_marker(message, path, section, check, markers)
        _add_call_markers(call_markers, section, blocks, markers)
        return
    if content is None and not (role == "assistant" and message.get("tool_calls")):
        check.fail(f"{path}.content", "is required (a string or a list of parts)")
        return
    if content is not None and not check.expect(
        content, str, f"{path}.content", "a string or a list of parts"
    ):
        return
    blocks.append((f"{path}.content", section))
    if isinstance(content, str):
        fields.append(TextField(f"{path}.content", f"{path}.content", content))
    if "cache_control" in message:
        marker = _parse_marker(message["cache_control"], f"{path}.cache_control", check)
        if marker is not None:
            markers.append((f"{path}.content", section, marker))
    _add_call_markers(call_markers, section, blocks, markers)


def _add_call_markers(call_markers: list, section: str, blocks: list, markers: list) -> None:
    """Tool-call checkpoints: each closes after its call, which rides on the message's last
    block (the message's own blocks were appended just before)."""
    for path, marker in call_markers:
        markers.append((path, section, marker, blocks[-1][0]))


def _last_part_marker(
    message: dict, path: str, section: str, check: Checker, markers: list
) -> None:
    """A message-level marker on a list of parts closes its last part (as peers read it)."""
    last = f"{path}.content[{len(message['content']) - 1}]"
    if isinstance(message["content"][-1], dict) and "cache_control" in message["content"][-1]:
        check.fail(
            f"{path}.cache_control",
            f"cache_control is given twice (on the message and on its last part, {last})",
        )
        return
    marker = _parse_marker(message["cache_control"], f"{path}.cache_control", check)
    if marker is not None:
        markers.append((last, section, marker))


def _check_tool_calls(raw: Any, path: str, check: Checker) -> list[tuple[str, CacheControl]]:
    """Check the calls; returns the ``(path, marker)`` of each call carrying a checkpoint."""
    markers: list[tuple[str, CacheControl]] = []
    if not check.expect(raw, list, path, "a list"):
        return markers
    for index, call in enumerate(raw):
        here = f"{path}[{index}]"
        if not check.expect(call, dict, here, "an object"):
            continue
        for key in call:
            if key not in TOOL_CALL_KEYS:
                allowed = ", ".join(TOOL_CALL_KEYS)
                check.fail(f"{here}.{key}", f"unknown key for a tool call (allowed: {allowed})")
        if "cache_control" in call:
            marker = _parse_marker(call["cache_control"], f"{here}.cache_control", check)
            if marker is not None:
                markers.append((here, marker))
        check.expect(call.get("id"), str, f"{here}.id", "a string")
        function = call.get("function")
        if call.get("type", "function") != "function":
            check.fail(f"{here}.type", 'must be "function"')
        if not check.expect(function, dict, f"{here}.function", "an object"):
            continue
        check.expect(function.get("name"), str, f"{here}.function.name", "a string")
        arguments = function.get("arguments")
        if check.expect(arguments, str, f"{here}.function.arguments", "a JSON string"):
            try:
                parsed = json.loads(arguments)
            except ValueError as exc:
                check.fail(f"{here}.function.arguments", f"is not valid JSON: {exc}")
            else:
                if not isinstance(parsed, dict):
                    check.fail(f"{here}.function.arguments", "must be a JSON object")
    return markers


def _parse_part(
    part: Any, path: str, section: str, check: Checker, fields: list, blocks: list, markers: list
) -> None:
    if not check.expect(part, dict, path, "an object"):
        return
    kind = part.get("type")
    if kind not in PART_TYPES:
        check.fail(
            f"{path}.type",
            f"unsupported part type {json.dumps(kind)} (supported: {', '.join(PART_TYPES)})",
        )
        return
    if section == "system" and kind != "text":
        check.fail(f"{path}.type", "system messages hold text parts only")
    for key in part:
        if key not in ("type", kind, "cache_control"):
            check.fail(f"{path}.{key}", f"unknown key for a {kind} part")
    blocks.append((path, section))
    if kind == "text" and check.expect(part.get("text"), str, f"{path}.text", "a string"):
        fields.append(TextField(f"{path}.text", path, part["text"]))
    if kind == "image_url":
        image = part.get("image_url")
        if check.expect(image, dict, f"{path}.image_url", 'an object {"url": …}') and check.expect(
            image.get("url"), str, f"{path}.image_url.url", "a string"
        ):
            fields.append(TextField(f"{path}.image_url.url", path, image["url"]))
    if kind == "file":
        _parse_file(part.get("file"), f"{path}.file", path, check, fields)
    if "cache_control" in part:
        marker = _parse_marker(part["cache_control"], f"{path}.cache_control", check)
        if marker is not None:
            markers.append((path, section, marker))


def _parse_file(file: Any, path: str, block: str, check: Checker, fields: list) -> None:
    """An OpenAI-style file part (a PDF, say): exactly one of file_data, url or file_id."""
    if not check.expect(file, dict, path, 'an object {"file_data": "data:…"} (or url, file_id)'):
        return
    for key in file:
        if key not in FILE_KEYS:
            check.fail(f"{path}.{key}", f"unknown key for a file (allowed: {', '.join(FILE_KEYS)})")
    sources = [key for key in ("file_data", "url", "file_id") if key in file]
    if len(sources) != 1:
        check.fail(path, "give exactly one of file_data (a base64 data: URL), url or file_id")
    for key in (*sources, "filename"):
        is_text = key in file and check.expect(file[key], str, f"{path}.{key}", "a string")
        if is_text and key in ("file_data", "url"):  # templated, like an image URL
            fields.append(TextField(f"{path}.{key}", block, file[key]))


def _marker_of(raw: dict[str, Any]) -> CacheControl | None:
    marker = raw.get("cache_control")
    return CacheControl(marker.get("ttl")) if marker else None


def _to_tool(tool: dict[str, Any]) -> Tool:
    function = tool["function"]
    return Tool(
        name=function["name"],
        description=function.get("description", ""),
        parameters=function.get("parameters", {"type": "object", "properties": {}}),
        cache_control=_marker_of(tool) or _marker_of(function),
    )


def _to_part(part: dict[str, Any]) -> Part:
    if part["type"] == "text":
        return Part("text", text=part["text"], cache_control=_marker_of(part))
    return Part(part["type"], data=part[part["type"]], cache_control=_marker_of(part))


def _to_message(message: dict[str, Any]) -> Message:
    content = message.get("content")
    calls = tuple(
        ToolCall(
            call["id"], call["function"]["name"], call["function"]["arguments"], _marker_of(call)
        )
        for call in message.get("tool_calls", ())
    )
    marker = _marker_of(message)
    if isinstance(content, list):
        parts = [_to_part(p) for p in content]
        if marker is not None:  # a message-level marker closes the last part
            parts[-1] = replace(parts[-1], cache_control=marker)
        content, marker = tuple(parts), None
    return Message(
        role=message["role"],
        content=content,
        cache_control=marker,
        tool_calls=calls,
        tool_call_id=message.get("tool_call_id"),
        name=message.get("name"),
    )


def parse_conversation(raw: Any, *, path: str = "messages") -> tuple[Message, ...]:
    """Messages a caller appends after a template's, as canonical ``Message``s. Their text is
    used as sent: never rendered, and its line endings kept. Raises ``BodyError`` naming
    every problem (paths start at ``path``)."""
    check = Checker()
    if check.expect(raw, list, path, "a list of messages"):
        _find_bad_text(raw, path, check)
        _parse_message_list(raw, path, check, [], [], [])
    if check.issues:
        raise BodyError(check.issues)
    return tuple(_to_message(message) for message in raw)


def to_request(data: dict[str, Any], *, model: str, cache_key: str | None = None) -> ChatRequest:
    """Build the canonical request from a validated body whose text fields are rendered."""
    return ChatRequest(
        model=model,
        messages=tuple(_to_message(m) for m in data["messages"]),
        tools=tuple(_to_tool(t) for t in data.get("tools", ())),
        params=dict(data.get("params", {})),
        cache_key=cache_key,
    )
