"""Webhook writes: the API and the admin call these; `enqueue_deliveries` hears of recorded events (events.hooks)."""

import json
from collections import defaultdict

from django.db import transaction
from django.utils import timezone

from events.models import Event
from events.payloads import event_body
from leadsite.errors import Conflict
from webhooks.attempts import cancel_task, fail_open_deliveries, schedule_task, schedule_tasks_now
from webhooks.models import Delivery, Webhook
from webhooks.sending import new_secret

Status = Delivery.Status
TEST_EVENT = "webhook.test"


def enqueue_deliveries(events: list[Event]) -> None:
    """Fan events out to the webhooks that want them, in the events' own transaction (the outbox).

    One query for an organization without active webhooks; with them, one Delivery and one task
    row per event and webhook, committed (or rolled back) with the change.
    """
    by_organization = defaultdict(list)
    for event in events:
        by_organization[event.organization_id].append(event)
    for organization_id, organization_events in by_organization.items():
        webhooks = list(Webhook.objects.filter(organization_id=organization_id, is_active=True).only("event_types"))
        if not webhooks:
            continue
        deliveries = [
            _new_delivery(webhook, event)
            for event in organization_events
            for webhook in webhooks
            if webhook.wants(event.type)
        ]
        _schedule(deliveries)


def _new_delivery(webhook: Webhook, event: Event) -> Delivery:
    return Delivery(
        organization_id=event.organization_id,
        webhook=webhook,
        event_id=event.pk,
        event_type=event.type,
        body=json.dumps(event_body(event), separators=(",", ":"), ensure_ascii=False),
        next_attempt_at=timezone.now(),
    )


def _schedule(deliveries: list[Delivery]) -> None:
    schedule_tasks_now(deliveries)
    Delivery.objects.bulk_create(deliveries, batch_size=1000)


@transaction.atomic
def webhook_create(*, organization, url: str, event_types: list[str], description: str = "") -> Webhook:
    return Webhook.objects.create(
        organization=organization, url=url, event_types=event_types, description=description, secret=new_secret()
    )


@transaction.atomic
def webhook_update(*, webhook: Webhook, data: dict) -> Webhook:
    """Apply validated data. Enabling clears why it was disabled; disabling fails its open deliveries."""
    webhook = Webhook.objects.select_for_update().get(pk=webhook.pk)
    enabling = data.get("is_active") is True and not webhook.is_active
    disabling = data.get("is_active") is False and webhook.is_active
    for field, value in data.items():
        setattr(webhook, field, value)
    if enabling:
        webhook.disabled_reason, webhook.failing_since = "", None
    webhook.save()
    if disabling:
        fail_open_deliveries(webhook, "The webhook was disabled.")
    return webhook


@transaction.atomic
def webhook_delete(*, webhook: Webhook) -> None:
    webhook = Webhook.objects.select_for_update().get(pk=webhook.pk)
    fail_open_deliveries(webhook, "The webhook was deleted.")  # drops their scheduled tasks
    webhook.delete()


@transaction.atomic
def webhook_rotate_secret(*, webhook: Webhook) -> Webhook:
    """A new secret at once: the next attempt of every delivery is signed with it."""
    webhook.secret = new_secret()
    webhook.save(update_fields=["secret", "updated_at"])
    return webhook


@transaction.atomic
def webhook_send_test(*, webhook: Webhook, user) -> Delivery:
    """A `webhook.test` event to this webhook alone (it is not written to the event feed)."""
    _refuse_if_disabled(webhook)
    event = Event(
        organization_id=webhook.organization_id,
        type=TEST_EVENT,
        actor_id=user.pk,
        actor_via=Event.Via.API,
        data={"webhookId": str(webhook.pk), "message": "This is a test event from the Leads API."},
    )
    delivery = _new_delivery(webhook, event)
    _schedule([delivery])
    return delivery


@transaction.atomic
def delivery_retry(*, delivery: Delivery) -> Delivery:
    """Attempt the delivery again now (same webhook-id), whatever its status, unless an attempt is in flight."""
    delivery = Delivery.objects.select_related("webhook").select_for_update().get(pk=delivery.pk)
    _refuse_if_disabled(delivery.webhook)
    if delivery.status == Status.SENDING and delivery.sending_until > timezone.now():
        raise Conflict("An attempt of this delivery is in flight; wait for its outcome.", code="delivery_in_flight")
    cancel_task(delivery)
    delivery.status, delivery.next_attempt_at, delivery.sending_until = Status.PENDING, timezone.now(), None
    schedule_task(delivery)
    delivery.save(update_fields=["status", "next_attempt_at", "sending_until", "task_id"])
    return delivery


def _refuse_if_disabled(webhook: Webhook) -> None:
    if not webhook.is_active:
        raise Conflict("The webhook is disabled; enable it first (isActive: true).", code="webhook_disabled")
