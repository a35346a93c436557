#!/usr/bin/env bash
# The demo: SQLite, the demo templates, an admin login and an API key printed,
# the server on http://127.0.0.1:8000 (PORT to change it). No provider keys needed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export DEBUG=${DEBUG:-true}
# A simulated answer begins half a second after its call, as a real one would: concurrent sends
# of a cold prefix then show coalescing (README, "Cache economics").
export CACHET_SIM_LATENCY=${CACHET_SIM_LATENCY:-0.5}
.venv/bin/python manage.py migrate --noinput -v0
.venv/bin/python manage.py demo_setup --url "http://127.0.0.1:${PORT:-8000}"
exec .venv/bin/uvicorn config.asgi:application --host 127.0.0.1 --port "${PORT:-8000}"
