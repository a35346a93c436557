"""What the send path keeps per process, and the shared epoch that tells every process
when it changed (``models.ProcessCache``, ``CacheEpoch``, ``caches_invalidate``)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse

from templates_app import models, services
from templates_app.models import ApiKey, CacheEpoch, ProcessCache, Template, TemplateAlias
from tests.factories import make_template, make_version

pytestmark = pytest.mark.django_db


class Clock:
    """``time.monotonic`` for the process epoch, moved by hand."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(models.time, "monotonic", fake)
    monkeypatch.setattr(models, "_epoch", models._ProcessEpoch())
    return fake


class Reads:
    """A read that counts how often it ran and answers with that count."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> int:
        self.count += 1
        return self.count


def test_an_entry_is_read_once_and_then_served_from_memory(clock):
    cache, read = ProcessCache(limit=10), Reads()
    assert [cache.fetch("k", read) for _ in range(3)] == [1, 1, 1]
    assert read.count == 1


def test_forgetting_makes_the_next_fetch_read_again(clock):
    cache, read = ProcessCache(limit=10), Reads()
    cache.fetch("k", read)
    models.caches_forget()
    assert cache.fetch("k", read) == 2


def test_a_row_read_while_a_write_commits_is_not_kept(clock):
    cache, read = ProcessCache(limit=10), Reads()

    def read_then_a_write_commits() -> int:
        value = read()
        models.caches_forget()  # the write's on-commit bump, between the read and the keep
        return value

    assert cache.fetch("k", read_then_a_write_commits) == 1
    assert cache.fetch("k", read) == 2  # the stale row was dropped, not stamped as current


def test_what_is_read_inside_a_transaction_is_not_kept(clock):
    cache, read = ProcessCache(limit=10), Reads()
    with transaction.atomic():
        assert cache.fetch("k", read) == 1  # may be rolled back: never kept
    assert cache.fetch("k", read) == 2
    assert cache.fetch("k", read) == 2


def test_a_failed_read_keeps_nothing_and_raises(clock):
    cache, read = ProcessCache(limit=10), Reads()

    def fails() -> int:
        raise LookupError("not there")

    with pytest.raises(LookupError):
        cache.fetch("k", fails)
    assert cache.fetch("k", read) == 1


def test_a_full_cache_starts_again_rather_than_growing(clock):
    cache = ProcessCache(limit=2)
    for key in "abc":
        cache.fetch(key, Reads())
    assert len(cache._entries) == 1


def test_another_process_bump_is_seen_once_the_check_interval_has_passed(clock):
    cache, read = ProcessCache(limit=10), Reads()
    cache.fetch("k", read)
    CacheEpoch.bump()  # as another process does: this one is not told
    clock.now += models.EPOCH_CHECK_SECONDS / 2
    assert cache.fetch("k", read) == 1  # asked the epoch less than the interval ago
    clock.now += models.EPOCH_CHECK_SECONDS / 2
    assert cache.fetch("k", read) == 2
    assert models.EPOCH_CHECK_SECONDS * 2 <= models.CACHE_BOUND_SECONDS


def test_the_epoch_is_asked_at_most_once_per_interval(clock, django_assert_num_queries):
    cache = ProcessCache(limit=10)
    cache.fetch("k", Reads())
    with django_assert_num_queries(0):
        for _ in range(100):
            cache.fetch("k", Reads())
    clock.now += models.EPOCH_CHECK_SECONDS
    with django_assert_num_queries(1):  # the epoch, unchanged: the entry stays
        assert cache.fetch("k", Reads()) == 1


def test_no_entry_outlives_the_maximum_age_even_without_a_bump(clock):
    cache, read = ProcessCache(limit=10), Reads()
    cache.fetch("k", read)
    clock.now += models.CACHE_MAX_AGE_SECONDS - models.EPOCH_CHECK_SECONDS
    assert cache.fetch("k", read) == 1  # the epoch was asked, and had not changed
    clock.now += models.EPOCH_CHECK_SECONDS
    assert cache.fetch("k", read) == 2


def test_the_shared_epoch_counts_bumps_from_zero():
    CacheEpoch.objects.all().delete()  # as a flushed database has it
    assert CacheEpoch.read() == 0
    CacheEpoch.bump()
    CacheEpoch.bump()
    assert CacheEpoch.read() == 2


def test_the_shared_epoch_is_bumped_only_when_the_transaction_commits(
    clock, django_capture_on_commit_callbacks
):
    cache, read = ProcessCache(limit=10), Reads()
    cache.fetch("k", read)
    before = CacheEpoch.read()
    with django_capture_on_commit_callbacks(execute=True):
        models.caches_invalidate()
        assert CacheEpoch.read() == before  # not before the write is visible to others
        assert cache.fetch("k", read) == 2  # this process forgets at once
    assert CacheEpoch.read() == before + 1


WRITES = {
    "a new template": lambda t, k: make_template(slug="another"),
    "a template edit": lambda t, k: services.template_update(template=t, name="Renamed"),
    "a template deleted": lambda t, k: Template.objects.filter(slug="empty").delete(),
    "a new version": lambda t, k: make_version(t),
    "a label move": lambda t, k: services.label_move(template=t, label="production", version=1),
    "aliases set": lambda t, k: services.template_aliases_set(template=t, aliases=["pmpt_x"]),
    "an alias added": lambda t, k: TemplateAlias.objects.create(template=t, alias="pmpt_y"),
    "an alias deleted": lambda t, k: TemplateAlias.objects.filter(alias="pmpt_old").delete(),
    "a key revoked": lambda t, k: services.api_key_revoke(keys=ApiKey.objects.filter(pk=k.pk)),
    "a key saved": lambda t, k: k.save(),
    "a key's templates": lambda t, k: k.templates.set([t]),
    "a key's templates cleared": lambda t, k: k.templates.clear(),
    "a key deleted": lambda t, k: k.delete(),
}


@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
def test_every_write_of_a_cached_fact_bumps_the_shared_epoch_on_commit(
    write, django_capture_on_commit_callbacks
):
    template = make_template()
    make_version(template)
    empty = make_template(slug="empty")
    TemplateAlias.objects.create(template=template, alias="pmpt_old")
    key, _ = ApiKey.generate(name="k", templates=[empty])
    before = CacheEpoch.read()
    with django_capture_on_commit_callbacks(execute=True):
        write(template, key)
    assert CacheEpoch.read() > before


@pytest.fixture
def staff(client):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-tests")
    client.force_login(user)
    return client


def test_the_admin_revoke_action_bumps_the_shared_epoch(staff, django_capture_on_commit_callbacks):
    key, _ = ApiKey.generate(name="old")
    before = CacheEpoch.read()
    with django_capture_on_commit_callbacks(execute=True):
        staff.post(
            reverse("admin:templates_app_apikey_changelist"),
            {"action": "revoke", "_selected_action": [key.pk]},
        )
    assert CacheEpoch.read() > before
    assert ApiKey.objects.get(pk=key.pk).revoked_at is not None


def test_an_admin_edit_of_a_key_bumps_the_shared_epoch(staff, django_capture_on_commit_callbacks):
    key, _ = ApiKey.generate(name="edited")
    before = CacheEpoch.read()
    with django_capture_on_commit_callbacks(execute=True):
        staff.post(
            reverse("admin:templates_app_apikey_change", args=[key.pk]),
            {"name": "edited", "scopes": ["read"], "rate_limit_per_minute": "5"},
        )
    assert ApiKey.objects.get(pk=key.pk).scopes == ["read"]
    assert CacheEpoch.read() > before
