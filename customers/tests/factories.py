import factory

from customers.models import Customer
from organizations.tests.factories import OrganizationFactory


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    organization = factory.SubFactory(OrganizationFactory)
    customer_number = factory.Sequence(lambda n: f"CUST-X{n:03d}")
    company_name = factory.Faker("company")
    contact_email = factory.Sequence(lambda n: f"customer{n}@example.com")
