"""Settings for the test suite: the real settings, with a fixed secret key when none is set."""

import os

os.environ.setdefault("SECRET_KEY", "test-suite-secret-key-not-for-production")

from config.settings import *  # noqa: E402,F403
