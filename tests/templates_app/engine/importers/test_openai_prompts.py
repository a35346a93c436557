"""The OpenAI prompt-object importer: saved prompts (``pmpt_…``) and their versions translated
into template files, the id kept as an alias. Pure: no database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from templates_app.engine.body import parse_body
from templates_app.engine.importers import openai_prompts
from templates_app.engine.rendering import compile_body, render

FIXTURES = Path(__file__).resolve().parents[4] / "fixtures" / "importers" / "openai"
SUPPORT_ID = "pmpt_6862e3a4c5d08190b1f2a9e7d3c4b5a60f1e2d3c4b5a6978"
RECEIPT_ID = "pmpt_68a7c1f09e3c8194a6b2d4f8e0c1a3b50d7e9f1a2b3c4d5e"
REWRITE_ID = "pmpt_689f2b7d4e1c8196b3a5c7e9f1d2b4a60c8e0a2b4d6f8a1c"


def load(name: str) -> tuple[str, Any]:
    return name, json.loads((FIXTURES / name).read_text())


def prompt(*versions: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A saved prompt object holding ``versions``."""
    return {"id": "pmpt_abc123", "object": "prompt", "versions": list(versions)} | fields


def version(number: str = "1", **fields: Any) -> dict[str, Any]:
    base = {"version": number, "model": "gpt-4.1", "instructions": "Greet {{name}}."}
    return base | fields


def translate(data: Any) -> openai_prompts.Imported:
    return openai_prompts.translate([("in.json", data)])


def rendered(template: dict[str, Any], item: dict[str, Any], values: Any = None):
    compiled = compile_body(item["body"])
    samples = template["sample_variables"] if values is None else values
    return render(compiled, {k: v for k, v in samples.items() if k in compiled.body.variables})


def test_a_prompt_object_translates_exactly_with_its_id_as_alias():
    imported = openai_prompts.translate([load("support-reply.json")])
    [template] = imported.templates
    v1, v2 = template["versions"]
    assert {k: v for k, v in template.items() if k != "versions"} == {
        "slug": "support-reply",
        "name": "Support reply",
        "description": "Drafts the first reply to a customer email for the support team to review.",
        "aliases": [SUPPORT_ID],
        "sample_variables": {
            "company": "Northwind Outfitters",
            "customer_name": "Dana",
            "issue": "My order arrived with a torn jacket.",
            "order_number": "NW-48213",
        },
        "labels": {"production": 2},
    }
    assert v1 == {
        "number": 1,
        "message": "OpenAI prompt version 1",
        "body": {
            "model": "openai/gpt-4.1",
            "params": {"temperature": 0.4, "max_tokens": 600},
            "variables": {
                "company": {"type": "string", "default": "Northwind Outfitters"},
                "customer_name": {"type": "string", "default": "Dana"},
                "issue": {"type": "string", "default": "My order arrived with a torn jacket."},
            },
            "messages": [
                {
                    "role": "system",
                    "content": "You draft replies to customer emails for {{ company }}. Be concise, accurate and friendly. Never promise a refund or a delivery date.",
                },
                {
                    "role": "user",
                    "content": "Customer name: {{ customer_name }}\nIssue: {{ issue }}\n\nWrite a reply to the customer.",
                },
            ],
        },
    }
    body = v2["body"]
    assert body["params"] == {"temperature": 0.4, "max_tokens": 800, "tool_choice": "auto"}
    assert list(body["variables"]) == ["company", "customer_name", "order_number", "issue"]
    # A lone input_text part becomes a string.
    assert body["messages"][1]["content"].startswith("Customer name: {{ customer_name }}\n")
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "lookup_order",
                "description": "Look up an order by its number: status, items, shipping date and carrier.",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "order_number": {
                            "type": "string",
                            "description": "The order number, e.g. NW-48213.",
                        }
                    },
                    "required": ["order_number"],
                    "additionalProperties": False,
                },
                "strict": True,
            },
        }
    ]
    assert imported.notes == [
        f"support-reply.json: OpenAI prompt {SUPPORT_ID} version 2: settings Cachet has no place for, dropped: store"
    ]


