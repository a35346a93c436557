"""Django's stock middleware run on the event loop (config/middleware.py).

Sessions, messages and CSRF still work through the async handler, the security headers
are still set, and the hooks that only read headers and set attributes no longer cost a
thread hop. The admin flows go through Django's ``AsyncClient`` (the async handler with
this middleware stack), driven from sync tests so that the views' database work runs on
the test's own thread and connection.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from asgiref.sync import SyncToAsync, async_to_sync
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.test import AsyncClient
from django.urls import reverse
from django.utils.deprecation import MiddlewareMixin

from config import middleware
from templates_app.models import ApiKey, hash_key
from tests.asgi import call_asgi

TOKEN_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
PASSWORD = "pw-for-tests"


def stock_middleware(ours: list[str]) -> list[str]:
    """The Django classes ours are made from, in the same order."""
    classes = [getattr(middleware, dotted.rsplit(".", 1)[1]) for dotted in ours]
    return [
        f"{base.__module__}.{base.__qualname__}"
        for cls in classes
        for base in cls.__bases__
        if base is not middleware.InPlace
    ]


def form_token(response: Any) -> str:
    return TOKEN_RE.search(response.content.decode()).group(1)


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)


@pytest.fixture
def browser(staff) -> AsyncClient:
    """A signed-in admin user whose CSRF checks are enforced, as a browser's are."""
    client = AsyncClient(enforce_csrf_checks=True)
    async_to_sync(client.aforce_login)(staff)
    return client


@pytest.fixture
def hops(monkeypatch) -> list[Any]:
    """The function of every ``sync_to_async`` call made from now on (a thread hop each)."""
    seen: list[Any] = []
    original = SyncToAsync.__call__

    def counting(self: SyncToAsync, *args: Any, **kwargs: Any) -> Any:
        seen.append(self.func)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(SyncToAsync, "__call__", counting)
    return seen


def middleware_hops(functions: list[Any]) -> list[str]:
    """The hooks among ``functions`` that belong to a middleware, as Class.method."""
    return [
        f"{type(fn.__self__).__name__}.{fn.__name__}"
        for fn in functions
        if isinstance(getattr(fn, "__self__", None), MiddlewareMixin)
    ]


def test_our_middleware_is_the_stock_stack_in_the_same_order(settings):
    assert stock_middleware(settings.MIDDLEWARE) == [
        "django.middleware.security.SecurityMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
    ]


def test_the_admin_login_saves_a_session_that_signs_the_next_request_in(staff):
    client = AsyncClient(enforce_csrf_checks=True)
    page = async_to_sync(client.get)("/admin/login/")
    assert page.status_code == 200
    login = async_to_sync(client.post)(
        "/admin/login/?next=/admin/",
        {"username": "root", "password": PASSWORD, "csrfmiddlewaretoken": form_token(page)},
    )
    assert login.status_code == 302, login.content[:500]
    assert login["Location"] == "/admin/"
    session = Session.objects.get(session_key=client.cookies["sessionid"].value)
    assert session.get_decoded()["_auth_user_id"] == str(staff.pk)
    index = async_to_sync(client.get)("/admin/")
    assert index.status_code == 200
    assert b"Site administration" in index.content


def test_a_post_to_the_admin_without_a_csrf_token_is_refused(browser):
    url = reverse("admin:templates_app_apikey_add")
    refused = async_to_sync(browser.post)(url, {"name": "ci"})
    assert refused.status_code == 403
    assert not ApiKey.objects.filter(name="ci").exists()
    token = form_token(async_to_sync(browser.get)(url))
    accepted = async_to_sync(browser.post)(url, {"name": "ci", "csrfmiddlewaretoken": token})
    assert accepted.status_code == 302
    assert ApiKey.objects.filter(name="ci").exists()


def test_a_message_from_an_admin_action_survives_to_the_next_page_only(browser):
    url = reverse("admin:templates_app_apikey_add")
    token = form_token(async_to_sync(browser.get)(url))
    created = async_to_sync(browser.post)(url, {"name": "ci", "csrfmiddlewaretoken": token})
    assert created.status_code == 302
    shown = async_to_sync(browser.get)(created["Location"]).content.decode()
    raw = re.search(r"API key for &#x27;ci&#x27;: (\S+) ", shown).group(1)
    assert ApiKey.objects.get(name="ci").key_hash == hash_key(raw)
    again = async_to_sync(browser.get)(created["Location"]).content.decode()
    assert "copy it now" not in again


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("path", "status"),
    [("/api/v1/templates", 200), ("/api/v1/no-such-thing", 404), ("/admin/login/", 200)],
)
def test_security_headers_are_on_api_and_admin_answers(settings, api_key, path, status):
    response = call_asgi("GET", path, headers={"Authorization": f"Bearer {api_key}"})
    assert response.status == status
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == settings.X_FRAME_OPTIONS
    assert response.headers["referrer-policy"] == settings.SECURE_REFERRER_POLICY
    assert (
        response.headers["cross-origin-opener-policy"] == settings.SECURE_CROSS_ORIGIN_OPENER_POLICY
    )


@pytest.mark.django_db(transaction=True)
def test_api_calls_with_a_bearer_key_never_create_a_session(api_key):
    headers = {"Authorization": f"Bearer {api_key}"}
    created = call_asgi(
        "POST",
        "/api/v1/templates",
        {"slug": "no-session", "name": "No session", "sample_variables": {}},
        headers=headers,
    )
    listed = call_asgi("GET", "/api/v1/templates", headers=headers)
    assert (created.status, listed.status) == (201, 200)
    assert not any("sessionid" in r.headers.get("set-cookie", "") for r in (created, listed))
    assert Session.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_no_middleware_hook_hops_to_a_thread_on_an_api_call(settings, api_key, hops):
    headers = {"Authorization": f"Bearer {api_key}"}
    ours = settings.MIDDLEWARE
    assert call_asgi("GET", "/api/v1/templates", headers=headers).status == 200
    our_hops = list(hops)
    hops.clear()
    settings.MIDDLEWARE = stock_middleware(ours)
    assert call_asgi("GET", "/api/v1/templates", headers=headers).status == 200
    stock_hops = list(hops)
    assert middleware_hops(our_hops) == []
    # The stock stack hops for each hook: the counter sees what ours saves.
    assert len(middleware_hops(stock_hops)) >= len(ours)
    assert len(our_hops) <= len(stock_hops) - len(middleware_hops(stock_hops))


def test_on_an_admin_page_only_session_messages_and_csrf_work_hops_to_a_thread(browser, hops):
    page = async_to_sync(browser.get)(reverse("admin:templates_app_apikey_changelist"))
    assert page.status_code == 200
    assert set(middleware_hops(hops)) <= {
        "Sessions.process_response",
        "Messages.process_response",
        "Csrf.process_view",
    }
    assert "Sessions.process_response" in middleware_hops(hops)
