"""Writing events: the one entry point every service calls, inside the transaction of its change."""

from collections.abc import Iterable
from functools import partial

from django.db import connection, transaction
from django.utils import timezone

from events import hooks
from events.models import Event, event_id
from leadsite.bulk import COPY_FROM, insert_rows

# new_event passes the fields by position, Django's fast way to build a model (from_db does it too):
# the importer builds one event per lead. A new field must be added there too.
assert [field.attname for field in Event._meta.concrete_fields] == [
    "id",
    "organization_id",
    "type",
    "created_at",
    "actor_id",
    "actor_via",
    "data",
    "transaction_order",
], "Event's fields changed: update new_event"
_TRANSACTION_ORDER = Event._meta.get_field("transaction_order").get_default()  # the database's


def new_event(event_type: str, *, organization_id, actor=None, via: str = Event.Via.API, data: dict) -> Event:
    """An unsaved event; pass a list of them to `record_events`. `actor` is a user or None (the system)."""
    actor_id = getattr(actor, "pk", None)
    return Event(event_id(), organization_id, event_type, timezone.now(), actor_id, via, data, _TRANSACTION_ORDER)


def lead_event(event_type: str, *, lead, user, via: str, **data) -> Event:
    """An unsaved event about a lead: `data` is the lead as the API shows it, plus the keyword arguments."""
    return new_event(
        event_type,
        organization_id=lead.organization_id,
        actor=user,
        via=via,
        data={"lead": hooks.payload("lead", lead), **data},
    )


def customer_event(event_type: str, *, customer, user, via: str, **data) -> Event:
    """An unsaved event about a customer: `data` is the customer as the API shows it, plus the keyword arguments."""
    return new_event(
        event_type,
        organization_id=customer.organization_id,
        actor=user,
        via=via,
        data={"customer": hooks.payload("customer", customer), **data},
    )


def record_events(events: Iterable[Event], *, insert=None) -> list[Event]:
    """Write the events in the current transaction: they commit or roll back with the change.

    One INSERT per 1,000 events, COPY on PostgreSQL from COPY_FROM events on (a reassign), or
    `insert(events)` when the caller has its own way to add rows (the importer).
    """
    events = list(events)
    if not events:
        return events
    assert transaction.get_connection().in_atomic_block, "record events inside the change's transaction"
    if insert is None and connection.vendor == "postgresql" and len(events) >= COPY_FROM:
        insert = partial(insert_rows, Event, now=timezone.now())
    if insert is None:
        Event.objects.bulk_create(events, batch_size=1000)
    else:
        insert(events)
    # The outbox's other half: what subscribed at start-up (webhook deliveries), in the same transaction.
    hooks.recorded(events)
    return events
