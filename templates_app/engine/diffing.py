"""Compare two bodies: a text diff per block, which checkpoints' cached prefixes change, and
what writing them again costs. Pure.

Blocks are compared in provider prefix order (tools → system → messages) by
position, as the provider sees them: an edit invalidates the cache of the first
checkpoint at or after it and of every later checkpoint.
"""

from __future__ import annotations

import difflib
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from gateway.catalog import Prices
from gateway.types import effective_ttl, expired

from .body import Body, to_request
from .canonical import iter_block_texts

PER_MILLION = Decimal(1_000_000)


def _block_texts(body: Body) -> dict[str, str]:
    """Canonical authored text of every block (templates not rendered)."""
    return dict(iter_block_texts(to_request(body.data, model=body.model)))


def _readable(body: Body, path: str) -> str:
    """What a person should read for a block: its template text, or its JSON."""
    fields = [f for f in body.fields if f.block == path]
    if len(fields) == 1 and not path.startswith("tools["):
        return fields[0].source
    keys = path.replace("]", "").replace("[", ".").split(".")
    value: Any = body.data
    for key in keys:
        value = value[int(key)] if key.isdigit() else value[key]
    return json.dumps(value, ensure_ascii=False, indent=2)


def _unified(before: str, after: str, name: str) -> str:
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=f"a/{name}",
        tofile=f"b/{name}",
    )
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )


def _section_diff(old: Any, new: Any, name: str) -> str | None:
    if old == new:
        return None
    return _unified(
        json.dumps(old, ensure_ascii=False, indent=2) + "\n",
        json.dumps(new, ensure_ascii=False, indent=2) + "\n",
        name,
    )


def _changed_defaults(old: Body, new: Body) -> set[str]:
    return {
        name
        for name, spec in new.variables.items()
        if name in old.variables and old.variables[name].default != spec.default
    }


def diff_bodies(old: Body, new: Body, *, new_prefix_variables: tuple[str, ...]) -> dict[str, Any]:
    """Per-block text diff and the checkpoint impact of going from ``old`` to ``new``."""
    old_texts, new_texts = _block_texts(old), _block_texts(new)
    old_paths, new_paths = list(old_texts), list(new_texts)
    blocks = []
    for path in dict.fromkeys(old_paths + new_paths):
        before = _readable(old, path) if path in old_texts else ""
        after = _readable(new, path) if path in new_texts else ""
        status = (
            "added"
            if path not in old_texts
            else "removed"
            if path not in new_texts
            else "unchanged"
            if old_texts[path] == new_texts[path]
            else "changed"
        )
        blocks.append(
            {
                "path": path,
                "status": status,
                "diff": _unified(before, after, path) if status != "unchanged" else "",
            }
        )
    first_change = next(
        (
            i
            for i, path in enumerate(new_paths)
            if i >= len(old_paths) or old_paths[i] != path or old_texts[path] != new_texts[path]
        ),
        None,
    )
    defaults = sorted(_changed_defaults(old, new) & set(new_prefix_variables))
    checkpoints = []
    for checkpoint in new.checkpoints:
        reason = None
        if old.model != new.model:
            reason = f"model changed from {old.model} to {new.model}"
        elif first_change is not None and first_change <= checkpoint.block_index:
            reason = f"{new_paths[first_change]} changed"
        elif defaults:
            reason = f"default of prefix variable {', '.join(defaults)} changed"
        checkpoints.append(
            {
                "ordinal": checkpoint.ordinal,
                "path": checkpoint.path,
                "prefix_changed": reason is not None,
                "reason": reason,
            }
        )
    return {
        "model": None if old.model == new.model else {"from": old.model, "to": new.model},
        "blocks": blocks,
        "params": _section_diff(old.data.get("params", {}), new.data.get("params", {}), "params"),
        "variables": _section_diff(
            old.data.get("variables", {}), new.data.get("variables", {}), "variables"
        ),
        "checkpoints": checkpoints,
        "summary": _summary(checkpoints),
    }


def _summary(checkpoints: list[dict[str, Any]]) -> str:
    changed = [c["ordinal"] for c in checkpoints if c["prefix_changed"]]
    if not checkpoints:
        return "no checkpoints: nothing is cached either way"
    if not changed:
        return "every cached prefix is unchanged: existing cache entries keep hitting"
    return f"{_changed(changed)}: the first calls after the switch write the cache again"


