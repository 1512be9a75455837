"""Lead.predicted_score (scoring/) and its sort index, like the other sorts' (organization_id, field, id)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('leads', '0020_leadimport_dry_run_cancelled'),
    ]

    operations = [
        migrations.AddField(
            model_name='lead',
            name='predicted_score',
            field=models.SmallIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.AddIndex(
            model_name='lead',
            index=models.Index(fields=['organization', 'predicted_score', 'id'], name='lead_predictedsco_idx'),
        ),
    ]
