"""The invocation list, one invocation's page and one version's page in a real browser at
1280×800; the site root and the favicon; the browser's figure formats against Python's.

Data goes in over the REST API: a template with two versions and sends on the simulator
(the first writes its cached prefix: a miss; the next ones read it).
"""

from __future__ import annotations

import json
import math
import re
import uuid

import pytest

from templates_app.admin import formats
from tests.browser.conftest import (
    VIEWPORT,
    admin_id,
    api_call,
    expect,
    goto,
    seed_template,
)
from tests.factories import DOCUMENT, make_body

SLUG = "document-qa"
QUESTIONS = ("What uptime is promised?", "Per month?", "Any exceptions?")
FINGERPRINT = re.compile(r"^sha256:[0-9a-f]{64}$")
INVOCATION_LIST = "/admin/templates_app/invocation/"


def second_body() -> dict:
    """Version 2: another system text, and a declared variable no field uses (a warning)."""
    body = make_body()
    body["messages"][0]["content"][0]["text"] = "Answer from the document; quote it."
    body["variables"]["tone"] = {"type": "string", "default": "plain"}
    return body


@pytest.fixture
def sends(api) -> list[dict]:
    """Template ``document-qa`` (v1, v2), then three sends of v2 on a prefix no earlier test
    cached: a miss that writes it, then two reads. Their answers, in order."""
    seed_template(
        api, SLUG, {"document": DOCUMENT, "question": "Uptime?"}, (make_body(), second_body())
    )
    document = f"Contract {uuid.uuid4()}.\n{DOCUMENT}"
    return [
        api_call(
            api,
            "POST",
            f"templates/{SLUG}/send",
            json={"variables": {"document": document, "question": question}},
        )
        for question in QUESTIONS
    ]


def test_the_invocation_list_fits_a_1280_by_800_window(page, login, sends, shot):
    assert page.viewport_size == VIEWPORT
    login(page)
    goto(page, INVOCATION_LIST, "invocation list")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(len(sends))
    headers = [h.strip().lower() for h in page.locator("#result_list thead th").all_text_contents()]
    for name in ("time (utc)", "template@version", "model", "status", "uncached", "read"):
        assert name in headers, f"no {name!r} column in {headers}"
    for name in ("write", "cost", "saved", "miss"):
        assert name in headers, f"no {name!r} column in {headers}"

    fits = page.evaluate(
        """() => {
            const table = document.querySelector('#result_list');
            const box = table.closest('.results');
            return {table: table.scrollWidth, box: box.clientWidth,
                    page: document.documentElement.scrollWidth};
        }"""
    )
    assert fits["table"] <= fits["box"], f"the list scrolls sideways: {fits}"
    assert fits["page"] <= VIEWPORT["width"], f"the page scrolls sideways: {fits}"
    for column in ("cost", "saved", "miss_reason", "tokens_write"):
        cell = page.locator(f"#result_list tbody tr td.field-{column}").first
        box = cell.bounding_box()
        assert box and box["x"] >= 0, f"the {column} cell is off-screen: {box}"
        assert box["x"] + box["width"] <= VIEWPORT["width"], f"the {column} cell leaves: {box}"

    # The oldest row (last) is the miss that wrote the prefix; its figures read as everywhere.
    first = sends[0]
    oldest = rows.last
    expect(oldest.locator("td.field-miss_reason")).to_have_text(first["miss"]["reason"])
    expect(oldest.locator("td.field-cost")).to_have_text(formats.usd(first["cost"]["usd"]))
    write = oldest.locator("td.field-tokens_write span")
    expect(write).to_have_text(formats.count(first["usage"]["cache_write_tokens"]))
    assert write.get_attribute("title").startswith("5m: "), "the write split is in its title"
    link = oldest.locator("a", has_text=f"{SLUG}@v2")
    expect(link).to_have_count(1)
    assert f"/invocation/{first['invocation_id']}/change/" in link.get_attribute("href")
    shot(page, "invocation-list")


def test_the_invocation_page_shows_the_miss_and_checkpoints_before_usage(page, login, sends, shot):
    first = sends[0]
    login(page)
    goto(page, INVOCATION_LIST, "invocation list")
    page.locator("#result_list a", has_text=f"{SLUG}@v2").last.click()
    page.wait_for_url(re.compile(rf"/invocation/{first['invocation_id']}/change/"))

    miss = page.locator(".field-miss_explanation .cachet-miss-explanation")
    expect(miss).to_contain_text(first["miss"]["reason"])
    fingerprint = page.locator(".field-checkpoints_table .cachet-copy").first
    expected = first["checkpoints"][0]["fingerprint"]
    expect(fingerprint).to_have_text(expected)
    assert FINGERPRINT.match(expected), f"not a whole fingerprint: {expected!r}"
    usage = page.locator(".field-usage_table")
    tops = [part.bounding_box()["y"] for part in (miss, fingerprint, usage)]
    assert tops == sorted(tops), f"miss, checkpoints and usage should come in that order: {tops}"
    expect(usage).to_contain_text(formats.usd(first["cost"]["usd"]))
    expect(usage).to_contain_text(formats.count(first["usage"]["cache_write_tokens"]))

    # A click copies the whole fingerprint.
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    fingerprint.click()
    expect(fingerprint).to_have_attribute("data-copied", "true")
    assert page.evaluate("navigator.clipboard.readText()") == expected
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= VIEWPORT["width"], f"the invocation page scrolls sideways: {width}px"
    shot(page, "invocation")


