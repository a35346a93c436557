"""Shared fixtures: an API client with a bearer key, and a staff user."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from templates_app.models import ApiKey


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
