"""``python manage.py load_demo``: load the demo templates in fixtures/demo/ (idempotent).

The demo files are template files (``engine/portable.py``), imported as
``templates import fixtures/demo --labels`` would, except that a demo template already stored
keeps its name, description and sample variables: what was edited since is left alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from templates_app.management import porting

from ...engine.errors import CachetError

DEMO_DIR = Path(settings.BASE_DIR) / "fixtures" / "demo"
DEMO_AUTHOR = "demo"


class Command(BaseCommand):
    help = "Load the demo templates from fixtures/demo/ (safe to run again)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--dir", type=Path, default=DEMO_DIR)

    def handle(self, *args: Any, dir: Path, **options: Any) -> None:
        try:
            for path in porting.template_files(dir):
                result = porting.plan(porting.load(path), metadata=False)
                if result.errors:
                    raise CommandError("\n".join(result.errors))
                template = porting.apply(result, labels=True, author=DEMO_AUTHOR)
                added = len(result.added)
                count = template.versions.count()
                self.stdout.write(f"{template.slug}: {count} version(s), {added} new")
        except CachetError as exc:
            raise CommandError(exc.message) from exc
