#!/usr/bin/env bash
# The whole suite: lint, then pytest on SQLite, then again on PostgreSQL when it
# answers (CACHET_TEST_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/test),
# every test but those of the Django-free packages (gateway/, engine/), which ran above.
# Extra arguments go to pytest.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh || exit 1

.venv/bin/ruff check . || exit 1

# The browser tests (tests/browser) drive Debian's Chromium, never a downloaded browser build.
# Install it when we can; when we cannot, those tests fail under CI=true and skip elsewhere.
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "== installing Debian's chromium for the browser tests (apt-get, log in artifacts/)"
  mkdir -p artifacts
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } \
      >artifacts/apt-chromium.log 2>&1; then
    echo "== could not install chromium (see artifacts/apt-chromium.log)" >&2
  fi
fi

run_pytest() {
  local label=$1; shift
  echo "== tests on $label"
  .venv/bin/python -m pytest "$@"
  local status=$?
  if [ "$status" -eq 5 ]; then
    echo "pytest collected no tests on $label: that is a failure" >&2
    return 1
  fi
  return "$status"
}

DATABASE_URL= run_pytest SQLite -q "$@" || exit 1

pg_url=${CACHET_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
if .venv/bin/python - "$pg_url" <<'PY' 2>/dev/null
import sys
import psycopg
psycopg.connect(sys.argv[1].replace("postgres://", "postgresql://", 1), connect_timeout=3).close()
PY
then
  # The tests of gateway/ and engine/ (code that imports no Django, tests that may not use a
  # database: tests/conftest.py refuses one) answer the same on any database: run once, above.
  DATABASE_URL=$pg_url run_pytest PostgreSQL -q \
    --ignore=tests/gateway --ignore=tests/templates_app/engine "$@" || exit 1
else
  echo "== PostgreSQL does not answer at $pg_url: skipped (SQLite run passed)"
fi
