"""The version editor's form mode, in a real browser: the same document as the JSON editor,
edited as cards and tables, lossless both ways, with lint and badges pointing at fields."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest

from tests.browser.conftest import (
    admin_id,
    api_call,
    expect,
    goto,
    number,
    open_editor,
    seed_template,
    send_try_it,
    wait_for,
)
from tests.factories import DOCUMENT, FULL_MESSAGES, FULL_TOOLS_AND_SYSTEM, make_body, make_tool

DEMO = Path(__file__).resolve().parents[2] / "fixtures" / "demo"
QUESTION = "What uptime does the contract promise?"
NOVA = "bedrock/amazon.nova-pro-v1:0"
PREVIEW_READY = "() => document.querySelector('#preview')?.dataset.ready === 'true'"


@pytest.fixture
def errors(page):
    """Uncaught errors of the page's scripts: a test ends by asserting there were none."""
    found: list[str] = []
    page.on("pageerror", lambda error: found.append(str(error)))
    return found


def to_form(page) -> None:
    page.click("#mode-structured")
    expect(page.locator("#structured")).to_be_visible()
    expect(page.locator("#mode-structured")).to_have_attribute("aria-pressed", "true")


def to_json(page) -> None:
    page.click("#mode-json")
    expect(page.locator("#editor")).to_be_visible()


def body_now(page) -> dict:
    return json.loads(page.evaluate("window.cachetEditor.getValue()"))


def preview_ready(page) -> None:
    wait_for(page, PREVIEW_READY, "the preview never finished")


def type_into(page, selector: str, text: str) -> None:
    """Type into the CodeMirror inside ``selector`` at the end of its text."""
    page.locator(f"{selector} .CodeMirror").first.click()
    page.keyboard.press("Control+End")
    page.keyboard.type(text)


def edit_and_undo(page) -> None:
    """Type a character into the form's first text editor and delete it: the document is the
    same, but the form now writes its text out instead of handing back the one it loaded."""
    type_into(page, "#structured .st-code-text", "x")
    page.keyboard.press("Backspace")


def demo_bodies() -> list[tuple[str, dict, list[dict]]]:
    found = []
    for path in sorted(DEMO.glob("*.json")):
        data = json.loads(path.read_text())
        found.append(
            (data["slug"], data["sample_variables"], [v["body"] for v in data["versions"]])
        )
    return found


def test_every_demo_template_and_a_body_with_every_feature_come_back_byte_for_byte(
    page, login, api, errors, shot
):
    templates = [
        *demo_bodies(),
        ("full-a", {}, [FULL_TOOLS_AND_SYSTEM]),
        ("full-b", {}, [FULL_MESSAGES]),
    ]
    for slug, samples, bodies in templates:
        seed_template(api, slug, samples, tuple(bodies))
    login(page)
    for slug, _, bodies in templates:
        template_id = admin_id(page, slug)
        for at in range(1, len(bodies) + 1):
            goto(
                page,
                f"/admin/templates_app/template/{template_id}/editor/?from={at}&mode=json",
                "editor",
            )
            preview_ready(page)
            loaded = page.evaluate("window.cachetEditor.getValue()")
            # structured → JSON → structured → JSON, the form writing its text each time
            for _ in range(2):
                to_form(page)
                edit_and_undo(page)
                to_json(page)
                assert page.evaluate("window.cachetEditor.getValue()") == loaded, (
                    f"{slug} v{at}: the form changed the body's text"
                )
        stored = api_call(api, "GET", f"templates/{slug}/versions/{len(bodies)}")
        # Saved from the form unchanged: the same content_hash (after the confirmation).
        to_form(page)
        edit_and_undo(page)
        page.fill("#change-message", "unchanged")
        page.click("#save-version")
        expect(page.locator("#save-result")).to_have_attribute("data-confirm", "true")
        expect(page.locator("#save-result")).to_contain_text("identical to version")
        page.click("#confirm-save")
        page.wait_for_url("**/change/")
        saved = api_call(api, "GET", f"templates/{slug}/versions/{len(bodies) + 1}")
        assert saved["content_hash"] == stored["content_hash"], f"{slug}: stored body changed"
    shot(page, "round-trip")
    assert not errors, errors


