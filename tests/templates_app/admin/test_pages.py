"""The template page in the admin (versions, labels, try it, charts), the diff page, label
moves with protected labels (admin and API), daily stats and the invocations admin."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from xml.etree import ElementTree

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from gateway.catalog import get_profile
from templates_app import selectors, services
from templates_app.admin.formats import count as format_count
from templates_app.admin.formats import usd as format_usd
from templates_app.engine.diffing import rewrite_estimate
from templates_app.engine.errors import PermissionDeniedError
from templates_app.models import Invocation, LabelMove
from tests.factories import make_body, make_template, make_version

pytestmark = pytest.mark.django_db

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


class Node:
    def __init__(self, tag: str, attrs: dict[str, str | None]) -> None:
        self.tag, self.attrs, self.children, self.parts = tag, attrs, [], []

    @property
    def text(self) -> str:
        """The text content, whitespace collapsed."""
        return " ".join(
            "".join(part if isinstance(part, str) else part.text for part in self.parts).split()
        )

    def iter(self):
        yield self
        for child in self.children:
            yield from child.iter()

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Node]:
        """Descendants by tag and attributes (``class_`` matches one class)."""
        found = []
        for node in self.iter():
            if tag and node.tag != tag:
                continue
            ok = True
            for name, value in attrs.items():
                if name == "class_":
                    ok &= value in (node.attrs.get("class") or "").split()
                else:
                    ok &= node.attrs.get(name.replace("_", "-")) == value
            if ok:
                found.append(node)
        return found

    def find(self, tag: str | None = None, **attrs: str) -> Node:
        found = self.find_all(tag, **attrs)
        assert found, f"no <{tag or '*'} {attrs}>"
        return found[0]


class TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.root = Node("document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        node = Node(tag, dict(attrs))
        self.stack[-1].children.append(node)
        self.stack[-1].parts.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_endtag(self, tag):
        for index in range(len(self.stack) - 1, 0, -1):
            if self.stack[index].tag == tag:
                del self.stack[index:]
                return

    def handle_data(self, data):
        self.stack[-1].parts.append(data)


def dom(response) -> Node:
    assert response.status_code == 200, response.content[:2000]
    builder = TreeBuilder()
    builder.feed(response.content.decode())
    return builder.root


def changed_body() -> dict:
    """The factory body with new instructions before the checkpoint, and new params."""
    body = make_body(params={"max_tokens": 300, "temperature": 0})
    body["messages"][0]["content"][0]["text"] = "Answer from the document <b>only</b> & briefly."
    return body


@pytest.fixture
def template():
    template = make_template()
    make_version(template, message="first")
    make_version(template, body=changed_body(), message="new <instructions>", author="bob")
    services.label_move(template=template, label="production", version=1, moved_by="alice")
    return template


def login(username: str, *, superuser: bool = False, perms: tuple[str, ...] = ()) -> Client:
    users = get_user_model().objects
    if superuser:
        user = users.create_superuser(username, f"{username}@example.com", "pw-for-tests")
    else:
        user = users.create_user(username, password="pw-for-tests", is_staff=True)
        codenames = ("view_template", "change_template", "view_invocation", *perms)
        user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def root() -> Client:
    return login("root", superuser=True)


@pytest.fixture
def editor() -> Client:
    """Staff who may edit templates but not move protected labels."""
    return login("editor")


def change_url(template) -> str:
    return reverse("admin:templates_app_template_change", args=[template.pk])


def move_url(template, label: str) -> str:
    return reverse("admin:templates_app_template_label_move", args=[template.pk, label])


def diff_url(template) -> str:
    return reverse("admin:templates_app_template_diff", args=[template.pk])


def make_invocation(version, **fields) -> Invocation:
    values = {
        "template": version.template,
        "version": version,
        "model": "sim/claude-sonnet-4-5",
        "provider": "sim",
        "status": Invocation.Status.OK,
        "last_fingerprint": "sha256:aaa",
        "input_tokens": 100,
        "output_tokens": 20,
        "cache_read_tokens": 0,
        "cache_write_5m_tokens": 0,
        "cache_write_1h_tokens": 0,
        "cost_usd": Decimal("0.001"),
        "cost_without_cache_usd": Decimal("0.001"),
        "saved_usd": Decimal("0"),
    }
    values.update(fields)
    return Invocation.objects.create(**values)


# --- the template page ---------------------------------------------------------------------


def test_template_page_lists_versions_newest_first_with_labels_lint_and_links(root, template):
    page = dom(root.get(change_url(template)))
    rows = page.find(id="versions-table").find_all("tr")
    assert [row.attrs["data-version"] for row in rows if "data-version" in row.attrs] == ["2", "1"]
    second, first = (page.find("tr", data_version=n) for n in ("2", "1"))
    assert "latest" in second.text and "bob" in second.text and "new <instructions>" in second.text
    assert "production" in first.text and "latest" not in first.text
    assert "ok" in first.text
    links = {a.text: a.attrs["href"] for a in first.find_all("a")}
    assert links["edit from this version"] == "../editor/?from=1"
    version_one = template.versions.get(number=1)
    assert links["view"] == reverse("admin:templates_app_version_change", args=[version_one.pk])
    assert page.find(id="new-version-link").attrs["href"] == "../editor/"


def test_version_with_lint_warnings_shows_their_count(root):
    template = make_template()
    body = make_body()
    del body["messages"][0]["content"][1]["cache_control"]  # "no checkpoint" is a warning
    make_version(template, body=body)
    row = dom(root.get(change_url(template))).find("tr", data_version="1")
    assert "1 warning" in row.text


def test_compare_form_opens_the_diff_of_the_previous_and_latest_version(root, template):
    form = dom(root.get(change_url(template))).find("form", id="compare-form")
    assert form.attrs["action"] == diff_url(template)
    selected = {
        select.attrs["name"]: [
            o.attrs["value"] for o in select.find_all("option") if "selected" in o.attrs
        ]
        for select in form.find_all("select")
    }
    assert selected == {"a": ["1"], "b": ["2"]}
    assert form.find_all("button", type="submit")


def test_labels_section_has_a_move_form_per_label_a_new_label_form_and_the_history(root, template):
    services.label_move(template=template, label="staging", version=2, moved_by="bob")
    page = dom(root.get(change_url(template)))
    labels = page.find(id="labels")
    forms = labels.find_all("form", class_="label-move")
    assert [f.attrs["data-label"] for f in forms] == ["production", "staging"]
    production = forms[0]
    assert production.attrs["action"] == move_url(template, "production")
    current = [
        o.attrs["value"]
        for o in production.find("select", name="version").find_all("option")
        if "selected" in o.attrs
    ]
    assert current == ["1"]
    # Moving to the version it points at is no move: template_page.js keeps the button off
    # until another version is chosen (tests/browser/test_labels.py drives that); without
    # script the button works, and the confirmation says there is nothing to move.
    assert production.find("select", name="version").attrs["data-current"] == "1"
    assert "disabled" not in production.find("button").attrs
    new = labels.find("form", id="new-label-form")
    assert new.find("input", name="label") and new.find("select", name="version")
    history = [li.text for li in page.find(id="label-history").find_all("li")]
    assert len(history) == 2
    assert "staging" in history[0] and "(new) → v2" in history[0] and "bob" in history[0]
    assert "production" in history[1] and "alice" in history[1]


def test_try_it_panel_offers_labels_and_versions_with_the_sample_variables(root, template):
    page = dom(root.get(change_url(template)))
    panel = page.find(id="try-it")
    assert panel.attrs["data-send-url"] == reverse("send", args=[template.slug])
    options = [o.attrs["value"] for o in panel.find("select", id="try-target").find_all("option")]
    assert options == ["label:production", "label:latest", "version:2", "version:1"]
    target = panel.find("select", id="try-target")
    assert [o.attrs["value"] for o in target.find_all("option") if "selected" in o.attrs] == [
        "label:production"
    ]
    model = panel.find("select", id="try-model")
    assert [o.attrs["value"] for o in model.find_all("option") if "selected" in o.attrs] == [
        "sim/claude-sonnet-4-5"
    ]
    assert '"question": "Uptime?"' in panel.find("textarea", id="try-variables").text
    assert panel.find("button", id="try-send")
    result = page.find(id="try-result")
    assert result.attrs["data-ready"] == "false"
    for field in ("cache_write_tokens", "cache_read_tokens", "saved_usd", "miss", "output"):
        assert result.find(data_field=field)
    assert page.find(id="try-error")
    assert b"cachet/template_page.js" in root.get(change_url(template)).content


def test_try_it_send_works_with_the_admin_session_and_csrf_token(template):
    user = get_user_model().objects.create_superuser("csrf", "c@example.com", "pw-for-tests")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    page = dom(client.get(change_url(template)))
    token = page.find(id="try-it").find("input", name="csrfmiddlewaretoken").attrs["value"]
    url = reverse("send", args=[template.slug])
    payload = {"variables": template.sample_variables, "label": "production"}
    refused = client.post(url, payload, content_type="application/json")
    sent = client.post(url, payload, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert refused.status_code == 403
    assert sent.status_code == 200, sent.json()
    assert sent.json()["usage"]["cache_write_1h_tokens"] > 0


def test_analytics_holds_three_well_formed_svg_charts(root, template):
    make_invocation(template.versions.get(number=1), cache_read_tokens=500)
    response = root.get(change_url(template))
    charts = dom(response).find(id="analytics").find_all("svg")
    assert [c.attrs["data-chart"] for c in charts] == ["hit_ratio", "tokens", "savings"]
    content = response.content.decode()
    for name in ("hit_ratio", "tokens", "savings"):
        start = content.index(f'data-chart="{name}"')
        svg = content[content.rindex("<svg", 0, start) : content.index("</svg>", start) + 6]
        assert ElementTree.fromstring(svg).get("data-chart") == name


def test_add_page_has_no_authoring_sections(root):
    page = root.get(reverse("admin:templates_app_template_add"))
    assert page.status_code == 200
    assert b'id="versions-table"' not in page.content


# --- label moves ---------------------------------------------------------------------------


def test_move_confirmation_shows_from_to_and_the_cache_impact(root, template):
    page = dom(root.get(move_url(template, "production") + "?version=2"))
    assert "production" in page.find("p", class_="cachet-move-line").text
    assert "v1 → v2" in page.find("p", class_="cachet-move-line").text
    impact = page.find(id="cache-impact")
    assert "checkpoint 1 gets a new prefix" in impact.text
    assert impact.find(class_="checkpoint-impact").attrs["data-changed"] == "true"
    assert page.find(id="rewrite-cost")
    assert page.find("button", id="confirm-move").attrs.get("disabled") is None
    assert template.labels.get(name="production").version.number == 1  # GET moves nothing


def test_confirming_moves_the_label_records_who_and_redirects_with_a_message(root, template):
    response = root.post(move_url(template, "production"), {"version": "2"}, follow=True)
    assert response.redirect_chain[-1][0] == change_url(template) + "#labels"
    assert "Moved production from v1 to v2." in [str(m) for m in response.context["messages"]]
    # The redirect lands on the labels section, so the message shows there, not at the top.
    page = dom(response)
    assert page.find(id="label-messages").text == "Moved production from v1 to v2."
    assert "Moved production" not in page.find("ul", class_="messagelist").text
    move = LabelMove.objects.filter(label__name="production").first()
    assert (move.from_version.number, move.to_version.number, move.moved_by) == (1, 2, "root")
    # Rollback is a move back.
    root.post(move_url(template, "production"), {"version": "1"})
    assert template.labels.get(name="production").version.number == 1


def test_a_move_to_the_version_the_label_points_at_is_not_offered(root, template):
    page = dom(root.get(move_url(template, "production") + "?version=1"))
    assert "already points at v1: there is nothing to move" in page.find(id="move-noop").text
    assert not page.find_all("button", id="confirm-move")
    assert not page.find_all("form", class_="cachet-confirm")
    assert not page.find_all(id="cache-impact")


def test_a_stale_post_to_the_same_version_moves_nothing_and_warms_nothing(root, template):
    moves, calls = LabelMove.objects.count(), Invocation.objects.count()
    response = root.post(
        move_url(template, "production"), {"version": "1", "warm": "on"}, follow=True
    )
    assert response.redirect_chain[-1][0] == change_url(template) + "#labels"
    notice = dom(response).find(id="label-messages")
    assert notice.text == "Production already points at v1: nothing changed."
    assert (LabelMove.objects.count(), Invocation.objects.count()) == (moves, calls)


@pytest.fixture
def cold_simulator(fresh_simulator):
    """No prefix is warm yet: neither in the simulator nor in this process's memory of sends."""
    from templates_app.sending.coalescing import coalescing_forget

    coalescing_forget()
    yield
    coalescing_forget()


