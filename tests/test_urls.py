"""The root URLs beyond the API and the admin: ``/`` leads a browser to the admin, the favicon
is served at /favicon.ico and linked from every admin page, and neither shadows the
SDK-compatible routes mounted at the root."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.templatetags.static import static
from django.urls import resolve, reverse

pytestmark = pytest.mark.django_db


def test_the_site_root_redirects_to_the_admin_and_on_to_its_login(client):
    response = client.get("/", follow=True)
    assert response.redirect_chain[0] == (reverse("admin:index"), 302)
    assert response.redirect_chain[-1][0].startswith(reverse("admin:login"))
    assert response.status_code == 200
    assert f'href="{reverse("docs")}"' in response.content.decode()


def test_the_favicon_is_served_at_favicon_ico(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 302 and response["Location"] == static("cachet/favicon.svg")


def test_every_admin_page_links_the_favicon_and_loads_the_figure_formats(client):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-tests")
    for url in (
        reverse("admin:login"),
        reverse("admin:index"),
        reverse("admin:templates_app_catalog"),
    ):
        if url != reverse("admin:login"):
            client.force_login(user)
        page = client.get(url).content.decode()
        assert f'<link rel="icon" href="{static("cachet/favicon.svg")}"' in page, url
        assert f'<script src="{static("cachet/formats.js")}" defer>' in page, url
        assert f'href="{reverse("docs")}">API docs</a>' in page or url == reverse("admin:login")
    assert "View site" not in page  # "/" would only lead back here


def test_the_root_routes_leave_the_sdk_compatible_routes_alone():
    assert resolve("/openai/v1/chat/completions").url_name == "compat-chat-completions"
    assert resolve("/anthropic/v1/messages").url_name == "compat-messages"
    assert resolve("/").url_name == "root"
