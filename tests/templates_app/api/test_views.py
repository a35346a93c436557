"""What the views negotiate: the content type of a send's answer."""

from __future__ import annotations

import pytest

from templates_app.sending import writer
from templates_app.sending.writer import InvocationWriter, writer_stop
from tests.asgi import call_asgi
from tests.factories import DOCUMENT

pytestmark = [pytest.mark.usefixtures("both_routes"), pytest.mark.usefixtures("fresh_simulator")]

SEND = "/api/v1/templates/doc-qa/send"
VALUES = {"document": DOCUMENT, "question": "What is the uptime?"}


def bearer(key: str, accept: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "Accept": accept}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "accept",
    [
        "text/event-stream",
        "text/event-stream, application/json",
        "application/json, text/event-stream;q=0.5",
        "*/*",
        "text/*",
    ],
)
def test_a_streaming_send_answers_an_event_stream_client(api_key, template, accept):
    response = call_asgi(
        "POST", SEND, {"variables": VALUES, "stream": True}, headers=bearer(api_key, accept)
    )

    assert response.status == 200, response.body
    assert response.headers["content-type"] == "text/event-stream"
    assert [kind for kind, _ in response.events()][-1] == "done"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("accept", ["application/json", "*/*", "application/*"])
def test_a_send_that_does_not_stream_answers_json(api_key, template, accept):
    response = call_asgi("POST", SEND, {"variables": VALUES}, headers=bearer(api_key, accept))

    assert response.status == 200, response.body
    assert response.headers["content-type"] == "application/json"
    assert response.json()["output"]["text"]


@pytest.mark.django_db(transaction=True)
def test_a_send_that_does_not_stream_asked_for_events_only_is_a_406_saying_why(api_key, template):
    response = call_asgi(
        "POST", SEND, {"variables": VALUES}, headers=bearer(api_key, "text/event-stream")
    )

    assert response.status == 406
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert error["type"] == "not_acceptable"
    assert '"stream": true' in error["message"]


@pytest.mark.django_db(transaction=True)
def test_stream_true_streams_even_for_a_client_that_accepts_json_only(api_key, template):
    # The body's explicit "stream": true is the stronger signal, as in the providers' APIs.
    response = call_asgi(
        "POST",
        SEND,
        {"variables": VALUES, "stream": True},
        headers=bearer(api_key, "application/json"),
    )

    assert response.status == 200
    assert response.headers["content-type"] == "text/event-stream"


@pytest.mark.django_db(transaction=True)
def test_an_unsupported_accept_is_a_json_406(api_key, template):
    response = call_asgi(
        "POST", SEND, {"variables": VALUES}, headers=bearer(api_key, "application/xml")
    )

    assert response.status == 406
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["type"] == "not_acceptable"


@pytest.mark.django_db(transaction=True)
def test_an_error_before_the_stream_starts_is_json_for_an_event_stream_client(api_key, template):
    response = call_asgi(
        "POST",
        SEND,
        {"variables": {"document": DOCUMENT}, "stream": True},
        headers=bearer(api_key, "text/event-stream"),
    )

    assert response.status == 400
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["type"] == "invalid_variables"


# --- An invocation is visible once its send has answered -------------------------------------


@pytest.fixture
def slow_writer(settings):
    """The process's writer, queued, lingering far longer than any test: a row it holds is
    written only when something asks for it."""
    settings.CACHET = {**settings.CACHET, "INVOCATION_QUEUE": 100}
    writer_stop()
    writer._writer = InvocationWriter(capacity=100, linger=60)
    yield writer.invocation_writer()
    writer_stop(timeout=5)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("stream", [False, True])
def test_an_invocation_is_listed_as_soon_as_its_send_has_answered(
    api, api_key, template, slow_writer, stream
):
    response = call_asgi(
        "POST", SEND, {"variables": VALUES, "stream": stream}, headers=bearer(api_key, "*/*")
    )
    assert response.status == 200
    answered = response.events()[-1][1] if stream else response.json()
    assert slow_writer.queued() == 1  # still queued: the writer has not written it yet

    listed = api.get("/api/v1/invocations").json()["results"]
    stats = api.get("/api/v1/templates/doc-qa/stats").json()["versions"]

    assert [row["id"] for row in listed] == [answered["invocation_id"]]
    assert stats[0]["calls"] == 1
