"""``GET /invocations`` pages by cursor: newest first with ``id`` breaking ties, no count and
no offset, a cursor that is not one of ours is a 400 saying so."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from templates_app.api.pagination import cursor_decode, cursor_encode
from templates_app.models import Invocation
from tests.factories import make_invocation, make_template, make_version

pytestmark = pytest.mark.django_db

URL = "/api/v1/invocations"
AT = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def version():
    return make_version(make_template())


def store(version, times: list[datetime], **fields) -> list[int]:
    rows = Invocation.objects.bulk_create(
        [make_invocation(version, created_at=at, **fields) for at in times]
    )
    return [row.pk for row in rows]


def every_page(api, params: dict) -> list[list[int]]:
    pages, response = [], api.get(URL, params)
    while True:
        assert response.status_code == 200, response.json()
        pages.append([row["id"] for row in response.json()["results"]])
        if response.json()["next"] is None:
            return pages
        response = api.get(response.json()["next"])


def test_pages_follow_newest_first_with_the_id_breaking_equal_timestamps(api, version):
    ids = store(version, [AT] * 7 + [AT - timedelta(seconds=1)] * 3 + [AT + timedelta(seconds=1)])
    pages = every_page(api, {"limit": 3})
    newest = ids[-1:] + sorted(ids[:7], reverse=True) + sorted(ids[7:10], reverse=True)
    assert [pk for page in pages for pk in page] == newest
    assert [len(page) for page in pages] == [3, 3, 3, 2]


def test_a_page_is_not_shifted_by_rows_logged_after_its_cursor_was_made(api, version):
    store(version, [AT - timedelta(minutes=n) for n in range(4)])
    first = api.get(URL, {"limit": 2}).json()
    store(version, [AT + timedelta(minutes=5)] * 3)  # newer rows arrive meanwhile
    second = api.get(first["next"]).json()
    seen = [row["id"] for row in first["results"] + second["results"]]
    assert len(set(seen)) == 4 and second["next"] is None


def test_the_next_link_keeps_the_filters(api, version):
    store(version, [AT - timedelta(minutes=n) for n in range(5)], status="timeout")
    store(version, [AT - timedelta(minutes=n, seconds=30) for n in range(5)])
    pages = every_page(api, {"limit": 2, "status": "timeout"})
    assert sum(len(page) for page in pages) == 5
    assert set(
        Invocation.objects.filter(pk__in=sum(pages, [])).values_list("status", flat=True)
    ) == {"timeout"}


def test_the_last_page_has_no_next_link_and_an_empty_list_is_one_empty_page(api, version):
    assert api.get(URL).json() == {"next": None, "results": []}
    store(version, [AT, AT])
    assert api.get(URL, {"limit": 2}).json()["next"] is None


@pytest.mark.parametrize(
    "cursor",
    ["not-a-cursor", cursor_encode((AT, 5))[:-3], "MjAyNi0wMy0xMFQxMjowMDowMHw", "fA"],
)
def test_a_cursor_that_is_not_ours_is_a_400_that_says_so(api, version, cursor):
    response = api.get(URL, {"cursor": cursor})
    assert response.status_code == 400
    error = response.json()["error"]
    assert "cursor" in error["details"] and "cursor" in error["message"]


def test_an_invalid_cursor_is_named_as_one(api, version):
    error = api.get(URL, {"cursor": "bogus"}).json()["error"]
    assert error["details"]["cursor"] == [
        "invalid cursor: pass the one in the previous page's `next` link, unchanged"
    ]


def test_offset_is_no_longer_a_parameter_of_the_log(api, version):
    error = api.get(URL, {"offset": 50}).json()["error"]
    assert error["message"] == "offset: unknown query parameter"


def test_limit_stays_one_to_five_hundred(api, version):
    assert api.get(URL, {"limit": 500}).status_code == 200
    assert api.get(URL, {"limit": 501}).status_code == 400


def test_a_cursor_names_a_time_and_an_id():
    assert cursor_decode(cursor_encode((AT, 42))) == (AT, 42)
    with pytest.raises(ValueError, match="not a cursor"):
        cursor_decode(cursor_encode((AT.replace(tzinfo=None), 42)))


def test_a_page_counts_nothing_skips_nothing_and_leaves_the_heavy_columns(api, version):
    store(version, [AT - timedelta(seconds=n) for n in range(5)])
    cursor = api.get(URL, {"limit": 2}).json()["next"]
    with CaptureQueriesContext(connection) as queries:
        response = api.get(cursor)
    assert response.status_code == 200
    table = connection.ops.quote_name(Invocation._meta.db_table)
    [listed] = [q["sql"] for q in queries.captured_queries if f"FROM {table}" in q["sql"]]
    assert "COUNT(" not in listed.upper() and "OFFSET" not in listed.upper()
    for heavy in ("block_hashes", "usage_raw", "prefix_variable_hashes", '"body"'):
        assert heavy not in listed
