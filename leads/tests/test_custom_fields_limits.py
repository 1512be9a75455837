import pytest

from leads.models import Lead
from leads.validators import CUSTOM_FIELDS_MAX_BYTES

pytestmark = pytest.mark.django_db


def nested(depth):
    value = "leaf"
    for _ in range(depth):
        value = {"k": value}
    return value


def post(api, custom_fields):
    return api.post("/leads", {"name": "Acme", "customFields": custom_fields}, format="json")


def test_custom_fields_may_nest_five_deep(api):
    response = post(api, nested(5))
    assert response.status_code == 201
    assert response.json()["customFields"] == nested(5)


@pytest.mark.parametrize("value", [nested(6), {"list": [[[[["too deep"]]]]]}])
def test_custom_fields_nested_deeper_are_refused(api, value):
    response = post(api, value)
    assert response.status_code == 400
    assert response.json()["details"] == [
        {"message": "Must not nest objects or arrays more than 5 deep.", "field": "customFields", "code": "too_deep"}
    ]
    assert not Lead.objects.exists()


def test_custom_fields_over_16_kb_are_refused(api):
    fits = {"blob": "x" * (CUSTOM_FIELDS_MAX_BYTES - len('{"blob":""}'))}
    assert post(api, fits).status_code == 201

    response = post(api, {"blob": "x" * CUSTOM_FIELDS_MAX_BYTES})
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "customFields"
    assert "at most 16384 bytes" in response.json()["details"][0]["message"]
    assert Lead.objects.count() == 1


def test_update_applies_the_same_limits(api, organization):
    from leads.tests.factories import LeadFactory

    lead = LeadFactory(organization=organization)
    response = api.patch(f"/leads/{lead.id}", {"customFields": nested(6)}, format="json")
    assert response.status_code == 400
    lead.refresh_from_db()
    assert lead.custom_fields != nested(6)
