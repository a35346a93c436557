"""``manage.py templates export|import|lint``: a template directory in and out of the database."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from templates_app import services
from templates_app.models import Label, Template, Version
from tests.factories import FULL_MESSAGES, FULL_TOOLS_AND_SYSTEM, make_body, make_template

pytestmark = pytest.mark.django_db
DEMO = Path(__file__).resolve().parents[2] / "fixtures" / "demo"


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("templates", *args, stdout=out, stderr=out)
    return out.getvalue()


def fails(*args: str) -> tuple[str, str]:
    """Run a command that must fail: what it printed, and its error."""
    out = io.StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("templates", *args, stdout=out, stderr=out)
    return out.getvalue(), str(raised.value)


def snapshot() -> dict:
    """Everything an import may write, comparable across databases."""
    return {
        template.slug: {
            "name": template.name,
            "description": template.description,
            "sample_variables": template.sample_variables,
            "aliases": sorted(template.aliases.values_list("alias", flat=True)),
            "versions": list(
                template.versions.order_by("number").values_list(
                    "number", "content_hash", "message", "author"
                )
            ),
            "labels": dict(template.labels.values_list("name", "version__number")),
        }
        for template in Template.objects.order_by("slug")
    }


def empty_database() -> None:
    """Every table emptied, as a new database is (stored versions cannot be deleted
    otherwise: the model refuses it). Needs a test outside a transaction: PostgreSQL will
    not truncate tables a transaction holds pending checks on."""
    call_command("flush", "--no-input", verbosity=0)
    assert not Template.objects.exists() and not Version.objects.exists()


@pytest.fixture
def stored() -> None:
    """The demo templates, and one using every feature of the body format: a repeated body
    (v3 = v1), aliases, a protected label and one on an older version."""
    call_command("load_demo", stdout=io.StringIO())
    template = make_template(
        slug="every-feature", aliases=["pmpt_abc123", "legacy-name"], sample_variables={}
    )
    for body in (FULL_TOOLS_AND_SYSTEM, FULL_MESSAGES, FULL_TOOLS_AND_SYSTEM):
        services.version_create(template=template, body=body, message="m", author="bob")
    services.label_move(template=template, label="production", version=2)
    services.label_move(template=template, label="canary", version=3)


@pytest.mark.django_db(transaction=True)
def test_export_then_import_into_an_empty_database_reproduces_everything(stored, tmp_path):
    before = snapshot()
    assert run("export", str(tmp_path)) == f"4 template file(s) written to {tmp_path}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "document-qa.yaml",
        "every-feature.yaml",
        "support-agent.yaml",
        "ticket-classifier.yaml",
    ]
    empty_database()
    out = run("import", str(tmp_path), "--labels")
    assert "4 template(s) created" in out and "7 version(s) added" in out
    assert snapshot() == before  # every version, content_hash, message, author, label, alias
    again = run("import", str(tmp_path), "--labels")
    assert again.endswith(
        "0 template(s) created, 0 updated, 4 unchanged; 0 version(s) added; 0 label(s) moved\n"
    )
    assert snapshot() == before


@pytest.mark.django_db(transaction=True)
def test_an_export_is_stable_and_json_says_the_same(stored, tmp_path):
    run("export", str(tmp_path / "a"))
    run("export", str(tmp_path / "b"))
    for path in (tmp_path / "a").iterdir():
        assert path.read_bytes() == (tmp_path / "b" / path.name).read_bytes()
    run("export", str(tmp_path / "json"), "--format", "json")
    before = snapshot()
    empty_database()
    run("import", str(tmp_path / "json"), "--labels")
    assert snapshot() == before


def test_export_without_history_keeps_the_latest_version_and_its_labels(stored, tmp_path):
    out = run("export", str(tmp_path), "--no-history", "--slug", "every-feature")
    assert "label production points at v2, which is not exported" in out
    data = (tmp_path / "every-feature.yaml").read_text()
    assert data.count("- number:") == 1 and "number: 3" in data
    assert "labels:\n  canary: 3\n" in data


def test_exporting_a_missing_slug_is_an_error(stored, tmp_path):
    _, error = fails("export", str(tmp_path), "--slug", "nope")
    assert error == "no template with slug 'nope'"


def test_a_dry_run_prints_the_plan_and_writes_nothing(tmp_path):
    shutil.copytree(DEMO, tmp_path, dirs_exist_ok=True)
    out = run("import", str(tmp_path), "--dry-run", "--labels")
    assert "document-qa.json: create template document-qa" in out
    assert "  + v2 (v2 in the file" in out
    assert "  label staging: (new) → v2 moved" in out
    assert out.rstrip().endswith(
        "dry run, nothing written: would have 3 template(s) created, 0 updated, 0 unchanged; "
        "4 version(s) added; 4 label(s) to move"
    )
    assert not Template.objects.exists()


def test_labels_move_only_when_asked(tmp_path):
    shutil.copytree(DEMO, tmp_path, dirs_exist_ok=True)
    out = run("import", str(tmp_path))
    assert "label production: (new) → v1 not moved (--labels moves it)" in out
    assert not Label.objects.exists()
    run("import", str(tmp_path), "--labels")
    assert Label.objects.get(template__slug="document-qa", name="staging").version.number == 2


def test_an_edit_in_place_adds_a_version_and_importing_it_again_adds_nothing(stored, tmp_path):
    run("export", str(tmp_path), "--slug", "document-qa")
    path = tmp_path / "document-qa.yaml"
    text = path.read_text()
    assert "Answer in" in text
    path.write_text(text.replace("Answer in", "Reply in", 1))
    out = run("import", str(path), "--labels")
    # v1's body changed in the file: a stored version is never edited, so it is added as v3,
    # and the label on it in the file follows it there.
    assert "update template document-qa" in out
    assert "  + v3 (v1 in the file, sha256:" in out
    assert "  label production: v1 → v3 moved" in out
    versions = Version.objects.filter(template__slug="document-qa").order_by("number")
    assert [v.number for v in versions] == [1, 2, 3]
    assert "Reply in" in versions[2].body and "Answer in" in versions[0].body
    labels = dict(
        Label.objects.filter(template__slug="document-qa").values_list("name", "version__number")
    )
    assert labels == {"production": 3, "staging": 2}
    assert run("import", str(path), "--labels").splitlines()[0].endswith("document-qa: unchanged")
    assert Version.objects.filter(template__slug="document-qa").count() == 3


def test_metadata_and_aliases_are_updated_and_stored_aliases_kept(stored, tmp_path):
    run("export", str(tmp_path), "--slug", "every-feature")
    path = tmp_path / "every-feature.yaml"
    text = path.read_text().replace("name: Document Q&A", "name: Every feature")
    text = text.replace("- legacy-name\n", "- new-name\n")
    path.write_text(text)
    out = run("import", str(path))
    assert "  name: changed" in out
    assert "  alias new-name: added" in out and "  alias legacy-name: not in the file, kept" in out
    template = Template.objects.get(slug="every-feature")
    assert template.name == "Every feature"
    assert set(template.aliases.values_list("alias", flat=True)) == {
        "legacy-name",
        "new-name",
        "pmpt_abc123",
    }


def test_a_bad_body_writes_nothing_of_its_template_and_names_file_and_line(tmp_path):
    shutil.copytree(DEMO, tmp_path, dirs_exist_ok=True)
    bad = json.loads((tmp_path / "document-qa.json").read_text())
    bad["versions"][1]["body"]["messages"][0]["content"][0]["text"] = "Today: {{ now() }}"
    (tmp_path / "document-qa.json").write_text(json.dumps(bad, indent=2))
    out, error = fails("import", str(tmp_path), "--labels")
    assert "document-qa.json: document-qa: not imported" in out
    line = next(
        n
        for n, text in enumerate((tmp_path / "document-qa.json").read_text().splitlines(), 1)
        if "now()" in text
    )
    assert f"document-qa.json:{line}: versions[1].body.messages[0].content[0].text:" in out
    assert "1 file(s) not imported" in error
    assert not Template.objects.filter(slug="document-qa").exists()  # not even v1
    assert Template.objects.filter(slug="support-agent").exists()  # the others went in


def test_an_unreadable_file_is_named_and_the_rest_imported(tmp_path):
    shutil.copytree(DEMO, tmp_path, dirs_exist_ok=True)
    (tmp_path / "broken.yaml").write_text("slug: broken\nversions: [\n")
    out, error = fails("import", str(tmp_path))
    assert "broken.yaml:3: not YAML" in out and "1 file(s) not imported" in error
    assert Template.objects.count() == 3


def test_a_label_the_file_cannot_have_is_an_error(tmp_path):
    body = json.dumps(make_body())
    (tmp_path / "t.yaml").write_text(
        f"slug: t\nversions:\n  - body: {body}\nlabels:\n  latest: 1\n"
    )
    out, _ = fails("import", str(tmp_path), "--labels")
    assert "t.yaml:5: labels.latest: 'latest' always means the newest version" in out
    assert not Template.objects.exists()


def test_lint_exits_non_zero_on_a_clock_in_a_cached_region_naming_file_and_line(tmp_path):
    template = {
        "slug": "dated",
        "versions": [{"body": make_body()}],
    }
    template["versions"][0]["body"]["messages"][0]["content"][0]["text"] = (
        "You answer from the document.\nToday is {{ now() }}."
    )
    from templates_app.engine.portable import dumps

    (tmp_path / "dated.yaml").write_text(dumps(template))
    shutil.copy(DEMO / "support-agent.json", tmp_path)
    out, error = fails("lint", str(tmp_path))
    line = next(
        n
        for n, text in enumerate((tmp_path / "dated.yaml").read_text().splitlines(), 1)
        if "now()" in text
    )
    assert f"dated.yaml:{line}: error nondeterministic at v1 messages[0].content[0].text:" in out
    assert error == "2 file(s): 1 error(s), 1 warning(s)"  # below_minimum: no samples
    assert not Template.objects.exists()  # lint reads files only


def test_lint_passes_the_demo_and_prints_warnings(tmp_path):
    shutil.copytree(DEMO, tmp_path, dirs_exist_ok=True)
    body = make_body()
    del body["messages"][0]["content"][1]["cache_control"]
    from templates_app.engine.portable import dumps

    (tmp_path / "plain.yaml").write_text(
        dumps({"slug": "plain", "sample_variables": {}, "versions": [{"body": body}]})
    )
    out = run("lint", str(tmp_path))
    assert "plain.yaml:" in out and "warning no_checkpoint" in out
    assert out.rstrip().endswith("4 file(s): 0 error(s), 1 warning(s)")


def test_a_path_with_no_template_files_is_an_error(tmp_path):
    _, error = fails("lint", str(tmp_path))
    assert error == f"{tmp_path}: no template files (*.yaml, *.yml, *.json)"
    _, error = fails("import", str(tmp_path / "missing"))
    assert error == f"{tmp_path / 'missing'}: no such file or directory"


def test_the_readmes_example_file_imports(tmp_path):
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    example = readme.split("```yaml\nslug: document-qa\n", 1)[1].split("```", 1)[0]
    (tmp_path / "document-qa.yaml").write_text("slug: document-qa\n" + example)
    out = run("import", str(tmp_path), "--labels")
    assert "1 template(s) created" in out and "1 version(s) added" in out
    version = Version.objects.get(template__slug="document-qa")
    assert version.body_data["messages"][0]["content"][0]["text"] == (
        "You are a careful analyst.\nAnswer from the document only."
    )
    assert version.body_data["messages"][0]["content"][1]["cache_control"]["ttl"] == "1h"
    assert Label.objects.get(name="production").version == version


def a_file(slug: str = "t", **fields) -> str:
    """A small template file's text, with the body as JSON (a YAML flow mapping)."""
    lines = [f"slug: {slug}"]
    lines += [f"{key}: {json.dumps(value)}" for key, value in fields.items()]
    lines += ["versions:", f"  - body: {json.dumps(make_body())}"]
    return "\n".join(lines) + "\n"


