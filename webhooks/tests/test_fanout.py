"""Which webhooks get an event: written with the event, in its transaction, only where wanted."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django_tasks_db.models import DBTaskResult

from events.models import Event
from events.services import new_event, record_events
from webhooks.models import Delivery
from webhooks.tests.factories import WebhookFactory
from webhooks.tests.helpers import record

pytestmark = pytest.mark.django_db


def test_each_subscribed_active_webhook_of_the_organization_gets_one_delivery(organization, other_organization):
    everything = WebhookFactory(organization=organization, event_types=["*"])
    conversions = WebhookFactory(organization=organization, event_types=["lead.converted"])
    creations = WebhookFactory(organization=organization, event_types=["lead.created", "customer.created"])
    WebhookFactory(organization=organization, event_types=["*"], is_active=False)
    WebhookFactory(organization=other_organization, event_types=["*"])

    event = record(organization, "lead.created")

    deliveries = Delivery.objects.all()
    assert {delivery.webhook for delivery in deliveries} == {everything, creations}
    assert not conversions.deliveries.exists()
    for delivery in deliveries:
        assert (delivery.event_id, delivery.event_type, delivery.status) == (event.pk, "lead.created", "pending")
        assert delivery.organization == organization
        assert DBTaskResult.objects.filter(pk=delivery.task_id, status="READY").exists()


def test_an_organization_without_webhooks_pays_one_query(organization, other_organization):
    WebhookFactory(organization=other_organization)
    events = [new_event("lead.created", organization_id=organization.pk, data={}) for _ in range(50)]

    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        record_events(events)

    webhook_queries = [query["sql"] for query in queries if "webhooks_webhook" in query["sql"]]
    assert len(webhook_queries) == 1
    assert not Delivery.objects.exists() and not DBTaskResult.objects.exists()


def test_a_rolled_back_change_leaves_no_event_no_delivery_and_no_task(organization):
    WebhookFactory(organization=organization)

    with pytest.raises(RuntimeError), transaction.atomic():
        record_events([new_event("lead.created", organization_id=organization.pk, data={})])
        raise RuntimeError("the change fails after its event was written")

    assert not Event.objects.exists()
    assert not Delivery.objects.exists()
    assert not DBTaskResult.objects.exists()
