"""The admin: pages load for staff, versions are read-only, API keys are shown once,
template aliases are edited with the same rules as in the API, the invocation list stays
cheap at millions of rows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from templates_app import services
from templates_app.admin.model_admins import CappedPaginator
from templates_app.models import ApiKey, Invocation, Template, hash_key
from tests.factories import make_invocation, make_template, make_version

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-tests")
    client.force_login(user)
    return client


def test_admin_pages_load_for_staff(staff):
    version = make_version()
    for url in [
        reverse("admin:templates_app_template_changelist"),
        reverse("admin:templates_app_template_change", args=[version.template.pk]),
        reverse("admin:templates_app_version_changelist"),
        reverse("admin:templates_app_version_change", args=[version.pk]),
        reverse("admin:templates_app_labelmove_changelist"),
        reverse("admin:templates_app_apikey_changelist"),
        reverse("admin:templates_app_apikey_add"),
        reverse("admin:templates_app_invocation_changelist"),
    ]:
        assert staff.get(url).status_code == 200, url


def test_versions_cannot_be_added_changed_or_deleted_in_the_admin(staff):
    version = make_version()
    page = staff.get(reverse("admin:templates_app_version_change", args=[version.pk]))
    assert b'name="_save"' not in page.content
    post = staff.post(
        reverse("admin:templates_app_version_change", args=[version.pk]), {"message": "edited"}
    )
    assert post.status_code == 403
    assert staff.get(reverse("admin:templates_app_version_add")).status_code == 403
    delete = reverse("admin:templates_app_version_delete", args=[version.pk])
    assert staff.post(delete, {"post": "yes"}).status_code == 403
    version.refresh_from_db()
    assert version.message == "first"


def test_creating_an_api_key_in_the_admin_shows_it_once(staff):
    response = staff.post(reverse("admin:templates_app_apikey_add"), {"name": "ci"}, follow=True)
    [message] = [str(m) for m in response.context["messages"] if "copy it now" in str(m)]
    raw = message.split("'ci': ")[1].split(" ")[0]
    assert ApiKey.objects.get(name="ci").key_hash == hash_key(raw)
    listing = staff.get(reverse("admin:templates_app_apikey_changelist"))
    assert raw.encode() not in listing.content


def test_revoke_action_revokes_at_once(staff):
    key, _ = ApiKey.generate(name="old")
    staff.post(
        reverse("admin:templates_app_apikey_changelist"),
        {"action": "revoke", "_selected_action": [key.pk]},
    )
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_a_new_key_shown_once_never_travels_in_a_cookie(staff):
    response = staff.post(reverse("admin:templates_app_apikey_add"), {"name": "cookie-check"})
    assert "messages" not in response.cookies


# --- template aliases ----------------------------------------------------------------------


def template_form(slug="doc-qa", aliases=(), existing=(), **fields):
    """The template add/change form's POST data: its fields, then the aliases inline
    (``existing``: (id, alias, delete) of stored aliases, then new ``aliases``)."""
    data = {
        "slug": slug,
        "name": "Document Q&A",
        "description": "",
        "sample_variables": "{}",
        "aliases-TOTAL_FORMS": str(len(existing) + len(aliases)),
        "aliases-INITIAL_FORMS": str(len(existing)),
        "aliases-MIN_NUM_FORMS": "0",
        "aliases-MAX_NUM_FORMS": "1000",
        **fields,
    }
    for n, (pk, alias, delete) in enumerate(existing):
        data[f"aliases-{n}-id"] = str(pk)
        data[f"aliases-{n}-alias"] = alias
        if delete:
            data[f"aliases-{n}-DELETE"] = "on"
    for n, alias in enumerate(aliases, start=len(existing)):
        data[f"aliases-{n}-alias"] = alias
    return data


def aliases_of(template) -> list[str]:
    return list(template.aliases.values_list("alias", flat=True))


def alias_errors(response) -> list[str]:
    """Every error of the aliases inline, as text."""
    [formset] = response.context["inline_admin_formsets"]
    errors = [
        str(e) for form_errors in formset.formset.errors for e in form_errors.get("alias", [])
    ]
    return errors + [str(e) for e in formset.formset.non_form_errors()]


def test_a_template_is_added_in_the_admin_with_its_aliases(staff):
    response = staff.post(
        reverse("admin:templates_app_template_add"),
        template_form(aliases=["pmpt_68b1f0c2a9e4819d8f3e5a7b6c4d2e10", "triage"]),
    )
    assert response.status_code == 302, response.content[:3000]
    template = Template.objects.get(slug="doc-qa")
    assert aliases_of(template) == ["pmpt_68b1f0c2a9e4819d8f3e5a7b6c4d2e10", "triage"]


def test_the_change_page_shows_and_edits_the_aliases(staff):
    template = make_version().template
    services.template_aliases_set(template=template, aliases=["old-one", "kept"])
    url = reverse("admin:templates_app_template_change", args=[template.pk])
    page = staff.get(url)
    assert page.status_code == 200
    assert b'name="aliases-TOTAL_FORMS"' in page.content and b'value="old-one"' in page.content
    stored = {a.alias: a.pk for a in template.aliases.all()}
    response = staff.post(
        url,
        template_form(
            existing=[(stored["kept"], "kept", False), (stored["old-one"], "old-one", True)],
            aliases=["new-one"],
        ),
    )
    assert response.status_code == 302, response.content[:3000]
    assert aliases_of(template) == ["kept", "new-one"]


def test_the_templates_list_shows_aliases_and_finds_a_template_by_one(staff):
    services.template_aliases_set(
        template=make_template(slug="support-triage"), aliases=["pmpt_x", "triage"]
    )
    make_template(slug="other")
    url = reverse("admin:templates_app_template_changelist")
    listing = staff.get(url)
    assert b"pmpt_x, triage" in listing.content
    found = staff.get(url, {"q": "pmpt_x"})
    assert [t.slug for t in found.context["cl"].result_list] == ["support-triage"]


@pytest.mark.parametrize(
    ("aliases", "expected"),
    [
        (["pmpt_x"], "alias 'pmpt_x' is already used by template 'support-triage'"),
        (["support-triage"], "alias 'support-triage' is the slug of template 'support-triage'"),
        (["doc-qa"], "alias 'doc-qa' is the slug of template 'doc-qa'"),
        (["pmpt.x"], "up to 200 letters, digits, _ and -"),
        (["twice", "twice"], "Please correct the duplicate data for alias"),
    ],
    ids=["another-templates-alias", "another-slug", "its-own-slug", "bad-format", "twice"],
)
def test_the_admin_refuses_the_aliases_the_api_refuses(staff, aliases, expected):
    services.template_aliases_set(template=make_template(slug="support-triage"), aliases=["pmpt_x"])
    doc_qa = make_template(slug="doc-qa")
    for url, slug in [
        (reverse("admin:templates_app_template_add"), "new-one"),
        (reverse("admin:templates_app_template_change", args=[doc_qa.pk]), "doc-qa"),
    ]:
        response = staff.post(url, template_form(slug=slug, aliases=aliases))
        assert response.status_code == 200, url
        assert any(expected in error for error in alias_errors(response)), alias_errors(response)
    assert aliases_of(doc_qa) == []
    assert not Template.objects.filter(slug="new-one").exists()


def test_the_admin_refuses_an_alias_equal_to_the_slug_being_added_with_it(staff):
    response = staff.post(
        reverse("admin:templates_app_template_add"),
        template_form(slug="new-one", aliases=["fine", "new-one"]),
    )
    assert response.status_code == 200
    assert alias_errors(response) == ["alias 'new-one' is the slug of template 'new-one'"]
    assert not Template.objects.filter(slug="new-one").exists()


def test_the_admin_refuses_a_slug_that_is_an_alias(staff):
    services.template_aliases_set(template=make_template(slug="support-triage"), aliases=["triage"])
    response = staff.post(reverse("admin:templates_app_template_add"), template_form(slug="triage"))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["slug"] == [
        "slug 'triage' is already an alias of template 'support-triage'"
    ]
    assert not Template.objects.filter(slug="triage").exists()


# --- the invocation list at scale -------------------------------------------------------------


def invocation_queries(staff, params: dict | None = None) -> tuple[Any, list[str]]:
    """The changelist's response and the SQL it ran against the invocation table."""
    table = connection.ops.quote_name(Invocation._meta.db_table)
    with CaptureQueriesContext(connection) as queries:
        response = staff.get(reverse("admin:templates_app_invocation_changelist"), params or {})
    return response, [q["sql"] for q in queries.captured_queries if table in q["sql"]]