def test_the_form_shows_every_part_of_a_body(page, login, api, errors, shot):
    seed_template(
        api, "full-a", {"document": DOCUMENT, "question": QUESTION}, (FULL_TOOLS_AND_SYSTEM,)
    )
    login(page)
    open_editor(page, admin_id(page, "full-a"), mode="structured")
    form = page.locator("#structured")
    expect(form.locator("#st-model")).to_have_value("sim/claude-sonnet-4-5")
    expect(form.locator('[data-param="max_tokens"]')).to_have_value("300")
    expect(form.locator('[data-param="temperature"]')).to_have_value("1")
    assert form.locator('[data-param="stop"]').input_value() == "\n\nEND\n###"
    expect(form.locator('[data-param="tool_choice"]')).to_have_value("function:lookup_order")
    expect(form.locator("#st-coalesce")).not_to_be_checked()
    rows = form.locator(".st-variables .st-variable")
    expect(rows).to_have_count(8)
    tone = form.locator('.st-variable[data-variable="tone"]')
    expect(tone.locator(".st-var-type")).to_have_value("string")
    expect(tone.locator(".st-var-enum")).to_have_value("plain\nwarm")
    expect(tone.locator(".st-var-default")).to_have_value("plain")
    question = form.locator('.st-variable[data-variable="question"]')
    expect(question.locator(".st-var-max-length")).to_have_value("20000")
    expect(question.locator(".st-var-per-request")).to_be_checked()
    expect(form.locator('.st-variable[data-variable="words"] .st-var-required')).not_to_be_checked()
    expect(form.locator('.st-variable[data-variable="document"] .st-var-required')).to_be_checked()
    expect(form.locator(".st-tool")).to_have_count(2)
    expect(form.locator(".st-tool").nth(1).locator(".st-tool-strict")).to_be_checked()
    refund_marker = form.locator('.st-cache[data-path="tools[1].cache_control"]')
    expect(refund_marker.locator(".st-cache-box")).to_be_checked()
    expect(refund_marker.locator(".st-ttl")).to_have_value("1h")
    expect(form.locator(".st-message")).to_have_count(3)
    expect(form.locator(".st-message").nth(1).locator(".st-name")).to_have_value("policy")
    expect(
        form.locator('.st-cache[data-path="messages[0].content.cache_control"] .st-ttl')
    ).to_have_value("5m")
    expect(form.locator(".st-message-marker .st-ttl")).to_have_value("")
    # The preview's checkpoint states reach the form's switches.
    preview_ready(page)
    expect(form.locator('[data-checkpoint-for="tools[0]"]')).to_contain_text("#1")
    shot(page, "form-every-part")
    assert not errors, errors


def test_messages_parts_tools_and_variables_are_added_moved_and_removed(
    page, login, api, errors, shot
):
    seed_template(api, "shape", {"document": DOCUMENT, "question": QUESTION}, (make_body(),))
    login(page)
    open_editor(page, admin_id(page, "shape"), mode="structured")
    form = page.locator("#structured")

    # A variable, renamed and typed.
    form.locator(".st-add-variable").click()
    row = form.locator('.st-variable[data-variable="new_variable"]')
    row.locator(".st-var-name").fill("audience")
    row.locator(".st-var-name").press("Tab")
    row = form.locator('.st-variable[data-variable="audience"]')
    row.locator(".st-var-type").select_option("string")
    row.locator(".st-var-default").fill("engineers")
    assert body_now(page)["variables"]["audience"] == {
        "type": "string",
        "required": True,
        "default": "engineers",
    }
    row.locator(".st-up").click()
    row.locator(".st-up").click()
    assert list(body_now(page)["variables"]) == ["document", "audience", "question", "words"]

    # A part added to the system message, moved first, then removed.
    system = form.locator('.st-message[data-path="messages[0]"]')
    system.locator(".st-add-text").click()
    type_into(page, '.st-part[data-path="messages[0].content[2]"]', "Audience: {{ audience }}")
    assert body_now(page)["messages"][0]["content"][2] == {
        "type": "text",
        "text": "Audience: {{ audience }}",
    }
    form.locator('.st-part[data-path="messages[0].content[2]"] .st-up').click()
    form.locator('.st-part[data-path="messages[0].content[1]"] .st-up').click()
    texts = [p["text"] for p in body_now(page)["messages"][0]["content"]]
    assert texts[0] == "Audience: {{ audience }}" and texts[2] == "{{ document }}"
    form.locator('.st-part[data-path="messages[0].content[0]"] .st-remove').click()
    assert len(body_now(page)["messages"][0]["content"]) == 2

    # A message added, split into parts, moved up, removed.
    form.locator(".st-new-role").select_option("assistant")
    form.locator(".st-add-message").click()
    type_into(page, '.st-message[data-path="messages[2]"]', "Noted.")
    assert body_now(page)["messages"][2] == {"role": "assistant", "content": "Noted."}
    form.locator('.st-message[data-path="messages[2]"] .st-split').click()
    assert body_now(page)["messages"][2]["content"] == [{"type": "text", "text": "Noted."}]
    form.locator('.st-message[data-path="messages[2]"] > .st-card-head .st-up').click()
    assert [m["role"] for m in body_now(page)["messages"]] == ["system", "assistant", "user"]
    form.locator('.st-message[data-path="messages[1]"] > .st-card-head .st-remove').click()
    assert [m["role"] for m in body_now(page)["messages"]] == ["system", "user"]

    # A tool, named and cached for an hour.
    form.locator(".st-add-tool").click()
    tool = form.locator('.st-tool[data-path="tools[0]"]')
    tool.locator(".st-tool-name").fill("search_docs")
    type_into(
        page,
        '.st-tool[data-path="tools[0]"] [data-path="tools[0].function.description"]',
        "Search {{ document[:10] }}",
    )
    tool.locator(".st-cache-box").check()
    tool.locator(".st-ttl").select_option("1h")
    added = body_now(page)["tools"][0]
    assert added["function"]["name"] == "search_docs"
    assert added["function"]["description"] == "Search {{ document[:10] }}"
    assert added["cache_control"] == {"type": "ephemeral", "ttl": "1h"}

    # Params: a field cleared drops its key; the model picked from the catalog.
    form.locator('[data-param="temperature"]').fill("")
    assert "temperature" not in body_now(page)["params"]
    form.locator("#st-model").select_option("sim/claude-haiku-4-5")
    assert body_now(page)["model"] == "sim/claude-haiku-4-5"
    preview_ready(page)
    expect(page.locator("#model-select")).to_have_value("sim/claude-haiku-4-5")
    expect(page.locator("#preview .block", has_text="Search")).to_have_count(1)
    shot(page, "form-edited")

    # The JSON editor shows what the form wrote; edits there come back to the form.
    to_json(page)
    assert (
        json.loads(page.evaluate("window.cachetEditor.codemirror.getValue()"))["tools"][0][
            "function"
        ]["name"]
        == "search_docs"
    )
    edited = body_now(page)
    edited["messages"][1]["content"] = "Changed in JSON: {{ question }}"
    page.evaluate("text => window.cachetEditor.setValue(text)", json.dumps(edited, indent=2))
    to_form(page)
    expect(form.locator('.st-message[data-path="messages[1]"] .CodeMirror')).to_contain_text(
        "Changed in JSON"
    )
    assert not errors, errors


