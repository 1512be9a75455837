"""Batch writes: up to 100 leads created, updated, upserted, deleted or read in one request.

Each input is held to exactly what its single-lead request is held to: the same serializer
(strict types, unknown fields, the lifecycle), the duplicate check of POST /leads, If-Match as a
`version` per input, PATCH's JSON merge patch of customFields, history (`via`) and events with the
same bodies. What differs is how many queries it costs: the inputs are validated first, then the
rows they name are locked and the emails they claim are checked a set at a time, and the leads,
their history and their events are written with one INSERT (or UPDATE) each.

An input that fails is that input's error (`BatchItem.problems`), reported with every one of its
mistakes, in the API's error format; the others are written. With `atomic`, any failing input
fails the batch (`BatchFailed`, 409) and nothing is written.

`build_new_leads` is the one place where a batch's new Lead objects are made before the insert:
what a new lead gets at write time (an assignee by routing, a predicted score) hooks in there.
"""

import uuid
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from rest_framework.exceptions import ErrorDetail, ValidationError

from events.models import Event
from events.services import lead_event, record_events
from leads.events import lead_payload
from leads.history import Action, field_changes, history_entry, lead_snapshot, record_history
from leads.lifecycle import check_status_change
from leads.models import Lead, LeadStatus
from leads.serializers import LeadSerializer, OrganizationUserField
from leads.services import (
    created_history,
    email_lock_key,
    route_unassigned,
    routing_data,
    score_leads,
    scoring_model,
)
from leads.validators import validate_custom_fields
from leadsite.bulk import COPY_FROM, insert_rows
from leadsite.errors import Conflict, error_item, flatten_errors
from leadsite.etags import etag
from leadsite.merge_patch import merge_patch

MAX_INPUTS = 100

# An input's status is the one its single request would have answered: that request stops at its
# first failing step, in this order (the lead is looked up, the body validated, If-Match compared,
# then the conflicts). A batch reports every step's errors; the status names the first.
STATUS_ORDER = (404, 400, 412, 409)
# An input of a failed atomic batch that had no error of its own: not written because others failed.
NOT_WRITTEN = 424


@dataclass
class BatchItem:
    """One input and what became of it."""

    index: int
    data: dict
    lead_id: uuid.UUID | None = None
    version: int | None = None
    lead: Lead | None = None  # the lead written, read or deleted (a new one before its insert)
    validated: dict | None = None
    status: int = 200
    problems: list = field(default_factory=list)  # [(status, [error items])]
    email_key: str | None = None

    def fail(self, status: int, errors: list) -> None:
        self.problems.append((status, errors))

    @property
    def failed(self) -> bool:
        return bool(self.problems)

    @property
    def error_status(self) -> int:
        return min((status for status, _ in self.problems), key=STATUS_ORDER.index)

    @property
    def errors(self) -> list:
        return [error for _, errors in self.problems for error in errors]


class BatchFailed(Conflict):
    """An atomic batch with failing inputs: 409, nothing written.

    The body is the error format with every failing input's errors (`field` prefixed with
    `inputs[i].`), plus the batch's own `results` and `numErrors`.
    """

    default_detail = "Some inputs failed, so nothing was written."

    def __init__(self, items: list[BatchItem]):
        detail = {}
        for item in items:
            for error in item.errors:
                name = f"inputs[{item.index}]" + (f".{error['field']}" if "field" in error else "")
                detail.setdefault(name, []).append(ErrorDetail(error["message"], code=error["code"]))
        super().__init__(detail)
        for item in items:
            if not item.failed:
                item.status = NOT_WRITTEN
        self.body_extra = results_body(items)


def results_body(items: list[BatchItem]) -> dict:
    """{"results": [{index, status, id, lead | errors}], "numErrors"} in input order."""
    results = []
    for item in items:
        result = {"index": item.index, "status": item.error_status if item.failed else item.status}
        lead_id = item.lead.pk if item.lead is not None else item.lead_id
        result["id"] = None if lead_id is None else str(lead_id)
        if item.failed:
            result["errors"] = item.errors
        elif item.lead is not None and item.status in (200, 201):
            result["lead"] = lead_payload(item.lead)
        results.append(result)
    return {"results": results, "numErrors": sum(item.failed for item in items)}


