"""The HTTP provider clients' tests run on both transports: aiohttp (the default) and httpx.
Bedrock's client is boto3's, which has a transport of its own."""

from __future__ import annotations

import pytest

import gateway.http
from gateway.registry import HTTP_TRANSPORTS

CLIENT_TESTS = ("test_client.py", "test_responses.py", "test_http.py")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    path = metafunc.definition.path
    if path.name in CLIENT_TESTS and path.parent.name != "bedrock":
        metafunc.parametrize("transport", HTTP_TRANSPORTS, indirect=True)


@pytest.fixture(autouse=True)
def transport(request, monkeypatch) -> str:
    """Every client built in the test carries its bytes over this transport."""
    value = getattr(request, "param", HTTP_TRANSPORTS[0])
    monkeypatch.setattr(gateway.http, "DEFAULT_HTTP_TRANSPORT", value)
    return value
