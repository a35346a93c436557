"""``python manage.py load_demo``: load the demo templates in fixtures/demo/ (idempotent)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from templates_app import services
from templates_app.models import Template

from ...engine.errors import CachetError

DEMO_DIR = Path(settings.BASE_DIR) / "fixtures" / "demo"


def load_template(spec: dict[str, Any]) -> tuple[Template, int]:
    """Create the template, its missing versions and its labels; return it and versions added."""
    template = Template.objects.filter(slug=spec["slug"]).first() or services.template_create(
        slug=spec["slug"],
        name=spec["name"],
        description=spec.get("description", ""),
        sample_variables=spec.get("sample_variables", {}),
    )
    added = 0
    for version in spec["versions"][template.version_count :]:
        services.version_create(
            template=template,
            body=version["body"],
            message=version.get("message", ""),
            author="demo",
        )
        template.refresh_from_db()
        added += 1
    for label, number in spec.get("labels", {}).items():
        services.label_move(template=template, label=label, version=number, moved_by="demo")
    return template, added


class Command(BaseCommand):
    help = "Load the demo templates from fixtures/demo/ (safe to run again)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--dir", type=Path, default=DEMO_DIR)

    def handle(self, *args: Any, dir: Path, **options: Any) -> None:
        files = sorted(dir.glob("*.json"))
        if not files:
            raise CommandError(f"no demo templates in {dir}")
        for path in files:
            try:
                with transaction.atomic():
                    template, added = load_template(json.loads(path.read_text("utf-8")))
            except (CachetError, KeyError, ValueError) as exc:
                raise CommandError(f"{path.name}: {exc}") from exc
            self.stdout.write(f"{template.slug}: {template.version_count} version(s), {added} new")
