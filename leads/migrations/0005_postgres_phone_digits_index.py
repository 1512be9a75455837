"""PostgreSQL index on a lead's phone digits, for GET /leads/duplicates.

leads.selectors.DigitsOnly writes `REGEXP_REPLACE(phone, '[^0-9]', '', 'g')`; an index on exactly
that expression lets the listing fetch a page's phone groups by index instead of computing the
expression for every lead of the organization. SQLite has no REGEXP_REPLACE: there this does nothing.
"""

from django.db import migrations

INDEX = "lead_org_phone_digits_idx"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} "
        "ON leads_lead (organization_id, (REGEXP_REPLACE(phone::text, '[^0-9]', '', 'g')))"
    )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("leads", "0004_postgres_trigram_search_indexes")]

    operations = [migrations.RunPython(create_index, drop_index)]
