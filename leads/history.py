"""Lead history: who did what to a lead, and when. Written by the services, never by views.

`changes` for an update is {"field": {"old": ..., "new": ...}} with API (camelCase) field
names and JSON-ready values. Entries are written with bulk_create, never one query per field
or per lead; thousands at once (a reassign) go by COPY on PostgreSQL.
"""

import json
import uuid
from datetime import datetime

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.utils import timezone

from leads.models import Lead, LeadHistory
from leadsite.bulk import COPY_FROM, insert_rows

Action = LeadHistory.Action


_ENCODER = DjangoJSONEncoder()


def json_ready(value):
    """Turn a model value (UUID, datetime, model instance) into what JSON stores."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if hasattr(value, "pk"):
        value = value.pk
    if isinstance(value, datetime | uuid.UUID):
        return _ENCODER.default(value)  # the text json.dumps would write, without the round trip
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def history_entry(*, lead, action, actor=None, via="api", changes=None) -> LeadHistory:
    """An unsaved entry; pass a list of them to `record_history`."""
    return LeadHistory(
        organization_id=lead.organization_id,
        lead_id=lead.pk,
        action=action,
        actor=actor if getattr(actor, "pk", None) else None,
        via=via,
        changes=changes or {},
    )


def record_history(entries) -> None:
    entries = list(entries)
    if connection.vendor == "postgresql" and len(entries) >= COPY_FROM:
        insert_rows(LeadHistory, entries, now=timezone.now())
    else:
        LeadHistory.objects.bulk_create(entries, batch_size=1000)


# Where the API name is not the camelCased model field name.
API_NAMES = {"converted_customer": "convertedCustomerId"}


def api_name(field: str) -> str:
    """The API (camelCase) name of a lead model field: assigned_to -> assignedTo."""
    if field in API_NAMES:
        return API_NAMES[field]
    head, *rest = field.split("_")
    return head + "".join(part.title() for part in rest)


def field_changes(lead, data: dict) -> dict:
    """{apiName: {"old", "new"}} for the fields in `data` (model names) whose value differs from the lead's.

    Reads foreign keys by their id column, so it costs no query.
    """
    changes = {}
    for field, new in data.items():
        attname = lead._meta.get_field(field).attname
        old = getattr(lead, attname)
        new_value = new.pk if hasattr(new, "pk") else new
        if not _same(old, new_value):
            changes[api_name(field)] = {"old": json_ready(old), "new": json_ready(new_value)}
    return changes


def _same(old, new) -> bool:
    """Equal as stored: JSON (customFields) by its text, since Python takes 1 == True == 1.0."""
    if isinstance(old, dict | list) or isinstance(new, dict | list):
        return _json_text(old) == _json_text(new)
    return old == new


def _json_text(value) -> str:
    return json.dumps(value, sort_keys=True, cls=DjangoJSONEncoder)


# What the history of a created or deleted lead shows of it.
SNAPSHOT_FIELDS = (
    "name",
    "email",
    "phone",
    "company",
    "source",
    "status",
    "score",
    "assigned_to",
    "last_contacted_at",
    "notes",
    "custom_fields",
    "is_active",
    "converted_at",
    "converted_customer",
)
_SNAPSHOT_COLUMNS = [(Lead._meta.get_field(field).attname, api_name(field)) for field in SNAPSHOT_FIELDS]


def lead_snapshot(lead) -> dict:
    """{apiName: value} of the lead's non-empty fields, JSON-ready; reads foreign keys by their id."""
    values = ((name, getattr(lead, attname)) for attname, name in _SNAPSHOT_COLUMNS)
    return {name: json_ready(value) for name, value in values if value not in (None, "", {})}


def created_changes(lead) -> dict:
    """The changes of a "created" entry: every non-empty field, from nothing to its value."""
    return {name: {"old": None, "new": value} for name, value in lead_snapshot(lead).items()}
