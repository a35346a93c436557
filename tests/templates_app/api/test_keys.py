"""API keys: a scope per endpoint, templates a key may use, rate limits, revocation, admin, CLI."""

from __future__ import annotations

import io
import time
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import URLPattern, resolve, reverse
from django.utils import timezone
from rest_framework.test import APIClient

from templates_app import services
from templates_app.api import urls
from templates_app.api.throttling import window_count
from templates_app.models import ApiKey, Template, hash_key
from tests.factories import DOCUMENT, make_body, make_template, make_version

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("both_routes", "fresh_simulator")]

API = "/api/v1"
VARIABLES = {"document": DOCUMENT, "question": "What is the uptime?"}
SCOPES = ["read", "write", "render", "send"]

# Every endpoint, with a request that succeeds, and the one scope it needs.
ENDPOINTS = [
    ("get", "/templates", None, "read"),
    ("post", "/templates", {"slug": "new-one", "name": "New one"}, "write"),
    ("get", "/templates/doc-qa", None, "read"),
    ("patch", "/templates/doc-qa", {"name": "Renamed"}, "write"),
    ("get", "/templates/doc-qa/versions", None, "read"),
    ("post", "/templates/doc-qa/versions", {"body": make_body(), "message": "again"}, "write"),
    ("get", "/templates/doc-qa/versions/1", None, "read"),
    ("get", "/templates/doc-qa/versions/1/diff/2", None, "read"),
    ("get", "/templates/doc-qa/labels", None, "read"),
    ("put", "/templates/doc-qa/labels/staging", {"version": 1}, "write"),
    ("post", "/templates/doc-qa/render", {"variables": VARIABLES}, "render"),
    ("post", "/templates/doc-qa/lint", {"version": 1}, "render"),
    ("post", "/templates/doc-qa/preview", {"body": make_body()}, "render"),
    ("post", "/templates/doc-qa/send", {"variables": VARIABLES}, "send"),
    ("get", "/invocations", None, "read"),
    ("get", "/templates/doc-qa/stats", None, "read"),
]
TEMPLATE_ENDPOINTS = [e for e in ENDPOINTS if e[1].startswith("/templates/doc-qa")]


def endpoint_ids(endpoints: list[tuple[str, str, Any, str]]) -> list[str]:
    return [f"{method.upper()} {path}" for method, path, _, _ in endpoints]


@pytest.fixture
def templates():
    """``doc-qa`` with versions 1 and 2, and ``other`` with one version."""
    doc_qa = make_template()
    make_version(doc_qa)
    make_version(doc_qa, body=make_body(params={"max_tokens": 128}), message="second")
    other = make_template(slug="other", name="Other")
    make_version(other)
    return doc_qa, other


