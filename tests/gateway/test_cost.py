"""Cost arithmetic against hand-computed figures from the catalog's prices.

Multipliers on input price (Claude): 5-minute write ×1.25, 1-hour write ×2, read ×0.1.
Each provider reports usage its own way; once normalized, no token is priced twice.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.anthropic.translate import from_anthropic
from gateway.bedrock.translate import from_converse
from gateway.catalog import get_profile
from gateway.cost import cost, mixed_ttl_writes
from gateway.openai.translate import from_openai
from gateway.types import Usage

SONNET = get_profile("anthropic/claude-sonnet-4-5").prices  # input $3, output $15 per MTok


def usd(text: str) -> Decimal:
    return Decimal(text)


def test_claude_multipliers_are_the_catalog_prices():
    assert SONNET.cache_write_5m == SONNET.input * Decimal("1.25")
    assert SONNET.cache_write_1h == SONNET.input * 2
    assert SONNET.cache_read == SONNET.input * Decimal("0.1")


def test_every_token_kind_is_priced_once_at_its_rate():
    usage = Usage(
        input_tokens=100,
        output_tokens=50,
        cache_read_tokens=3000,
        cache_write_5m_tokens=1000,
        cache_write_1h_tokens=2000,
    )
    # 100×3 + 3000×0.30 + 1000×3.75 + 2000×6 + 50×15 = 300 + 900 + 3750 + 12000 + 750
    # without cache: (100 + 3000 + 1000 + 2000)×3 + 50×15 = 18300 + 750
    result = cost(usage, SONNET)
    assert result.usd == usd("0.0177")
    assert result.usd_without_cache == usd("0.01905")
    assert result.saved_usd == usd("0.00135")


def test_a_write_costs_more_than_no_cache_and_a_read_much_less():
    write = cost(Usage(input_tokens=10, output_tokens=0, cache_write_5m_tokens=10_000), SONNET)
    read = cost(Usage(input_tokens=10, output_tokens=0, cache_read_tokens=10_000), SONNET)
    assert write.saved_usd == usd("-0.0075")  # 10,000 × (3.75 − 3) / 1e6
    assert read.saved_usd == usd("0.027")  # 10,000 × (3 − 0.30) / 1e6


def test_unknown_counts_are_priced_as_zero():
    assert cost(Usage(), SONNET).usd == 0


def test_anthropic_usage_is_not_double_counted():
    body = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": "ok"}],
        "stop_reason": "end_turn",
        "usage": {
            "input_tokens": 20,
            "cache_creation_input_tokens": 1000,
            "cache_read_input_tokens": 4000,
            "output_tokens": 10,
            "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 1000},
        },
    }
    result = cost(from_anthropic(body).usage, SONNET)
    # 20×3 + 1000×6 + 4000×0.30 + 10×15 = 60 + 6000 + 1200 + 150
    assert result.usd == usd("0.00741")
    assert result.usd_without_cache == usd("0.01521")  # 5020×3 + 150


def test_openai_cached_tokens_are_taken_out_of_prompt_tokens():
    gpt4o = get_profile("openai/gpt-4o").prices  # input 2.50, cached 1.25, output 10
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "gpt-4o",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}
        ],
        "usage": {
            "prompt_tokens": 2006,
            "completion_tokens": 300,
            "total_tokens": 2306,
            "prompt_tokens_details": {"cached_tokens": 1920},
        },
    }
    usage = from_openai(body).usage
    assert (usage.input_tokens, usage.cache_read_tokens) == (86, 1920)
    result = cost(usage, gpt4o)
    # 86×2.50 + 1920×1.25 + 300×10 = 215 + 2400 + 3000; without: 2006×2.50 + 3000
    assert result.usd == usd("0.005615")
    assert result.usd_without_cache == usd("0.008015")


def test_bedrock_cache_details_split_writes_by_ttl():
    prices = get_profile("bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0").prices
    body = {
        "output": {"message": {"role": "assistant", "content": [{"text": "ok"}]}},
        "stopReason": "end_turn",
        "usage": {
            "inputTokens": 30,
            "outputTokens": 20,
            "totalTokens": 5050,
            "cacheReadInputTokens": 0,
            "cacheWriteInputTokens": 5000,
            "cacheDetails": [
                {"ttl": "1h", "inputTokens": 3000},
                {"ttl": "5m", "inputTokens": 2000},
            ],
        },
        "metrics": {"latencyMs": 100},
    }
    usage = from_converse(body).usage
    assert (usage.cache_write_1h_tokens, usage.cache_write_5m_tokens) == (3000, 2000)
    # (30×3 + 3000×6 + 2000×3.75 + 20×15) × 1.1 for a regional profile = 25890 × 1.1
    assert cost(usage, prices).usd == usd("0.028479")


# Anthropic's mixed-TTL rule: A = highest position read, B = last 1h marker after A,
# C = last marker; reads A, 1h writes B − A, 5m writes C − B.


def test_mixed_ttls_bill_one_hour_up_to_the_last_1h_marker_and_5m_after_it():
    markers = [(2000, "1h"), (5000, "1h"), (6000, "5m"), (9000, "5m")]

    assert mixed_ttl_writes(markers, read=0) == {"1h": 5000, "5m": 4000}
    assert mixed_ttl_writes(markers, read=2000) == {"1h": 3000, "5m": 4000}
    # Read past every 1h marker: B = A, so all that is written is 5m.
    assert mixed_ttl_writes(markers, read=5000) == {"1h": 0, "5m": 4000}
    assert mixed_ttl_writes(markers, read=9000) == {"1h": 0, "5m": 0}


def test_single_ttl_calls_write_everything_at_that_ttl():
    assert mixed_ttl_writes([(1500, "5m"), (4000, "5m")], read=0) == {"1h": 0, "5m": 4000}
    assert mixed_ttl_writes([(1500, "1h"), (4000, "1h")], read=1500) == {"1h": 2500, "5m": 0}
    assert mixed_ttl_writes([], read=0) == {"1h": 0, "5m": 0}


@given(
    st.lists(st.integers(1, 100_000), min_size=1, max_size=4, unique=True),
    st.integers(0, 4),
    st.integers(0, 4),
)
def test_mixed_ttl_parts_add_up_to_the_last_marker_for_any_prefix(positions, ones, read_index):
    positions = sorted(positions)
    markers = [(p, "1h" if i < ones else "5m") for i, p in enumerate(positions)]
    read = ([0] + positions)[min(read_index, len(positions))]

    written = mixed_ttl_writes(markers, read)

    assert written["1h"] >= 0 and written["5m"] >= 0
    assert read + written["1h"] + written["5m"] == max(positions[-1], read)


def test_a_mixed_ttl_call_costs_what_the_rule_gives_by_hand():
    # Sonnet 4.5: input 3, 5m write 3.75, 1h write 6, read 0.30, output 15 per MTok.
    # A tools checkpoint at 2,000 (1h, read), a system one at 5,000 (1h), messages at 6,500 (5m).
    written = mixed_ttl_writes([(2000, "1h"), (5000, "1h"), (6500, "5m")], read=2000)
    usage = Usage(
        input_tokens=300,
        output_tokens=100,
        cache_read_tokens=2000,
        cache_write_5m_tokens=written["5m"],
        cache_write_1h_tokens=written["1h"],
    )
    assert written == {"1h": 3000, "5m": 1500}
    # 300×3 + 2000×0.30 + 3000×6 + 1500×3.75 + 100×15 = 900 + 600 + 18000 + 5625 + 1500
    priced = cost(usage, SONNET)
    assert priced.usd == usd("26625") / 10**6
    # without cache: (300 + 2000 + 3000 + 1500)×3 + 100×15 = 20400 + 1500
    assert priced.usd_without_cache == usd("21900") / 10**6


@pytest.mark.parametrize(
    ("model", "read_usd"),
    [
        ("openai/gpt-4o", "1.25"),  # 0.5x of 2.50
        ("openai/gpt-4.1", "0.50"),  # 0.25x of 2.00
        ("openai/gpt-5", "0.125"),  # 0.1x of 1.25
    ],
)
def test_openai_reads_cost_each_models_own_multiplier(model, read_usd):
    usage = Usage(input_tokens=0, output_tokens=0, cache_read_tokens=1_000_000)

    assert cost(usage, get_profile(model).prices).usd == usd(read_usd)


def test_openai_before_5_6_writes_nothing_and_gpt_5_6_writes_at_1_25x():
    old = from_openai(
        {
            "choices": [{"message": {"content": "ok"}, "finish_reason": "stop"}],
            "usage": {
                "prompt_tokens": 1000,
                "completion_tokens": 0,
                "prompt_tokens_details": {"cached_tokens": 0},
            },
        }
    ).usage
    assert old.cache_write_tokens == 0
    assert cost(old, get_profile("openai/gpt-4o").prices).usd == usd("0.0025")
    write = Usage(input_tokens=0, output_tokens=0, cache_write_5m_tokens=1_000_000)
    assert cost(write, get_profile("openai/gpt-5.6-terra").prices).usd == usd("2.50")


def test_a_regional_bedrock_profile_costs_ten_percent_more_than_global():
    usage = Usage(input_tokens=1_000_000, output_tokens=0, cache_read_tokens=1_000_000)
    base = "anthropic.claude-sonnet-4-5-20250929-v1:0"

    regional = cost(usage, get_profile(f"bedrock/us.{base}").prices)
    global_ = cost(usage, get_profile(f"bedrock/global.{base}").prices)

    assert global_.usd == usd("3.30")  # 3 + 0.30
    assert regional.usd == usd("3.63")  # (3 + 0.30) x 1.1
    assert "x1.1 regional" in get_profile(f"bedrock/us.{base}").sources["prices"]
    # Older models carry no surcharge.
    older = "anthropic.claude-3-7-sonnet-20250219-v1:0"
    assert get_profile(f"bedrock/us.{older}").prices == get_profile(f"bedrock/{older}").prices


def test_an_unknown_price_gives_no_cost_rather_than_a_wrong_one():
    prices = get_profile("openai/gpt-5.6-terra").prices  # output price not published

    assert cost(Usage(input_tokens=10, output_tokens=5), prices) is None
    assert cost(Usage(input_tokens=10, output_tokens=0), prices).usd == usd("0.00002")
    assert cost(Usage(input_tokens=10, output_tokens=5), get_profile("openai/x").prices) is None
