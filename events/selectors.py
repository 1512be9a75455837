"""Reading the feed: an organization's events in commit order, only those no later commit can precede."""

import uuid

from django.db import connection
from django.db.models import F
from django.db.models.expressions import RawSQL
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan

from events.models import Event

# The feed's bound: an event is final once no transaction that could still write an event before
# it is in progress. Transaction ids are handed out by the whole server, so the statement's snapshot
# lists the transactions in progress in every database (pg_snapshot_xip); only those of this
# database can write its events. The bound is the oldest in-progress transaction not known to
# belong to another database (pg_stat_activity names a backend's database and transaction; one
# that has ended since the snapshot, or a role's session this role may not see, is not known, so
# it still counts), else the snapshot's xmax: every transaction below it not listed has ended.
# A transaction that wrote events itself (a test's, for example) also sees its own.
_SETTLED_BELOW_POSTGRESQL = """GREATEST(
    (SELECT LEAST(
        pg_snapshot_xmax(snapshot)::text::bigint,
        (SELECT min(xid::text::bigint) FROM pg_snapshot_xip(snapshot) AS xid
          WHERE mod(xid::text::bigint, 4294967296) NOT IN (
            SELECT backend_xid::text::bigint FROM pg_stat_activity
             WHERE backend_xid IS NOT NULL
               AND datid <> (SELECT oid FROM pg_database WHERE datname = current_database())))
    ) FROM pg_current_snapshot() AS snapshot),
    COALESCE(pg_current_xact_id_if_assigned()::text::bigint + 1, 0)
)"""


def settled_events(queryset):
    """The events whose place in the feed is final.

    PostgreSQL hands out transaction ids when a transaction first writes, not when it commits, so
    one begun earlier can commit after a later one a consumer has already read past; its events
    are held back until it ends. Transactions of the server's other databases do not hold the feed
    back. SQLite runs one writer at a time, so every committed event is final.
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
