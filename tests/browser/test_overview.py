"""The admin index's overview and the template list, in a real browser, against the stats API:
templates seeded and sent to over the REST API (the simulator), then every figure the overview
shows is what ``GET /api/v1/templates/{slug}/stats`` answers for the same window, summed over
templates; the failing templates are listed with their reasons, and their links work."""

from __future__ import annotations

import re
import uuid

from templates_app.admin.formats import percent
from tests.browser.conftest import api_call, expect, goto, number, seed_template
from tests.factories import DOCUMENT, make_body

QUESTIONS = ("What uptime is promised?", "Who may terminate?", "When is payment due?")
SHORT = "Uptime is 99.9% each month."  # far below the model's 1,024-token minimum
CACHED, SHORT_SLUG, CHURN = "cached-qa", "short-qa", "churn-qa"
SLUGS = (CACHED, SHORT_SLUG, CHURN)
CENT = 1e-6  # the overview adds exact decimals, the API answers floats: equal to a millionth


def money(text: str) -> float:
    """A dollar figure as the admin writes it (``-$0.02``: the sign comes before the $)."""
    return -number(text) if text.strip().startswith("-") else number(text)


def send(api, slug: str, document: str, question: str) -> dict:
    variables = {"document": document, "question": question}
    return api_call(api, "POST", f"templates/{slug}/send", json={"variables": variables})


def seed(api) -> None:
    """Three templates on sim: one that caches (a write, then reads), one whose production
    checkpoint is below the minimum, one whose cached document changes on every call."""
    document = f"Contract {uuid.uuid4()}.\n{DOCUMENT}"  # a prefix no earlier run has cached
    seed_template(api, CACHED, {"document": document, "question": QUESTIONS[0]}, (make_body(),))
    api_call(api, "PUT", f"templates/{CACHED}/labels/production", json={"version": 1})
    for question in QUESTIONS:
        send(api, CACHED, document, question)
    seed_template(api, SHORT_SLUG, {"document": SHORT, "question": QUESTIONS[0]}, (make_body(),))
    api_call(api, "PUT", f"templates/{SHORT_SLUG}/labels/production", json={"version": 1})
    for question in QUESTIONS[:2]:
        send(api, SHORT_SLUG, SHORT, question)
    seed_template(api, CHURN, {"document": DOCUMENT, "question": QUESTIONS[0]}, (make_body(),))
    for n in range(4):
        send(api, CHURN, f"Contract {uuid.uuid4()} number {n}.\n{DOCUMENT}", QUESTIONS[0])


def api_stats(api, slug: str, since: str) -> dict:
    """The stats API's versions of ``slug`` since ``since``, added up the way the overview adds."""
    versions = api_call(api, "GET", f"templates/{slug}/stats", params={"since": since})["versions"]
    sums = {"calls": 0, "ok": 0, "hits": 0, "writes": 0, "cost": 0.0, "saved": 0.0}
    for row in versions:
        ok = row["calls"] - row["errors"]
        sums["calls"] += row["calls"]
        sums["ok"] += ok
        sums["hits"] += round((row["cache_hit_ratio"] or 0) * ok)
        sums["writes"] += row["tokens"]["cache_write_tokens"]
        sums["cost"] += row["cost"]["usd"]
        sums["saved"] += row["cost"]["saved_usd"]
    return sums


def added(stats: list[dict]) -> dict:
    return {name: sum(s[name] for s in stats) for name in stats[0]}


def assert_figures(shown: dict[str, str], expected: dict, where: str) -> None:
    """The overview's texts against the API's sums: counts exactly, money to a millionth,
    the hit ratio as the admin writes a ratio."""
    assert number(shown["calls"]) == expected["calls"], where
    assert abs(money(shown["cost_usd"]) - expected["cost"]) <= CENT, (where, shown)
    assert abs(money(shown["saved_usd"]) - expected["saved"]) <= CENT, (where, shown)
    if "hit_ratio" in shown:
        ratio = expected["hits"] / expected["ok"] if expected["ok"] else None
        assert shown["hit_ratio"] == percent(ratio), (where, shown, expected)
    if "cache_write_tokens" in shown:
        assert number(shown["cache_write_tokens"]) == expected["writes"], (where, shown)


