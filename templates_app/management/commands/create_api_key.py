"""``python manage.py create_api_key NAME``: prints the new key once, as the last line."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from templates_app.models import ApiKey


class Command(BaseCommand):
    help = "Create an API key; the key is printed once, on the last line, and never stored."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("name", help="what the key is for, e.g. support-bot")

    def handle(self, *args: Any, name: str, **options: Any) -> None:
        name = name.strip()
        if not name or len(name) > 100:
            raise CommandError("NAME must be 1 to 100 characters")
        key, raw = ApiKey.generate(name=name)
        self.stderr.write(f"Created API key '{key.name}' ({key.prefix}…). It is shown only once:")
        self.stdout.write(raw)
