"""What fuzzing the schema found, pinned down as plain tests."""

import pytest

from leads.models import Lead, LeadStatus
from leads.tests.factories import LeadFactory
from leadsite import messages
from organizations.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("method", ["patch", "put", "delete", "post"])
def test_unknown_paths_are_a_json_404_for_every_method(api, method):
    # The catch-all route must not fall into Django's CSRF check (an HTML 403).
    response = getattr(api, method)("/users/0.5")
    assert response.status_code == 404
    assert response.json()["error"] == "Not Found"


def test_an_empty_assignee_is_an_error_not_null(api):
    response = api.post("/leads", {"name": "Acme", "assignedTo": ""}, format="json")
    assert response.status_code == 400
    assert response.json()["details"] == [
        {"message": "Must be a user id (UUID), not an empty string.", "field": "assignedTo", "code": "invalid"}
    ]
    assert not Lead.objects.exists()


@pytest.mark.parametrize("param", ["scoreMin", "scoreMax"])
def test_score_filters_take_whole_numbers(api, param):
    response = api.get("/leads", {param: "0.5"})
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == param


@pytest.mark.parametrize("value", [[1, 2], "text", 5])
def test_custom_fields_must_be_an_object(api, value):
    response = api.post("/leads", {"name": "Acme", "customFields": value}, format="json")
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "customFields"


def test_a_lead_not_converted_shows_converted_at_as_null(api, organization):
    lead = LeadFactory(organization=organization, status=LeadStatus.NEW)
    assert api.get(f"/leads/{lead.id}").json()["convertedAt"] is None


def test_empty_optional_query_parameters_count_as_absent(api, organization):
    LeadFactory(organization=organization)
    response = api.get("/leads", {"lastContactedBefore": "", "assignedTo": "", "scoreMin": "", "page": ""})
    assert response.status_code == 200
    assert len(response.json()["data"]) == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("phone", 5551234, "Must be a string."),
        ("score", "50", "Must be a whole number."),
        ("score", 50.5, "Must be a whole number."),
        ("isActive", 0, "Must be true or false."),
        ("status", 1, "Must be a string."),
    ],
)
def test_api_input_has_the_documented_json_types(api, field, value, message):
    response = api.post("/leads", {"name": "Acme", field: value}, format="json")
    assert response.status_code == 400
    assert response.json()["details"] == [{"message": message, "field": field, "code": "invalid"}]


def test_json_types_are_checked_for_customers_and_users_too(api, organization, user):
    from customers.tests.factories import CustomerFactory

    customer = CustomerFactory(organization=organization)
    assert api.patch(f"/customers/{customer.id}", {"contactPhone": 0}, format="json").status_code == 400
    colleague = UserFactory(organization=organization)
    assert api.patch(f"/users/{colleague.id}", {"isActive": 0}, format="json").status_code == 400
    colleague.refresh_from_db()
    assert colleague.is_active


def test_leads_by_assignee_show_a_missing_last_contact_as_null(api, organization, user):
    LeadFactory(organization=organization, assigned_to=user, last_contacted_at=None)
    assert api.get(f"/leads/assigned-to/{user.id}").json()["data"][0]["lastContactedAt"] is None


def test_date_times_with_offsets_postgresql_refuses_are_read_in_utc(api, organization):
    # Python parses offsets up to ±23:59, PostgreSQL takes ±15:59: filters and bodies convert to UTC.
    LeadFactory(organization=organization)
    assert api.get("/leads", {"createdBefore": "9559-09-30T05:16:57-22:53"}).json()["total"] == 1
    response = api.post("/leads", {"name": "Acme", "lastContactedAt": "2025-05-11T12:00:00-19:20"}, format="json")
    assert response.status_code == 201
    assert response.json()["lastContactedAt"] == "2025-05-12T07:20:00.000Z"


def test_date_times_out_of_range_in_utc_are_400(api):
    response = api.get("/leads", {"createdAfter": "0001-01-01T00:00:00+14:00"})
    assert response.status_code == 400
    assert response.json()["details"] == [
        {"message": messages.DATE_TIME_OUT_OF_RANGE, "field": "createdAfter", "code": "out_of_range"}
    ]
    response = api.post("/leads", {"name": "Acme", "lastContactedAt": "9999-12-31T23:00:00-05:00"}, format="json")
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "lastContactedAt"
