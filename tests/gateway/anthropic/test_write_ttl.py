"""Usage without the per-TTL breakdown: writes count at the request's one TTL."""

from __future__ import annotations

import asyncio

import pytest

from gateway.anthropic.client import AnthropicClient
from gateway.anthropic.translate import from_anthropic, write_ttl
from gateway.types import CacheControl, ChatRequest, Message, Part, ToolCall
from tests.fakes import anthropic as fake
from tests.fakes.server import FakeServer

LEGACY = fake.load("response_legacy_usage.json")  # 1,876 written, no cache_creation object


def request(*ttls: str | None) -> ChatRequest:
    parts = tuple(
        Part("text", text=f"block {i}", cache_control=CacheControl(t)) for i, t in enumerate(ttls)
    )
    return ChatRequest("anthropic/claude-sonnet-4-5", (Message("user", parts),))


@pytest.mark.parametrize(
    ("ttls", "expected"),
    [(("1h",), "1h"), (("1h", "1h"), "1h"), ((None,), "5m"), (("1h", "5m"), "5m"), ((), "5m")],
)
def test_the_one_ttl_of_a_requests_markers(ttls, expected):
    assert write_ttl(request(*ttls)) == expected


def test_a_tool_call_marker_counts_too():
    calls = (ToolCall("c1", "f", "{}", CacheControl("1h")),)
    mixed = ChatRequest(
        "anthropic/claude-sonnet-4-5",
        (
            Message("user", (Part("text", text="x", cache_control=CacheControl()),)),
            Message("assistant", None, tool_calls=calls),
        ),
    )
    assert write_ttl(mixed) == "5m"


def test_legacy_writes_of_an_all_1h_request_are_1h_writes():
    usage = from_anthropic(LEGACY, write_ttl="1h").usage

    assert (usage.cache_write_1h_tokens, usage.cache_write_5m_tokens) == (1876, 0)
    assert from_anthropic(LEGACY).usage.cache_write_5m_tokens == 1876  # unknown: the default


def test_the_client_applies_it_to_what_the_server_answers():
    async def send(url: str):
        client = AnthropicClient("sk-ant-test", base_url=url)
        try:
            return await client.send(request("1h"))
        finally:
            await client.aclose()

    with FakeServer() as server:
        server.script(fake.reply(LEGACY))
        result = asyncio.run(send(server.url))

    assert result.usage.cache_write_1h_tokens == 1876