def test_the_version_page_shows_the_body_the_lint_and_where_to_go_on(page, login, sends, shot):
    login(page)
    template = admin_id(page, SLUG)
    goto(page, f"/admin/templates_app/template/{template}/change/", "template page")
    page.locator('#versions-table tr[data-version="2"] a', has_text="view").click()
    page.wait_for_url(re.compile(r"/version/\d+/change/"))
    version_page = page.url

    body = page.locator("pre#version-body")
    expect(body).to_be_visible()
    text = body.inner_text()
    assert json.loads(text) == second_body() and text.count("\n") > 20, "pretty-printed body"
    assert page.locator("#version_form textarea, #version_form input:visible").count() == 0
    assert page.locator("[name=_save], [name=_continue]").count() == 0

    warning = page.locator('#lint-report li.lint-warning[data-code="unused_variable"]')
    expect(warning).to_contain_text("variables.tone")
    expect(page.locator("#lint-report")).to_contain_text("Errors (0)")
    checkpoint = page.locator("#lint-report .lint-checkpoints tbody tr").first
    cells = checkpoint.locator("td").all_inner_texts()
    assert (cells[2], cells[4], cells[5]) == ("1h", "1,024", "will_cache"), cells
    assert re.fullmatch(r"\d{1,3}(,\d{3})*", cells[3]), f"tokens as a count: {cells[3]!r}"
    assert FINGERPRINT.match(cells[6]), f"not a whole fingerprint: {cells[6]!r}"
    shot(page, "version")

    edit = page.locator("#edit-from-version")
    assert edit.get_attribute("href").endswith(f"/template/{template}/editor/?from=2")
    edit.click()
    page.wait_for_url(re.compile(r"/editor/\?from=2$"))
    expect(page.locator(".editor-base")).to_contain_text("starting from version 2")

    goto(page, version_page, "version page")
    compare = page.locator("#version-compare")
    expect(compare.locator("select[name=a]")).to_have_value("1")
    compare.locator("[type=submit]").click()
    page.wait_for_url(re.compile(r"/diff/\?a=1&b=2$"))
    expect(page.locator("#cache-impact")).to_be_visible()


def test_the_site_root_leads_a_browser_to_the_admin_login(page, author):
    response = page.goto("/")
    assert response is not None and response.ok
    assert re.search(r"/admin/login/\?next=/admin/$", page.url), page.url
    expect(page.locator("#footer a[href='/api/docs/']")).to_be_visible()


def test_the_favicon_loads_from_the_admin_and_from_favicon_ico(page, author):
    goto(page, "/admin/login/", "admin login")
    icon = page.locator("link[rel=icon]")
    expect(icon).to_have_attribute("type", "image/svg+xml")
    for url in (icon.get_attribute("href"), "/favicon.ico"):
        response = page.request.get(url)
        assert response.ok, f"{url}: {response.status}"
        assert response.headers["content-type"].startswith("image/svg+xml"), url
        assert b"<svg" in response.body()
    loaded = page.evaluate(
        """href => new Promise(done => {
            const img = new Image();
            img.onload = () => done(img.naturalWidth > 0);
            img.onerror = () => done(false);
            img.src = href;
        })""",
        icon.get_attribute("href"),
    )
    assert loaded, "the favicon does not load as an image"


# Figures of every kind the admin shows: none, zero, signs, ties at each rounding, the tiny
# and the huge (past 2**53, past what toFixed writes without an exponent), and no number.
VALUES = [
    None,
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.5,
    -0.5,
    1.5,
    2.5,
    -2.5,
    0.4,
    -0.4,
    0.125,
    0.135,
    0.995,
    0.0078125,
    0.0000005,
    0.0000015,
    -0.0000015,
    0.0000001,
    -0.0000001,
    0.000123,
    0.005068,
    0.022544,
    0.024,
    -0.0114,
    0.30000000000000004,
    0.87,
    3797.0,
    3797.4999,
    1204.1,
    123456789.1234565,
    -1234567.891,
    9007199254740993.0,
    1e15 + 0.3,
    1e21,
    -1e21,
    1.7976931348623157e308,
    math.nan,
    math.inf,
    -math.inf,
]


@pytest.mark.parametrize(
    "path",
    [
        "/admin/",
        "/admin/templates_app/template/{id}/change/",
        "/admin/templates_app/template/{id}/editor/",
    ],
)
def test_the_browser_writes_every_figure_as_python_does(page, login, api, path):
    seed_template(api, "figures", {"document": DOCUMENT, "question": "Uptime?"}, (make_body(),))
    login(page)
    goto(page, path.format(id=admin_id(page, "figures")), "a page with CachetFormat")
    page.wait_for_function("() => window.CachetFormat !== undefined")
    browser = page.evaluate(
        """values => values.map(v => [
            window.CachetFormat.usd(v), window.CachetFormat.count(v), window.CachetFormat.percent(v)
        ])""",
        VALUES,
    )
    python = [[formats.usd(v), formats.count(v), formats.percent(v)] for v in VALUES]
    differ = [
        f"{value!r}: browser {got}, python {want}"
        for value, got, want in zip(VALUES, browser, python, strict=True)
        if got != want
    ]
    assert not differ, "formats.js and formats.py differ:\n" + "\n".join(differ)
