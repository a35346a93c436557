"""Settings for the test suite: the real settings, with a fixed secret key when none is set."""

import os

os.environ.setdefault("SECRET_KEY", "test-suite-secret-key-not-for-production")

from config.settings import *  # noqa: E402,F403

# Invocation rows are written inside each send, and database reads happen on the
# request's own thread, here: a test's transaction hides its rows from other threads'
# connections. The production settings have tests of their own (test_writer.py,
# test_dbthreads.py) and serve the README, serve and load tests.
CACHET["INVOCATION_QUEUE"] = 0  # noqa: F405
CACHET["DB_THREADS"] = 0  # noqa: F405

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, as in production: an in-memory database shared between threads locks whole
    # tables at once ("database table is locked") where a file waits for its turn.
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": os.path.join(os.environ.get("TMPDIR", "/tmp"), f"cachet-test-{os.getpid()}.sqlite3")
    }
