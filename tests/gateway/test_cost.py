"""Cost arithmetic against hand-computed figures from the catalog's prices.

Multipliers on input price (Claude): 5-minute write ×1.25, 1-hour write ×2, read ×0.1.
Each provider reports usage its own way; once normalized, no token is priced twice.
"""

from __future__ import annotations

from decimal import Decimal

from gateway.anthropic.translate import from_anthropic
from gateway.bedrock.translate import from_converse
from gateway.catalog import get_profile
from gateway.cost import cost
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
    # 30×3 + 3000×6 + 2000×3.75 + 20×15 = 90 + 18000 + 7500 + 300
    assert cost(usage, prices).usd == usd("0.02589")
