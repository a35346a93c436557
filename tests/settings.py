"""Settings for the test suite: the real settings, with a fixed secret key when none is set."""

import os

os.environ.setdefault("SECRET_KEY", "test-suite-secret-key-not-for-production")

from config.settings import *  # noqa: E402,F403

# Invocation rows are written inside each send here: the tests' transactions hide their
# rows from another thread's connection. The background writer has tests of its own
# (tests/templates_app/test_writer.py) and serves the README and load tests.
CACHET["INVOCATION_QUEUE"] = 0  # noqa: F405
