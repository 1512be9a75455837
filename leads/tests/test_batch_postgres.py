"""Batches racing each other and single writes on PostgreSQL, over real connections."""

import pytest

from conftest import client_for, run_at_once
from leads.models import Lead
from leads.tests.factories import LeadFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

EMAILS = [f"lead{i}@acme.com" for i in range(40)]


def create_batch(user, emails):
    body = {"inputs": [{"name": email, "email": email} for email in emails]}
    return lambda: client_for(user).post("/leads/batch/create", body, format="json")


def test_batches_creating_the_same_emails_in_opposite_orders_make_each_lead_once_without_deadlock(user):
    responses = run_at_once([create_batch(user, EMAILS), create_batch(user, [e.upper() for e in reversed(EMAILS)])])

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201, 207], [response.content[:300] for response in responses]
    loser = next(response.json() for response in responses if response.status_code == 207)
    assert loser["numErrors"] == len(EMAILS)
    assert {error["code"] for result in loser["results"] for error in result["errors"]} == {"duplicate_email"}
    assert sorted(Lead.objects.values_list("email", flat=True)) == sorted(
        next(response.json() for response in responses if response.status_code == 201)["results"][i]["lead"]["email"]
        for i in range(len(EMAILS))
    )
    assert Lead.objects.count() == len(EMAILS)


def test_a_batch_and_a_single_create_of_one_email_make_one_lead(user):
    single = lambda: client_for(user).post("/leads", {"name": "Jane", "email": "lead7@acme.com"}, format="json")  # noqa: E731

    responses = run_at_once([create_batch(user, EMAILS[:10]), single])

    assert Lead.objects.filter(email="lead7@acme.com").count() == 1
    assert Lead.objects.count() == 10
    assert responses[1].status_code in (201, 409)


def test_upserts_by_email_racing_each_other_update_one_lead(user, organization):
    LeadFactory(organization=organization, email="jane@acme.com", score=1)

    def upsert(score):
        body = {
            "idProperty": "email",
            "inputs": [{"email": "jane@acme.com", "score": score}, {"email": "new@acme.com", "name": "New"}],
        }
        return lambda: client_for(user).post("/leads/batch/upsert", body, format="json")

    responses = run_at_once([upsert(2), upsert(3)])

    assert [response.status_code for response in responses] == [200, 200]
    assert Lead.objects.filter(email="new@acme.com").count() == 1
    jane = Lead.objects.get(email="jane@acme.com")
    assert (jane.score, jane.version) in [(2, 3), (3, 3)]
