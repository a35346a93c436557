"""The Redis databases tests use, kept apart per run: scripts/test.sh runs the SQLite and the
PostgreSQL suites at once and gives the second an offset (``CACHET_TEST_REDIS_OFFSET``)."""

from __future__ import annotations

import os

OFFSET = int(os.environ.get("CACHET_TEST_REDIS_OFFSET", "0"))
CACHE_DB = 9  # the shared Django cache of the send-path tests
WORKERS_DB = 14  # the two-worker test's shared cache, emptied before and after


def redis_url(db: int) -> str:
    """The URL of Redis database ``db`` for this run."""
    return f"redis://127.0.0.1:6379/{db + OFFSET}"
