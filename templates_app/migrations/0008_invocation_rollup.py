"""Hourly rollups of the invocation log, backfilled from the rows already logged.

The backfill reads the rows present when it runs: deploy it with the previous release's
processes stopped (docs/architecture.md, "The invocation log at scale"), since rows they
write meanwhile add to no rollup.
"""

from datetime import UTC
from decimal import Decimal

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Count, Q, Sum
from django.db.models.functions import Trunc

TOKENS = (
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
)
MONEY = ("cost_usd", "cost_without_cache_usd", "saved_usd")
KEY = ("template_id", "version_id", "hour", "label", "model", "provider")


def backfill(apps, schema_editor) -> None:
    """One rollup per version, hour, label, model and provider of the logged invocations."""
    Invocation = apps.get_model("templates_app", "Invocation")
    Rollup = apps.get_model("templates_app", "InvocationRollup")
    using = schema_editor.connection.alias
    groups = (
        Invocation.objects.using(using)
        .annotate(hour=Trunc("created_at", "hour", tzinfo=UTC))
        .order_by()
        .values(*KEY)
        .annotate(
            calls=Count("id"),
            ok=Count("id", filter=Q(status="ok")),
            hits=Count("id", filter=Q(cache_read_tokens__gt=0)),
            ok_hits=Count("id", filter=Q(status="ok", cache_read_tokens__gt=0)),
            saved_gross_usd=Sum("saved_usd", filter=Q(saved_usd__gt=0)),
            write_overhead_usd=Sum("saved_usd", filter=Q(saved_usd__lt=0)),
            **{name: Sum(name) for name in (*TOKENS, *MONEY)},
        )
    )
    zero = {name: 0 for name in TOKENS} | {name: Decimal(0) for name in MONEY}
    rollups = [
        Rollup(
            **{name: value if value is not None else zero.get(name, 0) for name, value in g.items()}
        )
        for g in groups.iterator(chunk_size=2000)
    ]
    Rollup.objects.using(using).bulk_create(rollups, batch_size=40)


class Migration(migrations.Migration):
    dependencies = [
        ("templates_app", "0007_cache_epoch"),
    ]

    operations = [
        migrations.CreateModel(
            name="InvocationRollup",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("hour", models.DateTimeField(help_text="the start of the UTC hour")),
                ("label", models.CharField(blank=True, default="", max_length=64)),
                ("model", models.CharField(max_length=300)),
                ("provider", models.CharField(max_length=40)),
                ("calls", models.PositiveBigIntegerField(default=0)),
                ("ok", models.PositiveBigIntegerField(default=0, help_text="calls with status ok")),
                (
                    "hits",
                    models.PositiveBigIntegerField(
                        default=0, help_text="calls that read the cache"
                    ),
                ),
                (
                    "ok_hits",
                    models.PositiveBigIntegerField(
                        default=0, help_text="ok calls that read the cache"
                    ),
                ),
                ("input_tokens", models.PositiveBigIntegerField(default=0)),
                ("output_tokens", models.PositiveBigIntegerField(default=0)),
                ("cache_read_tokens", models.PositiveBigIntegerField(default=0)),
                ("cache_write_5m_tokens", models.PositiveBigIntegerField(default=0)),
                ("cache_write_1h_tokens", models.PositiveBigIntegerField(default=0)),
                (
                    "cost_usd",
                    models.DecimalField(decimal_places=10, default=Decimal("0"), max_digits=24),
                ),
                (
                    "cost_without_cache_usd",
                    models.DecimalField(decimal_places=10, default=Decimal("0"), max_digits=24),
                ),
                (
                    "saved_usd",
                    models.DecimalField(decimal_places=10, default=Decimal("0"), max_digits=24),
                ),
                (
                    "saved_gross_usd",
                    models.DecimalField(decimal_places=10, default=Decimal("0"), max_digits=24),
                ),
                (
                    "write_overhead_usd",
                    models.DecimalField(decimal_places=10, default=Decimal("0"), max_digits=24),
                ),
                (
                    "template",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="rollups",
                        to="templates_app.template",
                    ),
                ),
                (
                    "version",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="rollups",
                        to="templates_app.version",
                    ),
                ),
            ],
            options={
                "ordering": ["template", "-hour"],
                "indexes": [
                    models.Index(fields=["template", "hour"], name="rollup_template_hour"),
                    models.Index(fields=["hour"], name="rollup_hour"),
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("template", "version", "hour", "label", "model", "provider"),
                        name="rollup_bucket_unique",
                    ),
                ],
            },
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
