"""Writes to leads. Views, the admin and the importer all call these; none writes leads itself.

Every write records the lead's history and its events (what other systems hear, events/) in the
same transaction, one INSERT each, from the same values: `user` is who did it and `via` where it
came from ("api", "admin", "import").
"""

from django.db import connection, transaction
from django.utils import timezone
from rest_framework.exceptions import NotFound, ValidationError

from customers.events import customer_payload
from customers.models import Customer
from customers.services import customer_attach_contact, customer_insert
from events.models import Event
from events.services import customer_event, lead_event, record_events
from jobs.models import Job
from jobs.services import job_create
from leads import selectors
from leads.history import (
    Action,
    created_changes,
    field_changes,
    history_entry,
    json_ready,
    lead_snapshot,
    record_history,
)
from leads.lifecycle import UNCONVERTED_VALUES, check_status_change
from leads.models import Lead, LeadHistory, LeadStatus
from leads.validators import validate_custom_fields
from leadsite.errors import Conflict
from leadsite.etags import IfMatch, check_if_match
from leadsite.merge_patch import merge_patch
from organizations.models import Organization, User
from routing.services import choose_assignees
from scoring.predictor import predicted_score, usable_model_for

# Fields a merge fills from the duplicates when the surviving lead has no value.
MERGE_FILL_FIELDS = ("email", "phone", "company", "source", "assigned_to")


def _locked(lead: Lead) -> Lead:
    """The lead's row, locked until the transaction ends; a 404 if it is gone (deleted by a racing request).

    Views read the lead without a lock; every write re-reads it here and decides on what it locked.
    """
    try:
        return Lead.objects.select_for_update().get(pk=lead.pk)
    except Lead.DoesNotExist:
        raise NotFound("No lead with this id in your organization.") from None


def email_lock_key(organization_id, email: str) -> str:
    """The advisory lock's key of an email in an organization (POST /leads and the batches take the same)."""
    return f"lead-email:{organization_id}:{email.lower()}"


def _lock_email(organization_id, email: str) -> None:
    """On PostgreSQL, serialize creations with the same email so that two can't both pass the duplicate check."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            key = email_lock_key(organization_id, email)
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [key])


# What the scoring model reads of a lead (scoring/features.py), and its status (resolved leads have no score).
SCORING_ATTRIBUTES = ("source", "email", "phone", "company", "score", "custom_fields", "assigned_to_id", "status")


def scoring_model(*, organization=None, organization_id=None, user=None):
    """The organization's ready scoring model, or None (no query when it has none).

    The organization comes with the request's user (its model version is read with it); a writer of
    another organization (a superuser in the admin) or none reads it, one query.
    """
    if organization is None:
        user_organization = getattr(user, "organization", None) if user is not None else None
        if user_organization is not None and user_organization.pk == organization_id:
            organization = user_organization
        else:
            organization = Organization.objects.filter(pk=organization_id).first()
    return usable_model_for(organization) if organization is not None else None


def score_leads(model, leads) -> None:
    """Set each lead's predicted_score from its attributes (no query): null without a model or when resolved."""
    for lead in leads:
        if model is None and lead.predicted_score is None:
            continue
        lead.predicted_score = predicted_score(model, {name: getattr(lead, name) for name in SCORING_ATTRIBUTES})


def route_new_leads(*, organization, leads: list[dict]) -> list:
    """Routing's decisions (routing/) for new leads' attributes (model names), under its row locks.

    Two queries (the pools, locked, with their open-lead counts; the rules' turns written back), and
    one more when a lead falls through to the organization's default assignee.
    """
    return choose_assignees(organization=organization, leads=leads, open_leads_of=selectors.open_leads_count_of)


def routed_history_entry(*, lead, decision, actor) -> LeadHistory:
    """The history entry (via "rule") of a lead routing assigned: from nobody to the user, and why."""
    changes = {"assignedTo": {"old": None, "new": str(decision.user_id)}, "routing": decision.as_json()}
    return history_entry(lead=lead, action=Action.UPDATED, actor=actor, via="rule", changes=changes)


