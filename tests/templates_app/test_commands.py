"""Management commands: API keys, demo data, the demo setup."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from templates_app.models import ApiKey, Template, Version, hash_key

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_create_api_key_prints_the_key_once_as_the_last_line():
    out, err = run("create_api_key", "support-bot")
    raw = out.strip().splitlines()[-1]
    key = ApiKey.objects.get(name="support-bot")
    assert key.key_hash == hash_key(raw)
    assert raw not in err and "support-bot" in err


def test_create_api_key_refuses_an_empty_name():
    with pytest.raises(CommandError, match="NAME"):
        run("create_api_key", "   ")


def test_load_demo_loads_every_demo_template_and_is_idempotent():
    run("load_demo")
    first = {t.slug: t.version_count for t in Template.objects.all()}
    assert set(first) == {"document-qa", "support-agent", "ticket-classifier"}
    assert first["document-qa"] == 2
    run("load_demo")
    assert {t.slug: t.version_count for t in Template.objects.all()} == first
    assert Version.objects.count() == sum(first.values())
    labels = dict(
        Template.objects.get(slug="document-qa").labels.values_list("name", "version__number")
    )
    assert labels == {"production": 1, "staging": 2}


def test_every_demo_version_lints_clean_and_every_checkpoint_will_cache():
    run("load_demo")
    for version in Version.objects.all():
        assert version.lint["ok"], version
        assert version.lint["estimated_with"] == "sample variables", version
        assert {c["status"] for c in version.lint["checkpoints"]} == {"will_cache"}, version


def test_demo_setup_prints_an_admin_login_and_a_fresh_key_and_revokes_the_old_one():
    out, _ = run("demo_setup")
    assert "user:     admin" in out and "password: " in out
    first_key = out.split("export CACHET_KEY=")[1].split()[0]
    out, _ = run("demo_setup")
    second_key = out.split("export CACHET_KEY=")[1].split()[0]
    assert first_key != second_key
    assert ApiKey.objects.get(key_hash=hash_key(first_key)).revoked_at is not None
    assert ApiKey.objects.get(key_hash=hash_key(second_key)).revoked_at is None
