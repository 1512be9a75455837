from django.db import transaction
from django.utils.text import slugify

from organizations.models import Organization, User


@transaction.atomic
def organization_create(*, name: str, slug: str | None, admin_email: str, admin_password: str, admin_name: str = ""):
    """Create an organization and its first admin user; returns (organization, user)."""
    organization = Organization.objects.create(name=name, slug=slug or slugify(name))
    admin = User.objects.create_user(
        email=admin_email,
        password=admin_password,
        name=admin_name,
        organization=organization,
        role=User.Role.ADMIN,
        is_staff=True,
    )
    return organization, admin
