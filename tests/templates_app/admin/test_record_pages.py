"""The invocation list (the columns that fit a 1280-pixel window, a flat query count), one
invocation's page (cache first) and one version's page (body, lint lists, actions)."""

from __future__ import annotations

import html
import json
import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from templates_app import services
from templates_app.models import Invocation, Version
from tests.factories import make_body, make_checkpoint, make_invocation, make_template, make_version
from tests.templates_app.admin.test_pages import dom, login

pytestmark = pytest.mark.django_db

LIST = "admin:templates_app_invocation_changelist"
FINGERPRINT = "sha256:" + "ab12" * 16


@pytest.fixture
def root():
    return login("root", superuser=True)


@pytest.fixture
def version():
    return make_version(make_template(slug="document-qa"))


def column_class(th) -> str:
    return next(c for c in th.attrs["class"].split() if c.startswith("column-"))


def logged(version, **fields) -> Invocation:
    row = make_invocation(version, **fields)
    row.save()
    return row


# --- the list ---------------------------------------------------------------------------


def test_the_list_shows_time_template_at_version_model_status_tokens_cost_saved_and_miss(
    root, version
):
    row = logged(
        version,
        input_tokens=12,
        cache_read_tokens=0,
        cache_write_5m_tokens=1200,
        cache_write_1h_tokens=3797,
        output_tokens=55,
        cost_usd=Decimal("0.0240000000"),
        saved_usd=Decimal("-0.0051030000"),
        miss={"reason": "first_call", "message": "first call with <this> prefix"},
        label="production",
    )
    page = dom(root.get(reverse(LIST)))
    heads = [column_class(th) for th in page.find("thead").find_all("th")]
    assert heads == [
        "column-when",
        "column-template_version",
        "column-model",
        "column-status",
        "column-tokens_uncached",
        "column-tokens_read",
        "column-tokens_write",
        "column-cost",
        "column-saved",
        "column-miss_reason",
    ]
    cells = {
        cell.attrs["class"].split()[0].removeprefix("field-"): cell
        for cell in page.find("tbody").find("tr").children
    }
    link = cells["template_version"].find("a")
    assert link.text == "document-qa@v1"
    assert link.attrs["href"] == reverse("admin:templates_app_invocation_change", args=[row.pk])
    assert (cells["tokens_uncached"].text, cells["tokens_read"].text) == ("12", "0")
    write = cells["tokens_write"].find("span")
    assert (write.text, write.attrs["title"]) == ("4,997", "5m: 1,200 · 1h: 3,797")
    assert (cells["cost"].text, cells["saved"].text) == ("$0.024", "-$0.005103")
    miss = cells["miss_reason"].find("span")
    assert (miss.text, miss.attrs["title"]) == ("first_call", "first call with <this> prefix")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", cells["when"].text)


def test_label_and_output_tokens_are_on_the_invocation_page_not_in_the_list(root, version):
    row = logged(version, label="canary-7", output_tokens=4321)
    listing = dom(root.get(reverse(LIST))).find("table", id="result_list").text
    assert "canary-7" not in listing and "4,321" not in listing
    detail = root.get(reverse("admin:templates_app_invocation_change", args=[row.pk]))
    assert "canary-7" in detail.content.decode() and "4,321" in detail.content.decode()


def test_a_call_without_writes_or_a_miss_shows_dashes(root, version):
    logged(version, cache_read_tokens=1701)
    [row] = dom(root.get(reverse(LIST))).find("tbody").find_all("tr")
    cells = {cell.attrs["class"].split()[0]: cell.text for cell in row.children}
    assert (cells["field-tokens_write"], cells["field-miss_reason"]) == ("—", "—")
    assert cells["field-tokens_read"] == "1,701"


def test_the_list_sorts_by_time_only(root, version):
    logged(version)
    page = dom(root.get(reverse(LIST)))
    sortable = [th for th in page.find("thead").find_all("th") if "sortable" in th.attrs["class"]]
    assert [column_class(th) for th in sortable] == ["column-when"]


def test_the_list_runs_as_many_queries_for_fifty_rows_as_for_two(root, version):
    other = make_version(make_template(slug="other-qa"))

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert root.get(reverse(LIST)).status_code == 200
        return len(captured.captured_queries)

    Invocation.objects.bulk_create([make_invocation(version), make_invocation(other)])
    few = queries()
    Invocation.objects.bulk_create(
        [make_invocation(version if n % 2 else other, miss={"reason": "x"}) for n in range(48)]
    )
    assert queries() == few


def test_the_list_uses_its_own_stylesheet_and_no_navigation_sidebar(root, version):
    page = root.get(reverse(LIST)).content.decode()
    assert "cachet/records.css" in page
    assert 'id="nav-sidebar"' not in page
    template_list = root.get(reverse("admin:templates_app_template_changelist")).content.decode()
    assert 'id="nav-sidebar"' in template_list


# --- one invocation ---------------------------------------------------------------------


def test_the_invocation_page_shows_the_miss_and_checkpoints_first_then_usage(root, version):
    row = logged(
        version,
        checkpoints=[make_checkpoint(fingerprint=FINGERPRINT, tokens=3797)],
        last_fingerprint=FINGERPRINT,
        miss={"reason": "prefix_changed", "message": "checkpoint 1: the prefix changed"},
        cost_usd=Decimal("0.0225440000"),
        latency_ms=1234,
        write_avoided_usd=Decimal("0.0012000000"),
    )
    response = root.get(reverse("admin:templates_app_invocation_change", args=[row.pk]))
    content = response.content.decode()
    headings = [h.text for h in dom(response).find_all("h2", class_="fieldset-heading")]
    assert headings[:3] == ["Cache", "Usage and cost", "Call"]
    order = [content.index(f"field-{name}") for name in ("miss_explanation", "checkpoints_table")]
    assert order == sorted(order) and order[-1] < content.index("field-usage_table")
    copies = [c.attrs["data-copy"] for c in dom(response).find_all("code", class_="cachet-copy")]
    assert copies == [FINGERPRINT, FINGERPRINT]  # the checkpoint's, and the last one
    assert "cachet/copy.js" in content
    for figure in ("3,797", "$0.022544", "1,234 ms", "$0.0012"):
        assert figure in content, figure


