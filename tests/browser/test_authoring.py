"""An author's day in the admin, in a real browser: template, editor, labels, diff, try-it.

Screenshots of every step land in artifacts/screenshots/. The DOM contract these tests drive
(ids, classes, data attributes) is the one the admin pages are built to.
"""

from __future__ import annotations

import json
import re
import time
import uuid

from tests.browser.conftest import (
    TIMEOUT_MS,
    PlaywrightError,
    admin_id,
    editor_ready,
    expect,
    goto,
    number,
    open_editor,
    seed_template,
    send_try_it,
    wait_for,
)
from tests.factories import DOCUMENT, make_body, make_tool

CLAUSE = "Clause 1. The service is available 99.9% of each month.\n"
QUESTION = "What uptime does the contract promise?"
MODEL = "sim/claude-sonnet-4-5"
NOVA = "bedrock/amazon.nova-pro-v1:0"
HUGE_DOCUMENT = CLAUSE * 7_000  # 399,000 ASCII characters: about 100,000 estimated tokens
CHECKPOINT = "#preview .block.cached .checkpoint-badge"


def set_body(page, body: dict) -> None:
    page.evaluate("text => window.cachetEditor.setValue(text)", json.dumps(body, indent=2))


def set_sample_variables(page, variables: dict) -> None:
    """Replace the sample variables as typing would: new value, then input and change events."""
    page.locator("#sample-variables").evaluate(
        """(area, text) => {
            area.value = text;
            area.dispatchEvent(new Event('input', {bubbles: true}));
            area.dispatchEvent(new Event('change', {bubbles: true}));
        }""",
        json.dumps(variables, indent=2),
    )


def save_version(page, message: str, change_page: str) -> None:
    """Save from the editor, then stand on the template's change page."""
    page.fill("#change-message", message)
    page.click("#save-version")
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while "/change/" not in page.url:
        text, classes = save_result(page)
        if text:
            assert "error" not in classes.split(), f"saving the version failed: {text!r}"
            goto(page, change_page, "template change page")
            break
        assert time.monotonic() < deadline, "after #save-version: no new page, no #save-result"
        page.wait_for_timeout(100)
    page.wait_for_load_state()


def save_result(page) -> tuple[str, str]:
    """The text and classes of ``#save-result``, empty while there is none."""
    try:
        result = page.locator("#save-result")
        if not result.count():
            return "", ""
        return result.inner_text().strip(), result.get_attribute("class") or ""
    except PlaywrightError:  # the page is navigating away: nothing to read yet
        return "", ""


def test_an_author_logs_in_and_sees_the_admin_index(page, login, shot):
    login(page)
    expect(page.locator("#content h1")).to_contain_text("administration")
    expect(page.get_by_role("link", name="Templates", exact=True)).to_be_visible()
    shot(page, "admin-index")