def test_string_defaults_make_variables_optional():
    imported = openai_prompts.translate([load("support-reply.json")])
    template = imported.templates[0]
    result = rendered(template, template["versions"][0], values={"customer_name": "Lee"})
    system, user = result.request.messages
    assert "for Northwind Outfitters." in system.content
    assert user.content.startswith("Customer name: Lee\nIssue: My order arrived")


def test_flat_versions_are_grouped_ordered_and_the_default_flag_is_production():
    imported = openai_prompts.translate([load("versions-export.json")])
    [template] = imported.templates
    assert [v["message"] for v in template["versions"]] == [
        "OpenAI prompt version 1",
        "OpenAI prompt version 2",
    ]
    assert template["labels"] == {"production": 1}  # is_default on version "1"
    v1, v2 = (v["body"] for v in template["versions"])
    assert [m["role"] for m in v1["messages"]] == ["system", "user"]  # developer → system
    assert [m["role"] for m in v2["messages"]] == ["system", "user", "assistant", "user"]
    assert v2["messages"][2] == {
        "role": "assistant",
        "content": "A waxed cotton jacket with two chest pockets. Fits true to size.",
    }
    assert "params" not in v2
    assert imported.notes == [
        f"versions-export.json[0]: OpenAI prompt {REWRITE_ID} version 2: reasoning (effort 'minimal') dropped: Cachet params have no reasoning",
        f"versions-export.json[0]: OpenAI prompt {REWRITE_ID} version 2: text verbosity 'low' dropped",
    ]


def test_without_a_name_the_slug_comes_from_the_id_and_is_not_the_alias():
    imported = openai_prompts.translate([load("versions-export.json")])
    [template] = imported.templates
    assert template["slug"] == REWRITE_ID.replace("_", "-")
    assert template["aliases"] == [REWRITE_ID]
    assert template["name"] == REWRITE_ID
    assert template["slug"] not in template["aliases"]


def test_input_parts_images_and_what_is_dropped():
    imported = openai_prompts.translate([load("expense-receipt-check.json")])
    [template] = imported.templates
    assert template["aliases"] == [RECEIPT_ID]
    assert template["labels"] == {"production": 1}  # current_version
    body = template["versions"][0]["body"]
    assert body["model"] == "openai/o3"
    assert body["params"] == {"max_tokens": 2000}
    assert "tools" not in body
    user = body["messages"][1]
    assert [part["type"] for part in user["content"]] == ["text", "text", "image_url", "text"]
    assert user["content"][2] == {
        "type": "image_url",
        "image_url": {"url": "https://example.com/policy/meal-allowance-table.png"},
    }
    assert body["variables"]["receipt"] == {"type": "string", "required": True}
    assert body["variables"]["policy_limit"] == {"type": "string", "default": "75"}
    assert template["sample_variables"]["receipt"] == "<receipt>"
    where = f"expense-receipt-check.json: OpenAI prompt {RECEIPT_ID} version 1"
    assert imported.notes == [
        f"{where}: web_search_preview tool dropped: Cachet has function tools",
        f"{where}: reasoning (effort 'medium') dropped: Cachet params have no reasoning",
        f"{where}: text format 'json_schema' (structured output) dropped",
        f"{where}: variable 'receipt' holds input_image, which Cachet cannot substitute: declared a required string (an image or file goes in a part of its own)",
    ]


def test_no_default_marked_points_production_at_the_newest_with_a_note():
    imported = translate(prompt(version("2"), version("10"), version("1")))
    [template] = imported.templates
    assert [v["message"] for v in template["versions"]] == [
        "OpenAI prompt version 1",
        "OpenAI prompt version 2",
        "OpenAI prompt version 10",
    ]
    assert template["labels"] == {"production": 3}
    assert imported.notes == [
        "in.json: OpenAI prompt pmpt_abc123: no version is marked default: production points at 10"
    ]


