import factory

from leads.models import Lead, LeadStatus
from organizations.tests.factories import OrganizationFactory


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Faker("company")
    email = factory.Sequence(lambda n: f"lead{n}@example.com")
    phone = "555-123-4567"
    company = factory.LazyAttribute(lambda lead: lead.name)
    source = "website"
    status = LeadStatus.NEW
    score = 50
