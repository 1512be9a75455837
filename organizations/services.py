from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.text import slugify
from rest_framework.exceptions import ValidationError

from leadsite.errors import Conflict
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


def user_create(
    *, organization: Organization, email: str, password: str, name: str = "", role: str = User.Role.SALES_REP
) -> User:
    """Add a member to the organization. The email is unique across organizations, whatever its case."""
    try:
        with transaction.atomic():
            return User.objects.create_user(
                email=email, password=password, name=name, role=role, organization=organization
            )
    except IntegrityError:  # Another request took the email since the serializer checked it.
        raise ValidationError({"email": ["A user with this email already exists."]}, code="duplicate_email") from None


@transaction.atomic
def user_update(*, user: User, data: dict) -> User:
    """Change name, role or is_active (model field names); the last active admin cannot stop being one.

    The organization's active admin rows are locked first (always in the same order), so of two
    requests demoting or deactivating its last two admins, the second waits and then gets a 409.
    """
    admin_ids = []
    if "role" in data or "is_active" in data:
        admins = User.objects.for_organization(user.organization_id).filter(role=User.Role.ADMIN, is_active=True)
        admin_ids = list(admins.select_for_update().order_by("pk").values_list("pk", flat=True))
    user = User.objects.select_for_update().get(pk=user.pk)
    stays_admin = data.get("role", user.role) == User.Role.ADMIN and data.get("is_active", user.is_active)
    if admin_ids == [user.pk] and not stays_admin:
        raise Conflict("This is the organization's last active admin; make another member admin first.")
    deactivating = user.is_active and data.get("is_active") is False
    for field, value in data.items():
        setattr(user, field, value)
    user.save(update_fields=list(data))
    if deactivating:
        # Its tokens die now, so reactivating the user later does not revive old sessions.
        user_revoke_tokens(user=user)
    return user


def user_change_password(*, user: User, password: str) -> User:
    """Set a new password; saving it ends every session begun before (User.save moves the token generation)."""
    user.set_password(password)
    user.save(update_fields=["password"])
    return user


def user_revoke_tokens(*, user: User) -> None:
    """End every session of the user: the access and refresh tokens issued so far stop working."""
    User.objects.filter(pk=user.pk).update(token_generation=F("token_generation") + 1)
    user.refresh_from_db(fields=["token_generation"])


def user_deactivate(*, user: User) -> User:
    """Deactivate rather than delete, so lead history and assignments keep their author."""
    return user_update(user=user, data={"is_active": False})
