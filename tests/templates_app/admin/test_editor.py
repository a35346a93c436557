"""The admin version editor page: who may open it, what it starts from, what it loads."""

from __future__ import annotations

import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.staticfiles import finders
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from gateway.catalog import all_profiles
from templates_app import services
from tests.factories import make_body, make_template, make_version

JSONPATHS_JS = Path(settings.BASE_DIR) / "templates_app/static/cachet/jsonpaths.js"
DOM_IDS = [
    "editor",
    "sample-variables",
    "model-select",
    "lint-status",
    "preview",
    "prefix-variables",
    "suffix-variables",
    "change-message",
    "save-version",
    "save-result",
]


class PageParser(HTMLParser):
    """Collects every src/href, every id, and the model select's options."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: dict[str, dict[str, str | None]] = {}
        self.options: list[tuple[str, bool]] = []
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.links += [value for name, value in attrs if name in ("src", "href") and value]
        if attributes.get("id"):
            self.ids[attributes["id"]] = attributes
        if tag == "select":
            self._select = attributes.get("id")
        if tag == "option" and self._select == "model-select":
            self.options.append((attributes["value"] or "", "selected" in attributes))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def editor_url(template, version: int | None = None) -> str:
    url = reverse("admin:templates_app_template_editor", args=[template.pk])
    return url if version is None else f"{url}?from={version}"


def parse(response) -> PageParser:
    parser = PageParser()
    parser.feed(response.content.decode())
    return parser


def config(response) -> dict:
    return response.context["editor_config"]


@pytest.fixture
def staff(client):
    """Staff who may change templates: the editor is for authors."""
    user = get_user_model().objects.create_user("editor", password="pw-for-tests", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="change_template"))
    client.force_login(user)
    return client


@pytest.fixture
def template(db):
    template = make_template()
    make_version(template, body=make_body(), message="first")
    make_version(template, body=make_body(params={"max_tokens": 999}), message="longer answers")
    return template


@pytest.mark.django_db
def test_editor_starts_from_the_latest_body_with_the_model_list(staff, template):
    response = staff.get(editor_url(template))
    assert response.status_code == 200
    assert json.loads(config(response)["body"]) == make_body(params={"max_tokens": 999})
    assert config(response)["baseVersion"] == 2
    page = parse(response)
    catalog = {p.model for p in all_profiles() if p.known and p.retired is None}
    assert {value for value, _ in page.options} == catalog
    # Neither a provider's defaults nor a retired model is offered.
    assert not [value for value, _ in page.options if "*" in value]
    assert "anthropic/claude-3-7-sonnet-20250219" not in catalog
    assert [value for value, selected in page.options if selected] == ["sim/claude-sonnet-4-5"]


@pytest.mark.django_db
def test_from_starts_from_an_older_version(staff, template):
    response = staff.get(editor_url(template, version=1))
    assert json.loads(config(response)["body"]) == make_body()
    assert config(response)["baseVersion"] == 1
    assert b"starting from version 1" in response.content


@pytest.mark.django_db
@pytest.mark.parametrize("number", ["9", "x", "-1"])
def test_from_an_unknown_version_is_a_404(staff, template, number):
    url = reverse("admin:templates_app_template_editor", args=[template.pk])
    assert staff.get(f"{url}?from={number}").status_code == 404


@pytest.mark.django_db
def test_an_unknown_template_is_a_404(staff):
    url = reverse("admin:templates_app_template_editor", args=[987654])
    assert staff.get(url).status_code == 404


@pytest.mark.django_db
def test_a_template_without_versions_starts_from_a_starter_body_that_lints_clean(staff):
    template = make_template(sample_variables={"ticket": "My order is late", "count": 3})
    response = staff.get(editor_url(template))
    body = json.loads(config(response)["body"])
    assert config(response)["baseVersion"] is None
    assert body["variables"] == {
        "ticket": {"type": "string", "required": True},
        "count": {"type": "integer", "required": True},
    }
    assert services.version_lint(template=template, body=body)["errors"] == []


@pytest.mark.django_db
def test_a_body_model_outside_the_catalog_list_is_offered_and_selected(staff):
    template = make_template()
    make_version(template, body=make_body(model="anthropic/claude-sonnet-4-5"))
    page = parse(staff.get(editor_url(template)))
    assert page.options[0] == ("anthropic/claude-sonnet-4-5", True)


@pytest.mark.django_db
def test_the_sample_variables_are_in_the_textarea(staff, template):
    response = staff.get(editor_url(template))
    assert response.context["sample_variables"] == json.dumps(
        template.sample_variables, indent=2, ensure_ascii=False
    )
    assert b"Clause 1. The service is available 99.9% of each month." in response.content


@pytest.mark.django_db
def test_the_page_carries_the_dom_contract_and_the_api_urls(staff, template):
    response = staff.get(editor_url(template))
    page = parse(response)
    assert set(DOM_IDS) <= set(page.ids)
    assert page.ids["preview"]["data-ready"] == "false"
    assert page.ids["change-message"]["type"] == "text"
    assert config(response)["previewUrl"] == "/api/v1/templates/doc-qa/preview"
    assert config(response)["versionsUrl"] == "/api/v1/templates/doc-qa/versions"
    assert config(response)["changeUrl"] == reverse(
        "admin:templates_app_template_change", args=[template.pk]
    )
    assert b'name="csrfmiddlewaretoken"' in response.content


@pytest.mark.django_db
def test_the_page_references_no_external_host(staff, template):
    page = parse(staff.get(editor_url(template)))
    assert page.links
    external = [link for link in page.links if link.startswith(("http:", "https:", "//"))]
    assert external == []


@pytest.mark.django_db
def test_every_static_file_the_page_references_exists(staff, template):
    page = parse(staff.get(editor_url(template)))
    static = [link for link in page.links if link.startswith(settings.STATIC_URL)]
    assert any(link.endswith("codemirror.js") for link in static)
    assert any(link.endswith("cachet/editor.js") for link in static)
    missing = [link for link in static if not finders.find(link[len(settings.STATIC_URL) :])]
    assert missing == []
    for vendored in ["LICENSE", "README.md"]:
        assert finders.find(f"cachet/vendor/codemirror/{vendored}")


@pytest.mark.django_db
def test_anonymous_users_are_sent_to_the_login_page(client, template):
    url = editor_url(template)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.django_db
def test_signed_in_users_who_are_not_staff_are_sent_to_the_login_page(client, template):
    user = get_user_model().objects.create_user("reader", password="pw-for-tests")
    client.force_login(user)
    response = client.get(editor_url(template))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.django_db
@pytest.mark.parametrize("codenames", [(), ("view_template",)])
def test_staff_who_may_not_change_templates_are_refused(client, template, codenames):
    user = get_user_model().objects.create_user("viewer", password="pw-for-tests", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client.force_login(user)
    response = client.get(editor_url(template))
    assert response.status_code == 403
    assert b"Clause 1." not in response.content


@pytest.mark.django_db
def test_the_editor_makes_the_same_number_of_queries_however_many_versions(
    staff, template, django_assert_num_queries
):
    staff.get(editor_url(template))  # the session and permission caches are warm after this
    with CaptureQueriesContext(connection) as few:
        staff.get(editor_url(template))
    for number in range(3, 8):
        make_version(template, body=make_body(params={"max_tokens": number}))
    with django_assert_num_queries(len(few.captured_queries)):
        staff.get(editor_url(template))


NODE_SCRIPT = """
const JP = require(process.argv[1]);
const text = JSON.stringify(JSON.parse(process.argv[2]), null, 2);
const scanned = JP.scan(text);
const position = JP.lineIndex(text);
const issues = JSON.parse(process.argv[3]);
const lines = issues.map((issue) => {
  const range = JP.locate(text, scanned, issue);
  return [position(range.from).line, text.slice(range.from, range.to), range.exact];
});
const broken = JP.scan('{\\n  "a": 1,\\n}');
console.log(JSON.stringify({lines, broken: broken.error}));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_jsonpaths_maps_a_field_line_to_its_editor_line_and_offset():
    body = make_body()
    body["messages"][1]["content"] = "one\ntwo {{ question }\r\nthree"
    issues = [
        {"path": "messages[1].content", "line": 2},
        {"path": "messages[1].content", "line": 3},
        {"path": "messages[0].content[1]"},
        {"path": "variables.words"},
        {"path": "messages[0].content[1].text.nowhere"},
    ]
    result = subprocess.run(
        ["node", "-e", NODE_SCRIPT, str(JSONPATHS_JS), json.dumps(body), json.dumps(issues)],
        capture_output=True,
        text=True,
        check=True,
    )
    output = json.loads(result.stdout)
    text_lines = json.dumps(body, indent=2).split("\n")

    def line_of(fragment: str) -> int:
        return next(n for n, line in enumerate(text_lines, 1) if fragment in line)

    document_line = line_of('"text": "{{ document }}"')
    assert output["lines"] == [
        [line_of('"content": "one'), "two {{ question }", True],
        [line_of('"content": "one'), "three", True],
        [document_line - 2, "{", True],
        [line_of('"words": {'), '"words": {', True],
        [document_line, '"text": "{{ document }}"', False],
    ]
    assert output["broken"]["message"].startswith("expected a property name")
