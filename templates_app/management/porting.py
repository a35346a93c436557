"""Template directories: export stored templates as template files, plan and apply an import
of such files, and lint them. The file format is ``engine/portable.py``; the management
command ``templates`` (export, import, lint) is the way in.

Import is idempotent by ``content_hash``. A file's version is already stored when the
template has a version with the same number and hash, or else a version with the same hash
that no other version of the file stands for; every other version is added, numbered after
the template's last. So importing an unchanged file adds nothing, an export imported into an
empty database gets the same numbers, and a body edited in place in the file is added as a
new version (a stored version is never changed). Each template is written in one transaction,
and only when its whole file checks: a bad body adds nothing of that template.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction

from .. import services
from ..engine.errors import BodyError, CachetError
from ..engine.portable import SUFFIXES, TemplateFile, TemplateFileError, file_name, versions
from ..engine.portable import dumps as file_text
from ..engine.portable import loads as read_file
from ..engine.rendering import compile_body
from ..models import Template, alias_conflicts, slug_alias_problem

IMPORTED_BY = "templates import"  # who a label move made by an import is recorded as


# --- export ---------------------------------------------------------------------------------


def template_file(template: Template, *, history: bool = True) -> tuple[dict[str, Any], list[str]]:
    """The template as a template file, and notes on what it leaves out. Without
    ``history``, only the latest version, with the labels that point at it."""
    stored = list(template.versions.order_by("number"))
    kept = stored if history else stored[-1:]
    numbers = {version.number for version in kept}
    labels = {
        label.name: label.version.number for label in template.labels.select_related("version")
    }
    notes = [
        f"{template.slug}: label {name} points at v{number}, which is not exported"
        for name, number in sorted(labels.items())
        if number not in numbers
    ]
    return {
        "slug": template.slug,
        "name": template.name,
        "description": template.description,
        "aliases": sorted(template.aliases.values_list("alias", flat=True)),
        "sample_variables": template.sample_variables,
        "versions": [
            {
                "number": version.number,
                "message": version.message,
                "author": version.author,
                "body": version.body_data,
            }
            for version in kept
        ],
        "labels": {name: n for name, n in sorted(labels.items()) if n in numbers},
    }, notes


def export(
    directory: Path, *, slugs: Iterable[str] = (), history: bool = True, fmt: str = "yaml"
) -> tuple[list[Path], list[str]]:
    """Write one file per template (all, or those of ``slugs``) into ``directory``; return
    the files written and the notes. Raises ``CachetError`` for a slug that names none."""
    wanted = list(slugs)
    templates = Template.objects.order_by("slug")
    if wanted:
        found = set(templates.filter(slug__in=wanted).values_list("slug", flat=True))
        missing = [slug for slug in wanted if slug not in found]
        if missing:
            raise CachetError(f"no template with slug {', '.join(repr(s) for s in missing)}")
        templates = templates.filter(slug__in=wanted)
    directory.mkdir(parents=True, exist_ok=True)
    written, notes = [], []
    for template in templates.prefetch_related("aliases"):
        data, left_out = template_file(template, history=history)
        path = directory / file_name(template.slug, fmt=fmt)
        path.write_text(file_text(data, fmt=fmt), encoding="utf-8")
        written.append(path)
        notes += left_out
    return written, notes


def _label_numbers(template: Template) -> dict[str, int]:
    return {label.name: label.version.number for label in template.labels.select_related("version")}


# --- reading a directory --------------------------------------------------------------------


def template_files(path: Path) -> list[Path]:
    """The template files at ``path``: the file itself, or a directory's ``*.yaml``, ``*.yml``
    and ``*.json`` (not its subdirectories), sorted. Raises ``CachetError`` when there are none."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise CachetError(f"{path}: no such file or directory")
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in SUFFIXES)
    if not files:
        raise CachetError(f"{path}: no template files (*.yaml, *.yml, *.json)")
    return files