def test_the_invocation_page_writes_its_time_in_utc_like_the_list(root, version):
    row = logged(version)
    content = root.get(reverse("admin:templates_app_invocation_change", args=[row.pk])).content
    stamp = row.created_at.strftime("%Y-%m-%d %H:%M:%S")
    assert stamp.encode() in content


# --- one version ------------------------------------------------------------------------


def version_page(client, version: Version):
    return client.get(reverse("admin:templates_app_version_change", args=[version.pk]))


def unused_variable_body() -> dict:
    body = make_body()
    body["variables"]["tone"] = {"type": "string", "default": "plain"}
    return body


def test_the_version_page_shows_the_body_pretty_printed_in_a_pre(root, version):
    page = dom(version_page(root, version))
    body = page.find("pre", id="version-body")
    assert json.loads(body.text) == version.body_data
    raw = html.unescape(version_page(root, version).content.decode())
    assert '\n  "model": "sim/claude-sonnet-4-5",\n' in raw  # indented, one key a line
    assert not page.find_all("textarea")


def test_the_version_page_lists_lint_warnings_and_checkpoints_with_fingerprints(root):
    template = make_template()
    version = make_version(template, body=unused_variable_body())
    page = dom(version_page(root, version))
    [warning] = page.find("ul", class_="lint-warnings").find_all("li")
    assert warning.attrs["data-code"] == "unused_variable"
    assert "variables.tone" in warning.text and "no text field uses it" in warning.text
    assert "Errors (0)" in page.find(id="lint-report").text
    [row] = page.find("table", class_="lint-checkpoints").find("tbody").find_all("tr")
    cells = [td.text for td in row.find_all("td")]
    lint = version.lint["checkpoints"][0]
    assert cells[:6] == ["1", lint["path"], "1h", f"{lint['tokens']:,}", "1,024", "will_cache"]
    preview = services.version_preview(template=template, body=version.body_data)
    [expected] = [b["checkpoint"]["fingerprint"] for b in preview["blocks"] if b["checkpoint"]]
    assert cells[6] == expected and expected.startswith("sha256:")


def test_the_version_page_says_why_there_are_no_fingerprints_when_samples_do_not_render(root):
    template = make_template()
    version = make_version(template)
    template.sample_variables = {"question": "Uptime?"}  # the document is missing
    template.save()
    page = dom(version_page(root, version))
    assert "No fingerprints: the sample variables do not render" in page.find(id="lint-report").text


def test_the_version_page_offers_the_editor_from_it_and_a_diff_with_the_one_before(root):
    template = make_template()
    make_version(template)
    second = make_version(template, body=unused_variable_body())
    make_version(template, body=make_body(params={"max_tokens": 300}))
    page = dom(version_page(root, second))
    edit = page.find("a", id="edit-from-version")
    editor = reverse("admin:templates_app_template_editor", args=[template.pk])
    assert edit.attrs["href"] == f"{editor}?from=2"
    assert root.get(edit.attrs["href"]).status_code == 200
    form = page.find("form", id="version-compare")
    assert form.attrs["action"] == reverse("admin:templates_app_template_diff", args=[template.pk])
    assert form.attrs["method"] == "get"
    assert page.find("input", name="b").attrs["value"] == "2"
    options = {o.attrs["value"]: "selected" in o.attrs for o in form.find_all("option")}
    assert options == {"3": False, "1": True}
    diff = root.get(form.attrs["action"], {"a": "1", "b": "2"})
    assert diff.status_code == 200 and diff.context["old"].number == 1


def test_the_first_version_compares_with_the_next_and_a_lone_one_with_none(root, version):
    lone = dom(version_page(root, version))
    assert not lone.find_all("form", id="version-compare")
    assert "nothing to compare with" in lone.find(id="version-actions").text
    make_version(version.template, body=unused_variable_body())
    first = dom(version_page(root, version)).find("form", id="version-compare")
    assert [o.attrs["value"] for o in first.find_all("option") if "selected" in o.attrs] == ["2"]


def test_nothing_on_the_version_page_edits_it(root, version):
    response = version_page(root, version)
    page = dom(response)
    form = page.find("form", id="version_form")
    fields = [i for i in form.find_all("input") if i.attrs.get("type") != "hidden"]
    assert fields == [] and not form.find_all("textarea") and not form.find_all("select")
    assert b'name="_save"' not in response.content
    assert (
        root.post(reverse("admin:templates_app_version_change", args=[version.pk]), {}).status_code
        == 403
    )
    version.refresh_from_db()
    assert version.message == "first"


def test_a_viewer_who_may_not_change_templates_gets_no_editor_link(client, version):
    viewer = get_user_model().objects.create_user("viewer", password="pw-for-tests", is_staff=True)
    viewer.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_version", "view_template"])
    )
    client.force_login(viewer)
    page = dom(version_page(client, version))
    assert not page.find_all("a", id="edit-from-version")
    assert page.find_all("form", id="version-compare") == []  # one version: nothing to compare
