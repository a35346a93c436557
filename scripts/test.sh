#!/usr/bin/env bash
# The whole suite: lint, then pytest on SQLite and, at the same time, on PostgreSQL when it
# answers (CACHET_TEST_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/test): every
# test but those of the Django-free packages (gateway/, engine/), which run on SQLite only.
# Extra arguments go to both runs. Exits non-zero when either fails.
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

pg_url=${CACHET_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
if ! .venv/bin/python - "$pg_url" <<'PY' 2>/dev/null
import sys
import psycopg
psycopg.connect(sys.argv[1].replace("postgres://", "postgresql://", 1), connect_timeout=3).close()
PY
then
  DATABASE_URL= run_pytest SQLite -q "$@" || exit 1
  echo "== PostgreSQL does not answer at $pg_url: skipped (SQLite run passed)"
  exit 0
fi

# Both databases at once: the two runs share nothing but the machine. Each has its own
# database, Redis databases (CACHET_TEST_REDIS_OFFSET), screenshot folder and temporary
# folder; ports are free ones. The PostgreSQL run leaves out the tests of gateway/ and
# engine/ (code that imports no Django, tests that may not use a database: tests/conftest.py
# refuses one): they answer the same on any database, and run once, on SQLite.
mkdir -p artifacts
pg_log=artifacts/tests-postgresql.log
( DATABASE_URL=$pg_url CACHET_TEST_REDIS_OFFSET=1 run_pytest PostgreSQL -q \
    --ignore=tests/gateway --ignore=tests/templates_app/engine "$@" ) >"$pg_log" 2>&1 &
pg_pid=$!
DATABASE_URL= run_pytest SQLite -q "$@"
sqlite_status=$?
wait "$pg_pid"
pg_status=$?
cat "$pg_log"
echo "== SQLite: exit $sqlite_status; PostgreSQL: exit $pg_status (its output: $pg_log)"
[ "$sqlite_status" -eq 0 ] && [ "$pg_status" -eq 0 ]