def client_for(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def key_client(**fields: Any) -> APIClient:
    """A client whose key has ``fields`` (``scopes``, ``templates``, ``rate_limit_per_minute``)."""
    _, raw = ApiKey.generate(name="scoped", **fields)
    return client_for(raw)


def call(client: APIClient, method: str, path: str, data: Any = None) -> Any:
    path = API + path
    if data is None:
        return getattr(client, method)(path)
    return getattr(client, method)(path, data, format="json")


def error_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content[:1000]
    return response.json()["error"]


def away_from_a_minute_boundary() -> None:
    """Wait out the last seconds of a minute, so a rate-limit window cannot roll over mid-test."""
    left = 60 - time.time() % 60
    if left < 3:
        time.sleep(left + 0.05)


# --- scopes --------------------------------------------------------------------------------


def test_every_api_endpoint_names_a_scope_and_the_table_here_lists_them_all():
    declared = set()
    for pattern in urls.urlpatterns:
        view = (
            getattr(pattern.callback, "view_class", None)
            if isinstance(pattern, URLPattern)
            else None
        )
        if view is None:  # the JSON 404 for unknown paths
            continue
        methods = {m.upper() for m in ("get", "post", "put", "patch", "delete") if hasattr(view, m)}
        assert set(view.scopes) == methods, view.__name__
        declared |= {(view.__name__, method, view.scopes[method]) for method in methods}
    tested = {
        (resolve(API + path).func.view_class.__name__, method.upper(), scope)
        for method, path, _, scope in ENDPOINTS
    }
    assert tested == declared


@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize(
    ("method", "path", "data", "needs"), ENDPOINTS, ids=endpoint_ids(ENDPOINTS)
)
def test_each_scope_allows_exactly_its_endpoints(templates, scope, method, path, data, needs):
    response = call(key_client(scopes=[scope]), method, path, data)
    if scope == needs:
        assert 200 <= response.status_code < 300, response.content[:1000]
    else:
        assert error_of(response, 403) == {
            "type": "permission_denied",
            "message": f"this API key lacks the '{needs}' scope",
            "details": None,
        }


def test_new_keys_have_every_scope():
    key, _ = ApiKey.generate(name="default")
    assert key.scopes == SCOPES
    assert ApiKey.objects.get(pk=key.pk).scopes == SCOPES


def test_a_key_with_no_scopes_can_still_ask_what_an_endpoint_accepts(templates):
    response = key_client(scopes=[]).options(f"{API}/templates/doc-qa/send")
    assert response.status_code == 200


def test_a_scoped_key_still_gets_405_for_a_method_no_endpoint_has(templates):
    response = key_client(scopes=["read"]).delete(f"{API}/templates/doc-qa")
    assert error_of(response, 405)["type"] == "method_not_allowed"


def test_signed_in_staff_is_not_limited_by_scopes_templates_or_rate_limits(templates, settings):
    settings.CACHET = {**settings.CACHET, "DEFAULT_RATE_LIMIT": 1}
    user = get_user_model().objects.create_user("editor", password="x", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_template", "change_template", "add_template"]
        )
    )
    staff = APIClient()
    staff.force_login(user)
    for method, path, data, _ in ENDPOINTS:
        response = call(staff, method, path, data)
        assert 200 <= response.status_code < 300, (path, response.content[:1000])
    listed = staff.get(f"{API}/templates").json()["results"]
    assert {t["slug"] for t in listed} == {"doc-qa", "other", "new-one"}


# --- templates a key is limited to ---------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "data", "needs"), TEMPLATE_ENDPOINTS, ids=endpoint_ids(TEMPLATE_ENDPOINTS)
)
def test_a_limited_key_gets_404_for_another_template_on_every_endpoint(
    templates, method, path, data, needs
):
    doc_qa, _ = templates
    limited = key_client(templates=[doc_qa])
    response = call(limited, method, path.replace("/doc-qa", "/other"), data)
    assert error_of(response, 404) == {
        "type": "not_found",
        "message": "template 'other' not found",
        "details": None,
    }


def test_a_limited_key_cannot_tell_another_template_from_a_missing_one(templates, api):
    doc_qa, _ = templates
    limited = key_client(templates=[doc_qa])
    existing = limited.get(f"{API}/templates/other/versions/1").json()
    missing = api.get(f"{API}/templates/no-such-one/versions/1").json()
    assert existing["error"] == {**missing["error"], "message": "template 'other' not found"}


def test_a_limited_key_uses_its_own_templates(templates):
    doc_qa, _ = templates
    limited = key_client(templates=[doc_qa])
    for method, path, data, _ in TEMPLATE_ENDPOINTS:
        response = call(limited, method, path, data)
        assert 200 <= response.status_code < 300, (path, response.content[:1000])


def test_a_limited_key_lists_only_its_templates(templates, api):
    doc_qa, _ = templates
    listed = key_client(templates=[doc_qa]).get(f"{API}/templates").json()
    assert [t["slug"] for t in listed["results"]] == ["doc-qa"]
    assert listed["count"] == 1
    everything = api.get(f"{API}/templates").json()["results"]
    assert [t["slug"] for t in everything] == ["doc-qa", "other"]


def test_a_limited_key_lists_only_its_templates_invocations(templates, api):
    doc_qa, _ = templates
    for slug in ("doc-qa", "other", "other"):
        sent = api.post(f"{API}/templates/{slug}/send", {"variables": VARIABLES}, format="json")
        assert sent.status_code == 200, sent.content[:1000]
    limited = key_client(templates=[doc_qa])
    mine = limited.get(f"{API}/invocations").json()["results"]
    assert [i["template"] for i in mine] == ["doc-qa"]
    assert limited.get(f"{API}/invocations?template=other").json()["results"] == []
    assert len(api.get(f"{API}/invocations").json()["results"]) == 3


