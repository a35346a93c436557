"""Database work on long-lived threads: connections kept between jobs, dropped after errors.

The jobs read rows the test wrote from other threads, so the test commits them
(``transaction=True``).
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time

import pytest
from asgiref.sync import async_to_sync
from django.db import DatabaseError, connection, connections

from templates_app.models import Template
from templates_app.sending import dbthreads
from templates_app.sending.dbthreads import run_db
from tests.factories import make_template

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="none")


@pytest.fixture
def db_threads(settings):
    """Sets ``CACHET["DB_THREADS"]``; afterwards closes the threads' connections and
    forgets the executor, so other tests get the test settings' behaviour back."""
    counts: list[int] = []

    def use(count: int) -> None:
        settings.CACHET = {**settings.CACHET, "DB_THREADS": count}
        counts.append(count)

    yield use
    executor = dbthreads._executor
    if executor is not None:
        count = counts[-1]
        # One job a thread: each waits until every thread holds one.
        barrier = threading.Barrier(count)

        def close(_: int) -> None:
            barrier.wait(timeout=5)
            connections.close_all()

        list(executor.map(close, range(count)))
        executor.shutdown(wait=True)
        dbthreads._executor = None


def run(fn, *args, **kwargs):
    return asyncio.run(run_db(fn, *args, **kwargs))


def the_connection() -> object | None:
    """This thread's open DB-API connection, or None."""
    return connection.connection


def read_slug(slug: str) -> tuple[str, object, bool]:
    found = Template.objects.filter(slug=slug).exists()
    return threading.current_thread().name, connection.connection, found


@pytest.mark.django_db(transaction=True)
def test_jobs_run_on_cachet_db_threads_that_keep_their_connection(db_threads):
    db_threads(1)
    make_template(slug="committed")
    first_thread, first_connection, found = run(read_slug, "committed")
    assert found
    assert first_thread.startswith("cachet-db")
    second_thread, second_connection, _ = run(read_slug, "committed")
    assert second_thread == first_thread
    assert second_connection is first_connection
    assert run(the_connection) is first_connection


@pytest.mark.django_db(transaction=True)
def test_jobs_share_no_more_threads_than_configured(db_threads):
    db_threads(2)

    def slow_job() -> str:
        time.sleep(0.05)
        return threading.current_thread().name

    async def many() -> list[str]:
        return await asyncio.gather(*(run_db(slow_job) for _ in range(6)))

    names = asyncio.run(many())
    assert len(set(names)) == 2
    assert all(name.startswith("cachet-db") for name in names)


def skip_if_close_is_ignored() -> None:
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip("Django ignores close() on an in-memory SQLite database")


@pytest.mark.django_db(transaction=True)
def test_a_job_that_hit_a_database_error_leaves_the_next_job_a_fresh_connection(db_threads):
    skip_if_close_is_ignored()
    db_threads(1)

    def broken_query() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table")

    run(read_slug, "anything")
    with pytest.raises(DatabaseError):
        run(broken_query)
    assert run(the_connection) is None
    _, reopened, found = run(read_slug, "anything")
    assert reopened is not None and found is False


@pytest.mark.django_db(transaction=True)
def test_a_job_that_failed_without_a_database_error_keeps_the_connection(db_threads):
    db_threads(1)

    def query_then_fail() -> None:
        Template.objects.exists()
        raise ValueError("not the database's fault")

    _, kept, _ = run(read_slug, "anything")
    with pytest.raises(ValueError, match="not the database's fault"):
        run(query_then_fail)
    assert run(the_connection) is kept


@pytest.mark.django_db(transaction=True)
def test_jobs_see_the_context_variables_of_their_caller(db_threads):
    db_threads(1)

    async def as_request() -> str:
        REQUEST_ID.set("req-42")
        return await run_db(REQUEST_ID.get)

    assert asyncio.run(as_request()) == "req-42"


@pytest.mark.django_db(transaction=True)
def test_without_db_threads_the_connection_is_closed_after_each_job(db_threads):
    skip_if_close_is_ignored()
    db_threads(0)

    def job() -> tuple[int, object | None, bool]:
        was_open = connection.connection
        found = Template.objects.filter(slug="committed").exists()
        return threading.get_ident(), was_open, found

    make_template(slug="committed")
    first_thread, _, found = run(job)
    second_thread, left_open, _ = run(job)
    assert found
    assert second_thread == first_thread  # the same thread, whose connection was closed
    assert left_open is None
    assert dbthreads._executor is None


@pytest.mark.django_db
def test_without_db_threads_a_job_inside_the_callers_transaction_leaves_it_open(db_threads):
    # Called from sync code (a test, the sync test client) the job runs on the calling
    # thread, inside its transaction: closing the connection would end that transaction.
    db_threads(0)
    make_template(slug="uncommitted")

    def job() -> bool:
        return Template.objects.filter(slug="uncommitted").exists()

    assert async_to_sync(run_db)(job) is True
    assert connection.connection is not None
    assert connection.in_atomic_block
    assert Template.objects.filter(slug="uncommitted").exists()
