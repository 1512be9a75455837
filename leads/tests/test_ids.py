"""New leads and history entries get time-ordered keys (UUIDv7): through the API and through the importer's COPY."""

import io
import uuid

import pytest
from django.core.management import call_command

from leads.models import Lead, LeadHistory
from leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def test_a_lead_created_through_the_api_and_its_history_entry_have_version_7_keys(api):
    response = api.post("/leads", {"name": "Acme"}, "json")

    lead_id = uuid.UUID(response.json()["id"])
    assert lead_id.version == 7
    assert LeadHistory.objects.get(lead_id=lead_id).id.version == 7


def test_imported_leads_get_version_7_keys_in_file_order(tmp_path, organization):
    path = tmp_path / "leads.csv"
    path.write_text("name\n" + "".join(f"Lead {n:03d}\n" for n in range(300)))

    call_command(
        "import_leads", str(path), "--organization", organization.slug, "--batch-size", "100", stdout=io.StringIO()
    )

    leads = list(Lead.objects.for_organization(organization).order_by("name").values_list("id", flat=True))
    assert len(leads) == 300 and {key.version for key in leads} == {7}
    # Rows of later milliseconds sort later; compare the 48-bit timestamp prefix.
    assert [key.int >> 80 for key in leads] == sorted(key.int >> 80 for key in leads)
    assert {entry.version for entry in LeadHistory.objects.values_list("id", flat=True)} == {7}


def test_existing_version_4_keys_stay_valid(api, organization):
    old = LeadFactory(organization=organization, id=uuid.uuid4())

    assert api.get(f"/leads/{old.id}").status_code == 200
    assert api.patch(f"/leads/{old.id}", {"score": 7}, "json").json()["score"] == 7