def batch_status(results: list[BatchItem], *, success: int) -> int:
    """The batch's status: `success` when every input succeeded, 207 Multi-Status otherwise."""
    return 207 if any(item.failed for item in results) else success


# Reading the inputs -----------------------------------------------------------------------------


class PreloadedUserField(OrganizationUserField):
    """assignedTo as the API takes it, looked up among the users loaded once for the whole batch."""

    def to_internal_value(self, data):
        users = self.context.get("assignees")
        if users is None:
            return super().to_internal_value(data)
        pk = self.pk_field.to_internal_value(data)  # the single request's errors for a malformed id
        user = users.get(pk)
        if user is None:
            self.fail("does_not_exist", pk_value=data)
        return user

    def load(self, items: list[BatchItem]) -> dict:
        """The active users of the organization that the inputs name, id -> user; one query (none if none)."""
        ids = set()
        for item in items:
            value = item.data.get("assignedTo")
            if isinstance(value, str):
                try:
                    ids.add(uuid.UUID(value))
                except ValueError:
                    pass
        if not ids:
            return {}
        return {user.pk: user for user in self.get_queryset().filter(pk__in=ids)}


class BatchLeadSerializer(LeadSerializer):
    """LeadSerializer's rules, with the assignees of the whole batch looked up at once."""

    assignedTo = PreloadedUserField(source="assigned_to", required=False, allow_null=True)


def _validator(context: dict, items: list[BatchItem], *, partial: bool) -> BatchLeadSerializer:
    """The serializer for the batch's inputs; the first one made loads the assignees of all `items`."""
    serializer = BatchLeadSerializer(context=context, partial=partial)
    if "assignees" not in context:
        context["assignees"] = serializer.fields["assignedTo"].load(items)
    return serializer


def _validate(serializer: BatchLeadSerializer, item: BatchItem, data: dict, lead: Lead | None) -> None:
    """Validate the input as its single request does; its errors become the item's (400)."""
    serializer.instance = lead  # validate_status compares with the lead's own status
    try:
        item.validated = serializer.run_validation(data)
    except ValidationError as exc:
        item.fail(400, flatten_errors(exc.detail))


def _read_id(item: BatchItem, *, required: bool = True, version: bool = True) -> None:
    """The input's `id` (and `version`), taken out of its data; a missing or malformed one is its 400."""
    data = dict(item.data)
    raw_id = data.pop("id", None)
    raw_version = data.pop("version", None) if version else None
    item.data = data
    if raw_id is None:
        if required:
            item.fail(400, [error_item("This field is required: the id of the lead.", "id", "required")])
    else:
        try:
            if not isinstance(raw_id, str):
                raise ValueError
            item.lead_id = uuid.UUID(raw_id)
        except ValueError:
            item.fail(400, [error_item("Must be a lead id (UUID).", "id", "invalid")])
    if raw_version is not None:
        if isinstance(raw_version, bool) or not isinstance(raw_version, int) or raw_version < 1:
            message = 'Must be the lead\'s version, a whole number from 1 (its ETag "7" is version 7).'
            item.fail(400, [error_item(message, "version", "invalid")])
        else:
            item.version = raw_version


def _refuse_repeated_ids(items: list[BatchItem]) -> None:
    """A lead named by two inputs: the later one is a 409 (which of two writes would win is not obvious)."""
    first = {}
    for item in items:
        if item.lead_id is None:
            continue
        if item.lead_id in first:
            message = f"Input {first[item.lead_id]} of this batch names the same lead; send one input per lead."
            item.fail(409, [error_item(message, "id", "conflict")])
        else:
            first[item.lead_id] = item.index


def email_key(value) -> str | None:
    return value.strip().lower() if isinstance(value, str) and value.strip() else None


