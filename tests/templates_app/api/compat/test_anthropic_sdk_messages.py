"""The official Anthropic SDK against /anthropic/v1/messages: a template by id, answered as
a Messages API ``message`` (or its event stream), whatever provider served it."""

from __future__ import annotations

import anthropic
import pytest

from tests.factories import DOCUMENT, make_body, make_template, make_version
from tests.fakes import openai as fake_openai

pytestmark = pytest.mark.django_db(transaction=True)

VALUES = {"document": DOCUMENT, "question": "What is the uptime?"}


@pytest.fixture
def client(anthropic_client):
    return anthropic_client


@pytest.fixture
def template():
    template = make_template(slug="doc-qa")
    make_version(template)
    return template


def ask(client, **extra):
    return client.messages.create(
        model="default",
        max_tokens=256,
        messages=[{"role": "user", "content": "Please be brief."}],
        extra_body={"prompt": {"id": "doc-qa", "variables": VALUES}},
        **extra,
    )


def test_two_sends_write_then_read_in_anthropic_usage(client, template):
    first = ask(client)
    second = ask(client)

    assert first.type == "message" and first.role == "assistant"
    assert first.content[0].text.startswith("Simulated answer")
    assert first.stop_reason == "end_turn"
    written = first.usage.cache_creation_input_tokens
    assert written > 1024 and first.usage.cache_read_input_tokens == 0
    assert first.usage.cache_creation.ephemeral_1h_input_tokens == written  # a 1h checkpoint
    assert second.usage.cache_read_input_tokens == written
    assert second.usage.cache_creation_input_tokens == 0
    # Anthropic's convention: input_tokens is the uncached part only.
    assert second.usage.input_tokens == first.usage.input_tokens
    assert second.model_extra["cachet"]["cost"]["saved_usd"] > 0


def test_a_stream_gives_the_same_usage_and_cost_as_the_answer(client, template):
    ask(client)  # warm
    answer = ask(client)
    with client.messages.stream(
        model="default",
        max_tokens=256,
        messages=[{"role": "user", "content": "Please be brief."}],
        extra_body={"prompt": {"id": "doc-qa", "variables": VALUES}},
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()

    assert text == answer.content[0].text
    # The SDK takes every count from message_delta (the TTL breakdown stays on that event).
    counts = (
        "input_tokens",
        "output_tokens",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
    )
    assert {k: getattr(final.usage, k) for k in counts} == {
        k: getattr(answer.usage, k) for k in counts
    }
    assert final.stop_reason == "end_turn"


def test_the_stream_events_are_anthropics(client, template):
    events = list(ask(client, stream=True))

    kinds = [event.type for event in events]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert kinds[1] == "content_block_start" and "content_block_delta" in kinds
    delta = next(e for e in events if e.type == "message_delta")
    assert delta.usage.cache_creation_input_tokens > 1024
    assert delta.model_extra["cachet"]["invocation_id"]


def test_a_streamed_read_costs_what_the_answered_read_costs(client, template):
    ask(client)  # warm
    answer = ask(client)
    events = list(ask(client, stream=True))

    delta = next(e for e in events if e.type == "message_delta")
    fields = delta.usage.model_dump(exclude_none=True)
    assert fields == answer.usage.model_dump(exclude_none=True)
    assert delta.model_extra["cachet"]["cost"] == answer.model_extra["cachet"]["cost"]


def test_a_system_prompt_and_a_template_on_openai_are_served(client, upstream):
    server = upstream(
        fake_openai.CachingCompletions(), OPENAI_API_KEY="sk-test", OPENAI_BASE_URL="{url}/v1"
    )
    template = make_template(slug="doc-qa")
    body = make_body(model="openai/gpt-4o")
    body["messages"] = body["messages"][:1]  # the template holds the system prompt only
    body["variables"] = {"document": {"type": "string", "required": True}}
    make_version(template, body=body)

    answer = client.messages.create(
        model="default",
        max_tokens=64,
        system="Answer in French.",
        messages=[{"role": "user", "content": "Quelle est la disponibilité ?"}],
        extra_body={"prompt": {"id": "doc-qa", "variables": {"document": DOCUMENT}}},
    )

    sent = server.requests[-1].json()
    assert [m["role"] for m in sent["messages"]] == ["system", "system", "user"]
    assert sent["messages"][1]["content"] == "Answer in French."
    assert answer.model_extra["cachet"]["provider"] == "openai"
    assert answer.usage.cache_creation_input_tokens == 0  # gpt-4o writes nothing it bills


def test_tool_use_and_tool_result_blocks_continue_the_conversation(client, template):
    answer = client.messages.create(
        model="default",
        max_tokens=64,
        messages=[
            {"role": "user", "content": "Look order 7 up."},
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"id": 7}}
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "shipped"},
                    {"type": "text", "text": "And now?"},
                ],
            },
        ],
        extra_body={"prompt": {"id": "doc-qa", "variables": VALUES}},
    )

    assert "And now?" in answer.content[0].text


def test_a_bad_variable_is_the_sdks_bad_request_error(client, template):
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(
            model="default",
            max_tokens=64,
            messages=[],
            extra_body={"prompt": {"id": "doc-qa", "variables": {"document": 7, "question": "x"}}},
        )

    assert caught.value.status_code == 400
    assert "document" in str(caught.value)
    assert caught.value.body["error"]["type"] == "invalid_request_error"


def test_a_wrong_key_is_the_sdks_authentication_error(cachet_server, template):
    client = anthropic.Anthropic(
        base_url=f"{cachet_server.url}/anthropic", api_key="ck_wrong", max_retries=0
    )

    with pytest.raises(anthropic.AuthenticationError) as caught:
        ask(client)

    assert caught.value.body["error"]["type"] == "authentication_error"


def test_an_unknown_path_is_anthropics_not_found(client):
    with pytest.raises(anthropic.NotFoundError):
        client.models.list()


def test_a_system_prompt_after_the_templates_conversation_is_refused(client, template):
    with pytest.raises(anthropic.BadRequestError) as caught:
        ask(client, system="Answer in French.")

    assert "a system message cannot follow the template's conversation" in str(caught.value)
