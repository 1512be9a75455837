"""ETag / If-Match on leads and customers (leadsite/etags.py), and PATCH's merge of customFields (RFC 7396)."""

from io import BytesIO

import pytest

from customers.tests.factories import CustomerFactory
from leads.importing import Importer, ImportOptions, open_input
from leads.models import Lead, LeadHistory, LeadStatus
from leads.tests.factories import LeadFactory
from organizations.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def error_codes(response):
    return [detail["code"] for detail in response.json()["details"]]


# --- the ETag follows every write


def test_a_lead_carries_an_etag_that_changes_on_every_write(api, organization, user):
    lead = LeadFactory(organization=organization, status=LeadStatus.QUALIFIED)
    first = api.get(f"/leads/{lead.id}")
    assert first["ETag"] == '"1"'

    patched = api.patch(f"/leads/{lead.id}", {"score": 7}, format="json")
    put = api.put(f"/leads/{lead.id}", {"name": "Renamed"}, format="json")
    converted = api.post(f"/leads/{lead.id}/convert-to-customer", {}, format="json")
    unconverted = api.post(f"/leads/{lead.id}/unconvert")
    rep = UserFactory(organization=organization)
    api.patch(f"/leads/{lead.id}", {"assignedTo": str(rep.id)}, format="json")
    api.post("/leads/reassign", {"fromUserId": str(rep.id), "toUserId": str(user.id)}, format="json")
    duplicate = LeadFactory(organization=organization)
    merged = api.post(f"/leads/{lead.id}/merge", {"duplicateIds": [str(duplicate.id)]}, format="json")

    tags = [response["ETag"] for response in (first, patched, put, converted, unconverted, merged)]
    assert tags == ['"1"', '"2"', '"3"', '"4"', '"5"', '"8"']  # 6: the assignee, 7: the reassignment
    assert api.get(f"/leads/{lead.id}")["ETag"] == '"8"'


def test_a_created_lead_carries_its_etag(api):
    response = api.post("/leads", {"name": "New"}, format="json")

    assert response.status_code == 201, response.json()
    assert response["ETag"] == '"1"'
    assert api.get(f"/leads/{response.json()['id']}")["ETag"] == '"1"'


def test_a_customer_carries_an_etag_that_changes_on_every_write(api, organization):
    customer = CustomerFactory(organization=organization)
    assert api.get(f"/customers/{customer.id}")["ETag"] == '"1"'

    response = api.patch(f"/customers/{customer.id}", {"status": "churned"}, format="json")

    assert response.status_code == 200 and response["ETag"] == '"2"'
    assert api.get(f"/customers/{customer.id}")["ETag"] == '"2"'


def test_an_import_upsert_bumps_the_version(organization):
    lead = LeadFactory(organization=organization, email="a@x.test")
    Lead.objects.filter(pk=lead.pk).update(version=3)

    source = open_input(BytesIO(b"email,score\na@x.test,9\n"), name="leads.csv")
    Importer(organization, ImportOptions(upsert="email")).run(source)

    lead.refresh_from_db()
    assert (lead.score, lead.version) == (9, 4)


# --- If-Match


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("patch", "/leads/{id}", {"score": 1}),
        ("put", "/leads/{id}", {"score": 1}),
        ("delete", "/leads/{id}", None),
        ("post", "/leads/{id}/convert-to-customer", {}),
        ("post", "/leads/{id}/merge", "duplicates"),
    ],
)
def test_a_stale_if_match_is_412_with_the_current_etag_and_changes_nothing(api, organization, method, path, body):
    lead = LeadFactory(organization=organization, status=LeadStatus.QUALIFIED, score=50)
    api.patch(f"/leads/{lead.id}", {"notes": "someone else's edit"}, format="json")  # version 2
    duplicate = LeadFactory(organization=organization)
    if body == "duplicates":
        body = {"duplicateIds": [str(duplicate.id)]}
    history = LeadHistory.objects.count()

    response = getattr(api, method)(path.format(id=lead.id), body, format="json", HTTP_IF_MATCH='"1"')

    assert response.status_code == 412
    assert error_codes(response) == ["precondition_failed"]
    assert response["ETag"] == '"2"'
    lead.refresh_from_db()
    assert (lead.score, lead.status, lead.version) == (50, LeadStatus.QUALIFIED, 2)
    assert Lead.objects.filter(pk=duplicate.pk).exists()
    assert LeadHistory.objects.count() == history


def test_a_stale_if_match_on_unconvert_is_412(api, organization):
    lead = LeadFactory(organization=organization, status=LeadStatus.CONVERTED)

    response = api.post(f"/leads/{lead.id}/unconvert", HTTP_IF_MATCH='"9"')

    assert response.status_code == 412 and response["ETag"] == '"1"'
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONVERTED


