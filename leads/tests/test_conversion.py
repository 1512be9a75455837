"""Converting a lead into an existing customer, the lead's conversion fields, deleting a converted lead."""

import uuid

import pytest

from customers.models import Customer
from customers.tests.factories import CustomerFactory
from leads.models import Lead, LeadStatus
from leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def test_lead_shows_conversion_fields_null_until_converted(api, organization):
    lead = LeadFactory(organization=organization, status=LeadStatus.QUALIFIED)
    before = api.get(f"/leads/{lead.id}").json()

    customer_id = api.post(f"/leads/{lead.id}/convert-to-customer").json()["customerId"]
    after = api.get(f"/leads/{lead.id}").json()

    assert (before["convertedAt"], before["convertedCustomerId"]) == (None, None)
    assert after["convertedCustomerId"] == customer_id
    assert after["convertedAt"].endswith("Z")


def test_conversion_fields_are_read_only(api, organization):
    lead = LeadFactory(organization=organization)
    customer = CustomerFactory(organization=organization)

    response = api.put(
        f"/leads/{lead.id}",
        {"convertedCustomerId": str(customer.id), "convertedAt": "2025-01-01T00:00:00Z"},
        format="json",
    )

    assert response.status_code == 200
    lead.refresh_from_db()
    assert (lead.converted_customer_id, lead.converted_at) == (None, None)


def test_convert_into_an_existing_customer_fills_only_its_empty_contact_fields(api, organization):
    customer = CustomerFactory(
        organization=organization, company_name="Acme", contact_email="billing@acme.com", contact_phone=None
    )
    lead = LeadFactory(organization=organization, email="jane@acme.com", phone="555-0199", company="Acme Inc")

    response = api.post(f"/leads/{lead.id}/convert-to-customer", {"customerId": str(customer.id)}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert body["customerId"] == str(customer.id)
    assert body["customer"]["customerId"] == customer.customer_number
    assert (body["customer"]["contactEmail"], body["customer"]["contactPhone"]) == ("billing@acme.com", "555-0199")
    assert Customer.objects.count() == 1
    lead.refresh_from_db()
    assert (lead.status, lead.converted_customer_id) == (LeadStatus.CONVERTED, customer.id)
    assert api.get(f"/customers/{customer.id}").json()["leadIds"] == [str(lead.id)]


def test_two_leads_converted_into_one_customer_are_both_listed(api, organization):
    first, second = LeadFactory.create_batch(2, organization=organization)
    customer_id = api.post(f"/leads/{first.id}/convert-to-customer").json()["customerId"]

    response = api.post(f"/leads/{second.id}/convert-to-customer", {"customerId": customer_id}, format="json")

    assert response.status_code == 200
    assert set(api.get(f"/customers/{customer_id}").json()["leadIds"]) == {str(first.id), str(second.id)}


def test_an_empty_or_null_customer_id_creates_a_new_customer(api, organization):
    first, second = LeadFactory.create_batch(2, organization=organization)
    assert api.post(f"/leads/{first.id}/convert-to-customer", {}, format="json").status_code == 201
    response = api.post(f"/leads/{second.id}/convert-to-customer", {"customerId": None}, format="json")
    assert response.status_code == 201
    assert Customer.objects.count() == 2


@pytest.mark.parametrize("customer_id", [str(uuid.uuid4()), "other-organization"])
def test_a_customer_of_another_organization_or_unknown_is_404_and_converts_nothing(
    api, organization, other_organization, customer_id
):
    if customer_id == "other-organization":
        customer_id = str(CustomerFactory(organization=other_organization, contact_phone=None).id)
    lead = LeadFactory(organization=organization)

    response = api.post(f"/leads/{lead.id}/convert-to-customer", {"customerId": customer_id}, format="json")

    assert response.status_code == 404
    lead.refresh_from_db()
    assert (lead.status, lead.converted_customer_id) == (LeadStatus.NEW, None)
    assert Customer.objects.filter(contact_phone__isnull=False).count() == 0


@pytest.mark.parametrize("body", [{"customerId": "CUST-001"}, {"customerId": "12345"}, ["x"]])
def test_a_malformed_customer_id_is_400(api, organization, body):
    lead = LeadFactory(organization=organization)
    response = api.post(f"/leads/{lead.id}/convert-to-customer", body, format="json")
    assert response.status_code == 400
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.NEW


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"status": LeadStatus.UNQUALIFIED}, "unqualified"),
        ({"is_active": False}, "inactive"),
        ({"status": LeadStatus.CONVERTED}, "already been converted"),
    ],
)
def test_refused_conversions_into_an_existing_customer_are_409_saying_why(api, organization, fields, message):
    customer = CustomerFactory(organization=organization, contact_phone=None)
    lead = LeadFactory(organization=organization, **fields)

    response = api.post(f"/leads/{lead.id}/convert-to-customer", {"customerId": str(customer.id)}, format="json")

    assert response.status_code == 409
    assert message in response.json()["details"][0]["message"]
    customer.refresh_from_db()
    assert customer.contact_phone is None
    assert not Lead.objects.filter(converted_customer=customer).exists()


def test_a_converted_lead_is_deleted_only_with_force(api, organization):
    lead = LeadFactory(organization=organization)
    api.post(f"/leads/{lead.id}/convert-to-customer")

    refused = api.delete(f"/leads/{lead.id}")
    refused_false = api.delete(f"/leads/{lead.id}?force=false")
    forced = api.delete(f"/leads/{lead.id}?force=true")

    assert refused.status_code == refused_false.status_code == 409
    assert "force=true" in refused.json()["details"][0]["message"]
    assert forced.status_code == 204
    assert not Lead.objects.exists()
    assert Customer.objects.count() == 1


def test_force_must_be_a_boolean(api, organization):
    lead = LeadFactory(organization=organization)
    response = api.delete(f"/leads/{lead.id}?force=please")
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "force"
    assert Lead.objects.exists()


def test_an_unconverted_lead_needs_no_force(api, organization):
    lead = LeadFactory(organization=organization)
    assert api.delete(f"/leads/{lead.id}").status_code == 204
