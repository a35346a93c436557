"""Stored data: immutable versions, safe numbering, label history, API keys, aliases."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, connection, connections, transaction

from templates_app import services
from templates_app.engine.canonical import content_hash
from templates_app.engine.rendering import compile_body, render
from templates_app.models import (
    ApiKey,
    ImmutableVersionError,
    Template,
    TemplateAlias,
    Version,
    alias_list_problem,
    alias_problem,
    hash_key,
)
from tests.factories import make_body, make_template, make_version

pytestmark = pytest.mark.django_db

# The fingerprint and content hash of make_body() with GOLDEN_VALUES. Every process,
# hash seed and database must agree on them; they change only if the canonical
# serialization itself changes, which would invalidate every stored fingerprint.
GOLDEN_VALUES = {"document": "Clause 1.\nClause 2.\n", "question": "Uptime?"}
GOLDEN_HASH = "sha256:5cb6e5fec484a81ea4e5e568210d3896b6e8d92e9dcf086846f60ec8cfc1c9c4"
GOLDEN_FINGERPRINT = "sha256:0afa33b7cd9d443e75b1a24f7f63b1d88ac726fd9bbaeee1e8de918184fc668a"


def test_stored_version_cannot_be_saved_again():
    version = make_version()
    version.message = "edited"
    with pytest.raises(ImmutableVersionError):
        version.save()


def test_stored_version_cannot_be_deleted():
    version = make_version()
    with pytest.raises(ImmutableVersionError):
        version.delete()
    with pytest.raises(ImmutableVersionError):
        Version.objects.filter(pk=version.pk).delete()


def test_queryset_update_of_versions_is_refused():
    version = make_version()
    with pytest.raises(ImmutableVersionError):
        Version.objects.filter(pk=version.pk).update(message="edited")


def test_the_database_itself_refuses_to_update_a_version():
    version = make_version()
    table = Version._meta.db_table
    with (
        pytest.raises(DatabaseError, match="immutable"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(f"UPDATE {table} SET message = %s WHERE id = %s", ["x", version.pk])
    stored = Version.objects.get(pk=version.pk)
    assert stored.message == "first"


def test_versions_are_numbered_from_one_per_template():
    first = make_template(slug="one")
    second = make_template(slug="two")
    numbers = [make_version(first).number, make_version(first).number, make_version(second).number]
    assert numbers == [1, 2, 1]


def test_stored_body_keeps_authored_key_order_and_hash():
    body = make_body()
    body["tools"] = [
        {
            "type": "function",
            "function": {
                "name": "z",
                "parameters": {"type": "object", "properties": {"zeta": {}, "alpha": {}}},
            },
        }
    ]
    version = make_version(body=body)
    stored = Version.objects.get(pk=version.pk)
    properties = stored.body_data["tools"][0]["function"]["parameters"]["properties"]
    assert list(properties) == ["zeta", "alpha"]
    assert content_hash(stored.body) == stored.content_hash


def test_every_database_agrees_on_the_golden_fingerprint():
    version = make_version(body=make_body())
    stored = Version.objects.get(pk=version.pk)  # read back through this database
    assert content_hash(stored.body) == stored.content_hash == GOLDEN_HASH
    result = render(compile_body(stored.body_data), GOLDEN_VALUES)
    assert result.checkpoints[0].fingerprint == GOLDEN_FINGERPRINT


@pytest.mark.django_db(transaction=True)
def test_fifty_parallel_version_creations_get_exactly_one_to_fifty():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL): SQLite serializes writers itself")
    template = make_template()
    barrier = threading.Barrier(50)
    errors: list[BaseException] = []

    def create(n: int) -> None:
        try:
            barrier.wait(timeout=30)
            services.version_create(template=template, body=make_body(), message=f"#{n}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=create, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    numbers = sorted(Version.objects.filter(template=template).values_list("number", flat=True))
    assert numbers == list(range(1, 51))
    assert Template.objects.get(pk=template.pk).version_count == 50


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_label_moves_leave_a_complete_ordered_history():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")
    template = make_template()
    for _ in range(20):
        make_version(template)
    barrier = threading.Barrier(20)
    errors: list[BaseException] = []

    def move(number: int) -> None:
        try:
            barrier.wait(timeout=30)
            services.label_move(
                template=template, label="production", version=number, moved_by=f"user{number}"
            )
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=move, args=(n,)) for n in range(1, 21)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    label = template.labels.get(name="production")
    moves = list(label.moves.order_by("moved_at", "id"))
    assert len(moves) == 20
    assert moves[0].from_version is None
    for before, after in zip(moves, moves[1:], strict=False):
        assert after.from_version_id == before.to_version_id  # an unbroken chain
    assert label.version_id == moves[-1].to_version_id


def test_label_moves_are_recorded_and_rollback_is_a_move_back():
    template = make_template()
    one, two = make_version(template), make_version(template)
    services.label_move(template=template, label="production", version=1, moved_by="alice")
    services.label_move(template=template, label="production", version=2, moved_by="bob")
    label = services.label_move(template=template, label="production", version=1, moved_by="carol")
    assert label.version == one
    history = [(m.from_version, m.to_version, m.moved_by) for m in label.moves.all()]
    assert history == [(two, one, "carol"), (one, two, "bob"), (None, one, "alice")]


def test_moving_a_label_to_where_it_is_records_nothing():
    template = make_template()
    make_version(template)
    services.label_move(template=template, label="staging", version=1)
    label = services.label_move(template=template, label="staging", version=1)
    assert label.moves.count() == 1


def test_api_keys_are_stored_hashed():
    key, raw = ApiKey.generate(name="bot")
    assert raw.startswith("cachet_") and len(raw) > 40
    stored = ApiKey.objects.get(pk=key.pk)
    assert stored.key_hash == hash_key(raw) != raw
    assert raw not in {stored.name, stored.prefix, stored.key_hash}
    assert raw.startswith(stored.prefix)


# --- aliases -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "alias",
    ["pmpt_68b1f0c2a9e4819d8f3e5a7b6c4d2e10", "Support-Triage", "v2", "a" * 200, "x_-_y"],
)
def test_an_alias_may_be_letters_digits_underscores_and_dashes(alias):
    assert alias_problem(alias) is None
    TemplateAlias(template=make_template(), alias=alias).full_clean()


@pytest.mark.parametrize(
    "alias",
    ["", "a" * 201, "pmpt 1", "pmpt.1", "pmpt/1", "pmpt_1\n", "ünïcode", "a\x00b"],
    ids=["empty", "too-long", "space", "dot", "slash", "newline", "non-ascii", "nul"],
)
def test_a_malformed_alias_is_refused_by_the_rule_and_the_model(alias):
    assert alias_problem(alias).startswith(f"alias '{alias[:80]}' is not valid: up to 200")
    with pytest.raises(ValidationError) as raised:
        TemplateAlias(template=make_template(), alias=alias).full_clean()
    assert "alias" in raised.value.message_dict


def test_an_alias_list_names_the_first_malformed_or_repeated_alias():
    assert alias_list_problem(["a", "b"]) is None
    assert alias_list_problem(["a", "b", "a"]) == ("a", "alias 'a' is listed twice")
    assert alias_list_problem(["ok", "not ok"])[0] == "not ok"


def test_an_alias_held_by_another_template_or_equal_to_a_slug_fails_model_validation():
    support = make_template(slug="support-triage")
    services.template_aliases_set(template=support, aliases=["pmpt_x"])
    other = make_template(slug="other")
    with pytest.raises(ValidationError) as raised:
        TemplateAlias(template=other, alias="pmpt_x").full_clean()
    assert raised.value.message_dict == {
        "alias": ["alias 'pmpt_x' is already used by template 'support-triage'"]
    }
    with pytest.raises(ValidationError) as raised:
        TemplateAlias(template=other, alias="support-triage").full_clean()
    assert raised.value.message_dict == {
        "alias": ["alias 'support-triage' is the slug of template 'support-triage'"]
    }


def test_a_template_whose_slug_is_an_alias_fails_model_validation():
    support = make_template(slug="support-triage")
    services.template_aliases_set(template=support, aliases=["triage"])
    with pytest.raises(ValidationError) as raised:
        Template(slug="triage", name="Triage").full_clean()
    assert raised.value.message_dict == {
        "slug": ["slug 'triage' is already an alias of template 'support-triage'"]
    }


def test_the_database_refuses_one_alias_on_two_templates():
    TemplateAlias.objects.create(template=make_template(slug="one"), alias="shared")
    with pytest.raises(IntegrityError), transaction.atomic():
        TemplateAlias.objects.create(template=make_template(slug="two"), alias="shared")
