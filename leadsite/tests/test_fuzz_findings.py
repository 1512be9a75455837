"""What fuzzing the schema found, pinned down as plain tests."""

import pytest

from leads.models import Lead, LeadStatus
from leads.tests.factories import LeadFactory

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
        {"message": "Must be a user id (UUID), not an empty string.", "field": "assignedTo"}
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
