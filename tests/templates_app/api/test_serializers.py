"""The input contract of every request: unknown fields and query parameters are a 400 naming
each one (with a suggestion when one is close to a real name), booleans are JSON booleans,
enumerations take their value or their admin label."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from templates_app import services
from templates_app.models import Invocation
from tests.factories import DOCUMENT, make_body, make_template, make_version

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_simulator")]

API = "/api/v1"
SLUG = "doc-qa"
VALUES = {"document": DOCUMENT, "question": "Uptime?"}


@pytest.fixture
def stored():
    template = make_template()
    make_version(template)
    make_version(template, body=make_body(params={"max_tokens": 128, "temperature": 0}))
    services.label_move(template=template, label="production", version=1)
    services.label_move(template=template, label="staging", version=2)
    return template


def error_of(response: Any, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.content[:2000]
    error = response.json()["error"]
    assert set(error) == {"type", "message", "details"}
    return error


# (id, method, path, a valid body, the unknown field added, the suggestion expected)
BODIES = [
    ("render", "post", f"{API}/templates/{SLUG}/render", {"variables": VALUES}, "lable", "label"),
    ("send", "post", f"{API}/templates/{SLUG}/send", {"variables": VALUES}, "verison", "version"),
    ("lint", "post", f"{API}/templates/{SLUG}/lint", {"version": 1}, "modle", "model"),
    ("preview", "post", f"{API}/templates/{SLUG}/preview", {"body": make_body()}, "bdy", "body"),
    ("version-create", "post", f"{API}/templates/{SLUG}/versions", {"body": make_body()},
     "mesage", "message"),
    ("label-move", "put", f"{API}/templates/{SLUG}/labels/beta", {"version": 1}, "versio",
     "version"),
    ("template-create", "post", f"{API}/templates", {"slug": "new-one", "name": "New"},
     "descripton", "description"),
    ("template-patch", "patch", f"{API}/templates/{SLUG}", {"name": "Renamed"}, "nmae", "name"),
]  # fmt: skip


@pytest.mark.parametrize(
    "method, path, body, unknown, suggestion",
    [case[1:] for case in BODIES],
    ids=[case[0] for case in BODIES],
)
def test_an_unknown_body_field_is_a_400_naming_it_and_the_close_field(
    api, stored, method, path, body, unknown, suggestion
):
    response = getattr(api, method)(path, {**body, unknown: "x"}, format="json")

    error = error_of(response)
    assert error["type"] == "invalid_request"
    assert unknown in error["message"]
    assert f"did you mean '{suggestion}'?" in error["message"]
    assert unknown in error["details"]


def test_a_mistyped_label_no_longer_silently_renders_production(api, stored):
    response = api.post(
        reverse("render", args=[SLUG]), {"variables": VALUES, "lable": "staging"}, format="json"
    )

    error = error_of(response)
    assert error["message"] == "lable: unknown field (did you mean 'label'?)"


def test_every_unknown_field_is_named_at_once(api, stored):
    response = api.post(
        reverse("render", args=[SLUG]),
        {"variables": VALUES, "lable": "staging", "colour": "blue", "verison": 2},
        format="json",
    )

    error = error_of(response)
    for name in ("lable", "colour", "verison"):
        assert name in error["message"] and name in error["details"]
    assert "did you mean 'label'?" in error["message"]
    assert "did you mean 'version'?" in error["message"]


def test_unknown_fields_are_named_beside_a_bad_known_field(api, stored):
    response = api.post(
        reverse("render", args=[SLUG]), {"version": "two", "lable": "x"}, format="json"
    )

    error = error_of(response)
    assert set(error["details"]) == {"version", "lable"}
    assert error["message"].startswith("lable: unknown field")


def test_a_field_far_from_every_real_one_gets_no_suggestion(api, stored):
    response = api.post(
        reverse("render", args=[SLUG]), {"variables": VALUES, "colour": "blue"}, format="json"
    )

    error = error_of(response)
    assert "colour" in error["message"] and "did you mean" not in error["message"]


def test_a_template_patch_keeps_its_own_wording_for_a_field_it_cannot_change(api, stored):
    response = api.patch(f"{API}/templates/{SLUG}", {"slug": "renamed"}, format="json")

    error = error_of(response)
    assert error["message"].startswith("slug: cannot be changed here (editable: name")


def test_known_fields_still_work_with_strict_input(api, stored):
    response = api.post(
        reverse("render", args=[SLUG]), {"variables": VALUES, "label": "staging"}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert (response.json()["label"], response.json()["version"]) == ("staging", 2)


@pytest.mark.parametrize("value", ["yes", "true", "false", 1, 0, "1", None, [], {}])
def test_stream_must_be_a_json_boolean(api, stored, value):
    response = api.post(
        reverse("send", args=[SLUG]), {"variables": VALUES, "stream": value}, format="json"
    )

    error = error_of(response)
    assert error["message"].startswith("stream: ")
    assert "boolean" in error["message"] or "null" in error["message"]
    assert not Invocation.objects.exists()


def test_stream_false_is_still_a_plain_send(api, stored):
    response = api.post(
        reverse("send", args=[SLUG]), {"variables": VALUES, "stream": False}, format="json"
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"


# --- query parameters ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query, named",
    [
        ("limit=abc", "limit"),
        ("limit=0", "limit"),
        ("limit=-5", "limit"),
        ("limit=501", "limit"),
        ("offset=0", "offset"),
        ("cursor=not-a-cursor", "cursor"),
        ("status=bogus", "status"),
        ("statsu=ok", "statsu"),
        ("version=two", "version"),
        ("since=yesterday", "since"),
        ("status=ok&status=timeout", "status"),
    ],
)
def test_a_bad_invocations_query_parameter_is_a_400_naming_it(api, stored, query, named):
    error = error_of(api.get(f"{API}/invocations?{query}"))

    assert named in error["message"] and named in error["details"]


def test_a_mistyped_query_parameter_gets_a_suggestion(api, stored):
    error = error_of(api.get(f"{API}/invocations?statsu=ok"))

    assert error["message"] == "statsu: unknown query parameter (did you mean 'status'?)"


def test_an_unknown_status_names_the_accepted_values(api, stored):
    error = error_of(api.get(f"{API}/invocations?status=bogus"))

    assert "provider_error" in error["message"]


@pytest.mark.parametrize("spelling", ["provider_error", "Provider error", "PROVIDER ERROR"])
def test_the_status_filter_takes_the_value_or_the_admin_label(api, stored, spelling, settings):
    settings.GATEWAY = {**settings.GATEWAY, "ANTHROPIC_API_KEY": None}
    api.post(reverse("send", args=[SLUG]), {"variables": VALUES}, format="json")
    Invocation.objects.update(status=Invocation.Status.PROVIDER_ERROR)

    response = api.get(f"{API}/invocations", {"status": spelling})

    assert response.status_code == 200, response.json()
    assert [row["status"] for row in response.json()["results"]] == ["provider_error"]


def test_the_real_filters_and_pagination_parameters_are_accepted(api, stored):
    for _ in range(2):
        api.post(reverse("send", args=[SLUG]), {"variables": VALUES}, format="json")

    response = api.get(
        f"{API}/invocations",
        {"template": SLUG, "version": 1, "model": "sim/claude-sonnet-4-5", "status": "ok",
         "since": "2000-01-01T00:00:00Z", "until": "2999-01-01T00:00:00Z", "limit": 1},
    )  # fmt: skip

    assert response.status_code == 200, response.json()
    assert len(response.json()["results"]) == 1
    after = api.get(response.json()["next"])  # the filters, limit and a cursor
    assert after.status_code == 200, after.json()
    assert len(after.json()["results"]) == 1 and after.json()["next"] is None


@pytest.mark.parametrize(
    "path, query, named",
    [
        (f"{API}/templates", "limit=abc", "limit"),
        (f"{API}/templates", "ofset=10", "ofset"),
        (f"{API}/templates/{SLUG}/versions", "limit=0", "limit"),
        (f"{API}/templates/{SLUG}/versions", "page=2", "page"),
        (f"{API}/templates/{SLUG}/stats", "sinse=2026-01-01", "sinse"),
        (f"{API}/templates/{SLUG}/stats", "until=never", "until"),
    ],
)
def test_every_list_refuses_bad_query_parameters(api, stored, path, query, named):
    error = error_of(api.get(f"{path}?{query}"))

    assert named in error["message"] and named in error["details"]