def route_unassigned(*, organization, leads: list[Lead]) -> dict:
    """Assign new, unsaved leads without an assignee by the assignment rules: {lead id: Decision} of those assigned.

    Set-based: one routing call for all of them (a batch, an import's batch), two queries.
    """
    unassigned = [lead for lead in leads if lead.assigned_to_id is None]
    if not unassigned:
        return {}
    decisions = route_new_leads(organization=organization, leads=[lead_routing_attributes(lead) for lead in unassigned])
    routed = {}
    for lead, decision in zip(unassigned, decisions, strict=True):
        if decision.user_id is not None:
            lead.assigned_to_id = decision.user_id
            routed[lead.pk] = decision
    return routed


def created_history(*, leads: list[Lead], routed: dict, actor, via: str) -> list[LeadHistory]:
    """A "created" entry per new lead; a routed one's without its assignee, followed by the routing's (via rule)."""
    entries = []
    for lead in leads:
        changes = created_changes(lead)
        entries.append(history_entry(lead=lead, action=Action.CREATED, actor=actor, via=via, changes=changes))
        decision = routed.get(lead.pk)
        if decision is not None:
            changes.pop("assignedTo", None)
            entries.append(routed_history_entry(lead=lead, decision=decision, actor=actor))
    return entries


def routing_data(decision) -> dict:
    """What a lead.created event adds for a routed lead: {"routing": ...}, else nothing."""
    return {} if decision is None else {"routing": decision.as_json()}


@transaction.atomic
def lead_create(
    *, organization, user, data: dict, allow_duplicate: bool = False, via: str = "api", route: bool = True
) -> Lead:
    """Create a lead from validated data (model field names).

    A lead whose email an existing lead of the organization already has (compared
    case-insensitively) is refused with a Conflict naming that lead, unless `allow_duplicate`.
    Without an assignee (none given, or null) routing chooses one (`route`): the history then has
    the creation without an assignee and an entry via "rule" that assigns it and says why, and the
    lead.created event carries the same explanation as `routing`.
    """
    check_status_change(lead=None, status=data.get("status"))
    email = data.get("email")
    if email and not allow_duplicate:
        _lock_email(organization.pk, email)
        existing = selectors.lead_with_email(organization=organization, email=email)
        if existing is not None:
            raise Conflict(
                {"email": [f"A lead with the email '{email}' already exists."]},
                code="duplicate_email",
                extra={"existingLeadId": str(existing.pk)},
            )
    # Scored before routing (whose rules may read predictedScore), again after if the model reads the assignee.
    lead = Lead(organization=organization, **data)
    model = scoring_model(organization=organization)
    score_leads(model, [lead])
    decision = None
    if route and data.get("assigned_to") is None:
        (decision,) = route_new_leads(
            organization=organization, leads=[{**data, "predicted_score": lead.predicted_score}]
        )
        if decision.user_id is None:
            decision = None
        else:
            lead.assigned_to_id = decision.user_id
            if model is not None and model.uses_assignee:
                score_leads(model, [lead])
    lead.save(force_insert=True)
    changes = created_changes(lead)
    entries = [history_entry(lead=lead, action=Action.CREATED, actor=user, via=via, changes=changes)]
    if decision is not None:
        changes.pop("assignedTo")
        entries.append(routed_history_entry(lead=lead, decision=decision, actor=user))
    record_history(entries)
    routing = {"routing": decision.as_json()} if decision is not None else {}
    record_events([lead_event(Event.Type.LEAD_CREATED, lead=lead, user=user, via=via, **routing)])
    return lead


