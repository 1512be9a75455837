"""Repair leads that break the lifecycle (leads/lifecycle.py) before 0013 makes the database refuse them.

- converted without a customer (or, older rows, converted without convertedAt and no customer):
  back to `qualified`, convertedAt cleared, with an `unconverted` history entry (via "migration");
- converted with a customer but without convertedAt: convertedAt is its last update (the link stays);
- a customer or convertedAt set while the status is not converted: both cleared, with an `updated` entry.

No events: the change feed tells what users did, and nobody did this. History is written in batches.
"""

from django.db import migrations, models
from django.db.models import F, Q


def _uuid7():
    from leadsite.ids import uuid7

    return uuid7()


def repair(apps, schema_editor):
    Lead = apps.get_model("leads", "Lead")
    LeadHistory = apps.get_model("leads", "LeadHistory")
    db = schema_editor.connection.alias
    leads = Lead.objects.using(db)

    # Converted and linked, but no date: keep the conversion, date it.
    leads.filter(status="converted", converted_customer__isnull=False, converted_at__isnull=True).update(
        converted_at=F("updated_at")
    )

    entries = []

    def flush():
        LeadHistory.objects.using(db).bulk_create(entries, batch_size=1000)
        entries.clear()

    def stamp(value):
        return value.isoformat().replace("+00:00", "Z") if value is not None else None

    broken = leads.filter(status="converted", converted_customer__isnull=True)
    for lead in broken.only("id", "organization_id", "converted_at").iterator(chunk_size=2000):
        changes = {"status": {"old": "converted", "new": "qualified"}}
        if lead.converted_at is not None:
            changes["convertedAt"] = {"old": stamp(lead.converted_at), "new": None}
        entries.append(
            LeadHistory(
                id=_uuid7(),
                organization_id=lead.organization_id,
                lead_id=lead.id,
                action="unconverted",
                changes=changes,
                via="migration",
            )
        )
        if len(entries) >= 2000:
            flush()
    flush()
    broken.update(status="qualified", converted_at=None)

    stray = leads.filter(~Q(status="converted") & (Q(converted_customer__isnull=False) | Q(converted_at__isnull=False)))
    for lead in stray.only("id", "organization_id", "converted_at", "converted_customer_id").iterator(chunk_size=2000):
        changes = {}
        if lead.converted_customer_id is not None:
            changes["convertedCustomerId"] = {"old": str(lead.converted_customer_id), "new": None}
        if lead.converted_at is not None:
            changes["convertedAt"] = {"old": stamp(lead.converted_at), "new": None}
        entries.append(
            LeadHistory(
                id=_uuid7(),
                organization_id=lead.organization_id,
                lead_id=lead.id,
                action="updated",
                changes=changes,
                via="migration",
            )
        )
        if len(entries) >= 2000:
            flush()
    flush()
    stray.update(converted_customer=None, converted_at=None)


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0001_initial"),
        ("leads", "0011_postgres_created_week_statistics"),
    ]

    operations = [
        migrations.AlterField(
            model_name="leadhistory",
            name="action",
            field=models.CharField(
                choices=[
                    ("created", "Created"),
                    ("updated", "Updated"),
                    ("converted", "Converted"),
                    ("unconverted", "Unconverted"),
                    ("merged", "Merged"),
                    ("deleted", "Deleted"),
                    ("reassigned", "Reassigned"),
                ],
                max_length=20,
            ),
        ),
        migrations.RunPython(repair, migrations.RunPython.noop),
    ]
