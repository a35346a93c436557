"""Canonical sample requests shared by the translation tests, and the fixture loader."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gateway.types import CacheControl, ChatRequest, Message, Part, Tool, ToolCall
from gateway.wire import dumps

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures" / "providers"

PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAC"
    "hwGA60e6kgAAAABJRU5ErkJggg=="
)
JPEG = "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAP//////////////////////////////////////////2Q=="
DOCUMENT = "Q3 revenue was 4.2M EUR, up 12% on Q2. Churn fell to 2.1%."

SEARCH_SCHEMA = {
    "type": "object",
    "required": ["query"],
    "properties": {
        "query": {"type": "string", "description": "What to look for"},
        "limit": {"type": "integer", "minimum": 1, "maximum": 50},
    },
    "additionalProperties": False,
}
WEATHER_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
    "required": ["city"],
}


def load(name: str) -> Any:
    """A recorded payload, e.g. ``load("bedrock/system_checkpoint.json")``; key order kept."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def text(value: str, marker: CacheControl | None = None) -> Part:
    """A text part."""
    return Part("text", text=value, cache_control=marker)


def image(url: str, marker: CacheControl | None = None) -> Part:
    """An image_url part as the renderer hands it over: ``data`` is the authored ``image_url``."""
    return Part("image_url", data={"url": url}, cache_control=marker)


def system_checkpoint(model: str) -> ChatRequest:
    """A system prompt whose second part closes the only checkpoint."""
    system = Message("system", (text("You are a careful analyst."), text(DOCUMENT, CacheControl())))
    user = Message("user", "What was the revenue?")
    return ChatRequest(model, (system, user), params={"max_tokens": 512, "temperature": 0})


def multiple_checkpoints(model: str) -> ChatRequest:
    """Checkpoints on a tool, on a string system message and on a user part."""
    tools = (
        Tool("lookup", "Look a customer up by id", {"type": "object", "properties": {}}),
        Tool("search", "Search the knowledge base", SEARCH_SCHEMA, CacheControl()),
    )
    messages = (
        Message("system", "You answer from the document only.", CacheControl()),
        Message("user", (text(DOCUMENT, CacheControl()), text("Summarise it in 20 words."))),
    )
    params = {"max_tokens": 256, "temperature": 0.2, "top_p": 0.9, "top_k": 40, "stop": "END"}
    params |= {"seed": 7}
    return ChatRequest(model, messages, tools, params, cache_key="sha256:3f1c")


def images(model: str, *, remote: bool = True) -> ChatRequest:
    """A user turn with a marked inline PNG, an inline JPEG and optionally a remote image."""
    parts = [
        text("Compare these charts."),
        image(f"data:image/png;base64,{PNG}", CacheControl()),
        image(f"data:image/jpeg;base64,{JPEG}"),
    ]
    if remote:
        parts.append(image("https://example.com/chart.png"))
    return ChatRequest(model, (Message("user", tuple(parts)),), params={"max_tokens": 300})


def tool_turns(model: str) -> ChatRequest:
    """A tool_use / tool_result round trip with a checkpoint on the tool result."""
    call = ToolCall("call_1", "get_weather", '{"city": "Paris", "unit": "c"}')
    messages = (
        Message("system", "You are a weather bot."),
        Message("user", "Weather in Paris?"),
        Message("assistant", "Let me check.", tool_calls=(call,)),
        Message("tool", '{"temp": 18}', CacheControl(), tool_call_id="call_1"),
        Message("user", "And tomorrow?"),
    )
    tools = (Tool("get_weather", "Current weather for a city", WEATHER_SCHEMA),)
    return ChatRequest(model, messages, tools, {"tool_choice": "auto"})


def parallel_tool_results(model: str) -> ChatRequest:
    """Two tool calls answered by two consecutive tool messages, then a user turn."""
    calls = (
        ToolCall("call_a", "get_weather", '{"city": "Paris"}'),
        ToolCall("call_b", "get_weather", '{"city": "Oslo"}'),
    )
    messages = (
        Message("user", "Paris or Oslo: which is warmer?"),
        Message("assistant", None, CacheControl(), tool_calls=calls),
        Message("tool", "18 C", tool_call_id="call_a"),
        Message("tool", (text("4 C"), text("windy", CacheControl())), tool_call_id="call_b"),
        Message("user", "Answer in one word."),
    )
    tools = (Tool("get_weather", "Current weather for a city", WEATHER_SCHEMA),)
    return ChatRequest(model, messages, tools, {"max_tokens": 64})


def one_hour_ttl(model: str) -> ChatRequest:
    """A 1h checkpoint on the system prompt, then a 5m one on the conversation."""
    system = Message("system", (text(DOCUMENT, CacheControl("1h")),))
    user = Message(
        "user", (text("Context: board meeting.", CacheControl("5m")), text("Any risks?"))
    )
    return ChatRequest(model, (system, user))


def assert_wire(payload: dict[str, Any], name: str) -> None:
    """``payload`` equals the recorded one, and serializes to the same bytes (key order too)."""
    expected = load(name)
    assert payload == expected
    assert dumps(payload) == dumps(expected)
