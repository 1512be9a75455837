"""The importer writes each lead's event with its history (COPY on PostgreSQL), and import.completed."""

import io

import pytest
from django.core.management import CommandError, call_command

from conftest import client_for
from events.models import Event
from leads.models import Lead
from leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

HEADER = "name,email,score,customFields\n"


def run_import(tmp_path, organization, content, *args):
    path = tmp_path / "spring-fair.csv"
    path.write_text(HEADER + content)
    try:
        call_command("import_leads", str(path), "--organization", organization.slug, *args, stdout=io.StringIO())
    except CommandError:
        pass


def events_of(organization, event_type):
    return list(Event.objects.for_organization(organization).filter(type=event_type))


def test_each_created_lead_has_its_event_in_the_api_shape(tmp_path, organization, user):
    run_import(tmp_path, organization, 'Ada,ada@x.test,70,"{""tier"": 1}"\nBob,bob@x.test,,\nBad,,500,\n')

    created = events_of(organization, "lead.created")
    assert {event.data["lead"]["name"] for event in created} == {"Ada", "Bob"}
    api = client_for(user)
    for event in created:
        assert (event.actor_id, event.actor_via) == (None, "import")
        assert event.data == {"lead": api.get(f"/leads/{event.data['lead']['id']}").json()}
    assert event.transaction_order > 0


def test_import_completed_counts_the_rows_and_names_the_file(tmp_path, organization):
    LeadFactory(organization=organization, name="Ada", email="ada@x.test", score=10)

    run_import(tmp_path, organization, "Ada,ada@x.test,70,\nBob,bob@x.test,,\nBad,,500,\n", "--upsert", "email")

    (completed,) = events_of(organization, "import.completed")
    assert completed.data == {
        "fileName": "spring-fair.csv",
        "rows": 3,
        "created": 1,
        "updated": 1,
        "unchanged": 0,
        "skipped": 1,
        "rolledBack": False,
    }
    (updated,) = events_of(organization, "lead.updated")
    assert updated.data["changes"] == {"score": {"old": 10, "new": 70}}
    assert updated.data["lead"]["score"] == 70
    # Oldest first: the leads' events, then the import's.
    assert list(Event.objects.values_list("type", flat=True))[-1] == "import.completed"


def test_an_atomic_import_that_fails_leaves_no_lead_event(tmp_path, organization):
    run_import(tmp_path, organization, "Ada,ada@x.test,70,\nBad,,500,\n", "--atomic")

    assert not Lead.objects.exists()
    assert [event.type for event in Event.objects.all()] == ["import.completed"]
    assert events_of(organization, "import.completed")[0].data["rolledBack"] is True


def test_a_dry_run_writes_no_event(tmp_path, organization):
    run_import(tmp_path, organization, "Ada,ada@x.test,70,\n", "--dry-run")

    assert not Event.objects.exists()


def test_every_batch_writes_its_events(tmp_path, organization):
    rows = "".join(f"Lead {n},lead{n}@x.test,{n},\n" for n in range(60))
    run_import(tmp_path, organization, rows, "--batch-size", "30")

    assert len(events_of(organization, "lead.created")) == 60
