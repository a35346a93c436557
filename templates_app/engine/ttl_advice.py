"""The TTL advisor: what a version's cached prefixes cost under 5m and under 1h. Pure.

It replays the logged calls of one version, per checkpoint and per TTL, the way a
provider's cache would have answered them (docs/architecture.md, "The TTL advisor"):

- A checkpoint caches only the tokens after the previous checkpoint that caches (its
  *segment*): a read at checkpoint k covers everything before it, so each segment is
  billed by whether its own checkpoint's entry is warm. Checkpoints whose status is not
  ``will_cache`` cache nothing and are skipped.
- An entry is one (model, fingerprint). The first call of it in the window writes it;
  a later one re-writes it when the gap since the previous call of the same entry is at
  least the TTL (an entry is gone at its expiry instant; every hit refreshes it), else
  it reads it. Writes are priced at the model's write price for that TTL, reads at its
  read price.
- Providers want every 1h entry before every 5m one, so besides each checkpoint's own
  cheaper TTL, the advice names the cheapest assignment that keeps that order: the
  first m checkpoints 1h and the rest 5m, for the best m.

Amounts are ``Decimal`` USD, unrounded; savings per day divide by the window's days.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from operator import itemgetter
from typing import Any

from gateway.catalog import ModelProfile, get_profile
from gateway.cost import PER_TOKENS
from gateway.errors import GatewayError
from gateway.openai.common import EXPLICIT_TTL
from gateway.types import TTLS, effective_ttl, expired

SHORT, LONG = TTLS  # "5m", "1h": the order providers want is LONG before SHORT
TALLY = ("writes", "rewrites", "reads", "written_tokens", "read_tokens")
_ORDINAL = itemgetter("ordinal")
# A hint below this saving per day would read "$0.00 per day": not worth an author's time.
HINT_MIN_USD_PER_DAY = Decimal("0.01")
HINT_CODE = "ttl_costs_more"
CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class LoggedCall:
    """What the advisor reads of one successful call: when, on which model, its checkpoints
    (the invocation's list: ordinal, path, ttl, fingerprint, tokens, status, ...)."""

    at: datetime
    model: str
    checkpoints: Sequence[Mapping[str, Any]]


@dataclass(slots=True)
class _Checkpoint:
    ordinal: int
    path: str
    ttl: str  # the TTL the version gives it now (the provider default when unset)
    calls: int = 0  # calls in which it cached
    # (ttl, model) -> [writes, rewrites, reads, tokens written, tokens read]
    tallies: dict[tuple[str, str], list[int]] = field(default_factory=dict)


def ttl_choice_problem(profile: ModelProfile) -> str | None:
    """Why ``profile``'s model offers no choice between 5m and 1h to advise on, or None."""
    if profile.explicit_breakpoints:
        return (
            f"{profile.model} keeps every cache entry {EXPLICIT_TTL}, whatever the marker "
            "says: there is no 5m or 1h to choose"
        )
    if profile.provider == "openai":
        return f"{profile.model} caches automatically, without markers: there is no TTL to choose"
    if any(ttl not in profile.ttls for ttl in TTLS):
        return f"{profile.model} offers only a {', '.join(profile.ttls)} cache TTL"
    prices = profile.prices
    if None in (prices.cache_write_5m, prices.cache_write_1h, prices.cache_read):
        return f"{profile.model} has no cache prices in the catalog"
    return None


def ttl_advice(
    calls: Iterable[LoggedCall],
    *,
    days: Decimal,
    profile_of: Callable[[str], ModelProfile] = get_profile,
) -> dict[str, Any]:
    """The advice for one version's ``calls`` (any order) over a window of ``days`` days.

    Calls on a model without a 5m/1h choice (or unknown to the catalog) are counted in
    ``skipped`` with the reason and priced nowhere. ``reason`` says why there is no
    recommendation (no calls, no model with a choice, nothing cached), else is None.
    """
    ordered = sorted(calls, key=lambda call: call.at)
    profiles: dict[str, ModelProfile | str] = {}
    skipped: dict[str, int] = {}
    rows: dict[int, _Checkpoint] = {}
    last_seen: dict[tuple[str, str], datetime] = {}
    for call in ordered:
        profile = profiles.get(call.model)
        if profile is None:
            profile = profiles[call.model] = _profile(call.model, profile_of)
        if isinstance(profile, str):
            skipped[call.model] = skipped.get(call.model, 0) + 1
            continue
        _replay(call, rows, last_seen)
    priced = {m: p for m, p in profiles.items() if not isinstance(p, str)}
    checkpoints = [_row(rows[o], priced, days) for o in sorted(rows)]
    advice: dict[str, Any] = {
        "calls_analysed": len(ordered),
        "days": days,
        "skipped": [
            {"model": model, "calls": count, "reason": profiles[model]}
            for model, count in sorted(skipped.items())
        ],
        "reason": _no_advice_reason(ordered, skipped, checkpoints),
        "checkpoints": checkpoints,
    }
    advice.update(_assignment(checkpoints, days))
    return advice


def _profile(model: str, profile_of: Callable[[str], ModelProfile]) -> ModelProfile | str:
    """The model's profile, or why its calls are not priced."""
    try:
        profile = profile_of(model)
    except GatewayError as exc:
        return str(exc)
    return ttl_choice_problem(profile) or profile


def _replay(
    call: LoggedCall, rows: dict[int, _Checkpoint], last_seen: dict[tuple[str, str], datetime]
) -> None:
    """Add ``call`` to each of its checkpoints' tallies, under each TTL."""
    previous = 0  # prefix tokens up to the previous checkpoint that caches
    at, model = call.at, call.model
    for checkpoint in sorted(call.checkpoints, key=_ORDINAL):
        ordinal = checkpoint["ordinal"]
        row = rows.get(ordinal)
        if row is None:
            ttl = effective_ttl(checkpoint.get("ttl"))
            row = rows[ordinal] = _Checkpoint(ordinal, checkpoint.get("path", ""), ttl)
        if checkpoint.get("status") != "will_cache":
            continue
        segment, previous = checkpoint["tokens"] - previous, checkpoint["tokens"]
        key = (model, checkpoint["fingerprint"])
        seen = last_seen.get(key)
        last_seen[key] = at
        gap = None if seen is None else at - seen
        row.calls += 1
        for ttl in TTLS:
            tally = row.tallies.get((ttl, model))
            if tally is None:
                tally = row.tallies[(ttl, model)] = [0, 0, 0, 0, 0]
            if gap is None:
                tally[0] += 1
                tally[3] += segment
            elif expired(gap.total_seconds(), ttl):  # a gap of exactly the TTL misses
                tally[1] += 1
                tally[3] += segment
            else:
                tally[2] += 1
                tally[4] += segment


def _row(row: _Checkpoint, profiles: Mapping[str, ModelProfile], days: Decimal) -> dict[str, Any]:
    costs = {}
    for ttl in TTLS:
        usd, totals = Decimal(0), [0, 0, 0, 0, 0]
        for (tally_ttl, model), tally in row.tallies.items():
            if tally_ttl != ttl:
                continue
            prices = profiles[model].prices
            usd += (tally[3] * prices.cache_write(ttl) + tally[4] * prices.cache_read) / PER_TOKENS
            totals = [total + n for total, n in zip(totals, tally, strict=True)]
        costs[ttl] = {**dict(zip(TALLY, totals, strict=True)), "usd": usd}
    recommended = None
    if row.calls:
        other = LONG if row.ttl == SHORT else SHORT
        recommended = other if costs[other]["usd"] < costs[row.ttl]["usd"] else row.ttl
    saved = costs[row.ttl]["usd"] - costs[recommended]["usd"] if recommended else Decimal(0)
    return {
        "ordinal": row.ordinal,
        "path": row.path,
        "ttl": row.ttl,
        "calls": row.calls,
        "costs": costs,
        "recommended_ttl": recommended,
        "saved_usd_per_day": _per_day(saved, days),
    }


def _assignment(checkpoints: list[dict[str, Any]], days: Decimal) -> dict[str, Any]:
    """The cheapest TTLs that keep every 1h entry before every 5m one (the first m
    checkpoints 1h, the rest 5m); the current TTLs when they cost as little."""
    current = tuple(row["ttl"] for row in checkpoints)

    def usd(ttls: tuple[str, ...]) -> Decimal:
        rows = zip(checkpoints, ttls, strict=True)
        return sum((row["costs"][ttl]["usd"] for row, ttl in rows), Decimal(0))

    splits = [
        tuple(LONG if i < m else SHORT for i in range(len(checkpoints)))
        for m in range(len(checkpoints) + 1)
    ]
    best = min(splits, key=usd)  # the first of equals: the fewest 1h entries
    if current in splits and usd(current) == usd(best):
        best = current
    for row, ttl in zip(checkpoints, best, strict=True):
        row["assigned_ttl"] = ttl
    return {
        "current_usd": usd(current),
        "recommended_usd": usd(best),
        "saved_usd_per_day": _per_day(usd(current) - usd(best), days),
    }


def _per_day(usd: Decimal, days: Decimal) -> Decimal | None:
    return usd / days if days > 0 else None


def _no_advice_reason(
    calls: list[LoggedCall], skipped: dict[str, int], checkpoints: list[dict[str, Any]]
) -> str | None:
    if not calls:
        return "no successful calls in the window"
    if sum(skipped.values()) == len(calls):
        return "no call in the window was on a model with a choice between 5m and 1h"
    if not any(row["calls"] for row in checkpoints):
        return "no checkpoint cached anything in the window"
    return None


def ttl_hints(advice: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Lint warnings (code ``ttl_costs_more``), one per checkpoint whose TTL the advice's
    assignment changes, when the current TTLs cost at least a cent a day more."""
    saved, days = advice["saved_usd_per_day"], advice["days"]
    if advice["reason"] is not None or saved is None or saved < HINT_MIN_USD_PER_DAY:
        return []
    hints = []
    window = f"{_days(days)} of traffic ({advice['calls_analysed']:,} calls)"
    changed = [row for row in advice["checkpoints"] if row["assigned_ttl"] != row["ttl"]]
    in_all = f"; the recommended TTLs save {_usd(saved)} per day in all" if len(changed) > 1 else ""
    for row in changed:
        ttl, other = row["ttl"], row["assigned_ttl"]
        here = (row["costs"][ttl]["usd"] - row["costs"][other]["usd"]) / days
        prefix = f"checkpoint {row['ordinal']} uses a {ttl} TTL"
        if here > 0:
            message = f"{prefix}: on the last {window}, {other} would have cost {_usd(here)} "
            message += "less per day"
        else:
            message = (
                f"{prefix}: {other} costs {_usd(-here)} more per day here, but the checkpoints "
                "after it can use 1h only if it does too (every 1h entry must come before "
                "every 5m one)"
            )
        hints.append(
            {
                "code": HINT_CODE,
                "path": row["path"],
                "message": message + in_all,
                "ordinal": row["ordinal"],
                "ttl": ttl,
                "recommended_ttl": other,
                "usd_per_day": float(here),
            }
        )
    return hints


def _usd(value: Decimal) -> str:
    return f"${value.quantize(CENT, rounding=ROUND_HALF_UP):,}"


def _days(days: Decimal) -> str:
    text = f"{float(days):.2f}".rstrip("0").rstrip(".")
    return f"{text} day{'' if text == '1' else 's'}"