@pytest.mark.parametrize("header", ['"1"', '"7", "1"', "*", "1"])
def test_a_matching_if_match_writes(api, organization, header):
    lead = LeadFactory(organization=organization)

    response = api.patch(f"/leads/{lead.id}", {"score": 9}, format="json", HTTP_IF_MATCH=header)

    assert response.status_code == 200 and response["ETag"] == '"2"'


def test_a_weak_tag_never_matches(api, organization):
    lead = LeadFactory(organization=organization)
    response = api.patch(f"/leads/{lead.id}", {"score": 9}, format="json", HTTP_IF_MATCH='W/"1"')
    assert response.status_code == 412


def test_if_match_on_customers(api, organization):
    customer = CustomerFactory(organization=organization, company_name="Old")

    stale = api.patch(f"/customers/{customer.id}", {"companyName": "New"}, format="json", HTTP_IF_MATCH='"5"')
    gone = api.delete(f"/customers/{customer.id}", HTTP_IF_MATCH='"5"')
    fresh = api.patch(f"/customers/{customer.id}", {"companyName": "New"}, format="json", HTTP_IF_MATCH='"1"')

    assert (stale.status_code, stale["ETag"], error_codes(stale)) == (412, '"1"', ["precondition_failed"])
    assert gone.status_code == 412
    assert fresh.status_code == 200 and fresh.json()["companyName"] == "New"
    assert api.delete(f"/customers/{customer.id}", HTTP_IF_MATCH='"2"').status_code == 204


def test_without_if_match_the_last_writer_wins(api, organization):
    lead = LeadFactory(organization=organization)
    api.patch(f"/leads/{lead.id}", {"score": 1}, format="json")
    assert api.patch(f"/leads/{lead.id}", {"score": 2}, format="json").status_code == 200


def test_the_schema_documents_etag_and_if_match(api):
    schema = api.get("/api/schema/?format=json").json()
    paths = {name.rstrip("/"): item for name, item in schema["paths"].items()}
    for path, method in [
        ("/leads/{id}", "put"),
        ("/leads/{id}", "patch"),
        ("/leads/{id}", "delete"),
        ("/leads/{id}/convert-to-customer", "post"),
        ("/leads/{id}/unconvert", "post"),
        ("/leads/{id}/merge", "post"),
        ("/customers/{id}", "patch"),
        ("/customers/{id}", "delete"),
    ]:
        operation = paths[path][method]
        assert any(p["name"] == "If-Match" and p["in"] == "header" for p in operation["parameters"]), (path, method)
        assert "412" in operation["responses"], (path, method)
    assert "ETag" in paths["/leads/{id}"]["get"]["responses"]["200"]["headers"]
    assert "ETag" in paths["/leads/{id}"]["patch"]["responses"]["200"]["headers"]
    assert "ETag" in paths["/customers/{id}"]["get"]["responses"]["200"]["headers"]


# --- PATCH merges customFields


def test_patch_merges_custom_fields_and_null_removes_a_key(api, organization):
    lead = LeadFactory(organization=organization, custom_fields={"a": 1, "b": {"c": 2, "d": 3}, "gone": True})

    response = api.patch(f"/leads/{lead.id}", {"customFields": {"b": {"c": 4}, "gone": None, "e": 5}}, format="json")

    assert response.status_code == 200
    assert response.json()["customFields"] == {"a": 1, "b": {"c": 4, "d": 3}, "e": 5}
    entry = LeadHistory.objects.get(lead_id=lead.pk)
    assert entry.changes["customFields"]["old"] == {"a": 1, "b": {"c": 2, "d": 3}, "gone": True}


def test_put_replaces_custom_fields_and_an_empty_patch_keeps_them(api, organization):
    lead = LeadFactory(organization=organization, custom_fields={"a": 1})

    assert api.put(f"/leads/{lead.id}", {"customFields": {"b": 2}}, format="json").json()["customFields"] == {"b": 2}
    assert api.patch(f"/leads/{lead.id}", {"customFields": {}}, format="json").json()["customFields"] == {"b": 2}


def test_a_merge_that_grows_custom_fields_past_the_limit_is_400(api, organization):
    lead = LeadFactory(organization=organization, custom_fields={f"k{i}": "x" * 1000 for i in range(15)})

    response = api.patch(f"/leads/{lead.id}", {"customFields": {"more": "y" * 2000}}, format="json")

    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "customFields"
    lead.refresh_from_db()
    assert "more" not in lead.custom_fields
