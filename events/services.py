"""Writing events: the one entry point every service calls, inside the transaction of its change."""

from collections.abc import Iterable

from django.db import transaction

from events.models import Event


def new_event(event_type: str, *, organization_id, actor=None, via: str = Event.Via.API, data: dict) -> Event:
    """An unsaved event; pass a list of them to `record_events`. `actor` is a user or None (the system)."""
    return Event(
        organization_id=organization_id,
        type=event_type,
        actor_id=getattr(actor, "pk", None),
        actor_via=via,
        data=data,
    )


def record_events(events: Iterable[Event]) -> list[Event]:
    """Write the events in the current transaction, in one INSERT (per 1,000): they commit or roll back with it."""
    events = list(events)
    if not events:
        return events
    assert transaction.get_connection().in_atomic_block, "record events inside the change's transaction"
    Event.objects.bulk_create(events, batch_size=1000)
    return events
