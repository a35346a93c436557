"""Variables as a form, in a real browser: the try-it panel and the editor's sample variables
get one field per declared variable instead of a JSON blob."""

from __future__ import annotations

import json

import pytest

from gateway.tokens import TOKENIZERS, estimate_tokens
from tests.browser.conftest import (
    admin_id,
    api_call,
    expect,
    goto,
    open_editor,
    seed_template,
    wait_for,
)
from tests.factories import DOCUMENT, make_body

QUESTION = "What uptime does the contract promise?"
TYPED = make_body(
    variables={
        "document": {"type": "string", "required": True, "description": "The contract"},
        "question": {"type": "string", "required": True, "max_length": 200},
        "words": {"type": "integer", "default": 20},
        "ratio": {"type": "number", "default": 0.5},
        "formal": {"type": "boolean", "default": False},
        "tone": {"type": "string", "enum": ["plain", "warm"], "default": "plain"},
        "tags": {"type": "array", "default": []},
        "profile": {"type": "object", "default": {}},
    },
)
TYPED["messages"][1]["content"] = (
    "{{ tone }} {{ formal }} {{ ratio }} {{ tags|join(',') }} {{ profile|tojson }} "
    "Answer in {{ words }} words: {{ question }}"
)
SAMPLES = {"document": DOCUMENT, "question": QUESTION}
DONE = "() => document.querySelector('#try-result').dataset.ready === 'true'"


@pytest.fixture
def errors(page):
    found: list[str] = []
    page.on("pageerror", lambda error: found.append(str(error)))
    return found


def open_try_it(page, api, slug: str, body: dict, samples: dict | None = None) -> str:
    seed_template(api, slug, SAMPLES if samples is None else samples, (body,))
    template_id = admin_id(page, slug)
    goto(page, f"/admin/templates_app/template/{template_id}/change/", "template page")
    expect(page.locator("#try-it .vf-field").first).to_be_visible()
    return template_id


def field(page, name: str, scope: str = "#try-it"):
    return page.locator(f'{scope} .vf-field[data-variable="{name}"]')


def try_values(page) -> dict:
    return json.loads(page.locator("#try-variables").input_value())


def send(page) -> None:
    page.locator("#try-result").evaluate("el => el.setAttribute('data-ready', 'false')")
    page.click("#try-send")
    wait_for(page, DONE, "the try-it send never completed", timeout_ms=20_000)


def test_each_type_gets_its_own_field_and_what_is_sent_follows_the_form(
    page, login, api, errors, shot
):
    login(page)
    open_try_it(page, api, "typed", TYPED)
    expect(field(page, "document").locator("textarea.vf-text")).to_have_value(DOCUMENT)
    tokens = field(page, "document").locator(".vf-size")
    expect(tokens).to_have_attribute("data-tokens", str(estimate_tokens(DOCUMENT, "claude")))
    expect(tokens).to_contain_text(f"{len(DOCUMENT):,} characters")
    expect(field(page, "words").locator("input[type=number]")).to_be_visible()
    expect(field(page, "formal").locator("input[type=checkbox]")).to_be_visible()
    expect(field(page, "tone").locator("select")).to_be_visible()
    expect(field(page, "tags").locator("textarea.vf-json")).to_be_visible()
    expect(field(page, "profile").locator("textarea.vf-json")).to_be_visible()
    for name in ("document", "question", "words", "ratio", "formal", "tone"):
        expect(field(page, name).locator(".vf-json")).to_have_count(0)

    field(page, "question").locator("textarea").fill("Is there a credit for downtime?")
    field(page, "words").locator("input").fill("12")
    field(page, "formal").locator("input").check()
    field(page, "tone").locator("select").select_option(label="warm")
    field(page, "tags").locator("textarea").fill('["sla", "credits"]')
    field(page, "profile").locator("textarea").fill('{"tier": "gold"}')
    sent = try_values(page)
    assert sent["words"] == 12 and sent["formal"] is True and sent["tone"] == "warm"
    assert sent["tags"] == ["sla", "credits"] and sent["profile"] == {"tier": "gold"}
    assert "ratio" not in sent, "an untouched optional number is left to its default"
    shot(page, "try-it-form")

    send(page)
    expect(page.locator("#try-error")).to_be_hidden()
    answer = api_call(api, "GET", "invocations", params={"template": "typed"})["results"][0]
    assert answer["variables"]["question"] == "Is there a credit for downtime?"
    assert answer["variables"]["tags"] == ["sla", "credits"]

    # A bad value is flagged, named, and not applied.
    field(page, "tags").locator("textarea").fill('{"not": "a list"}')
    expect(field(page, "tags").locator(".vf-invalid")).to_contain_text("tags must be a JSON array")
    assert try_values(page)["tags"] == ["sla", "credits"]
    field(page, "question").locator("textarea").fill("x" * 201)
    expect(field(page, "question").locator(".vf-size")).to_contain_text("over the limit of 200")
    assert not errors, errors


