"""The REST API end to end (README, "API"), through DRF's test client."""

from __future__ import annotations

import copy
import json
import re
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.staticfiles import finders
from django.db import OperationalError, connection
from django.utils import timezone
from rest_framework.test import APIClient

from templates_app import services
from templates_app.models import ApiKey, Version
from tests.factories import DOCUMENT, make_body, make_tool

API = "/api/v1"
SLUG = "doc-qa"
TEMPLATE_URL = f"{API}/templates/{SLUG}"
SHA256_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
SAMPLES = {"document": DOCUMENT, "question": "Uptime?"}
VARIABLES = {"document": DOCUMENT, "question": "What is the uptime?"}


# --- helpers -------------------------------------------------------------------------------


def assert_error(response: Any, status: int, error_type: str | None = None) -> dict[str, Any]:
    """The response is the JSON error shape with ``status``; returns the ``error`` object."""
    assert response.status_code == status, response.content[:2000]
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"type", "message", "details"}
    assert isinstance(error["message"], str) and error["message"]
    if error_type is not None:
        assert error["type"] == error_type, error
    return error


def create_template(api: APIClient, **fields: Any) -> dict[str, Any]:
    payload = {"slug": SLUG, "name": "Document Q&A", "sample_variables": SAMPLES, **fields}
    response = api.post(f"{API}/templates", payload, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def post_version(api: APIClient, body: dict[str, Any], message: str = "", slug: str = SLUG) -> Any:
    return api.post(
        f"{API}/templates/{slug}/versions", {"body": body, "message": message}, format="json"
    )


def create_version(api: APIClient, body: dict[str, Any] | None = None, **kwargs: Any) -> dict:
    response = post_version(api, body or make_body(), **kwargs)
    assert response.status_code == 201, response.content
    return response.json()


def render(api: APIClient, **payload: Any) -> Any:
    payload.setdefault("variables", VARIABLES)
    return api.post(f"{TEMPLATE_URL}/render", payload, format="json")


def move_label(api: APIClient, label: str, version: Any) -> Any:
    return api.put(f"{TEMPLATE_URL}/labels/{label}", {"version": version}, format="json")


def with_system_parts(*parts: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """``make_body`` whose system message holds ``parts``."""
    body = make_body(**overrides)
    body["messages"][0]["content"] = list(parts)
    return body


def text(value: str, marker: dict[str, Any] | None = None) -> dict[str, Any]:
    part: dict[str, Any] = {"type": "text", "text": value}
    if marker is not None:
        part["cache_control"] = marker
    return part


EPHEMERAL = {"type": "ephemeral"}
ONE_HOUR = {"type": "ephemeral", "ttl": "1h"}


def two_checkpoint_body(intro: str = "You answer from the document only.") -> dict[str, Any]:
    """Checkpoint 1 after the document (system), checkpoint 2 after a policy (user message)."""
    body = with_system_parts(text(intro), text("{{ document }}", ONE_HOUR))
    body["messages"][1]["content"] = [
        text("Policy: quote the clause you rely on.", EPHEMERAL),
        text("Answer in {{ words }} words: {{ question }}"),
    ]
    return body


def tool_checkpoint_body(model: str = "sim/claude-sonnet-4-5") -> dict[str, Any]:
    """A tool carrying a checkpoint, then the usual document checkpoint (both 5m)."""
    return with_system_parts(
        text("You answer from the document only."),
        text("{{ document }}", EPHEMERAL),
        model=model,
        tools=[make_tool(cache_control=EPHEMERAL)],
    )


def error_codes(report: dict[str, Any]) -> list[str]:
    return [issue["code"] for issue in report["errors"]]


@pytest.fixture
def template(api: APIClient) -> dict[str, Any]:
    return create_template(api)


@pytest.fixture
def version(api: APIClient, template: dict[str, Any]) -> dict[str, Any]:
    return create_version(api)


# --- authentication ------------------------------------------------------------------------


@pytest.mark.django_db
def test_request_without_credentials_is_401_json_with_www_authenticate(anonymous):
    response = anonymous.get(f"{API}/templates")

    assert_error(response, 401, "authentication_required")
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
def test_unknown_api_key_is_401(anonymous):
    anonymous.credentials(HTTP_AUTHORIZATION="Bearer cachet_not-a-real-key")

    response = anonymous.get(f"{API}/templates")

    error = assert_error(response, 401, "authentication_failed")
    assert "invalid API key" in error["message"]
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_revoked_api_key_is_refused_at_once(api, api_key):
    assert api.get(f"{API}/templates").status_code == 200
    services.api_key_revoke(keys=ApiKey.objects.filter(name="tests"))

    response = api.get(f"{API}/templates")

    error = assert_error(response, 401, "authentication_failed")
    assert "revoked" in error["message"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer a b", "Bearer  "],
    ids=["bearer-without-key", "bearer-with-two-words", "bearer-with-blank-key"],
)
def test_malformed_authorization_header_is_401(anonymous, api_key, header):
    anonymous.credentials(HTTP_AUTHORIZATION=header)

    response = anonymous.get(f"{API}/templates")

    assert_error(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_valid_key_records_when_it_was_last_used(api, api_key):
    key = ApiKey.objects.get(name="tests")
    assert key.last_used_at is None
    before = timezone.now()

    assert api.get(f"{API}/templates").status_code == 200

    key.refresh_from_db()
    assert key.last_used_at is not None
    assert before <= key.last_used_at <= timezone.now()


def test_last_used_is_refreshed_once_it_is_stale(api, api_key):
    stale = timezone.now() - timedelta(hours=2)
    ApiKey.objects.filter(name="tests").update(last_used_at=stale)

    assert api.get(f"{API}/templates").status_code == 200

    assert ApiKey.objects.get(name="tests").last_used_at > stale


@pytest.mark.django_db
def test_staff_user_signed_in_to_the_admin_can_read_the_api():
    from django.contrib.auth.models import Permission

    client = APIClient()
    user = get_user_model().objects.create_user("editor", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_template"))
    client.force_login(user)

    response = client.get(f"{API}/templates")

    assert response.status_code == 200
    assert response.json()["count"] == 0


@pytest.mark.django_db
def test_signed_in_user_who_is_not_staff_is_403():
    client = APIClient()
    user = get_user_model().objects.create_user("reader", password="x", is_staff=False)
    client.force_login(user)

    response = client.get(f"{API}/templates")

    assert_error(response, 403, "permission_denied")


# --- templates -----------------------------------------------------------------------------


def test_create_template_returns_201_with_its_fields(api):
    response = api.post(
        f"{API}/templates",
        {
            "slug": SLUG,
            "name": "Document Q&A",
            "description": "Answers from a contract.",
            "sample_variables": {"question": "Uptime?"},
        },
        format="json",
    )

    assert response.status_code == 201
    data = response.json()
    assert data["slug"] == SLUG
    assert data["name"] == "Document Q&A"
    assert data["description"] == "Answers from a contract."
    assert data["sample_variables"] == {"question": "Uptime?"}
    assert data["aliases"] == []
    assert data["labels"] == {}
    assert data["latest_version"] is None
    assert data["created_at"] and data["updated_at"]


def test_create_template_with_taken_slug_is_409_conflict(api, template):
    response = api.post(f"{API}/templates", {"slug": SLUG, "name": "Again"}, format="json")

    error = assert_error(response, 409, "conflict")
    assert SLUG in error["message"]


@pytest.mark.parametrize(
    "slug",
    ["Doc-QA", "doc qa", "doc--qa", "-doc", "doc_qa", ""],
    ids=["uppercase", "space", "double-dash", "leading-dash", "underscore", "empty"],
)
def test_create_template_with_invalid_slug_is_400_naming_slug(api, slug):
    response = api.post(f"{API}/templates", {"slug": slug, "name": "Doc"}, format="json")

    error = assert_error(response, 400)
    assert error["message"].startswith("slug")
    assert "slug" in error["details"]


def test_create_template_without_name_is_400_naming_name(api):
    response = api.post(f"{API}/templates", {"slug": SLUG}, format="json")

    error = assert_error(response, 400)
    assert "name" in error["message"]


def test_list_templates_is_paginated(api):
    for slug in ("alpha", "beta", "gamma"):
        create_template(api, slug=slug)

    response = api.get(f"{API}/templates", {"limit": 2})

    assert response.status_code == 200
    data = response.json()
    assert data["count"] == 3
    assert [t["slug"] for t in data["results"]] == ["alpha", "beta"]
    assert data["next"]
    assert [t["slug"] for t in api.get(data["next"]).json()["results"]] == ["gamma"]


def test_get_template_shows_labels_and_latest_version(api, template):
    create_version(api)
    create_version(api, make_body(params={"max_tokens": 100}))
    move_label(api, "production", 1)

    response = api.get(TEMPLATE_URL)

    assert response.status_code == 200
    data = response.json()
    assert data["labels"] == {"production": 1}
    assert data["latest_version"] == 2


def test_patch_template_edits_name_description_and_sample_variables(api, template):
    response = api.patch(
        TEMPLATE_URL,
        {
            "name": "Contract Q&A",
            "description": "Now with clauses.",
            "sample_variables": {"document": "Clause 9.", "question": "What?"},
        },
        format="json",
    )

    assert response.status_code == 200
    data = api.get(TEMPLATE_URL).json()
    assert data["name"] == "Contract Q&A"
    assert data["description"] == "Now with clauses."
    assert data["sample_variables"] == {"document": "Clause 9.", "question": "What?"}
    assert data["slug"] == SLUG


def test_patch_of_one_field_leaves_the_others(api, template):
    api.patch(TEMPLATE_URL, {"description": "Only this."}, format="json")

    data = api.get(TEMPLATE_URL).json()
    assert data["name"] == "Document Q&A"
    assert data["sample_variables"] == SAMPLES


@pytest.mark.parametrize(
    "field, value",
    [("slug", "renamed"), ("colour", "blue"), ("latest_version", 3)],
    ids=["slug", "unknown-field", "read-only-field"],
)
def test_patch_of_a_field_that_cannot_change_is_400_naming_it(api, template, field, value):
    response = api.patch(TEMPLATE_URL, {field: value}, format="json")

    error = assert_error(response, 400)
    assert field in error["message"]
    assert api.get(TEMPLATE_URL).json()["slug"] == SLUG
    assert api.get(f"{API}/templates/renamed").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/templates/missing"),
        ("patch", "/templates/missing"),
        ("get", "/templates/missing/versions"),
        ("post", "/templates/missing/versions"),
        ("get", "/templates/missing/versions/1"),
        ("get", "/templates/missing/versions/1/diff/2"),
        ("get", "/templates/missing/labels"),
        ("put", "/templates/missing/labels/production"),
        ("post", "/templates/missing/render"),
        ("post", "/templates/missing/lint"),
    ],
    ids=lambda value: value if value.startswith("/") else value.upper(),
)
def test_unknown_template_is_404_json(api, method, path):
    response = getattr(api, method)(f"{API}{path}", {}, format="json")

    error = assert_error(response, 404, "not_found")
    assert "missing" in error["message"]


# --- aliases -------------------------------------------------------------------------------

ALIAS = "pmpt_68b1f0c2a9e4819d8f3e5a7b6c4d2e10"
ALIAS_URL = f"{API}/templates/{ALIAS}"


def test_create_template_with_aliases_shows_them(api):
    data = create_template(api, aliases=["triage", ALIAS])

    assert data["aliases"] == [ALIAS, "triage"]
    assert api.get(ALIAS_URL).json()["slug"] == SLUG


def test_an_alias_names_the_template_on_every_endpoint_and_answers_name_the_slug(api):
    create_template(api, aliases=[ALIAS])
    assert post_version(api, make_body(), message="one", slug=ALIAS).status_code == 201
    create_version(api, make_body(params={"max_tokens": 100}))
    assert (
        api.put(f"{ALIAS_URL}/labels/production", {"version": 1}, format="json").status_code == 200
    )

    detail = api.get(ALIAS_URL).json()
    versions = api.get(f"{ALIAS_URL}/versions").json()["results"]
    one = api.get(f"{ALIAS_URL}/versions/1").json()
    diff = api.get(f"{ALIAS_URL}/versions/1/diff/2").json()
    labels = api.get(f"{ALIAS_URL}/labels")
    rendered = api.post(f"{ALIAS_URL}/render", {"variables": VARIABLES}, format="json").json()
    lint = api.post(f"{ALIAS_URL}/lint", {"version": 2}, format="json")
    preview = api.post(f"{ALIAS_URL}/preview", {"body": make_body()}, format="json")
    stats = api.get(f"{ALIAS_URL}/stats").json()

    assert (detail["slug"], detail["aliases"], detail["labels"]) == (
        SLUG,
        [ALIAS],
        {"production": 1},
    )
    assert [(v["template"], v["version"]) for v in versions] == [(SLUG, 2), (SLUG, 1)]
    assert (one["template"], one["message"]) == (SLUG, "one")
    assert diff["template"] == SLUG
    assert labels.status_code == 200
    assert (rendered["template"], rendered["version"], rendered["label"]) == (
        SLUG,
        1,
        "production",
    )
    assert rendered["request"] == render(api).json()["request"]
    assert lint.status_code == 200 and preview.status_code == 200
    assert stats["template"] == SLUG


def test_a_missing_alias_is_404_naming_it(api, template):
    error = assert_error(api.get(f"{API}/templates/pmpt_missing"), 404, "not_found")

    assert error["message"] == "template 'pmpt_missing' not found"


def test_create_template_with_an_alias_of_another_template_is_400_naming_both(api):
    create_template(api, slug="support-triage", aliases=["pmpt_x"])

    response = api.post(
        f"{API}/templates", {"slug": SLUG, "name": "Doc", "aliases": ["pmpt_x"]}, format="json"
    )

    error = assert_error(response, 400, "invalid_request")
    assert error["message"] == "alias 'pmpt_x' is already used by template 'support-triage'"
    assert error["details"] == {"alias": "pmpt_x"}
    assert api.get(TEMPLATE_URL).status_code == 404


def test_create_template_with_an_alias_equal_to_a_slug_is_400(api, template):
    response = api.post(
        f"{API}/templates", {"slug": "other", "name": "Other", "aliases": [SLUG]}, format="json"
    )

    error = assert_error(response, 400, "invalid_request")
    assert error["message"] == f"alias '{SLUG}' is the slug of template '{SLUG}'"


def test_create_template_whose_slug_is_an_alias_is_409_naming_the_holder(api):
    create_template(api, slug="support-triage", aliases=["triage"])

    response = api.post(f"{API}/templates", {"slug": "triage", "name": "Triage"}, format="json")

    error = assert_error(response, 409, "conflict")
    assert error["message"] == "slug 'triage' is already an alias of template 'support-triage'"


@pytest.mark.parametrize(
    "aliases, message",
    [
        (["pmpt_a", "pmpt_a"], "aliases: alias 'pmpt_a' is listed twice"),
        (["pmpt.a"], "aliases: alias 'pmpt.a' is not valid: up to 200 letters, digits, _ and -"),
        ([" pmpt_a"], "aliases: alias ' pmpt_a' is not valid"),
        ([""], "aliases: alias '' is not valid"),
        (["a" * 201], f"aliases: alias '{'a' * 80}' is not valid"),
        ([7], "aliases.0: must be a string"),
        ("pmpt_a", "aliases: "),
    ],
    ids=["listed-twice", "dot", "leading-space", "empty", "too-long", "number", "not-a-list"],
)
def test_bad_aliases_are_400_naming_them_on_create_and_patch(api, aliases, message):
    created = api.post(
        f"{API}/templates", {"slug": SLUG, "name": "Doc", "aliases": aliases}, format="json"
    )
    create_template(api, slug="other")
    patched = api.patch(f"{API}/templates/other", {"aliases": aliases}, format="json")

    for response in (created, patched):
        error = assert_error(response, 400, "invalid_request")
        assert error["message"].startswith(message), error
        assert "aliases" in error["details"]
    assert api.get(TEMPLATE_URL).status_code == 404
    assert api.get(f"{API}/templates/other").json()["aliases"] == []


def test_patch_aliases_replaces_the_whole_set(api):
    create_template(api, aliases=["old-one", "kept"])

    response = api.patch(TEMPLATE_URL, {"aliases": ["kept", ALIAS]}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["aliases"] == ["kept", ALIAS]
    assert api.get(f"{API}/templates/old-one").status_code == 404
    assert api.get(ALIAS_URL).json()["slug"] == SLUG
    cleared = api.patch(ALIAS_URL, {"aliases": []}, format="json")
    assert cleared.json()["aliases"] == []
    assert api.get(ALIAS_URL).status_code == 404


def test_patch_without_aliases_keeps_them(api):
    create_template(api, aliases=[ALIAS])

    api.patch(TEMPLATE_URL, {"name": "Renamed"}, format="json")

    assert api.get(TEMPLATE_URL).json()["aliases"] == [ALIAS]


def test_patch_with_an_alias_of_another_template_is_400_and_changes_nothing(api):
    create_template(api, slug="support-triage", aliases=["pmpt_x"])
    create_template(api, aliases=["mine"])

    response = api.patch(TEMPLATE_URL, {"name": "Renamed", "aliases": ["pmpt_x"]}, format="json")

    error = assert_error(response, 400, "invalid_request")
    assert error["message"] == "alias 'pmpt_x' is already used by template 'support-triage'"
    data = api.get(TEMPLATE_URL).json()
    assert (data["name"], data["aliases"]) == ("Document Q&A", ["mine"])


def test_patch_of_an_unknown_field_lists_aliases_as_editable(api, template):
    error = assert_error(api.patch(TEMPLATE_URL, {"colour": "blue"}, format="json"), 400)

    assert "editable: name, description, sample_variables, aliases" in error["message"]


def test_the_template_list_shows_each_templates_aliases(api):
    create_template(api, slug="alpha", aliases=["pmpt_a", "a-too"])
    create_template(api, slug="beta")

    results = api.get(f"{API}/templates").json()["results"]

    assert [(t["slug"], t["aliases"]) for t in results] == [
        ("alpha", ["a-too", "pmpt_a"]),
        ("beta", []),
    ]


# --- versions ------------------------------------------------------------------------------


def test_create_version_returns_201_with_number_hash_and_lint(api, template):
    response = post_version(api, make_body(), message="first draft")

    assert response.status_code == 201
    data = response.json()
    assert data["version"] == 1
    assert data["template"] == SLUG
    assert data["message"] == "first draft"
    assert data["author"] == "key:tests"
    assert SHA256_RE.match(data["content_hash"])
    lint = data["lint"]
    assert lint["ok"] is True
    assert lint["errors"] == []
    assert isinstance(lint["warnings"], list)
    assert lint["checkpoints"][0]["path"] == "messages[0].content[1]"
    assert lint["checkpoints"][0]["status"] == "will_cache"


def test_version_numbers_go_one_two_three(api, template):
    numbers = [
        create_version(api, make_body(params={"max_tokens": n}))["version"] for n in (10, 20, 30)
    ]

    assert numbers == [1, 2, 3]
    listed = api.get(f"{TEMPLATE_URL}/versions").json()
    assert listed["count"] == 3
    assert [v["version"] for v in listed["results"]] == [3, 2, 1]
    assert api.get(TEMPLATE_URL).json()["latest_version"] == 3


def test_same_body_gives_the_same_content_hash(api, template):
    first = create_version(api)
    second = create_version(api)

    assert second["version"] == 2
    assert first["content_hash"] == second["content_hash"]


def test_crlf_in_the_body_is_stored_as_lf(api, template):
    body = with_system_parts(
        text("You answer from the document only.\r\nQuote clauses.\rBe brief.\r\n"),
        text("{{ document }}", ONE_HOUR),
    )

    created = create_version(api, body)

    stored = api.get(f"{TEMPLATE_URL}/versions/{created['version']}").json()["body"]
    assert stored["messages"][0]["content"][0]["text"] == (
        "You answer from the document only.\nQuote clauses.\nBe brief.\n"
    )
    assert "\r" not in json.dumps(stored)


def test_crlf_and_lf_bodies_have_the_same_content_hash(api, template):
    lf = with_system_parts(text("Line one.\nLine two."), text("{{ document }}", ONE_HOUR))
    crlf = with_system_parts(text("Line one.\r\nLine two."), text("{{ document }}", ONE_HOUR))

    assert create_version(api, lf)["content_hash"] == create_version(api, crlf)["content_hash"]


def test_malformed_body_is_400_invalid_body_naming_the_path(api, template):
    body = make_body()
    body["messages"][1]["content"] = [{"type": "text", "text": 42}]

    response = post_version(api, body)

    error = assert_error(response, 400, "invalid_body")
    assert error["message"].startswith("messages[1].content[0].text")
    assert {"path": "messages[1].content[0].text", "message": "must be a string, got integer"} in (
        error["details"]
    )
    assert api.get(TEMPLATE_URL).json()["latest_version"] is None


def test_malformed_body_reports_every_problem(api, template):
    body = make_body(model="claude", params={"max_tokens": 0, "colour": "red"})

    error = assert_error(post_version(api, body), 400, "invalid_body")

    paths = {issue["path"] for issue in error["details"]}
    assert {"model", "params.max_tokens", "params.colour"} <= paths
    assert "more" in error["message"]


def test_undeclared_variable_rejects_version_with_lint_failed(api, template):
    body = make_body()
    body["messages"][1]["content"] = "Dear {{ customer_name }}: {{ question }} in {{ words }}"

    error = assert_error(post_version(api, body), 400, "lint_failed")

    assert error["message"].startswith("messages[1].content")
    assert "customer_name" in error["message"]
    report = error["details"]
    assert report["ok"] is False
    issue = next(i for i in report["errors"] if i["code"] == "undeclared_variable")
    assert issue["path"] == "messages[1].content"
    assert "customer_name" in issue["message"]
    assert api.get(f"{TEMPLATE_URL}/versions").json()["count"] == 0


def test_five_checkpoints_on_a_claude_model_reject_the_version(api, template):
    body = with_system_parts(
        *(text(f"Section {n}: " + "x" * 50, EPHEMERAL) for n in range(1, 5)),
        text("{{ document }}", EPHEMERAL),
    )

    error = assert_error(post_version(api, body), 400, "lint_failed")

    issue = next(i for i in error["details"]["errors"] if i["code"] == "too_many_checkpoints")
    assert issue["path"] == "messages[0].content[4]"
    assert "5 checkpoints" in issue["message"]


@pytest.mark.parametrize("model", ["sim/nova-pro", "bedrock/amazon.nova-pro-v1:0"])
def test_tool_checkpoint_on_nova_rejects_the_version(api, template, model):
    error = assert_error(post_version(api, tool_checkpoint_body(model)), 400, "lint_failed")

    assert error["details"]["errors"] == [
        {
            "code": "checkpoint_not_cacheable",
            "path": "tools[0]",
            "message": error["details"]["errors"][0]["message"],
        }
    ]
    assert "tools" in error["details"]["errors"][0]["message"]


def test_now_inside_a_cached_region_rejects_the_version(api, template):
    body = with_system_parts(
        text("Today is {{ now() }}.\nYou answer from the document only."),
        text("{{ document }}", ONE_HOUR),
    )

    error = assert_error(post_version(api, body), 400, "lint_failed")

    issue = error["details"]["errors"][0]
    assert issue["code"] == "nondeterministic"
    assert issue["path"] == "messages[0].content[0].text"
    assert issue["line"] == 1


def test_now_after_the_last_checkpoint_is_allowed(api, template):
    body = make_body()
    body["messages"][1]["content"] = "({{ now() }}) Answer in {{ words }} words: {{ question }}"

    assert post_version(api, body).status_code == 201


def test_jinja_syntax_error_rejects_the_version_with_its_line(api, template):
    body = with_system_parts(
        text("You answer from the document only."),
        text("The document:\n{{ document }\nEnd.", ONE_HOUR),
    )

    error = assert_error(post_version(api, body), 400, "lint_failed")

    issue = next(i for i in error["details"]["errors"] if i["code"] == "syntax_error")
    assert issue["path"] == "messages[0].content[1].text"
    assert issue["line"] == 2
    assert "line 2" in issue["message"]


def test_checkpoint_below_the_minimum_is_a_warning_not_an_error(api):
    create_template(api, sample_variables={"document": "A short note.", "question": "Why?"})

    response = post_version(api, make_body())

    assert response.status_code == 201
    lint = response.json()["lint"]
    assert lint["ok"] is True
    warning = next(w for w in lint["warnings"] if w["code"] == "below_minimum")
    assert warning["path"] == "messages[0].content[1]"
    assert lint["checkpoints"][0]["status"] == "below_minimum"
    assert lint["checkpoints"][0]["tokens"] < lint["checkpoints"][0]["min_tokens"]


def test_version_list_and_detail(api, template):
    create_version(api, message="first")
    create_version(api, make_body(params={"max_tokens": 64}), message="second")

    listed = api.get(f"{TEMPLATE_URL}/versions").json()
    detail = api.get(f"{TEMPLATE_URL}/versions/1").json()

    assert [(v["version"], v["message"]) for v in listed["results"]] == [
        (2, "second"),
        (1, "first"),
    ]
    assert "body" not in listed["results"][0]
    assert detail["version"] == 1
    assert detail["message"] == "first"
    assert detail["body"] == make_body()
    assert SHA256_RE.match(detail["content_hash"])
    assert detail["lint"]["ok"] is True


def test_unknown_version_is_404(api, version):
    error = assert_error(api.get(f"{TEMPLATE_URL}/versions/9"), 404, "not_found")

    assert "9" in error["message"]


def test_stored_body_keeps_the_authored_key_order(api, template):
    tool = {
        "cache_control": EPHEMERAL,
        "function": {
            "parameters": {
                "type": "object",
                "properties": {
                    "zeta": {"type": "string", "description": "last letter first"},
                    "alpha": {"type": "integer"},
                    "mid": {"type": "object", "properties": {"b": {}, "a": {}}},
                },
                "required": ["zeta"],
            },
            "name": "lookup_order",
            "description": "Look an order up.",
        },
        "type": "function",
    }
    body = {
        "messages": with_system_parts(
            text("You answer from the document only."), text("{{ document }}", EPHEMERAL)
        )["messages"],
        "variables": {
            "words": {"default": 20, "type": "integer"},
            "question": {"type": "string", "required": True},
            "document": {"required": True, "type": "string"},
        },
        "tools": [tool],
        "params": {"temperature": 0, "max_tokens": 256},
        "model": "sim/claude-sonnet-4-5",
    }

    created = create_version(api, body)
    stored = api.get(f"{TEMPLATE_URL}/versions/{created['version']}").json()["body"]

    assert stored == body
    assert list(stored) == list(body)
    assert list(stored["variables"]) == ["words", "question", "document"]
    assert list(stored["variables"]["words"]) == ["default", "type"]
    assert list(stored["params"]) == ["temperature", "max_tokens"]
    stored_tool = stored["tools"][0]
    assert list(stored_tool) == ["cache_control", "function", "type"]
    assert list(stored_tool["function"]) == ["parameters", "name", "description"]
    properties = stored_tool["function"]["parameters"]["properties"]
    assert list(properties) == ["zeta", "alpha", "mid"]
    assert list(properties["mid"]["properties"]) == ["b", "a"]
    assert json.dumps(stored) == json.dumps(body)


def test_tool_schema_order_reaches_the_wire(api, template):
    tool = make_tool(cache_control=EPHEMERAL)
    tool["function"]["parameters"]["properties"] = {"zeta": {}, "alpha": {}, "mid": {}}
    body = with_system_parts(
        text("You answer from the document only."), text("{{ document }}", EPHEMERAL), tools=[tool]
    )
    create_version(api, body)

    wire = render(api, model="anthropic/claude-sonnet-4-5").json()["request"]

    assert list(wire["tools"][0]["input_schema"]["properties"]) == ["zeta", "alpha", "mid"]


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_a_version_cannot_be_changed_or_deleted_through_the_api(api, version, method):
    url = f"{TEMPLATE_URL}/versions/1"
    before = api.get(url).json()
    edited = make_body(model="sim/claude-haiku-4-5")

    response = getattr(api, method)(url, {"body": edited, "message": "sneaky"}, format="json")

    assert_error(response, 405, "method_not_allowed")
    assert api.get(url).json() == before
    assert Version.objects.count() == 1


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_the_version_list_has_no_bulk_update_or_delete(api, version, method):
    response = getattr(api, method)(f"{TEMPLATE_URL}/versions", {}, format="json")

    assert_error(response, 405, "method_not_allowed")
    assert Version.objects.count() == 1


# --- diff ----------------------------------------------------------------------------------


def test_diff_of_a_user_message_edit_changes_no_cached_prefix(api, template):
    create_version(api)
    edited = make_body()
    edited["messages"][1]["content"] = "Reply in {{ words }} words or fewer: {{ question }}"
    create_version(api, edited)

    response = api.get(f"{TEMPLATE_URL}/versions/1/diff/2")

    assert response.status_code == 200
    data = response.json()
    assert (data["from_version"], data["to_version"]) == (1, 2)
    assert data["model"] is None
    assert data["checkpoints"]
    assert all(c["prefix_changed"] is False for c in data["checkpoints"])
    changed = [b for b in data["blocks"] if b["status"] != "unchanged"]
    assert [b["path"] for b in changed] == ["messages[1].content"]
    assert "+Reply in" in changed[0]["diff"]
    assert "unchanged" in data["summary"]


def test_diff_of_a_system_edit_before_the_first_checkpoint_changes_both(api, template):
    create_version(api, two_checkpoint_body())
    create_version(api, two_checkpoint_body(intro="You answer from the contract only."))

    data = api.get(f"{TEMPLATE_URL}/versions/1/diff/2").json()

    assert [c["ordinal"] for c in data["checkpoints"]] == [1, 2]
    for checkpoint in data["checkpoints"]:
        assert checkpoint["prefix_changed"] is True
        assert "messages[0].content[0]" in checkpoint["reason"]


def test_diff_between_the_two_checkpoints_changes_only_the_second(api, template):
    create_version(api, two_checkpoint_body())
    edited = two_checkpoint_body()
    edited["messages"][1]["content"][0]["text"] = "Policy: never guess."
    create_version(api, edited)

    data = api.get(f"{TEMPLATE_URL}/versions/1/diff/2").json()

    assert [c["prefix_changed"] for c in data["checkpoints"]] == [False, True]
    assert "messages[1].content[0]" in data["checkpoints"][1]["reason"]


def test_diff_of_a_model_change_changes_every_checkpoint(api, template):
    create_version(api, two_checkpoint_body())
    create_version(api, {**two_checkpoint_body(), "model": "sim/claude-opus-4-6"})

    data = api.get(f"{TEMPLATE_URL}/versions/1/diff/2").json()

    assert data["model"] == {"from": "sim/claude-sonnet-4-5", "to": "sim/claude-opus-4-6"}
    assert len(data["checkpoints"]) == 2
    for checkpoint in data["checkpoints"]:
        assert checkpoint["prefix_changed"] is True
        assert "model" in checkpoint["reason"]


@pytest.mark.parametrize("path", ["1/diff/7", "7/diff/1"], ids=["unknown-to", "unknown-from"])
def test_diff_with_an_unknown_version_is_404(api, version, path):
    assert_error(api.get(f"{TEMPLATE_URL}/versions/{path}"), 404, "not_found")


# --- labels --------------------------------------------------------------------------------


def test_put_label_creates_it(api, version):
    response = move_label(api, "production", 1)

    assert response.status_code in (200, 201)
    data = response.json()
    assert data["name"] == "production"
    assert data["version"] == 1
    assert data["updated_by"] == "key:tests"
    assert [(m["from_version"], m["to_version"]) for m in data["history"]] == [(None, 1)]
    assert api.get(TEMPLATE_URL).json()["labels"] == {"production": 1}


def test_rollback_keeps_every_move_newest_first(api, template):
    create_version(api)
    create_version(api, make_body(params={"max_tokens": 64}))

    move_label(api, "production", 1)
    move_label(api, "production", 2)
    response = move_label(api, "production", 1)

    assert response.status_code == 200
    data = response.json()
    assert data["version"] == 1
    history = data["history"]
    assert [(m["from_version"], m["to_version"]) for m in history] == [(2, 1), (1, 2), (None, 1)]
    assert {m["moved_by"] for m in history} == {"key:tests"}
    assert {m["label"] for m in history} == {"production"}
    assert all(m["moved_at"] for m in history)
    assert history[0]["moved_at"] >= history[1]["moved_at"] >= history[2]["moved_at"]


def test_moving_a_label_to_where_it_is_records_nothing(api, version):
    move_label(api, "production", 1)

    data = move_label(api, "production", 1).json()

    assert len(data["history"]) == 1


def test_moving_a_label_to_a_missing_version_is_404(api, version):
    error = assert_error(move_label(api, "production", 5), 404, "not_found")

    assert "5" in error["message"]
    assert api.get(f"{TEMPLATE_URL}/labels").json() == []


def test_latest_label_cannot_be_moved(api, version):
    error = assert_error(move_label(api, "latest", 1), 400)

    assert "latest" in error["message"]


@pytest.mark.parametrize(
    "label", ["Production", "prod!", "-prod", "prod--x"], ids=["uppercase", "bang", "dash", "dd"]
)
def test_invalid_label_name_is_400(api, version, label):
    error = assert_error(move_label(api, label, 1), 400)

    assert label in error["message"]
    assert api.get(f"{TEMPLATE_URL}/labels").json() == []


def test_label_list_shows_each_label_with_its_history(api, template):
    create_version(api)
    create_version(api, make_body(params={"max_tokens": 64}))
    move_label(api, "staging", 2)
    move_label(api, "production", 1)
    move_label(api, "production", 2)

    response = api.get(f"{TEMPLATE_URL}/labels")

    assert response.status_code == 200
    labels = response.json()
    assert [(label["name"], label["version"]) for label in labels] == [
        ("production", 2),
        ("staging", 2),
    ]
    assert [(m["from_version"], m["to_version"]) for m in labels[0]["history"]] == [
        (1, 2),
        (None, 1),
    ]
    assert [(m["from_version"], m["to_version"]) for m in labels[1]["history"]] == [(None, 2)]


# --- render --------------------------------------------------------------------------------


def test_render_without_version_or_label_uses_latest_when_there_is_no_production(api, template):
    create_version(api)
    create_version(api, make_body(params={"max_tokens": 64}))

    data = render(api).json()

    assert (data["version"], data["label"]) == (2, "latest")


def test_render_without_version_or_label_uses_production_when_it_exists(api, template):
    create_version(api)
    create_version(api, make_body(params={"max_tokens": 64}))
    move_label(api, "production", 1)

    data = render(api).json()

    assert (data["version"], data["label"]) == (1, "production")
    assert data["request"]["max_tokens"] == 256


def test_render_by_version_and_by_label(api, template):
    create_version(api)
    create_version(api, make_body(params={"max_tokens": 64}))
    move_label(api, "staging", 1)

    by_version = render(api, version=1).json()
    by_label = render(api, label="staging").json()
    by_latest = render(api, label="latest").json()

    assert (by_version["version"], by_version["label"]) == (1, None)
    assert (by_label["version"], by_label["label"]) == (1, "staging")
    assert (by_latest["version"], by_latest["label"]) == (2, "latest")


def test_render_with_version_and_label_is_400(api, version):
    move_label(api, "production", 1)

    error = assert_error(render(api, version=1, label="production"), 400)

    assert "version" in error["message"] and "label" in error["message"]


def test_render_with_unknown_label_is_404(api, version):
    error = assert_error(render(api, label="canary"), 404, "not_found")

    assert "canary" in error["message"]


def test_render_of_unknown_version_is_404(api, version):
    assert_error(render(api, version=4), 404, "not_found")


def test_render_of_a_template_without_versions_is_404(api, template):
    error = assert_error(render(api), 404, "not_found")

    assert "no versions" in error["message"]


def test_render_and_lint_apply_the_render_limits_of_the_settings(api, version, settings):
    settings.CACHET = {**settings.CACHET, "RENDER_MAX_OUTPUT_CHARS": 1000}
    long = {"document": "d" * 2000, "question": "Why?"}

    error = assert_error(render(api, variables=long), 400, "render_limit")
    assert "over the limit of 1,000 characters" in error["message"]
    settings.CACHET = {**settings.CACHET, "RENDER_MAX_OUTPUT_CHARS": 8_000_000}
    assert render(api, variables=long).status_code == 200


def test_render_missing_required_variable_is_400_naming_it(api, version):
    error = assert_error(render(api, variables={"document": "D"}), 400, "invalid_variables")

    assert "question" in error["message"]
    assert {"variable": "question", "message": "is required"} in error["details"]


def test_render_unknown_variable_is_400_naming_it(api, version):
    response = render(api, variables={**VARIABLES, "tone": "friendly"})

    error = assert_error(response, 400, "invalid_variables")
    assert "tone" in error["message"]
    assert [d["variable"] for d in error["details"]] == ["tone"]


@pytest.mark.parametrize(
    "name, value",
    [("words", "twenty"), ("words", 2.5), ("words", True), ("question", 7), ("document", None)],
    ids=["string-for-integer", "float-for-integer", "bool-for-integer", "int-for-string", "null"],
)
def test_render_variable_of_the_wrong_type_is_400_naming_it(api, version, name, value):
    error = assert_error(render(api, variables={**VARIABLES, name: value}), 400)

    assert error["type"] == "invalid_variables"
    assert name in error["message"]


def test_render_returns_request_checkpoints_variables_and_warnings(api, version):
    response = render(api)

    assert response.status_code == 200
    data = response.json()
    assert data["template"] == SLUG
    assert data["model"] == "sim/claude-sonnet-4-5"
    assert data["provider"] == "sim"
    assert SHA256_RE.match(data["content_hash"])
    assert data["request"]["messages"] == [
        {"role": "user", "content": "Answer in 20 words: What is the uptime?"}
    ]
    assert data["request"]["system"][1]["text"] == DOCUMENT
    [checkpoint] = data["checkpoints"]
    assert SHA256_RE.match(checkpoint["fingerprint"])
    assert checkpoint["path"] == "messages[0].content[1]"
    assert checkpoint["tokens"] > checkpoint["min_tokens"] == 1024
    assert checkpoint["status"] == "will_cache"
    assert data["prefix_variables"] == ["document"]
    assert data["suffix_variables"] == ["question", "words"]
    assert data["warnings"] == []
    assert "estimate" in data["token_method"]


def test_render_warns_about_a_checkpoint_below_the_minimum(api, version):
    data = render(api, variables={"document": "Short.", "question": "Why?"}).json()

    assert data["checkpoints"][0]["status"] == "below_minimum"
    assert [w["code"] for w in data["warnings"]] == ["below_minimum"]


def test_render_for_anthropic_gives_a_messages_body(api, version):
    data = render(api, model="anthropic/claude-sonnet-4-5").json()

    wire = data["request"]
    assert data["provider"] == "anthropic"
    assert wire["model"] == "claude-sonnet-4-5"
    assert isinstance(wire["system"], list)
    assert wire["system"][0] == {"type": "text", "text": "You answer from the document only."}
    assert wire["system"][1]["cache_control"] == ONE_HOUR
    assert all(m["role"] != "system" for m in wire["messages"])


def test_render_for_bedrock_gives_a_converse_body_with_a_cache_point(api, version):
    data = render(api, model="bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0").json()

    wire = data["request"]
    assert data["provider"] == "bedrock"
    assert wire["modelId"] == "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    assert wire["system"][0] == {"text": "You answer from the document only."}
    assert wire["system"][1] == {"text": DOCUMENT}
    assert "cachePoint" in wire["system"][2]
    assert len(wire["system"]) == 3
    assert "cache_control" not in json.dumps(wire)
    assert wire["messages"][0]["content"] == [{"text": "Answer in 20 words: What is the uptime?"}]


def test_render_for_openai_gives_chat_completions_without_markers(api, version):
    data = render(api, model="openai/gpt-4o").json()

    wire = data["request"]
    assert data["provider"] == "openai"
    assert wire["model"] == "gpt-4o"
    assert wire["messages"][0]["role"] == "system"
    assert "cache_control" not in json.dumps(wire)
    assert wire["prompt_cache_key"] == data["checkpoints"][-1]["fingerprint"]


def test_render_with_an_unknown_sim_model_is_400_unknown_model(api, version):
    error = assert_error(render(api, model="sim/claude-nonexistent-9"), 400, "unknown_model")

    assert "sim/claude-nonexistent-9" in error["message"]


@pytest.mark.parametrize(
    "model", ["anthropic/claude-nonexistent-9", "bedrock/amazon.titan-nothing"]
)
def test_render_with_a_model_the_catalog_does_not_list_warns(api, version, model):
    response = render(api, model=model)

    assert response.status_code == 200, response.json()
    [warning] = [w for w in response.json()["warnings"] if w["code"] == "unknown_model_limits"]
    assert model in warning["message"]


def test_render_with_an_unknown_provider_is_400(api, version):
    error = assert_error(render(api, model="acme/model-1"), 400)

    assert "acme" in error["message"]


def test_renders_differing_only_in_suffix_variables_share_fingerprints(api, template):
    create_version(api, two_checkpoint_body())

    first = render(api, variables={**VARIABLES, "question": "Uptime?", "words": 5}).json()
    second = render(api, variables={**VARIABLES, "question": "Refunds?", "words": 50}).json()

    assert first["request"] != second["request"]
    assert [c["fingerprint"] for c in first["checkpoints"]] == [
        c["fingerprint"] for c in second["checkpoints"]
    ]
    assert len(first["checkpoints"]) == 2


def test_a_changed_prefix_variable_changes_the_fingerprint(api, version):
    first = render(api).json()
    second = render(api, variables={**VARIABLES, "document": DOCUMENT + "Clause 2."}).json()

    assert first["checkpoints"][0]["fingerprint"] != second["checkpoints"][0]["fingerprint"]


def test_object_variable_key_order_does_not_change_the_fingerprint(api, template):
    body = with_system_parts(
        text("Customer: {{ customer | dictsort }}"), text("{{ document }}", ONE_HOUR)
    )
    body["variables"]["customer"] = {"type": "object", "required": True}
    create_version(api, body)

    first = render(api, variables={**VARIABLES, "customer": {"name": "Ann", "id": 1}}).json()
    second = render(api, variables={**VARIABLES, "customer": {"id": 1, "name": "Ann"}}).json()

    assert first["checkpoints"][0]["fingerprint"] == second["checkpoints"][0]["fingerprint"]


def test_fingerprints_differ_between_models(api, version):
    sim = render(api).json()
    anthropic = render(api, model="anthropic/claude-sonnet-4-5").json()

    assert sim["checkpoints"][0]["fingerprint"] != anthropic["checkpoints"][0]["fingerprint"]


# --- lint ----------------------------------------------------------------------------------


def test_lint_endpoint_returns_200_with_the_report_even_with_errors(api, template):
    body = make_body()
    body["messages"][1]["content"] = "{{ customer_name }}: {{ question }} in {{ words }} words"

    response = api.post(f"{TEMPLATE_URL}/lint", {"body": body}, format="json")

    assert response.status_code == 200
    report = response.json()
    assert report["ok"] is False
    assert error_codes(report) == ["undeclared_variable"]
    assert report["errors"][0]["path"] == "messages[1].content"
    assert report["model"] == "sim/claude-sonnet-4-5"
    assert api.get(f"{TEMPLATE_URL}/versions").json()["count"] == 0


def test_lint_endpoint_reports_a_clean_body_as_ok(api, template):
    report = api.post(f"{TEMPLATE_URL}/lint", {"body": make_body()}, format="json").json()

    assert report["ok"] is True
    assert report["checkpoints"][0]["status"] == "will_cache"
    assert report["prefix_variables"] == ["document"]


def test_lint_endpoint_with_a_malformed_body_is_400_invalid_body(api, template):
    response = api.post(f"{TEMPLATE_URL}/lint", {"body": {"model": 3}}, format="json")

    error = assert_error(response, 400, "invalid_body")
    assert "model" in error["message"]


def test_lint_relints_a_stored_version_against_another_model(api, template):
    create_version(api, tool_checkpoint_body())

    response = api.post(
        f"{TEMPLATE_URL}/lint",
        {"version": 1, "model": "bedrock/amazon.nova-pro-v1:0"},
        format="json",
    )

    assert response.status_code == 200
    report = response.json()
    assert report["ok"] is False
    assert report["model"] == "bedrock/amazon.nova-pro-v1:0"
    issue = next(i for i in report["errors"] if i["code"] == "checkpoint_not_cacheable")
    assert issue["path"] == "tools[0]"


def test_lint_of_an_unknown_version_is_404(api, version):
    response = api.post(f"{TEMPLATE_URL}/lint", {"version": 3}, format="json")

    assert_error(response, 404, "not_found")


@pytest.mark.parametrize(
    "payload",
    [{}, {"model": "sim/nova-pro"}, {"version": 1, "body": make_body()}],
    ids=["neither", "only-model", "both"],
)
def test_lint_needs_exactly_one_of_body_or_version(api, version, payload):
    error = assert_error(api.post(f"{TEMPLATE_URL}/lint", payload, format="json"), 400)

    assert "body" in error["message"] and "version" in error["message"]


# --- OpenAPI schema and docs ---------------------------------------------------------------


@pytest.mark.django_db
def test_openapi_schema_lists_every_api_path(anonymous):
    response = anonymous.get("/api/schema/")

    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    paths = set(schema["paths"])
    assert {
        "/api/v1/templates",
        "/api/v1/templates/{slug}",
        "/api/v1/templates/{slug}/versions",
        "/api/v1/templates/{slug}/versions/{number}",
        "/api/v1/templates/{slug}/versions/{number}/diff/{other}",
        "/api/v1/templates/{slug}/labels",
        "/api/v1/templates/{slug}/labels/{label}",
        "/api/v1/templates/{slug}/render",
        "/api/v1/templates/{slug}/lint",
    } <= paths
    assert "put" in schema["paths"]["/api/v1/templates/{slug}/labels/{label}"]
    assert not {"put", "patch", "delete"} & set(
        schema["paths"]["/api/v1/templates/{slug}/versions/{number}"]
    )


@pytest.mark.django_db
def test_openapi_schema_is_also_served_as_json(anonymous):
    response = anonymous.get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    assert "/api/v1/templates/{slug}/render" in json.loads(response.content)["paths"]


def _asset_urls(html: str) -> list[str]:
    return re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)


@pytest.mark.django_db
def test_api_docs_page_references_no_external_host(anonymous):
    response = anonymous.get("/api/docs/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    urls = _asset_urls(html)
    assert urls, "the docs page should load its scripts and styles"
    for url in urls:
        host = urlsplit(url).hostname
        assert host in (None, "localhost", "127.0.0.1", "testserver"), url
    for url in re.findall(r"https?://[^\s\"'<>)]+", html):
        assert urlsplit(url).hostname in ("localhost", "127.0.0.1", "testserver"), url


@pytest.mark.django_db
def test_api_docs_static_files_exist(anonymous):
    html = anonymous.get("/api/docs/").content.decode()
    static_url = "/" + settings.STATIC_URL.strip("/") + "/"

    assets = [urlsplit(url).path for url in _asset_urls(html)]
    static_assets = [path for path in assets if path.startswith(static_url)]

    assert any(path.endswith(".js") for path in static_assets)
    assert any(path.endswith(".css") for path in static_assets)
    for path in static_assets:
        assert finders.find(path[len(static_url) :]), path


# --- the error shape -----------------------------------------------------------------------


def test_errors_never_leak_a_traceback(api, template):
    body = copy.deepcopy(make_body())
    body["messages"] = "not a list"

    response = post_version(api, body)

    assert_error(response, 400, "invalid_body")
    assert b"Traceback" not in response.content


@pytest.mark.django_db
def test_a_database_that_is_away_is_a_503_to_retry_not_a_500(api_key):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key}")

    def locked(execute, sql, params, many, context):
        raise OperationalError("database is locked")  # as Django raises it

    with connection.execute_wrapper(locked):
        response = api.get("/api/v1/templates")
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert response.json()["error"]["type"] == "database_unavailable"
