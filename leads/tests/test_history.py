"""Lead history: what the API writes and what GET /leads/{id}/history shows."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads import services
from leads.models import Lead, LeadHistory
from leads.tests.factories import LeadFactory
from organizations.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ENTRY_KEYS = {"id", "leadId", "action", "changes", "actorId", "via", "createdAt"}


def history(api, lead_id, query=""):
    response = api.get(f"/leads/{lead_id}/history{query}")
    assert response.status_code == 200, response.json()
    return response.json()


def test_create_is_recorded_with_who_how_and_the_initial_values(api, user):
    lead_id = api.post("/leads", {"name": "Acme", "email": "a@acme.com", "score": 70}, format="json").json()["id"]

    body = history(api, lead_id)

    assert body["total"] == 1
    [entry] = body["data"]
    assert set(entry) == ENTRY_KEYS
    assert (entry["leadId"], entry["action"], entry["actorId"], entry["via"]) == (
        lead_id,
        "created",
        str(user.id),
        "api",
    )
    assert entry["createdAt"].endswith("Z")
    assert entry["changes"]["name"] == {"old": None, "new": "Acme"}
    assert entry["changes"]["score"] == {"old": None, "new": 70}
    assert entry["changes"]["status"] == {"old": None, "new": "new"}
    assert "phone" not in entry["changes"]


def test_update_records_each_changed_field_with_old_and_new_values_in_api_names(api, organization):
    rep = UserFactory(organization=organization)
    lead = LeadFactory(organization=organization, score=50, notes="old")

    api.put(
        f"/leads/{lead.id}",
        {
            "score": 80,
            "notes": "old",
            "assignedTo": str(rep.id),
            "lastContactedAt": "2025-05-11T14:00:00Z",
            "customFields": {"a": 1},
        },
        format="json",
    )

    [entry] = history(api, lead.id)["data"]
    assert entry["action"] == "updated"
    assert entry["changes"] == {
        "score": {"old": 50, "new": 80},
        "assignedTo": {"old": None, "new": str(rep.id)},
        "lastContactedAt": {"old": None, "new": "2025-05-11T14:00:00Z"},
        "customFields": {"old": {}, "new": {"a": 1}},
    }


def test_an_update_that_changes_nothing_records_nothing(api, organization):
    lead = LeadFactory(organization=organization, score=50)
    api.patch(f"/leads/{lead.id}", {"score": 50, "name": lead.name}, format="json")
    assert history(api, lead.id)["total"] == 0


def test_custom_fields_of_another_json_type_are_a_change(api, organization):
    """Python takes 1 == True; the stored JSON, the API and the events do not."""
    lead = LeadFactory(organization=organization, custom_fields={"vip": True, "tier": 2.0})

    response = api.patch(f"/leads/{lead.pk}", {"customFields": {"vip": 1, "tier": 2}}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["customFields"] == {"vip": 1, "tier": 2}
    [entry] = history(api, lead.pk)["data"]
    assert entry["changes"] == {"customFields": {"old": {"vip": True, "tier": 2.0}, "new": {"vip": 1, "tier": 2}}}


def test_writing_history_costs_the_same_queries_for_one_or_many_changed_fields(api, organization):
    lead = LeadFactory(organization=organization)
    one_field = {"score": 1}
    many_fields = {
        "score": 2,
        "name": "B",
        "phone": "1",
        "company": "C",
        "source": "s",
        "notes": "n",
        "isActive": False,
    }

    counts = []
    for body in (one_field, many_fields):
        with CaptureQueriesContext(connection) as queries:
            assert api.put(f"/leads/{lead.id}", body, format="json").status_code == 200
        counts.append(len(queries))

    assert counts[0] == counts[1]
    assert [len(entry["changes"]) for entry in history(api, lead.id)["data"]] == [7, 1]


def test_conversion_is_recorded(api, organization, user):
    lead = LeadFactory(organization=organization)
    customer_id = api.post(f"/leads/{lead.id}/convert-to-customer").json()["customerId"]

    entry = history(api, lead.id)["data"][0]

    assert (entry["action"], entry["actorId"]) == ("converted", str(user.id))
    assert entry["changes"]["status"] == {"old": "new", "new": "converted"}
    assert entry["changes"]["convertedCustomerId"] == {"old": None, "new": customer_id}
    assert entry["changes"]["convertedAt"]["new"].endswith("Z")


def test_delete_is_recorded_and_the_history_outlives_the_lead(api, organization, user):
    lead = LeadFactory(organization=organization, name="Gone")
    api.put(f"/leads/{lead.id}", {"score": 5}, format="json")

    assert api.delete(f"/leads/{lead.id}").status_code == 204

    entries = LeadHistory.objects.filter(lead_id=lead.id)
    assert [entry.action for entry in entries] == ["deleted", "updated"]
    assert entries[0].actor == user
    assert entries[0].changes["name"] == {"old": "Gone", "new": None}
    # The lead no longer exists, so its route is a 404 like any unknown lead.
    assert api.get(f"/leads/{lead.id}/history").status_code == 404


def test_history_is_newest_first_and_paginated(api, organization):
    lead = LeadFactory(organization=organization, score=0)
    for score in range(1, 6):
        api.put(f"/leads/{lead.id}", {"score": score}, format="json")

    first = history(api, lead.id, "?limit=2")
    last = history(api, lead.id, "?limit=2&page=3")

    assert (first["total"], first["totalPages"]) == (5, 3)
    assert [entry["changes"]["score"]["new"] for entry in first["data"]] == [5, 4]
    assert [entry["changes"]["score"]["new"] for entry in last["data"]] == [1]


def test_history_shows_only_that_lead(api, organization):
    lead, other = LeadFactory.create_batch(2, organization=organization)
    api.put(f"/leads/{other.id}", {"score": 1}, format="json")
    assert history(api, lead.id)["total"] == 0


@pytest.mark.parametrize("query, field", [("?page=0", "page"), ("?limit=500", "limit")])
def test_history_pagination_is_validated(api, organization, query, field):
    lead = LeadFactory(organization=organization)
    response = api.get(f"/leads/{lead.id}/history{query}")
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == field


def test_another_organizations_lead_history_is_404(api, other_api, organization):
    lead = LeadFactory(organization=organization)
    api.put(f"/leads/{lead.id}", {"score": 1}, format="json")
    assert other_api.get(f"/leads/{lead.id}/history").status_code == 404


@pytest.mark.parametrize("lead_id", [uuid.uuid4(), "nope"])
def test_unknown_lead_history_is_404(api, lead_id):
    assert api.get(f"/leads/{lead_id}/history").status_code == 404


def test_history_needs_a_token(anonymous, organization):
    lead = LeadFactory(organization=organization)
    assert anonymous.get(f"/leads/{lead.id}/history").status_code == 401


def test_services_record_where_a_change_came_from(organization, user):
    """The admin and the importer call the same services with via="admin" / via="import"."""
    lead = services.lead_create(organization=organization, user=user, data={"name": "A"}, via="import")
    services.lead_update(lead=lead, user=user, data={"score": 3}, via="admin")

    entries = LeadHistory.objects.filter(lead_id=lead.pk).order_by("created_at")
    assert [(entry.action, entry.via, entry.actor) for entry in entries] == [
        ("created", "import", user),
        ("updated", "admin", user),
    ]
    services.lead_delete(lead=Lead.objects.get(pk=lead.pk), user=None, via="admin")
    assert LeadHistory.objects.get(action="deleted").actor is None
