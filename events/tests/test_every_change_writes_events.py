"""Every change of a lead or customer, by every path, writes its events in the change's transaction."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import Client
from django.urls import reverse

from customers.models import Customer
from customers.tests.factories import CustomerFactory
from events.models import Event
from leads.models import Lead, LeadStatus
from leads.tests.factories import LeadFactory
from organizations.models import User
from organizations.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def events(organization):
    return list(Event.objects.for_organization(organization))


def only_event(organization):
    (event,) = events(organization)
    return event


@pytest.fixture
def lead(organization):
    return LeadFactory(organization=organization, name="Ada", email="ada@example.com", status=LeadStatus.QUALIFIED)


def test_api_create(api, organization, user):
    response = api.post("/leads", {"name": "Ada", "email": "ada@example.com", "score": 70}, format="json")

    event = only_event(organization)
    assert (event.type, event.actor_id, event.actor_via) == ("lead.created", user.pk, "api")
    assert event.data == {"lead": response.json()}


def test_api_update_lists_the_changed_fields(api, organization, user, lead):
    response = api.patch(f"/leads/{lead.pk}", {"score": 90, "name": "Ada"}, format="json")

    event = only_event(organization)
    assert event.type == "lead.updated"
    assert event.data == {"lead": response.json(), "changes": {"score": {"old": 50, "new": 90}}}


def test_an_update_that_changes_nothing_writes_no_event(api, organization, lead):
    api.patch(f"/leads/{lead.pk}", {"name": "Ada"}, format="json")

    assert events(organization) == []


def test_api_delete_carries_the_lead_as_it_was(api, organization, lead):
    before = api.get(f"/leads/{lead.pk}").json()
    api.delete(f"/leads/{lead.pk}")

    event = only_event(organization)
    assert (event.type, event.data) == ("lead.deleted", {"lead": before})


def test_conversion_into_a_new_customer(api, organization, user, lead):
    body = api.post(f"/leads/{lead.pk}/convert-to-customer", {}, format="json").json()

    created, converted = events(organization)
    assert created.type == "customer.created"
    assert created.data == {"customer": body["customer"]}
    assert converted.type == "lead.converted"
    assert converted.data["customer"] == body["customer"]
    assert converted.data["customerIsNew"] is True
    assert converted.data["lead"] == api.get(f"/leads/{lead.pk}").json()
    assert {created.actor_id, converted.actor_id} == {user.pk}


def test_conversion_into_an_existing_customer_that_gains_a_phone(api, organization, lead):
    customer = CustomerFactory(organization=organization, contact_phone=None)

    api.post(f"/leads/{lead.pk}/convert-to-customer", {"customerId": str(customer.pk)}, format="json")

    updated, converted = events(organization)
    assert updated.type == "customer.updated"
    assert updated.data["changes"] == {"contactPhone": {"old": None, "new": lead.phone}}
    assert (converted.type, converted.data["customerIsNew"]) == ("lead.converted", False)
    assert converted.data["customer"]["id"] == str(customer.pk)


def test_merge_names_the_survivor_and_the_merged_ids(api, organization, lead):
    duplicate = LeadFactory(organization=organization, email="ada@example.com", score=80)

    response = api.post(f"/leads/{lead.pk}/merge", {"duplicateIds": [str(duplicate.pk)]}, format="json")

    event = only_event(organization)
    assert event.type == "lead.merged"
    assert event.data["lead"] == response.json()
    assert event.data["mergedLeadIds"] == [str(duplicate.pk)]
    assert event.data["changes"]["score"] == {"old": 50, "new": 80}


def test_reassign_writes_one_event_per_moved_lead(api, organization, user):
    rep, other_rep = UserFactory(organization=organization), UserFactory(organization=organization)
    moved = LeadFactory.create_batch(3, organization=organization, assigned_to=rep)
    LeadFactory(organization=organization, assigned_to=other_rep)

    api.post("/leads/reassign", {"fromUserId": str(rep.pk), "toUserId": str(other_rep.pk)}, format="json")

    written = events(organization)
    assert [event.type for event in written] == ["lead.reassigned"] * 3
    assert {event.data["lead"]["id"] for event in written} == {str(lead.pk) for lead in moved}
    for event in written:
        assert event.data["lead"] == api.get(f"/leads/{event.data['lead']['id']}").json()
        assert event.data["changes"] == {"assignedTo": {"old": str(rep.pk), "new": str(other_rep.pk)}}


def test_customer_update_and_delete(api, organization, user, lead):
    api.post(f"/leads/{lead.pk}/convert-to-customer", {}, format="json")
    Event.objects.all().delete()
    customer = Customer.objects.get()

    updated = api.patch(f"/customers/{customer.pk}", {"status": "churned"}, format="json").json()
    api.delete(f"/customers/{customer.pk}")

    update, delete, unlinked = events(organization)
    assert update.type == "customer.updated"
    assert update.data["changes"] == {"status": {"old": "active", "new": "churned"}}
    assert update.data["customer"] == {key: value for key, value in updated.items() if key != "leadIds"}
    assert (delete.type, delete.data["customer"]["id"]) == ("customer.deleted", str(customer.pk))
    assert unlinked.type == "lead.unconverted"
    assert unlinked.data["customerId"] == str(customer.pk)
    assert unlinked.data["changes"]["convertedCustomerId"] == {"old": str(customer.pk), "new": None}
    assert unlinked.data["changes"]["status"] == {"old": "converted", "new": "qualified"}
    assert unlinked.data["lead"] == api.get(f"/leads/{lead.pk}").json()


def test_a_refused_write_leaves_no_event(api, organization, lead):
    api.post(f"/leads/{lead.pk}/convert-to-customer", {}, format="json")
    Event.objects.all().delete()

    assert api.post(f"/leads/{lead.pk}/convert-to-customer", {}, format="json").status_code == 409
    assert api.post("/leads", {"name": "Twin", "email": "ADA@example.com"}, format="json").status_code == 409
    assert api.delete(f"/leads/{lead.pk}").status_code == 409

    assert events(organization) == []


# -- The admin ------------------------------------------------------------------------------------


@pytest.fixture
def staff_client(organization):
    staff = UserFactory(organization=organization, role=User.Role.ADMIN, is_staff=True)
    client = Client()
    client.force_login(staff)
    client.staff = staff
    return client


def test_admin_edit_convert_and_delete_say_via_admin(staff_client, organization, lead):
    data = {"name": "Ada Lovelace", "status": "qualified", "custom_fields": "{}", "is_active": "on"}
    assert staff_client.post(reverse("admin:leads_lead_change", args=[lead.pk]), data).status_code == 302
    changelist = reverse("admin:leads_lead_changelist")
    staff_client.post(changelist, {"action": "convert_to_customers", ACTION_CHECKBOX_NAME: [str(lead.pk)], "index": 0})
    staff_client.post(reverse("admin:leads_lead_delete", args=[lead.pk]), {"post": "yes"})

    written = events(organization)
    assert [event.type for event in written] == ["lead.updated", "customer.created", "lead.converted", "lead.deleted"]
    assert {(event.actor_id, event.actor_via) for event in written} == {(staff_client.staff.pk, "admin")}
    assert written[0].data["changes"]["name"] == {"old": "Ada", "new": "Ada Lovelace"}
    assert not Lead.objects.exists()


def test_admin_customer_add_change_and_delete(staff_client, organization):
    staff_client.post(reverse("admin:customers_customer_add"), {"company_name": "Fresh Co", "status": "churned"})
    customer = Customer.objects.get()
    change = reverse("admin:customers_customer_change", args=[customer.pk])
    staff_client.post(change, {"company_name": "Fresher Co", "status": "churned"})
    staff_client.post(reverse("admin:customers_customer_delete", args=[customer.pk]), {"post": "yes"})

    created, updated, deleted = events(organization)
    assert (created.type, created.data["customer"]["status"]) == ("customer.created", "churned")
    assert (updated.type, updated.data["changes"]) == (
        "customer.updated",
        {"companyName": {"old": "Fresh Co", "new": "Fresher Co"}},
    )
    assert deleted.type == "customer.deleted"
    assert {event.actor_via for event in (created, updated, deleted)} == {"admin"}