def test_the_move_confirmation_offers_a_warm_up_left_off(root, template, cold_simulator):
    page = dom(root.get(move_url(template, "production") + "?version=2"))
    box = page.find("input", name="warm")
    assert box.attrs["type"] == "checkbox" and "checked" not in box.attrs
    assert "Warm v2 first" in page.find("p", class_="cachet-warm").text

    root.post(move_url(template, "production"), {"version": "2"})

    assert template.labels.get(name="production").version.number == 2
    assert not Invocation.objects.exists()


def test_confirming_with_the_warm_up_writes_first_and_says_what_it_wrote_and_cost(
    root, template, cold_simulator
):
    response = root.post(
        move_url(template, "production"), {"version": "2", "warm": "on"}, follow=True
    )

    [message] = [str(m) for m in response.context["messages"]]
    row = Invocation.objects.get()
    assert (row.version.number, row.metadata, row.caller) == (2, {"warmup": True}, "root")
    assert message == (
        "Warm-up of v2: wrote the cached prefix of checkpoint 1 (about "
        f"{row.checkpoints[0]['tokens']:,} tokens); {row.cache_write_tokens:,} tokens written, "
        f"cost {format_usd(row.cost_usd)}. Moved production from v1 to v2."
    )
    assert row.cache_write_tokens > 1000 and row.cost_usd > 0
    assert template.labels.get(name="production").version.number == 2


