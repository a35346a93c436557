"""``templates import --from SOURCE``: each importer's fixtures go in, render and send through
the simulator; importing them again adds nothing; a checkpoint is proposed, and added when
asked, where a source has none."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from templates_app.models import LabelMove, Template, Version

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "importers"
SOURCES = {
    "langfuse": "langfuse",
    "portkey": "portkey",
    "openai": "openai",
    "dotprompt": "dotprompt",
}
SIM = "sim/claude-sonnet-4-5"


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("templates", *args, stdout=out, stderr=out)
    return out.getvalue()


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_every_fixture_imports_renders_and_sends_and_imports_once(source, api, fresh_simulator):
    folder = FIXTURES / SOURCES[source]
    out = run("import", "--from", source, str(folder), "--labels")
    assert "not imported" not in out, out
    templates = list(Template.objects.order_by("slug"))
    assert templates, out
    for template in templates:
        for version in template.versions.order_by("number"):
            assert version.lint["ok"], (template.slug, version.number, version.lint["errors"])
            # Rendered and sent on the simulator (the source's own model needs a key), with the
            # sample values of the variables this version declares.
            declared = version.body_data.get("variables", {})
            values = {k: v for k, v in template.sample_variables.items() if k in declared}
            response = api.post(
                f"/api/v1/templates/{template.slug}/send",
                {"variables": values, "version": version.number, "model": SIM},
                format="json",
            )
            assert response.status_code == 200, (template.slug, response.json())
            assert response.json()["output"]["text"]
    versions, moves = Version.objects.count(), LabelMove.objects.count()
    again = run("import", "--from", source, str(folder), "--labels")
    assert f"0 template(s) created, 0 updated, {len(templates)} unchanged" in again
    assert (Version.objects.count(), LabelMove.objects.count()) == (versions, moves)


def long_langfuse_prompt(tmp_path: Path) -> Path:
    """A Langfuse chat prompt whose long system text is static: a prefix worth caching."""
    prompt = {
        "name": "policy-qa",
        "version": 1,
        "type": "chat",
        "prompt": [
            {"role": "system", "content": "Refund policy, clause by clause. " * 400},
            {"role": "user", "content": "{{question}}"},
        ],
        "config": {"model": "claude-sonnet-4-5"},
        "labels": ["production", "latest"],
        "tags": [],
    }
    path = tmp_path / "policy-qa.json"
    path.write_text(json.dumps(prompt))
    return path


def test_a_checkpoint_is_proposed_in_the_dry_run_and_added_only_when_asked(
    tmp_path, api, fresh_simulator
):
    path = long_langfuse_prompt(tmp_path)
    out = run("import", "--from", "langfuse", str(path), "--dry-run")
    assert "policy-qa: checkpoint proposed at messages[0].content: the static prefix" in out
    assert "(--checkpoints adds it)" in out
    assert not Template.objects.exists()

    run("import", "--from", "langfuse", str(path))
    [plain] = Version.objects.all()
    assert plain.lint["checkpoints"] == []

    out = run("import", "--from", "langfuse", str(path), "--checkpoints", "--labels")
    assert "checkpoint proposed at messages[0].content" in out and ": added" in out
    marked = Version.objects.get(number=2)  # a new body: it carries the checkpoint
    [checkpoint] = marked.lint["checkpoints"]
    assert checkpoint["status"] == "will_cache"
    sends = [
        api.post(
            "/api/v1/templates/policy-qa/send",
            {"variables": {"question": q}, "model": SIM},
            format="json",
        ).json()
        for q in ("Can I return shoes?", "And a tent?")
    ]
    assert sends[0]["usage"]["cache_write_tokens"] > 0
    assert sends[1]["usage"]["cache_read_tokens"] == sends[0]["usage"]["cache_write_tokens"]


def test_checkpoints_go_with_from_only(tmp_path):
    with pytest.raises(CommandError, match="--checkpoints goes with --from"):
        run("import", str(tmp_path), "--checkpoints")


def test_a_source_file_that_is_not_utf8_is_an_error_naming_it(tmp_path):
    (tmp_path / "latin1.json").write_bytes('{"name": "caf\xe9"}'.encode("latin-1"))
    with pytest.raises(CommandError, match=r"latin1\.json: not UTF-8 text"):
        run("import", "--from", "langfuse", str(tmp_path))


def test_a_source_folder_without_its_files_is_an_error(tmp_path):
    with pytest.raises(CommandError, match=r"no \.prompt files to import from dotprompt"):
        run("import", "--from", "dotprompt", str(tmp_path))
    (tmp_path / "bad.json").write_text("{\n  nope\n}")
    with pytest.raises(CommandError, match=r"bad\.json:2: not JSON"):
        run("import", "--from", "langfuse", str(tmp_path))


def test_the_plan_names_the_file_each_template_came_from():
    out = run("import", "--from", "langfuse", str(FIXTURES / "langfuse"), "--dry-run")
    release = FIXTURES / "langfuse" / "release-notes.json"
    assert f"{release} (langfuse: release-notes): create template release-notes" in out
    export = FIXTURES / "langfuse" / "export.json"
    assert f"{export}[" in out.split("create template ticket-classifier")[0].splitlines()[-1]
