"""PostgreSQL statistics on the week a lead was created, for the dashboard's weekly aggregate.

Without them the planner takes every row of `GROUP BY date_trunc('week', created_at), source` for
a group of its own (399,139 groups estimated for 392 real ones at 800,000 leads), plans the
aggregate on one core and spills it: 330 ms for the 365-day period. With them it plans a parallel
partial aggregate: 166 ms (bench/RESULTS.md, "Admin dashboard"). SQLite: nothing to do.
"""

from django.db import migrations

# The expression Django's TruncWeek("created_at") compiles to with TIME_ZONE = "UTC".
CREATE = """
CREATE STATISTICS IF NOT EXISTS lead_created_week_stats
ON (date_trunc('week', created_at AT TIME ZONE 'UTC')) FROM leads_lead
"""


def create_statistics(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)
        schema_editor.execute("ANALYZE leads_lead")


def drop_statistics(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP STATISTICS IF EXISTS lead_created_week_stats")


class Migration(migrations.Migration):
    dependencies = [("leads", "0010_postgres_planner_row_estimate")]

    operations = [migrations.RunPython(create_statistics, drop_statistics)]
