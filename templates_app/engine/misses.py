"""Why a send paid for a cache write (or read nothing). Pure: works on plain records.

The explanation names the first checkpoint that did not hit, and the reason:

- ``below_minimum``: no checkpoint's prefix reaches the model's minimum, so nothing caches;
- ``first_call``: nothing with this prefix was ever sent for this version and label;
- ``prefix_changed``: the previous call of the same version and label had another prefix at
  this checkpoint: which block changed, which prefix variables, and the first differing
  character when both texts are known;
- ``ttl_expired``: this exact prefix was last used longer ago than its TTL;
- ``provider_miss``: the same prefix was used within its TTL, yet the provider read nothing
  (parallel first requests, routing, eviction: the provider's side).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gateway.types import effective_ttl, expired


@dataclass(frozen=True)
class Call:
    """What the explanation needs to know of one call."""

    version: int
    label: str
    created_at: datetime
    checkpoints: Sequence[dict[str, Any]]  # ordinal, path, ttl, fingerprint, status, block_index
    block_hashes: Sequence[Sequence[str]]  # [path, hash] in prefix order
    prefix_variable_hashes: dict[str, str] = field(default_factory=dict)
    invocation_id: int | None = None


def needs_explaining(
    checkpoints: Sequence[dict[str, Any]], read: int | None, written: int | None
) -> bool:
    """A call is explained when it wrote to the cache, or had checkpoints and read nothing."""
    return bool(written) or (bool(checkpoints) and not read)


def explain(
    call: Call,
    history: Sequence[Call],
    *,
    first_difference: Callable[[Call, str], int | None] | None = None,
) -> dict[str, Any] | None:
    """Explain ``call`` against earlier successful calls (newest first, same model).

    ``first_difference(previous, block_path)`` may return the first differing
    character of that block between the two calls, when both texts can be known.
    """
    cacheable = [c for c in call.checkpoints if c["status"] == "will_cache"]
    if not call.checkpoints:
        return None
    if not cacheable:
        statuses = sorted({c["status"] for c in call.checkpoints})
        return _below_minimum(call.checkpoints[-1], statuses)
    for checkpoint in cacheable:
        prior = next((h for h in history if checkpoint["fingerprint"] in _fingerprints(h)), None)
        if prior is None:
            return _new_prefix(call, checkpoint, history, first_difference)
        # History is newest first: the first call holding the prefix is its last use.
        elapsed = (call.created_at - prior.created_at).total_seconds()
        ttl = effective_ttl(checkpoint.get("ttl"))
        if expired(elapsed, ttl):
            return {
                "reason": "ttl_expired",
                "checkpoint": checkpoint["ordinal"],
                "path": checkpoint["path"],
                "elapsed_seconds": round(elapsed, 1),
                "ttl": ttl,
                "previous_invocation": prior.invocation_id,
                "message": f"checkpoint {checkpoint['ordinal']}: this prefix was last sent "
                f"{_duration(elapsed)} ago, longer than its {ttl} TTL: it had expired",
            }
    last = cacheable[-1]
    return {
        "reason": "provider_miss",
        "checkpoint": last["ordinal"],
        "path": last["path"],
        "message": f"checkpoint {last['ordinal']}: the same prefix was sent within its TTL, yet "
        "the provider read nothing (parallel first requests, routing or eviction on "
        "the provider's side)",
    }


def _fingerprints(call: Call) -> set[str]:
    return {c["fingerprint"] for c in call.checkpoints if c.get("fingerprint")}


def _below_minimum(checkpoint: dict[str, Any], statuses: list[str]) -> dict[str, Any]:
    return {
        "reason": "below_minimum",
        "checkpoint": checkpoint["ordinal"],
        "path": checkpoint["path"],
        "message": f"no checkpoint can cache ({', '.join(statuses)}): the longest prefix is about "
        f"{checkpoint['tokens']:,} tokens, the model needs {checkpoint['min_tokens']:,}",
    }


def _new_prefix(
    call: Call,
    checkpoint: dict[str, Any],
    history: Sequence[Call],
    first_difference: Callable[[Call, str], int | None] | None,
) -> dict[str, Any]:
    previous = next(
        (h for h in history if h.version == call.version and h.label == call.label), None
    )
    if previous is None:
        return {
            "reason": "first_call",
            "checkpoint": checkpoint["ordinal"],
            "path": checkpoint["path"],
            "message": f"first call with this prefix for version {call.version}"
            f"{' (' + call.label + ')' if call.label else ''}: the cache is written now",
        }
    block = _first_changed_block(previous, call, checkpoint)
    variables = sorted(
        name
        for name, digest in call.prefix_variable_hashes.items()
        if previous.prefix_variable_hashes.get(name) != digest
    )
    position = first_difference(previous, block) if first_difference and block else None
    parts = [f"checkpoint {checkpoint['ordinal']}: the prefix changed since the previous call"]
    if block:
        parts.append(
            f"first in {block}" + (f" at character {position:,}" if position is not None else "")
        )
    if variables:
        parts.append(
            f"prefix variable{'s' if len(variables) > 1 else ''} changed: {', '.join(variables)}"
        )
    return {
        "reason": "prefix_changed",
        "checkpoint": checkpoint["ordinal"],
        "path": checkpoint["path"],
        "block": block,
        "variables": variables,
        "position": position,
        "previous_invocation": previous.invocation_id,
        "message": "; ".join(parts),
    }


def _first_changed_block(previous: Call, call: Call, checkpoint: dict[str, Any]) -> str | None:
    limit = checkpoint.get("block_index", len(call.block_hashes) - 1)
    before = list(previous.block_hashes)
    for index, (path, digest) in enumerate(call.block_hashes[: limit + 1]):
        if index >= len(before) or list(before[index]) != [path, digest]:
            return path
    return None


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


# The regions of the prompt each provider-reported reason names (Anthropic's and
# OpenAI's; OpenAI's input holds the system and the conversation messages alike).
PROVIDER_REGIONS = {
    "model_changed": ("model",),
    "tools_changed": ("tools",),
    "system_changed": ("system",),
    "messages_changed": ("messages",),
    "input_changed": ("system", "messages"),
    # Cachet's prompt_cache_key is the last checkpoint's fingerprint: it changes exactly
    # when a cached prefix does, wherever that change is.
    "prompt_cache_key_changed": ("tools", "system", "messages"),
}
PROVIDER_NAMES = {"anthropic": "Anthropic", "openai": "OpenAI"}


def with_provider_diagnosis(
    miss: dict[str, Any] | None,
    diagnosis: Any,
    sections: dict[str, str],
) -> dict[str, Any] | None:
    """``miss`` with the provider's own reason merged in, and whether the two agree.

    ``diagnosis`` is a ``gateway.types.CacheDiagnosis`` (or None: nothing is added);
    ``sections`` maps each block path to its region (tools, system, messages). Cachet
    says which checkpoint, block and variable; the provider only names a region. When
    Cachet saw an identical prefix and the provider reports a change, or they name
    different regions, the explanation says they disagree: that is a finding in itself.
    """
    if diagnosis is None or diagnosis.reason is None or miss is None:
        return miss
    reason = diagnosis.reason
    name = PROVIDER_NAMES.get(diagnosis.provider, diagnosis.provider)
    region = PROVIDER_REGIONS.get(reason)
    ours = sections.get(miss.get("block") or "") if miss["reason"] == "prefix_changed" else None
    identical = miss["reason"] in ("provider_miss", "ttl_expired")
    if region is not None and identical:
        agrees, note = (
            False,
            (
                f"Cachet's prefix was identical to the previous call's, but {name} reports "
                f"{reason}: they disagree (a change Cachet does not see, such as a tool_choice, "
                "thinking or server-tool setting, or the provider's own routing)"
            ),
        )
    elif region is not None and ours is not None and "model" not in region and ours not in region:
        agrees, note = (
            False,
            (f"Cachet found the first change in {ours}, {name} reports {reason}: they disagree"),
        )
    elif region is not None:
        agrees, note = True, f"{name} reports {reason} too"
    else:
        agrees, note = None, f"{name} reports {reason}"
    provider = {"reason": reason, "missed_tokens": diagnosis.missed_tokens, "agrees": agrees}
    return {**miss, "provider": provider, "message": f"{miss['message']}; {note}"}
