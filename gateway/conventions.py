"""Usage and stop reasons in each provider's own convention, from the normalized ones.

An answer served by one provider can be reported in another's shape (an OpenAI SDK
call answered by Claude on Bedrock). OpenAI counts cached and written tokens *inside*
its prompt total; Anthropic counts them beside ``input_tokens``. Converting from the
normalized ``Usage`` (uncached input, reads and writes apart) counts each token once in
either convention. A count the provider did not report is 0 here: the SDKs' usage
types take integers.
"""

from __future__ import annotations

from typing import Any

from gateway.types import Usage

# Stop reasons of every provider (Anthropic, Bedrock, OpenAI, the simulator), per convention.
OPENAI_FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "content_filtered": "content_filter",
    "guardrail_intervened": "content_filter",
    "refusal": "content_filter",
    "pause_turn": "stop",
    "model_context_window_exceeded": "length",
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "content_filter": "content_filter",
}
ANTHROPIC_STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "content_filter": "refusal",
    "content_filtered": "refusal",
    "guardrail_intervened": "refusal",
    "end_turn": "end_turn",
    "stop_sequence": "stop_sequence",
    "max_tokens": "max_tokens",
    "tool_use": "tool_use",
    "refusal": "refusal",
    "pause_turn": "pause_turn",
    "model_context_window_exceeded": "model_context_window_exceeded",
}


# Stops where the model finished on its own: with tool calls, those mean "call the tools".
# A token limit or a filter is kept: the calls may be cut off.
NATURAL_STOPS = ("", "stop", "end_turn", "stop_sequence", "tool_use", "tool_calls", "pause_turn")


def _counts(usage: Usage) -> tuple[int, int, int, int, int]:
    return (
        usage.input_tokens or 0,
        usage.cache_read_tokens or 0,
        usage.cache_write_5m_tokens or 0,
        usage.cache_write_1h_tokens or 0,
        usage.output_tokens or 0,
    )


def chat_completions_usage(usage: Usage) -> dict[str, Any]:
    """OpenAI Chat Completions ``usage``: ``prompt_tokens`` includes reads and writes."""
    uncached, read, write_5m, write_1h, output = _counts(usage)
    prompt = uncached + read + write_5m + write_1h
    return {
        "prompt_tokens": prompt,
        "completion_tokens": output,
        "total_tokens": prompt + output,
        "prompt_tokens_details": {"cached_tokens": read, "cache_write_tokens": write_5m + write_1h},
    }


def responses_usage(usage: Usage) -> dict[str, Any]:
    """OpenAI Responses ``usage``: ``input_tokens`` includes reads and writes."""
    uncached, read, write_5m, write_1h, output = _counts(usage)
    total_input = uncached + read + write_5m + write_1h
    return {
        "input_tokens": total_input,
        "input_tokens_details": {"cached_tokens": read, "cache_write_tokens": write_5m + write_1h},
        "output_tokens": output,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": total_input + output,
    }


def anthropic_usage(usage: Usage) -> dict[str, Any]:
    """Anthropic ``usage``: ``input_tokens`` is uncached input only; writes split by TTL."""
    uncached, read, write_5m, write_1h, output = _counts(usage)
    return {
        "input_tokens": uncached,
        "cache_creation_input_tokens": write_5m + write_1h,
        "cache_read_input_tokens": read,
        "cache_creation": {
            "ephemeral_5m_input_tokens": write_5m,
            "ephemeral_1h_input_tokens": write_1h,
        },
        "output_tokens": output,
    }


def openai_finish_reason(stop_reason: str | None, *, called: bool = False) -> str:
    """The Chat Completions ``finish_reason`` of any provider's stop reason."""
    if called and (stop_reason or "") in NATURAL_STOPS:
        return "tool_calls"
    return OPENAI_FINISH_REASONS.get(stop_reason or "", "stop")


def anthropic_stop_reason(stop_reason: str | None, *, called: bool = False) -> str:
    """The Anthropic ``stop_reason`` of any provider's stop reason."""
    if called and (stop_reason or "") in NATURAL_STOPS:
        return "tool_use"
    return ANTHROPIC_STOP_REASONS.get(stop_reason or "", "end_turn")