@transaction.atomic
def lead_update(
    *,
    lead: Lead,
    user,
    data: dict,
    via: str = "api",
    if_match: IfMatch | None = None,
    merge_custom_fields: bool = False,
) -> Lead:
    """Apply validated data (model field names) to a lead, writing only the given fields.

    The row is locked first and compared with what it holds then, so of two racing updates the
    second sees the first's values (its history's `old` is the first's `new`). The lifecycle
    (leads/lifecycle.py) is checked against the locked row. The history entry lists each changed
    field with its old and new value; nothing changed, no entry.

    `if_match` (If-Match) is compared with the locked row's ETag. With `merge_custom_fields` (PATCH),
    data's custom_fields is a JSON merge patch (RFC 7396) applied to the stored object, so that
    concurrent PATCHes of different keys all stay; otherwise it replaces the object (PUT, the importer).
    """
    lead = _locked(lead)
    check_if_match(if_match, lead)
    check_status_change(lead=lead, status=data.get("status"))
    if merge_custom_fields and "custom_fields" in data:
        merged = merge_patch(lead.custom_fields, data["custom_fields"])
        try:
            data = {**data, "custom_fields": validate_custom_fields(merged)}
        except ValidationError as exc:
            raise ValidationError({"customFields": exc.detail}) from None
    changes = _write_fields(lead, data, user=user)
    if changes:
        record_history([history_entry(lead=lead, action=Action.UPDATED, actor=user, via=via, changes=changes)])
        record_events([lead_event(Event.Type.LEAD_UPDATED, lead=lead, user=user, via=via, changes=changes)])
    return lead


@transaction.atomic
def lead_delete(*, lead: Lead, user, force: bool = False, via: str = "api", if_match: IfMatch | None = None) -> None:
    """Delete a lead; a converted lead only with `force`. Its history stays."""
    lead = _locked(lead)
    check_if_match(if_match, lead)
    if lead.status == LeadStatus.CONVERTED and not force:
        raise Conflict(
            "Lead has been converted to a customer; delete it with force=true if you are sure.", code="lead_converted"
        )
    changes = {name: {"old": value, "new": None} for name, value in lead_snapshot(lead).items()}
    record_history([history_entry(lead=lead, action=Action.DELETED, actor=user, via=via, changes=changes)])
    record_events([lead_event(Event.Type.LEAD_DELETED, lead=lead, user=user, via=via)])
    lead.delete()


def _refuse_conversion(lead: Lead):
    if lead.status == LeadStatus.CONVERTED:
        raise Conflict("Lead has already been converted.", code="lead_converted")
    if lead.status == LeadStatus.UNQUALIFIED:
        raise Conflict("Lead is unqualified; qualify it before converting it.")
    if not lead.is_active:
        raise Conflict("Lead is inactive; reactivate it before converting it.")


def lead_convert_to_customer(*, lead: Lead, user, customer: Customer | None = None, via: str = "api") -> Customer:
    """lead_convert, for callers that need only the customer (the admin's action)."""
    return lead_convert(lead=lead, user=user, customer=customer, via=via)[1]


@transaction.atomic
def lead_convert(
    *, lead: Lead, user, customer: Customer | None = None, via: str = "api", if_match: IfMatch | None = None
) -> tuple[Lead, Customer]:
    """Convert the lead into a new customer, or attach it to `customer` (same organization), all or nothing.

    Attaching fills only the customer's empty contact fields. The lead row is locked first, then
    the customer's, so of two simultaneous conversions of one lead the second sees it converted,
    and two leads converted into one customer both keep their link. Returns the lead and the customer.
    """
    lead = _locked(lead)
    check_if_match(if_match, lead)
    _refuse_conversion(lead)
    is_new = customer is None
    if is_new:
        customer = customer_insert(
            organization_id=lead.organization_id,
            company_name=lead.company or lead.name,
            contact_email=lead.email,
            contact_phone=lead.phone,
        )
        # Recorded with the conversion's own event, in one INSERT.
        events = [customer_event(Event.Type.CUSTOMER_CREATED, customer=customer, user=user, via=via)]
    else:
        customer, events = customer_attach_contact(
            customer=customer,
            organization_id=lead.organization_id,
            email=lead.email,
            phone=lead.phone,
            user=user,
            via=via,
        )
    data = {"status": LeadStatus.CONVERTED, "converted_at": timezone.now(), "converted_customer": customer}
    changes = _write_fields(lead, data, user=user)
    record_history([history_entry(lead=lead, action=Action.CONVERTED, actor=user, via=via, changes=changes)])
    events.append(
        lead_event(
            Event.Type.LEAD_CONVERTED,
            lead=lead,
            user=user,
            via=via,
            customer=customer_payload(customer),
            customerIsNew=is_new,
        )
    )
    record_events(events)
    return lead, customer