def test_lint_points_at_the_field_in_the_form(page, login, api, errors, shot):
    body = make_body(tools=[make_tool(cache_control={"type": "ephemeral", "ttl": "1h"})])
    seed_template(api, "tools-qa", {"document": DOCUMENT, "question": QUESTION}, (body,))
    login(page)
    open_editor(page, admin_id(page, "tools-qa"), mode="structured")
    page.select_option("#model-select", NOVA)
    issue = page.locator('.lint-issue.error[data-code="checkpoint_not_cacheable"]')
    expect(issue).to_have_count(1)
    marker = page.locator('#structured [data-path="tools[0].cache_control"]')
    expect(marker).to_have_class(re.compile(r"\bst-has-error\b"))
    expect(marker).to_have_attribute("data-issue", re.compile("checkpoint_not_cacheable"))
    issue.locator(".issue-line").click()
    expect(marker).to_be_in_viewport()
    shot(page, "form-lint-error")
    assert not errors, errors


def test_json_that_does_not_parse_stays_in_the_json_editor_with_the_reason(
    page, login, api, errors
):
    seed_template(api, "broken", {"document": DOCUMENT, "question": QUESTION}, (make_body(),))
    login(page)
    open_editor(page, admin_id(page, "broken"), mode="json")
    page.evaluate("window.cachetEditor.setValue('{\"model\": ')")
    page.click("#mode-structured")
    expect(page.locator("#mode-error")).to_contain_text("does not parse")
    expect(page.locator("#editor")).to_be_visible()
    expect(page.locator("#structured")).to_be_hidden()
    assert not errors, errors


def test_an_empty_message_or_an_unchanged_body_asks_before_saving(page, login, api, errors, shot):
    seed_template(api, "careful", {"document": DOCUMENT, "question": QUESTION}, (make_body(),))
    login(page)
    template_id = admin_id(page, "careful")
    open_editor(page, template_id, mode="structured")
    preview_ready(page)
    page.click("#save-version")
    result = page.locator("#save-result")
    expect(result).to_have_attribute("data-confirm", "true")
    expect(result).to_contain_text("the change message is empty")
    expect(result).to_contain_text("identical to version 1")
    shot(page, "save-confirm")
    page.click("#cancel-save")
    expect(result).to_have_text("")
    assert api_call(api, "GET", "templates/careful")["latest_version"] == 1

    # A changed body with no message still asks, once; confirming saves it.
    page.locator('[data-param="max_tokens"]').fill("100")
    page.click("#save-version")
    expect(result).to_contain_text("the change message is empty")
    expect(result).not_to_contain_text("identical")
    page.click("#confirm-save")
    page.wait_for_url("**/change/")
    assert (
        api_call(api, "GET", "templates/careful/versions/2")["body"]["params"]["max_tokens"] == 100
    )
    assert not errors, errors