def fields(locator, names) -> dict[str, str]:
    return {name: locator.locator(f'[data-field="{name}"]').inner_text() for name in names}


def test_the_overview_shows_what_the_stats_api_answers(page, login, api, shot):
    seed(api)
    login(page)
    goto(page, "/admin/", "admin index")
    overview = page.locator("#cachet-overview")
    expect(overview.locator(".cachet-card")).to_have_count(2)
    shot(page, "overview")

    for window in ("24h", "30d"):
        card = overview.locator(f'.cachet-card[data-window="{window}"]')
        since = card.get_attribute("data-since")
        expected = added([api_stats(api, slug, since) for slug in SLUGS])
        assert expected["writes"] > 0 and expected["hits"] > 0, "the sends should write and read"
        shown = fields(card, ("calls", "cost_usd", "saved_usd", "hit_ratio", "cache_write_tokens"))
        assert_figures(shown, expected, f"the {window} card")

    since = overview.locator('.cachet-card[data-window="30d"]').get_attribute("data-since")
    rows = overview.locator("#overview-top tbody tr")
    expect(rows).to_have_count(len(SLUGS))
    costs = []
    for index in range(len(SLUGS)):
        row = rows.nth(index)
        slug = row.get_attribute("data-slug")
        shown = fields(row, ("calls", "cost_usd", "saved_usd", "hit_ratio"))
        assert_figures(shown, api_stats(api, slug, since), f"the top row of {slug}")
        costs.append(money(shown["cost_usd"]))
    assert costs == sorted(costs, reverse=True), "the costliest template comes first"

    failing = overview.locator("#overview-failing > li")
    expect(failing).to_have_count(2)
    churn = overview.locator(f'#overview-failing > li[data-slug="{CHURN}"]')
    expect(churn.locator('[data-reason="prefix_changed"]')).to_contain_text(
        "the prefix changed before 3 of its 4 calls"
    )
    short = overview.locator(f'#overview-failing > li[data-slug="{SHORT_SLUG}"]')
    reason = short.locator('[data-reason="below_minimum"]')
    expect(reason).to_contain_text("v1 (production): checkpoint 1 closes a prefix of about")
    expect(reason).to_contain_text("below the 1,024")
    short.get_by_role("link", name="Short Qa").click()
    page.wait_for_url(re.compile(r"/admin/templates_app/template/\d+/change/$"))
    expect(page.locator("#id_slug")).to_have_value(SHORT_SLUG)


def test_the_template_list_shows_labels_model_lint_and_a_week_of_calls(page, login, api, shot):
    seed(api)
    login(page)
    goto(page, "/admin/templates_app/template/", "template list")
    shot(page, "template-list")
    # Every call of these templates was made just now: all of them are the list's 7 days.
    week = {slug: api_stats(api, slug, "2000-01-01T00:00:00Z") for slug in SLUGS}

    def row(slug: str) -> dict[str, str]:
        found = page.locator("#result_list tbody tr", has=page.locator(f"th a:text-is('{slug}')"))
        expect(found).to_have_count(1)
        columns = ("label_list", "served_model", "served_lint", "calls_7d", "saved_7d")
        return {name: found.locator(f"td.field-{name}").inner_text() for name in columns}

    cached, short, churn = row(CACHED), row(SHORT_SLUG), row(CHURN)
    assert cached["label_list"] == "production → v1"
    assert churn["label_list"] == "—"
    assert {cached["served_model"], short["served_model"], churn["served_model"]} == {
        "sim/claude-sonnet-4-5"
    }
    assert cached["served_lint"] == "ok"
    assert short["served_lint"] == "1 warning"
    for slug, shown in ((CACHED, cached), (SHORT_SLUG, short), (CHURN, churn)):
        assert number(shown["calls_7d"]) == week[slug]["calls"], slug
        assert abs(money(shown["saved_7d"]) - week[slug]["saved"]) <= CENT, slug
    assert money(cached["saved_7d"]) > 0, "the cache reads saved money"
    assert money(churn["saved_7d"]) < 0, "rewriting the cache on every call costs more"
