from django.db import transaction
from django.db.models import F
from django.utils import timezone
from rest_framework.exceptions import NotFound

from customers.models import Customer
from events.models import Event
from events.services import customer_event, lead_event, record_events
from leads.history import Action, field_changes, history_entry, record_history
from leads.lifecycle import UNCONVERTED_VALUES
from leads.models import Lead
from leadsite.etags import IfMatch, check_if_match
from organizations.models import Organization
from scoring.predictor import predicted_score, usable_model_for


def next_customer_number(*, organization_id) -> str:
    """Hand out the organization's next customer number (CUST-001, CUST-002, ...).

    The UPDATE locks the organization row until the surrounding transaction ends, so two
    concurrent conversions can never draw the same number.
    """
    assert transaction.get_connection().in_atomic_block, "call inside a transaction"
    Organization.objects.filter(pk=organization_id).update(last_customer_number=F("last_customer_number") + 1)
    number = Organization.objects.filter(pk=organization_id).values_list("last_customer_number", flat=True).get()
    return f"CUST-{number:03d}"


# savepoint=False: these run inside a conversion's transaction, where a savepoint costs two
# queries and buys nothing (any error rolls the whole conversion back).
@transaction.atomic(savepoint=False)
def customer_insert(
    *, organization_id, company_name, contact_email=None, contact_phone=None, status=Customer.Status.ACTIVE
) -> Customer:
    """A new customer row with the next number, without its event: a conversion records customer.created
    together with its own event, in one INSERT. Anything else calls `customer_create`."""
    return Customer.objects.create(
        organization_id=organization_id,
        customer_number=next_customer_number(organization_id=organization_id),
        company_name=company_name,
        contact_email=contact_email,
        contact_phone=contact_phone,
        status=status,
    )


@transaction.atomic(savepoint=False)
def customer_create(
    *,
    organization_id,
    company_name,
    contact_email=None,
    contact_phone=None,
    status=Customer.Status.ACTIVE,
    user=None,
    via: str = "api",
) -> Customer:
    customer = customer_insert(
        organization_id=organization_id,
        company_name=company_name,
        contact_email=contact_email,
        contact_phone=contact_phone,
        status=status,
    )
    record_events([customer_event(Event.Type.CUSTOMER_CREATED, customer=customer, user=user, via=via)])
    return customer


@transaction.atomic(savepoint=False)
def customer_attach_contact(
    *, customer: Customer, organization_id, email=None, phone=None, user=None, via: str = "api"
) -> tuple[Customer, list[Event]]:
    """Lock the customer (of `organization_id`) and fill only its empty contact fields from a converted lead.

    Returns the customer and its customer.updated event (if a field was filled), unsaved: the conversion
    records it with its own event, in one INSERT.
    """
    try:
        customer = Customer.objects.for_organization(organization_id).select_for_update().get(pk=customer.pk)
    except Customer.DoesNotExist:
        raise NotFound({"customerId": ["No customer with this id in your organization."]}) from None
    data = {}
    if not customer.contact_email and email:
        data["contact_email"] = email
    if not customer.contact_phone and phone:
        data["contact_phone"] = phone
    changes = _apply(customer, data) if data else {}
    if not changes:
        return customer, []
    return customer, [
        customer_event(Event.Type.CUSTOMER_UPDATED, customer=customer, user=user, via=via, changes=changes)
    ]


def _locked(customer: Customer) -> Customer:
    """The customer's row, locked until the transaction ends; a 404 if a racing request deleted it."""
    try:
        return Customer.objects.select_for_update().get(pk=customer.pk)
    except Customer.DoesNotExist:
        raise NotFound("No customer with this id in your organization.") from None


# With a savepoint: it may refuse (412, 404) inside a caller's transaction, which then goes on.
@transaction.atomic
def customer_update(
    *, customer: Customer, user, data: dict, via: str = "api", if_match: IfMatch | None = None
) -> Customer:
    """Apply validated data (model field names), writing only the given fields; an event lists what changed.

    The row is locked and compared (If-Match too) as it is then, as lead_update does.
    """
    customer = _locked(customer)
    check_if_match(if_match, customer)
    changes = _apply(customer, data)
    if changes:
        record_events(
            [customer_event(Event.Type.CUSTOMER_UPDATED, customer=customer, user=user, via=via, changes=changes)]
        )
    return customer


def _apply(customer: Customer, data: dict) -> dict:
    """Save the given fields; returns {apiName: {"old", "new"}} of those that changed."""
    changes = field_changes(customer, data)
    for field, value in data.items():
        setattr(customer, field, value)
    customer.version += 1
    customer.save(update_fields=[*data.keys(), "updated_at", "version"])
    return changes


# What the scoring model reads of a lead (as leads.services.SCORING_ATTRIBUTES; that module imports this one).
SCORED_FIELDS = ("source", "email", "phone", "company", "score", "custom_fields", "assigned_to_id", "status")


def _scoring_model(organization_id, user):
    """The organization's ready scoring model or None: no query for a user of the organization (read with it)."""
    organization = getattr(user, "organization", None)
    if organization is None or organization.pk != organization_id:
        organization = Organization.objects.filter(pk=organization_id).first()
    return usable_model_for(organization) if organization is not None else None


@transaction.atomic
def customer_delete(*, customer: Customer, user, via: str = "api", if_match: IfMatch | None = None) -> None:
    """Delete a customer. Each lead converted into it is unconverted first (leads/lifecycle.py), in the same
    transaction: back to `qualified`, unlinked, convertedAt cleared, history `unconverted` and `lead.unconverted`.
    """
    # The customer first: a conversion attaching a lead to it waits, then finds it gone (404),
    # instead of linking a lead to a row being deleted.
    customer = _locked(customer)
    check_if_match(if_match, customer)
    leads = list(Lead.objects.filter(converted_customer=customer).order_by("pk").select_for_update())
    events = [customer_event(Event.Type.CUSTOMER_DELETED, customer=customer, user=user, via=via)]
    if leads:
        data = UNCONVERTED_VALUES
        entries = []
        now = timezone.now()
        model = _scoring_model(customer.organization_id, user)  # open again: scored (scoring/)
        for lead in leads:
            changes = field_changes(lead, data)
            for field, value in data.items():
                setattr(lead, field, value)
            lead.updated_at = now
            if model is not None:
                lead.predicted_score = predicted_score(model, {f: getattr(lead, f) for f in SCORED_FIELDS})
            entries.append(history_entry(lead=lead, action=Action.UNCONVERTED, actor=user, via=via, changes=changes))
            events.append(
                lead_event(
                    Event.Type.LEAD_UNCONVERTED,
                    lead=lead,
                    user=user,
                    via=via,
                    customerId=str(customer.pk),
                    changes=changes,
                )
            )
        # One UPDATE for all: the CHECK constraint (lead_converted_with_customer) holds before the customer goes.
        Lead.objects.filter(pk__in=[lead.pk for lead in leads]).update(**data, updated_at=now, version=F("version") + 1)
        if model is not None:
            Lead.objects.bulk_update(leads, ["predicted_score"])
        record_history(entries)
    record_events(events)
    customer.delete()
