"""Management commands: API keys, demo data, the demo setup, purging old invocations."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from templates_app.models import ApiKey, Invocation, Template, Version, hash_key
from tests.factories import make_invocation, make_version

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


def _invocations_aged(*days_old: int) -> list[int]:
    """Invocation rows of one version, created ``days_old`` days ago each."""
    version = Version.objects.first() or make_version()
    now = timezone.now()
    rows = [make_invocation(version, created_at=now - timedelta(days=d)) for d in days_old]
    for row in rows:
        row.save()
    return [row.pk for row in rows]


def test_purge_deletes_only_rows_older_than_the_retention_in_batches():
    kept = _invocations_aged(0, 29)
    _invocations_aged(31, 40, 41, 400, 401)
    out = io.StringIO()

    call_command("purge_invocations", "--days", "30", "--batch", "2", stdout=out)

    assert sorted(Invocation.objects.values_list("pk", flat=True)) == sorted(kept)
    assert out.getvalue().startswith("deleted 5 invocations created before ")


def test_purge_uses_the_retention_setting_and_a_dry_run_deletes_nothing(settings):
    settings.CACHET = {**settings.CACHET, "INVOCATION_RETENTION_DAYS": 7}
    _invocations_aged(1, 8, 9)
    out = io.StringIO()

    call_command("purge_invocations", "--dry-run", stdout=out)

    assert out.getvalue().startswith("would delete 2 invocations created before ")
    assert Invocation.objects.count() == 3
    call_command("purge_invocations", stdout=io.StringIO())
    assert Invocation.objects.count() == 1


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ([], "give --days N (at least 1), or set CACHET_INVOCATION_RETENTION_DAYS"),
        (["--days", "0"], "give --days N (at least 1)"),
        (["--days", "5", "--batch", "0"], "--batch must be at least 1"),
    ],
)
def test_purge_without_a_retention_keeps_everything_and_says_why(arguments, message):
    _invocations_aged(1000)

    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call_command("purge_invocations", *arguments)
    assert Invocation.objects.count() == 1