def test_the_json_mode_and_the_form_are_the_same_values(page, login, api, errors):
    login(page)
    open_try_it(page, api, "both", TYPED)
    page.click("#try-it .vf-mode[data-vf-mode=json]")
    typed = {**SAMPLES, "words": 7, "stray": "kept"}
    page.fill("#try-variables", json.dumps(typed))
    page.click("#try-it .vf-mode[data-vf-mode=form]")
    expect(field(page, "words").locator("input")).to_have_value("7")
    note = page.locator("#try-it .vf-note")
    expect(note).to_contain_text("stray")
    expect(note).to_have_attribute("data-undeclared", "stray")
    field(page, "words").locator("input").fill("8")
    assert try_values(page) == {**typed, "words": 8}, "the undeclared value must be kept"
    page.click("#try-it .vf-mode[data-vf-mode=json]")
    page.fill("#try-variables", "{not json")
    page.click("#try-it .vf-mode[data-vf-mode=form]")
    expect(page.locator("#try-it .vf-error")).to_contain_text("not valid JSON")
    expect(field(page, "words").locator("input")).to_have_value("8")
    assert not errors, errors


def test_a_failing_send_after_a_good_one_shows_the_error_alone(page, login, api, errors, shot):
    strict = make_body()
    strict["variables"]["question"]["max_length"] = 10
    seed_template(api, "fails", SAMPLES, (make_body(), strict))
    login(page)
    goto(page, f"/admin/templates_app/template/{admin_id(page, 'fails')}/change/", "template")
    page.select_option("#try-target", "version:1")
    send(page)
    expect(page.locator('#try-result [data-when="done"]')).to_be_visible()
    page.select_option("#try-target", "version:2")
    expect(field(page, "question").locator(".vf-facts")).to_contain_text("at most 10 characters")
    send(page)
    expect(page.locator("#try-error")).to_be_visible()
    expect(page.locator("#try-error")).to_contain_text("question")
    expect(page.locator('#try-result [data-when="done"]')).to_be_hidden()
    shot(page, "try-it-error")
    assert not errors, errors


def test_a_100k_token_document_in_the_form_keeps_typing_responsive(page, login, api, errors):
    huge = "Clause 1. The service is available 99.9% of each month.\n" * 7_000
    login(page)
    open_try_it(page, api, "huge-form", make_body(), samples={"document": huge, "question": "q"})
    area = field(page, "document").locator("textarea")
    expect(field(page, "document").locator(".vf-size")).to_contain_text(f"{len(huge):,} characters")
    box = area.bounding_box()
    assert box and box["height"] < 600, "a long document sits in a bounded, resizable box"
    question = field(page, "question").locator("textarea")
    question.click()
    page.keyboard.type(" and credits?")
    wait_for(
        page,
        "() => JSON.parse(document.querySelector('#try-variables').value).question"
        " === 'q and credits?'",
        "typing beside a 400,000-character document should reach the variables",
    )
    assert try_values(page)["document"] == huge
    assert not errors, errors


def test_the_estimate_in_the_browser_is_the_servers(page, login, api):
    samples = ["", "a", "abcd", "abcde", "naïve café", "東京の天気", "🚀 launch", DOCUMENT[:999]]
    login(page)
    open_try_it(page, api, "estimates", make_body())
    for family, factor in TOKENIZERS.items():
        found = page.evaluate(
            "([texts, f]) => texts.map(t => window.CachetVarForm.estimateTokens(t, f))",
            [samples, float(factor)],
        )
        assert found == [estimate_tokens(text, family) for text in samples], family


def test_a_new_templates_first_preview_renders(page, login, api, errors, shot):
    api_call(api, "POST", "templates", json={"slug": "fresh", "name": "Fresh"})
    login(page)
    open_editor(page, admin_id(page, "fresh"), mode="structured")
    wait_for(
        page,
        "() => document.querySelector('#preview').dataset.ready === 'true'"
        " && document.querySelectorAll('#preview .block').length > 0",
        "the starter body's preview never rendered",
    )
    expect(page.locator("#preview .render-error")).to_have_count(0)
    expect(field(page, "question", ".variables-panel").locator("textarea")).not_to_have_value("")
    shot(page, "first-preview")
    assert not errors, errors


def test_the_templates_sample_variables_are_a_form_too_and_are_saved(page, login, api, errors):
    login(page)
    template_id = open_try_it(page, api, "stored-samples", TYPED)
    sample = page.locator('.field-sample_variables .vf-field[data-variable="question"] textarea')
    sample.fill("How long is the notice period?")
    page.locator('.field-sample_variables .vf-field[data-variable="words"] input').fill("30")
    page.click("input[name=_continue]")
    page.wait_for_url(f"**/template/{template_id}/change/")
    stored = api_call(api, "GET", "templates/stored-samples")["sample_variables"]
    assert stored == {**SAMPLES, "question": "How long is the notice period?", "words": 30}
    assert not errors, errors
