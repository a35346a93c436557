"""The production command serves the API with several workers and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

from tests.test_readme import free_port, wait_for

ROOT = Path(__file__).resolve().parents[1]


def test_serve_runs_workers_answers_and_stops_on_sigterm(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "SECRET_KEY": "serve-test-secret",
        "CACHET_WORKERS": "2",
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "DATABASE_URL": f"sqlite:///{tmp_path}/s.db",
    }
    for name in ("DEBUG", "DJANGO_SETTINGS_MODULE"):
        env.pop(name, None)
    server = subprocess.Popen(
        [str(ROOT / "scripts" / "serve.sh")],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        wait_for(port, server, seconds=90)
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/templates", timeout=10)
        except urllib.error.HTTPError as error:
            assert error.code == 401  # up, and asking for an API key
        else:
            raise AssertionError("the API answered without an API key")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        output, _ = server.communicate(timeout=60)
    assert server.returncode == 0, output
    assert output.count("Started server process") == 2, output