def test_a_limited_key_cannot_create_a_template(templates):
    doc_qa, _ = templates
    response = key_client(templates=[doc_qa]).post(
        f"{API}/templates", {"slug": "mine-now", "name": "Mine"}, format="json"
    )
    assert error_of(response, 403)["type"] == "permission_denied"
    assert not Template.objects.filter(slug="mine-now").exists()


def test_a_limited_key_uses_its_templates_by_their_aliases_and_not_others(templates):
    doc_qa, other = templates
    services.template_aliases_set(template=doc_qa, aliases=["pmpt_mine"])
    services.template_aliases_set(template=other, aliases=["pmpt_theirs"])
    limited = key_client(templates=[doc_qa])
    for method, path, data, _ in TEMPLATE_ENDPOINTS:
        response = call(limited, method, path.replace("/doc-qa", "/pmpt_mine"), data)
        assert 200 <= response.status_code < 300, (path, response.content[:1000])
    refused = limited.get(f"{API}/templates/pmpt_theirs")
    assert error_of(refused, 404)["message"] == "template 'pmpt_theirs' not found"


def test_a_key_limited_to_several_templates_uses_each(templates):
    limited = key_client(templates=list(templates))
    assert limited.get(f"{API}/templates/doc-qa").status_code == 200
    assert limited.get(f"{API}/templates/other").status_code == 200


# --- rate limits ---------------------------------------------------------------------------


def test_a_key_makes_its_limit_of_requests_then_gets_429_with_retry_after(templates):
    away_from_a_minute_boundary()
    limited = key_client(rate_limit_per_minute=3)
    for _ in range(3):
        assert limited.get(f"{API}/templates").status_code == 200
    refused = limited.get(f"{API}/templates")
    error = error_of(refused, 429)
    assert error["type"] == "rate_limited"
    assert "3 requests a minute" in error["message"]
    retry_after = int(refused["Retry-After"])
    assert 1 <= retry_after <= 60
    assert abs(retry_after - (60 - time.time() % 60)) < 2


def test_the_rate_limit_counts_every_endpoint_including_send(templates):
    away_from_a_minute_boundary()
    limited = key_client(rate_limit_per_minute=2)
    assert limited.get(f"{API}/templates/doc-qa").status_code == 200
    first = limited.post(f"{API}/templates/doc-qa/send", {"variables": VARIABLES}, format="json")
    assert first.status_code == 200, first.content[:1000]
    second = limited.post(f"{API}/templates/doc-qa/send", {"variables": VARIABLES}, format="json")
    assert error_of(second, 429)["type"] == "rate_limited"
    assert second["Retry-After"]


def test_rate_limits_are_counted_per_key(templates):
    away_from_a_minute_boundary()
    first, second = key_client(rate_limit_per_minute=1), key_client(rate_limit_per_minute=1)
    assert first.get(f"{API}/templates").status_code == 200
    assert first.get(f"{API}/templates").status_code == 429
    assert second.get(f"{API}/templates").status_code == 200


def test_a_key_without_its_own_limit_gets_the_default_from_settings(templates, settings):
    away_from_a_minute_boundary()
    settings.CACHET = {**settings.CACHET, "DEFAULT_RATE_LIMIT": 2}
    default = key_client()
    assert [default.get(f"{API}/templates").status_code for _ in range(3)] == [200, 200, 429]


def test_an_unlimited_key_is_never_throttled(templates, settings):
    settings.CACHET = {**settings.CACHET, "DEFAULT_RATE_LIMIT": 1}
    unlimited = key_client(rate_limit_per_minute=0)
    assert {unlimited.get(f"{API}/templates").status_code for _ in range(25)} == {200}


def test_the_default_limit_of_zero_means_unlimited(templates, settings):
    settings.CACHET = {**settings.CACHET, "DEFAULT_RATE_LIMIT": 0}
    default = key_client()
    assert {default.get(f"{API}/templates").status_code for _ in range(10)} == {200}


def test_the_window_is_one_minute_and_the_next_one_starts_again():
    key, _ = ApiKey.generate(name="windows")
    minute = 60 * 29_000_000
    assert [window_count(key, minute + s) for s in (0, 30, 59.9)] == [1, 2, 3]
    assert window_count(key, minute + 60) == 1
    assert window_count(key, minute + 61) == 2


