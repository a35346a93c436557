"""Make the database itself refuse any UPDATE of a stored version."""

from django.db import migrations

SQLITE_CREATE = """
CREATE TRIGGER templates_app_version_immutable
BEFORE UPDATE ON templates_app_version
BEGIN
    SELECT RAISE(ABORT, 'stored versions are immutable');
END;
"""
SQLITE_DROP = "DROP TRIGGER IF EXISTS templates_app_version_immutable;"

POSTGRES_CREATE = """
CREATE OR REPLACE FUNCTION templates_app_version_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'stored versions are immutable' USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER templates_app_version_immutable
BEFORE UPDATE ON templates_app_version
FOR EACH ROW EXECUTE FUNCTION templates_app_version_immutable();
"""
POSTGRES_DROP = """
DROP TRIGGER IF EXISTS templates_app_version_immutable ON templates_app_version;
DROP FUNCTION IF EXISTS templates_app_version_immutable();
"""


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute(SQLITE_CREATE)
    elif vendor == "postgresql":
        schema_editor.execute(POSTGRES_CREATE)


def drop(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute(SQLITE_DROP)
    elif vendor == "postgresql":
        schema_editor.execute(POSTGRES_DROP)


class Migration(migrations.Migration):
    dependencies = [("templates_app", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
