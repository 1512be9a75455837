"""/leads/batch/create and upsert route their new leads without an assignee, in one step per batch."""

from collections import Counter

import pytest

from events.models import Event
from leads.models import Lead, LeadHistory
from organizations.tests.factories import UserFactory
from routing.services import rule_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def reps(organization):
    reps = [UserFactory(organization=organization, name=name) for name in ("Ana", "Ben")]
    rule_create(organization=organization, data={"name": "All", "members": [{"user": rep} for rep in reps]})
    return reps


def test_batch_create_routes_and_an_explicit_assignee_wins(api, organization, reps, django_assert_max_num_queries):
    inputs = [{"name": f"Lead {i}"} for i in range(6)] + [{"name": "Mine", "assignedTo": str(reps[1].pk)}]
    response = api.post("/leads/batch/create", {"inputs": inputs}, format="json")
    assert response.status_code == 201, response.json()
    counts = Counter(Lead.objects.exclude(name="Mine").values_list("assigned_to", flat=True))
    assert counts == {reps[0].pk: 3, reps[1].pk: 3}
    assert Lead.objects.get(name="Mine").assigned_to == reps[1]
    lead = Lead.objects.get(name="Lead 5")
    assert response.json()["results"][5]["lead"]["assignedTo"] == str(lead.assigned_to_id)
    via = list(LeadHistory.objects.filter(lead_id=lead.pk).order_by("created_at", "id").values_list("via", flat=True))
    assert via == ["api", "rule"]
    event = [e for e in Event.objects.filter(type="lead.created") if e.data["lead"]["id"] == str(lead.pk)][0]
    assert event.data["routing"]["explanation"].startswith('rule "All" matched every lead (no conditions); round robin')


def test_batch_upsert_routes_only_the_new_leads(api, organization, reps):
    existing = Lead.objects.create(organization=organization, name="Old", email="old@example.com")
    inputs = [{"name": "Old", "email": "old@example.com", "score": 5}, {"name": "New", "email": "new@example.com"}]
    response = api.post("/leads/batch/upsert", {"idProperty": "email", "inputs": inputs}, format="json")
    assert response.status_code in (200, 201, 207), response.json()
    existing.refresh_from_db()
    assert existing.assigned_to is None and existing.score == 5
    assert Lead.objects.get(email="new@example.com").assigned_to == reps[0]
