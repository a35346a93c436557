"""``python manage.py purge_invocations``: delete invocation rows older than the retention."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from templates_app.services import PURGE_BATCH, invocations_purge, invocations_to_purge


class Command(BaseCommand):
    help = (
        "Delete invocation rows older than --days (default: CACHET_INVOCATION_RETENTION_DAYS), "
        "in small batches that never hold up sends. Their hourly rollups are kept: the stats "
        "and charts over past hours do not change."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--days",
            type=int,
            help="keep this many days of invocations (default: CACHET_INVOCATION_RETENTION_DAYS)",
        )
        parser.add_argument(
            "--batch", type=int, default=PURGE_BATCH, help=f"rows a transaction ({PURGE_BATCH})"
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="count what would be deleted; delete nothing"
        )

    def handle(self, *args: Any, days: int | None, batch: int, dry_run: bool, **_: Any) -> None:
        days = settings.CACHET["INVOCATION_RETENTION_DAYS"] if days is None else days
        if days < 1:
            raise CommandError(
                "give --days N (at least 1), or set CACHET_INVOCATION_RETENTION_DAYS: "
                "with neither, every invocation is kept"
            )
        if batch < 1:
            raise CommandError("--batch must be at least 1")
        before = timezone.now() - timedelta(days=days)
        if dry_run:
            count = invocations_to_purge(before=before)
            self.stdout.write(
                f"would delete {count} invocations created before {before:%Y-%m-%d %H:%M} UTC"
            )
            return
        count = invocations_purge(before=before, batch=batch)
        self.stdout.write(f"deleted {count} invocations created before {before:%Y-%m-%d %H:%M} UTC")
