"""The rooms of docs/architecture.md and the direction of their imports.

``gateway/`` and ``templates_app/engine/`` are plain libraries: they import no Django
(nor DRF, nor the app above them), and a provider's ``translate.py`` imports no HTTP or
AWS library, so translating a request never needs one. Imports point down:
``api``, ``admin`` → ``sending`` → ``services``/``selectors`` → ``models`` → ``engine`` →
``gateway``. Each rule is checked twice: every import statement in the source, including
those inside functions, and what a fresh interpreter has loaded after importing the room.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DJANGO = ("django", "rest_framework", "drf_spectacular", "adrf", "asgiref", "config")
IO_LIBRARIES = ("httpx", "httpcore", "boto3", "botocore", "urllib3", "aiohttp", "requests")
# What each room of templates_app may import from the others (besides itself).
ALLOWED = {
    "engine": set(),
    "models": {"engine"},
    "selectors": {"engine", "models"},
    "services": {"engine", "models", "selectors"},
    "sending": {"engine", "models", "selectors", "services"},
    "api": {"engine", "models", "selectors", "services", "sending"},
    "admin": {"engine", "models", "selectors", "services", "sending"},
    "management": {"engine", "models", "selectors", "services"},
}


def modules(folder: str) -> list[Path]:
    return sorted(p for p in (ROOT / folder).rglob("*.py") if "migrations" not in p.parts)


def imported(path: Path) -> list[str]:
    """Every module ``path`` imports, relative imports made absolute."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    names = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                prefix = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{prefix}.{base}" if base else prefix
            names.append(base)
            names += [f"{base}.{alias.name}" for alias in node.names]
    return names


def offending(paths: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in paths
        for name in imported(path)
        if name.split(".")[0] in forbidden
    ]


def loaded_after_import(module_names: list[str]) -> set[str]:
    """The modules (top-level names, and ``templates_app``'s rooms) a fresh interpreter holds
    after importing ``module_names``."""
    code = (
        "import importlib, sys\n"
        f"for name in {module_names!r}: importlib.import_module(name)\n"
        "print('\\n'.join(sorted({'.'.join(m.split('.')[:2]) if m.startswith('templates_app.')"
        " else m.split('.')[0] for m in sys.modules})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    return set(result.stdout.split())


def dotted(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@pytest.mark.parametrize("folder", ["gateway", "templates_app/engine"])
def test_the_plain_libraries_import_no_django_in_their_source(folder):
    assert offending(modules(folder), DJANGO) == []


def test_the_plain_libraries_load_no_django_when_imported():
    names = [dotted(p) for p in modules("gateway") + modules("templates_app/engine")]
    # Client modules are imported too: they may load httpx and boto3, never Django.
    loaded = loaded_after_import(names)
    assert loaded & set(DJANGO) == set()
    assert {m for m in loaded if m.startswith("templates_app.")} == {"templates_app.engine"}


def test_translations_import_no_http_or_aws_library():
    translations = sorted((ROOT / "gateway").glob("*/translate.py"))
    assert {p.parent.name for p in translations} == {"anthropic", "bedrock", "openai"}
    assert offending(translations, IO_LIBRARIES) == []
    loaded = loaded_after_import([dotted(p) for p in translations] + ["gateway.registry"])
    assert loaded & set(IO_LIBRARIES) == set()


def test_translating_a_request_loads_no_http_or_aws_library():
    code = (
        "import sys\n"
        "from gateway.registry import translate\n"
        "from gateway.types import ChatRequest, Message\n"
        "for model in ('anthropic/claude-sonnet-4-5', 'bedrock/amazon.nova-pro-v1:0',\n"
        "              'openai/gpt-4o', 'sim/claude-sonnet-4-5'):\n"
        "    translate(ChatRequest(model, (Message('user', 'Hi'),)))\n"
        f"sys.exit(sorted(m for m in sys.modules if m.split('.')[0] in {IO_LIBRARIES!r}) or 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr


def test_gateway_imports_nothing_from_the_app():
    assert offending(modules("gateway"), ("templates_app",)) == []


def room_of(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if parts[0] == "templates_app" and len(parts) > 1 else None


@pytest.mark.parametrize("room", sorted(ALLOWED))
def test_imports_in_the_app_point_down(room):
    where = ROOT / "templates_app" / room
    paths = modules(f"templates_app/{room}") if where.is_dir() else [where.with_suffix(".py")]
    wrong = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in paths
        for name in imported(path)
        if room_of(name) not in (None, room, "apps", *ALLOWED[room]) and name != "templates_app"
    ]
    assert wrong == []
