"""The TTL advisor: hand-computed costs of three traffic patterns under 5m and 1h, the
recommendation flipping 5m → 1h → 5m, the segment and expiry rules, models without a
choice, the ordered assignment, the lint hint, and properties over any traffic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.catalog import get_profile
from templates_app.engine.ttl_advice import (
    HINT_CODE,
    LoggedCall,
    ttl_advice,
    ttl_choice_problem,
    ttl_hints,
)

MODEL = "sim/claude-sonnet-4-5"  # $/MTok: write 5m 3.75, write 1h 6, read 0.30
START = datetime(2026, 3, 10, tzinfo=UTC)
ONE_DAY = Decimal(1)
DOC = 100_000  # prefix tokens of the document checkpoint in the patterns
CENT = Decimal("0.01")


def checkpoint(
    ordinal: int = 1,
    *,
    tokens: int = DOC,
    fingerprint: str = "sha256:doc",
    ttl: str | None = "5m",
    status: str = "will_cache",
) -> dict:
    return {
        "ordinal": ordinal,
        "path": f"messages[0].content[{ordinal}]",
        "section": "messages",
        "ttl": ttl,
        "fingerprint": fingerprint,
        "tokens": tokens,
        "min_tokens": 1024,
        "status": status,
        "block_index": ordinal,
    }


def calls_at(seconds: list[int], *checkpoints: dict, model: str = MODEL) -> list[LoggedCall]:
    marks = list(checkpoints) or [checkpoint()]
    return [LoggedCall(START + timedelta(seconds=s), model, marks) for s in seconds]


def cents(value: Decimal | None) -> Decimal:
    assert value is not None
    return value.quantize(CENT)


def counts(cost: dict) -> tuple[int, int, int]:
    return cost["writes"], cost["rewrites"], cost["reads"]


def test_the_patterns_price_the_model_the_tests_assume():
    prices = get_profile(MODEL).prices
    assert (prices.cache_write_5m, prices.cache_write_1h, prices.cache_read) == (
        Decimal("3.75"),
        Decimal("6"),
        Decimal("0.30"),
    )


# --- the three patterns, by hand (one checkpoint of 100,000 tokens, one day) -----------------
# A write of 100,000 tokens costs 100,000 × $3.75 / 1e6 = $0.375 under 5m and
# 100,000 × $6 / 1e6 = $0.60 under 1h; a read 100,000 × $0.30 / 1e6 = $0.03 under either.


def test_steady_calls_every_two_minutes_cost_less_under_5m():
    # 720 calls, one every 120 s: no gap reaches 300 s, so both TTLs write once, read 719 times.
    advice = ttl_advice(calls_at(list(range(0, 86_400, 120))), days=ONE_DAY)
    [row] = advice["checkpoints"]
    five, hour = row["costs"]["5m"], row["costs"]["1h"]
    assert row["calls"] == 720
    assert counts(five) == (1, 0, 719) == counts(hour)
    # 5m: 1 × $0.375 + 719 × $0.03 = $0.375 + $21.57 = $21.945
    assert five["usd"] == Decimal("21.945") and cents(five["usd"]) == Decimal("21.94")
    # 1h: 1 × $0.60 + 719 × $0.03 = $0.60 + $21.57 = $22.17
    assert hour["usd"] == Decimal("22.17")
    assert (five["written_tokens"], five["read_tokens"]) == (100_000, 71_900_000)
    assert row["recommended_ttl"] == "5m"
    assert row["saved_usd_per_day"] == 0  # it is 5m already
    assert advice["reason"] is None


def test_bursts_every_twenty_minutes_cost_less_under_1h():
    # 72 bursts, one every 1,200 s, of 3 calls 10 s apart (216 calls). Between bursts the gap
    # is 1,200 − 20 = 1,180 s: past 5m (300 s), within 1h (3,600 s).
    seconds = [burst * 1200 + offset for burst in range(72) for offset in (0, 10, 20)]
    advice = ttl_advice(calls_at(seconds), days=ONE_DAY)
    [row] = advice["checkpoints"]
    five, hour = row["costs"]["5m"], row["costs"]["1h"]
    # 5m: the first call of each burst writes (1 write + 71 re-writes), the other 144 read:
    # 72 × $0.375 + 144 × $0.03 = $27.00 + $4.32 = $31.32
    assert counts(five) == (1, 71, 144)
    assert five["usd"] == Decimal("31.32")
    # 1h: 1 write, then 215 reads: $0.60 + 215 × $0.03 = $0.60 + $6.45 = $7.05
    assert counts(hour) == (1, 0, 215)
    assert hour["usd"] == Decimal("7.05")
    # 1h saves $31.32 − $7.05 = $24.27 a day
    assert row["recommended_ttl"] == "1h"
    assert row["saved_usd_per_day"] == Decimal("24.27")
    assert advice["saved_usd_per_day"] == Decimal("24.27")
    assert row["assigned_ttl"] == "1h"


def test_hourly_calls_rewrite_under_both_ttls_so_5m_wins():
    # 24 calls exactly 3,600 s apart: an entry is gone at its expiry instant, so under 1h as
    # under 5m every call after the first re-writes (1 write + 23 re-writes, no read).
    advice = ttl_advice(calls_at(list(range(0, 86_400, 3600)), checkpoint(ttl="1h")), days=ONE_DAY)
    [row] = advice["checkpoints"]
    five, hour = row["costs"]["5m"], row["costs"]["1h"]
    assert counts(five) == (1, 23, 0) == counts(hour)
    assert five["usd"] == Decimal("9.000")  # 24 × $0.375
    assert hour["usd"] == Decimal("14.40")  # 24 × $0.60
    # The version says 1h: 5m saves $14.40 − $9.00 = $5.40 a day.
    assert row["ttl"] == "1h"
    assert row["recommended_ttl"] == "5m"
    assert row["saved_usd_per_day"] == Decimal("5.40")


def test_the_recommendation_flips_from_5m_to_1h_and_back_as_the_gaps_grow():
    steady = list(range(0, 86_400, 120))
    bursts = [burst * 1200 + offset for burst in range(72) for offset in (0, 10, 20)]
    hourly = list(range(0, 86_400, 3600))
    recommended = [
        ttl_advice(calls_at(seconds), days=ONE_DAY)["checkpoints"][0]["recommended_ttl"]
        for seconds in (steady, bursts, hourly)
    ]
    assert recommended == ["5m", "1h", "5m"]


def test_a_gap_of_exactly_the_ttl_rewrites_and_a_second_less_reads():
    exact = ttl_advice(calls_at([0, 300, 600 + 3600]), days=ONE_DAY)["checkpoints"][0]
    assert counts(exact["costs"]["5m"]) == (1, 2, 0)
    assert counts(exact["costs"]["1h"]) == (1, 1, 1)
    within = ttl_advice(calls_at([0, 299, 299 + 3599]), days=ONE_DAY)["checkpoints"][0]
    assert counts(within["costs"]["5m"]) == (1, 1, 1)
    assert counts(within["costs"]["1h"]) == (1, 0, 2)


def test_hourly_calls_a_second_short_of_the_hour_make_1h_win():
    # 24 calls 3,599 s apart: 1h writes once and reads 23 times: $0.60 + 23 × $0.03 = $1.29,
    # against 5m's 24 writes, $9.00.
    row = ttl_advice(calls_at([n * 3599 for n in range(24)]), days=ONE_DAY)["checkpoints"][0]
    assert row["costs"]["1h"]["usd"] == Decimal("1.29")
    assert row["recommended_ttl"] == "1h"


def test_savings_per_day_divide_by_the_window_days():
    seconds = [burst * 1200 + offset for burst in range(72) for offset in (0, 10, 20)]
    advice = ttl_advice(calls_at(seconds), days=Decimal(7))
    # the same day of traffic, over a 7-day window: $24.27 / 7
    assert advice["saved_usd_per_day"] == Decimal("24.27") / 7
    assert cents(advice["saved_usd_per_day"]) == Decimal("3.47")
    assert ttl_advice(calls_at(seconds), days=Decimal(0))["saved_usd_per_day"] is None


# --- segments and entries ------------------------------------------------------------------


def test_each_checkpoint_is_billed_for_the_tokens_after_the_previous_one_that_caches():
    marks = (
        checkpoint(1, tokens=20_000, fingerprint="sha256:tools"),
        checkpoint(2, tokens=30_000, fingerprint="sha256:short", status="below_minimum"),
        checkpoint(3, tokens=120_000, fingerprint="sha256:doc"),
    )
    advice = ttl_advice(calls_at([0, 60], *marks), days=ONE_DAY)
    first, second, third = advice["checkpoints"]
    assert first["costs"]["5m"]["written_tokens"] == 20_000
    assert first["costs"]["5m"]["read_tokens"] == 20_000
    # checkpoint 2 caches nothing: it is listed with no calls and no recommendation
    assert second["calls"] == 0 and second["recommended_ttl"] is None
    assert second["costs"]["5m"]["usd"] == 0
    # checkpoint 3 writes and reads what follows checkpoint 1: 120,000 − 20,000
    assert third["costs"]["5m"]["written_tokens"] == 100_000
    # 100,000 × $3.75 / 1e6 + 100,000 × $0.30 / 1e6 = $0.375 + $0.03
    assert third["costs"]["5m"]["usd"] == Decimal("0.405")


def test_each_fingerprint_is_its_own_entry():
    a = checkpoint(fingerprint="sha256:a")
    b = checkpoint(fingerprint="sha256:b")
    calls = calls_at([0], a) + calls_at([60], b) + calls_at([120], a) + calls_at([400], b)
    row = ttl_advice(calls, days=ONE_DAY)["checkpoints"][0]
    # a: written at 0, read at 120; b: written at 60, re-written at 400 (340 s later) under 5m
    assert counts(row["costs"]["5m"]) == (2, 1, 1)
    assert counts(row["costs"]["1h"]) == (2, 0, 2)


def test_calls_on_two_models_are_two_entries_each_at_its_own_prices():
    haiku = "sim/claude-haiku-4-5"  # $/MTok: write 5m 1.25, write 1h 2, read 0.10
    mark = checkpoint(tokens=10_000)
    calls = calls_at([0, 60], mark) + calls_at([30, 90], mark, model=haiku)
    row = ttl_advice(calls, days=ONE_DAY)["checkpoints"][0]
    five = row["costs"]["5m"]
    assert counts(five) == (2, 0, 2)
    # sonnet: 10,000 × (3.75 + 0.30) / 1e6 = $0.0405; haiku: 10,000 × (1.25 + 0.10) / 1e6 = $0.0135
    assert five["usd"] == Decimal("0.054")


def test_the_order_of_the_calls_given_does_not_matter():
    seconds = [0, 10, 1200, 1210, 5000]
    forwards = ttl_advice(calls_at(seconds), days=ONE_DAY)
    backwards = ttl_advice(list(reversed(calls_at(seconds))), days=ONE_DAY)
    assert forwards == backwards


# --- models without a choice ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "says"),
    [
        ("openai/gpt-5.6-sol", "30m"),
        ("openai/gpt-4o", "caches automatically"),
        ("bedrock/amazon.nova-lite-v1:0", "offers only a 5m cache TTL"),
        ("anthropic/claude-opus-9-unlisted", "no cache prices"),
    ],
)
def test_a_model_without_a_5m_and_1h_choice_says_why(model, says):
    assert says in ttl_choice_problem(get_profile(model))


def test_a_model_with_both_ttls_and_prices_has_a_choice():
    assert ttl_choice_problem(get_profile(MODEL)) is None


def test_calls_on_a_model_without_a_choice_are_skipped_with_the_reason():
    calls = calls_at([0, 60], model="openai/gpt-5.6-sol") + calls_at([0, 60, 120])
    calls += calls_at([5], model="nowhere/model")
    advice = ttl_advice(calls, days=ONE_DAY)
    assert advice["calls_analysed"] == 6
    skipped = {entry["model"]: entry for entry in advice["skipped"]}
    assert skipped["openai/gpt-5.6-sol"]["calls"] == 2
    assert "30m" in skipped["openai/gpt-5.6-sol"]["reason"]
    assert "nowhere" in skipped["nowhere/model"]["reason"]  # an unknown provider
    assert advice["checkpoints"][0]["calls"] == 3
    assert advice["reason"] is None


def test_no_recommendation_without_calls_or_a_model_with_a_choice_or_anything_cached():
    assert ttl_advice([], days=ONE_DAY)["reason"] == "no successful calls in the window"
    only_openai = ttl_advice(calls_at([0], model="openai/gpt-5.6-sol"), days=ONE_DAY)
    assert "no call in the window was on a model with a choice" in only_openai["reason"]
    assert only_openai["checkpoints"] == []
    nothing = ttl_advice(calls_at([0, 60], checkpoint(status="below_minimum")), days=ONE_DAY)
    assert nothing["reason"] == "no checkpoint cached anything in the window"
    assert ttl_hints(nothing) == []


# --- the version's assignment keeps every 1h entry before every 5m one ---------------------


def shared_tools_and_rotating_documents() -> list[LoggedCall]:
    """One call every 2 minutes for a day (720 calls). Checkpoint 1 (tools, 20,000 tokens) is
    the same in every call; checkpoint 2 adds a document (100,000 tokens more) from 10 in
    rotation, so each document comes back every 20 minutes."""
    calls = []
    for n in range(720):
        marks = [
            checkpoint(1, tokens=20_000, fingerprint="sha256:tools", ttl=None),
            checkpoint(2, tokens=120_000, fingerprint=f"sha256:doc-{n % 10}"),
        ]
        calls.append(LoggedCall(START + timedelta(seconds=120 * n), MODEL, marks))
    return calls


def test_the_assignment_keeps_1h_before_5m_even_when_a_checkpoint_alone_prefers_5m():
    advice = ttl_advice(shared_tools_and_rotating_documents(), days=ONE_DAY)
    tools, documents = advice["checkpoints"]
    # tools, 20,000 tokens: 1 write + 719 reads (719 × 20,000 × $0.30 / 1e6 = $4.314)
    #   5m: 20,000 × $3.75 / 1e6 = $0.075 + $4.314 = $4.389; 1h: $0.12 + $4.314 = $4.434
    assert (tools["costs"]["5m"]["usd"], tools["costs"]["1h"]["usd"]) == (
        Decimal("4.389"),
        Decimal("4.434"),
    )
    assert tools["recommended_ttl"] == "5m"
    # documents, 100,000 tokens each: every gap is 1,200 s
    #   5m: 720 writes × $0.375 = $270; 1h: 10 writes × $0.60 + 710 reads × $0.03 = $27.30
    assert counts(documents["costs"]["5m"]) == (10, 710, 0)
    assert documents["costs"]["5m"]["usd"] == Decimal("270.000")
    assert documents["costs"]["1h"]["usd"] == Decimal("27.30")
    assert documents["recommended_ttl"] == "1h"
    # 5m then 1h is not allowed; the splits: 5m,5m $274.389; 1h,5m $274.434; 1h,1h $31.734
    assert (tools["assigned_ttl"], documents["assigned_ttl"]) == ("1h", "1h")
    assert advice["current_usd"] == Decimal("274.389")
    assert advice["recommended_usd"] == Decimal("31.734")
    assert advice["saved_usd_per_day"] == Decimal("242.655")


def test_the_current_ttls_are_kept_when_they_cost_as_little():
    # One call writes under either TTL, and the 5m write is the cheaper: 5m stays.
    advice = ttl_advice(calls_at([0], checkpoint(ttl="5m")), days=ONE_DAY)
    assert advice["checkpoints"][0]["assigned_ttl"] == "5m"
    assert advice["saved_usd_per_day"] == 0
    # A prefix of no tokens costs nothing under either TTL: the version's 1h stays.
    free = ttl_advice(calls_at([0, 10], checkpoint(tokens=0, ttl="1h")), days=ONE_DAY)
    assert free["checkpoints"][0]["recommended_ttl"] == "1h"
    assert free["checkpoints"][0]["assigned_ttl"] == "1h"


# --- the lint hint -------------------------------------------------------------------------


def test_a_hint_names_the_checkpoint_its_ttl_the_other_and_the_dollars_per_day():
    hourly = calls_at(list(range(0, 86_400, 3600)), checkpoint(ttl="1h"))
    [hint] = ttl_hints(ttl_advice(hourly, days=ONE_DAY))
    assert hint["code"] == HINT_CODE == "ttl_costs_more"
    assert hint["path"] == "messages[0].content[1]"
    assert (hint["ordinal"], hint["ttl"], hint["recommended_ttl"]) == (1, "1h", "5m")
    assert hint["usd_per_day"] == 5.40
    assert hint["message"].startswith("checkpoint 1 uses a 1h TTL: on the last 1 day of traffic")
    assert "5m would have cost $5.40 less per day" in hint["message"]


def test_a_checkpoint_moved_to_1h_only_for_the_ones_after_it_says_so():
    hints = ttl_hints(ttl_advice(shared_tools_and_rotating_documents(), days=ONE_DAY))
    tools, documents = hints
    assert (tools["ordinal"], tools["ttl"], tools["recommended_ttl"]) == (1, "5m", "1h")
    # here 1h costs $4.434 − $4.389 = $0.045 more a day (shown rounded to the cent)
    assert "1h costs $0.05 more per day here" in tools["message"]
    assert "save $242.66 per day in all" in tools["message"]
    assert "5m would have cost" not in documents["message"]
    assert "1h would have cost $242.70 less per day" in documents["message"]


def test_no_hint_when_the_current_ttl_is_the_cheaper_or_saves_less_than_a_cent_a_day():
    steady = calls_at(list(range(0, 86_400, 120)))
    assert ttl_hints(ttl_advice(steady, days=ONE_DAY)) == []
    small = calls_at([0, 3600, 7200], checkpoint(tokens=1000, ttl="1h"))
    # 3 writes of 1,000 tokens: 5m saves 3 × 1,000 × (6 − 3.75) / 1e6 = $0.00675 a day
    assert ttl_advice(small, days=ONE_DAY)["saved_usd_per_day"] == Decimal("0.00675")
    assert ttl_hints(ttl_advice(small, days=ONE_DAY)) == []


# --- properties over any traffic -----------------------------------------------------------

# Calls at any times (within four hours) with any of four documents, and the version's TTLs:
# any assignment providers accept (1h before 5m; None is the default, 5m).
traffic = st.tuples(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=4 * 3600), st.integers(0, 3)), max_size=60
    ),
    st.sampled_from([(None, "5m"), ("5m", "5m"), ("1h", "5m"), ("1h", "1h")]),
)


def logged(example: tuple[list[tuple[int, int]], tuple[str | None, str]]) -> list[LoggedCall]:
    entries, (first, second) = example
    calls = []
    for at, document in entries:
        marks = [
            checkpoint(1, tokens=5_000, fingerprint="sha256:tools", ttl=first),
            checkpoint(
                2, tokens=8_000 + document, fingerprint=f"sha256:doc-{document}", ttl=second
            ),
        ]
        calls.append(LoggedCall(START + timedelta(seconds=at), MODEL, marks))
    return calls


@settings(max_examples=200, deadline=None)
@given(traffic)
def test_every_cached_call_is_a_write_a_rewrite_or_a_read_under_each_ttl(example):
    for row in ttl_advice(logged(example), days=ONE_DAY)["checkpoints"]:
        for cost in row["costs"].values():
            assert cost["writes"] + cost["rewrites"] + cost["reads"] == row["calls"]


@settings(max_examples=200, deadline=None)
@given(traffic)
def test_1h_writes_as_often_as_5m_the_first_time_and_never_rewrites_more(example):
    for row in ttl_advice(logged(example), days=ONE_DAY)["checkpoints"]:
        five, hour = row["costs"]["5m"], row["costs"]["1h"]
        assert hour["writes"] == five["writes"]
        assert hour["rewrites"] <= five["rewrites"]
        assert hour["reads"] >= five["reads"]


@settings(max_examples=200, deadline=None)
@given(traffic)
def test_the_assignment_is_the_cheapest_ordered_split_and_never_costs_more_than_now(example):
    advice = ttl_advice(logged(example), days=ONE_DAY)
    rows = advice["checkpoints"]
    splits = [["1h"] * m + ["5m"] * (len(rows) - m) for m in range(len(rows) + 1)]
    cheapest = min(
        sum((row["costs"][ttl]["usd"] for row, ttl in zip(rows, split, strict=True)), Decimal(0))
        for split in splits
    )
    assert advice["recommended_usd"] == cheapest
    assert [row["assigned_ttl"] for row in rows] in splits
    assert advice["recommended_usd"] <= advice["current_usd"]
    assert advice["saved_usd_per_day"] >= 0
    for row in rows:
        assert row["saved_usd_per_day"] >= 0
