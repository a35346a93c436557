"""Offline token estimates, per tokenizer family.

Exact counts need the provider's tokenizer (its count-tokens API). Offline we
estimate: one token per four ASCII characters, and one per non-ASCII character
(CJK text runs close to a token per character, accented Latin text a little
over), times the family's factor: the tokenizer of Opus 4.7 and later, Sonnet 5
and Fable 5 counts about 30% more tokens for the same text (docs/providers.md
§8.1). The figure is labelled with ``estimate_method`` wherever it is shown.
"""

from __future__ import annotations

import math
from fractions import Fraction

from .types import ChatRequest
from .wire import compact_json

ESTIMATE_METHOD = (
    "offline estimate: 1 token per 4 ASCII characters + 1 per other character; images and"
    " files not counted"
)
# Family -> tokens per token of the base estimate.
TOKENIZERS = {
    "generic": Fraction(1),
    "claude": Fraction(1),
    "claude-2026": Fraction(13, 10),
    "openai": Fraction(1),
    "nova": Fraction(1),
}


def estimate_method(tokenizer: str = "generic") -> str:
    """How ``estimate_tokens`` counts for ``tokenizer``, as shown next to the figures."""
    factor = TOKENIZERS[tokenizer]
    if factor == 1:
        return f"{ESTIMATE_METHOD} ({tokenizer} tokenizer family)"
    return f"{ESTIMATE_METHOD}, x{float(factor):g} for the {tokenizer} tokenizer family"


def token_factor(tokenizer: str = "generic") -> float:
    """Tokens per token of the base estimate for ``tokenizer`` (what the admin's forms use)."""
    return float(TOKENIZERS[tokenizer])


def estimate_tokens(text: str, tokenizer: str = "generic") -> int:
    """Estimated token count of ``text`` (never below 1 for non-empty text)."""
    if not text:
        return 0
    if text.isascii():
        base = Fraction(len(text), 4)
    else:
        non_ascii = sum(1 for char in text if char > "\x7f")
        base = math.ceil(Fraction(len(text) - non_ascii, 4)) + non_ascii
    return math.ceil(math.ceil(base) * TOKENIZERS[tokenizer])


def _part_text(message_content: object) -> str:
    return message_content if isinstance(message_content, str) else ""


def block_tokens(request: ChatRequest, tokenizer: str = "generic") -> list[int]:
    """Estimated tokens of each block, in the order of ``types.iter_blocks``.

    A tool counts its name, description and JSON schema; a message's tool calls
    count with its first block.
    """
    counts = []
    for tool in request.tools:
        schema = compact_json(tool.parameters)
        counts.append(
            estimate_tokens(tool.name + "\n" + tool.description + "\n" + schema, tokenizer)
        )
    for message in request.messages:
        calls = "".join(call.name + call.arguments for call in message.tool_calls)
        if isinstance(message.content, tuple):
            for index, part in enumerate(message.content):
                counts.append(
                    estimate_tokens((calls if index == 0 else "") + (part.text or ""), tokenizer)
                )
        else:
            counts.append(estimate_tokens(calls + _part_text(message.content), tokenizer))
    return counts
