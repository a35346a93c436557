"""The README's tour works as written against the demo served by uvicorn."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text("utf-8")


def tour_commands() -> list[str]:
    tour = README.split("## A short tour", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", tour, flags=re.S)
    return [line for block in blocks for line in block.splitlines() if line.strip()]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(port: int, server: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"server exited: {server.stderr.read()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def test_readme_opens_with_the_two_commands():
    first_block = re.search(r"```bash\n(.*?)```", README, flags=re.S).group(1).splitlines()
    assert [line.split("#")[0].strip() for line in first_block] == [
        "./scripts/demo.sh",
        "./scripts/test.sh",
    ]


def sdk_snippets() -> list[str]:
    section = README.split("## Keep your SDK", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo as the README's first command sets it up, served by uvicorn: its port, the
    printed API key and the environment."""
    tmp_path = tmp_path_factory.mktemp("demo")
    env = {**os.environ, "DEBUG": "true", "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}"}
    env["CACHET_SIM_LATENCY"] = demo_sim_latency()
    env.pop("DJANGO_SETTINGS_MODULE", None)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, cwd=ROOT, check=True, timeout=120)
    setup = subprocess.run(
        [*manage, "demo_setup"],
        env=env,
        cwd=ROOT,
        check=True,
        timeout=120,
        capture_output=True,
        text=True,
    )
    key = re.search(r"export CACHET_KEY=(\S+)", setup.stdout).group(1)
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "config.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(port, server)
        yield port, {**env, "CACHET_KEY": key}
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_tour_runs_as_written_against_the_demo(demo):
    port, env = demo
    for command in tour_commands():
        command = command.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
        done = subprocess.run(
            ["bash", "-o", "pipefail", "-c", command],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
        assert "Traceback" not in done.stdout + done.stderr


def test_the_sdk_snippets_run_as_written_against_the_demo(demo):
    port, env = demo
    snippets = sdk_snippets()
    assert len(snippets) == 3  # OpenAI Chat Completions, OpenAI Responses, Anthropic
    for snippet in snippets:
        code = snippet.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env
        )
        assert done.returncode == 0, f"{snippet}\n{done.stdout}\n{done.stderr}"
        assert done.stdout.strip(), snippet  # each prints its answer


def demo_sim_latency() -> str:
    """The simulator's time to first byte that ``scripts/demo.sh`` sets."""
    script = (ROOT / "scripts" / "demo.sh").read_text("utf-8")
    return re.search(r"CACHET_SIM_LATENCY:-([0-9.]+)", script).group(1)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_coalescing_example_writes_the_cold_document_once(demo):
    port, env = demo
    section = README.split("## Cache economics", 1)[1].split("\n## ", 1)[0]
    script = re.search(r"```bash\n(.*?)```", section, flags=re.S).group(1)
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", script.replace("127.0.0.1:8000", f"127.0.0.1:{port}")],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.split("\n")[:-1]
    assert len(lines) == 8, done.stdout
    leaders = [line for line in lines if line.startswith("led ")]
    assert len(leaders) == 1, done.stdout
    _, _, wrote, _, read = leaders[0].split()
    assert int(wrote) > 1024 and read == "0"
    # The others waited for the leader, or (on a busy machine) came once its answer had
    # begun and found the document warm: either way they read it.
    others = [line.split(" ", 1) for line in lines if line not in leaders]
    assert {rest for _, rest in others} == {f"wrote 0 read {wrote}"}, done.stdout
    assert {role for role, _ in others} <= {"waited", "alone"}
