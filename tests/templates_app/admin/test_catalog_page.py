"""The admin's model catalog page: the catalog in force and where each figure came from."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from gateway.catalog import active_catalog, load_catalog, use_catalog

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff() -> Client:
    user = get_user_model().objects.create_superuser("author", "a@example.com", "pw-12345678")
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def restore_catalog():
    before = active_catalog()
    yield
    use_catalog(before)


def test_the_page_lists_every_profile_with_its_sources(staff):
    page = staff.get(reverse("admin:templates_app_catalog")).content.decode()

    assert 'id="catalog-version">2026-12-03<' in page
    for profile in active_catalog().profiles:
        assert f'data-model="{profile.model}"' in page
    assert "retired 2026-02-19" in page  # Sonnet 3.7, with its successor
    assert "docs/providers.md §6.2" in page
    assert "default of bedrock/amazon.*" in page  # Nova's fields come from the Nova defaults
    terra = page.split('data-model="openai/gpt-5.6-terra"')[1].split("</tr>")[0]
    assert "Responses API" in terra and "cache diagnostics" in terra
    gpt_4o = page.split('data-model="openai/gpt-4o"')[1].split("</tr>")[0]
    assert "Responses API" not in gpt_4o


def test_an_operator_override_shows_its_file_as_the_source(staff, tmp_path, restore_catalog):
    path = tmp_path / "acme.toml"
    path.write_text('[[models]]\nmodel = "openai/gpt-4o"\nmin_tokens = 2048\n', encoding="utf-8")
    use_catalog(load_catalog(path))

    page = staff.get(reverse("admin:templates_app_catalog")).content.decode()

    assert str(path) in page
    assert "min tokens: " + f"{path} (overrides)" in page


def test_the_templates_list_links_to_the_catalog(staff):
    page = staff.get(reverse("admin:templates_app_template_changelist")).content.decode()

    assert reverse("admin:templates_app_catalog") in page


def test_the_page_needs_staff(client):
    response = client.get(reverse("admin:templates_app_catalog"))

    assert response.status_code == 302 and "/login/" in response["Location"]