def test_the_mode_is_remembered_between_visits(page, login, api, errors):
    seed_template(api, "modes", {"document": DOCUMENT, "question": QUESTION}, (make_body(),))
    login(page)
    template_id = admin_id(page, "modes")
    goto(page, f"/admin/templates_app/template/{template_id}/editor/", "editor")
    expect(page.locator("#structured")).to_be_visible()  # the form is the default
    to_json(page)
    goto(page, f"/admin/templates_app/template/{template_id}/editor/", "editor")
    expect(page.locator("#editor")).to_be_visible()
    expect(page.locator("#structured")).to_be_hidden()
    assert not errors, errors


def test_an_author_builds_a_1h_cached_document_template_without_json_and_sends_it_twice(
    page, login, errors, shot
):
    """The whole authoring path in the form: no JSON typed anywhere."""
    login(page)
    goto(page, "/admin/templates_app/template/add/", "template add form")
    page.fill("#id_slug", "handbook-qa")
    page.fill("#id_name", "Handbook Q&A")
    page.click("input[name=_continue]")
    page.wait_for_url(re.compile(r"/template/\d+/change/"))
    change_page = page.url
    page.click("#new-version-link")
    page.wait_for_url(re.compile(r"/editor/"))
    form = page.locator("#structured")
    expect(form).to_be_visible()  # the form is where a new author lands

    # A document variable, a part that holds it, cached for an hour.
    form.locator(".st-add-variable").click()
    name = form.locator('.st-variable[data-variable="new_variable"] .st-var-name')
    name.fill("document")
    name.press("Tab")
    system = form.locator('.st-message[data-path="messages[0]"]')
    system.locator(".st-add-text").click()
    type_into(page, '.st-part[data-path="messages[0].content[1]"]', "{{ document }}")
    # Every editor of the redrawn message shows its text, not only the one typed into.
    expect(
        form.locator('.st-part[data-path="messages[0].content[0]"] .CodeMirror-code')
    ).to_contain_text("careful assistant")
    expect(form.locator('[data-path="messages[1].content"] .CodeMirror-code')).to_contain_text(
        "question"
    )
    form.locator('[data-path="messages[0].content[0].cache_control"] .st-cache-box').uncheck()
    marker = form.locator('[data-path="messages[0].content[1].cache_control"]')
    marker.locator(".st-cache-box").check()
    marker.locator(".st-ttl").select_option("1h")

    # A document long enough to cache, in the sample-variables form.
    sample = page.locator('.variables-panel .vf-field[data-variable="document"] textarea')
    sample.fill(DOCUMENT)
    badge = page.locator('#preview .block[data-path="messages[0].content[1]"] .checkpoint-badge')
    expect(badge).to_have_attribute("data-status", "will_cache")
    expect(badge.locator(".badge-ttl")).to_have_text("TTL 1h")
    expect(marker.locator(".st-checkpoint")).to_contain_text("will cache")
    shot(page, "form-authored")
    body = body_now(page)
    assert body["messages"][0]["content"][1] == {
        "type": "text",
        "text": "{{ document }}",
        "cache_control": {"type": "ephemeral", "ttl": "1h"},
    }
    assert "cache_control" not in body["messages"][0]["content"][0]

    page.fill("#change-message", "Cache the handbook for an hour")
    page.click("#save-version")
    page.wait_for_url(change_page)
    expect(page.locator('#versions-table tr[data-version="1"]')).to_be_visible()

    # Try it twice with the form: the first send writes the hour-long entry, the second reads.
    page.locator('#try-it .vf-field[data-variable="document"] textarea').fill(
        f"Handbook {uuid.uuid4()}.\n{DOCUMENT}"
    )
    page.locator('#try-it .vf-field[data-variable="question"] textarea').fill(QUESTION)
    first = send_try_it(page)
    assert number(first["cache_write_1h_tokens"]) > 0, f"the first send writes 1h: {first}"
    shot(page, "form-template-first-send")
    second = send_try_it(page)
    assert number(second["cache_read_tokens"]) > 0, f"the second send reads: {second}"
    assert number(second["saved_usd"]) > 0, second
    shot(page, "form-template-second-send")
    assert not errors, errors
