"""The lifecycle of a lead (leads/lifecycle.py): converted only by converting, kept until explicitly undone."""

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from conftest import client_for
from customers.models import Customer
from events.models import Event
from leads.models import Lead, LeadHistory, LeadStatus
from leads.tests.factories import LeadFactory
from organizations.models import User
from organizations.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def details(response):
    return [(detail.get("field"), detail["code"]) for detail in response.json()["details"]]


def converted_lead(api, organization, **fields):
    lead = LeadFactory(organization=organization, status=LeadStatus.QUALIFIED, **fields)
    response = api.post(f"/leads/{lead.id}/convert-to-customer", {}, format="json")
    assert response.status_code == 201
    return Lead.objects.get(pk=lead.pk), Customer.objects.get(pk=response.json()["customerId"])


# --- converted is reached only by converting


@pytest.mark.parametrize("method", ["patch", "put"])
def test_asking_for_converted_on_an_update_is_400_pointing_at_the_convert_endpoint(api, organization, method):
    lead = LeadFactory(organization=organization)

    response = getattr(api, method)(f"/leads/{lead.id}", {"status": "converted"}, format="json")

    assert response.status_code == 400
    assert details(response) == [("status", "use_convert_endpoint")]
    assert "POST /leads/{id}/convert-to-customer" in response.json()["details"][0]["message"]
    lead.refresh_from_db()
    assert (lead.status, lead.converted_at, lead.converted_customer_id) == (LeadStatus.NEW, None, None)
    # Nothing stands in the way of the real conversion, nor of deleting it unconverted without force.
    assert api.post(f"/leads/{lead.id}/convert-to-customer", {}, format="json").status_code == 201
    other = LeadFactory(organization=organization)
    getattr(api, method)(f"/leads/{other.id}", {"status": "converted"}, format="json")
    assert api.delete(f"/leads/{other.id}").status_code == 204


def test_creating_a_converted_lead_is_400(api):
    response = api.post("/leads", {"name": "X", "status": "converted"}, format="json")

    assert response.status_code == 400
    assert details(response) == [("status", "use_convert_endpoint")]
    assert not Lead.objects.exists()


# --- a converted lead keeps its status


def test_changing_a_converted_leads_status_is_409_saying_how_to_undo(api, organization):
    lead, customer = converted_lead(api, organization)

    response = api.patch(f"/leads/{lead.id}", {"status": "qualified"}, format="json")

    assert response.status_code == 409
    assert details(response) == [("status", "lead_converted")]
    assert f"POST /leads/{lead.id}/unconvert" in response.json()["details"][0]["message"]
    lead.refresh_from_db()
    assert (lead.status, lead.converted_customer_id) == (LeadStatus.CONVERTED, customer.pk)
    # Converting it again is refused: no second customer, the first keeps its lead.
    assert api.post(f"/leads/{lead.id}/convert-to-customer", {}, format="json").status_code == 409
    assert Customer.objects.count() == 1
    assert api.get(f"/customers/{customer.pk}").json()["leadIds"] == [str(lead.pk)]


def test_a_converted_leads_other_fields_stay_editable_and_converted_again_is_no_change(api, organization):
    lead, customer = converted_lead(api, organization)
    whole = api.get(f"/leads/{lead.id}").json()
    writable = {key: whole[key] for key in ("name", "email", "status", "score", "customFields")}

    response = api.put(f"/leads/{lead.id}", {**writable, "name": "Renamed", "score": 99}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["score"], body["status"]) == ("Renamed", 99, "converted")
    assert body["convertedCustomerId"] == str(customer.pk)
    entry = LeadHistory.objects.filter(lead_id=lead.pk, action="updated").get()
    assert set(entry.changes) == {"name", "score"}


# --- undoing a conversion