def test_a_slug_that_is_not_one_is_refused_by_lint_and_import(tmp_path):
    (tmp_path / "t.yaml").write_text(a_file("../escaped"))
    out, _ = fails("lint", str(tmp_path))
    assert "t.yaml:1: slug: '../escaped' is not a slug: up to 100 lowercase letters" in out
    out, _ = fails("import", str(tmp_path))
    assert "t.yaml:1: slug: '../escaped' is not a slug" in out
    assert not Template.objects.exists()


def test_a_file_that_lint_passes_but_the_database_refuses_fails_in_the_dry_run_too(tmp_path):
    make_template(slug="document-qa")
    (tmp_path / "t.yaml").write_text(a_file(aliases=["document-qa"]))
    out, error = fails("import", str(tmp_path), "--dry-run")
    assert "t.yaml:2: aliases[0]: " in out and "document-qa" in out
    assert "1 file(s) not imported" in error
    (tmp_path / "t.yaml").write_text(a_file("doc-alias"))
    services.template_aliases_set(template=Template.objects.get(), aliases=["doc-alias"])
    out, _ = fails("import", str(tmp_path), "--dry-run")
    assert "t.yaml:1: slug: slug 'doc-alias' is already an alias of template 'document-qa'" in out


def test_two_files_of_one_template_are_an_error_and_only_the_first_goes_in(stored, tmp_path):
    run("export", str(tmp_path), "--slug", "support-agent")
    run("export", str(tmp_path), "--slug", "support-agent", "--format", "json")
    Template.objects.filter(slug="support-agent").update(name="Renamed")
    out, error = fails("import", str(tmp_path))
    assert (
        "support-agent.yaml:1: slug: " in out
        and "support-agent.json holds support-agent too" in out
    )
    assert "support-agent.json: update template support-agent" in out
    # Counted once it is written, never before.
    assert "0 template(s) created, 1 updated" in error and "1 file(s) not imported" in error


