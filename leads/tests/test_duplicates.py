"""Duplicate leads: refused on create, listed in groups, merged into one."""

import uuid
from datetime import UTC, datetime

import pytest

from conftest import client_for
from customers.models import Customer
from leads.models import Lead, LeadHistory
from leads.tests.factories import LeadFactory
from organizations.models import User
from organizations.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


# --- create


def test_create_with_an_existing_email_in_another_case_is_409_naming_the_lead(api, organization):
    existing = LeadFactory(organization=organization, email="Jane.Doe@Acme.com")

    response = api.post("/leads", {"name": "Jane", "email": "jane.doe@ACME.com"}, format="json")

    assert response.status_code == 409
    body = response.json()
    assert body["error"] == "Conflict"
    [detail] = body["details"]
    assert detail["field"] == "email"
    assert detail["existingLeadId"] == str(existing.id)
    assert "already exists" in detail["message"]
    assert Lead.objects.count() == 1


@pytest.mark.parametrize("flag", ["true", "1", "TRUE"])
def test_allow_duplicate_creates_it_anyway(api, organization, flag):
    LeadFactory(organization=organization, email="jane@acme.com")
    response = api.post(f"/leads?allowDuplicate={flag}", {"name": "Jane", "email": "jane@acme.com"}, format="json")
    assert response.status_code == 201
    assert Lead.objects.filter(email="jane@acme.com").count() == 2


def test_allow_duplicate_must_be_a_boolean(api):
    response = api.post("/leads?allowDuplicate=maybe", {"name": "Jane", "email": "jane@acme.com"}, format="json")
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "allowDuplicate"
    assert not Lead.objects.exists()


def test_a_lead_of_another_organization_is_no_duplicate(api, other_organization):
    LeadFactory(organization=other_organization, email="jane@acme.com")
    assert api.post("/leads", {"name": "Jane", "email": "jane@acme.com"}, format="json").status_code == 201


def test_leads_without_email_are_never_duplicates_on_create(api, organization):
    LeadFactory(organization=organization, email=None)
    assert api.post("/leads", {"name": "Jane"}, format="json").status_code == 201
    assert api.post("/leads", {"name": "Jane", "email": ""}, format="json").status_code == 201


# --- list


def test_duplicates_groups_by_email_case_insensitively_and_phone_digits(api, organization, other_organization):
    jane = LeadFactory(organization=organization, email="jane@acme.com", phone="(555) 123-4567")
    jane_upper = LeadFactory(organization=organization, email="JANE@acme.com", phone=None)
    jane_phone = LeadFactory(organization=organization, email="j.doe@home.com", phone="555.123.4567")
    LeadFactory(organization=organization, email="alone@acme.com", phone="555-999-0000")
    LeadFactory(organization=other_organization, email="jane@acme.com", phone="5551234567")

    response = api.get("/leads/duplicates")

    assert response.status_code == 200
    body = response.json()
    assert (body["total"], body["page"], body["limit"], body["totalPages"]) == (2, 1, 10, 1)
    groups = {(group["matchOn"], group["value"]): group for group in body["data"]}
    assert set(groups) == {("email", "jane@acme.com"), ("phone", "5551234567")}
    email_group, phone_group = groups[("email", "jane@acme.com")], groups[("phone", "5551234567")]
    assert email_group["size"] == 2
    assert [lead["id"] for lead in email_group["leads"]] == [str(jane.id), str(jane_upper.id)]
    assert [lead["id"] for lead in phone_group["leads"]] == [str(jane.id), str(jane_phone.id)]
    assert {"email", "phone", "convertedCustomerId"} <= set(email_group["leads"][0])


def test_duplicates_are_paginated_biggest_group_first(api, organization):
    for index in range(3):
        LeadFactory.create_batch(2 + index, organization=organization, email=f"dup{index}@acme.com", phone=None)

    first = api.get("/leads/duplicates?limit=2").json()
    second = api.get("/leads/duplicates?limit=2&page=2").json()

    assert (first["total"], first["totalPages"]) == (3, 2)
    assert [group["value"] for group in first["data"]] == ["dup2@acme.com", "dup1@acme.com"]
    assert [group["value"] for group in second["data"]] == ["dup0@acme.com"]