def test_a_default_version_that_did_not_translate_falls_back_to_the_newest():
    broken = version("2", instructions=None)  # no message at all
    imported = translate(prompt(version("1"), broken, default_version="2"))
    [template] = imported.templates
    assert template["labels"] == {"production": 1}
    assert imported.notes == [
        "in.json: OpenAI prompt pmpt_abc123 version 2: not imported: the translated body is refused (messages: must hold at least one message)",
        "in.json: OpenAI prompt pmpt_abc123: the default version 2 was not translated: production points at 1",
    ]


def test_versions_of_one_prompt_across_documents_are_merged():
    imported = openai_prompts.translate(
        [
            ("b.json", {"id": "pmpt_abc123", "version": "2", "instructions": "Two {{name}}"}),
            ("a.json", prompt(version("1"), name="Greeter", default_version="1")),
        ]
    )
    [template] = imported.templates
    assert template["slug"] == "greeter"
    assert [v["body"]["messages"][0]["content"] for v in template["versions"]] == [
        "Greet {{ name }}.",
        "Two {{ name }}",
    ]
    assert template["labels"] == {"production": 1}


def test_responses_tool_choice_non_message_items_and_file_id_images():
    imported = translate(
        prompt(
            version(
                input=[
                    {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
                    {
                        "role": "user",
                        "content": [
                            {"type": "input_text", "text": "Look at this"},
                            {"type": "input_image", "file_id": "file-123"},
                        ],
                    },
                ],
                tools=[{"type": "function", "name": "f", "parameters": {"type": "object"}}],
                tool_choice={"type": "function", "name": "f"},
            ),
            default_version="1",
        )
    )
    body = imported.templates[0]["versions"][0]["body"]
    assert body["params"] == {"tool_choice": {"type": "function", "function": {"name": "f"}}}
    assert body["messages"][1] == {"role": "user", "content": "Look at this"}
    assert imported.notes == [
        "in.json: OpenAI prompt pmpt_abc123 version 1, input 1: function_call input item dropped: only messages carry over",
        "in.json: OpenAI prompt pmpt_abc123 version 1, input 2, part 2: input_image part dropped",
    ]


def test_every_param_key_is_carried_and_a_model_cachet_does_not_serve_is_the_default():
    imported = translate(
        prompt(version(model="azure/gpt-4.1", seed=7, stop=["END"]), default_version="1")
    )
    body = imported.templates[0]["versions"][0]["body"]
    assert body["model"] == "sim/claude-sonnet-4-5"
    assert body["params"] == {"seed": 7, "stop": ["END"]}
    assert imported.notes == [
        "in.json: OpenAI prompt pmpt_abc123 version 1: model 'azure/gpt-4.1' is not one Cachet serves: sim/claude-sonnet-4-5"
    ]


def test_an_id_that_cannot_be_an_alias_gives_no_alias():
    imported = translate(prompt(version("1"), id="pmpt abc", default_version="1"))
    [template] = imported.templates
    assert template["aliases"] == []
    assert template["slug"] == "pmpt-abc"
    assert imported.notes == [
        "in.json: OpenAI prompt pmpt abc: the id is not a valid Cachet alias: no alias"
    ]


def test_documents_that_are_no_prompt_get_notes():
    imported = openai_prompts.translate([("x.json", [{"name": "no id"}, "text"])])
    assert imported.templates == []
    assert imported.notes == [
        "x.json[0]: an OpenAI prompt without an id (pmpt_…): skipped",
        "x.json[1]: not an OpenAI prompt object: skipped",
    ]


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.json")))
def test_every_fixture_gives_bodies_that_parse_and_render_with_the_sample_variables(name):
    imported = openai_prompts.translate([load(name)])
    assert imported.templates
    for template in imported.templates:
        assert template["aliases"] and template["aliases"][0].startswith("pmpt_")
        assert template["slug"] not in template["aliases"]
        numbers = [v["number"] for v in template["versions"]]
        assert numbers == list(range(1, len(numbers) + 1))
        assert template["labels"]["production"] in numbers
        for item in template["versions"]:
            parse_body(item["body"])
            result = rendered(template, item)
            sent = json.dumps([str(m.content) for m in result.request.messages])
            for variable in item["body"].get("variables", {}):
                assert json.dumps(template["sample_variables"][variable])[1:-1] in sent