def test_a_warm_version_is_not_written_again_from_the_admin(root, template, cold_simulator):
    root.post(move_url(template, "staging"), {"version": "2", "warm": "on"})

    response = root.post(
        move_url(template, "production"), {"version": "2", "warm": "on"}, follow=True
    )

    message = [str(m) for m in response.context["messages"]][-1]  # after staging's
    assert message.startswith("Warm-up of v2: the cached prefix of checkpoint 1 is warm already")
    assert message.endswith("Moved production from v1 to v2.")
    assert Invocation.objects.count() == 1


def test_a_failed_warm_up_is_a_message_and_the_label_stays(
    root, template, cold_simulator, settings
):
    from gateway.errors import OverloadedError
    from templates_app.sending import clients

    async def overloaded() -> None:
        raise OverloadedError("sim", 529, "Overloaded")

    settings.GATEWAY = {**settings.GATEWAY, "SIM_HOLD": overloaded, "MAX_ATTEMPTS": 1}
    clients.forget_clients()

    response = root.post(
        move_url(template, "production"), {"version": "2", "warm": "on"}, follow=True
    )

    [message] = [str(m) for m in response.context["messages"]]
    assert message == "sim returned 529: Overloaded The label was not moved."
    assert template.labels.get(name="production").version.number == 1
    assert Invocation.objects.get().status == "provider_error"


