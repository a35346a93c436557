#!/usr/bin/env bash
# Production server: uvicorn with CACHET_WORKERS processes (default: one per core) on
# HOST:PORT (default 0.0.0.0:8000). Needs SECRET_KEY and, in production, DATABASE_URL
# (PostgreSQL) and REDIS_URL (shared cache). On SIGTERM uvicorn stops accepting
# connections and lets in-flight sends finish (up to CACHET_GRACEFUL_TIMEOUT seconds).
# Idle client connections stay open CACHET_KEEPALIVE_TIMEOUT seconds (default 75): longer
# than a load balancer's own idle timeout (60 s on AWS), so that it never sends a request
# on a connection the server is closing.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
: "${SECRET_KEY:?set SECRET_KEY (a long random string)}"
workers=${CACHET_WORKERS:-$(nproc 2>/dev/null || echo 2)}
.venv/bin/python manage.py migrate --noinput -v0
exec .venv/bin/uvicorn config.asgi:application \
  --host "${HOST:-0.0.0.0}" --port "${PORT:-8000}" \
  --workers "$workers" --no-access-log --proxy-headers \
  --timeout-graceful-shutdown "${CACHET_GRACEFUL_TIMEOUT:-620}" \
  --timeout-keep-alive "${CACHET_KEEPALIVE_TIMEOUT:-75}"
