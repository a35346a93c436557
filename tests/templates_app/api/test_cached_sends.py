"""Sends with API keys and send targets kept per process: a warm send reads neither, and
every change of them takes effect on the very next send of the process that made it."""

from __future__ import annotations

import math
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.test import APIClient

from templates_app import models, services
from templates_app.api.auth import key_authenticate
from templates_app.models import ApiKey, Template
from tests.factories import DOCUMENT, make_body, make_template, make_version

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_simulator")]

API = "/api/v1"
VARIABLES = {"document": DOCUMENT, "question": "What is the uptime?"}
# Tables authentication and resolution read (the invocation row names none of them).
READ_TABLES = ("apikey", "template", "templatealias", "label", "version", "apikey_templates")


@pytest.fixture
def doc_qa() -> Template:
    """``doc-qa`` with versions 1 (256 tokens) and 2 (128), production on 1."""
    template = make_template()
    make_version(template)
    make_version(template, body=make_body(params={"max_tokens": 128}), message="second")
    services.label_move(template=template, label="production", version=1)
    return template


@pytest.fixture
def key() -> tuple[ApiKey, APIClient]:
    key, raw = ApiKey.generate(name="sender")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return key, client


def send(client: APIClient, slug: str = "doc-qa", **fields: Any) -> Any:
    return client.post(
        f"{API}/templates/{slug}/send", {"variables": VARIABLES, **fields}, format="json"
    )


def version_of(response: Any) -> int:
    assert response.status_code == 200, response.content[:1000]
    return response.json()["version"]


def tables_read(queries: CaptureQueriesContext) -> set[str]:
    """The tables of ``READ_TABLES`` that the captured statements name."""
    return {
        table
        for query in queries.captured_queries
        for table in READ_TABLES
        if connection.ops.quote_name(f"templates_app_{table}") in query["sql"]
    }


def test_a_warm_send_reads_neither_the_key_nor_the_template(doc_qa, key, monkeypatch):
    monkeypatch.setattr(models, "EPOCH_CHECK_SECONDS", math.inf)  # counts are exact
    _, client = key
    with CaptureQueriesContext(connection) as cold:
        assert version_of(send(client)) == 1
    assert {"apikey", "template", "label", "version"} <= tables_read(cold)
    with CaptureQueriesContext(connection) as warm:
        assert version_of(send(client)) == 1
    assert tables_read(warm) == set()


def test_a_revoked_key_is_refused_on_the_next_send(doc_qa, key):
    key, client = key
    assert version_of(send(client)) == 1
    services.api_key_revoke(keys=ApiKey.objects.filter(pk=key.pk))
    response = send(client)
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "this API key has been revoked"


def test_a_scope_taken_away_applies_to_the_next_send(doc_qa, key):
    key, client = key
    assert version_of(send(client)) == 1
    key.scopes = ["read"]
    key.save()
    response = send(client)
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "this API key lacks the 'send' scope"


def test_a_key_limited_to_other_templates_gets_a_404_on_the_next_send(doc_qa, key):
    key, client = key
    assert version_of(send(client)) == 1
    key.templates.set([make_template(slug="other", name="Other")])
    response = send(client)
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "template 'doc-qa' not found"


def test_a_label_move_applies_to_the_next_send(doc_qa, key):
    _, client = key
    assert version_of(send(client)) == 1
    moved = client.put(f"{API}/templates/doc-qa/labels/production", {"version": 2}, format="json")
    assert moved.status_code == 200, moved.content
    assert version_of(send(client)) == 2


def test_a_new_version_is_the_latest_on_the_next_send(doc_qa, key):
    _, client = key
    assert version_of(send(client, label="latest")) == 2
    created = client.post(f"{API}/templates/doc-qa/versions", {"body": make_body()}, format="json")
    assert created.status_code == 201, created.content
    assert version_of(send(client, label="latest")) == 3


def test_an_alias_added_or_removed_applies_to_the_next_send(doc_qa, key):
    _, client = key
    assert send(client, slug="pmpt_qa").status_code == 404
    patched = client.patch(f"{API}/templates/doc-qa", {"aliases": ["pmpt_qa"]}, format="json")
    assert patched.status_code == 200, patched.content
    assert version_of(send(client, slug="pmpt_qa")) == 1
    client.patch(f"{API}/templates/doc-qa", {"aliases": []}, format="json")
    assert send(client, slug="pmpt_qa").status_code == 404


def test_a_key_authenticates_without_a_request_with_the_same_refusals(key):
    key, _ = key
    raw = ApiKey.generate(name="plain")[1]
    assert key_authenticate(raw).name == "plain"
    with pytest.raises(AuthenticationFailed, match="invalid API key"):
        key_authenticate("cachet_not-a-real-key")
    services.api_key_revoke(keys=ApiKey.objects.filter(name="plain"))
    with pytest.raises(AuthenticationFailed, match="this API key has been revoked"):
        key_authenticate(raw)


def test_each_caller_gets_a_copy_of_the_cached_key(key):
    raw = ApiKey.generate(name="copied")[1]
    first, second = key_authenticate(raw), key_authenticate(raw)
    assert first == second and first is not second
    first.name = "changed by a caller"
    assert key_authenticate(raw).name == "copied"


def test_a_warm_key_writes_last_used_at_once_per_resolution(key, monkeypatch):
    monkeypatch.setattr(models, "EPOCH_CHECK_SECONDS", math.inf)
    raw = ApiKey.generate(name="used")[1]
    with CaptureQueriesContext(connection) as queries:
        for _ in range(5):
            key_authenticate(raw)
    updates = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert len(updates) == 1 and "last_used_at" in updates[0]
    assert ApiKey.objects.get(name="used").last_used_at is not None