def test_an_author_writes_promotes_diffs_and_tries_a_cached_template(page, login, shot):
    login(page)

    # A new template, from the admin add form.
    goto(page, "/admin/templates_app/template/add/", "template add form")
    page.fill("#id_slug", "contract-qa")
    page.fill("#id_name", "Contract Q&A")
    page.fill("#id_description", "Answers questions about one contract.")
    page.fill("#id_sample_variables", json.dumps({"document": CLAUSE, "question": QUESTION}))
    shot(page, "add-form")
    page.click("input[name=_continue]")
    page.wait_for_url(re.compile(r"/template/\d+/change/"))
    template_id = re.search(r"/template/(\d+)/change/", page.url).group(1)
    change_page = f"/admin/templates_app/template/{template_id}/change/"
    shot(page, "template-created")

    # Version 1: the document is a checkpoint. Short sample document: below the minimum.
    link = page.locator("#new-version-link")
    if link.count():
        link.click()
        page.wait_for_url(re.compile(r"/editor/"))
        editor_ready(page)
    else:  # the change page's extras may land after the editor; the link is checked below
        open_editor(page, template_id)
    page.click("#mode-json")  # this author writes JSON; the form is tested on its own
    page.select_option("#model-select", MODEL)
    set_body(page, make_body())
    badge = page.locator(CHECKPOINT)
    expect(badge, "the document checkpoint should be badged in a cached block").to_have_count(1)
    expect(badge).to_have_attribute("data-status", "below_minimum")
    expect(badge).to_have_attribute("data-min-tokens", "1024")
    expect(page.locator("#preview .block.cached").first).to_be_visible()
    expect(page.locator("#lint-status")).to_contain_text("ok")
    expect(page.locator("#prefix-variables")).to_contain_text("document")
    expect(page.locator("#suffix-variables")).to_contain_text("question")
    shot(page, "checkpoint-below-minimum")

    # A longer sample document crosses the model's minimum: the checkpoint will cache.
    set_sample_variables(page, {"document": DOCUMENT, "question": QUESTION})
    expect(badge, "a ~7,000-character document should reach 1,024 tokens").to_have_attribute(
        "data-status", "will_cache"
    )
    assert number(badge.get_attribute("data-tokens")) >= 1024
    shot(page, "checkpoint-will-cache")

    # Typing into the editor itself updates the preview.
    page.locator("#editor").get_by_text("Answer in").first.click()
    page.keyboard.press("End")
    page.keyboard.press("ArrowLeft")  # inside the closing quote of the user message
    page.keyboard.type(" Cite the clause.")
    expect(
        page.locator("#preview .block", has_text="Cite the clause."),
        "text typed into the editor should reach the preview",
    ).to_have_count(1)
    typed = json.loads(page.evaluate("window.cachetEditor.getValue()"))
    assert typed["messages"][1]["content"].endswith("Cite the clause.")
    shot(page, "typed-into-editor")

    save_version(page, "Cache the contract", change_page)
    expect(page.locator('#versions-table tr[data-version="1"]')).to_be_visible()
    expect(page.locator("#new-version-link")).to_be_visible()
    shot(page, "version-1-saved")

    # Promote version 1 to production, through the confirmation page.
    form = page.locator("#new-label-form")
    form.locator("input[name=label]").fill("production")
    form.locator("select[name=version]").select_option("1")
    form.locator("[type=submit]").click()
    expect(page.locator("#confirm-move")).to_be_visible()
    shot(page, "confirm-production")
    page.click("#confirm-move")
    page.wait_for_url(re.compile(r"/change/"))
    expect(page.locator('#labels form.label-move[data-label="production"]')).to_be_visible()
    expect(page.locator("#label-history li", has_text="production")).to_have_count(1)
    shot(page, "production-is-v1")

    # Version 2 changes the cached system text; the editor starts from version 1.
    page.click("#new-version-link")
    page.wait_for_url(re.compile(r"/editor/"))
    editor_ready(page)
    latest = json.loads(page.evaluate("window.cachetEditor.getValue()"))
    assert latest["messages"][1]["content"] == typed["messages"][1]["content"], (
        "the editor should start from the latest version's body"
    )
    version_2 = make_body()
    version_2["messages"][0]["content"][0]["text"] = "Answer from the contract; quote clauses."
    set_body(page, version_2)
    expect(page.locator("#preview .block", has_text="quote clauses")).to_have_count(1)
    shot(page, "version-2-editor")
    save_version(page, "Ask for quotes", change_page)
    expect(page.locator('#versions-table tr[data-version="2"]')).to_be_visible()

    # The diff 1 → 2 says the cached prefix changes.
    compare = page.locator("#compare-form")
    compare.locator("select[name=a]").select_option("1")
    compare.locator("select[name=b]").select_option("2")
    compare.locator("[type=submit]").click()
    page.wait_for_url(re.compile(r"/diff/\?"))
    impact = page.locator('#cache-impact .checkpoint-impact[data-changed="true"]')
    expect(impact, "changing the system text invalidates the document checkpoint").to_have_count(1)
    expect(page.locator("#rewrite-cost")).to_be_visible()
    shot(page, "diff-1-2")

    # Try it on sim: the first send writes the cache, the second reads it.
    goto(page, change_page, "template change page")
    page.select_option("#try-target", "label:production")
    page.select_option("#try-model", MODEL)
    document = f"Contract {uuid.uuid4()}.\n{DOCUMENT}"  # a prefix no earlier run has cached
    page.click("#try-it .vf-mode[data-vf-mode=json]")  # as JSON; the form has its own tests
    page.fill("#try-variables", json.dumps({"document": document, "question": QUESTION}))
    first = send_try_it(page)
    assert number(first["cache_write_tokens"]) > 0, f"first send should write the cache: {first}"
    assert first["output"].strip(), f"the first send has no output: {first}"
    shot(page, "try-it-cache-write")
    second = send_try_it(page)
    assert number(second["cache_read_tokens"]) > 0, f"second send should read the cache: {second}"
    assert number(second["saved_usd"]) > 0, f"a cache read should save money: {second}"
    shot(page, "try-it-cache-read")

    goto(page, change_page, "template change page")
    expect(page.locator("#analytics svg[data-chart]").first).to_be_visible()
    shot(page, "analytics")

    goto(page, "/admin/templates_app/invocation/", "invocation list")
    rows = page.locator("#result_list tbody tr", has_text="contract-qa")
    expect(rows, "both try-it sends should be logged as invocations").to_have_count(2)
    shot(page, "invocations")