# Locking and looking up -------------------------------------------------------------------------


def _lock_emails(organization_id, keys) -> None:
    """On PostgreSQL, the advisory locks of POST /leads (services._lock_email) for every email, in one
    query, taken in one order so that two batches cannot deadlock."""
    if connection.vendor != "postgresql" or not keys:
        return
    lock_keys = [email_lock_key(organization_id, key) for key in keys]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(h) FROM ("
            "SELECT DISTINCT hashtextextended(k, 0) AS h FROM unnest(%s::text[]) AS k ORDER BY 1) AS locks",
            [lock_keys],
        )


def _leads_with_emails(organization, keys, *, lock: bool = False) -> dict:
    """The organization's leads with these emails (compared case-insensitively), key -> [leads], oldest first."""
    if not keys:
        return {}
    leads = (
        Lead.objects.for_organization(organization)
        .annotate(email_key=Lower("email"))
        .filter(email_key__in=list(keys))
        .order_by("created_at", "id")
    )
    if lock:
        leads = leads.select_for_update(of=("self",))
    found = {}
    for lead in leads:
        found.setdefault(lead.email_key, []).append(lead)
    return found


def _locked_leads(organization, ids) -> dict:
    """The organization's leads with these ids, locked in id order (as merge locks them); id -> lead."""
    if not ids:
        return {}
    leads = Lead.objects.for_organization(organization).filter(pk__in=list(ids)).select_for_update().order_by("pk")
    return {lead.pk: lead for lead in leads}


def _not_found(item: BatchItem) -> None:
    item.fail(404, [error_item(f"No lead with id '{item.lead_id}' in your organization.", "id", "not_found")])


def _check_version(item: BatchItem, lead: Lead | None) -> None:
    """`version` as If-Match: the input is written only if the lead is at that version (412 otherwise)."""
    if item.version is None:
        return
    if lead is None:
        message = "No lead matches this input yet, so it has no version; send the input without one."
    elif lead.version == item.version:
        return
    else:
        message = (
            f"The lead has changed since version {item.version}: it is now {lead.version} (ETag {etag(lead)}). "
            "Fetch it again and retry."
        )
    item.fail(412, [error_item(message, "version", "precondition_failed")])


def _check_duplicates(organization, items: list[BatchItem], *, allow_duplicate: bool) -> None:
    """POST /leads' duplicate check for new leads, against the organization's leads and the batch's own.

    An email claimed by an earlier valid input of the batch, or by an existing lead, is the input's
    409 `duplicate_email` (also reported for an input that has other errors, if its email is valid).
    """
    if allow_duplicate:
        return
    keys = {item.email_key for item in items if item.email_key}
    _lock_emails(organization.pk, sorted(keys))
    existing = _leads_with_emails(organization, keys)
    claimed = {}
    for item in items:
        key = item.email_key
        if key is None:
            continue
        email = item.data.get("email")
        if key in existing:
            lead_id = str(existing[key][0].pk)
            error = error_item(f"A lead with the email '{email}' already exists.", "email", "duplicate_email")
            item.fail(409, [{**error, "existingLeadId": lead_id}])
        elif key in claimed and claimed[key] < item.index:
            message = f"Input {claimed[key]} of this batch has the same email '{email}'; send each new lead once."
            item.fail(409, [error_item(message, "email", "duplicate_email")])
        elif not item.failed:
            claimed[key] = item.index


def _new_lead_email_key(item: BatchItem) -> str | None:
    """The email a new lead would have, if the input's email itself is valid (for the duplicate check)."""
    if item.validated is not None:
        return email_key(item.validated.get("email"))
    if any(error.get("field") == "email" for error in item.errors):
        return None
    return email_key(item.data.get("email"))


# Writing ---------------------------------------------------------------------------------------


