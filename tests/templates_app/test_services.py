"""Writes: a template's aliases, set whole, unique across templates and never a slug."""

from __future__ import annotations

import pytest

from templates_app import services
from templates_app.engine.errors import CachetError, ConflictError
from templates_app.models import Template, TemplateAlias
from tests.factories import make_template

pytestmark = pytest.mark.django_db

OPENAI_ID = "pmpt_68b1f0c2a9e4819d8f3e5a7b6c4d2e10"


def aliases_of(template: Template) -> list[str]:
    return list(template.aliases.values_list("alias", flat=True))


def refusal(**kwargs) -> tuple[str, object]:
    with pytest.raises(CachetError) as raised:
        services.template_aliases_set(**kwargs)
    assert type(raised.value) is CachetError and raised.value.status_code == 400
    return str(raised.value), raised.value.details


def test_setting_aliases_stores_them_and_answers_them_sorted():
    template = make_template(slug="support-triage")
    assert services.template_aliases_set(template=template, aliases=[OPENAI_ID, "triage"]) == [
        OPENAI_ID,
        "triage",
    ]
    assert aliases_of(template) == [OPENAI_ID, "triage"]


def test_setting_aliases_replaces_the_whole_set():
    template = make_template()
    services.template_aliases_set(template=template, aliases=["old-one", "kept"])
    services.template_aliases_set(template=template, aliases=["kept", "new-one"])
    assert aliases_of(template) == ["kept", "new-one"]
    services.template_aliases_set(template=template, aliases=[])
    assert aliases_of(template) == []


def test_an_alias_of_another_template_is_refused_naming_that_template():
    services.template_aliases_set(template=make_template(slug="support-triage"), aliases=["pmpt_x"])
    other = make_template(slug="other")
    message, details = refusal(template=other, aliases=["fine", "pmpt_x"])
    assert message == "alias 'pmpt_x' is already used by template 'support-triage'"
    assert details == {"alias": "pmpt_x"}
    assert aliases_of(other) == []


def test_an_alias_equal_to_a_slug_is_refused_its_own_included():
    make_template(slug="support-triage")
    doc_qa = make_template(slug="doc-qa")
    message, _ = refusal(template=doc_qa, aliases=["support-triage"])
    assert message == "alias 'support-triage' is the slug of template 'support-triage'"
    message, _ = refusal(template=doc_qa, aliases=["doc-qa"])
    assert message == "alias 'doc-qa' is the slug of template 'doc-qa'"


def test_a_malformed_alias_is_refused_naming_it():
    message, details = refusal(template=make_template(), aliases=["ok", "not ok"])
    assert message.startswith("alias 'not ok' is not valid")
    assert details == {"alias": "not ok"}


def test_an_alias_listed_twice_is_refused():
    message, _ = refusal(template=make_template(), aliases=["a", "b", "a"])
    assert message == "alias 'a' is listed twice"


def test_a_refused_set_leaves_the_old_one():
    template = make_template()
    services.template_aliases_set(template=template, aliases=["before"])
    refusal(template=template, aliases=["after", "after"])
    assert aliases_of(template) == ["before"]


def test_a_template_is_created_with_its_aliases():
    template = services.template_create(slug="support-triage", name="Triage", aliases=[OPENAI_ID])
    assert aliases_of(template) == [OPENAI_ID]


def test_a_template_whose_alias_is_refused_is_not_created():
    make_template(slug="taken")
    with pytest.raises(CachetError, match="alias 'taken' is the slug of template 'taken'"):
        services.template_create(slug="fresh", name="Fresh", aliases=["taken"])
    with pytest.raises(CachetError, match="alias 'same' is the slug of template 'same'"):
        services.template_create(slug="same", name="Same", aliases=["same"])
    assert not Template.objects.filter(slug__in=["fresh", "same"]).exists()
    assert not TemplateAlias.objects.exists()


def test_a_template_whose_slug_is_an_alias_is_a_conflict():
    services.template_aliases_set(template=make_template(slug="support-triage"), aliases=["triage"])
    with pytest.raises(ConflictError) as raised:
        services.template_create(slug="triage", name="Triage")
    assert str(raised.value) == "slug 'triage' is already an alias of template 'support-triage'"
    assert raised.value.status_code == 409
    assert not Template.objects.filter(slug="triage").exists()


def test_updating_a_template_replaces_its_aliases_only_when_given():
    template = make_template()
    services.template_update(template=template, aliases=["first"])
    services.template_update(template=template, name="Renamed")
    assert aliases_of(template) == ["first"]
    services.template_update(template=template, aliases=["second"], description="New.")
    template.refresh_from_db()
    assert (template.name, template.description, aliases_of(template)) == (
        "Renamed",
        "New.",
        ["second"],
    )
