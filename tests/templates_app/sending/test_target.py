"""The send path's version resolution: the answers and errors of ``version_resolve``."""

from __future__ import annotations

import contextlib
import itertools
import math

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from templates_app import models, services
from templates_app.engine import rendering
from templates_app.engine.errors import CachetError
from templates_app.selectors import template_get, version_compiled, version_resolve
from templates_app.sending.target import send_target
from tests.factories import make_body, make_template, make_version

pytestmark = pytest.mark.django_db

ALIAS = "pmpt_68b1f0c2a9e4819d8f3e5a7b6c4d2e10"
SLUGS = ["doc-qa", ALIAS, "drafts", "empty-v0", "empty", "missing"]
VERSIONS = [None, 1, 2, 3, 4]
LABELS = [None, "production", "staging", "latest", "missing", ""]


def outcome_of(resolve, slug, version, label):
    """What a resolution answered, comparable across the two implementations."""
    try:
        template, found, through = resolve(slug, version, label)
    except CachetError as error:
        return type(error), error.status_code, error.type, str(error)
    return template.pk, template.slug, found.pk, found.number, found.template_id, through


def by_selectors(slug, version, label):
    template = template_get(slug=slug)
    found, through = version_resolve(template=template, version=version, label=label)
    return template, found, through


def by_send_target(slug, version, label):
    return send_target(slug=slug, version=version, label=label)


@pytest.fixture
def templates():
    """doc-qa (alias ALIAS): v1-v3, production -> v2, staging -> v1. drafts: v1-v2,
    staging -> v2, no production. empty (alias empty-v0): no versions."""
    doc_qa = make_template(slug="doc-qa")
    for n in range(3):
        make_version(doc_qa, message=f"v{n + 1}")
    services.label_move(template=doc_qa, label="production", version=2, moved_by="alice")
    services.label_move(template=doc_qa, label="staging", version=1, moved_by="alice")
    drafts = make_template(slug="drafts")
    for n in range(2):
        make_version(drafts, message=f"v{n + 1}")
    services.label_move(template=drafts, label="staging", version=2, moved_by="alice")
    services.template_aliases_set(template=doc_qa, aliases=[ALIAS])
    services.template_aliases_set(template=make_template(slug="empty"), aliases=["empty-v0"])
    return doc_qa, drafts


def test_every_choice_of_version_and_label_answers_as_version_resolve_does(templates):
    mismatches = []
    for slug, version, label in itertools.product(SLUGS, VERSIONS, LABELS):
        expected = outcome_of(by_selectors, slug, version, label)
        got = outcome_of(by_send_target, slug, version, label)
        if got != expected:
            mismatches.append(((slug, version, label), expected, got))
    assert mismatches == []


@pytest.mark.parametrize(
    ("slug", "version", "label", "expected"),
    [
        ("missing", None, None, "template 'missing' not found"),
        ("doc-qa", 4, None, "template 'doc-qa' has no version 4"),
        ("doc-qa", None, "canary", "template 'doc-qa' has no label 'canary'"),
        ("empty", None, None, "template 'empty' has no versions yet"),
        ("empty", None, "latest", "template 'empty' has no versions yet"),
    ],
)
def test_what_cannot_be_found_is_a_not_found_error_naming_it(
    templates, slug, version, label, expected
):
    with pytest.raises(CachetError) as raised:
        send_target(slug=slug, version=version, label=label)
    assert (raised.value.status_code, raised.value.type, str(raised.value)) == (
        404,
        "not_found",
        expected,
    )


@pytest.mark.parametrize(
    ("slug", "version", "label", "number", "through"),
    [
        ("doc-qa", None, None, 2, "production"),
        ("doc-qa", 3, None, 3, None),
        ("doc-qa", None, "staging", 1, "staging"),
        ("doc-qa", None, "latest", 3, "latest"),
        ("drafts", None, None, 2, "latest"),
    ],
)
def test_the_version_and_the_label_a_send_goes_through(
    templates, slug, version, label, number, through
):
    template, found, via = send_target(slug=slug, version=version, label=label)
    assert (template.slug, found.number, via) == (slug, number, through)
    assert found.template_id == template.pk


@pytest.mark.parametrize(
    ("version", "label", "number", "through"),
    [(None, None, 2, "production"), (3, None, 3, None), (None, "staging", 1, "staging")],
)
def test_an_alias_resolves_as_the_slug_and_the_template_keeps_its_slug(
    templates, version, label, number, through
):
    doc_qa, _ = templates
    template, found, via = send_target(slug=ALIAS, version=version, label=label)
    assert (template.pk, template.slug, found.number, via) == (doc_qa.pk, "doc-qa", number, through)


