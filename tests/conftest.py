"""Shared fixtures: an API client with a bearer key, and a staff user."""

from __future__ import annotations

import pytest
from django.db import connection
from rest_framework.test import APIClient

import tests.asgi
from templates_app.models import ApiKey, caches_forget
from tests.asgi import RoutedClient

# Tests of code that imports no Django (DESIGN's layout): their answer cannot depend on the
# database, so scripts/test.sh runs them once, in the SQLite run. They may not touch one.
DATABASE_FREE = ("tests/gateway/", "tests/templates_app/engine/")
DATABASE_FIXTURES = {"db", "transactional_db", "django_db_setup", "live_server"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        where = item.nodeid.replace("\\", "/")
        if not where.startswith(DATABASE_FREE):
            continue
        used = DATABASE_FIXTURES & set(getattr(item, "fixturenames", ()))
        if used or item.get_closest_marker("django_db"):
            raise pytest.UsageError(
                f"{item.nodeid} uses the database ({', '.join(sorted(used)) or 'django_db'}), but "
                f"tests under {' and '.join(DATABASE_FREE)} run on SQLite only: move it"
            )


def pytest_runtest_setup(item: pytest.Item) -> None:
    # Tests marked postgres run only when DATABASE_URL points at PostgreSQL.
    if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")


@pytest.fixture(autouse=True)
def fresh_process_caches() -> None:
    """Each test starts with nothing cached in this process (keys, send targets): a test's
    rows are rolled back without a signal, and their ids come back in the next test."""
    caches_forget()


@pytest.fixture
def api_key(db) -> str:
    _, raw = ApiKey.generate(name="tests")
    return raw


@pytest.fixture
def api(api_key: str) -> APIClient:
    client = RoutedClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key}")
    return client


@pytest.fixture
def anonymous() -> APIClient:
    return APIClient()


@pytest.fixture
def operator_catalog(tmp_path):
    """``apply(toml)`` puts the built-in catalog plus that operator file in force; the
    catalog in force before is restored afterwards."""
    from gateway.catalog import active_catalog, load_catalog, use_catalog

    before = active_catalog()

    def apply(text: str) -> None:
        path = tmp_path / "operator-catalog.toml"
        path.write_text(text, encoding="utf-8")
        use_catalog(load_catalog(path))

    yield apply
    use_catalog(before)


@pytest.fixture(params=["django", "direct"])
def both_routes(request, monkeypatch) -> str:
    """Runs the test with the send routes served by Django, then by the direct router."""
    monkeypatch.setattr(tests.asgi, "ROUTE", request.param)
    return request.param


@pytest.fixture
def fresh_simulator():
    """Django's cache (rate-limit counters, the simulator's entries) and the provider clients
    start empty, and are left empty for later tests."""
    from django.core.cache import cache

    from templates_app.sending import clients

    cache.clear()
    clients.forget_clients()
    yield
    cache.clear()
    clients.forget_clients()


@pytest.fixture
def template(db):
    """Template ``doc-qa`` with its version 1 (``tests/factories.py``)."""
    from tests.factories import make_template, make_version

    stored = make_template()
    make_version(stored)
    return stored


@pytest.fixture
def loopback_sends(settings, monkeypatch):
    """Sends through real clients to loopback providers start afresh: dummy AWS credentials
    (no profile, no instance metadata), one try per call, and Django's cache, the provider
    clients and the warm chains of ``sending/coalescing.py`` empty, before and after."""
    from django.core.cache import cache

    from templates_app.sending import clients
    from templates_app.sending.coalescing import coalescing_forget

    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_BEARER_TOKEN_BEDROCK"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret-example")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    settings.GATEWAY = {**settings.GATEWAY, "MAX_ATTEMPTS": 1}
    cache.clear()
    clients.forget_clients()
    coalescing_forget()
    yield
    clients.forget_clients()
    coalescing_forget()
    cache.clear()