def test_a_request_refused_for_its_scope_is_not_counted(templates):
    away_from_a_minute_boundary()
    reader = key_client(scopes=["read"], rate_limit_per_minute=1)
    assert (
        reader.post(
            f"{API}/templates/doc-qa/send", {"variables": VARIABLES}, format="json"
        ).status_code
        == 403
    )
    assert reader.get(f"{API}/templates").status_code == 200


# --- revocation and last use ---------------------------------------------------------------


def test_a_revoked_key_is_refused_at_once_even_right_after_a_successful_call(templates):
    key, raw = ApiKey.generate(name="soon-gone")
    client = client_for(raw)
    assert client.get(f"{API}/templates").status_code == 200
    services.api_key_revoke(keys=ApiKey.objects.filter(pk=key.pk))
    error = error_of(client.get(f"{API}/templates"), 401)
    assert error == {
        "type": "authentication_failed",
        "message": "this API key has been revoked",
        "details": None,
    }
    send = client.post(f"{API}/templates/doc-qa/send", {"variables": VARIABLES}, format="json")
    assert error_of(send, 401)["type"] == "authentication_failed"


def test_scope_changes_apply_to_the_next_request(templates):
    key, raw = ApiKey.generate(name="narrowed")
    client = client_for(raw)
    assert client.get(f"{API}/templates").status_code == 200
    key.scopes = ["send"]
    key.save()  # as the admin's form does
    assert client.get(f"{API}/templates").status_code == 403


def test_a_call_records_when_the_key_was_last_used(templates):
    key, raw = ApiKey.generate(name="used", scopes=["read"])
    client_for(raw).get(f"{API}/templates")
    key.refresh_from_db()
    assert key.last_used_at is not None
    assert timezone.now() - key.last_used_at < timedelta(seconds=30)


# --- create_api_key ------------------------------------------------------------------------


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_create_api_key_takes_scopes_templates_and_a_rate_limit(templates):
    out, _ = run(
        "create_api_key",
        "bot",
        "--scopes",
        "send, read",
        "--templates",
        "doc-qa,other",
        "--rate-limit",
        "30",
    )
    key = ApiKey.objects.get(key_hash=hash_key(out.strip().splitlines()[-1]))
    assert key.name == "bot"
    assert key.scopes == ["read", "send"]
    assert key.template_slugs() == {"doc-qa", "other"}
    assert key.rate_limit_per_minute == 30 and key.rate_limit == 30


def test_create_api_key_defaults_to_every_scope_every_template_and_the_default_limit(settings):
    settings.CACHET = {**settings.CACHET, "DEFAULT_RATE_LIMIT": 77}
    out, _ = run("create_api_key", "bot")
    key = ApiKey.objects.get(key_hash=hash_key(out.strip().splitlines()[-1]))
    assert key.scopes == SCOPES
    assert key.template_slugs() == set()
    assert key.rate_limit_per_minute is None and key.rate_limit == 77


def test_create_api_key_accepts_zero_as_unlimited():
    out, _ = run("create_api_key", "bot", "--rate-limit", "0")
    key = ApiKey.objects.get(key_hash=hash_key(out.strip().splitlines()[-1]))
    assert key.rate_limit == 0


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--scopes", "read,admin", "unknown scope 'admin'"),
        ("--scopes", ",", "at least one"),
        ("--templates", "doc-qa,nope", "no template 'nope'"),
        ("--rate-limit", "-1", "0 \\(unlimited\\) or more"),
    ],
)
def test_create_api_key_refuses_bad_options_and_creates_nothing(templates, option, value, message):
    with pytest.raises(CommandError, match=message):
        run("create_api_key", "bot", option, value)
    assert not ApiKey.objects.filter(name="bot").exists()


# --- admin ---------------------------------------------------------------------------------


@pytest.fixture
def staff(client):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-tests")
    client.force_login(user)
    return client


