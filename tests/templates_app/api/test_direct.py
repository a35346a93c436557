"""The direct router answers the send routes exactly as Django does, and hands Django
everything it does not take."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from django.core.asgi import get_asgi_application

from templates_app.api.direct import DirectRouter
from templates_app.models import ApiKey
from tests.asgi import call_in_loop
from tests.factories import DOCUMENT, make_template

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_simulator")]

SEND = "/api/v1/templates/doc-qa/send"
VALUES = {"document": DOCUMENT, "question": "What is the uptime?"}
# Headers that differ between two answers of the same request whoever serves them.
VOLATILE = {"date", "server"}


class Recorder:
    """Django's ASGI app, noting which paths reached it."""

    def __init__(self) -> None:
        self.app = get_asgi_application()
        self.paths: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.paths.append(scope["path"])
        await self.app(scope, receive, send)


def both(path: str, payload: Any = None, **options: Any) -> tuple[Any, Any, list[str]]:
    """The answer of Django and of the router to one request; the paths the router passed on."""
    django = asyncio.run(call_in_loop("POST", path, payload, app=get_asgi_application(), **options))
    recorder = Recorder()
    direct = asyncio.run(call_in_loop("POST", path, payload, app=DirectRouter(recorder), **options))
    return django, direct, recorder.paths


def steady(headers: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in headers.items() if name not in VOLATILE}


def key(**options: Any) -> str:
    return ApiKey.generate(name="direct", **options)[1]


def options(raw_key: str, **headers: str) -> dict[str, Any]:
    return {"headers": {"Authorization": f"Bearer {raw_key}", **headers}, "disconnect_after": None}


ERRORS = [
    ("unknown key", lambda: "cachet_not-a-key", {"variables": VALUES}, {}),
    ("malformed header", None, {"variables": VALUES}, {"Authorization": "Bearer two parts"}),
    ("no send scope", lambda: key(scopes=["read"]), {"variables": VALUES}, {}),
    (
        "another template",
        lambda: key(templates=[make_template(slug="other")]),
        {"variables": VALUES},
        {},
    ),
    ("unknown field", lambda: key(), {"variables": VALUES, "lable": "x"}, {}),
    ("missing variable", lambda: key(), {"variables": {"document": "d"}}, {}),
    ("both version and label", lambda: key(), {"version": 1, "label": "x"}, {}),
    ("html only", lambda: key(), {"variables": VALUES}, {"Accept": "text/html"}),
    (
        "stream only, no stream",
        lambda: key(),
        {"variables": VALUES},
        {"Accept": "text/event-stream"},
    ),
    ("unknown template", lambda: key(), {"variables": VALUES}, {}),
]


@pytest.mark.parametrize(
    ("case", "make_key", "payload", "extra"), ERRORS, ids=[e[0] for e in ERRORS]
)
def test_an_error_is_the_same_answer_whoever_serves_it(template, case, make_key, payload, extra):
    raw = make_key() if make_key else "unused"
    path = "/api/v1/templates/nothing-here/send" if case == "unknown template" else SEND
    django, direct, passed_on = both(path, payload, **options(raw, **extra))
    assert passed_on == []
    assert 400 <= direct.status < 500, direct.body
    assert (direct.status, direct.body) == (django.status, django.body)
    assert steady(direct.headers) == steady(django.headers)


def test_a_rate_limited_key_gets_the_same_429_and_retry_after(template):
    raw = key(rate_limit_per_minute=1)
    first, _, _ = both(SEND, {"variables": VALUES}, **options(raw))
    assert first.status == 200
    django, direct, _ = both(SEND, {"variables": VALUES}, **options(raw))
    assert direct.status == django.status == 429
    assert direct.body == django.body and "retry-after" in direct.headers
    assert steady(direct.headers).keys() == steady(django.headers).keys()


def test_a_send_is_the_same_answer_but_for_its_own_ids_and_timing(template):
    django, direct, passed_on = both(SEND, {"variables": VALUES}, **options(key()))
    assert passed_on == [] and direct.status == django.status == 200
    assert steady(direct.headers).keys() == steady(django.headers).keys()
    volatile = ("invocation_id", "latency_ms", "usage", "cost", "miss", "request_id")
    assert {k: v for k, v in direct.json().items() if k not in volatile} == {
        k: v for k, v in django.json().items() if k not in volatile
    }
    assert direct.headers["x-frame-options"] == "DENY"
    assert direct.headers["x-content-type-options"] == "nosniff"


def test_a_stream_has_the_same_headers_and_events(template):
    payload = {"variables": VALUES, "stream": True}
    django, direct, _ = both(SEND, payload, **options(key()))
    assert steady(direct.headers) == steady(django.headers)
    assert [kind for kind, _ in direct.events()] == [kind for kind, _ in django.events()]


def test_an_sdk_route_error_is_in_the_providers_shape_both_ways(template):
    body = {"model": "default", "messages": [], "prompt": {"id": "doc-qa"}, "temperature": "hot"}
    django, direct, passed_on = both("/openai/v1/chat/completions", body, **options(key()))
    assert passed_on == [] and direct.status == 400
    assert (direct.body, steady(direct.headers)) == (django.body, steady(django.headers))


@pytest.mark.parametrize(
    ("path", "extra", "content_type"),
    [
        (SEND, {}, "application/json"),  # no API key: a signed-in user's, Django's session
        (SEND + "?format=json", {"Authorization": "Bearer k"}, "application/json"),
        (SEND, {"Authorization": "Bearer k"}, "text/plain"),
        (SEND, {"Authorization": "Bearer k", "Host": "evil.example"}, "application/json"),
        (SEND, {"Authorization": "Basic dXNlcjpwYXNz"}, "application/json"),
        ("/api/v1/templates/doc-qa/render", {"Authorization": "Bearer k"}, "application/json"),
    ],
    ids=["no-key", "query-string", "not-json", "host-not-allowed", "basic-auth", "not-a-send"],
)
def test_what_the_router_does_not_take_goes_to_django(template, path, extra, content_type):
    recorder = Recorder()
    headers = dict(extra)
    host = headers.pop("Host", None)
    app = DirectRouter(recorder)
    answer = asyncio.run(
        call_in_loop(
            "POST",
            path,
            {"variables": VALUES},
            headers,
            None,
            app=app,
            content_type=content_type,
            host=host,
        )
    )
    assert recorder.paths == [path.split("?")[0]]
    assert answer.status >= 400  # Django's own answer: 400, 401, 403 or 415


def test_a_get_on_a_send_route_is_djangos_405(template):
    recorder = Recorder()
    answer = asyncio.run(
        call_in_loop(
            "GET",
            SEND,
            None,
            {"Authorization": f"Bearer {key()}"},
            None,
            app=DirectRouter(recorder),
        )
    )
    assert recorder.paths == [SEND] and answer.status == 405