def test_what_an_alias_cannot_find_is_named_by_the_slug(templates):
    with pytest.raises(CachetError, match="template 'doc-qa' has no version 4"):
        send_target(slug=ALIAS, version=4)
    with pytest.raises(CachetError, match="template 'empty' has no versions yet"):
        send_target(slug="empty-v0")


def test_version_and_label_together_are_refused(templates):
    with pytest.raises(CachetError) as raised:
        send_target(slug="doc-qa", version=1, label="staging")
    assert type(raised.value) is CachetError
    assert str(raised.value) == "give either 'version' or 'label', not both"


def test_a_label_move_takes_effect_on_the_very_next_call(templates):
    doc_qa, drafts = templates
    assert send_target(slug="doc-qa")[1].number == 2
    services.label_move(template=doc_qa, label="production", version=3, moved_by="bob")
    assert send_target(slug="doc-qa")[1].number == 3
    services.label_move(template=doc_qa, label="staging", version=2, moved_by="bob")
    assert send_target(slug="doc-qa", label="staging")[1].number == 2
    # A first production label replaces "the latest version" as the default at once.
    services.label_move(template=drafts, label="production", version=1, moved_by="bob")
    assert send_target(slug="drafts")[1:] == (drafts.versions.get(number=1), "production")


def test_a_new_version_is_the_latest_on_the_very_next_call(templates):
    _, drafts = templates
    assert send_target(slug="drafts", label="latest")[1].number == 2
    make_version(drafts, message="v3")
    assert send_target(slug="drafts", label="latest")[1].number == 3


def test_the_version_comes_without_its_body_yet_compiles(templates):
    body = make_body(params={"max_tokens": 77, "temperature": 0})
    stored = make_version(make_template(slug="deferred"), body=body)
    _, version, _ = send_target(slug="deferred")
    assert version.get_deferred_fields() == {"body", "lint"}
    assert version.content_hash == stored.content_hash
    # Not compiled yet in this process: the body must be loaded on demand.
    with rendering._cache_lock:
        rendering._cache.pop(stored.content_hash, None)
    compiled = version_compiled(version=version)
    assert compiled.content_hash == stored.content_hash
    assert compiled.body.data["params"]["max_tokens"] == 77


@pytest.fixture
def epoch_asked_once(monkeypatch):
    """The shared epoch is asked once, not every half second: query counts are exact."""
    monkeypatch.setattr(models, "EPOCH_CHECK_SECONDS", math.inf)


@pytest.mark.parametrize("name", ["doc-qa", ALIAS])
def test_a_repeated_resolve_reads_nothing_and_gives_a_copy_of_its_own(
    templates, epoch_asked_once, django_assert_num_queries, name
):
    _, first, _ = send_target(slug=name, version=3)
    with django_assert_num_queries(0):
        template, again, _ = send_target(slug=name, version=3)
    assert again.pk == first.pk
    assert again is not first  # the cached version is shared; callers get copies
    assert again.template is template and first.template is not template


@pytest.mark.parametrize("name", ["doc-qa", ALIAS, "missing"])
def test_a_slug_or_an_alias_is_resolved_in_the_one_statement_with_the_versions(
    templates, epoch_asked_once, name
):
    send_target(slug="doc-qa", label="latest")  # the version is cached from here on
    models.caches_forget()  # but not the statement's row
    # "missing" is not found, in the one statement too.
    with CaptureQueriesContext(connection) as queries, contextlib.suppress(CachetError):
        send_target(slug=name, label="latest")
    [statement] = [query["sql"] for query in queries.captured_queries]
    assert "templatealias" in statement and "version" in statement


def test_a_version_id_reused_after_a_rollback_is_not_served_from_the_cache(templates):
    template = make_template(slug="reused")
    make_version(template)

    class Rollback(Exception):
        pass

    with pytest.raises(Rollback), transaction.atomic():
        doomed = make_version(template, body=make_body(params={"max_tokens": 11}))
        assert send_target(slug="reused", version=2)[1].content_hash == doomed.content_hash
        raise Rollback
    replacement = make_version(template, body=make_body(params={"max_tokens": 22}))
    # SQLite hands the rolled-back id out again; PostgreSQL's sequences do not go back.
    assert replacement.pk == doomed.pk or connection.vendor == "postgresql"
    _, found, _ = send_target(slug="reused", version=2)
    assert found.pk == replacement.pk
    assert found.content_hash == replacement.content_hash != doomed.content_hash
