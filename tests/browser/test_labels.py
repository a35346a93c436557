"""Label moves in a real browser: the move button waits for another version, the move's
message shows where the redirect lands, and a rollback to a version whose cache entries are
still live is estimated at what it then costs: nothing written again.

Data goes in over the REST API; sends run on the simulator, whose cache lives in this process.
"""

from __future__ import annotations

import uuid

from tests.browser.conftest import admin_id, api_call, expect, goto, number, seed_template
from tests.factories import DOCUMENT, make_body

SLUG = "labels-doc"


def second_body() -> dict:
    """Version 2: another system text, so its cached prefix differs from version 1's."""
    body = make_body()
    body["messages"][0]["content"][0]["text"] = "Answer from the document; quote it."
    return body


def send(api, document: str) -> dict:
    """One send through ``production`` with ``document``; its usage."""
    answer = api_call(
        api,
        "POST",
        f"templates/{SLUG}/send",
        json={"label": "production", "variables": {"document": document, "question": "Uptime?"}},
    )
    return answer["usage"]


def in_view(page, selector: str) -> bool:
    """Whether the element is visible inside the window, without scrolling."""
    return page.locator(selector).evaluate(
        """el => { const r = el.getBoundingClientRect();
                   return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight; }"""
    )


def test_promote_then_roll_back_with_the_estimate_the_cache_then_bears_out(
    page, login, api, shot
):
    seed_template(
        api,
        SLUG,
        {"document": DOCUMENT, "question": "Uptime?"},
        (make_body(), second_body()),
        labels={"production": 1},
    )
    document = f"Contract {uuid.uuid4()}.\n{DOCUMENT}"
    first = send(api, document)
    assert first["cache_write_tokens"] > 0  # v1's prefix is written: its entry lives for 1h

    login(page)
    template_id = admin_id(page, SLUG)
    goto(page, f"/admin/templates_app/template/{template_id}/change/#labels", "template page")
    move = page.locator("form.label-move[data-label=production]")
    select, button = move.locator("select[name=version]"), move.locator("button[type=submit]")
    # The label points at v1: moving it to v1 is no move, so the button waits.
    expect(select).to_have_value("1")
    expect(button).to_be_disabled()
    select.select_option("2")
    expect(button).to_be_enabled()
    select.select_option("1")
    expect(button).to_be_disabled()

    # Promote v2: it was never served, so its prefix has to be written.
    select.select_option("2")
    button.click()
    page.wait_for_url("**/labels/production/move/**")
    promote_cost = number(page.locator("#rewrite-cost .cachet-cost").inner_text())
    assert promote_cost > 0
    shot(page, "promote-confirm")
    page.click("#confirm-move")
    page.wait_for_url(f"**/template/{template_id}/change/#labels")
    notice = page.locator("#label-messages")
    expect(notice).to_have_text("Moved production from v1 to v2.")
    assert in_view(page, "#label-messages"), "the move's message is off-screen after the redirect"
    assert "Moved production" not in page.locator("ul.messagelist").first.inner_text()
    shot(page, "moved")
    assert send(api, document)["cache_write_tokens"] > 0  # v2's prefix, written as estimated

    # Roll back to v1 within its TTL: its entry is still live, so nothing is written again.
    select.select_option("1")
    button.click()
    page.wait_for_url("**/labels/production/move/**")
    expect(page.locator(".cachet-impact-summary")).to_contain_text("still has those entries live")
    rewrite = page.locator("#rewrite-cost")
    expect(rewrite.locator(".cachet-cost")).to_have_text("$0.00")
    expect(rewrite.locator(".rewrite-live").first).to_have_text("1")
    expect(rewrite.locator(".rewrite-entries").first).to_have_text("0")
    expect(rewrite.locator(".rewrite-live-note")).to_contain_text("still live")
    shot(page, "rollback-confirm")
    page.click("#confirm-move")
    page.wait_for_url(f"**/template/{template_id}/change/#labels")
    expect(page.locator("#label-messages")).to_have_text("Moved production from v2 to v1.")

    after = send(api, document)
    assert after["cache_write_tokens"] == 0 and after["cache_read_tokens"] > 0

    # The confirmation of a move to where the label is offers nothing to confirm.
    goto(
        page,
        f"/admin/templates_app/template/{template_id}/labels/production/move/?version=1",
        "move confirmation",
    )
    expect(page.locator("#move-noop")).to_contain_text("nothing to move")
    expect(page.locator("#confirm-move")).to_have_count(0)
