"""The official OpenAI SDK against /openai/v1/responses: code written for OpenAI prompt
objects (``prompt={"id", "version", "variables"}``) works by changing its base URL."""

from __future__ import annotations

import json

import openai
import pytest

from templates_app.services import template_aliases_set
from tests.factories import DOCUMENT, make_body, make_template, make_version
from tests.fakes import bedrock as fake_bedrock
from tests.fakes import openai_responses as fake_responses

pytestmark = pytest.mark.django_db(transaction=True)

VALUES = {"document": DOCUMENT, "question": "What is the uptime?"}


@pytest.fixture
def client(openai_client):
    return openai_client


@pytest.fixture
def template():
    template = make_template(slug="doc-qa")
    make_version(template)
    make_version(template, body=make_body(params={"max_tokens": 300}))
    return template


def respond(client, **kwargs):
    prompt = {"id": "doc-qa", "variables": VALUES, **kwargs.pop("prompt", {})}
    return client.responses.create(prompt=prompt, input="Please be brief.", **kwargs)


def test_two_sends_write_then_read_in_responses_usage(client, template):
    first = respond(client)
    second = respond(client)

    assert first.object == "response" and first.status == "completed"
    assert first.output_text.startswith("Simulated answer")
    written = first.usage.input_tokens_details.model_dump()["cache_write_tokens"]
    assert written > 1024 and first.usage.input_tokens_details.cached_tokens == 0
    assert second.usage.input_tokens_details.cached_tokens == written
    assert second.usage.input_tokens == first.usage.input_tokens  # inclusive
    assert second.model_extra["cachet"]["cost"]["saved_usd"] > 0


def test_the_prompt_version_is_a_string_as_the_sdk_sends_it(client, template):
    first = respond(client, prompt={"version": "1"})
    latest = respond(client)

    assert first.model_extra["cachet"]["version"] == 1
    assert latest.model_extra["cachet"]["version"] == 2


def test_variables_may_be_input_text_objects(client, template):
    variables = {"document": {"type": "input_text", "text": DOCUMENT}, "question": "Uptime?"}
    answer = client.responses.create(prompt={"id": "doc-qa", "variables": variables})

    assert answer.status == "completed"
    assert "Uptime?" in answer.output_text


def test_a_stream_ends_with_response_completed_holding_the_same_usage(client, template):
    respond(client)  # warm
    answer = respond(client)
    events = list(respond(client, stream=True))

    kinds = [event.type for event in events]
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == answer.output_text
    completed = events[-1].response
    assert completed.usage.model_dump() == answer.usage.model_dump()
    assert completed.model_extra["cachet"]["cost"] == answer.model_extra["cachet"]["cost"]
    assert [e.sequence_number for e in events] == list(range(len(events)))


def test_gpt_5_6_through_the_responses_api_writes_then_reads(client, upstream):
    server = upstream(
        fake_responses.CachingResponses(output_tokens=0),
        OPENAI_API_KEY="sk-test",
        OPENAI_BASE_URL="{url}/v1",
    )
    template = make_template(slug="doc-qa")
    make_version(template, body=make_body(model="openai/gpt-5.6-terra"))

    first = respond(client)
    second = respond(client)

    assert {r.path for r in server.requests} == {"/v1/responses"}
    assert server.requests[1].json()["prompt_cache_options"]["comparison_response_id"]
    assert first.usage.input_tokens_details.model_dump()["cache_write_tokens"] > 0
    assert second.usage.input_tokens_details.cached_tokens > 0


def test_a_template_on_bedrock_is_answered_in_responses_shape(client, upstream, monkeypatch):
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_BEARER_TOKEN_BEDROCK"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret-example")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    server = upstream(
        fake_bedrock.CachingConverse(),
        AWS_ENDPOINT_URL_BEDROCK_RUNTIME="{url}",
        AWS_REGION="us-east-1",
    )
    template = make_template(slug="doc-qa")
    model = "bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0"
    make_version(template, body=make_body(model=model))

    first = respond(client)
    second = respond(client)

    assert any("/converse" in r.path for r in server.requests)
    assert first.usage.input_tokens_details.model_dump()["cache_write_tokens"] > 0
    assert second.usage.input_tokens_details.cached_tokens > 0
    assert second.model_extra["cachet"]["provider"] == "bedrock"


def test_a_bad_variable_is_the_sdks_bad_request_error(client, template):
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(prompt={"id": "doc-qa", "variables": {"document": "x"}})

    assert "question" in caught.value.message


def test_instructions_are_refused_naming_the_field(client, template):
    with pytest.raises(openai.BadRequestError) as caught:
        respond(client, instructions="Be terse.")

    assert "instructions" in caught.value.message
    assert caught.value.param == "instructions"


def test_a_wrong_key_is_the_sdks_authentication_error(cachet_server, template):
    client = openai.OpenAI(
        base_url=f"{cachet_server.url}/openai/v1", api_key="ck_wrong", max_retries=0
    )

    with pytest.raises(openai.AuthenticationError):
        respond(client)


def test_code_written_for_openai_prompt_objects_works_once_the_id_is_an_alias(client, template):
    template_aliases_set(template=template, aliases=["pmpt_68b1f0c2a9e4819d8f3e5a7b6c4d2e10"])

    # As written for OpenAI's stored prompts: only the client's base URL and key changed.
    response = client.responses.create(
        prompt={
            "id": "pmpt_68b1f0c2a9e4819d8f3e5a7b6c4d2e10",
            "version": "2",
            "variables": {"document": DOCUMENT, "question": "What is the uptime?"},
        },
        input="Please be brief.",
    )

    assert response.status == "completed"
    assert response.model_extra["cachet"]["template"] == "doc-qa"
    assert response.model_extra["cachet"]["version"] == 2


def test_a_prompt_object_imported_from_openai_answers_its_old_id_unchanged(client, upstream):
    """The prompt saved before OpenAI's shutdown, imported with ``templates import --from
    openai``: the same ``responses.create(prompt=…)`` call reaches it by its ``pmpt_…`` id."""
    import io
    from pathlib import Path

    from django.core.management import call_command

    from tests.fakes import openai as fake_openai

    saved = Path(__file__).resolve().parents[4] / "fixtures/importers/openai/support-reply.json"
    call_command(
        "templates", "import", "--from", "openai", str(saved), "--labels", stdout=io.StringIO()
    )
    server = upstream(
        fake_openai.CachingCompletions(), OPENAI_API_KEY="sk-test", OPENAI_BASE_URL="{url}/v1"
    )

    response = client.responses.create(
        prompt={
            "id": "pmpt_6862e3a4c5d08190b1f2a9e7d3c4b5a60f1e2d3c4b5a6978",
            "version": "2",
            "variables": {
                "company": "Northwind Outfitters",
                "customer_name": "Dana",
                "order_number": "NW-48213",
                "issue": {"type": "input_text", "text": "My order arrived with a torn jacket."},
            },
        },
    )

    assert response.status == "completed"
    assert response.model_extra["cachet"]["template"] == "support-reply"
    assert response.model_extra["cachet"]["version"] == 2
    sent = server.requests[-1].json()
    assert sent["model"] == "gpt-4.1"
    assert sent["messages"][0]["role"] == "system"
    assert sent["messages"][0]["content"].startswith("You draft replies to customer emails for ")
    assert "Northwind Outfitters" in sent["messages"][0]["content"]
    assert [tool["function"]["name"] for tool in sent["tools"]] == ["lookup_order"]
    assert "Order number: NW-48213" in json.dumps(sent["messages"][-1])
