"""Tool calls a provider answers with reach each SDK in its own shape, streamed or not."""

from __future__ import annotations

import pytest

from tests.factories import DOCUMENT, make_body, make_template, make_version
from tests.fakes import anthropic as fake

pytestmark = pytest.mark.django_db(transaction=True)

VALUES = {"document": DOCUMENT, "question": "Weather?"}
PROMPT = {"id": "doc-qa", "variables": VALUES}
CALL_ID = "toolu_01A09q90qw90lq917835lq9"  # in response_tool_use.json
STREAMED_ID = "toolu_01T1x1fJ34qAmk2tNTrN7Up6"  # in stream_tool_use.txt
ARGUMENTS = '{"city":"Zürich","unit":"c"}'  # the input object, as compact JSON


@pytest.fixture
def claude(upstream):
    """A template on Claude, created before the provider is configured (no token counts),
    and the Anthropic fake it sends to, with nothing scripted yet."""
    template = make_template(slug="doc-qa")
    make_version(template, body=make_body(model="anthropic/claude-sonnet-4-5"))
    return upstream(None, ANTHROPIC_API_KEY="sk-ant-test", ANTHROPIC_BASE_URL="{url}")


def test_chat_completions_carries_the_tool_call(openai_client, claude):
    claude.script(fake.reply(fake.load("response_tool_use.json")))

    answer = openai_client.chat.completions.create(
        model="default", messages=[], extra_body={"prompt": PROMPT}
    )

    (call,) = answer.choices[0].message.tool_calls
    assert (call.id, call.function.name) == (CALL_ID, "get_weather")
    assert call.function.arguments == ARGUMENTS
    assert answer.choices[0].finish_reason == "tool_calls"


def test_a_streamed_tool_call_arrives_in_chunks(openai_client, claude):
    claude.script(fake.stream_reply([fake.recorded_stream()]))

    chunks = list(
        openai_client.chat.completions.create(
            model="default", messages=[], stream=True, extra_body={"prompt": PROMPT}
        )
    )

    calls = [call for c in chunks if c.choices for call in (c.choices[0].delta.tool_calls or [])]
    assert [(c.id, c.function.name) for c in calls] == [(STREAMED_ID, "get_weather")]
    assert calls[0].function.arguments == ARGUMENTS
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"


def test_responses_carries_a_function_call_item(openai_client, claude):
    claude.script(fake.reply(fake.load("response_tool_use.json")))

    answer = openai_client.responses.create(prompt=PROMPT)

    message, call = answer.output
    assert message.content[0].text == "I'll check the current weather in Zürich."
    assert (call.type, call.call_id, call.name) == ("function_call", CALL_ID, "get_weather")


def test_a_streamed_function_call_is_announced_then_completed(openai_client, claude):
    claude.script(fake.stream_reply([fake.recorded_stream()]))

    events = list(openai_client.responses.create(prompt=PROMPT, stream=True))

    added = [
        e
        for e in events
        if e.type == "response.output_item.added" and e.item.type == "function_call"
    ]
    assert [e.item.name for e in added] == ["get_weather"]
    done = next(e for e in events if e.type == "response.function_call_arguments.done")
    assert done.arguments == ARGUMENTS
    assert events[-1].response.output[1].call_id == STREAMED_ID


def test_anthropic_streams_the_tool_use_block_the_sdk_assembles(anthropic_client, claude):
    claude.script(fake.stream_reply([fake.recorded_stream()]))

    with anthropic_client.messages.stream(
        model="default", max_tokens=64, messages=[], extra_body={"prompt": PROMPT}
    ) as stream:
        final = stream.get_final_message()

    text, call = final.content
    assert text.text == "Okay, let's check the weather in Zürich."
    assert (call.id, call.name, call.input) == (
        STREAMED_ID,
        "get_weather",
        {"city": "Zürich", "unit": "c"},
    )
    assert final.stop_reason == "tool_use"