def test_new_label_form_goes_to_the_confirmation_of_that_label(root, template):
    response = root.get(move_url(template, "-") + "?label=canary&version=2")
    assert response.status_code == 302
    assert response["Location"] == move_url(template, "canary") + "?version=2"
    page = dom(root.get(response["Location"]))
    assert "(new label)" in page.find("p", class_="cachet-move-line").text
    root.post(move_url(template, "canary"), {"version": "2"})
    assert template.labels.get(name="canary").updated_by == "root"


@pytest.mark.parametrize("name", ["Bad Name", "latest", "", "a" * 65])
def test_invalid_new_label_names_are_refused_with_a_message(root, template, name):
    response = root.get(move_url(template, "-"), {"label": name, "version": "1"}, follow=True)
    [message] = [str(m) for m in response.context["messages"]]
    assert "not a valid label name" in message or "cannot be moved" in message
    assert not template.labels.exclude(name="production").exists()


def test_a_bad_label_name_in_the_url_is_a_message_not_a_confirmation(root, template):
    response = root.get(move_url(template, "Not Valid") + "?version=1", follow=True)
    assert "not a valid label name" in [str(m) for m in response.context["messages"]][0]
    assert response.redirect_chain[-1][0] == change_url(template) + "#labels"


def test_moving_to_a_missing_version_is_a_message_not_an_error(root, template):
    response = root.get(move_url(template, "staging") + "?version=9", follow=True)
    assert "has no version 9" in [str(m) for m in response.context["messages"]][0]


def test_protected_label_control_is_disabled_with_an_explanation(editor, template):
    page = dom(editor.get(change_url(template)))
    production = page.find("form", data_label="production")
    assert "disabled" in production.find("select", name="version").attrs
    assert "disabled" in production.find("button").attrs
    assert "Can move protected labels" in production.text
    confirm = dom(editor.get(move_url(template, "production") + "?version=2"))
    assert "disabled" in confirm.find("button", id="confirm-move").attrs


def test_moving_a_protected_label_without_the_permission_is_403(editor, template):
    response = editor.post(move_url(template, "production"), {"version": "2"})
    assert response.status_code == 403
    assert template.labels.get(name="production").version.number == 1