@transaction.atomic
def lead_unconvert(*, lead: Lead, user, via: str = "api", if_match: IfMatch | None = None) -> Lead:
    """Undo a conversion: unlink the lead from its customer (which stays), back to `qualified`, without convertedAt.

    History `unconverted`, event `lead.unconverted` (with the customer's id). A lead that is not
    converted is a 409.
    """
    lead = _locked(lead)
    check_if_match(if_match, lead)
    if lead.status != LeadStatus.CONVERTED:
        raise Conflict("Lead is not converted; there is no conversion to undo.")
    customer_id = lead.converted_customer_id
    changes = _write_fields(lead, UNCONVERTED_VALUES, user=user)
    record_history([history_entry(lead=lead, action=Action.UNCONVERTED, actor=user, via=via, changes=changes)])
    record_events(
        [
            lead_event(
                Event.Type.LEAD_UNCONVERTED,
                lead=lead,
                user=user,
                via=via,
                customerId=str(customer_id),
                changes=changes,
            )
        ]
    )
    return lead


def _write_fields(lead: Lead, data: dict, *, user=None) -> dict:
    """Set data's fields (model names) on the locked lead, save them with a new version; returns the changes.

    The lead is scored again from its new values (predictedScore is derived: not in the history's changes).
    """
    changes = field_changes(lead, data)
    for field, value in data.items():
        setattr(lead, field, value)
    lead.version += 1
    fields = [*data.keys(), "updated_at", "version"]
    before = lead.predicted_score
    score_leads(scoring_model(organization_id=lead.organization_id, user=user), [lead])
    if lead.predicted_score != before:
        fields.append("predicted_score")
    lead.save(update_fields=fields)
    return changes


def _is_empty(value) -> bool:
    return value in (None, "", {})


@transaction.atomic
def lead_merge(*, lead: Lead, duplicate_ids: list, user, via: str = "api", if_match: IfMatch | None = None) -> Lead:
    """Fold duplicates (ids of leads of the lead's organization) into the lead and delete them.

    The lead keeps its values and takes the duplicates' where it has none (the first duplicate
    listed wins), the highest score, the latest contact date, all custom fields (its own win)
    and all notes. The duplicates' history moves to the lead, so none is left pointing at a
    deleted lead. A converted duplicate is refused: merge the others into it instead.
    All rows are locked in id order, so concurrent merges cannot deadlock.
    """
    duplicate_ids = list(dict.fromkeys(duplicate_ids))
    if not duplicate_ids:
        raise ValidationError({"duplicateIds": ["Name at least one duplicate."]})
    if lead.pk in duplicate_ids:
        raise ValidationError({"duplicateIds": ["A lead cannot be merged into itself."]})
    locked = Lead.objects.for_organization(lead.organization_id).filter(pk__in=[lead.pk, *duplicate_ids])
    rows = {row.pk: row for row in locked.select_for_update().order_by("pk")}
    if lead.pk not in rows:
        raise NotFound("Lead not found.")
    check_if_match(if_match, rows[lead.pk])
    missing = [str(pk) for pk in duplicate_ids if pk not in rows]
    if missing:
        raise NotFound({"duplicateIds": [f"No lead with id {pk} in your organization." for pk in missing]})
    lead, duplicates = rows[lead.pk], [rows[pk] for pk in duplicate_ids]
    converted = [str(duplicate.pk) for duplicate in duplicates if duplicate.status == LeadStatus.CONVERTED]
    if converted:
        raise Conflict(
            f"Lead {', '.join(converted)} has been converted to a customer; merge the others into it instead.",
            code="lead_converted",
        )

    everyone = [lead, *duplicates]
    data = {}
    for field in MERGE_FILL_FIELDS:
        attname = Lead._meta.get_field(field).attname
        if _is_empty(getattr(lead, attname)):
            values = [getattr(d, attname) for d in duplicates if not _is_empty(getattr(d, attname))]
            if values:
                data[attname] = values[0]
    scores = [row.score for row in everyone if row.score is not None]
    if scores:
        data["score"] = max(scores)
    contacted = [row.last_contacted_at for row in everyone if row.last_contacted_at is not None]
    if contacted:
        data["last_contacted_at"] = max(contacted)
    custom_fields = {}
    for row in reversed(everyone):
        custom_fields.update(row.custom_fields or {})
    data["custom_fields"] = custom_fields
    notes = list(dict.fromkeys(row.notes.strip() for row in everyone if row.notes and row.notes.strip()))
    data["notes"] = "\n\n".join(notes) or None

    changes = _write_fields(lead, data, user=user)
    changes["mergedLeadIds"] = {"old": None, "new": [str(d.pk) for d in duplicates]}
    LeadHistory.objects.for_organization(lead.organization_id).filter(lead_id__in=duplicate_ids).update(lead_id=lead.pk)
    Lead.objects.filter(pk__in=duplicate_ids).delete()
    record_history([history_entry(lead=lead, action=Action.MERGED, actor=user, via=via, changes=changes)])
    field_changed = {name: change for name, change in changes.items() if name != "mergedLeadIds"}
    merged = {"mergedLeadIds": changes["mergedLeadIds"]["new"], "changes": field_changed}
    record_events([lead_event(Event.Type.LEAD_MERGED, lead=lead, user=user, via=via, **merged)])
    return lead


