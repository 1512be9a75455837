"""The statistics of leads/0011 planned the dashboard's weekly aggregate over leads_lead; the
dashboard reads its weekly figures from the tallies now (leads/0015), so nothing uses them."""

from importlib import import_module

from django.db import migrations

created_week_statistics = import_module("leads.migrations.0011_postgres_created_week_statistics")


class Migration(migrations.Migration):
    dependencies = [("leads", "0015_lead_tallies")]

    operations = [
        migrations.RunPython(created_week_statistics.drop_statistics, created_week_statistics.create_statistics)
    ]
