"""Conversions into one customer and duplicate creates racing each other on PostgreSQL, over real connections."""

import pytest

from conftest import client_for, run_at_once
from customers.models import Customer
from customers.tests.factories import CustomerFactory
from leads.models import Lead, LeadStatus
from leads.tests.factories import LeadFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_leads_converted_into_one_existing_customer_at_once_both_keep_their_link(user, organization):
    customer = CustomerFactory(organization=organization, contact_email=None, contact_phone=None)
    leads = [
        LeadFactory(organization=organization, email="first@acme.com", phone="555-0001"),
        LeadFactory(organization=organization, email="second@acme.com", phone="555-0002"),
    ]
    body = {"customerId": str(customer.id)}

    def convert(lead):
        return lambda: client_for(user).post(f"/leads/{lead.id}/convert-to-customer", body, format="json")

    responses = run_at_once([convert(lead) for lead in leads])

    assert [response.status_code for response in responses] == [200, 200]
    for lead in Lead.objects.all():
        assert (lead.status, lead.converted_customer_id) == (LeadStatus.CONVERTED, customer.id)
    customer.refresh_from_db()
    # The first conversion to take the customer's lock filled both fields; the second left them alone.
    assert (customer.contact_email, customer.contact_phone) in [
        ("first@acme.com", "555-0001"),
        ("second@acme.com", "555-0002"),
    ]
    assert Customer.objects.count() == 1
    assert set(client_for(user).get(f"/customers/{customer.id}").json()["leadIds"]) == {str(lead.id) for lead in leads}


def test_two_creates_with_one_email_at_once_make_one_lead(user, organization):
    def create(email):
        return lambda: client_for(user).post("/leads", {"name": "Jane", "email": email}, format="json")

    responses = run_at_once([create("jane@acme.com"), create("JANE@acme.com")])

    assert sorted(response.status_code for response in responses) == [201, 409]
    assert Lead.objects.count() == 1
