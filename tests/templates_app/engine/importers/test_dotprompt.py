"""The dotprompt importer: ``.prompt`` files (YAML front matter, a Handlebars template split
into messages at ``{{role}}``) become template files whose bodies Cachet accepts and renders;
what does not carry over is noted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from templates_app.engine.body import parse_body
from templates_app.engine.importers import DEFAULT_MODEL, dotprompt
from templates_app.engine.lint import lint
from templates_app.engine.rendering import compile_body, render

FIXTURES = Path(__file__).resolve().parents[4] / "fixtures" / "importers" / "dotprompt"


@pytest.fixture(scope="module")
def imported() -> dotprompt.Imported:
    return dotprompt.translate(
        [
            (f"prompts/{path.name}", path.read_text(encoding="utf-8"))
            for path in sorted(FIXTURES.glob("*.prompt"))
        ]
    )


def template(imported: dotprompt.Imported, slug: str) -> dict[str, Any]:
    return next(t for t in imported.templates if t["slug"] == slug)


def one(text: str, name: str = "p.prompt") -> tuple[dict[str, Any] | None, list[str]]:
    """The template one file makes (or None) and the notes."""
    result = dotprompt.translate([(name, text)])
    return (result.templates[0] if result.templates else None), result.notes


def body_of(text: str) -> dict[str, Any]:
    file, _ = one(text)
    assert file is not None
    return file["versions"][0]["body"]


def rendered(file: dict[str, Any], values: dict[str, Any] | None = None) -> list[tuple]:
    body = file["versions"][0]["body"]
    values = file["sample_variables"] if values is None else values
    return [(m.role, m.content) for m in render(compile_body(body), values).request.messages]


def test_every_fixture_makes_bodies_cachet_accepts_and_renders(imported) -> None:
    assert [t["slug"] for t in imported.templates] == [
        "describe-product-vision",
        "summarize-thread",
        "support-triage",
        "weekly-digest",
    ]
    for file in imported.templates:
        body = file["versions"][0]["body"]
        parse_body(body)
        report = lint(compile_body(body), sample_variables=file["sample_variables"])
        assert report["errors"] == [], (file["slug"], report["errors"])
        assert report["estimated_with"] == "sample variables"


def test_picoschema_roles_and_config(imported) -> None:
    file = template(imported, "support-triage")
    body = file["versions"][0]["body"]
    assert body["model"] == "openai/gpt-4o"
    assert body["params"] == {
        "temperature": 0.2,
        "max_tokens": 400,
        "top_p": 0.9,
        "stop": ["</triage>"],
    }
    assert body["variables"] == {
        "customer_name": {
            "type": "string",
            "description": "the customer's display name",
            "required": True,
        },
        "tier": {
            "type": "string",
            "description": "the customer's plan",
            "enum": ["free", "pro", "enterprise"],
            "default": "free",
        },
        "message": {
            "type": "string",
            "description": "the customer's message, verbatim",
            "required": True,
        },
        "order_ids": {
            "type": "array",
            "description": "order numbers the customer mentioned",
            "default": [],
        },
        "sentiment": {
            "type": "string",
            "description": "the upstream classifier's guess (positive, neutral, negative)",
            "default": "",
        },
    }
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert body["messages"][0]["content"].startswith("You triage incoming support messages")
    assert file["sample_variables"] == {
        "tier": "free",
        "customer_name": "<customer_name>",
        "message": "<message>",
    }
    values = {
        "customer_name": "Ada",
        "tier": "enterprise",
        "order_ids": ["NW-1", "NW-2"],
        "message": "Exports are stuck.",
    }
    assert rendered(file, values)[1] == (
        "user",
        "Customer: Ada (enterprise plan)\nOrders mentioned: NW-1, NW-2\n\nExports are stuck.",
    )
    assert (
        "prompts/support-triage.prompt: output (format, schema) is not carried over: Cachet "
        "returns the text" in imported.notes
    )


def test_if_and_each_render_as_handlebars_would(imported) -> None:
    file = template(imported, "weekly-digest")
    assert file["name"] == "weeklyDigest"
    assert file["description"] == (
        "The Monday status digest a team lead posts to the #eng-updates channel."
    )
    body = file["versions"][0]["body"]
    assert body["model"] == DEFAULT_MODEL
    assert body["variables"]["blockers"] == {"type": "array", "default": []}
    assert body["variables"]["audience"]["enum"] == ["engineering", "leadership"]
    values = {
        "team_name": "Search",
        "week_of": "2025-06-09",
        "audience": "leadership",
        "highlights": [{"title": "Typo tolerance", "owner": "Ines", "summary": "Shipped."}],
        "blockers": ["Staging cluster down", "Waiting on legal"],
    }
    assert rendered(file, values) == [
        (
            "user",
            "Write the weekly digest for the Search team, week of 2025-06-09.\n"
            "Keep it to outcomes; leave out implementation detail.\n"
            "\n"
            "Highlights:\n"
            "0. Typo tolerance (Ines): Shipped.\n"
            "\n"
            "Blockers:\n"
            "- Staging cluster down\n"
            "- Waiting on legal\n"
            "Audience: leadership.",
        )
    ]
    # The defaults are the samples, and render.
    assert rendered(file)[0][1].startswith(
        "Write the weekly digest for the Payments Platform team, week of 2025-06-02.\n"
        "Say in one line that nothing is blocked.\n"
    )
    for note in (
        "model 'googleai/gemini-2.5-flash' is not one Cachet serves: sim/claude-sonnet-4-5",
        "config not carried over: safetySettings",
        "output (format) is not carried over: Cachet returns the text",
    ):
        assert f"prompts/weekly-digest.prompt: {note}" in imported.notes


def test_a_file_without_front_matter_is_one_user_message(imported) -> None:
    file = template(imported, "summarize-thread")
    body = file["versions"][0]["body"]
    assert body["model"] == DEFAULT_MODEL
    assert body["variables"] == {
        "ticket_id": {"type": "string", "default": ""},
        "transcript": {"type": "string", "required": True},
    }
    [(role, text)] = rendered(file, {"ticket_id": "T-88", "transcript": "Customer: hi"})
    assert role == "user"
    assert "Use at most five bullet points" in text
    assert "Start with the ticket number, T-88.\nQuote order numbers" in text
    assert text.endswith("Thread:\nCustomer: hi")  # a message's text is trimmed
    assert "prompts/summarize-thread.prompt: no model given: sim/claude-sonnet-4-5" in (
        imported.notes
    )


def test_a_variant_history_and_media(imported) -> None:
    file = template(imported, "describe-product-vision")
    assert file["name"] == "describe-product"
    assert [m["role"] for m in file["versions"][0]["body"]["messages"]] == ["system", "user"]
    for note in (
        "variant 'vision' of describe-product: imported as describe-product-vision",
        "{{history}} dropped: Cachet appends the caller's messages after the template's own",
        "messages[1]: {{media url=photo_url}} is not carried over (dropped)",
    ):
        assert f"prompts/describe-product.vision.prompt: {note}" in imported.notes


# --- the file format ------------------------------------------------------------------------


def test_text_before_any_role_is_the_users_and_model_is_the_assistant() -> None:
    body = body_of('Hi {{name}}\n{{role "model"}}\nHello!\n{{role "user"}}\nAgain')
    assert body["messages"] == [
        {"role": "user", "content": "Hi {{ name }}"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "Again"},
    ]


def test_a_role_marker_on_an_empty_message_renames_it() -> None:
    body = body_of('{{role "system"}}\n\n{{role "user"}}  \n{{role "system"}}Rules')
    assert body["messages"] == [{"role": "system", "content": "Rules"}]


def test_a_system_message_after_the_conversation_began_is_a_user_message() -> None:
    file, notes = one('Q\n{{role "system"}}Late')
    assert [m["role"] for m in file["versions"][0]["body"]["messages"]] == ["user", "user"]
    assert (
        "p.prompt: messages[1]: a system message after the conversation began: sent as a user "
        "message" in notes
    )


def test_front_matter_may_follow_comment_lines_and_the_template_is_trimmed() -> None:
    text = "# Copyright 2025\n\n---\nmodel: openai/gpt-4o\n---\n\n  Hello  \n\n"
    assert body_of(text) == {
        "model": "openai/gpt-4o",
        "messages": [{"role": "user", "content": "Hello"}],
    }


def test_front_matter_that_is_not_yaml_skips_the_file() -> None:
    file, notes = one("---\nmodel: [unclosed\n---\nHi")
    assert file is None
    assert notes[0].startswith("p.prompt: the front matter is not YAML (")


def test_yaml_is_read_as_dotprompt_reads_it() -> None:
    # YAML 1.2, as dotprompt's parser: a date stays a string, "yes" is a word.
    text = "---\ninput:\n  default:\n    day: 2025-06-02\n    answer: yes\n---\n{{day}} {{answer}}"
    file, notes = one(text)
    assert file["sample_variables"] == {"day": "2025-06-02", "answer": "yes"}
    assert file["versions"][0]["body"]["variables"]["day"] == {
        "type": "string",
        "default": "2025-06-02",
    }


def test_config_version_pins_the_model_id() -> None:
    body = body_of("---\nmodel: openai/gpt-4o\nconfig:\n  version: gpt-4o-2024-08-06\n---\nx")
    assert body["model"] == "openai/gpt-4o-2024-08-06"


def test_json_schema_input() -> None:
    text = (
        "---\ninput:\n  schema:\n    type: object\n    properties:\n"
        "      q: {type: string, maxLength: 500, description: The question}\n"
        "      n: {type: [integer, 'null']}\n"
        "      lang: {enum: [en, de], default: en}\n"
        "    required: [q]\n---\n{{q}} {{n}} {{lang}}"
    )
    assert body_of(text)["variables"] == {
        "q": {"type": "string", "description": "The question", "required": True, "max_length": 500},
        "n": {"type": "integer", "default": 0},
        "lang": {"type": "string", "enum": ["en", "de"], "default": "en"},
    }


def test_picoschema_objects_named_schemas_and_any() -> None:
    text = (
        "---\ninput:\n  schema:\n    user:\n      name: string\n"
        "    score?: number\n    extra: any, anything\n    product: Product\n"
        "    flags?(object, switches):\n      beta: boolean\n"
        "  default:\n    user: {name: Ada}\n    product: {sku: X1}\n"
        "---\n{{user.name}} {{score}} {{extra}} {{product.sku}} {{flags.beta}}"
    )
    file, notes = one(text)
    assert file["versions"][0]["body"]["variables"] == {
        "user": {"type": "object", "default": {"name": "Ada"}},
        "score": {"type": "number", "default": 0},
        "extra": {"type": "string", "description": "anything", "required": True},
        "product": {"type": "object", "default": {"sku": "X1"}},
        "flags": {"type": "object", "description": "switches", "default": {}},
    }
    assert "p.prompt: input.schema.extra: any is declared as a string" in notes
    assert (
        "p.prompt: input.schema.product: the named schema 'Product' is declared as an object"
        in (notes)
    )


def test_a_default_that_does_not_fit_is_dropped() -> None:
    file, notes = one("---\ninput:\n  schema:\n    n: integer\n  default:\n    n: many\n---\n{{n}}")
    assert file["versions"][0]["body"]["variables"] == {"n": {"type": "integer", "required": True}}
    assert "p.prompt: input.default.n does not fit its type: dropped" in notes


def test_names_the_schema_leaves_out_are_declared_from_their_use() -> None:
    file, notes = one("---\ninput:\n  schema:\n    a: string\n---\n{{a}}{{#if b}}!{{/if}}")
    assert file["versions"][0]["body"]["variables"]["b"] == {"type": "boolean", "default": False}
    assert "p.prompt: b not in input.schema: declared from their use" in notes


def test_a_partial_is_not_imported_and_a_taken_slug_gets_a_suffix() -> None:
    result = dotprompt.translate(
        [("_header.prompt", "House style."), ("a/greet.prompt", "Hi"), ("b/greet.prompt", "Yo")]
    )
    assert [t["slug"] for t in result.templates] == ["greet", "greet-2"]
    assert [note for note in result.notes if "no model" not in note] == [
        "_header.prompt: a partial ({{> header}}): not imported",
        "b/greet.prompt: slug greet is taken by an earlier template: greet-2",
    ]


def test_tools_and_other_front_matter_are_noted() -> None:
    _, notes = one("---\ntools: [lookupOrder]\nmetadata: {team: x}\nacme.owner: 7\n---\nHi")
    assert notes == [
        "p.prompt: no model given: sim/claude-sonnet-4-5",
        "p.prompt: tools ['lookupOrder'] are defined in code: not carried over",
        "p.prompt: front matter not carried over: metadata, acme.owner",
    ]


def test_an_empty_template_is_not_imported() -> None:
    file, notes = one("---\nmodel: openai/gpt-4o\n---\n{{! nothing }}\n")
    assert file is None
    assert notes == ["p.prompt: the template has no text: not imported"]
