from django.db import transaction
from django.db.models import F
from rest_framework.exceptions import NotFound

from customers.models import Customer
from events.models import Event
from events.services import customer_event, lead_event, record_events
from leads.history import Action, field_changes, history_entry, record_history
from leads.models import Lead
from organizations.models import Organization


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


@transaction.atomic(savepoint=False)
def customer_update(*, customer: Customer, user, data: dict, via: str = "api") -> Customer:
    """Apply validated data (model field names), writing only the given fields; an event lists what changed."""
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
    customer.save(update_fields=[*data.keys(), "updated_at"])
    return changes


@transaction.atomic
def customer_delete(*, customer: Customer, user, via: str = "api") -> None:
    """Delete a customer. Its converted leads stay converted, unlinked, with a history entry saying so."""
    # The customer first: a conversion attaching a lead to it waits, then finds it gone (404),
    # instead of linking a lead to a row being deleted.
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    leads = list(Lead.objects.filter(converted_customer=customer).select_for_update())
    changes = {"convertedCustomerId": {"old": str(customer.pk), "new": None}}
    record_history(
        history_entry(lead=lead, action=Action.UPDATED, actor=user, via=via, changes=changes) for lead in leads
    )
    events = [customer_event(Event.Type.CUSTOMER_DELETED, customer=customer, user=user, via=via)]
    for lead in leads:
        lead.converted_customer_id = None  # what the delete below does to the row
        events.append(lead_event(Event.Type.LEAD_UPDATED, lead=lead, user=user, via=via, changes=changes))
    record_events(events)
    customer.delete()  # converted_customer is SET_NULL on the leads.
