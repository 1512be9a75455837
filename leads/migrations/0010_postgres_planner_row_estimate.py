"""PostgreSQL function `planner_row_estimate(query text)`: the planner's row estimate for a query, without running it.

leadsite.counting.count_rows asks it first and counts a list exactly only when the estimate says the
list can be small, in the same query. SQLite: nothing to do (lists are counted there).
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION planner_row_estimate(query text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    plan json;
BEGIN
    EXECUTE 'EXPLAIN (FORMAT JSON) ' || query INTO plan;
    RETURN (plan -> 0 -> 'Plan' ->> 'Plan Rows')::bigint;
END
$$
"""


def create_function(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop_function(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS planner_row_estimate(text)")


class Migration(migrations.Migration):
    dependencies = [("leads", "0009_lead_import")]

    operations = [migrations.RunPython(create_function, drop_function)]
