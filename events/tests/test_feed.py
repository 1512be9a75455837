"""GET /events: the organization's events oldest first, resumable by cursor; GET /events/{id}."""

from base64 import urlsafe_b64encode

import pytest
from django.db import transaction

from conftest import client_for
from events.models import Event
from events.payloads import event_body
from events.services import new_event, record_events
from leads.tests.factories import LeadFactory
from organizations.models import User
from organizations.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def record(organization, *types):
    with transaction.atomic():
        return record_events(new_event(t, organization_id=organization.pk, data={"n": t}) for t in types)


def test_the_feed_is_oldest_first_in_the_body_webhooks_send(api, organization):
    record(organization, "lead.created", "lead.updated")
    record(organization, "lead.deleted")

    body = api.get("/events").json()

    assert set(body) == {"data", "nextCursor"}
    assert [event["type"] for event in body["data"]] == ["lead.created", "lead.updated", "lead.deleted"]
    assert body["data"] == [event_body(event) for event in Event.objects.order_by("transaction_order", "id")]


def test_a_consumer_resumes_from_its_cursor_and_sees_each_event_once(api, organization):
    record(organization, *["lead.created"] * 5)
    first = api.get("/events?limit=2").json()
    second = api.get(f"/events?limit=2&after={first['nextCursor']}").json()
    record(organization, "lead.deleted")
    third = api.get(f"/events?after={second['nextCursor']}").json()
    idle = api.get(f"/events?after={third['nextCursor']}").json()

    seen = [event["id"] for page in (first, second, third) for event in page["data"]]
    assert seen == [str(pk) for pk in Event.objects.order_by("transaction_order", "id").values_list("id", flat=True)]
    assert [len(page["data"]) for page in (first, second, third)] == [2, 2, 2]
    # Nothing new: the same cursor comes back, to poll again with.
    assert idle == {"data": [], "nextCursor": third["nextCursor"]}


def test_an_empty_feed_has_no_cursor_yet(api):
    assert api.get("/events").json() == {"data": [], "nextCursor": None}


def test_types_filter(api, organization):
    record(organization, "lead.created", "lead.converted", "customer.created", "lead.updated")

    body = api.get("/events?types=lead.converted,customer.created").json()

    assert [event["type"] for event in body["data"]] == ["lead.converted", "customer.created"]


def test_every_mistake_in_the_query_is_named_in_one_answer(api):
    response = api.get("/events?after=garbage&types=lead.created,lead.exploded&limit=0")

    assert response.status_code == 400
    fields = {detail["field"] for detail in response.json()["details"]}
    assert fields == {"after", "types", "limit"}
    assert "lead.exploded" in response.content.decode()


@pytest.mark.parametrize("limit", ["501", "ten", "-1"])
def test_limit_is_1_to_500(api, limit):
    assert api.get(f"/events?limit={limit}").status_code == 400


@pytest.mark.parametrize("role", [User.Role.READ_ONLY, User.Role.SALES_REP, User.Role.ADMIN])
def test_every_role_may_read(organization, role):
    (event,) = record(organization, "lead.created")
    client = client_for(UserFactory(organization=organization, role=role))

    assert client.get("/events").status_code == 200
    assert client.get(f"/events/{event.pk}").json() == event_body(Event.objects.get())


def test_writes_are_not_routes(api):
    assert api.post("/events", {}, format="json").status_code == 405


def test_another_organizations_events_do_not_exist(api, organization, other_organization):
    (theirs,) = record(other_organization, "lead.created")
    (ours,) = record(organization, "lead.created")

    assert [event["id"] for event in api.get("/events").json()["data"]] == [str(ours.pk)]
    assert api.get(f"/events/{theirs.pk}").status_code == 404
    assert api.get("/events/not-a-uuid").status_code == 404


def test_the_feed_needs_a_token(anonymous):
    assert anonymous.get("/events").status_code == 401


def test_a_real_change_arrives_in_the_feed(api, organization):
    lead = LeadFactory(organization=organization, status="qualified")

    api.post(f"/leads/{lead.pk}/convert-to-customer", {}, format="json")

    body = api.get("/events?types=lead.converted").json()
    assert body["data"][0]["data"]["lead"]["id"] == str(lead.pk)


@pytest.mark.parametrize("payload", ["[" * 3000, "[" * 3000 + "]" * 3000, '["x' + "x" * 5000 + '"]'])
def test_a_cursor_of_deep_or_long_json_is_a_400_not_a_500(api, payload):
    cursor = urlsafe_b64encode(payload.encode()).decode().rstrip("=")

    response = api.get(f"/events?after={cursor}")

    assert response.status_code == 400
    assert response.json()["details"] == [
        {"message": "Not a valid cursor; send a nextCursor that /events returned.", "field": "after", "code": "invalid"}
    ]
