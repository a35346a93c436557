"""The admin: pages load for staff, versions are read-only, API keys are shown once."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from templates_app.models import ApiKey, hash_key
from tests.factories import make_version

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
