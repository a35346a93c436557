"""The Langfuse importer: prompts as the public API returns them, bulk exports and list pages
translated into template files, with a note for what is not carried over. Pure: no database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from templates_app.engine.body import parse_body
from templates_app.engine.importers import DEFAULT_MODEL, langfuse
from templates_app.engine.rendering import compile_body, render

FIXTURES = Path(__file__).resolve().parents[4] / "fixtures" / "importers" / "langfuse"


def load(name: str) -> tuple[str, Any]:
    return name, json.loads((FIXTURES / name).read_text())


def one(**prompt: Any) -> dict[str, Any]:
    """A text prompt version as GET /api/public/v2/prompts/{name} returns it, overridden."""
    base = {
        "name": "greeter",
        "version": 1,
        "type": "text",
        "prompt": "Say hello to {{name}}.",
        "config": {"model": "gpt-4o"},
        "labels": ["production", "latest"],
        "tags": [],
        "commitMessage": None,
    }
    return base | prompt


def translate(*prompts: Any, source: str = "in.json") -> langfuse.Imported:
    return langfuse.translate([(source, list(prompts) if len(prompts) > 1 else prompts[0])])


def rendered(template: dict[str, Any], version: dict[str, Any]):
    compiled = compile_body(version["body"])
    samples = template["sample_variables"]
    return render(compiled, {k: v for k, v in samples.items() if k in compiled.body.variables})


def test_a_text_prompt_becomes_one_user_message_with_its_config_and_labels():
    imported = langfuse.translate([load("release-notes.json")])
    [template] = imported.templates
    text = (FIXTURES / "release-notes.json").read_text()
    prompt = json.loads(text)["prompt"]
    expected = prompt.replace("{{product}}", "{{ product }}").replace(
        "{{release}}", "{{ release }}"
    )
    expected = expected.replace("{{changes}}", "{{ changes }}")
    assert template == {
        "slug": "release-notes",
        "name": "release-notes",
        "description": "Imported from Langfuse prompt 'release-notes'. Langfuse tags: docs, release.",
        "sample_variables": {
            "product": "<product>",
            "release": "<release>",
            "changes": "<changes>",
        },
        "versions": [
            {
                "number": 1,
                "message": "Langfuse version 4: Ask for an 'Action needed.' marker on changes admins must act on",
                "body": {
                    "model": "openai/gpt-4o",
                    "params": {"temperature": 0.3, "max_tokens": 700},
                    "variables": {
                        "product": {"type": "string", "required": True},
                        "release": {"type": "string", "required": True},
                        "changes": {"type": "string", "required": True},
                    },
                    "messages": [{"role": "user", "content": expected}],
                },
            }
        ],
        "labels": {"production": 1},
    }
    assert imported.notes == [
        "release-notes.json: Langfuse prompt 'release-notes' version 4: config keys Cachet has no place for, dropped: supported_languages",
        "release-notes.json: Langfuse prompt 'release-notes': versions renumbered from 1 (Langfuse → Cachet: 4 → 1)",
    ]


def test_a_chat_prompt_keeps_its_messages_and_notes_the_placeholder():
    imported = langfuse.translate([load("support-chat.json")])
    [template] = imported.templates
    [version] = template["versions"]
    body = version["body"]
    assert body["model"] == "anthropic/claude-sonnet-4-5"
    assert body["params"] == {"temperature": 0.2, "max_tokens": 400}  # max_output_tokens
    assert list(body["variables"]) == ["company", "language", "plan", "question"]
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert body["messages"][1] == {"role": "user", "content": "{{ question }}"}
    assert "Answer in {{ language }}." in body["messages"][0]["content"]
    assert template["labels"] == {"production": 1, "staging": 1}
    placeholder = [n for n in imported.notes if "placeholder" in n]
    assert placeholder == [
        "support-chat.json: Langfuse prompt 'support-chat' version 2, message 2: message "
        "placeholder 'chat_history' dropped (Cachet has no message placeholders; send those "
        "messages after the template's, as the conversation of the call)"
    ]
    assert any("dropped: response_format" in n for n in imported.notes)


def test_a_bulk_export_gives_one_template_per_name_with_versions_in_order():
    imported = langfuse.translate([load("export.json")])
    classifier, summary = imported.templates
    assert classifier["slug"] == "ticket-classifier"
    assert [v["number"] for v in classifier["versions"]] == [1, 2]
    assert [v["message"] for v in classifier["versions"]] == [
        "Langfuse version 1: First version",
        "Langfuse version 2: Let the model escalate security and data-loss tickets",
    ]
    first, second = (v["body"] for v in classifier["versions"])
    assert first["messages"][1]["content"] == "{{ body }}"
    assert second["messages"][1]["content"] == "Subject: {{ subject }}\n\n{{ body }}"
    assert list(second["variables"]) == ["subject", "body"]
    assert second["params"] == {"temperature": 0, "max_tokens": 5, "tool_choice": "auto"}
    assert second["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "escalate",
                "description": "Escalate a ticket that reports a security problem or data loss to the on-call engineer.",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "reason": {
                            "type": "string",
                            "description": "One sentence on why the ticket is urgent.",
                        }
                    },
                    "required": ["reason"],
                },
            },
        }
    ]
    assert "tools" not in first
    assert classifier["labels"] == {"production": 1, "staging": 2}
    assert classifier["description"].endswith("Langfuse tags: support, routing.")
    # A folder: the slug flattens it, the name keeps it.
    assert summary["slug"] == "support-escalation-summary"
    assert summary["name"] == "support/escalation-summary"
    assert summary["versions"][0]["message"] == "Langfuse version 1"
    assert summary["labels"] == {"production": 1}
    assert imported.notes == []


def test_the_list_endpoint_wrapper_is_read():
    imported = langfuse.translate([load("prompts-page.json")])
    [template] = imported.templates
    assert template["slug"] == "onboarding-welcome-email"
    assert template["versions"][0]["body"]["params"] == {"temperature": 0.7, "max_tokens": 350}
    assert imported.notes == [
        "prompts-page.json[0]: Langfuse prompt 'onboarding/welcome-email' version 1: config keys Cachet has no place for, dropped: frequency_penalty"
    ]


def test_versions_of_one_prompt_across_documents_are_merged_in_version_order():
    imported = langfuse.translate(
        [
            ("b.json", one(version=3, prompt="Three {{name}}", labels=["latest"])),
            ("a.json", one(version=2, prompt="Two {{name}}", labels=["production"])),
        ]
    )
    [template] = imported.templates
    assert [v["body"]["messages"][0]["content"] for v in template["versions"]] == [
        "Two {{ name }}",
        "Three {{ name }}",
    ]
    assert template["labels"] == {"production": 1}
    assert imported.notes == [
        "a.json: Langfuse prompt 'greeter': versions renumbered from 1 (Langfuse → Cachet: 2 → 1, 3 → 2)"
    ]


def test_latest_is_dropped_silently_and_every_other_label_stays_on_its_version():
    imported = translate(
        one(version=1, labels=["production", "tenant-1"]),
        one(version=2, labels=["staging", "latest"]),
    )
    [template] = imported.templates
    assert template["labels"] == {"production": 1, "tenant-1": 1, "staging": 2}
    assert not any("latest" in note for note in imported.notes)


def test_a_label_on_two_versions_points_at_the_later_and_a_bad_label_is_renamed():
    imported = translate(
        one(version=1, labels=["staging"]),
        one(version=2, labels=["staging", "Canary.EU"]),
    )
    [template] = imported.templates
    assert template["labels"] == {"staging": 2, "canary-eu": 2}
    assert imported.notes == [
        "in.json[1]: Langfuse prompt 'greeter' version 2: label 'staging' is on version 1 too: it points at 2",
        "in.json[1]: Langfuse prompt 'greeter' version 2: label 'Canary.EU' is named 'canary-eu' in Cachet",
    ]


def test_a_version_given_twice_keeps_its_first_copy():
    imported = translate(one(prompt="first {{name}}"), one(prompt="second"))
    [template] = imported.templates
    assert template["versions"][0]["body"]["messages"][0]["content"] == "first {{ name }}"
    assert imported.notes == [
        "in.json[1]: Langfuse prompt 'greeter' version 1 is given twice: the copy from in.json[0] is kept"
    ]


def test_listed_prompts_without_text_and_other_documents_get_notes():
    listed = {
        "data": [
            {
                "name": "movie-critic",
                "type": "text",
                "versions": [1, 2],
                "labels": ["production"],
                "tags": [],
                "lastUpdatedAt": "2025-06-01T10:00:00.000Z",
                "lastConfig": {},
            }
        ],
        "meta": {"page": 1, "limit": 50, "totalItems": 1, "totalPages": 1},
    }
    imported = langfuse.translate([("list.json", listed), ("junk.json", {"hello": 1})])
    assert imported.templates == []
    assert imported.notes == [
        "list.json[0]: Langfuse prompt 'movie-critic' is listed without its text (versions [1, 2]): fetch each version with GET /api/public/v2/prompts/{name}?version=N and import those",
        "junk.json: not a Langfuse prompt (no name and prompt): skipped",
    ]


def test_text_that_is_no_variable_stays_literal():
    text = "Use {% raw %} as is; {{#if x}} is Handlebars; {{ name }} is a variable."
    imported = translate(one(prompt=text))
    version = imported.templates[0]["versions"][0]
    result = rendered(imported.templates[0], version)
    assert result.request.messages[0].content == text.replace("{{ name }}", "<name>")
    assert any("kept as literal text" in note for note in imported.notes)


def test_a_reserved_variable_name_gets_a_trailing_underscore():
    imported = translate(one(prompt="Today is {{now}}, range {{range}}, {{if}} {{and}}."))
    body = imported.templates[0]["versions"][0]["body"]
    assert (
        body["messages"][0]["content"]
        == "Today is {{ now_ }}, range {{ range_ }}, {{ if_ }} {{ and_ }}."
    )
    assert list(body["variables"]) == ["now_", "range_", "if_", "and_"]
    assert (
        "in.json: Langfuse prompt 'greeter' version 1: variable 'now' is reserved in Cachet: named now_"
        in imported.notes
    )
    # A word Jinja reads as an operator is renamed too: as it is, the body would not compile.
    assert (
        "in.json: Langfuse prompt 'greeter' version 1: variable 'if' is reserved in Cachet: named if_"
        in imported.notes
    )
    assert rendered(imported.templates[0], imported.templates[0]["versions"][0])


def test_an_unresolved_prompt_reference_is_kept_with_a_note():
    reference = "@@@langfusePrompt:name=tone|label=production@@@"
    imported = translate(one(prompt=f"{reference}\nSay hello to {{{{name}}}}."))
    content = imported.templates[0]["versions"][0]["body"]["messages"][0]["content"]
    assert content.startswith(reference)
    assert any(reference in note and "not resolved" in note for note in imported.notes)


def test_params_out_of_range_or_rejected_by_the_model_are_dropped_with_a_note():
    imported = translate(
        one(config={"model": "openai/gpt-6-astra", "temperature": 0.5, "max_tokens": 256}),
    )
    assert imported.templates[0]["versions"][0]["body"]["params"] == {"max_tokens": 256}
    assert imported.notes == [
        "in.json: Langfuse prompt 'greeter' version 1: temperature dropped: openai/gpt-6-astra rejects it"
    ]
    imported = translate(one(config={"model": "gpt-4o", "temperature": 3, "max_tokens": "lots"}))
    assert "params" not in imported.templates[0]["versions"][0]["body"]
    assert imported.notes == [
        "in.json: Langfuse prompt 'greeter' version 1: temperature 3 dropped: params.temperature: must be between 0 and 2",
        "in.json: Langfuse prompt 'greeter' version 1: max_tokens 'lots' dropped: params.max_tokens: must be an integer, got string",
    ]


def test_a_param_given_under_two_names_keeps_the_first_and_a_lone_tool_choice_is_dropped():
    config = {"model": "gpt-4o", "max_tokens": 100, "max_output_tokens": 200}
    imported = translate(one(config=config | {"tool_choice": "required"}))
    assert imported.templates[0]["versions"][0]["body"]["params"] == {"max_tokens": 100}
    assert imported.notes == [
        "in.json: Langfuse prompt 'greeter' version 1: max_output_tokens dropped: max_tokens is set already",
        "in.json: Langfuse prompt 'greeter' version 1: tool_choice without tools: dropped",
    ]


def test_a_retired_model_becomes_its_successor_and_one_cachet_does_not_serve_the_default():
    imported = translate(one(config={"model": "claude-3-5-haiku-20241022"}))
    assert imported.templates[0]["versions"][0]["body"]["model"] == "anthropic/claude-haiku-4-5"
    assert imported.notes == [
        "in.json: Langfuse prompt 'greeter' version 1: model 'anthropic/claude-3-5-haiku-20241022' was retired on 2026-02-19: anthropic/claude-haiku-4-5"
    ]
    imported = translate(one(config={"model": "mistral/mistral-large-latest"}))
    assert imported.templates[0]["versions"][0]["body"]["model"] == DEFAULT_MODEL
    assert imported.notes == [
        f"in.json: Langfuse prompt 'greeter' version 1: model 'mistral/mistral-large-latest' is not one Cachet serves: {DEFAULT_MODEL}"
    ]


def test_no_model_gives_the_default_with_a_note():
    imported = translate(one(config={}))
    assert imported.templates[0]["versions"][0]["body"]["model"] == DEFAULT_MODEL
    assert imported.notes == [
        f"in.json: Langfuse prompt 'greeter' version 1: no model given: {DEFAULT_MODEL}"
    ]


def test_chat_roles_developer_and_late_system_and_unknown():
    imported = translate(
        one(
            type="chat",
            prompt=[
                {"role": "developer", "content": "Be brief."},
                {"role": "user", "content": "Hi {{name}}"},
                {"role": "system", "content": "Reminder: be brief."},
                {"role": "tool", "content": "{}"},
            ],
        )
    )
    messages = imported.templates[0]["versions"][0]["body"]["messages"]
    assert messages == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi {{ name }}"},
        {"role": "user", "content": "Reminder: be brief."},
    ]
    assert imported.notes == [
        "in.json: Langfuse prompt 'greeter' version 1, message 3: a system message after the conversation began: sent as a user message",
        "in.json: Langfuse prompt 'greeter' version 1, message 4: a message with role 'tool' dropped",
    ]


def test_a_version_with_no_message_left_is_skipped_with_its_labels():
    imported = translate(
        one(version=1, labels=["production"]),
        one(version=2, type="chat", prompt=[{"type": "placeholder", "name": "history"}]),
    )
    [template] = imported.templates
    assert [v["number"] for v in template["versions"]] == [1]
    assert any(
        n
        == "in.json[1]: Langfuse prompt 'greeter' version 2: not imported: the translated body is refused (messages: must hold at least one message)"
        for n in imported.notes
    )


def test_two_names_with_one_slug_get_distinct_slugs():
    imported = translate(one(name="support/triage"), one(name="support-triage"))
    assert [t["slug"] for t in imported.templates] == ["support-triage", "support-triage-2"]
    assert (
        "in.json[1]: Langfuse prompt 'support-triage': slug support-triage is taken by an earlier template: support-triage-2"
        in imported.notes
    )


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.json")))
def test_every_fixture_gives_bodies_that_parse_and_render_with_the_sample_variables(name):
    imported = langfuse.translate([load(name)])
    assert imported.templates
    for template in imported.templates:
        numbers = [v["number"] for v in template["versions"]]
        assert numbers == list(range(1, len(numbers) + 1))
        assert set(template["labels"].values()) <= set(numbers)
        assert "latest" not in template["labels"]
        for version in template["versions"]:
            parse_body(version["body"])
            result = rendered(template, version)
            sent = json.dumps([str(m.content) for m in result.request.messages])
            for name in version["body"].get("variables", {}):
                assert json.dumps(template["sample_variables"][name])[1:-1] in sent
