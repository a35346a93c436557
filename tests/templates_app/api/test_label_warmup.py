"""``PUT /templates/{slug}/labels/{label}`` with ``warm``: the new version's cached prefix is
written before the label moves, and the answer reports it (README, "API")."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.errors import OverloadedError
from templates_app import services
from templates_app.models import ApiKey, Invocation
from templates_app.sending import clients
from templates_app.sending.coalescing import coalescing_forget
from tests.factories import DOCUMENT, make_body, make_version

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_simulator")]

LABEL_URL = "/api/v1/templates/doc-qa/labels/production"


@pytest.fixture(autouse=True)
def cold():
    coalescing_forget()
    yield
    coalescing_forget()


@pytest.fixture
def versions(template):
    """``doc-qa`` with versions 1 and 2 (another max_tokens) and ``production`` at 1."""
    make_version(template, body=make_body(params={"max_tokens": 64}))
    services.label_move(template=template, label="production", version=1)
    return template


def move(client: Any, **payload: Any) -> Any:
    return client.put(LABEL_URL, payload, format="json")


def production(template) -> int:
    return template.labels.get(name="production").version.number


def test_a_move_warms_nothing_unless_asked(api, versions):
    answer = move(api, version=2)

    assert answer.status_code == 200
    assert answer.json()["warmup"] is None
    assert answer.json()["version"] == 2
    assert not Invocation.objects.exists()


def test_warm_writes_the_prefix_then_moves_and_reports_what_it_wrote(api, versions):
    answer = move(api, version=2, warm=True)

    assert answer.status_code == 200, answer.content
    data = answer.json()
    assert (data["name"], data["version"]) == ("production", 2)
    assert [(m["from_version"], m["to_version"]) for m in data["history"]][0] == (1, 2)
    report = data["warmup"]
    assert set(report) == {"status", "reason", "message", "version", "model", "chains"}
    assert (report["status"], report["reason"], report["version"]) == ("written", None, 2)
    [chain] = report["chains"]
    assert set(chain) == {"checkpoints", "invocation_id", "usage", "cost"}
    [checkpoint] = chain["checkpoints"]
    assert set(checkpoint) == {"ordinal", "path", "ttl", "fingerprint", "tokens"}
    assert chain["usage"]["cache_write_tokens"] > 1000
    assert chain["cost"]["usd"] > 0
    row = Invocation.objects.get(pk=chain["invocation_id"])
    assert (row.version.number, row.label, row.metadata) == (2, "production", {"warmup": True})
    assert row.api_key is not None and row.last_fingerprint == checkpoint["fingerprint"]
    assert production(versions) == 2


def test_the_next_send_through_the_label_reads_what_the_warm_up_wrote(api, versions):
    report = move(api, version=2, warm=True).json()["warmup"]

    sent = api.post(
        "/api/v1/templates/doc-qa/send",
        {"variables": {"document": DOCUMENT, "question": "What is the uptime?"}},
        format="json",
    ).json()

    assert sent["version"] == 2
    assert sent["usage"]["cache_write_tokens"] == 0
    assert sent["usage"]["cache_read_tokens"] == report["chains"][0]["usage"]["cache_write_tokens"]


def test_a_warm_prefix_is_not_written_again(api, versions):
    move(api, version=2, warm=True)
    move(api, version=1)

    report = move(api, version=2, warm=True).json()["warmup"]

    assert (report["status"], report["reason"]) == ("skipped", "already_warm")
    assert report["chains"][0]["invocation_id"] is None
    assert Invocation.objects.count() == 1
    assert production(versions) == 2


def test_caller_variables_go_over_the_sample_ones(api, versions):
    other = "Clause 2. Support answers within one business day.\n" * 150

    report = move(api, version=2, warm=True, variables={"document": other}).json()["warmup"]

    row = Invocation.objects.get(pk=report["chains"][0]["invocation_id"])
    assert row.variables["document"] == other
    rendered = api.post(
        "/api/v1/templates/doc-qa/render",
        {"variables": {"document": other, "question": "?"}, "version": 2},
        format="json",
    ).json()
    assert (
        rendered["checkpoints"][0]["fingerprint"]
        == report["chains"][0]["checkpoints"][0]["fingerprint"]
    )


def test_suffix_variables_are_not_needed_but_may_be_given(api, versions):
    versions.sample_variables = {"document": DOCUMENT}
    versions.save()

    answer = move(api, version=2, warm=True, variables={"question": "Ignored?"})

    assert answer.status_code == 200, answer.content
    assert answer.json()["warmup"]["status"] == "written"


def test_variables_without_warm_are_a_400_naming_them(api, versions):
    answer = move(api, version=2, variables={"document": "x"})

    assert answer.status_code == 400
    error = answer.json()["error"]
    assert "variables" in error["details"] and "warm" in error["message"]
    assert production(versions) == 1


@pytest.mark.parametrize(
    ("payload", "named"),
    [
        ({"version": 2, "warmup": True}, "did you mean 'warm'"),
        ({"version": 2, "warm": "yes"}, "JSON boolean"),
        ({"version": 2, "warm": True, "variables": ["document"]}, "JSON object"),
    ],
    ids=["unknown field", "not a boolean", "not an object"],
)
def test_bad_warm_up_input_is_a_400_naming_it(api, versions, payload, named):
    answer = api.put(LABEL_URL, payload, format="json")

    assert answer.status_code == 400
    assert named in answer.json()["error"]["message"]
    assert production(versions) == 1
    assert not Invocation.objects.exists()


def test_a_missing_prefix_variable_is_a_400_naming_it_and_nothing_moves(api, versions):
    versions.sample_variables = {}
    versions.save()

    answer = move(api, version=2, warm=True)

    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["type"] == "invalid_variables"
    assert error["message"] == "variable 'document': is required"
    assert production(versions) == 1
    assert not Invocation.objects.exists()


def test_warm_needs_the_send_scope_too(versions):
    from rest_framework.test import APIClient

    _, raw = ApiKey.generate(name="writer", scopes=["write"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

    refused = move(client, version=2, warm=True)

    assert refused.status_code == 403
    assert "'send' scope" in refused.json()["error"]["message"]
    assert production(versions) == 1
    assert move(client, version=2).status_code == 200


def test_a_provider_error_answers_it_and_the_label_stays(api, versions, settings):
    async def overloaded() -> None:
        raise OverloadedError("sim", 529, "Overloaded")

    settings.GATEWAY = {**settings.GATEWAY, "SIM_HOLD": overloaded, "MAX_ATTEMPTS": 1}
    clients.forget_clients()

    answer = move(api, version=2, warm=True)

    assert answer.status_code == 502
    error = answer.json()["error"]
    assert error["message"] == "sim returned 529: Overloaded"
    assert error["details"]["provider_status"] == 529
    row = Invocation.objects.get(pk=error["details"]["invocation_id"])
    assert (row.status, row.metadata) == ("provider_error", {"warmup": True})
    assert production(versions) == 1
    assert len(versions.labels.get(name="production").moves.all()) == 1


def test_a_move_the_key_may_not_make_is_refused_before_anything_is_sent(api, versions):
    answer = api.put(
        "/api/v1/templates/doc-qa/labels/latest", {"version": 2, "warm": True}, format="json"
    )

    assert answer.status_code == 400
    assert not Invocation.objects.exists()


def test_the_schema_describes_warm_variables_and_the_warm_up_report(api):
    schema = api.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/templates/{slug}/labels/{label}"]["put"]

    request = schema["components"]["schemas"]["LabelMoveInputRequest"]
    assert {"version", "warm", "variables"} <= set(request["properties"])
    assert "`warm: true`" in operation["description"]
    assert {"502", "503", "504"} <= set(operation["responses"])
    assert "warmup" in schema["components"]["schemas"]["LabelMoveAnswer"]["properties"]
    components = schema["components"]["schemas"]
    assert components["WarmupOutputStatusEnum"]["enum"] == ["written", "skipped"]
    assert components["WarmupOutputReasonEnum"]["enum"] == ["already_warm", "nothing_caches"]
