"""The dashboard's running counts (leads/tallies.py): two tables, the triggers that keep them, and a first count."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from leads import tallies


def install_and_count(apps, schema_editor):
    tallies.install(schema_editor.connection)
    tallies.rebuild(schema_editor.connection)


def uninstall(apps, schema_editor):
    tallies.uninstall(schema_editor.connection)


class Migration(migrations.Migration):

    dependencies = [
        ('leads', '0014_lead_version'),
        ('organizations', '0004_throttle_cache_table'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='LeadTally',
            fields=[
                ('id', models.BigAutoField(primary_key=True, serialize=False)),
                ('source', models.CharField(max_length=100, null=True)),
                ('status', models.CharField(max_length=20)),
                ('is_active', models.BooleanField()),
                ('band', models.CharField(max_length=10)),
                ('leads', models.IntegerField()),
                ('score_sum', models.BigIntegerField()),
                ('folded', models.BooleanField(db_default=False, default=False)),
                ('assigned_to', models.ForeignKey(db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('organization', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='organizations.organization')),
            ],
            options={
                'indexes': [models.Index(fields=['organization'], name='leadtally_org_idx')],
            },
        ),
        migrations.CreateModel(
            name='LeadWeekTally',
            fields=[
                ('id', models.BigAutoField(primary_key=True, serialize=False)),
                ('week', models.DateField()),
                ('source', models.CharField(max_length=100, null=True)),
                ('converted', models.BooleanField()),
                ('leads', models.IntegerField()),
                ('folded', models.BooleanField(db_default=False, default=False)),
                ('organization', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='organizations.organization')),
            ],
            options={
                'indexes': [models.Index(fields=['organization', 'week'], name='leadweektally_org_week_idx')],
            },
        ),
        migrations.RunPython(install_and_count, uninstall),
    ]