def build_new_leads(*, organization, user, items: list[BatchItem]) -> list[Lead]:
    """The new Lead objects of a batch, from its validated inputs, before they are inserted.

    The one place a batch makes new leads: what every new lead gets at write time (an assignee,
    a predicted score) is decided here, as POST /leads decides it in services.lead_create.
    """
    for item in items:
        item.lead = Lead(organization=organization, **item.validated)
    leads = [item.lead for item in items]
    # Scored before routing (its rules may read predictedScore), and again if the model reads the assignee.
    model = scoring_model(organization=organization)
    score_leads(model, leads)
    # Those without an assignee go to the assignment rules, in one routing step for the batch; _write
    # finds the decisions on the leads (`routing`) for their history and events.
    routed = route_unassigned(organization=organization, leads=leads)
    for lead in leads:
        lead.routing = routed.get(lead.pk)
    if routed and model is not None and model.uses_assignee:
        score_leads(model, [lead for lead in leads if lead.pk in routed])
    return leads


def _prepare_update(item: BatchItem, lead: Lead, *, merge_custom_fields: bool) -> None:
    """What PATCH /leads/{id} does to the locked lead before it saves, as the item's changes (or errors)."""
    _check_version(item, lead)
    data = item.validated
    if data is None:
        return
    try:
        check_status_change(lead=lead, status=data.get("status"))
    except ValidationError as exc:
        item.fail(400, flatten_errors(exc.detail))
    except Conflict as exc:
        item.fail(409, flatten_errors(exc.detail, status_code=409))
    if merge_custom_fields and "custom_fields" in data:
        try:
            data = {
                **data,
                "custom_fields": validate_custom_fields(merge_patch(lead.custom_fields, data["custom_fields"])),
            }
        except ValidationError as exc:
            item.fail(400, flatten_errors({"customFields": exc.detail}))
    item.validated = data


def _write(*, user, via: str, creates: list[BatchItem], updates: list[BatchItem], now) -> None:
    """Insert the new leads and save the updated ones, with their history and events; the caller holds
    the transaction. Every updated lead gets a new version, as PATCH gives it (even when nothing changed)."""
    new_leads = [item.lead for item in creates]
    if len(new_leads) >= COPY_FROM:
        insert_rows(Lead, new_leads, now=now)
    else:
        Lead.objects.bulk_create(new_leads)  # one INSERT, which the query counts see
    changed = []
    if updates:
        fields = {"updated_at", "version", "predicted_score"}
        model = scoring_model(organization_id=updates[0].lead.organization_id, user=user)
        for item in updates:
            lead, data = item.lead, item.validated
            changes = field_changes(lead, data)
            for name, value in data.items():
                setattr(lead, name, value)
            lead.version += 1
            lead.updated_at = now
            score_leads(model, [lead])
            fields.update(data)
            if changes:
                changed.append((lead, changes))
        Lead.objects.bulk_update([item.lead for item in updates], sorted(fields))
    routed = {lead.pk: lead.routing for lead in new_leads if getattr(lead, "routing", None)}
    entries = created_history(leads=new_leads, routed=routed, actor=user, via=via)
    entries += [
        history_entry(lead=lead, action=Action.UPDATED, actor=user, via=via, changes=changes)
        for lead, changes in changed
    ]
    record_history(entries)
    events = [
        lead_event(Event.Type.LEAD_CREATED, lead=lead, user=user, via=via, **routing_data(routed.get(lead.pk)))
        for lead in new_leads
    ]
    events += [
        lead_event(Event.Type.LEAD_UPDATED, lead=lead, user=user, via=via, changes=changes) for lead, changes in changed
    ]
    record_events(events)


def _finish(items: list[BatchItem], *, atomic: bool) -> None:
    if atomic and any(item.failed for item in items):
        raise BatchFailed(items)


def _items(inputs: list[dict]) -> list[BatchItem]:
    return [BatchItem(index=index, data=data) for index, data in enumerate(inputs)]


# The operations ---------------------------------------------------------------------------------