def test_unconvert_unlinks_the_lead_and_keeps_the_customer(api, organization, user):
    lead, customer = converted_lead(api, organization)

    response = api.post(f"/leads/{lead.id}/unconvert")

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["convertedAt"], body["convertedCustomerId"]) == ("qualified", None, None)
    lead.refresh_from_db()
    assert (lead.status, lead.converted_at, lead.converted_customer_id) == ("qualified", None, None)
    assert Customer.objects.filter(pk=customer.pk).exists()
    assert api.get(f"/customers/{customer.pk}").json()["leadIds"] == []
    entry = LeadHistory.objects.filter(lead_id=lead.pk).order_by("-created_at", "-id").first()
    assert (entry.action, entry.actor_id) == ("unconverted", user.pk)
    assert entry.changes["status"] == {"old": "converted", "new": "qualified"}
    assert entry.changes["convertedCustomerId"] == {"old": str(customer.pk), "new": None}
    event = Event.objects.get(type="lead.unconverted")
    assert (event.data["lead"]["id"], event.data["customerId"]) == (str(lead.pk), str(customer.pk))
    history = api.get(f"/leads/{lead.id}/history").json()["data"]
    assert history[0]["action"] == "unconverted"
    # It can be converted again, into another customer or the same one.
    response = api.post(f"/leads/{lead.id}/convert-to-customer", {"customerId": str(customer.pk)}, format="json")
    assert response.status_code == 200


def test_unconverting_a_lead_that_is_not_converted_is_409(api, organization):
    lead = LeadFactory(organization=organization, status=LeadStatus.QUALIFIED)

    response = api.post(f"/leads/{lead.id}/unconvert")

    assert response.status_code == 409
    assert not LeadHistory.objects.filter(lead_id=lead.pk).exists()


@pytest.mark.parametrize("role", [User.Role.SALES_REP, User.Role.READ_ONLY])
def test_only_organization_admins_unconvert(api, organization, role):
    lead, _ = converted_lead(api, organization)
    member = client_for(UserFactory(organization=organization, role=role))

    response = member.post(f"/leads/{lead.id}/unconvert")

    assert response.status_code == 403
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONVERTED


def test_unconverting_another_organizations_lead_is_404(api, organization, other_api):
    lead, _ = converted_lead(api, organization)

    assert other_api.post(f"/leads/{lead.id}/unconvert").status_code == 404
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONVERTED


def test_the_schema_documents_unconvert(api):
    schema = api.get("/api/schema/?format=json").json()
    operation = next(path for name, path in schema["paths"].items() if name.rstrip("/").endswith("/unconvert"))["post"]
    assert {"200", "403", "404", "409"} <= set(operation["responses"])


# --- the database holds the invariant


@pytest.mark.parametrize(
    "fields",
    [
        {"status": LeadStatus.CONVERTED},  # no customer, no date
        {"status": LeadStatus.CONVERTED, "converted_at": timezone.now()},  # no customer
        {"status": LeadStatus.QUALIFIED, "converted_at": timezone.now()},  # a date but not converted
    ],
)
def test_the_database_refuses_a_converted_lead_without_its_customer(organization, fields):
    lead = LeadFactory(organization=organization)
    with pytest.raises(IntegrityError), transaction.atomic():
        Lead.objects.filter(pk=lead.pk).update(**fields)


def test_the_database_refuses_a_customer_link_on_a_lead_that_is_not_converted(api, organization):
    lead, customer = converted_lead(api, organization)
    with pytest.raises(IntegrityError), transaction.atomic():
        Lead.objects.filter(pk=lead.pk).update(status=LeadStatus.QUALIFIED)


@pytest.mark.parametrize("method", ["post", "patch"])
def test_asking_for_converted_is_reported_with_the_other_fields_errors(api, organization, method):
    lead = LeadFactory(organization=organization, status=LeadStatus.NEW)
    url = "/leads" if method == "post" else f"/leads/{lead.pk}"

    response = getattr(api, method)(url, {"name": "X", "status": "converted", "score": "high"}, format="json")

    assert response.status_code == 400
    codes = {detail["field"]: detail["code"] for detail in response.json()["details"]}
    assert codes == {"status": "use_convert_endpoint", "score": "invalid"}
    lead.refresh_from_db()
    assert lead.status == LeadStatus.NEW
