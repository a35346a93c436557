"""A bad operator catalog file stops startup with every problem named; a good one is in force."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def manage(*args: str, catalog: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CACHET_CATALOG_FILE": str(catalog), "DJANGO_SETTINGS_MODULE": ""}
    env.pop("DJANGO_SETTINGS_MODULE")
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_bad_catalog_file_stops_startup_naming_the_entry_and_field(tmp_path):
    catalog = tmp_path / "models.toml"
    catalog.write_text('[[models]]\nmodel = "anthropic/x"\nmax_checkpoints = 9\n', encoding="utf-8")

    done = manage("check", catalog=catalog)

    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr
    assert f"CACHET_CATALOG_FILE={catalog}" in done.stderr
    assert "anthropic/x: max_checkpoints must be a whole number from 0 to 4" in done.stderr


def test_a_good_catalog_file_is_in_force(tmp_path):
    catalog = tmp_path / "models.toml"
    catalog.write_text('version = "acme-1"\n[[models]]\nmodel = "openai/mine"\nmin_tokens = 64\n')
    code = (
        "from gateway.catalog import active_catalog, get_profile;"
        "print(active_catalog().version, get_profile('openai/mine').min_tokens)"
    )

    done = manage("shell", "-c", code, catalog=catalog)

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "2026-12-03 + acme-1 64"
