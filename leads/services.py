"""Writes to leads. Views, the admin and the importer all call these; none writes leads itself."""

from django.db import transaction
from django.utils import timezone

from customers.models import Customer
from customers.services import customer_create
from leads.models import Lead, LeadStatus
from leadsite.errors import Conflict


@transaction.atomic
def lead_create(*, organization, user, data: dict) -> Lead:
    """Create a lead from validated data (model field names)."""
    return Lead.objects.create(organization=organization, **data)


@transaction.atomic
def lead_update(*, lead: Lead, user, data: dict) -> Lead:
    """Apply validated data (model field names) to a lead, writing only the given fields."""
    for field, value in data.items():
        setattr(lead, field, value)
    lead.save(update_fields=[*data.keys(), "updated_at"])
    return lead


@transaction.atomic
def lead_delete(*, lead: Lead, user) -> None:
    lead.delete()


def _refuse_conversion(lead: Lead):
    if lead.status == LeadStatus.CONVERTED:
        raise Conflict("Lead has already been converted.")
    if lead.status == LeadStatus.UNQUALIFIED:
        raise Conflict("Lead is unqualified; qualify it before converting it.")
    if not lead.is_active:
        raise Conflict("Lead is inactive; reactivate it before converting it.")


@transaction.atomic
def lead_convert_to_customer(*, lead: Lead, user) -> Customer:
    """Create a customer from the lead and mark the lead converted, all or nothing.

    The lead row is locked first, so of two simultaneous conversions one waits and then
    sees the lead already converted.
    """
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    _refuse_conversion(lead)
    customer = customer_create(
        organization_id=lead.organization_id,
        company_name=lead.company or lead.name,
        contact_email=lead.email,
        contact_phone=lead.phone,
    )
    lead.status = LeadStatus.CONVERTED
    lead.converted_at = timezone.now()
    lead.converted_customer = customer
    lead.save(update_fields=["status", "converted_at", "converted_customer", "updated_at"])
    return customer