def test_staff_who_may_only_view_templates_cannot_move_labels(template):
    viewer = Client()
    user = get_user_model().objects.create_user("viewer", password="pw-for-tests", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_template"))
    viewer.force_login(user)
    confirm = dom(viewer.get(move_url(template, "staging") + "?version=2"))
    assert "disabled" in confirm.find("button", id="confirm-move").attrs
    assert viewer.post(move_url(template, "staging"), {"version": "2"}).status_code == 403
    assert not template.labels.filter(name="staging").exists()


def test_labels_history_and_versions_take_the_same_queries_however_many_rows(
    root, template, django_assert_num_queries
):
    pages = [
        change_url(template),
        reverse("admin:templates_app_labelmove_changelist"),
        reverse("admin:templates_app_invocation_changelist"),
    ]
    make_invocation(template.versions.get(number=1))
    few = {}
    for url in pages:
        root.get(url)
        with CaptureQueriesContext(connection) as queries:
            root.get(url)
        few[url] = len(queries.captured_queries)
    for number in range(3, 7):
        version = make_version(template, body=make_body(params={"max_tokens": number}))
        services.label_move(template=template, label="production", version=number)
        services.label_move(template=template, label=f"canary-{number}", version=number)
        make_invocation(version)
    for url in pages:
        with django_assert_num_queries(few[url], info=url):
            root.get(url)


def test_other_labels_move_without_the_permission(editor, template):
    editor.post(move_url(template, "staging"), {"version": "2"})
    assert template.labels.get(name="staging").updated_by == "editor"


def test_the_permission_lets_staff_move_protected_labels(template):
    client = login("releaser", perms=("move_protected_label",))
    assert client.post(move_url(template, "production"), {"version": "2"}).status_code == 302
    assert template.labels.get(name="production").version.number == 2


def test_protected_labels_come_from_settings(settings, editor, template):
    settings.CACHET = {**settings.CACHET, "PROTECTED_LABELS": ["staging"]}
    editor.post(move_url(template, "production"), {"version": "2"})
    assert template.labels.get(name="production").version.number == 2
    assert editor.post(move_url(template, "staging"), {"version": "2"}).status_code == 403


def test_label_pages_need_staff(template):
    client = Client()
    response = client.get(move_url(template, "production") + "?version=2")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_service_refuses_a_protected_label_when_not_allowed(template):
    with pytest.raises(PermissionDeniedError) as caught:
        services.label_move(
            template=template, label="production", version=2, protected_allowed=False
        )
    assert caught.value.status_code == 403 and caught.value.type == "permission_denied"
    services.label_move(template=template, label="staging", version=2, protected_allowed=False)


def api_move(client: APIClient, template, label: str, version: int):
    url = reverse("label-move", args=[template.slug, label])
    return client.put(url, {"version": version}, format="json")


def test_api_refuses_protected_moves_to_signed_in_staff_without_the_permission(template):
    staffer = get_user_model().objects.create_user("staffer", password="x", is_staff=True)
    staffer.user_permissions.add(Permission.objects.get(codename="change_template"))
    client = APIClient()
    client.force_login(staffer)
    response = api_move(client, template, "production", 2)
    assert response.status_code == 403
    assert response.json()["error"]["type"] == "permission_denied"
    assert api_move(client, template, "staging", 2).status_code == 200


def test_api_lets_staff_with_the_permission_and_api_keys_move_protected_labels(api, template):
    user = get_user_model().objects.create_user("releaser", password="x", is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(codename="move_protected_label"),
        Permission.objects.get(codename="change_template"),
    )
    client = APIClient()
    client.force_login(user)
    assert api_move(client, template, "production", 2).status_code == 200
    assert api_move(api, template, "production", 1).status_code == 200


# --- diff page ------------------------------------------------------------------------------


def test_diff_page_defaults_to_previous_and_latest_with_escaped_coloured_lines(root, template):
    response = root.get(diff_url(template))
    page = dom(response)
    assert "v1 → v2" in page.find("h1").text
    blocks = page.find(id="diff-blocks")
    added = [s.text for s in blocks.find_all("span", class_="diff-add")]
    removed = [s.text for s in blocks.find_all("span", class_="diff-del")]
    assert added == ["+Answer from the document <b>only</b> & briefly."]
    assert removed == ["-You answer from the document only."]
    assert b"&lt;b&gt;only&lt;/b&gt; &amp; briefly" in response.content
    params = page.find(id="diff-params")
    assert any("300" in s.text for s in params.find_all("span", class_="diff-add"))
    assert "Unchanged" in page.find(id="diff-variables").text


def test_diff_page_says_which_checkpoint_prefixes_change(root, template):
    page = dom(root.get(diff_url(template) + "?a=1&b=2"))
    impact = page.find(id="cache-impact")
    assert "checkpoint 1 gets a new prefix" in impact.text
    [checkpoint] = impact.find_all(class_="checkpoint-impact")
    assert (checkpoint.attrs["data-ordinal"], checkpoint.attrs["data-changed"]) == ("1", "true")


def test_diff_of_a_suffix_only_edit_keeps_every_prefix(root):
    template = make_template()
    make_version(template)
    body = make_body()
    body["messages"][1]["content"] = "In {{ words }} words, please: {{ question }}"
    make_version(template, body=body)
    page = dom(root.get(diff_url(template)))
    [checkpoint] = page.find(id="cache-impact").find_all(class_="checkpoint-impact")
    assert checkpoint.attrs["data-changed"] == "false"
    assert "$0.00" in page.find(id="rewrite-cost").text


def test_rewrite_cost_is_tokens_times_write_minus_read_times_recent_cache_entries(root, template):
    one = template.versions.get(number=1)
    now = timezone.now()
    for fingerprint in ("sha256:a", "sha256:b", "sha256:b", "sha256:c"):
        make_invocation(one, last_fingerprint=fingerprint, created_at=now - timedelta(hours=2))
    make_invocation(one, last_fingerprint="sha256:old", created_at=now - timedelta(hours=30))
    make_invocation(one, last_fingerprint="sha256:failed", status=Invocation.Status.TIMEOUT)
    two = template.versions.get(number=2)
    tokens = two.lint["checkpoints"][0]["tokens"]
    prices = get_profile("sim/claude-sonnet-4-5").prices
    expected = Decimal(tokens) * (prices.cache_write_1h - prices.cache_read) / 1_000_000 * 3

    page = dom(root.get(diff_url(template)))
    cost = page.find(id="rewrite-cost")
    assert format_usd(expected) in cost.text
    assert format_count(tokens) in cost.text and "3 distinct in recent traffic" in cost.text
    assert "cache write price for its TTL − cache read price" in cost.text

    # The REST diff carries the same impact and the same estimate.
    api = root.get(f"/api/v1/templates/{template.slug}/versions/1/diff/2").json()
    assert api["rewrite"]["entries"] == 3 and api["rewrite"]["priced"] is True
    assert api["rewrite"]["total_usd"] == pytest.approx(float(expected))
    assert format_usd(api["rewrite"]["total_usd"]) in cost.text
    assert [row["tokens"] for row in api["rewrite"]["rows"]] == [tokens]
    assert [c["prefix_changed"] for c in api["checkpoints"]] == [
        el.attrs["data-changed"] == "true"
        for el in page.find(id="cache-impact").find_all(class_="checkpoint-impact")
    ]


def cached_at(version, fingerprint: str) -> list[dict]:
    """A call's recorded checkpoints: the version's one checkpoint, with ``fingerprint``."""
    [checkpoint] = version.lint["checkpoints"]
    return [{**checkpoint, "fingerprint": fingerprint}]


def test_a_rollback_discounts_the_entries_the_target_still_has_live(root, template):
    one, two = template.versions.get(number=1), template.versions.get(number=2)
    assert one.lint["checkpoints"][0]["ttl"] == "1h"
    now = timezone.now()
    # v2's traffic, which the rollback moves: two distinct cache entries.
    for fingerprint in ("sha256:x", "sha256:y"):
        make_invocation(two, last_fingerprint=fingerprint, created_at=now - timedelta(minutes=5))
    # v1's own calls: one entry used 10 minutes ago is live (1h TTL); one used 2 hours ago
    # has expired; one on another model is no entry of this model's.
    for fingerprint, ago, model in (
        ("sha256:p", timedelta(minutes=10), "sim/claude-sonnet-4-5"),
        ("sha256:q", timedelta(hours=2), "sim/claude-sonnet-4-5"),
        ("sha256:r", timedelta(minutes=10), "sim/claude-haiku-4-5"),
    ):
        make_invocation(
            one,
            model=model,
            last_fingerprint=fingerprint,
            checkpoints=cached_at(one, fingerprint),
            created_at=now - ago,
        )
    tokens = one.lint["checkpoints"][0]["tokens"]
    prices = get_profile("sim/claude-sonnet-4-5").prices
    per_entry = Decimal(tokens) * (prices.cache_write_1h - prices.cache_read) / 1_000_000

    api = root.get(f"/api/v1/templates/{template.slug}/versions/2/diff/1").json()["rewrite"]
    [row] = api["rows"]
    assert (api["entries"], row["live_entries"], row["entries"]) == (2, 1, 1)
    assert api["total_usd"] == pytest.approx(float(per_entry))
    assert row["total_usd"] == api["total_usd"]
    page = dom(root.get(move_url(template, "production") + "?version=1"))  # nothing, v1 → v1
    assert not page.find_all(id="rewrite-cost")
    services.label_move(template=template, label="production", version=2)
    page = dom(root.get(move_url(template, "production") + "?version=1"))
    cost = page.find(id="rewrite-cost")
    assert format_usd(per_entry) in cost.text
    assert (cost.find(class_="rewrite-live").text, cost.find(class_="rewrite-entries").text) == (
        "1",
        "1",
    )

    # A second live entry covers all the traffic: the rollback writes nothing again.
    make_invocation(
        one,
        last_fingerprint="sha256:s",
        checkpoints=cached_at(one, "sha256:s"),
        created_at=now - timedelta(minutes=50),
    )
    api = root.get(f"/api/v1/templates/{template.slug}/versions/2/diff/1").json()["rewrite"]
    assert (api["rows"][0]["live_entries"], api["rows"][0]["entries"]) == (2, 0)
    assert api["total_usd"] == 0
    summary = root.get(f"/api/v1/templates/{template.slug}/versions/2/diff/1").json()["summary"]
    assert "still has those entries live" in summary
    cost = dom(root.get(move_url(template, "production") + "?version=1")).find(id="rewrite-cost")
    assert "$0.00" in cost.text
    assert "still live" in cost.find(class_="rewrite-live-note").text
    # The other direction is unaffected: v2 has no entry live at v1's checkpoint.
    api = root.get(f"/api/v1/templates/{template.slug}/versions/1/diff/2").json()["rewrite"]
    assert api["rows"][0]["live_entries"] == 0


def test_rewrite_estimate_counts_each_changed_checkpoint_once_over_nested_prefixes():
    prices = get_profile("sim/claude-sonnet-4-5").prices  # write 5m 3.75, 1h 6, read 0.30
    lint_checkpoints = [
        {"ordinal": 1, "tokens": 10, "ttl": None, "status": "below_minimum"},
        {"ordinal": 2, "tokens": 2000, "ttl": "1h", "status": "will_cache"},
        {"ordinal": 3, "tokens": 5000, "ttl": "5m", "status": "will_cache"},
    ]
    impact = [{"ordinal": n, "prefix_changed": n == 3} for n in (1, 2, 3)]
    only_last = rewrite_estimate(
        impact=impact, lint_checkpoints=lint_checkpoints, prices=prices, entries=4
    )
    assert [(r["ordinal"], r["tokens"]) for r in only_last["rows"]] == [(3, 3000)]
    assert (
        only_last["total_usd"]
        == Decimal(3000) * (Decimal("3.75") - Decimal("0.30")) / 1_000_000 * 4
    )

    impact = [{"ordinal": n, "prefix_changed": True} for n in (1, 2, 3)]
    every = rewrite_estimate(
        impact=impact, lint_checkpoints=lint_checkpoints, prices=prices, entries=0
    )
    assert [(r["ordinal"], r["tokens"], r["ttl"]) for r in every["rows"]] == [
        (2, 2000, "1h"),
        (3, 3000, "5m"),
    ]
    assert every["entries"] == 1  # at least one entry is written
    assert (
        every["total_usd"]
        == (
            Decimal(2000) * (Decimal(6) - Decimal("0.30"))
            + Decimal(3000) * (Decimal("3.75") - Decimal("0.30"))
        )
        / 1_000_000
    )
    unpriced = rewrite_estimate(
        impact=impact, lint_checkpoints=lint_checkpoints, prices=None, entries=1
    )
    assert unpriced["priced"] is False and unpriced["rows"] == []


def test_diff_page_for_a_missing_version_is_404(root, template):
    assert root.get(diff_url(template) + "?a=1&b=7").status_code == 404


# --- daily stats ----------------------------------------------------------------------------


def test_daily_stats_give_one_row_per_utc_day_including_empty_days(template):
    one = template.versions.get(number=1)
    today = date(2026, 3, 31)

    def at(day: date, hour: int, minute: int = 0) -> datetime:
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)

    make_invocation(
        one, created_at=at(today, 23, 59), cache_read_tokens=1000, saved_usd=Decimal("0.5")
    )
    make_invocation(
        one, created_at=at(today, 0, 0), cache_write_1h_tokens=1000, saved_usd=Decimal("-0.2")
    )
    make_invocation(
        one, created_at=at(today, 1), status=Invocation.Status.TIMEOUT, input_tokens=None
    )
    make_invocation(one, created_at=at(today - timedelta(days=2), 12), cache_read_tokens=10)
    make_invocation(one, created_at=at(today - timedelta(days=30), 12))  # outside the window
    make_invocation(one, created_at=at(today + timedelta(days=1), 0))  # after it

    rows = selectors.template_daily_stats(template, 30, today=today)

    assert len(rows) == 30
    assert [rows[0]["date"], rows[-1]["date"]] == [today - timedelta(days=29), today]
    last, two_days_ago, empty = rows[-1], rows[-3], rows[-2]
    assert (last["calls"], last["ok"], last["hits"], last["hit_ratio"]) == (3, 2, 1, 0.5)
    assert last["cache_read_tokens"] == 1000 and last["cache_write_1h_tokens"] == 1000
    assert last["input_tokens"] == 200
    assert last["saved_usd"] == pytest.approx(0.3)
    assert last["saved_gross_usd"] == pytest.approx(0.5)
    assert last["write_overhead_usd"] == pytest.approx(-0.2)
    assert (two_days_ago["calls"], two_days_ago["hit_ratio"]) == (1, 1.0)
    assert (empty["calls"], empty["hit_ratio"], empty["cache_read_tokens"], empty["saved_usd"]) == (
        0,
        None,
        0,
        0.0,
    )
    assert sum(row["calls"] for row in rows) == 4


