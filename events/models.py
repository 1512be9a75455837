"""What happened to an organization's leads and customers: the transactional outbox.

Services write events in the transaction of the change they describe (`events.services.record_events`),
so a rolled-back change leaves none and a committed one always has its own. The feed (`GET /events`)
and the webhook deliveries read them from here.
"""

import threading
import uuid

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from leadsite.ids import uuid7
from organizations.models import Organization
from organizations.scoping import OrganizationScopedQuerySet

_last_id = 0
_id_lock = threading.Lock()


def event_id() -> uuid.UUID:
    """A UUIDv7 greater than every one this process made before.

    Events of one transaction are served in id order, so an event recorded after another (a
    customer created, then the lead converted into it) must not get a smaller id in the same millisecond.
    """
    global _last_id
    now = uuid7()
    with _id_lock:
        if now.int > _last_id:
            _last_id = now.int
            return now
        _last_id += 1
        return uuid.UUID(int=_last_id)


class TransactionOrder(models.Func):
    """The database default of `Event.transaction_order`.

    PostgreSQL: the id of the writing transaction (`pg_current_xact_id()`). SQLite: 0, replaced by
    the row's rowid by a trigger (migration 0001), which SQLite hands out in commit order because it
    runs one writer at a time.
    """

    output_field = models.BigIntegerField()

    def as_sql(self, compiler, connection, **extra_context):
        return "0", []

    def as_postgresql(self, compiler, connection, **extra_context):
        return "(pg_current_xact_id()::text::bigint)", []


class Event(models.Model):
    class Type(models.TextChoices):
        LEAD_CREATED = "lead.created"
        LEAD_UPDATED = "lead.updated"
        LEAD_DELETED = "lead.deleted"
        LEAD_CONVERTED = "lead.converted"
        LEAD_UNCONVERTED = "lead.unconverted"
        LEAD_MERGED = "lead.merged"
        LEAD_REASSIGNED = "lead.reassigned"
        CUSTOMER_CREATED = "customer.created"
        CUSTOMER_UPDATED = "customer.updated"
        CUSTOMER_DELETED = "customer.deleted"
        IMPORT_COMPLETED = "import.completed"

    class Via(models.TextChoices):
        API = "api"
        ADMIN = "admin"
        IMPORT = "import"
        SYSTEM = "system"

    id = models.UUIDField(primary_key=True, default=event_id, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    # Not `choices`: a new type must not need a migration. Event.Type lists those the services write.
    type = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # Not a foreign key: an event keeps naming who did it, whatever happens to the user later.
    actor_id = models.UUIDField(null=True, blank=True)
    actor_via = models.CharField(max_length=20, choices=Via.choices, default=Via.API)
    # The event's `data`: objects in the API's own JSON shape, built by their apps (events.hooks).
    data = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    # The feed's order is (transaction_order, id): see events.selectors.
    transaction_order = models.BigIntegerField(db_default=TransactionOrder(), editable=False)

    objects = OrganizationScopedQuerySet.as_manager()

    class Meta:
        ordering = ["transaction_order", "id"]
        indexes = [models.Index(fields=["organization", "transaction_order", "id"], name="event_feed_idx")]

    def __str__(self):
        return f"{self.type} {self.id}"
