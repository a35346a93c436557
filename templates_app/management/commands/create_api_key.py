"""``python manage.py create_api_key NAME``: prints the new key once, as the last line."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from templates_app.models import ApiKey, Template


def _names(value: str | None) -> list[str] | None:
    """A comma-separated option as a list; None when the option was not given."""
    if value is None:
        return None
    return [name.strip() for name in value.split(",") if name.strip()]


def _templates(slugs: list[str]) -> list[Template]:
    """The templates named by ``slugs``; every one must exist."""
    templates = list(Template.objects.filter(slug__in=slugs))
    missing = sorted(set(slugs) - {t.slug for t in templates})
    if missing:
        raise CommandError(f"--templates: no template {', '.join(map(repr, missing))}")
    return templates


class Command(BaseCommand):
    help = "Create an API key; the key is printed once, on the last line, and never stored."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("name", help="what the key is for, e.g. support-bot")
        parser.add_argument(
            "--scopes",
            help="comma-separated, from read, write, render, send (default: all four)",
        )
        parser.add_argument(
            "--templates",
            help="comma-separated template slugs the key is limited to (default: every one)",
        )
        parser.add_argument(
            "--rate-limit",
            type=int,
            dest="rate_limit",
            help="requests a minute, 0 for unlimited (default: CACHET_DEFAULT_RATE_LIMIT)",
        )

    def handle(self, *args: Any, name: str, **options: Any) -> None:
        name = name.strip()
        if not name or len(name) > 100:
            raise CommandError("NAME must be 1 to 100 characters")
        scopes = _names(options["scopes"])
        if scopes == []:
            raise CommandError("--scopes needs at least one of read, write, render, send")
        rate_limit = options["rate_limit"]
        if rate_limit is not None and rate_limit < 0:
            raise CommandError("--rate-limit must be 0 (unlimited) or more")
        try:
            key, raw = ApiKey.generate(
                name=name,
                scopes=scopes,
                templates=_templates(_names(options["templates"]) or []),
                rate_limit_per_minute=rate_limit,
            )
        except ValidationError as exc:
            raise CommandError(f"--scopes: {exc.messages[0]}") from None
        self.stderr.write(f"Created API key '{key.name}' ({key.prefix}…). It is shown only once:")
        self.stdout.write(raw)
