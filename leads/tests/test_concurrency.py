"""Many requests at once on PostgreSQL, each thread on its own database connection."""

from datetime import UTC, datetime
from functools import partial

import pytest

from conftest import client_for, run_at_once
from customers.models import Customer
from leads.models import Lead, LeadStatus
from leads.tests.factories import LeadFactory
from organizations.models import User
from organizations.tests.factories import UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def at_once(user, requests):
    """Send the requests, (method, path, body), each from its own thread and client, all at once."""
    clients = [client_for(user) for _ in requests]
    return run_at_once(
        [
            partial(getattr(client, method), path, body, format="json")
            for client, (method, path, body) in zip(clients, requests, strict=True)
        ]
    )


def test_fifty_simultaneous_converts_of_one_lead_make_exactly_one_customer(user, organization):
    lead = LeadFactory(organization=organization)

    responses = at_once(user, [("post", f"/leads/{lead.id}/convert-to-customer", None)] * 50)

    statuses = [response.status_code for response in responses]
    assert statuses.count(201) == 1 and statuses.count(409) == 49
    assert all(
        response.json()["details"][0]["message"] == "Lead has already been converted."
        for response in responses
        if response.status_code == 409
    )
    customer = Customer.objects.get()
    [created] = [response.json() for response in responses if response.status_code == 201]
    assert created["customerId"] == str(customer.id)
    lead.refresh_from_db()
    assert (lead.status, lead.converted_customer_id) == (LeadStatus.CONVERTED, customer.id)


def test_twenty_simultaneous_converts_of_different_leads_get_twenty_distinct_customer_numbers(user, organization):
    leads = LeadFactory.create_batch(20, organization=organization)

    responses = at_once(user, [("post", f"/leads/{lead.id}/convert-to-customer", None) for lead in leads])

    assert [response.status_code for response in responses] == [201] * 20
    numbers = sorted(Customer.objects.for_organization(organization).values_list("customer_number", flat=True))
    assert numbers == [f"CUST-{n:03d}" for n in range(1, 21)]
    assert set(Lead.objects.values_list("converted_customer_id", flat=True)) == set(
        Customer.objects.values_list("id", flat=True)
    )


def test_simultaneous_updates_of_different_fields_of_one_lead_lose_none(user, organization):
    lead = LeadFactory(organization=organization, status=LeadStatus.NEW, is_active=True, custom_fields={})
    assignee = UserFactory(organization=organization, role=User.Role.SALES_REP)
    contacted = datetime(2025, 5, 11, 12, 33, 59, 48000, tzinfo=UTC)
    changes = {
        "name": "Renamed",
        "email": "new@example.com",
        "phone": "555-000-1111",
        "company": "New Company",
        "source": "referral",
        "status": "contacted",
        "score": 97,
        "assignedTo": str(assignee.id),
        "lastContactedAt": "2025-05-11T12:33:59.048Z",
        "notes": "Called twice",
        "customFields": {"budget": 5000},
        "isActive": False,
    }

    responses = at_once(user, [("patch", f"/leads/{lead.id}", {field: value}) for field, value in changes.items()])

    assert [response.status_code for response in responses] == [200] * len(changes)
    lead.refresh_from_db()
    assert lead.name == "Renamed"
    assert lead.email == "new@example.com"
    assert lead.phone == "555-000-1111"
    assert lead.company == "New Company"
    assert lead.source == "referral"
    assert lead.status == LeadStatus.CONTACTED
    assert lead.score == 97
    assert lead.assigned_to_id == assignee.id
    assert lead.last_contacted_at == contacted
    assert lead.notes == "Called twice"
    assert lead.custom_fields == {"budget": 5000}
    assert lead.is_active is False
