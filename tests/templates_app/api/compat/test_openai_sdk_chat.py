"""The official OpenAI SDK against /openai/v1/chat/completions: a template by id, sent
through the simulator or a loopback provider, answered in OpenAI's own shapes."""

from __future__ import annotations

import openai
import pytest

from tests.factories import DOCUMENT, make_body, make_template, make_version
from tests.fakes import anthropic as fake_anthropic

pytestmark = pytest.mark.django_db(transaction=True)

VALUES = {"document": DOCUMENT, "question": "What is the uptime?"}


@pytest.fixture
def client(openai_client):
    return openai_client


@pytest.fixture
def template():
    template = make_template(slug="doc-qa")
    make_version(template)  # sim/claude-sonnet-4-5, a 1h checkpoint after the document
    return template


def ask(client, **prompt):
    return client.chat.completions.create(
        model="default",
        messages=[{"role": "user", "content": "Please be brief."}],
        extra_body={"prompt": {"id": "doc-qa", "variables": VALUES, **prompt}},
    )


def test_two_sends_write_then_read_in_openai_usage(client, template):
    first = ask(client)
    second = ask(client)

    assert first.object == "chat.completion"
    assert first.choices[0].message.role == "assistant"
    assert first.choices[0].message.content.startswith("Simulated answer")
    assert first.choices[0].finish_reason == "stop"
    written = first.usage.prompt_tokens_details.cache_write_tokens
    assert written > 1024 and first.usage.prompt_tokens_details.cached_tokens == 0
    assert second.usage.prompt_tokens_details.cached_tokens == written
    # Inclusive, as OpenAI counts: the prompt total holds the cached tokens once.
    assert second.usage.prompt_tokens == first.usage.prompt_tokens
    cachet = second.model_extra["cachet"]
    assert cachet["template"] == "doc-qa" and cachet["invocation_id"]
    assert cachet["checkpoints"][0]["fingerprint"].startswith("sha256:")
    assert cachet["cost"]["saved_usd"] > 0


def test_the_request_messages_follow_the_templates(client, template):
    answer = ask(client)

    # The simulator answers from the last user text: the request's, not the template's.
    assert "Please be brief." in answer.choices[0].message.content


def test_a_stream_has_the_same_usage_and_cost_as_the_answer(client, template):
    ask(client)  # warm
    answer = ask(client)
    stream = client.chat.completions.create(
        model="default",
        messages=[{"role": "user", "content": "Please be brief."}],
        stream=True,
        stream_options={"include_usage": True},
        extra_body={"prompt": {"id": "doc-qa", "variables": VALUES}},
    )
    chunks = list(stream)

    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == answer.choices[0].message.content
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    usage = chunks[-1].usage
    assert usage.model_dump() == answer.usage.model_dump()
    assert chunks[-1].model_extra["cachet"]["cost"] == answer.model_extra["cachet"]["cost"]


def test_a_template_on_claude_is_answered_in_openai_shape(client, upstream):
    server = upstream(
        fake_anthropic.CachingMessages(),
        ANTHROPIC_API_KEY="sk-ant-test",
        ANTHROPIC_BASE_URL="{url}",
    )
    template = make_template(slug="doc-qa")
    make_version(template, body=make_body(model="anthropic/claude-sonnet-4-5"))

    first = ask(client)
    second = ask(client)

    sends = [r for r in server.requests if r.path == "/v1/messages"]  # lint also counts tokens
    assert len(sends) == 2
    assert first.usage.prompt_tokens_details.cache_write_tokens > 0
    assert (
        second.usage.prompt_tokens_details.cached_tokens
        == first.usage.prompt_tokens_details.cache_write_tokens
    )
    assert second.model_extra["cachet"]["provider"] == "anthropic"


def test_a_bad_variable_is_the_sdks_bad_request_error_with_cachets_message(client, template):
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model="default",
            messages=[],
            extra_body={"prompt": {"id": "doc-qa", "variables": {**VALUES, "questoin": "x"}}},
        )

    assert caught.value.status_code == 400
    assert "questoin" in caught.value.message


def test_a_wrong_key_is_the_sdks_authentication_error(cachet_server, template):
    client = openai.OpenAI(
        base_url=f"{cachet_server.url}/openai/v1", api_key="ck_wrong", max_retries=0
    )

    with pytest.raises(openai.AuthenticationError):
        ask(client)


def test_an_unknown_template_is_not_found(client, template):
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(
            model="default", messages=[], extra_body={"prompt": {"id": "nope"}}
        )

    assert "nope" in caught.value.message


def test_an_unsupported_field_is_a_400_naming_it(client, template):
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model="default",
            messages=[],
            tools=[{"type": "function", "function": {"name": "f", "parameters": {}}}],
            extra_body={"prompt": {"id": "doc-qa", "variables": VALUES}},
        )

    assert "'tools' (tools come from the template)" in caught.value.message
