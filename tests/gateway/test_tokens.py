"""Offline token estimates."""

from __future__ import annotations

from gateway.tokens import block_tokens, estimate_tokens
from gateway.types import ChatRequest, Message, Part, Tool


def test_ascii_text_counts_four_characters_a_token():
    assert estimate_tokens("") == 0
    assert estimate_tokens("abcd") == 1
    assert estimate_tokens("abcde") == 2
    assert estimate_tokens("x" * 4000) == 1000


def test_non_ascii_characters_count_a_token_each():
    assert estimate_tokens("日本語") == 3
    assert estimate_tokens("abcd日本") == 3


def test_block_tokens_follow_the_prefix_order():
    request = ChatRequest(
        model="sim/claude-sonnet-4-5",
        tools=(Tool("t", "d" * 40, {"type": "object"}),),
        messages=(Message("system", (Part("text", text="s" * 400),)), Message("user", "u" * 8)),
    )
    counts = block_tokens(request)
    assert len(counts) == 3
    assert counts[1:] == [100, 2]
    assert counts[0] > 10


def test_prefix_request_keeps_exactly_the_blocks_up_to_the_checkpoint():
    from gateway.types import iter_blocks, prefix_request

    request = ChatRequest(
        model="sim/claude-sonnet-4-5",
        tools=(Tool("t", "d", {}),),
        messages=(
            Message("system", (Part("text", text="a"), Part("text", text="b"))),
            Message("user", "question"),
            Message("assistant", "answer"),
        ),
    )
    paths = [block.path for block in iter_blocks(request)]
    for index in range(len(paths)):
        cut = prefix_request(request, index)
        assert [block.path for block in iter_blocks(cut)] == paths[: index + 1]