INACTIVE_ASSIGNEE = "This user is inactive; leads can only move to an active user."
# A reassign of more leads than this is a job (jobs/), moved by the task worker in chunks.
REASSIGN_AT_ONCE_MAX = 1_000


def lead_reassign_or_queue(*, organization, from_user, to_user, statuses=None, user) -> int | Job:
    """Move up to REASSIGN_AT_ONCE_MAX leads now (how many moved), or queue a job that moves more (the Job)."""
    total = leads_to_reassign(organization=organization, from_user=from_user, statuses=statuses).count()
    if total <= REASSIGN_AT_ONCE_MAX:
        return lead_reassign(
            organization=organization, from_user=from_user, to_user=to_user, statuses=statuses, user=user
        )
    if not to_user.is_active:
        raise ValidationError({"toUserId": [INACTIVE_ASSIGNEE]})
    params = {"fromUserId": str(from_user.pk), "toUserId": str(to_user.pk), "status": statuses or None}
    return job_create(organization=organization, user=user, kind=Job.Kind.REASSIGN, params=params, total=total)


def leads_to_reassign(*, organization, from_user, statuses=None):
    leads = Lead.objects.for_organization(organization).filter(assigned_to=from_user)
    return leads.filter(status__in=statuses) if statuses else leads


@transaction.atomic
def lead_reassign(*, organization, from_user, to_user, statuses=None, user, via: str = "api", limit=None) -> int:
    """Move from_user's leads (only those in `statuses` if given) to to_user; returns how many moved.

    With `limit`, at most that many (the first by id): a job moves a large set in chunks of that size,
    each in its own transaction, and a chunk finds only the leads that the chunks before left.

    One `UPDATE ... RETURNING` (PostgreSQL, SQLite >= 3.35) moves the leads and returns exactly
    the ones it moved, so their history and events, written in one INSERT each, match even when
    another request moves some of them at the same time. Its WHERE is the scoped queryset's, compiled by Django.
    `to_user` is locked first, so a concurrent deactivation either waits for the move or makes it a 400.
    """
    if not User.objects.select_for_update().filter(pk=to_user.pk, is_active=True).exists():
        raise ValidationError({"toUserId": [INACTIVE_ASSIGNEE]})
    leads = leads_to_reassign(organization=organization, from_user=from_user, statuses=statuses)
    if limit is not None:  # the ids first: as an IN (subquery) the planner may loop over both sides
        ids = list(leads.order_by("pk").values_list("pk", flat=True)[:limit])
        if not ids:
            return 0
        leads = leads.filter(pk__in=ids)
    where, where_params = leads.query.get_compiler(connection=connection).compile(leads.query.where)
    field = Lead._meta.get_field
    moved = list(
        Lead.objects.raw(
            f"UPDATE {Lead._meta.db_table} SET assigned_to_id = %s, updated_at = %s, version = version + 1 "
            f"WHERE {where} RETURNING *",
            [
                field("assigned_to").get_db_prep_save(to_user.pk, connection),
                field("updated_at").get_db_prep_save(timezone.now(), connection),
                *where_params,
            ],
        )
    )
    model = scoring_model(organization=organization)
    if model is not None and model.uses_assignee:  # the model reads the assignee: the moved leads' scores change
        score_leads(model, moved)
        Lead.objects.bulk_update(moved, ["predicted_score"], batch_size=1000)
    changes = {"assignedTo": {"old": str(from_user.pk), "new": str(to_user.pk)}}
    record_history(
        history_entry(lead=lead, action=Action.REASSIGNED, actor=user, via=via, changes=changes) for lead in moved
    )
    record_events(
        lead_event(Event.Type.LEAD_REASSIGNED, lead=lead, user=user, via=via, changes=changes) for lead in moved
    )
    return len(moved)


