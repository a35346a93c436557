"""``python manage.py templates export|import|lint``: templates as a directory of files.

- ``templates export DIR [--slug S …] [--no-history] [--format yaml|json]`` writes one file per
  template;
- ``templates import PATH [--dry-run] [--labels] [--from SOURCE] [--checkpoints]`` reads template
  files (or, with ``--from``, another tool's prompts) and adds what is not stored yet;
- ``templates lint PATH`` checks every body of every file against its model and exits 1 on an
  error, for CI.

The format is ``templates_app/engine/portable.py``; the work is
``templates_app/management/porting.py``.
"""

from __future__ import annotations

import importlib
import json
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from templates_app.engine.errors import CachetError
from templates_app.engine.importers import Imported
from templates_app.engine.importers import checkpoints as proposals
from templates_app.engine.portable import TemplateFile, TemplateFileError, check_shape
from templates_app.management import porting

# --from SOURCE: the importer's module, and the files of a folder it reads.
SOURCES = {
    "langfuse": ("templates_app.engine.importers.langfuse", (".json",)),
    "portkey": ("templates_app.engine.importers.portkey", (".json",)),
    "openai": ("templates_app.engine.importers.openai_prompts", (".json",)),
    "dotprompt": ("templates_app.engine.importers.dotprompt", (".prompt",)),
}


class Command(BaseCommand):
    help = "Export, import and lint templates as a directory of files (YAML or JSON)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        commands = parser.add_subparsers(dest="action", required=True, metavar="export|import|lint")
        export = commands.add_parser("export", help="write one file per template into DIR")
        export.add_argument("directory", type=Path, metavar="DIR")
        export.add_argument(
            "--slug", action="append", default=[], help="only this template (repeatable)"
        )
        export.add_argument(
            "--no-history",
            dest="history",
            action="store_false",
            help="only the latest version of each template (and the labels on it)",
        )
        export.add_argument("--format", choices=("yaml", "json"), default="yaml")
        imp = commands.add_parser("import", help="add what the files hold and is not stored")
        imp.add_argument("path", type=Path, metavar="PATH", help="a file or a directory")
        imp.add_argument("--dry-run", action="store_true", help="print the plan, write nothing")
        imp.add_argument("--labels", action="store_true", help="move labels as the files say")
        imp.add_argument(
            "--from", dest="source", choices=sorted(SOURCES), help="read another tool's prompts"
        )
        imp.add_argument(
            "--checkpoints",
            action="store_true",
            help="with --from: add the proposed checkpoints to bodies that have none",
        )
        imp.add_argument("--author", default="", help="who versions without an author are by")
        lint = commands.add_parser("lint", help="lint every body; exit 1 on an error")
        lint.add_argument("path", type=Path, metavar="PATH", help="a file or a directory")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        try:
            getattr(self, f"_{action}")(**options)
        except CachetError as exc:
            raise CommandError(exc.message) from exc

    # --- export -----------------------------------------------------------------------------

    def _export(self, *, directory: Path, slug: list[str], history: bool, format: str, **_: Any):
        written, notes = porting.export(directory, slugs=slug, history=history, fmt=format)
        for note in notes:
            self.stderr.write(f"note: {note}")
        self.stdout.write(f"{len(written)} template file(s) written to {directory}")

    # --- lint -------------------------------------------------------------------------------

    def _lint(self, *, path: Path, **_: Any) -> None:
        errors = warnings = 0
        files = porting.template_files(path)
        for file_path in files:
            try:
                findings = porting.file_lint(porting.load(file_path))
            except TemplateFileError as exc:
                self.stdout.write(exc.message)
                errors += 1
                continue
            for finding in findings:
                self.stdout.write(str(finding))
            errors += sum(f.severity == "error" for f in findings)
            warnings += sum(f.severity == "warning" for f in findings)
        summary = f"{len(files)} file(s): {errors} error(s), {warnings} warning(s)"
        if errors:
            raise CommandError(summary)
        self.stdout.write(summary)

    # --- import -----------------------------------------------------------------------------

    def _import(
        self,
        *,
        path: Path,
        dry_run: bool,
        labels: bool,
        source: str | None,
        checkpoints: bool,
        author: str,
        **_: Any,
    ) -> None:
        if checkpoints and source is None:
            raise CommandError("--checkpoints goes with --from: template files say their own")
        files, failed = self._files(path, source, checkpoints)
        counts = {"created": 0, "updated": 0, "unchanged": 0, "versions": 0, "labels": 0}
        for result in porting.plan_all(files):
            for line in result.lines(labels=labels):
                self.stdout.write(line)
            if result.errors:
                failed += 1
                continue
            if not result.changes(labels=labels):
                counts["unchanged"] += 1
                continue
            if not dry_run:
                try:
                    porting.apply(result, labels=labels, author=author)
                except CachetError as exc:
                    self.stdout.write(f"  {result.file.source}: not imported: {exc.message}")
                    failed += 1
                    continue
            counts["created" if result.template is None else "updated"] += 1
            counts["versions"] += len(result.added)
            counts["labels"] += len(result.labels) if labels else 0
        summary = (
            f"{counts['created']} template(s) created, {counts['updated']} updated, "
            f"{counts['unchanged']} unchanged; {counts['versions']} version(s) added; "
            f"{counts['labels']} label(s) moved"
        )
        if dry_run:
            planned = summary.replace(" moved", " to move")
            summary = f"dry run, nothing written: would have {planned}"
        if failed:
            raise CommandError(f"{summary}; {failed} file(s) not imported (see above)")
        self.stdout.write(summary)

    def _files(
        self, path: Path, source: str | None, apply_checkpoints: bool
    ) -> tuple[list[TemplateFile], int]:
        """The template files to import, and how many could not be read (reported)."""
        if source is None:
            files, failed = [], 0
            for file_path in porting.template_files(path):
                try:
                    files.append(porting.load(file_path))
                except TemplateFileError as exc:
                    self.stdout.write(f"{exc.message}: not imported")
                    failed += 1
            return files, failed
        imported = _translate(source, path)
        for note in imported.notes:
            self.stdout.write(f"note: {note}")
        files, failed = [], 0
        for data in imported.templates:
            origin = imported.sources.get(data.get("slug"), str(path))
            file = TemplateFile(f"{origin} ({source}: {data.get('slug')})", data)
            _propose(file, apply_checkpoints, self.stdout.write)
            try:
                check_shape(file)
            except TemplateFileError as exc:
                self.stdout.write(f"{exc.message}: not imported")
                failed += 1
                continue
            files.append(file)
        return files, failed