def load(path: Path) -> TemplateFile:
    """Read one template file. Raises ``TemplateFileError`` naming the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise TemplateFileError(f"{path}: not UTF-8 text ({exc.reason})") from None
    return read_file(text, source=str(path))


# --- lint -----------------------------------------------------------------------------------


@dataclass
class Finding:
    """One lint error or warning, placed in its file."""

    severity: str  # "error" or "warning"
    where: str  # file:line
    code: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.severity} {self.code} at {self.path}: {self.message}"


def file_lint(file: TemplateFile) -> list[Finding]:
    """Every version of ``file`` checked and linted against its model, with the file's
    sample variables: the findings, errors first."""
    samples = file.data.get("sample_variables") or {}
    found: list[Finding] = []
    for index, (number, version) in enumerate(versions(file)):
        try:
            report = services.body_lint(body=version["body"], sample_variables=samples)
        except BodyError as exc:
            issues = [("error", issue) for issue in exc.details]
        else:
            issues = [("error", issue) for issue in report["errors"]]
            issues += [("warning", issue) for issue in report["warnings"]]
        for severity, issue in issues:
            where, _ = _place(file, index, issue)
            path = issue.get("path") or "body"
            code = issue.get("code", "invalid_body")
            found.append(Finding(severity, where, code, f"v{number} {path}", issue["message"]))
    return sorted(found, key=lambda f: f.severity != "error")


def _place(file: TemplateFile, index: int, issue: dict[str, Any]) -> tuple[str, str]:
    """``file:line`` of a body issue of the file's ``index``-th version, and its path in the
    file (``versions[0].body.messages[1].content``)."""
    path = issue.get("path") or "body"
    full = f"versions[{index}].body" + ("" if path == "body" else f".{path}")
    return file.where(full, issue.get("line")), full


# --- import ---------------------------------------------------------------------------------


@dataclass
class VersionStep:
    """One version of a file: the stored version it is, or ``None`` when it is added."""

    file_number: int
    version: dict[str, Any]
    content_hash: str
    stored: int | None
    report: dict[str, Any] = field(default_factory=dict)  # its lint, reused when it is added


@dataclass
class TemplatePlan:
    """What importing one file does to its template."""

    file: TemplateFile
    template: Template | None
    fields: dict[str, Any] = field(default_factory=dict)  # metadata to create or change
    aliases: list[str] = field(default_factory=list)  # aliases to add
    kept_aliases: list[str] = field(default_factory=list)  # stored, not in the file: kept
    steps: list[VersionStep] = field(default_factory=list)
    labels: list[tuple[str, int | None, int]] = field(default_factory=list)  # name, from, file no.
    errors: list[str] = field(default_factory=list)

    @property
    def slug(self) -> str:
        return self.file.data["slug"]

    @property
    def added(self) -> list[VersionStep]:
        return [step for step in self.steps if step.stored is None]

    def changes(self, *, labels: bool) -> bool:
        """Whether importing writes anything (label moves only count when they are made)."""
        moves = labels and self.labels
        return bool(self.template is None or self.fields or self.aliases or self.added or moves)

    def lines(self, *, labels: bool) -> list[str]:
        """The plan as text, one line per change (labels as moved, or as left)."""
        source = self.file.source
        if self.errors:
            return [f"{source}: {self.slug}: not imported", *(f"  {e}" for e in self.errors)]
        if not self.changes(labels=labels):
            out = [f"{source}: {self.slug}: unchanged"]
        else:
            head = "create template" if self.template is None else "update template"
            out = [f"{source}: {head} {self.slug}"]
        if self.template is not None:
            out += [f"  {name}: changed" for name in self.fields]
        out += [f"  alias {alias}: added" for alias in self.aliases]
        out += [f"  alias {alias}: not in the file, kept" for alias in self.kept_aliases]
        for step in self.added:
            message = step.version.get("message") or ""
            out.append(
                f"  + v{self.target(step.file_number)} (v{step.file_number} in the file, "
                f"{step.content_hash[:19]}…)" + (f" {message!r}" if message else "")
            )
        verb = "moved" if labels else "not moved (--labels moves it)"
        for name, before, file_number in self.labels:
            origin = f"v{before}" if before is not None else "(new)"
            out.append(f"  label {name}: {origin} → v{self.target(file_number)} {verb}")
        return out

    def target(self, file_number: int) -> int:
        """The stored number the file's version ``file_number`` is, or will be once added."""
        next_number = self.template.version_count + 1 if self.template is not None else 1
        for step in self.steps:
            if step.stored is None:
                if step.file_number == file_number:
                    return next_number
                next_number += 1
            elif step.file_number == file_number:
                return step.stored
        raise KeyError(file_number)


