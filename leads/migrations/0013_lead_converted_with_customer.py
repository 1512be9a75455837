"""The database holds the lifecycle: status 'converted' exactly when converted_customer_id and converted_at are set.

0012 repaired the rows that did not; this is a separate migration so that PostgreSQL alters the
table in a transaction without the repair's pending updates.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0012_lifecycle_repair"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="lead",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("converted_at__isnull", False), ("converted_customer__isnull", False), ("status", "converted")
                    ),
                    models.Q(
                        models.Q(("status", "converted"), _negated=True),
                        ("converted_at__isnull", True),
                        ("converted_customer__isnull", True),
                    ),
                    _connector="OR",
                ),
                name="lead_converted_with_customer",
            ),
        ),
    ]