def lead_routing_attributes(lead: Lead) -> dict:
    """What routing's conditions read of a stored lead (model names)."""
    return {
        "source": lead.source,
        "status": lead.status,
        "custom_fields": lead.custom_fields,
        "email": lead.email,
        "company": lead.company,
        "score": lead.score,
        "predicted_score": getattr(lead, "predicted_score", None),
    }


@transaction.atomic
def leads_route(
    *, organization, lead_ids: list, user, via: str = "api", unassigned_only: bool = False
) -> list[tuple[Lead, object, bool]]:
    """Route existing leads of the organization again, by the rules as they are now; [(lead, decision, moved)].

    The leads are locked (in id order), then the rules' pools; a lead whose decision names another
    user than its assignee moves to them (one UPDATE per 1,000), with a history entry via "rule"
    and a lead.updated event that say why. A lead no rule places keeps its assignee. With
    `unassigned_only` (a backlog), a lead that is no longer open and unassigned once locked (someone
    assigned or closed it meanwhile) is left alone and not in the answer.
    """
    leads = Lead.objects.for_organization(organization).filter(pk__in=list(lead_ids))
    if unassigned_only:
        leads = leads.filter(selectors.open_leads_q(), assigned_to__isnull=True)
    locked = list(leads.select_for_update().order_by("pk"))
    if not locked:
        return []
    decisions = route_new_leads(organization=organization, leads=[lead_routing_attributes(lead) for lead in locked])
    now = timezone.now()
    results, moved, entries, events = [], [], [], []
    for lead, decision in zip(locked, decisions, strict=True):
        if decision.user_id is None or decision.user_id == lead.assigned_to_id:
            results.append((lead, decision, False))
            continue
        changes = {"assignedTo": {"old": json_ready(lead.assigned_to_id), "new": str(decision.user_id)}}
        lead.assigned_to_id, lead.version, lead.updated_at = decision.user_id, lead.version + 1, now
        moved.append(lead)
        routing = decision.as_json()
        entries.append(
            history_entry(
                lead=lead, action=Action.UPDATED, actor=user, via="rule", changes={**changes, "routing": routing}
            )
        )
        events.append(
            lead_event(Event.Type.LEAD_UPDATED, lead=lead, user=user, via=via, changes=changes, routing=routing)
        )
        results.append((lead, decision, True))
    if moved:
        fields = ["assigned_to", "version", "updated_at"]
        model = scoring_model(organization=organization)
        if model is not None and model.uses_assignee:  # the model reads the assignee: their scores change
            score_leads(model, moved)
            fields.append("predicted_score")
        Lead.objects.bulk_update(moved, fields, batch_size=1000)
        record_history(entries)
        record_events(events)
    return results
