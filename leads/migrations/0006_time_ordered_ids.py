import leadsite.ids
from django.db import migrations, models


class Migration(migrations.Migration):
    """New leads and history entries get time-ordered UUIDv7 keys; existing keys stay as they are.

    The default is applied by Django, not by the database, so nothing changes in the schema (SQLite
    would otherwise copy the whole table to "alter" it).
    """

    dependencies = [
        ("leads", "0005_postgres_phone_digits_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="lead",
                    name="id",
                    field=models.UUIDField(
                        default=leadsite.ids.uuid7, editable=False, primary_key=True, serialize=False
                    ),
                ),
                migrations.AlterField(
                    model_name="leadhistory",
                    name="id",
                    field=models.UUIDField(
                        default=leadsite.ids.uuid7, editable=False, primary_key=True, serialize=False
                    ),
                ),
            ]
        )
    ]