def _changed(ordinals: list[int]) -> str:
    if len(ordinals) == 1:
        return f"checkpoint {ordinals[0]} gets a new prefix"
    return f"checkpoints {', '.join(str(n) for n in ordinals)} get new prefixes"


def live_entries(
    uses: Iterable[tuple[datetime, Sequence[dict[str, Any]]]], *, now: datetime
) -> dict[int, int]:
    """How many distinct cache entries each checkpoint (by ordinal) still has at ``now``.

    ``uses`` are calls of one version and model: when each was made and its recorded
    checkpoints. An entry is a checkpoint's fingerprint; it lives for its TTL after its last
    use (a read refreshes it), and a checkpoint below the model's minimum writes none.
    """
    last: dict[tuple[int, str], tuple[datetime, str | None]] = {}
    for created_at, checkpoints in uses:
        for checkpoint in checkpoints:
            if checkpoint.get("status") != "will_cache" or not checkpoint.get("fingerprint"):
                continue
            key = (checkpoint["ordinal"], checkpoint["fingerprint"])
            if key not in last or created_at > last[key][0]:
                last[key] = (created_at, checkpoint.get("ttl"))
    live = Counter(
        ordinal
        for (ordinal, _), (used_at, ttl) in last.items()
        if not expired((now - used_at).total_seconds(), ttl)
    )
    return dict(live)


def live_summary(rewrite: dict[str, Any]) -> str | None:
    """The summary of a change whose every changed cached prefix the new version still has
    live (``rewrite_estimate`` wrote no entry again); ``None`` otherwise."""
    rows = rewrite["rows"]
    if not rows or any(row["entries"] for row in rows):
        return None
    return (
        f"{_changed([row['ordinal'] for row in rows])}, but the new version still has those "
        "entries live: the calls after the switch read them, nothing is written again"
    )


def rewrite_estimate(
    *,
    impact: list[dict[str, Any]],
    lint_checkpoints: list[dict[str, Any]],
    prices: Prices | None,
    entries: int,
    live: Mapping[int, int] | None = None,
) -> dict[str, Any]:
    """The one-time cost of writing the changed prefixes again (USD, ``Decimal``).

    For each changed checkpoint that caches: the tokens it writes × (write price for its
    TTL − read price) / 1e6, times the cache entries it has to write: the distinct entries
    in recent traffic (``entries``, at least 1) less those the new version still has live
    at that checkpoint (``live``, from ``live_entries``: a rollback to a version served
    minutes ago writes nothing). Checkpoints are nested prefixes, so a checkpoint writes
    only the tokens after the previous cached checkpoint; for the first one that is its
    whole prefix. ``impact`` is ``diff_bodies``' checkpoints, ``lint_checkpoints`` the new
    version's lint estimates.
    """
    if prices is not None and None in (
        prices.cache_write_5m,
        prices.cache_write_1h,
        prices.cache_read,
    ):
        prices = None  # a model whose cache prices are unknown: no estimate, not a wrong one
    tokens = {c["ordinal"]: c for c in lint_checkpoints}
    changed = {c["ordinal"] for c in impact if c["prefix_changed"]}
    entries, live = max(entries, 1), live or {}
    rows, previous = [], 0
    for ordinal in sorted(tokens):
        info = tokens[ordinal]
        if info.get("status") != "will_cache":
            continue
        written, previous = info["tokens"] - previous, info["tokens"]
        if ordinal not in changed or prices is None:
            continue
        write = prices.cache_write(info.get("ttl"))
        per_entry = Decimal(written) * (write - prices.cache_read) / PER_MILLION
        still_live = live.get(ordinal, 0)
        to_write = max(entries - still_live, 0)
        rows.append(
            {
                "ordinal": ordinal,
                "ttl": effective_ttl(info.get("ttl")),
                "prefix_tokens": info["tokens"],
                "tokens": written,
                "write_price": write,
                "read_price": prices.cache_read,
                "per_entry_usd": per_entry,
                "live_entries": still_live,
                "entries": to_write,
                "total_usd": per_entry * to_write,
            }
        )
    return {
        "rows": rows,
        "entries": entries,
        "priced": prices is not None,
        "per_entry_usd": sum((row["per_entry_usd"] for row in rows), Decimal(0)),
        "total_usd": sum((row["total_usd"] for row in rows), Decimal(0)),
    }
