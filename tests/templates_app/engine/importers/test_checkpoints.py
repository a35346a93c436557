"""The checkpoint an import proposes for a body without one (engine/importers/checkpoints.py)."""

from __future__ import annotations

import pytest

from templates_app.engine.errors import BodyError
from templates_app.engine.importers.checkpoints import apply, propose
from templates_app.engine.rendering import compile_body
from tests.factories import make_tool

LONG = "Policy clause, always the same. " * 400  # ~3,200 tokens of static text


def body(*messages, tools=(), model="sim/claude-sonnet-4-5") -> dict:
    return {
        "model": model,
        "variables": {"question": {"type": "string", "required": True}},
        "tools": list(tools),
        "messages": list(messages),
    }


def user(text="{{ question }}") -> dict:
    return {"role": "user", "content": text}


def test_the_last_static_block_before_the_first_variable_gets_the_checkpoint():
    raw = body(
        {
            "role": "system",
            "content": [{"type": "text", "text": "Intro."}, {"type": "text", "text": LONG}],
        },
        user(),
    )
    proposal, why = propose(raw)
    assert proposal.path == "messages[0].content[1]"
    assert proposal.tokens >= 3000 and proposal.min_tokens == 1024
    assert why.startswith("checkpoint proposed at messages[0].content[1]: the static prefix")
    marked = apply(raw, proposal)
    assert marked["messages"][0]["content"][1]["cache_control"] == {"type": "ephemeral"}
    assert "cache_control" not in raw["messages"][0]["content"][1]  # the input is left alone
    [checkpoint] = compile_body(marked).body.checkpoints
    assert checkpoint.path == "messages[0].content[1]"


def test_a_string_message_is_marked_on_the_message_and_tools_count_first():
    raw = body({"role": "system", "content": LONG}, user(), tools=[make_tool()])
    proposal, _ = propose(raw)
    assert proposal.path == "messages[0].content"
    marked = apply(raw, proposal)
    assert marked["messages"][0]["cache_control"] == {"type": "ephemeral"}
    compile_body(marked)


def test_a_variable_in_the_system_text_stops_the_prefix_at_the_tools():
    tools = [make_tool(function={**make_tool()["function"], "description": LONG})]
    raw = body({"role": "system", "content": "Hello {{ question }}"}, tools=tools)
    proposal, _ = propose(raw)
    assert proposal.path == "tools[0]"
    assert apply(raw, proposal)["tools"][0]["cache_control"] == {"type": "ephemeral"}


def test_a_clock_is_not_static_either():
    raw = body({"role": "system", "content": "Today is {{ now() }}. " + LONG}, user())
    proposal, why = propose(raw)
    assert proposal is None
    assert why == (
        "no checkpoint proposed: the static prefix is about 0 tokens, below the 1,024 tokens "
        "sim/claude-sonnet-4-5 caches from"
    )


def test_a_short_prefix_gets_no_proposal_and_a_marked_body_none_at_all():
    proposal, why = propose(body({"role": "system", "content": "Short."}, user()))
    assert proposal is None and "below the 1,024 tokens" in why
    marked = body(
        {"role": "system", "content": LONG, "cache_control": {"type": "ephemeral"}}, user()
    )
    assert propose(marked) == (None, None)


def test_a_malformed_body_is_a_body_error():
    with pytest.raises(BodyError):
        propose({"model": "sim/claude-sonnet-4-5", "messages": "nope"})
