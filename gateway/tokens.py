"""Offline token estimates.

Exact counts need the provider's tokenizer (its count-tokens API). Offline we
estimate: one token per four ASCII characters, and one per non-ASCII character
(CJK text runs close to a token per character, accented Latin text a little
over). The figure is labelled with ``ESTIMATE_METHOD`` wherever it is shown.
"""

from __future__ import annotations

import math

from .types import ChatRequest
from .wire import compact_json

ESTIMATE_METHOD = (
    "offline estimate: 1 token per 4 ASCII characters + 1 per other character; images not counted"
)


def estimate_tokens(text: str) -> int:
    """Estimated token count of ``text`` (never below 1 for non-empty text)."""
    if not text:
        return 0
    if text.isascii():
        return math.ceil(len(text) / 4)
    non_ascii = sum(1 for char in text if char > "\x7f")
    return math.ceil((len(text) - non_ascii) / 4) + non_ascii


def _part_text(message_content: object) -> str:
    return message_content if isinstance(message_content, str) else ""


def block_tokens(request: ChatRequest) -> list[int]:
    """Estimated tokens of each block, in the order of ``types.iter_blocks``.

    A tool counts its name, description and JSON schema; a message's tool calls
    count with its first block.
    """
    counts = []
    for tool in request.tools:
        schema = compact_json(tool.parameters)
        counts.append(estimate_tokens(tool.name + "\n" + tool.description + "\n" + schema))
    for message in request.messages:
        calls = "".join(call.name + call.arguments for call in message.tool_calls)
        if isinstance(message.content, tuple):
            for index, part in enumerate(message.content):
                counts.append(estimate_tokens((calls if index == 0 else "") + (part.text or "")))
        else:
            counts.append(estimate_tokens(calls + _part_text(message.content)))
    return counts
