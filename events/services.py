"""Writing events: the one entry point every service calls, inside the transaction of its change."""

from collections.abc import Iterable

from django.db import transaction

from events.models import Event
from events.payloads import customer_payload, lead_payload


def new_event(event_type: str, *, organization_id, actor=None, via: str = Event.Via.API, data: dict) -> Event:
    """An unsaved event; pass a list of them to `record_events`. `actor` is a user or None (the system)."""
    return Event(
        organization_id=organization_id,
        type=event_type,
        actor_id=getattr(actor, "pk", None),
        actor_via=via,
        data=data,
    )


def lead_event(event_type: str, *, lead, user, via: str, **data) -> Event:
    """An unsaved event about a lead: `data` is the lead as the API shows it, plus the keyword arguments."""
    return new_event(
        event_type, organization_id=lead.organization_id, actor=user, via=via, data={"lead": lead_payload(lead), **data}
    )


def customer_event(event_type: str, *, customer, user, via: str, **data) -> Event:
    """An unsaved event about a customer: `data` is the customer as the API shows it, plus the keyword arguments."""
    return new_event(
        event_type,
        organization_id=customer.organization_id,
        actor=user,
        via=via,
        data={"customer": customer_payload(customer), **data},
    )


def record_events(events: Iterable[Event], *, insert=None) -> list[Event]:
    """Write the events in the current transaction: they commit or roll back with the change.

    One INSERT per 1,000 events, or `insert(events)` when the caller has a faster way to add rows
    (the importer's COPY on PostgreSQL).
    """
    events = list(events)
    if not events:
        return events
    assert transaction.get_connection().in_atomic_block, "record events inside the change's transaction"
    if insert is None:
        Event.objects.bulk_create(events, batch_size=1000)
    else:
        insert(events)
    return events