def test_daily_stats_default_to_the_last_30_days_up_to_today():
    template = make_template()
    rows = selectors.template_daily_stats(template)
    assert len(rows) == 30 and rows[-1]["date"] == timezone.now().astimezone(UTC).date()
    assert all(row["calls"] == 0 for row in rows)


# --- invocations admin ---------------------------------------------------------------------


def test_invocation_list_shows_tokens_cost_savings_and_miss_and_filters_by_version(root, template):
    one, two = (template.versions.get(number=n) for n in (1, 2))
    make_invocation(
        one,
        cache_write_1h_tokens=4321,
        saved_usd=Decimal("-0.0123"),
        miss={"reason": "first_call", "message": "first call"},
    )
    make_invocation(two, cache_read_tokens=8765, saved_usd=Decimal("0.0456"))
    url = reverse("admin:templates_app_invocation_changelist")
    listing = root.get(url).content.decode()
    for text in ("4,321", "8,765", "-$0.0123", "$0.0456", "first_call", "v1", "v2"):
        assert text in listing
    only_two = root.get(url, {"template__id__exact": template.pk, "version": "2"}).content.decode()
    assert "8,765" in only_two and "4,321" not in only_two


def test_version_filter_offers_the_chosen_template_versions(root, template):
    other = make_template(slug="other")
    make_version(other)
    make_invocation(other.versions.get(number=1))
    url = reverse("admin:templates_app_invocation_changelist")
    page = root.get(url, {"template__id__exact": other.pk}).content.decode()
    assert f"?template__id__exact={other.pk}&amp;version=1" in page
    assert "version=2" not in page