def test_no_duplicates_is_an_empty_page(api, organization):
    LeadFactory.create_batch(3, organization=organization, phone=None)
    assert api.get("/leads/duplicates").json() == {"data": [], "total": 0, "page": 1, "limit": 10, "totalPages": 0}


@pytest.mark.parametrize("groups", [2, 8])
def test_duplicates_take_a_constant_number_of_queries(api, organization, groups, django_assert_num_queries):
    for index in range(groups):
        LeadFactory.create_batch(3, organization=organization, email=f"dup{index}@acme.com", phone=f"555-000-{index}")

    # user, count, page of groups, their leads
    with django_assert_num_queries(4):
        response = api.get("/leads/duplicates?limit=100")

    assert response.json()["total"] == groups * 2


def test_duplicates_path_is_not_taken_for_a_lead_id(api):
    assert api.get("/leads/duplicates/").status_code == 200


# --- merge


def test_merge_folds_the_duplicates_into_the_lead_and_deletes_them(api, organization):
    rep = UserFactory(organization=organization)
    lead = LeadFactory(
        organization=organization,
        email="jane@acme.com",
        phone=None,
        company=None,
        score=40,
        notes="Met at the fair.",
        custom_fields={"industry": "Tech", "size": "10"},
        last_contacted_at=datetime(2025, 1, 1, tzinfo=UTC),
    )
    first = LeadFactory(
        organization=organization,
        email="JANE@acme.com",
        phone="555-0101",
        company="Acme",
        score=90,
        assigned_to=rep,
        notes="Called twice.",
        custom_fields={"industry": "Retail", "budget": "high"},
        last_contacted_at=datetime(2025, 3, 1, tzinfo=UTC),
    )
    second = LeadFactory(
        organization=organization, phone="555-0202", company="Other", score=None, notes="Met at the fair."
    )
    untouched = LeadFactory(organization=organization)

    response = api.post(f"/leads/{lead.id}/merge", {"duplicateIds": [str(first.id), str(second.id)]}, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["id"] == str(lead.id)
    assert (body["email"], body["phone"], body["company"], body["assignedTo"]) == (
        "jane@acme.com",
        "555-0101",
        "Acme",
        str(rep.id),
    )
    assert body["score"] == 90
    assert body["lastContactedAt"] == "2025-03-01T00:00:00.000Z"
    assert body["customFields"] == {"industry": "Tech", "size": "10", "budget": "high"}
    assert body["notes"] == "Met at the fair.\n\nCalled twice."
    assert set(Lead.objects.values_list("id", flat=True)) == {lead.id, untouched.id}


def test_merge_leaves_no_history_pointing_at_the_deleted_leads(api, organization):
    lead = LeadFactory(organization=organization)
    duplicate_id = api.post("/leads?allowDuplicate=true", {"name": "Dup", "email": lead.email}, format="json").json()[
        "id"
    ]
    api.put(f"/leads/{duplicate_id}", {"score": 99}, format="json")

    api.post(f"/leads/{lead.id}/merge", {"duplicateIds": [duplicate_id]}, format="json")

    assert not LeadHistory.objects.filter(lead_id=duplicate_id).exists()
    actions = [entry["action"] for entry in api.get(f"/leads/{lead.id}/history").json()["data"]]
    assert actions == ["merged", "updated", "created"]
    merged = LeadHistory.objects.get(action="merged")
    assert merged.changes["mergedLeadIds"] == {"old": None, "new": [duplicate_id]}
    assert merged.changes["score"] == {"old": 50, "new": 99}


def test_merge_into_a_converted_lead_keeps_its_customer(api, organization):
    lead = LeadFactory(organization=organization)
    customer_id = api.post(f"/leads/{lead.id}/convert-to-customer").json()["customerId"]
    duplicate = LeadFactory(organization=organization)

    assert api.post(f"/leads/{lead.id}/merge", {"duplicateIds": [str(duplicate.id)]}, format="json").status_code == 200
    assert api.get(f"/customers/{customer_id}").json()["leadIds"] == [str(lead.id)]


def test_merging_a_converted_duplicate_is_409_and_changes_nothing(api, organization):
    lead, other = LeadFactory.create_batch(2, organization=organization, score=10)
    converted = LeadFactory(organization=organization, score=99)
    api.post(f"/leads/{converted.id}/convert-to-customer")

    response = api.post(f"/leads/{lead.id}/merge", {"duplicateIds": [str(other.id), str(converted.id)]}, format="json")

    assert response.status_code == 409
    assert str(converted.id) in response.json()["details"][0]["message"]
    assert Lead.objects.count() == 3
    assert Lead.objects.get(pk=lead.pk).score == 10
    assert Customer.objects.get().leads.get() == converted


@pytest.mark.parametrize(
    "body",
    [{}, {"duplicateIds": []}, {"duplicateIds": ["nope"]}, {"duplicateIds": "x"}, {"duplicateIds": None}, []],
)
def test_merge_validates_the_body(api, organization, body):
    lead = LeadFactory(organization=organization)
    response = api.post(f"/leads/{lead.id}/merge", body, format="json")
    assert response.status_code == 400
    assert Lead.objects.count() == 1


def test_a_lead_cannot_be_merged_into_itself(api, organization):
    lead = LeadFactory(organization=organization)
    response = api.post(f"/leads/{lead.id}/merge", {"duplicateIds": [str(lead.id)]}, format="json")
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "duplicateIds"
    assert Lead.objects.filter(pk=lead.pk).exists()


def test_a_duplicate_listed_twice_is_merged_once(api, organization):
    lead, duplicate = LeadFactory.create_batch(2, organization=organization)
    response = api.post(
        f"/leads/{lead.id}/merge", {"duplicateIds": [str(duplicate.id), str(duplicate.id)]}, format="json"
    )
    assert response.status_code == 200
    assert list(Lead.objects.all()) == [lead]


@pytest.mark.parametrize("duplicate_id", ["other-organization", str(uuid.uuid4())])
def test_a_duplicate_of_another_organization_or_unknown_is_404_and_nothing_is_deleted(
    api, organization, other_organization, duplicate_id
):
    lead, mine = LeadFactory.create_batch(2, organization=organization)
    theirs = LeadFactory(organization=other_organization)
    if duplicate_id == "other-organization":
        duplicate_id = str(theirs.id)

    response = api.post(f"/leads/{lead.id}/merge", {"duplicateIds": [str(mine.id), duplicate_id]}, format="json")

    assert response.status_code == 404
    assert response.json()["details"][0]["field"] == "duplicateIds"
    assert duplicate_id in response.json()["details"][0]["message"]
    assert Lead.objects.count() == 3


def test_merging_into_another_organizations_lead_is_404(other_api, organization, other_organization):
    lead = LeadFactory(organization=organization)
    theirs = LeadFactory(organization=other_organization)

    response = other_api.post(f"/leads/{lead.id}/merge", {"duplicateIds": [str(theirs.id)]}, format="json")

    assert response.status_code == 404
    assert Lead.objects.count() == 2


@pytest.mark.parametrize("method, path", [("get", "/leads/duplicates"), ("post", f"/leads/{uuid.uuid4()}/merge")])
def test_duplicate_routes_need_a_token(anonymous, method, path):
    assert getattr(anonymous, method)(path).status_code == 401


@pytest.mark.parametrize("role", [User.Role.SALES_REP, User.Role.READ_ONLY])
def test_only_roles_that_may_delete_leads_may_merge(organization, role):
    lead, duplicate = LeadFactory.create_batch(2, organization=organization)
    client = client_for(UserFactory(organization=organization, role=role))

    response = client.post(f"/leads/{lead.id}/merge", {"duplicateIds": [str(duplicate.id)]}, format="json")

    assert response.status_code == 403
    assert Lead.objects.count() == 2