@pytest.fixture
def logged(staff):
    version = make_version()
    Invocation.objects.bulk_create(
        [make_invocation(version, model=f"sim/model-{n % 3}", label="production") for n in range(7)]
    )
    return version


def test_the_invocation_list_never_counts_the_whole_log_nor_asks_it_for_distinct_values(
    staff, logged
):
    for params in ({}, {"template__id__exact": logged.template_id}, {"model": "sim/model-1"}):
        response, sql = invocation_queries(staff, params)
        assert response.status_code == 200
        assert [q for q in sql if "DISTINCT" in q.upper()] == []
        # The one count is bounded by a LIMIT inside it.
        assert [q for q in sql if "COUNT(" in q.upper() and "LIMIT" not in q.upper()] == []


def test_the_model_provider_and_label_filters_offer_what_the_rollups_hold(staff, logged):
    response, _ = invocation_queries(staff)
    choices = {title: {c["display"] for c in spec.choices(response.context["cl"])} for title, spec in
               [(s.title, s) for s in response.context["cl"].filter_specs]}  # fmt: skip
    assert {"sim/model-0", "sim/model-1", "sim/model-2"} <= choices["model"]
    assert "production" in choices["label"] and "sim" in choices["provider"]
    filtered, _ = invocation_queries(staff, {"model": "sim/model-1"})
    assert filtered.context["cl"].result_count == 2