def test_invocation_detail_is_read_only_with_checkpoints_miss_and_error(root, template):
    one = template.versions.get(number=1)
    checkpoint = {
        "ordinal": 1,
        "path": "messages[0].content[1]",
        "ttl": "1h",
        "tokens": 1689,
        "min_tokens": 1024,
        "status": "will_cache",
        "fingerprint": "sha256:fp-<1>",
    }
    ok = make_invocation(
        one,
        checkpoints=[checkpoint],
        miss={"reason": "ttl_expired", "message": "checkpoint 1: this prefix <expired>"},
    )
    failed = make_invocation(
        one,
        status=Invocation.Status.PROVIDER_ERROR,
        error_type="rate_limited",
        error_message="slow down <now>",
        provider_status=429,
    )
    page = root.get(reverse("admin:templates_app_invocation_change", args=[ok.pk]))
    content = page.content.decode()
    assert 'name="_save"' not in content
    table = dom(page).find("table", class_="cachet-checkpoints")
    assert [td.text for td in table.find("tbody").find_all("td")] == [
        "1",
        "messages[0].content[1]",
        "1h",
        "1,689",
        "1,024",
        "will_cache",
        "sha256:fp-<1>",
    ]
    assert "ttl_expired" in content and "this prefix &lt;expired&gt;" in content
    error = root.get(
        reverse("admin:templates_app_invocation_change", args=[failed.pk])
    ).content.decode()
    assert "rate_limited" in error and "slow down &lt;now&gt;" in error and "429" in error
    post = root.post(reverse("admin:templates_app_invocation_change", args=[ok.pk]), {})
    assert post.status_code == 403


def test_a_loss_too_small_to_show_has_no_minus_sign():
    from decimal import Decimal

    from templates_app.admin.formats import usd as format_usd

    assert format_usd(Decimal("-0.0000001")) == "$0.00"
    assert format_usd(Decimal("-0.0114")) == "-$0.0114"
