"""Shared fixtures: an API client with a bearer key, and a staff user."""

from __future__ import annotations

import pytest
from django.db import connection
from rest_framework.test import APIClient

from templates_app.models import ApiKey


def pytest_runtest_setup(item: pytest.Item) -> None:
    # Tests marked postgres run only when DATABASE_URL points at PostgreSQL.
    if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")


@pytest.fixture
def api_key(db) -> str:
    _, raw = ApiKey.generate(name="tests")
    return raw


@pytest.fixture
def api(api_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key}")
    return client


@pytest.fixture
def anonymous() -> APIClient:
    return APIClient()
