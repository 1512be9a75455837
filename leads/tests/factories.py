import factory
from django.utils import timezone

from customers.tests.factories import CustomerFactory
from leads.models import Lead, LeadStatus
from organizations.tests.factories import OrganizationFactory


class LeadFactory(factory.django.DjangoModelFactory):
    """A lead; one made with status 'converted' gets its own customer and a convertedAt, as the database demands."""

    class Meta:
        model = Lead

    class Params:
        converted = factory.LazyAttribute(lambda lead: lead.status == LeadStatus.CONVERTED)

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Faker("company")
    email = factory.Sequence(lambda n: f"lead{n}@example.com")
    phone = "555-123-4567"
    company = factory.LazyAttribute(lambda lead: lead.name)
    source = "website"
    status = LeadStatus.NEW
    score = 50
    converted_customer = factory.Maybe(
        "converted",
        yes_declaration=factory.SubFactory(CustomerFactory, organization=factory.SelfAttribute("..organization")),
        no_declaration=None,
    )
    converted_at = factory.Maybe("converted", yes_declaration=factory.LazyFunction(timezone.now), no_declaration=None)
