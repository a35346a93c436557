"""The Portkey importer: prompts as Portkey's Admin API returns them (one prompt, a versions
list, a ``{"data": [...]}`` list, labels) become template files whose bodies Cachet accepts
and renders; what does not carry over is noted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from templates_app.engine.body import parse_body
from templates_app.engine.importers import DEFAULT_MODEL, portkey
from templates_app.engine.lint import lint
from templates_app.engine.rendering import compile_body, render

FIXTURES = Path(__file__).resolve().parents[4] / "fixtures" / "importers" / "portkey"


def fixture_documents() -> list[tuple[str, Any]]:
    return [
        (f"portkey/{path.name}", json.loads(path.read_text(encoding="utf-8")))
        for path in sorted(FIXTURES.glob("*.json"))
    ]


@pytest.fixture(scope="module")
def imported() -> portkey.Imported:
    return portkey.translate(fixture_documents())


def template(imported: portkey.Imported, slug: str) -> dict[str, Any]:
    return next(t for t in imported.templates if t["slug"] == slug)


def render_version(file: dict[str, Any], values: dict[str, Any] | None = None, index: int = -1):
    body = file["versions"][index]["body"]
    return render(compile_body(body), file["sample_variables"] if values is None else values)


def prompt(string: Any, **fields: Any) -> dict[str, Any]:
    """A prompt as GET /prompts/{promptId} returns it, with ``fields`` over the defaults."""
    return {
        "id": "11111111-2222-4333-8444-555555555555",
        "slug": "pp-test-prom-abc123",
        "name": "Test prompt",
        "string": string if isinstance(string, str) else json.dumps(string),
        "parameters": {"max_tokens": 100},
        "model": "gpt-4o",
        "prompt_version": 1,
        **fields,
    }


def test_every_fixture_makes_bodies_cachet_accepts_and_renders(imported) -> None:
    assert sorted(t["slug"] for t in imported.templates) == [
        "order-status",
        "release-notes-writer",
        "returns-faq",
        "support-reply",
        "ticket-classifier",
    ]
    for file in imported.templates:
        for version in file["versions"]:
            parse_body(version["body"])
            report = lint(compile_body(version["body"]), sample_variables=file["sample_variables"])
            assert report["errors"] == [], (file["slug"], report["errors"])
            assert report["estimated_with"] == "sample variables"
            render(compile_body(version["body"]), file["sample_variables"])


def test_a_chat_prompt_keeps_its_messages_model_and_supported_params(imported) -> None:
    file = template(imported, "support-reply")
    assert file["name"] == "Support reply"
    assert file["aliases"] == ["pp-support-re-7c41d2", "5f1c2a9e-3b7d-4e61-9a0c-8d2f4b6e1a37"]
    [version] = file["versions"]
    assert version["number"] == 4
    assert version["message"] == "Ask for the order number when the ticket has none"
    body = version["body"]
    assert body["model"] == "openai/gpt-4o"
    assert body["params"] == {"max_tokens": 600, "temperature": 0.3, "top_p": 1}
    assert list(body["variables"]) == ["customer_name", "plan", "channel", "ticket_body"]
    assert body["variables"]["plan"] == {"type": "string", "required": True}
    assert body["messages"][1]["content"][0]["text"] == (
        "Customer: {{ customer_name }} ({{ plan }} plan)\nChannel: {{ channel }}\n\n"
        "Ticket:\n{{ ticket_body }}"
    )
    # Portkey returns no variable values: the samples are placeholders that render.
    assert file["sample_variables"] == {
        "customer_name": "<customer_name>",
        "plan": "<plan>",
        "channel": "<channel>",
        "ticket_body": "<ticket_body>",
    }
    assert (
        "portkey/support-reply.json: Support reply: parameters not carried over: n, "
        "presence_penalty, frequency_penalty, response_format" in imported.notes
    )
    assert (
        "portkey/support-reply.json: Support reply: virtual key openai-prod-3f9a1c is not "
        "carried over (Cachet calls the provider with its own key)" in imported.notes
    )


def test_mustache_sections_render_as_mustache_would(imported) -> None:
    file = template(imported, "order-status")
    body = file["versions"][0]["body"]
    assert body["model"] == "anthropic/claude-3-5-sonnet-20240620"
    assert body["params"] == {
        "max_tokens": 1024,
        "temperature": 0,
        "top_k": 40,
        "stop": ["</answer>"],
        "tool_choice": "auto",
    }
    assert body["tools"][0]["function"]["name"] == "lookup_order"
    assert body["messages"][0]["content"][0]["cache_control"] == {"type": "ephemeral"}
    assert body["variables"] == {
        "is_premium": {"type": "boolean", "default": False},
        "order_history": {"type": "boolean", "default": False},
        "known_issues": {"type": "array", "default": []},
        "customer": {"type": "object", "required": True},
        "question": {"type": "string", "required": True},
    }
    values = {
        "is_premium": True,
        "order_history": False,
        "known_issues": ["DHL strike in Belgium"],
        "customer": {"first_name": "Lena"},
        "question": "Where is NW-204817?",
    }
    user = render_version(file, values).request.messages[1].content
    assert user == (
        "This customer is a Summit member: offer free express re-shipping if the parcel is late.\n"
        "This is the customer's first order.\n"
        "Known carrier issue: DHL strike in Belgium\n"
        "\n"
        "Question from Lena:\n"
        "Where is NW-204817?"
    )
    quiet = {"order_history": True, "customer": {"first_name": "Sam"}, "question": "Hi"}
    assert render_version(file, quiet).request.messages[1].content == "\nQuestion from Sam:\nHi"
    # The system text's comment is gone, and so is its line.
    system = body["messages"][0]["content"][0]["text"]
    assert "{{!" not in system and "Outfitters.\nShipping policy:" in system
    assert file["sample_variables"] == {
        "customer": {"first_name": "<customer.first_name>"},
        "question": "<question>",
    }
    assert (
        "portkey/order-status.json: Order status: messages[1]: {{#is_premium}} is translated as "
        "a condition ({% if %}); Mustache repeats it once per item when is_premium is a list, "
        "and reads the names inside on is_premium itself when it is an object (here they are "
        "read at the top level)" in imported.notes
    )


def test_versions_and_labels_from_the_versions_list_and_the_labels_list(imported) -> None:
    file = template(imported, "ticket-classifier")
    assert [v["number"] for v in file["versions"]] == [1, 2, 3]
    assert [v["message"] for v in file["versions"]] == [
        "First version",
        "Refunds for returns are returns",
        "Tell the model the ticket's language",
    ]
    assert file["labels"] == {"development": 1, "staging": 2, "production": 3}
    assert file["name"] == "Ticket classifier"  # from GET /prompts/{id}, which names it
    assert list(file["versions"][0]["body"]["variables"]) == ["subject", "body"]
    assert file["versions"][2]["body"]["variables"]["language"] == {
        "type": "string",
        "default": "",
    }
    values = {"language": "German", "subject": "Rückgabe", "body": "Wo ist mein Geld?"}
    assert render_version(file, values).request.messages[1].content[0].text == (
        "The ticket is written in German.\nTicket subject: Rückgabe\n\nWo ist mein Geld?"
    )
    # The same version from two endpoints is one version, and says so nowhere.
    assert not [note for note in imported.notes if "twice" in note]


def test_a_list_response_with_a_completions_prompt_and_a_catalog_model(imported) -> None:
    notes_file = template(imported, "release-notes-writer")
    [message] = notes_file["versions"][0]["body"]["messages"]
    assert message["role"] == "user"
    assert message["content"].startswith("Write release notes for version {{ version }} of")
    faq = template(imported, "returns-faq")
    assert faq["versions"][0]["number"] == 7
    # @anthropic-prod/claude-3-5-haiku-20241022: the provider slug dropped, the retired
    # model moved to its successor.
    assert faq["versions"][0]["body"]["model"] == "anthropic/claude-haiku-4-5"
    assert (
        "portkey/prompts-export.json: data[1]: Returns FAQ: Portkey provider @anthropic-prod "
        "is not carried over" in imported.notes
    )
    assert (
        "portkey/prompts-export.json: data[1]: Returns FAQ: model "
        "'anthropic/claude-3-5-haiku-20241022' was retired on 2026-02-19: "
        "anthropic/claude-haiku-4-5" in imported.notes
    )
    assert (
        "portkey/prompts-export.json: data[0]: Release notes writer: a completions prompt "
        "(plain text): one user message" in imported.notes
    )


def test_the_escaping_note_comes_once_per_template(imported) -> None:
    escaping = [n for n in imported.notes if "ticket-classifier" in n and "HTML-escapes" in n]
    assert len(escaping) == 1


def test_a_bare_list_of_prompts_and_sample_values_a_prompt_carries() -> None:
    first = prompt([{"role": "user", "content": "Hi {{name}}"}], variables={"name": "Ada"})
    second = prompt([{"role": "user", "content": "Bye"}], id="other", slug="pp-other", name="Other")
    result = portkey.translate([("list.json", [first, second])])
    assert [t["slug"] for t in result.templates] == ["test-prompt", "other"]
    assert result.templates[0]["sample_variables"] == {"name": "Ada"}


def test_two_prompts_with_one_name_get_distinct_slugs() -> None:
    one = prompt([{"role": "user", "content": "a"}])
    two = prompt([{"role": "user", "content": "b"}], id="x-2", slug="pp-x-2")
    result = portkey.translate([("a.json", one), ("b.json", two)])
    assert [t["slug"] for t in result.templates] == ["test-prompt", "test-prompt-2"]
    assert "b.json: slug test-prompt is taken by an earlier template: test-prompt-2" in (
        result.notes
    )


def test_cache_control_on_messages_and_parts_is_kept_when_cachet_has_it() -> None:
    messages = [
        {
            "role": "system",
            "content": [
                {
                    "type": "text",
                    "text": "Policy",
                    "cache_control": {"type": "ephemeral", "ttl": "1h"},
                }
            ],
        },
        {"role": "user", "content": "Q", "cache_control": {"type": "persistent"}},
    ]
    result = portkey.translate([("p.json", prompt(messages, model="claude-sonnet-4-5"))])
    body = result.templates[0]["versions"][0]["body"]
    assert body["messages"][0]["content"][0]["cache_control"] == {"type": "ephemeral", "ttl": "1h"}
    assert "cache_control" not in body["messages"][1]
    assert (
        "p.json: Test prompt: messages[1]: cache_control {'type': 'persistent'} is not "
        "{'type': 'ephemeral'}: dropped" in result.notes
    )


def test_messages_cachet_has_no_place_for_are_noted() -> None:
    messages = [
        {"role": "user", "content": "Look"},
        {"role": "system", "content": "Late system"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c1"}]},
        {"role": "tool", "content": "{}", "tool_call_id": "c1"},
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": "{{photo}}", "detail": "high"}},
                {"type": "input_audio", "input_audio": {}},
            ],
        },
    ]
    result = portkey.translate([("p.json", prompt(messages))])
    body = result.templates[0]["versions"][0]["body"]
    assert [m["role"] for m in body["messages"]] == ["user", "user", "user"]
    assert body["messages"][2]["content"] == [
        {"type": "image_url", "image_url": {"url": "{{ photo }}"}}
    ]
    for note in (
        "messages[1]: a system message after the conversation began: sent as a user message",
        "messages[2]: no text content (tool calls are not carried over): dropped",
        "messages[3]: a 'tool' message is not carried over",
        "messages[4].content[0]: image detail dropped",
        "messages[4].content[1]: a 'input_audio' part is not carried over",
    ):
        assert f"p.json: Test prompt: {note}" in result.notes


def test_a_model_cachet_does_not_serve_becomes_the_default() -> None:
    result = portkey.translate(
        [("p.json", prompt([{"role": "user", "content": "x"}], model="gemini-1.5-pro"))]
    )
    assert result.templates[0]["versions"][0]["body"]["model"] == DEFAULT_MODEL
    assert (
        f"p.json: Test prompt: model 'gemini-1.5-pro' names no provider Cachet knows: "
        f"{DEFAULT_MODEL}" in result.notes
    )


def test_params_cachet_refuses_are_named() -> None:
    source = prompt(
        [{"role": "user", "content": "x"}],
        parameters={"max_completion_tokens": 50, "temperature": 3, "logit_bias": {}},
    )
    result = portkey.translate([("p.json", source)])
    assert result.templates[0]["versions"][0]["body"]["params"] == {"max_tokens": 50}
    # A parameter Cachet has no place for is named; one out of range is named with its value
    # and why.
    assert "p.json: Test prompt: parameters not carried over: logit_bias" in result.notes
    assert (
        "p.json: Test prompt: temperature 3 dropped: params.temperature: must be between 0 and 2"
        in result.notes
    )


def test_tools_legacy_functions_and_their_cache_markers() -> None:
    source = prompt(
        [{"role": "user", "content": "x"}],
        tools=[
            {"type": "function", "function": {"name": "bad name!"}},
            {"type": "function", "function": {}},  # Portkey's "no tool"
            {
                "type": "function",
                "function": {"name": "lookup", "parameters": {"type": "object"}},
                "cache_control": {"type": "ephemeral"},
            },
        ],
        functions=[{"name": "lookup"}, {"name": "escalate", "description": "Page {{on_call}}"}],
        tool_choice={"type": "function", "function": {"name": "lookup"}},
    )
    result = portkey.translate([("p.json", source)])
    body = result.templates[0]["versions"][0]["body"]
    assert body["tools"] == [
        {
            "type": "function",
            "function": {"name": "lookup", "parameters": {"type": "object"}},
            "cache_control": {"type": "ephemeral"},
        },
        {
            "type": "function",
            "function": {"name": "escalate", "description": "Page {{ '{{' }}on_call}}"},
        },
    ]
    assert body["params"]["tool_choice"] == {"type": "function", "function": {"name": "lookup"}}
    for note in (
        "function tool named 'bad name!' dropped: not a valid tool name",
        "function tool 'lookup' is given twice: the first is kept",
    ):
        assert f"p.json: Test prompt: {note}" in result.notes


def test_a_label_name_cachet_cannot_hold_is_named_in_slug_form() -> None:
    labels = {"data": [{"id": "lbl-1", "name": "Staging EU", "color_code": "#fff"}]}
    source = prompt([{"role": "user", "content": "x"}], prompt_version_label_id="lbl-1")
    result = portkey.translate([("p.json", source), ("labels.json", labels)])
    assert result.templates[0]["labels"] == {"staging-eu": 1}
    assert "p.json: Test prompt: v1: label 'Staging EU' is named 'staging-eu' in Cachet" in (
        result.notes
    )


def test_what_is_no_prompt_is_noted() -> None:
    listed = {
        "data": [
            {"id": "1", "slug": "pp-a", "name": "A", "collection_id": "c", "object": "prompt"},
            {"success": True},
        ],
        "total": 2,
    }
    rendered = {"success": True, "data": {"model": "gpt-4", "messages": []}}
    result = portkey.translate([("list.json", listed), ("render.json", rendered), ("x", 3)])
    assert result.templates == []
    assert result.notes == [
        "list.json: data[0]: Portkey prompt 'A' is listed without its template (List Prompts): "
        "import what GET /prompts/{promptId} returns for it",
        "list.json: data[1]: not a Portkey prompt, version or label: skipped",
        "render.json: a rendered prompt (its variables already filled in): import the template "
        "GET /prompts/{promptId} returns instead",
        "x: not a Portkey prompt, version or label list: skipped",
    ]


def test_a_label_no_label_list_names_is_noted() -> None:
    source = prompt([{"role": "user", "content": "x"}], prompt_version_label_id="lbl-1")
    result = portkey.translate([("p.json", source)])
    assert "labels" not in result.templates[0]
    assert (
        "p.json: Test prompt: v1's label lbl-1 is not named by a label list (GET /labels) "
        "among the documents: not carried over" in result.notes
    )


def test_a_version_whose_body_cachet_refuses_is_skipped_with_a_note() -> None:
    source = prompt([{"role": "user", "content": "a NUL: \x00"}])
    result = portkey.translate([("p.json", source)])
    assert result.templates == []
    assert result.notes[-2] == (
        "p.json: Test prompt: not imported: the translated body is refused "
        "(messages[0].content: contains a NUL character (\\u0000))"
    )
    assert result.notes[-1] == "p.json: Test prompt: no version could be imported"