@transaction.atomic
def batch_create(
    *,
    organization,
    user,
    inputs: list[dict],
    context: dict,
    atomic: bool = False,
    allow_duplicate: bool = False,
    via: str = "api",
) -> list[BatchItem]:
    """POST /leads for each input (201 each), in one transaction; see the module's docstring.

    `context` is the serializer context of the API request (organization, request).
    """
    items = _items(inputs)
    _create_items(organization, user, items, context, allow_duplicate=allow_duplicate)
    _finish(items, atomic=atomic)
    creates = [item for item in items if not item.failed]
    build_new_leads(organization=organization, user=user, items=creates)
    _write(user=user, via=via, creates=creates, updates=[], now=timezone.now())
    for item in creates:
        item.status = 201
    return items


def _create_items(organization, user, items, context, *, allow_duplicate: bool) -> None:
    """Validate new leads and check their emails (not written yet)."""
    serializer = _validator(context, items, partial=False)
    for item in items:
        _validate(serializer, item, item.data, None)
        item.email_key = _new_lead_email_key(item)
    _check_duplicates(organization, items, allow_duplicate=allow_duplicate)


@transaction.atomic
def batch_update(
    *, organization, user, inputs: list[dict], context: dict, atomic: bool = False, via: str = "api"
) -> list[BatchItem]:
    """PATCH /leads/{id} for each input ({"id", "version"?, fields...}; 200 each), in one transaction."""
    items = _items(inputs)
    for item in items:
        _read_id(item)
    _refuse_repeated_ids(items)
    leads = _locked_leads(organization, {item.lead_id for item in items if item.lead_id})
    serializer = _validator(context, items, partial=True)
    for item in items:
        lead = leads.get(item.lead_id)
        if item.lead_id is not None and lead is None:
            _not_found(item)
        _validate(serializer, item, item.data, lead)
        if lead is not None:
            _prepare_update(item, lead, merge_custom_fields=True)
            item.lead = lead
    _finish(items, atomic=atomic)
    updates = [item for item in items if not item.failed]
    _write(user=user, via=via, creates=[], updates=updates, now=timezone.now())
    return items


@transaction.atomic
def batch_upsert(
    *,
    organization,
    user,
    inputs: list[dict],
    id_property: str,
    context: dict,
    atomic: bool = False,
    allow_duplicate: bool = False,
    via: str = "api",
) -> list[BatchItem]:
    """Update the lead each input names (PATCH, 200), or create it (POST, 201), in one transaction.

    id_property "email": the organization's lead with the input's email (case-insensitive); none,
    a new lead; several, the input's 409 (merge them first). "id": the lead with the input's id;
    an input without id is a new lead, an unknown id the input's 404.
    """
    items = _items(inputs)
    for item in items:
        if id_property == "email":  # the lead is found by email: an id sent is ignored, as any read-only field
            item.data = {name: value for name, value in item.data.items() if name != "id"}
        _read_id(item, required=False)
    if id_property == "email":
        existing = _upsert_by_email(organization, items)
    else:
        _refuse_repeated_ids(items)
        existing = _locked_leads(organization, {item.lead_id for item in items if item.lead_id})
        for item in items:
            if item.lead_id is not None and item.lead_id not in existing:
                _not_found(item)
            item.lead = existing.get(item.lead_id)
    # An input whose lead could not be told (unknown id, an email twice or of several leads) is checked as an update.
    to_update = [item for item in items if item.lead is not None or item.failed]
    to_create = [item for item in items if item.lead is None and not item.failed]
    serializer = _validator(context, items, partial=True)
    for item in to_update:
        _validate(serializer, item, item.data, item.lead)
        if item.lead is not None:
            _prepare_update(item, item.lead, merge_custom_fields=True)
    for item in to_create:
        _check_version(item, None)
    if id_property == "email":  # the emails were checked and locked above
        creator = _validator(context, to_create, partial=False)
        for item in to_create:
            _validate(creator, item, item.data, None)
    else:
        _create_items(organization, user, to_create, context, allow_duplicate=allow_duplicate)
    _finish(items, atomic=atomic)
    creates = [item for item in to_create if not item.failed]
    build_new_leads(organization=organization, user=user, items=creates)
    _write(
        user=user,
        via=via,
        creates=creates,
        updates=[item for item in to_update if not item.failed],
        now=timezone.now(),
    )
    for item in creates:
        item.status = 201
    return items


