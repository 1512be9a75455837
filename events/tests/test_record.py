"""The outbox's write side: record_events writes in the caller's transaction, event_body is the one body."""

import pytest
from django.db import transaction

from events.models import Event
from events.payloads import event_body
from events.services import new_event, record_events

pytestmark = pytest.mark.django_db


def test_events_commit_with_the_change_and_roll_back_with_it(organization, user):
    with transaction.atomic():
        record_events([new_event("lead.created", organization_id=organization.pk, actor=user, data={"n": 1})])
    with pytest.raises(RuntimeError), transaction.atomic():
        record_events([new_event("lead.created", organization_id=organization.pk, actor=user, data={"n": 2})])
        raise RuntimeError("the change failed")

    assert [event.data for event in Event.objects.for_organization(organization)] == [{"n": 1}]


@pytest.mark.django_db(transaction=True)
def test_recording_outside_a_transaction_is_refused(organization):
    with pytest.raises(AssertionError, match="transaction"):
        record_events([new_event("lead.created", organization_id=organization.pk, data={})])
    assert not Event.objects.exists()


def test_events_of_one_batch_keep_their_order(organization):
    with transaction.atomic():
        record_events([new_event(f"type.{n}", organization_id=organization.pk, data={}) for n in range(50)])

    assert [event.type for event in Event.objects.for_organization(organization)] == [f"type.{n}" for n in range(50)]


def test_event_body_has_exactly_the_documented_keys(organization, user):
    with transaction.atomic():
        (event,) = record_events(
            [new_event("customer.created", organization_id=organization.pk, actor=user, via="admin", data={"x": [1]})]
        )
    event.refresh_from_db()

    body = event_body(event)

    assert body == {
        "id": str(event.id),
        "type": "customer.created",
        "createdAt": body["createdAt"],
        "organizationId": str(organization.pk),
        "actor": {"id": str(user.pk), "via": "admin"},
        "data": {"x": [1]},
    }
    assert body["createdAt"].endswith("Z") and len(body["createdAt"]) == len("2025-05-11T12:33:59.048Z")


def test_the_system_is_an_actor_without_id(organization):
    with transaction.atomic():
        (event,) = record_events([new_event("lead.updated", organization_id=organization.pk, via="system", data={})])

    assert event_body(event)["actor"] == {"id": None, "via": "system"}
