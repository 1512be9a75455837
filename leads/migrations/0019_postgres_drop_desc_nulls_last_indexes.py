"""Drop migration 0002's `(organization_id, field DESC NULLS LAST, id DESC)` indexes (PostgreSQL).

A descending sort of a nullable field is now two walks of the plain `(organization_id, field, id)`
index read backwards: the non-null values, then the nulls (leadsite.pagination.Keyset.parts). The five
indexes only cost writes: every lead insert and every reassign had to update each of them.
"""

from django.db import migrations

NULLABLE_SORT_FIELDS = ["company", "email", "last_contacted_at", "score", "source"]


def index_name(field):
    return f"lead_{field.replace('_', '')[:12]}_desc"


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for field in NULLABLE_SORT_FIELDS:
        schema_editor.execute(f"DROP INDEX IF EXISTS {index_name(field)}")


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for field in NULLABLE_SORT_FIELDS:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {index_name(field)} "
            f"ON leads_lead (organization_id, {field} DESC NULLS LAST, id DESC)"
        )


class Migration(migrations.Migration):
    dependencies = [("leads", "0018_leadimport_route")]

    operations = [migrations.RunPython(drop_indexes, create_indexes)]
