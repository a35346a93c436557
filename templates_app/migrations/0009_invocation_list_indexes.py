"""Indexes for newest-first pages of the invocation log: by time, by template, by failure.

Non-atomic, so that PostgreSQL builds each with ``CREATE INDEX CONCURRENTLY`` (and drops
the ones they replace ``CONCURRENTLY``): sends keep writing invocations while a big table
is indexed. An index build that fails leaves an INVALID index behind: drop it and migrate
again. Other databases build them the ordinary way.
"""

import django.utils.timezone
from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models


class LiveMixin:
    """The concurrent operation on PostgreSQL, the ``plain`` one elsewhere."""

    plain: type[migrations.operations.base.Operation]

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        return self.plain.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        return self.plain.database_backwards(self, app_label, schema_editor, from_state, to_state)


class AddIndexLive(LiveMixin, AddIndexConcurrently):
    plain = migrations.AddIndex


class RemoveIndexLive(LiveMixin, RemoveIndexConcurrently):
    plain = migrations.RemoveIndex


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("templates_app", "0008_invocation_rollup"),
    ]

    operations = [
        AddIndexLive(
            model_name="invocation",
            index=models.Index(fields=["-created_at", "-id"], name="invocation_time_id"),
        ),
        AddIndexLive(
            model_name="invocation",
            index=models.Index(
                fields=["template", "-created_at", "-id"], name="invocation_template_time_id"
            ),
        ),
        AddIndexLive(
            model_name="invocation",
            index=models.Index(
                condition=models.Q(("status", "ok"), _negated=True),
                fields=["status", "-created_at", "-id"],
                name="invocation_failed_time_id",
            ),
        ),
        RemoveIndexLive(model_name="invocation", name="invocation_template_time"),
        # The plain index on created_at: the (created_at, id) one serves its queries.
        migrations.AlterField(
            model_name="invocation",
            name="created_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
    ]