def test_the_logged_within_filter_narrows_the_list_to_recent_rows(staff, logged):
    Invocation.objects.filter(pk__in=Invocation.objects.values("pk")[:3]).update(
        created_at=timezone.now() - timedelta(days=3)
    )
    response, _ = invocation_queries(staff, {"within": "24h"})
    assert response.context["cl"].result_count == 4


def test_past_the_cap_the_list_says_more_than_and_stops_counting(staff, logged, monkeypatch):
    monkeypatch.setattr(CappedPaginator, "cap", 5)
    response, _ = invocation_queries(staff)
    assert response.context["cl"].result_count == 5
    assert b"more than 5 invocations" in response.content


def test_the_list_reads_none_of_the_heavy_columns(staff, logged):
    _, sql = invocation_queries(staff)
    [listed] = [q for q in sql if "ORDER BY" in q.upper() and "COUNT(" not in q.upper()]
    for heavy in ("variables", "output_text", "block_hashes", "usage_raw", "checkpoints", '"body"'):
        assert heavy not in listed


def test_the_filters_offer_the_values_of_recent_rollups_and_the_one_chosen(staff, logged):
    Invocation.objects.bulk_create(
        [
            make_invocation(
                logged, model="sim/retired", created_at=timezone.now() - timedelta(days=200)
            )
        ]
    )

    def offered(params: dict) -> set[str]:
        response, _ = invocation_queries(staff, params)
        [spec] = [s for s in response.context["cl"].filter_specs if s.title == "model"]
        return {c["display"] for c in spec.choices(response.context["cl"])}

    assert "sim/retired" not in offered({})
    assert "sim/retired" in offered({"model": "sim/retired"})
