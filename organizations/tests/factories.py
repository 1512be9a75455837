import factory
from django.contrib.auth.hashers import make_password

from organizations.models import Organization, User


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organization {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    name = factory.Faker("name")
    organization = factory.SubFactory(OrganizationFactory)
    role = User.Role.SALES_REP
    # Hashed before the first save: a later set_password would count as a password change.
    password = factory.LazyFunction(lambda: make_password("correct-horse-battery"))
