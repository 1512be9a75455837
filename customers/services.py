from django.db import transaction
from django.db.models import F
from rest_framework.exceptions import NotFound

from customers.models import Customer
from leads.history import Action, history_entry, record_history
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
def customer_create(*, organization_id, company_name, contact_email=None, contact_phone=None) -> Customer:
    return Customer.objects.create(
        organization_id=organization_id,
        customer_number=next_customer_number(organization_id=organization_id),
        company_name=company_name,
        contact_email=contact_email,
        contact_phone=contact_phone,
    )


@transaction.atomic(savepoint=False)
def customer_attach_contact(*, customer: Customer, organization_id, email=None, phone=None) -> Customer:
    """Lock the customer (of `organization_id`) and fill only its empty contact fields from a converted lead."""
    try:
        customer = Customer.objects.for_organization(organization_id).select_for_update().get(pk=customer.pk)
    except Customer.DoesNotExist:
        raise NotFound({"customerId": ["No customer with this id in your organization."]}) from None
    data = {}
    if not customer.contact_email and email:
        data["contact_email"] = email
    if not customer.contact_phone and phone:
        data["contact_phone"] = phone
    if data:
        customer_update(customer=customer, user=None, data=data)
    return customer


@transaction.atomic(savepoint=False)
def customer_update(*, customer: Customer, user, data: dict) -> Customer:
    """Apply validated data (model field names), writing only the given fields."""
    for field, value in data.items():
        setattr(customer, field, value)
    customer.save(update_fields=[*data.keys(), "updated_at"])
    return customer


@transaction.atomic
def customer_delete(*, customer: Customer, user, via: str = "api") -> None:
    """Delete a customer. Its converted leads stay converted, unlinked, with a history entry saying so."""
    # The customer first: a conversion attaching a lead to it waits, then finds it gone (404),
    # instead of linking a lead to a row being deleted.
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    leads = list(Lead.objects.filter(converted_customer=customer).select_for_update().only("id", "organization_id"))
    changes = {"convertedCustomerId": {"old": str(customer.pk), "new": None}}
    record_history(
        history_entry(lead=lead, action=Action.UPDATED, actor=user, via=via, changes=changes) for lead in leads
    )
    customer.delete()  # converted_customer is SET_NULL on the leads.
