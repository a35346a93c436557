"""A checkpoint for an imported body that has none: on the last block of its longest static
prefix (the blocks, in prefix order, before the first that uses a variable), when that prefix
reaches the model's minimum. Pure."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from gateway.catalog import get_profile
from gateway.errors import GatewayError
from gateway.tokens import block_tokens

from ..body import to_request
from ..rendering import compile_body, deterministic

# The blocks a marker can close: a tool, a message whose content is one text, or a part.
_MARKABLE = re.compile(r"^(tools\[(\d+)\]|messages\[(\d+)\]\.content(?:\[(\d+)\])?)$")


@dataclass(frozen=True)
class Proposal:
    """Where a checkpoint would go, what its prefix holds, and the model's minimum."""

    path: str  # the block that gets ``cache_control``
    tokens: int  # estimated tokens of the prefix it closes
    min_tokens: int
    model: str

    def describe(self) -> str:
        return (
            f"checkpoint proposed at {self.path}: the static prefix up to it is about "
            f"{self.tokens:,} tokens, {self.model} caches from {self.min_tokens:,}"
        )


def propose(body: dict[str, Any]) -> tuple[Proposal | None, str | None]:
    """The checkpoint to propose for ``body`` and a sentence saying where; or ``None`` and
    why there is none (its static prefix is too short), or ``(None, None)`` when the body
    has checkpoints already. Raises ``BodyError``."""
    compiled = compile_body(body)
    parsed = compiled.body
    if parsed.checkpoints:
        return None, None
    try:
        profile = get_profile(parsed.model)
    except GatewayError as exc:
        return None, f"no checkpoint proposed: {exc}"
    dynamic_blocks = {
        text_field.block
        for text_field in parsed.fields
        if compiled.field_variables.get(text_field.path)
        or (
            text_field.path in compiled.asts and not deterministic([compiled.asts[text_field.path]])
        )
    }
    counts = block_tokens(to_request(parsed.data, model=parsed.model), profile.tokenizer)
    best: Proposal | None = None
    total = 0
    for (path, _section), tokens in zip(parsed.blocks, counts, strict=True):
        if path in dynamic_blocks:
            break
        total += tokens
        if _MARKABLE.match(path) and total >= profile.min_tokens:
            best = Proposal(path, total, profile.min_tokens, parsed.model)
    if best is None:
        return None, (
            f"no checkpoint proposed: the static prefix is about {total:,} tokens, below the "
            f"{profile.min_tokens:,} tokens {parsed.model} caches from"
        )
    return best, best.describe()


def apply(body: dict[str, Any], proposal: Proposal) -> dict[str, Any]:
    """A copy of ``body`` with an ephemeral (default TTL) checkpoint at ``proposal.path``."""
    marked = copy.deepcopy(body)
    match = _MARKABLE.match(proposal.path)
    assert match is not None, proposal.path
    _, tool, message, part = match.groups()
    if tool is not None:
        target = marked["tools"][int(tool)]
    elif part is not None:
        target = marked["messages"][int(message)]["content"][int(part)]
    else:
        target = marked["messages"][int(message)]
    target["cache_control"] = {"type": "ephemeral"}
    return marked
