"""Diffs between versions and their cache impact."""

from __future__ import annotations

from templates_app.engine.diffing import diff_bodies
from templates_app.engine.rendering import compile_body
from tests.factories import make_body, make_tool


def two_checkpoint_body() -> dict:
    body = make_body(tools=[make_tool(cache_control={"type": "ephemeral", "ttl": "1h"})])
    return body


def diff(old: dict, new: dict) -> dict:
    new_compiled = compile_body(new)
    return diff_bodies(
        compile_body(old).body,
        new_compiled.body,
        new_prefix_variables=new_compiled.prefix_variables,
    )


def test_editing_after_the_last_checkpoint_keeps_every_prefix():
    new = two_checkpoint_body()
    new["messages"][1]["content"] = "Reply in {{ words }} words. {{ question }}"
    result = diff(two_checkpoint_body(), new)
    assert [c["prefix_changed"] for c in result["checkpoints"]] == [False, False]
    assert [b["status"] for b in result["blocks"]] == ["unchanged"] * 3 + ["changed"]
    assert "-Answer in {{ words }} words: {{ question }}" in result["blocks"][3]["diff"]
    assert "+Reply in {{ words }} words. {{ question }}" in result["blocks"][3]["diff"]
    assert result["summary"].startswith("every cached prefix is unchanged")


def test_editing_the_system_text_invalidates_its_checkpoint_and_every_later_one_only():
    new = two_checkpoint_body()
    new["messages"][0]["content"][0]["text"] = "You answer from the document, briefly."
    result = diff(two_checkpoint_body(), new)
    assert [c["prefix_changed"] for c in result["checkpoints"]] == [False, True]
    assert result["checkpoints"][1]["reason"] == "messages[0].content[0] changed"
    assert result["summary"].startswith("checkpoint 2 gets a new prefix:")


def test_editing_a_tool_invalidates_everything_after_it():
    new = two_checkpoint_body()
    new["tools"][0]["function"]["description"] = "Find an order."
    result = diff(two_checkpoint_body(), new)
    assert [c["prefix_changed"] for c in result["checkpoints"]] == [True, True]


def test_a_model_change_invalidates_every_checkpoint():
    new = two_checkpoint_body()
    new["model"] = "sim/claude-opus-4-6"
    result = diff(two_checkpoint_body(), new)
    assert result["model"] == {"from": "sim/claude-sonnet-4-5", "to": "sim/claude-opus-4-6"}
    assert all(c["prefix_changed"] for c in result["checkpoints"])


def test_a_changed_default_of_a_prefix_variable_changes_the_prefix():
    old, new = make_body(), make_body()
    for body, default in ((old, "A"), (new, "B")):
        body["variables"]["document"] = {"type": "string", "default": default}
    result = diff(old, new)
    assert result["checkpoints"][0]["prefix_changed"] is True
    assert "document" in result["checkpoints"][0]["reason"]
    assert result["variables"] is not None


def test_params_diff_is_shown_without_touching_prefixes():
    new = make_body(params={"max_tokens": 999, "temperature": 0})
    result = diff(make_body(), new)
    assert '"max_tokens": 999' in result["params"]
    assert result["checkpoints"][0]["prefix_changed"] is False


def test_a_model_with_unknown_cache_prices_gets_no_rewrite_estimate_rather_than_a_wrong_one():
    from gateway.catalog import get_profile
    from templates_app.engine.diffing import rewrite_estimate

    checkpoint = {"ordinal": 1, "status": "will_cache", "tokens": 5000, "ttl": "1h"}
    estimate = rewrite_estimate(
        impact=[{"ordinal": 1, "prefix_changed": True}],
        lint_checkpoints=[checkpoint],
        prices=get_profile("anthropic/claude-opus-6").prices,  # not in the catalog
        entries=3,
    )

    assert estimate["priced"] is False
    assert estimate["rows"] == [] and estimate["total_usd"] == 0


def test_live_entries_count_each_checkpoints_fingerprints_used_within_their_ttl():
    from datetime import UTC, datetime, timedelta

    from templates_app.engine.diffing import live_entries

    now = datetime(2026, 12, 4, 12, tzinfo=UTC)

    def use(ago: timedelta, *checkpoints: tuple[int, str, str | None, str]):
        return now - ago, [
            {"ordinal": n, "fingerprint": fp, "ttl": ttl, "status": status}
            for n, fp, ttl, status in checkpoints
        ]

    uses = [
        # checkpoint 1 (1h) shared by both prefixes; checkpoint 2 (5m) differs.
        use(timedelta(minutes=50), (1, "doc", "1h", "will_cache"), (2, "a", None, "will_cache")),
        use(timedelta(minutes=2), (1, "doc", "1h", "will_cache"), (2, "b", None, "will_cache")),
        # an older use of "a" than its last one does not make it expire
        use(timedelta(hours=3), (1, "doc", "1h", "will_cache"), (2, "a", None, "will_cache")),
        # a gap of exactly the TTL has expired; a checkpoint below the minimum holds nothing
        use(timedelta(hours=1), (1, "old", "1h", "will_cache")),
        use(timedelta(seconds=1), (1, "tiny", "1h", "below_minimum")),
    ]
    assert live_entries(uses, now=now) == {1: 1, 2: 1}
    assert live_entries([], now=now) == {}


def test_rewrite_estimate_writes_only_the_entries_not_still_live():
    from gateway.catalog import get_profile
    from templates_app.engine.diffing import rewrite_estimate

    prices = get_profile("sim/claude-sonnet-4-5").prices
    checkpoints = [
        {"ordinal": 1, "status": "will_cache", "tokens": 4000, "ttl": "1h"},
        {"ordinal": 2, "status": "will_cache", "tokens": 5000, "ttl": None},
    ]
    impact = [{"ordinal": n, "prefix_changed": True} for n in (1, 2)]
    estimate = rewrite_estimate(
        impact=impact, lint_checkpoints=checkpoints, prices=prices, entries=3, live={1: 5, 2: 1}
    )
    first, second = estimate["rows"]
    assert (first["live_entries"], first["entries"], first["total_usd"]) == (5, 0, 0)
    assert (second["live_entries"], second["entries"]) == (1, 2)
    assert second["total_usd"] == second["per_entry_usd"] * 2
    assert estimate["total_usd"] == second["total_usd"]
    assert estimate["per_entry_usd"] == first["per_entry_usd"] + second["per_entry_usd"]


def test_the_summary_says_so_when_every_changed_prefix_is_still_live():
    from templates_app.engine.diffing import live_summary

    def rows(*entries: int) -> dict:
        return {"rows": [{"ordinal": n, "entries": e} for n, e in enumerate(entries, 1)]}

    assert live_summary(rows(0, 0)) == (
        "checkpoints 1, 2 get new prefixes, but the new version still has those entries live: "
        "the calls after the switch read them, nothing is written again"
    )
    assert live_summary(rows(0, 1)) is None  # one entry is written: the usual summary stands
    assert live_summary(rows()) is None
