"""Database work of the async API views, on a few long-lived threads.

Django runs a request's sync code on a thread made for that request, so every request
opens a database connection of its own: about 0.7 ms on SQLite, which parses the schema
again for each connection, and a pool checkout plus session setup on PostgreSQL. The
send path instead runs its reads on ``CACHET_DB_THREADS`` threads that keep their
connections, and never holds one while it waits on a provider.

With ``CACHET_DB_THREADS=0`` the work goes through ``sync_to_async`` as Django would do
it, and the connection is closed (given back to the pool) as soon as the work is done.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection as db

T = TypeVar("T")

_executor: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def _threads() -> ThreadPoolExecutor | None:
    global _executor
    count = settings.CACHET["DB_THREADS"]
    if count <= 0:
        return None
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=count, thread_name_prefix="cachet-db")
        return _executor


async def run_db(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` (sync, reads the database) off the event loop."""
    threads = _threads()
    if threads is None:
        return await sync_to_async(_then_release)(fn, args, kwargs)
    context = contextvars.copy_context()
    job = functools.partial(context.run, _keeping_connection, fn, args, kwargs)
    return await asyncio.get_running_loop().run_in_executor(threads, job)


def _keeping_connection(fn: Callable[..., T], args: Any, kwargs: Any) -> T:
    try:
        return fn(*args, **kwargs)
    finally:
        # The connection stays open for the next job, unless it failed (the database
        # restarted, say): then the next job opens a fresh one.
        if db.connection is not None and db.errors_occurred:
            db.close()


def _then_release(fn: Callable[..., T], args: Any, kwargs: Any) -> T:
    try:
        return fn(*args, **kwargs)
    finally:
        # This thread's request may now wait on a provider for minutes: give the
        # connection back rather than hold it idle (not inside a test's transaction).
        if not db.in_atomic_block:
            db.close()
