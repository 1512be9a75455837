"""Migrations 0012 and 0013: rows that break the lifecycle are repaired, then the database refuses them."""

import uuid

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from leads.models import Lead, LeadHistory

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("leads", "0011_postgres_created_week_statistics")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_broken_rows_are_repaired_before_the_constraint_applies():
    apps = migrate(BEFORE)
    try:
        Organization = apps.get_model("organizations", "Organization")
        Customer = apps.get_model("customers", "Customer")
        OldLead = apps.get_model("leads", "Lead")
        organization = Organization.objects.create(name="Old", slug=f"old-{uuid.uuid4().hex[:8]}")
        customer = Customer.objects.create(organization=organization, customer_number="CUST-001", company_name="C")
        now = timezone.now()

        def lead(name, **fields):
            return OldLead.objects.create(id=uuid.uuid4(), organization=organization, name=name, **fields).pk

        orphan = lead("orphan", status="converted")  # PATCH {"status": "converted"} of old
        orphan_dated = lead("orphan dated", status="converted", converted_at=now)
        undated = lead("undated", status="converted", converted_customer=customer)
        stray = lead("stray", status="qualified", converted_customer=customer, converted_at=now)
        fine = lead("fine", status="converted", converted_customer=customer, converted_at=now)
        untouched = lead("untouched", status="new")
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    leads = {row.pk: row for row in Lead.objects.all()}
    for pk in (orphan, orphan_dated):
        assert (leads[pk].status, leads[pk].converted_at, leads[pk].converted_customer_id) == ("qualified", None, None)
        entry = LeadHistory.objects.get(lead_id=pk)
        assert (entry.action, entry.via) == ("unconverted", "migration")
        assert entry.changes["status"] == {"old": "converted", "new": "qualified"}
    assert leads[undated].status == "converted" and leads[undated].converted_at is not None
    assert (leads[stray].status, leads[stray].converted_at, leads[stray].converted_customer_id) == (
        "qualified",
        None,
        None,
    )
    assert LeadHistory.objects.get(lead_id=stray).changes["convertedCustomerId"] == {
        "old": str(customer.pk),
        "new": None,
    }
    assert leads[fine].converted_customer_id == customer.pk
    assert leads[untouched].status == "new"
    assert not LeadHistory.objects.filter(lead_id__in=[undated, fine, untouched]).exists()
