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
