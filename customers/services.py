from django.db import transaction
from django.db.models import F

from customers.models import Customer
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


@transaction.atomic
def customer_create(*, organization_id, company_name, contact_email=None, contact_phone=None) -> Customer:
    return Customer.objects.create(
        organization_id=organization_id,
        customer_number=next_customer_number(organization_id=organization_id),
        company_name=company_name,
        contact_email=contact_email,
        contact_phone=contact_phone,
    )