def _upsert_by_email(organization, items: list[BatchItem]) -> dict:
    """Find (and lock) each input's lead by email; sets item.lead where one exists. Returns key -> leads."""
    first = {}
    for item in items:
        key = email_key(item.data.get("email"))
        if key is None:
            message = "This field is required with idProperty 'email': it is how the lead is found."
            item.fail(400, [error_item(message, "email", "required")])
        elif key in first:
            message = f"Input {first[key]} of this batch has the same email; send one input per lead."
            item.fail(409, [error_item(message, "email", "conflict")])
        else:
            first[key] = item.index
            item.email_key = key
    keys = sorted(first)
    _lock_emails(organization.pk, keys)  # no one creates a lead with these emails until this commits
    existing = _leads_with_emails(organization, keys, lock=True)
    for item in items:
        matches = existing.get(item.email_key, []) if item.email_key else []
        if len(matches) > 1:
            message = (
                f"{len(matches)} leads of your organization have this email; merge them first "
                "(GET /leads/duplicates, POST /leads/{id}/merge)."
            )
            item.fail(409, [error_item(message, "email", "conflict")])
        elif matches:
            item.lead = matches[0]
    return existing


@transaction.atomic
def batch_delete(
    *, organization, user, inputs: list[dict], atomic: bool = False, force: bool = False, via: str = "api"
) -> list[BatchItem]:
    """DELETE /leads/{id} for each input ({"id", "version"?}; 204 each), in one transaction.

    A converted lead only with `force`, as DELETE's ?force=true. Their history stays.
    """
    items = _items(inputs)
    for item in items:
        _read_id(item)
        for name in item.data:
            message = f"Unknown field '{name}'; the fields you can send are id, version."
            item.fail(400, [error_item(message, name, "unknown_parameter")])
    _refuse_repeated_ids(items)
    leads = _locked_leads(organization, {item.lead_id for item in items if item.lead_id})
    for item in items:
        lead = leads.get(item.lead_id)
        if item.lead_id is not None and lead is None:
            _not_found(item)
            continue
        if lead is None:
            continue
        _check_version(item, lead)
        if lead.status == LeadStatus.CONVERTED and not force:
            message = "Lead has been converted to a customer; delete it with force=true if you are sure."
            item.fail(409, [error_item(message, "id", "lead_converted")])
        item.lead = lead
    _finish(items, atomic=atomic)
    deletes = [item.lead for item in items if not item.failed]
    snapshots = [(lead, lead_snapshot(lead)) for lead in deletes]
    record_history(
        history_entry(
            lead=lead,
            action=Action.DELETED,
            actor=user,
            via=via,
            changes={name: {"old": value, "new": None} for name, value in snapshot.items()},
        )
        for lead, snapshot in snapshots
    )
    record_events(lead_event(Event.Type.LEAD_DELETED, lead=lead, user=user, via=via) for lead in deletes)
    if deletes:
        Lead.objects.filter(pk__in=[lead.pk for lead in deletes]).delete()
    for item in items:
        if not item.failed:
            item.status = 204
    return items


def batch_read(*, organization, inputs: list[dict]) -> list[BatchItem]:
    """GET /leads/{id} for each input ({"id"}; 200 each); one query. A lead may be asked for more than once."""
    items = _items(inputs)
    for item in items:
        for name in item.data:
            if name != "id":
                message = f"Unknown field '{name}'; the field you can send is id."
                item.fail(400, [error_item(message, name, "unknown_parameter")])
        _read_id(item, version=False)
    ids = {item.lead_id for item in items if item.lead_id}
    leads = (
        {lead.pk: lead for lead in Lead.objects.for_organization(organization).filter(pk__in=list(ids))} if ids else {}
    )
    for item in items:
        if item.lead_id is None:
            continue
        item.lead = leads.get(item.lead_id)
        if item.lead is None:
            _not_found(item)
    return items
