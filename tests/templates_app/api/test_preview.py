"""The editor's preview: an unsaved body rendered into blocks, cached or not, with badges."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import DOCUMENT, make_body, make_template, make_tool

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def template():
    return make_template()


def preview(api, body, **extra):
    return api.post(reverse("preview", args=["doc-qa"]), {"body": body, **extra}, format="json")


def test_blocks_come_in_provider_order_marked_cached_up_to_the_last_checkpoint(api):
    body = make_body(tools=[make_tool()])
    result = preview(api, body).json()
    assert [(b["path"], b["section"], b["cached"]) for b in result["blocks"]] == [
        ("tools[0]", "tools", True),
        ("messages[0].content[0]", "system", True),
        ("messages[0].content[1]", "system", True),
        ("messages[1].content", "messages", False),
    ]
    badge = result["blocks"][2]["checkpoint"]
    assert (badge["ordinal"], badge["ttl"], badge["status"]) == (1, "1h", "will_cache")
    assert result["blocks"][2]["text"] == DOCUMENT
    assert result["lint"]["ok"] is True
    assert result["fields"]["messages[0].content[1].text"] == "messages[0].content[1]"


def test_the_badge_follows_the_sample_variables(api):
    short = preview(api, make_body(), variables={"document": "tiny", "question": "q"}).json()
    assert short["blocks"][1]["checkpoint"]["status"] == "below_minimum"


def test_a_body_that_does_not_render_still_gets_its_lint_report(api):
    body = make_body()
    body["messages"][1]["content"] = "{{ question }"
    result = preview(api, body).json()
    assert result["blocks"] == [] and result["lint"]["errors"][0]["code"] == "syntax_error"
    missing = preview(api, make_body(), variables={}).json()
    assert missing["render_error"]["message"].startswith("variable 'document'")


def test_a_malformed_body_is_a_400(api):
    assert preview(api, {"model": 5}).status_code == 400


def test_the_preview_names_the_hash_the_body_would_be_stored_under(api, template):
    from templates_app.services import version_create

    body = make_body()
    stored = version_create(template=template, body=body, message="v1")
    assert preview(api, body).json()["content_hash"] == stored.content_hash
    other = dict(body, params={"max_tokens": 7})
    assert preview(api, other).json()["content_hash"] != stored.content_hash
