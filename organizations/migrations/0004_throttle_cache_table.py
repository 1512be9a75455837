"""The table of the `throttle` cache (settings.CACHES): failed-login counters shared by all processes.

What `manage.py createcachetable` would make, made here so that `migrate` (make serve, make run, the
tests) is all a deployment needs. Unused, and harmless, when REDIS_URL puts the counters in Redis.
"""

from django.core.management.commands.createcachetable import Command as CreateCacheTable
from django.db import migrations

TABLE = "throttle_cache"  # settings.THROTTLE_CACHE_TABLE when this was written


def create_table(apps, schema_editor):
    command = CreateCacheTable()
    command.verbosity = 0
    command.create_table(schema_editor.connection.alias, TABLE, dry_run=False)


def drop_table(apps, schema_editor):
    schema_editor.execute(f"DROP TABLE IF EXISTS {schema_editor.quote_name(TABLE)}")


class Migration(migrations.Migration):
    dependencies = [
        ("organizations", "0003_user_token_generation"),
    ]

    operations = [migrations.RunPython(create_table, drop_table)]