def _translate(source: str, path: Path) -> Imported:
    """Another tool's prompts at ``path`` (a file, or a folder's files) as template files."""
    module_name, suffixes = SOURCES[source]
    if path.is_dir():
        paths = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in suffixes)
        if not paths:
            raise CommandError(f"{path}: no {' or '.join(suffixes)} files to import from {source}")
    elif path.is_file():
        paths = [path]
    else:
        raise CommandError(f"{path}: no such file or directory")
    documents: list[tuple[str, Any]] = []
    for item in paths:
        try:
            text = item.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise CommandError(f"{item}: not UTF-8 text ({exc.reason})") from None
        if suffixes == (".json",):
            try:
                documents.append((str(item), json.loads(text)))
            except json.JSONDecodeError as exc:
                raise CommandError(f"{item}:{exc.lineno}: not JSON: {exc.msg}") from None
        else:
            documents.append((str(item), text))
    importer = importlib.import_module(module_name)
    try:
        return importer.translate(documents)
    except CachetError as exc:
        raise CommandError(exc.message) from exc


def _propose(file: TemplateFile, apply: bool, say: Any) -> None:
    """Say, for each version without checkpoints, which one would be proposed; add it when
    ``apply``."""
    for version in file.data.get("versions", []):
        body = version.get("body")
        try:
            proposal, why = proposals.propose(body)
        except CachetError:
            continue  # the plan reports the malformed body, with its path
        if proposal is None:
            if why is not None:
                say(f"note: {file.data.get('slug')}: {why}")
            continue
        if apply:
            version["body"] = proposals.apply(body, proposal)
            say(f"note: {file.data.get('slug')}: {why}: added")
        else:
            say(f"note: {file.data.get('slug')}: {why} (--checkpoints adds it)")