def test_switching_to_nova_flags_the_tool_checkpoint_as_an_error(page, login, api, shot):
    body = make_body(tools=[make_tool(cache_control={"type": "ephemeral", "ttl": "1h"})])
    seed_template(api, "tools-qa", {"document": DOCUMENT, "question": QUESTION}, (body,))
    login(page)
    open_editor(page, admin_id(page, "tools-qa"))
    expect(page.locator("#lint-status")).to_contain_text("ok")
    page.select_option("#model-select", NOVA)
    issue = page.locator('.lint-issue.error[data-code="checkpoint_not_cacheable"]')
    expect(issue, "Nova cannot cache tools: the tool checkpoint is a lint error").to_have_count(1)
    assert issue.get_attribute("data-line"), "the lint issue should point at a line"
    shot(page, "nova-tool-checkpoint-error")


def test_a_100k_token_document_keeps_the_editor_responsive(page, login, api, shot):
    seed_template(
        api, "huge-doc", {"document": HUGE_DOCUMENT, "question": QUESTION}, (make_body(),)
    )
    login(page)
    started = time.monotonic()
    open_editor(page, admin_id(page, "huge-doc"))
    wait_for(
        page,
        "() => document.querySelector('#preview')?.dataset.ready === 'true'"
        " && document.querySelectorAll('#preview .block').length > 0",
        "the preview of a 100,000-token document never completed",
        timeout_ms=30_000,
    )
    loaded = time.monotonic() - started
    expand = page.locator("#preview .block .expand")
    expect(expand.first, "the 400,000-character block should be truncated").to_be_visible()
    longest = page.evaluate(
        "Math.max(...[...document.querySelectorAll('#preview .block')].map(b => b.innerText.length))"
    )
    assert longest < 100_000, f"a truncated block still shows {longest:,} characters"
    assert round_trip_seconds(page) < 0.5, "the page is busy after the preview completed"
    shot(page, "huge-document")
    expand.first.click()
    wait_for(
        page,
        "() => Math.max(...[...document.querySelectorAll('#preview .block')]"
        ".map(b => b.innerText.length)) > 390000",
        "expanding the long block should show the whole document",
    )
    assert round_trip_seconds(page) < 0.5, "the page is busy after expanding the long block"
    assert loaded < 20, f"the editor took {loaded:.1f}s to load and preview"


def round_trip_seconds(page) -> float:
    """The slowest of three trivial page.evaluate round trips: long if the page is busy."""
    times = []
    for _ in range(3):
        started = time.perf_counter()
        page.evaluate("1 + 1")
        times.append(time.perf_counter() - started)
    return max(times)


def test_the_editor_fits_a_1280_by_800_window(page, login, api, shot):
    seed_template(api, "fits", {"document": DOCUMENT, "question": QUESTION}, (make_body(),))
    login(page)
    open_editor(page, admin_id(page, "fits"))
    expect(page.locator("#preview .block.cached").first).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1280, f"the editor page scrolls sideways: {width}px wide in a 1280px window"
    for part in ("#editor", "#preview", "#save-version"):
        box = page.locator(part).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 1280, f"{part} leaves the page"
    shot(page, "1280x800")
