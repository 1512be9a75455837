"""The Leads API as the spec describes it: shapes, status codes, validation, pagination, scoping."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from customers.models import Customer
from leads.models import Lead, LeadStatus
from leads.tests.factories import LeadFactory
from organizations.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LEAD_KEYS = {
    "id",
    "organizationId",
    "name",
    "email",
    "phone",
    "company",
    "source",
    "status",
    "score",
    "predictedScore",
    "assignedTo",
    "lastContactedAt",
    "notes",
    "customFields",
    "isActive",
    "createdAt",
    "updatedAt",
}
ACME = {
    "name": "Acme Corporation",
    "email": "contact@acme.com",
    "phone": "555-123-4567",
    "company": "Acme Corporation",
    "source": "website",
    "status": "new",
    "score": 75,
    "notes": "Interested in enterprise plan",
    "customFields": {"industry": "Technology", "companySize": "100-500"},
}


def error_fields(response):
    return {detail.get("field") for detail in response.json()["details"]}


def assert_error_shape(response, status_code):
    assert response.status_code == status_code
    body = response.json()
    assert set(body) == {"error", "details"}
    assert body["details"] and all("message" in detail for detail in body["details"])


# --- create


def test_create_returns_the_full_lead_as_the_spec_shows(api, organization):
    response = api.post("/leads", ACME, format="json")

    assert response.status_code == 201
    body = response.json()
    assert set(body) >= LEAD_KEYS
    assert {key: body[key] for key in ACME} == ACME
    assert body["organizationId"] == str(organization.id)
    assert body["assignedTo"] is None and body["lastContactedAt"] is None
    assert body["isActive"] is True
    assert body["createdAt"].endswith("Z") and len(body["createdAt"]) == len("2025-05-11T12:33:59.048Z")
    lead = Lead.objects.get(pk=body["id"])
    assert lead.organization == organization and lead.custom_fields == ACME["customFields"]


def test_create_with_only_a_name_defaults_status_new_and_active(api):
    response = api.post("/leads", {"name": "Solo"}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "new" and body["isActive"] is True
    assert body["score"] is None and body["email"] is None and body["customFields"] == {}


def test_create_with_trailing_slash_works_without_redirect(api):
    response = api.post("/leads/", {"name": "Slash"}, format="json")
    assert response.status_code == 201


def test_create_ignores_read_only_fields_and_takes_organization_from_the_user(api, organization, other_organization):
    forged_id = str(uuid.uuid4())
    response = api.post(
        "/leads",
        {
            "name": "X",
            "id": forged_id,
            "organizationId": str(other_organization.id),
            "createdAt": "2000-01-01T00:00:00Z",
        },
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert body["id"] != forged_id
    assert body["organizationId"] == str(organization.id)
    assert not body["createdAt"].startswith("2000")


@pytest.mark.parametrize(
    "payload, field",
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "X", "email": "not-an-email"}, "email"),
        ({"name": "X", "score": 101}, "score"),
        ({"name": "X", "score": -1}, "score"),
        ({"name": "X", "score": "high"}, "score"),
        ({"name": "X", "score": 7.5}, "score"),
        ({"name": "X", "status": "converted"}, "status"),
        ({"name": "X", "status": "won"}, "status"),
        ({"name": "X", "customFields": ["a", "b"]}, "customFields"),
        ({"name": "X", "customFields": "text"}, "customFields"),
        ({"name": "X", "assignedTo": "not-a-uuid"}, "assignedTo"),
        ({"name": "X", "assignedTo": str(uuid.uuid4())}, "assignedTo"),
        ({"name": "X", "isActive": "perhaps"}, "isActive"),
        ({"name": "X", "lastContactedAt": "yesterday"}, "lastContactedAt"),
        ({"name": "X" * 256}, "name"),
    ],
)
def test_create_rejects_invalid_input_naming_the_field(api, payload, field):
    response = api.post("/leads", payload, format="json")

    assert_error_shape(response, 400)
    assert response.json()["error"] == "Bad Request"
    assert field in error_fields(response)
    assert Lead.objects.count() == 0


def test_score_edges_0_and_100_are_accepted(api):
    assert api.post("/leads", {"name": "Low", "score": 0}, format="json").status_code == 201
    assert api.post("/leads", {"name": "High", "score": 100}, format="json").status_code == 201


def test_assignee_must_be_an_active_user_of_my_organization(api, organization, other_user):
    colleague = UserFactory(organization=organization)
    departed = UserFactory(organization=organization, is_active=False)

    ok = api.post("/leads", {"name": "A", "assignedTo": str(colleague.id)}, format="json")
    foreign = api.post("/leads", {"name": "B", "assignedTo": str(other_user.id)}, format="json")
    inactive = api.post("/leads", {"name": "C", "assignedTo": str(departed.id)}, format="json")

    assert ok.status_code == 201 and ok.json()["assignedTo"] == str(colleague.id)
    assert_error_shape(foreign, 400)
    assert error_fields(foreign) == {"assignedTo"}
    assert_error_shape(inactive, 400)
    assert Lead.objects.count() == 1


def test_malformed_json_and_wrong_content_type_are_clear_errors(api):
    bad_json = api.post("/leads", "{not json", content_type="application/json")
    form = api.post("/leads", "name=x", content_type="application/x-www-form-urlencoded")

    assert_error_shape(bad_json, 400)
    assert_error_shape(form, 415)
    assert Lead.objects.count() == 0


# --- retrieve, update, delete


def test_get_lead_returns_the_spec_shape(api, organization):
    lead = LeadFactory(organization=organization, custom_fields={"a": 1})

    response = api.get(f"/leads/{lead.id}")

    assert response.status_code == 200
    body = response.json()
    assert set(body) >= LEAD_KEYS
    assert body["id"] == str(lead.id) and body["customFields"] == {"a": 1}


def test_put_with_a_partial_body_updates_only_those_fields(api, organization):
    lead = LeadFactory(organization=organization, name="Acme Corporation", email="contact@acme.com", score=75)
    assignee = UserFactory(organization=organization)
    payload = {
        "status": "contacted",
        "score": 85,
        "assignedTo": str(assignee.id),
        "lastContactedAt": "2025-05-11T14:00:00.000Z",
        "notes": "Had initial call, very interested in enterprise features",
    }

    response = api.put(f"/leads/{lead.id}", payload, format="json")

    assert response.status_code == 200
    body = response.json()
    assert {key: body[key] for key in payload} == payload
    assert body["name"] == "Acme Corporation" and body["email"] == "contact@acme.com"
    assert body["updatedAt"] >= body["createdAt"]
    lead.refresh_from_db()
    assert lead.status == "contacted" and lead.score == 85 and lead.assigned_to == assignee


def test_update_may_set_status_inactive_and_clear_fields(api, organization):
    lead = LeadFactory(organization=organization, score=40)

    response = api.patch(f"/leads/{lead.id}", {"status": "qualified", "isActive": False, "score": None}, format="json")

    assert response.status_code == 200
    assert response.json()["status"] == "qualified"
    assert response.json()["isActive"] is False and response.json()["score"] is None


def test_update_validates_like_create(api, organization):
    lead = LeadFactory(organization=organization, score=10)

    response = api.put(f"/leads/{lead.id}", {"score": 500, "name": ""}, format="json")

    assert_error_shape(response, 400)
    assert error_fields(response) == {"score", "name"}
    lead.refresh_from_db()
    assert lead.score == 10


def test_delete_gives_204_and_removes_the_row(api, organization):
    lead = LeadFactory(organization=organization)

    response = api.delete(f"/leads/{lead.id}")

    assert response.status_code == 204
    assert not Lead.objects.filter(pk=lead.pk).exists()


@pytest.mark.parametrize("lead_id", ["not-a-uuid", str(uuid.uuid4()), "12345"])
def test_unknown_or_malformed_id_is_404(api, lead_id):
    for response in (api.get(f"/leads/{lead_id}"), api.put(f"/leads/{lead_id}", {}, format="json")):
        assert_error_shape(response, 404)
        assert response.json()["error"] == "Not Found"


# --- organization scoping: another organization's lead does not exist


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("get", "/leads/{id}", None),
        ("put", "/leads/{id}", {"name": "Hijacked"}),
        ("patch", "/leads/{id}", {"name": "Hijacked"}),
        ("delete", "/leads/{id}", None),
        ("post", "/leads/{id}/convert-to-customer", None),
    ],
)
def test_another_organizations_lead_is_404_and_untouched(other_api, organization, method, path, body):
    lead = LeadFactory(organization=organization, name="Original")

    response = getattr(other_api, method)(path.format(id=lead.id), body, format="json")

    assert_error_shape(response, 404)
    lead.refresh_from_db()
    assert lead.name == "Original" and lead.status == "new"
    assert Customer.objects.count() == 0


def test_lists_and_aggregates_show_nothing_of_another_organization(other_api, organization):
    assignee = UserFactory(organization=organization)
    LeadFactory.create_batch(3, organization=organization, source="website", assigned_to=assignee, score=90)

    assert other_api.get("/leads").json()["total"] == 0
    assert other_api.get("/leads/by-source/website").json()["data"] == []
    assert_error_shape(other_api.get(f"/leads/assigned-to/{assignee.id}"), 404)
    stats = other_api.get("/leads/stats/scoring").json()
    assert stats["topScorers"] == [] and stats["averageScore"] is None


# --- authentication


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/leads"),
        ("post", "/leads"),
        ("get", "/leads/{id}"),
        ("put", "/leads/{id}"),
        ("delete", "/leads/{id}"),
        ("post", "/leads/{id}/convert-to-customer"),
        ("get", "/leads/by-source/website"),
        ("get", "/leads/assigned-to/{id}"),
        ("get", "/leads/stats/scoring"),
    ],
)
def test_every_lead_endpoint_needs_a_token(anonymous, organization, method, path):
    lead = LeadFactory(organization=organization)

    response = getattr(anonymous, method)(path.format(id=lead.id))

    assert_error_shape(response, 401)
    assert response.json()["error"] == "Unauthorized"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_garbage_token_is_401(anonymous):
    response = anonymous.get("/leads", HTTP_AUTHORIZATION="Bearer not.a.token")
    assert_error_shape(response, 401)


# --- list: pagination, sorting, filters


def test_list_shape_and_pagination_arithmetic(api, organization):
    LeadFactory.create_batch(45, organization=organization)

    response = api.get("/leads?page=1&limit=10")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"data", "total", "page", "limit", "totalPages"}
    assert (body["total"], body["page"], body["limit"], body["totalPages"]) == (45, 1, 10, 5)
    assert len(body["data"]) == 10 and set(body["data"][0]) >= LEAD_KEYS
    last = api.get("/leads?page=5&limit=10").json()
    assert len(last["data"]) == 5
    past_the_end = api.get("/leads?page=6&limit=10").json()
    assert past_the_end["data"] == [] and past_the_end["total"] == 45


def test_list_defaults_to_10_per_page_and_caps_limit_at_100(api, organization):
    LeadFactory.create_batch(12, organization=organization)

    assert api.get("/leads").json()["limit"] == 10
    assert len(api.get("/leads").json()["data"]) == 10
    assert_error_shape(api.get("/leads?limit=101"), 400)


def test_pages_cover_every_lead_once(api, organization):
    leads = LeadFactory.create_batch(7, organization=organization, score=50)  # all tie on score

    seen = []
    for page in (1, 2, 3):
        seen += [row["id"] for row in api.get(f"/leads?page={page}&limit=3&sortField=score").json()["data"]]

    assert sorted(seen) == sorted(str(lead.id) for lead in leads)


def test_empty_list_has_zero_pages(api):
    body = api.get("/leads").json()
    assert body["data"] == [] and body["total"] == 0 and body["totalPages"] == 0


@pytest.mark.parametrize(
    "query, field",
    [
        ("page=0", "page"),
        ("page=abc", "page"),
        ("limit=0", "limit"),
        ("limit=-5", "limit"),
        ("sortField=password", "sortField"),
        ("sortOrder=sideways", "sortOrder"),
        ("status=won", "status"),
        ("isActive=maybe", "isActive"),
        ("scoreMin=lots", "scoreMin"),
        ("assignedTo=nobody", "assignedTo"),
        ("createdAfter=last-week", "createdAfter"),
    ],
)
def test_bad_query_parameters_are_400_naming_the_parameter(api, query, field):
    response = api.get(f"/leads?{query}")

    assert_error_shape(response, 400)
    assert field in error_fields(response)


@pytest.mark.parametrize("sort_field", ["name", "email", "company", "source", "status", "score", "createdAt"])
def test_sorting_by_each_field_in_both_orders(api, organization, sort_field):
    for index, (name, score) in enumerate([("b", 20), ("a", 90), ("c", 55)]):
        LeadFactory(
            organization=organization,
            name=name,
            email=f"{name}@x.com",
            company=name,
            source=name,
            status=["new", "contacted", "qualified"][index],
            score=score,
        )

    ascending = api.get(f"/leads?sortField={sort_field}&sortOrder=asc").json()["data"]
    descending = api.get(f"/leads?sortField={sort_field}&sortOrder=desc").json()["data"]

    values = [row[sort_field] for row in ascending]
    assert values == sorted(values)
    assert [row["id"] for row in descending] == [row["id"] for row in reversed(ascending)]


def test_leads_without_a_score_sort_last_both_ways(api, organization):
    LeadFactory(organization=organization, score=None, name="unscored")
    LeadFactory(organization=organization, score=10)
    LeadFactory(organization=organization, score=90)

    for order in ("asc", "desc"):
        scores = [row["score"] for row in api.get(f"/leads?sortField=score&sortOrder={order}").json()["data"]]
        assert scores[-1] is None


def test_default_order_is_newest_first(api, organization):
    old = LeadFactory(organization=organization)
    Lead.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=1))
    new = LeadFactory(organization=organization)

    ids = [row["id"] for row in api.get("/leads").json()["data"]]

    assert ids == [str(new.id), str(old.id)]


def test_filters(api, organization):
    rep = UserFactory(organization=organization)
    a = LeadFactory(organization=organization, status="new", source="website", score=10, name="Alpha", assigned_to=rep)
    b = LeadFactory(organization=organization, status="contacted", source="referral", score=50, company="Betamax")
    c = LeadFactory(organization=organization, status="qualified", source="website", score=90, is_active=False)
    c.last_contacted_at = timezone.now() - timedelta(days=30)
    c.save()

    def ids(query):
        return {row["id"] for row in api.get(f"/leads?{query}").json()["data"]}

    assert ids("status=new,contacted") == {str(a.id), str(b.id)}
    assert ids("source=website") == {str(a.id), str(c.id)}
    assert ids(f"assignedTo={rep.id}") == {str(a.id)}
    assert ids("isActive=false") == {str(c.id)}
    assert ids("scoreMin=50&scoreMax=90") == {str(b.id), str(c.id)}
    assert ids("q=betamax") == {str(b.id)}
    assert ids("q=ALPH") == {str(a.id)}
    assert ids(f"lastContactedBefore={(timezone.now() - timedelta(days=1)).isoformat().replace('+00:00', 'Z')}") == {
        str(c.id)
    }
    tomorrow = (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ids(f"createdBefore={tomorrow}") == {str(a.id), str(b.id), str(c.id)}
    assert ids(f"createdAfter={tomorrow}") == set()


def test_search_finds_a_term_in_any_one_of_name_email_and_company_but_not_across_two(api, organization):
    lead = LeadFactory(organization=organization, name="Jane Smith", email="jane@initech.test", company="Acme Corp")
    LeadFactory(organization=organization, name="Other", email=None, company=None)

    def ids(term):
        return {row["id"] for row in api.get("/leads", {"q": term}).json()["data"]}

    assert ids("smith") == ids("@INITECH.") == ids("acme c") == {str(lead.id)}
    assert ids("smithjane") == ids("smith jane") == ids("test acme") == ids("testacme") == set()


# --- convert to customer


def test_convert_creates_a_customer_and_marks_the_lead_converted(api, organization):
    lead = LeadFactory(organization=organization, name="Jane Doe", company="Acme Corporation", email="contact@acme.com")

    response = api.post(f"/leads/{lead.id}/convert-to-customer")

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"customerId", "customer"}
    customer = body["customer"]
    assert set(customer) >= {
        "id",
        "organizationId",
        "companyName",
        "customerId",
        "contactEmail",
        "contactPhone",
        "status",
        "createdAt",
        "updatedAt",
    }
    assert body["customerId"] == customer["id"]
    assert customer["companyName"] == "Acme Corporation" and customer["customerId"] == "CUST-001"
    assert customer["contactEmail"] == "contact@acme.com" and customer["status"] == "active"
    assert customer["organizationId"] == str(organization.id)
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONVERTED and lead.converted_customer_id == uuid.UUID(customer["id"])


def test_convert_uses_the_name_when_there_is_no_company(api, organization):
    lead = LeadFactory(organization=organization, name="Solo Trader", company=None)

    response = api.post(f"/leads/{lead.id}/convert-to-customer")

    assert response.json()["customer"]["companyName"] == "Solo Trader"


def test_a_second_convert_is_409_and_creates_nothing(api, organization):
    lead = LeadFactory(organization=organization)
    api.post(f"/leads/{lead.id}/convert-to-customer")

    response = api.post(f"/leads/{lead.id}/convert-to-customer")

    assert_error_shape(response, 409)
    assert response.json()["error"] == "Conflict"
    assert Customer.objects.count() == 1


def test_customer_numbers_count_up_per_organization(api, other_api, organization, other_organization):
    numbers = []
    for _ in range(3):
        lead = LeadFactory(organization=organization)
        numbers.append(api.post(f"/leads/{lead.id}/convert-to-customer").json()["customer"]["customerId"])
    other_lead = LeadFactory(organization=other_organization)
    other_number = other_api.post(f"/leads/{other_lead.id}/convert-to-customer").json()["customer"]["customerId"]

    assert numbers == ["CUST-001", "CUST-002", "CUST-003"]
    assert other_number == "CUST-001"


# --- by source, assigned to


def test_by_source_lists_the_spec_fields_paginated(api, organization):
    LeadFactory.create_batch(3, organization=organization, source="website")
    LeadFactory(organization=organization, source="referral")

    response = api.get("/leads/by-source/website?limit=2")

    assert response.status_code == 200
    body = response.json()
    assert (body["total"], body["page"], body["limit"], body["totalPages"]) == (3, 1, 2, 2)
    assert set(body["data"][0]) == {"id", "name", "email", "source", "status", "score", "predictedScore", "createdAt"}
    assert all(row["source"] == "website" for row in body["data"])
    assert api.get("/leads/by-source/unknown").json()["data"] == []


def test_assigned_to_lists_the_spec_fields(api, organization):
    rep = UserFactory(organization=organization)
    lead = LeadFactory(organization=organization, assigned_to=rep, last_contacted_at=timezone.now())
    LeadFactory(organization=organization)

    response = api.get(f"/leads/assigned-to/{rep.id}")

    assert response.status_code == 200
    body = response.json()
    assert [row["id"] for row in body["data"]] == [str(lead.id)]
    assert set(body["data"][0]) == {"id", "name", "assignedTo", "status", "score", "predictedScore", "lastContactedAt"}
    assert body["data"][0]["assignedTo"] == str(rep.id)


@pytest.mark.parametrize("assignee", ["not-a-uuid", str(uuid.uuid4())])
def test_assigned_to_unknown_user_is_404(api, assignee):
    assert_error_shape(api.get(f"/leads/assigned-to/{assignee}"), 404)


def test_assigned_to_a_user_of_another_organization_is_404(api, other_user):
    assert_error_shape(api.get(f"/leads/assigned-to/{other_user.id}"), 404)


# --- scoring stats


@pytest.mark.parametrize(
    "scores, expected",
    [
        ([33, 34], {"low": 1, "medium": 1, "high": 0}),
        ([66, 67], {"low": 0, "medium": 1, "high": 1}),
        ([0, 100], {"low": 1, "medium": 0, "high": 1}),
    ],
)
def test_scoring_bands_at_their_edges(api, organization, scores, expected):
    for score in scores:
        LeadFactory(organization=organization, score=score)

    assert api.get("/leads/stats/scoring").json()["scoreDistribution"] == expected


def test_scoring_stats_average_top_scorers_and_unscored_leads(api, organization):
    for score in (10, 20, 95, 80, None, None):
        LeadFactory(organization=organization, score=score, status="contacted")

    response = api.get("/leads/stats/scoring")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"averageScore", "scoreDistribution", "topScorers"}
    assert body["averageScore"] == 51.2  # (10 + 20 + 95 + 80) / 4 = 51.25, one decimal
    assert sum(body["scoreDistribution"].values()) == 4
    assert [row["score"] for row in body["topScorers"]] == [95, 80, 20, 10]
    assert set(body["topScorers"][0]) == {"id", "name", "score", "status"}


def test_top_scorers_default_to_5_and_accept_top_up_to_50(api, organization):
    LeadFactory.create_batch(8, organization=organization, score=60)

    assert len(api.get("/leads/stats/scoring").json()["topScorers"]) == 5
    assert len(api.get("/leads/stats/scoring?top=8").json()["topScorers"]) == 8
    assert_error_shape(api.get("/leads/stats/scoring?top=51"), 400)
    assert_error_shape(api.get("/leads/stats/scoring?top=none"), 400)


def test_scoring_stats_with_no_leads(api):
    body = api.get("/leads/stats/scoring").json()
    assert body == {"averageScore": None, "scoreDistribution": {"low": 0, "medium": 0, "high": 0}, "topScorers": []}


def test_scoring_stats_take_a_constant_number_of_queries(api, organization, django_assert_max_num_queries):
    LeadFactory.create_batch(20, organization=organization)
    with django_assert_max_num_queries(3):
        api.get("/leads/stats/scoring")


# --- errors


def test_unknown_path_and_method_use_the_error_format(api):
    assert_error_shape(api.get("/nowhere"), 404)
    assert_error_shape(api.patch("/leads/stats/scoring"), 405)
    assert_error_shape(api.delete("/leads"), 405)


@pytest.mark.parametrize("query", ["scoreMin=29333404044", "scoreMax=-25731808"])
def test_a_filter_beyond_the_score_columns_range_is_an_empty_list(api, organization, query):
    # Django proves such a filter empty without SQL; the count must not turn that into a 500 (PostgreSQL).
    LeadFactory(organization=organization, score=50)

    response = api.get(f"/leads?{query}")

    assert response.status_code == 200
    assert (response.json()["data"], response.json()["total"]) == ([], 0)
