"""PostgreSQL trigram indexes for `?q=` (icontains over name, email and company).

Django writes `name__icontains='x'` as `UPPER(name::text) LIKE UPPER('%x%')`; a GIN index with
pg_trgm's operator class on exactly that expression answers it, so a search no longer reads the
whole table (1.1 s at a million leads, see bench/RESULTS.md). Terms under three characters
still scan. SQLite has no pg_trgm: there this does nothing.
"""

from django.db import migrations

SEARCHED_FIELDS = ("name", "email", "company")


def index_name(field):
    return f"lead_{field}_trgm"


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for field in SEARCHED_FIELDS:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {index_name(field)} "
            f"ON leads_lead USING gin ((UPPER({field}::text)) gin_trgm_ops)"
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for field in SEARCHED_FIELDS:
        schema_editor.execute(f"DROP INDEX IF EXISTS {index_name(field)}")


class Migration(migrations.Migration):
    dependencies = [("leads", "0003_lead_org_email_lower_idx")]

    operations = [migrations.RunPython(create_indexes, drop_indexes)]