def test_admin_change_page_for_a_key_loads_and_saves_scopes_templates_and_limit(staff, templates):
    doc_qa, _ = templates
    key, raw = ApiKey.generate(name="bot")
    url = reverse("admin:templates_app_apikey_change", args=[key.pk])
    page = staff.get(url)
    assert page.status_code == 200
    for scope in SCOPES:
        assert f'value="{scope}"'.encode() in page.content
    assert b'name="templates"' in page.content and b'name="rate_limit_per_minute"' in page.content
    saved = staff.post(
        url,
        {
            "name": "bot",
            "scopes": ["send", "read"],
            "templates": [doc_qa.pk],
            "rate_limit_per_minute": "5",
        },
    )
    assert saved.status_code == 302, saved.content[:2000]
    key.refresh_from_db()
    assert key.scopes == ["read", "send"]
    assert key.template_slugs() == {"doc-qa"}
    assert key.rate_limit_per_minute == 5
    assert key.key_hash == hash_key(raw)
    client = client_for(raw)
    assert client.get(f"{API}/templates/doc-qa").status_code == 200
    assert (
        client.post(
            f"{API}/templates/doc-qa/render", {"variables": VARIABLES}, format="json"
        ).status_code
        == 403
    )
    assert client.get(f"{API}/templates/other").status_code == 404


def test_admin_refuses_an_unknown_scope(staff):
    key, _ = ApiKey.generate(name="bot")
    url = reverse("admin:templates_app_apikey_change", args=[key.pk])
    page = staff.post(url, {"name": "bot", "scopes": ["admin"]})
    assert page.status_code == 200 and b"errorlist" in page.content
    key.refresh_from_db()
    assert key.scopes == SCOPES


def test_creating_a_key_in_the_admin_with_scopes_and_templates(staff, templates):
    doc_qa, _ = templates
    response = staff.post(
        reverse("admin:templates_app_apikey_add"),
        {"name": "ci", "scopes": ["read"], "templates": [doc_qa.pk], "rate_limit_per_minute": ""},
        follow=True,
    )
    [message] = [str(m) for m in response.context["messages"] if "copy it now" in str(m)]
    raw = message.split("'ci': ")[1].split(" ")[0]
    key = ApiKey.objects.get(key_hash=hash_key(raw))
    assert key.scopes == ["read"] and key.template_slugs() == {"doc-qa"}
    assert key.rate_limit_per_minute is None
    assert key.created_by.username == "root"
    listed = client_for(raw).get(f"{API}/templates").json()["results"]
    assert [t["slug"] for t in listed] == ["doc-qa"]


def test_admin_key_list_shows_scopes_templates_limit_and_last_use(staff, templates, settings):
    settings.CACHET = {**settings.CACHET, "DEFAULT_RATE_LIMIT": 600}
    doc_qa, _ = templates
    ApiKey.generate(name="narrow", scopes=["read", "send"], templates=[doc_qa])
    ApiKey.generate(name="wide", rate_limit_per_minute=0)
    page = staff.get(reverse("admin:templates_app_apikey_changelist")).content.decode()
    assert "read, send" in page and "doc-qa" in page
    assert "read, write, render, send" in page and "unlimited" in page
    assert "600 (default)" in page
    assert "last used" in page.lower() and "revoked" in page.lower()


# --- the data migration --------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_keys_made_before_scopes_every_scope():
    executor = MigrationExecutor(connection)
    before = [("templates_app", "0004_label_move_protected_permission")]
    latest = executor.loader.graph.leaf_nodes("templates_app")
    try:
        executor.migrate(before)
        old_model = executor.loader.project_state(before).apps.get_model("templates_app", "ApiKey")
        old_model.objects.create(name="old", prefix="cachet_abc", key_hash="0" * 64)
        executor = MigrationExecutor(connection)
        executor.migrate(latest)
    finally:
        MigrationExecutor(connection).migrate(latest)
    key = ApiKey.objects.get(name="old")
    assert key.scopes == SCOPES and key.template_slugs() == set()
    assert key.rate_limit_per_minute is None


@pytest.mark.django_db
def test_signed_in_staff_need_the_model_permissions_the_admin_would_ask_for(client):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    from tests.factories import make_template, make_version

    make_version(make_template())
    user = get_user_model().objects.create_user("viewer", password="pw", is_staff=True)
    client.force_login(user)
    assert client.get("/api/v1/templates").status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="view_template"))
    user = get_user_model().objects.get(pk=user.pk)  # drop the permission cache
    client.force_login(user)
    assert client.get("/api/v1/templates").status_code == 200
    refused = client.put(
        "/api/v1/templates/doc-qa/labels/staging", {"version": 1}, content_type="application/json"
    )
    assert refused.status_code == 403
    assert "change_template" in refused.json()["error"]["message"]
