"""Usage and stop reasons in each provider's convention: every token counted once."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.conventions import (
    anthropic_stop_reason,
    anthropic_usage,
    chat_completions_usage,
    openai_finish_reason,
    responses_usage,
)
from gateway.types import Usage

USAGE = Usage(
    input_tokens=200, output_tokens=9, cache_read_tokens=1000,
    cache_write_5m_tokens=300, cache_write_1h_tokens=500,
)  # fmt: skip


def test_openai_conventions_hold_reads_and_writes_inside_the_prompt_total():
    chat = chat_completions_usage(USAGE)
    responses = responses_usage(USAGE)

    assert chat == {
        "prompt_tokens": 2000,  # 200 + 1000 + 300 + 500, by hand
        "completion_tokens": 9,
        "total_tokens": 2009,
        "prompt_tokens_details": {"cached_tokens": 1000, "cache_write_tokens": 800},
    }
    assert responses["input_tokens"] == 2000 and responses["total_tokens"] == 2009
    assert responses["input_tokens_details"] == {"cached_tokens": 1000, "cache_write_tokens": 800}


def test_anthropics_convention_keeps_them_beside_the_uncached_input():
    assert anthropic_usage(USAGE) == {
        "input_tokens": 200,
        "cache_creation_input_tokens": 800,
        "cache_read_input_tokens": 1000,
        "cache_creation": {"ephemeral_5m_input_tokens": 300, "ephemeral_1h_input_tokens": 500},
        "output_tokens": 9,
    }


def test_unknown_counts_are_zero_in_every_convention():
    assert chat_completions_usage(Usage())["prompt_tokens"] == 0
    assert anthropic_usage(Usage(input_tokens=5))["cache_read_input_tokens"] == 0


counts = st.integers(min_value=0, max_value=10**7)


@given(counts, counts, counts, counts, counts)
def test_both_conventions_count_the_same_prompt(uncached, read, write_5m, write_1h, output):
    usage = Usage(uncached, output, read, write_5m, write_1h)
    anthropic = anthropic_usage(usage)
    openai = chat_completions_usage(usage)

    anthropic_total = (
        anthropic["input_tokens"]
        + anthropic["cache_creation_input_tokens"]
        + anthropic["cache_read_input_tokens"]
    )
    assert openai["prompt_tokens"] == anthropic_total == usage.prompt_tokens
    assert openai["prompt_tokens_details"]["cached_tokens"] == anthropic["cache_read_input_tokens"]


@pytest.mark.parametrize(
    ("reason", "openai", "anthropic"),
    [
        ("end_turn", "stop", "end_turn"),
        ("max_tokens", "length", "max_tokens"),
        ("stop_sequence", "stop", "stop_sequence"),
        ("tool_use", "tool_calls", "tool_use"),
        ("stop", "stop", "end_turn"),
        ("length", "length", "max_tokens"),
        ("content_filter", "content_filter", "refusal"),
        ("content_filtered", "content_filter", "refusal"),
        (None, "stop", "end_turn"),
    ],
)
def test_stop_reasons_of_every_provider_map_to_each_convention(reason, openai, anthropic):
    assert openai_finish_reason(reason) == openai
    assert anthropic_stop_reason(reason) == anthropic


def test_a_tool_call_is_the_stop_reason_whatever_the_provider_said():
    assert openai_finish_reason("end_turn", called=True) == "tool_calls"
    assert anthropic_stop_reason("stop", called=True) == "tool_use"


@pytest.mark.parametrize("reason", ["max_tokens", "length", "content_filter"])
def test_tool_calls_cut_by_a_limit_keep_the_limit_as_the_stop_reason(reason):
    assert openai_finish_reason(reason, called=True) in ("length", "content_filter")
    assert anthropic_stop_reason(reason, called=True) in ("max_tokens", "refusal")