def plan(file: TemplateFile, *, metadata: bool = True) -> TemplatePlan:
    """What importing ``file`` (a checked template file) would do, read from the database;
    nothing is written. Every body is checked and linted, and every alias and the slug
    against the other templates, so a plan without errors imports whole. Without
    ``metadata`` a stored template keeps its name, description and sample variables."""
    data = file.data
    template = Template.objects.filter(slug=data["slug"]).first()
    result = TemplatePlan(file, template)
    wanted = {
        "name": data.get("name") or data["slug"],
        "description": data.get("description", ""),
        "sample_variables": data.get("sample_variables") or {},
    }
    if template is None:
        result.fields = wanted
        result.aliases = list(data.get("aliases", []))
        problem = slug_alias_problem(data["slug"])
        if problem is not None:
            result.errors.append(f"{file.where('slug')}: slug: {problem}")
    else:
        if metadata:
            result.fields = {
                key: value
                for key, value in wanted.items()
                if key in data and getattr(template, key) != value
            }
        have = set(template.aliases.values_list("alias", flat=True))
        result.aliases = [alias for alias in data.get("aliases", []) if alias not in have]
        if "aliases" in data:
            result.kept_aliases = sorted(have - set(data["aliases"]))
    conflicts = alias_conflicts(result.aliases, template_id=template.pk if template else None)
    for index, alias in enumerate(data.get("aliases", [])):
        if alias in conflicts:
            result.errors.append(
                f"{file.where(f'aliases[{index}]')}: aliases[{index}]: {conflicts[alias]}"
            )
    samples = result.fields.get("sample_variables", template and template.sample_variables)
    steps = []
    for index, (number, version) in enumerate(versions(file)):
        try:
            compiled = compile_body(version["body"])
            report = services.body_lint(body=version["body"], sample_variables=samples or {})
        except BodyError as exc:
            result.errors += [_placed(file, index, issue) for issue in exc.details]
            continue
        result.errors += [_placed(file, index, issue) for issue in report["errors"]]
        steps.append(VersionStep(number, version, compiled.content_hash, None, report))
    if result.errors:
        return result
    result.steps = _match(template, steps)
    current = _label_numbers(template) if template is not None else {}
    for name, file_number in data.get("labels", {}).items():
        before = current.get(name)
        if before is None or before != result.target(file_number):
            result.labels.append((name, before, file_number))
    return result


def plan_all(files: list[TemplateFile], *, metadata: bool = True) -> list[TemplatePlan]:
    """The plans of ``files``; a file whose slug an earlier one has is an error (two files
    would write the same template)."""
    plans, seen = [], {}
    for file in files:
        result = plan(file, metadata=metadata)
        slug = file.data["slug"]
        if slug in seen:
            result.errors.insert(0, f"{file.where('slug')}: slug: {seen[slug]} holds {slug} too")
        seen.setdefault(slug, file.source)
        plans.append(result)
    return plans


def _placed(file: TemplateFile, index: int, issue: dict[str, Any]) -> str:
    where, full = _place(file, index, issue)
    return f"{where}: {full}: {issue['message']}"


def _match(template: Template | None, steps: list[VersionStep]) -> list[VersionStep]:
    """Which stored version each of the file's versions is (see the module's docstring)."""
    stored = {}
    if template is not None:
        stored = dict(template.versions.values_list("number", "content_hash"))
    taken: set[int] = set()
    for step in steps:  # the same number and the same body first
        if stored.get(step.file_number) == step.content_hash:
            step.stored = step.file_number
            taken.add(step.file_number)
    for step in steps:  # then the same body under another number, newest first
        if step.stored is None:
            for number in sorted(stored, reverse=True):
                if number not in taken and stored[number] == step.content_hash:
                    step.stored = number
                    taken.add(number)
                    break
    return steps


@transaction.atomic
def apply(result: TemplatePlan, *, labels: bool, author: str = "") -> Template:
    """Write ``result`` (a plan without errors) in one transaction: the template and its
    metadata, aliases, the versions to add (with the plan's lint: nothing is linted twice,
    nor while a row is locked), and with ``labels`` the label moves, to the versions as
    they were stored."""
    assert not result.errors, "a plan with errors is not applied"
    template = result.template
    if template is None:
        template = services.template_create(
            slug=result.slug, aliases=result.aliases or None, **result.fields
        )
    else:
        if result.fields:
            services.template_update(template=template, **result.fields)
        if result.aliases:
            have = list(template.aliases.values_list("alias", flat=True))
            services.template_aliases_set(template=template, aliases=[*have, *result.aliases])
    numbers = {step.file_number: step.stored for step in result.steps}
    for step in result.added:
        stored = services.version_create(
            template=template,
            body=step.version["body"],
            message=step.version.get("message", ""),
            author=step.version.get("author") or author,
            report=step.report,
        )
        numbers[step.file_number] = stored.number
    if labels:
        for name, _, file_number in result.labels:
            services.label_move(
                template=template,
                label=name,
                version=numbers[file_number],
                moved_by=author or IMPORTED_BY,
            )
    return template
