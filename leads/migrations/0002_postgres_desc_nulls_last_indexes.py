"""PostgreSQL indexes for `ORDER BY <nullable field> DESC NULLS LAST, id DESC`.

The plain (organization, field, id) index serves the ascending sort (NULLS LAST is
PostgreSQL's default for ASC); the descending sort keeps nulls last too, which needs its own
index. SQLite has no NULLS LAST in index definitions, so this runs on PostgreSQL only.
Migration 0019 drops them: those sorts are now served by two walks of the plain index.
"""

from django.db import migrations

# The lead's nullable sort fields when this migration was written.
NULLABLE_SORT_FIELDS = {"email", "company", "source", "score", "last_contacted_at"}


def index_name(field):
    return f"lead_{field.replace('_', '')[:12]}_desc"


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for field in sorted(NULLABLE_SORT_FIELDS):
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {index_name(field)} "
            f"ON leads_lead (organization_id, {field} DESC NULLS LAST, id DESC)"
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for field in sorted(NULLABLE_SORT_FIELDS):
        schema_editor.execute(f"DROP INDEX IF EXISTS {index_name(field)}")


class Migration(migrations.Migration):
    dependencies = [("leads", "0001_initial")]

    operations = [migrations.RunPython(create_indexes, drop_indexes)]
