"""Reading the feed: an organization's events in commit order, only those no later commit can precede."""

import uuid

from django.db import connection
from django.db.models import F
from django.db.models.expressions import RawSQL
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan

from events.models import Event

# Every transaction with an id below the snapshot's xmin has ended, so no event can still appear
# there: events at or above it wait until every older transaction has committed or rolled back.
# A transaction that wrote events itself (a test's, for example) also sees its own.
_SETTLED_BELOW_POSTGRESQL = """GREATEST(
    pg_snapshot_xmin(pg_current_snapshot())::text::bigint,
    COALESCE(pg_current_xact_id_if_assigned()::text::bigint + 1, 0)
)"""


def settled_events(queryset):
    """The events whose place in the feed is final.

    PostgreSQL hands out transaction ids when a transaction first writes, not when it commits, so
    one begun earlier can commit after a later one a consumer has already read past; its events
    are held back until it ends. SQLite runs one writer at a time, so every committed event is final.
    """
    if connection.vendor != "postgresql":
        return queryset
    return queryset.filter(transaction_order__lt=RawSQL(_SETTLED_BELOW_POSTGRESQL, []))


def event_feed(*, organization, after=None, types=(), limit: int) -> list[Event]:
    """Up to `limit` events after the position `after` ((transaction_order, id) or None: from the start)."""
    events = settled_events(Event.objects.for_organization(organization))
    if types:
        events = events.filter(type__in=types)
    if after is not None:
        events = events.filter(TupleGreaterThan(Tuple(F("transaction_order"), F("id")), after))
    return list(events.order_by("transaction_order", "id")[:limit])


def events_older_than(moment):
    """Events made before `moment`, found through the primary key (a UUIDv7 id starts with its millisecond)."""
    first_id_at_moment = uuid.UUID(int=int(moment.timestamp() * 1000) << 80)
    events = Event.objects.filter(pk__lt=first_id_at_moment)
    if connection.vendor == "sqlite":
        # Keep the last one: an emptied SQLite table hands out rowids (positions) from 1 again,
        # behind the cursors consumers hold.
        last = Event.objects.order_by("-transaction_order").values_list("pk", flat=True)[:1]
        events = events.exclude(pk__in=last)
    return events