def test_without_labels_an_unchanged_file_is_unchanged_each_time(stored, tmp_path):
    run("export", str(tmp_path), "--slug", "document-qa")
    services.label_move(
        template=Template.objects.get(slug="document-qa"), label="staging", version=1
    )
    for _ in range(2):
        out = run("import", str(tmp_path))
        assert out.splitlines()[0].endswith("document-qa: unchanged")
        assert "label staging: v1 → v2 not moved (--labels moves it)" in out
        assert out.rstrip().endswith("0 updated, 1 unchanged; 0 version(s) added; 0 label(s) moved")


def test_lint_refuses_a_label_the_file_cannot_have(tmp_path):
    (tmp_path / "t.yaml").write_text(a_file() + "labels:\n  latest: 1\n")
    out, error = fails("lint", str(tmp_path))
    assert "t.yaml:5: labels.latest: 'latest' always means the newest version" in out
    assert error == "1 file(s): 1 error(s), 0 warning(s)"


def test_a_json_files_error_on_a_later_line_of_a_text_names_that_texts_line(tmp_path):
    body = make_body()
    body["messages"][1]["content"] = "First line.\nSecond {{ question }\nThird."
    data = {"slug": "t", "versions": [{"body": body}]}
    (tmp_path / "t.json").write_text(json.dumps(data, indent=2))
    out, _ = fails("lint", str(tmp_path))
    line = next(
        n
        for n, text in enumerate((tmp_path / "t.json").read_text().splitlines(), 1)
        if "Second" in text
    )
    assert f"t.json:{line}: error syntax_error at v1 messages[1].content:" in out


def test_load_demo_keeps_what_was_edited_since(stored):
    template = Template.objects.get(slug="document-qa")
    services.template_update(template=template, description="Ours now.")
    call_command("load_demo", stdout=io.StringIO())
    assert Template.objects.get(slug="document-qa").description == "Ours now."
