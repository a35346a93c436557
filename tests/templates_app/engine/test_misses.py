"""Miss explanations on plain records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from templates_app.engine.misses import Call, explain, needs_explaining

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def checkpoint(
    ordinal: int,
    fingerprint: str,
    *,
    ttl: str | None = None,
    status: str = "will_cache",
    block_index: int = 0,
) -> dict:
    return {
        "ordinal": ordinal,
        "path": f"messages[0].content[{block_index}]",
        "ttl": ttl,
        "fingerprint": fingerprint,
        "status": status,
        "tokens": 2000,
        "min_tokens": 1024,
        "block_index": block_index,
    }


def call(
    *checkpoints: dict,
    ago: float = 0,
    version: int = 1,
    label: str = "production",
    blocks: list | None = None,
    variables: dict | None = None,
) -> Call:
    return Call(
        version=version,
        label=label,
        created_at=NOW - timedelta(seconds=ago),
        checkpoints=list(checkpoints),
        block_hashes=blocks or [],
        prefix_variable_hashes=variables or {},
        invocation_id=int(ago),
    )


def test_only_writes_and_empty_reads_are_explained():
    assert needs_explaining([checkpoint(1, "a")], read=0, written=100)
    assert needs_explaining([checkpoint(1, "a")], read=0, written=0)
    assert not needs_explaining([checkpoint(1, "a")], read=2000, written=0)
    assert not needs_explaining([], read=0, written=0)


def test_the_first_checkpoint_that_missed_is_named_when_a_later_one_changed():
    old = call(
        checkpoint(1, "a"),
        checkpoint(2, "b", block_index=1),
        ago=30,
        blocks=[["p0", "x"], ["p1", "y"]],
        variables={"doc": "1"},
    )
    new = call(
        checkpoint(1, "a"),
        checkpoint(2, "c", block_index=1),
        blocks=[["p0", "x"], ["p1", "z"]],
        variables={"doc": "2"},
    )
    miss = explain(new, [old])
    assert (miss["reason"], miss["checkpoint"], miss["block"]) == ("prefix_changed", 2, "p1")
    assert miss["variables"] == ["doc"]


def test_a_new_version_is_a_first_call_even_with_earlier_calls_of_another():
    other_version = call(checkpoint(1, "a"), ago=30, version=1)
    assert explain(call(checkpoint(1, "b"), version=2), [other_version])["reason"] == "first_call"


def test_five_minute_and_one_hour_ttls():
    five = call(checkpoint(1, "a"), ago=301)
    assert explain(call(checkpoint(1, "a")), [five])["reason"] == "ttl_expired"
    alive = call(checkpoint(1, "a", ttl="1h"), ago=3599)
    assert explain(call(checkpoint(1, "a", ttl="1h")), [alive])["reason"] == "provider_miss"


def test_a_gap_of_exactly_the_ttl_has_expired():
    exactly = call(checkpoint(1, "a"), ago=300)
    assert explain(call(checkpoint(1, "a")), [exactly])["reason"] == "ttl_expired"


def test_the_most_recent_use_counts_for_the_ttl():
    recent, old = call(checkpoint(1, "a"), ago=60), call(checkpoint(1, "a"), ago=900)
    assert explain(call(checkpoint(1, "a")), [recent, old])["reason"] == "provider_miss"


def test_no_cacheable_checkpoint_is_below_minimum():
    miss = explain(call(checkpoint(1, "a", status="below_minimum")), [])
    assert miss["reason"] == "below_minimum" and "1,024" in miss["message"]
