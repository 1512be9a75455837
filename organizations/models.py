import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.crypto import salted_hmac

from organizations.emails import normalize_email
from organizations.scoping import OrganizationScopedQuerySet


class OrganizationQuerySet(OrganizationScopedQuerySet):
    # An organization "belongs" to itself: for_organization(org) is just that one row.
    organization_lookup = "pk"


class Organization(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    is_active = models.BooleanField(default=True)
    # The last customer number handed out (CUST-001, CUST-002, ...); only ever incremented
    # under a row lock by customers.services.next_customer_number.
    last_customer_number = models.PositiveIntegerField(default=0, editable=False)
    # Lead routing's last resort (routing/): who gets a new lead that no assignment rule places; null: nobody.
    default_assignee = models.ForeignKey(
        "organizations.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The version of the organization's scoring model (scoring/) that predicts its leads' predictedScore;
    # null: none ready. Read with the user on every request, so a write without a model costs no query.
    scoring_model_version = models.PositiveIntegerField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrganizationQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class UserQuerySet(OrganizationScopedQuerySet):
    pass


class UserManager(BaseUserManager.from_queryset(UserQuerySet)):
    use_in_migrations = True

    def get_by_natural_key(self, username):
        # Emails are stored normalized, so login compares that exact value (served by the unique index).
        return self.get(email=normalize_email(username))

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("Users need an email address.")
        user = self.model(email=normalize_email(email), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        extra_fields.setdefault("role", User.Role.ADMIN)
        return self._create_user(email, password, **extra_fields)


# Read-only members view; sales reps also add and change; organization admins also delete and manage
# the organization's webhooks.
ROLE_ACTIONS = {
    "admin": {"view", "add", "change", "delete", "manage_webhooks"},
    "sales_rep": {"view", "add", "change"},
    "read_only": {"view"},
}


class Availability(models.TextChoices):
    AVAILABLE = "available", "Available"
    AWAY = "away", "Away"


def available_now_q(prefix: str = "") -> models.Q:
    """Users who take new leads today: active, and not away (an away user is back on their awayUntil)."""
    return models.Q(**{f"{prefix}is_active": True}) & (
        ~models.Q(**{f"{prefix}availability": Availability.AWAY})
        | models.Q(**{f"{prefix}away_until__lte": timezone.localdate()})
    )


class User(AbstractBaseUser, PermissionsMixin):
    class Role(models.TextChoices):
        ADMIN = "admin", "Organization admin"
        SALES_REP = "sales_rep", "Sales rep"
        READ_ONLY = "read_only", "Read-only member"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Stored normalized (organizations.emails.normalize_email), so unique=True is case-insensitive.
    email = models.EmailField(max_length=254, unique=True)
    name = models.CharField(max_length=200, blank=True)
    # Only platform superusers may lack an organization (enforced by a CHECK constraint).
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="users", null=True, blank=True
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.SALES_REP)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    # Tokens carry the generation they were issued in (organizations.tokens); a password change,
    # a deactivation or "log out everywhere" moves it on, and older tokens stop working.
    token_generation = models.PositiveIntegerField(default=0, editable=False)
    # Lead routing skips a user who is away; with away_until they are back by themselves on that date.
    availability = models.CharField(
        max_length=10, choices=Availability.choices, default=Availability.AVAILABLE, db_default="available"
    )
    away_until = models.DateField(null=True, blank=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    class Meta:
        ordering = ["email"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(organization__isnull=False) | models.Q(is_superuser=True),
                name="user_has_organization_unless_superuser",
            ),
            models.CheckConstraint(
                condition=models.Q(role__in=["admin", "sales_rep", "read_only"]),
                name="user_role_valid",
            ),
        ]
        indexes = [models.Index(fields=["organization", "email"], name="user_org_email_idx")]

    def clean(self):
        # Not AbstractBaseUser's NFKC, which would turn the look-alike "ſ" into "s" (see normalize_email).
        self.email = normalize_email(self.email or "")

    def save(self, *args, **kwargs):
        # Every way of changing a password (the API, the admin, `changepassword`) ends in this save:
        # the sessions begun with the old password end with it.
        new_password = self._password is not None and not self._state.adding
        if new_password:
            self.token_generation = models.F("token_generation") + 1
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "token_generation"}
        super().save(*args, **kwargs)
        if new_password:
            self.refresh_from_db(fields=["token_generation"])

    @property
    def is_away(self) -> bool:
        """Away now: marked away, with no return date or one still to come (back by themselves on it)."""
        return self.availability == Availability.AWAY and (
            self.away_until is None or self.away_until > timezone.localdate()
        )

    # Django keeps an admin session only while its user's session hash is unchanged: deriving it from
    # the token generation too, "log out everywhere" and a deactivation end admin sessions as a
    # password change does.
    def get_session_auth_hash(self):
        return self._session_hash()

    def get_session_auth_fallback_hash(self):
        for fallback_secret in settings.SECRET_KEY_FALLBACKS:
            yield self._session_hash(secret=fallback_secret)

    def _session_hash(self, secret=None):
        value = f"{self.password}:{self.token_generation}"
        return salted_hmac("organizations.User.session", value, secret=secret, algorithm="sha256").hexdigest()

    def may(self, action: str) -> bool:
        """Whether the user's role allows `action`: "view", "add", "change", "delete" on leads and customers,
        or "manage_webhooks".

        The one statement of the roles, for the API (organizations/permissions.py) and the admin.
        """
        return action in ROLE_ACTIONS.get(self.role, ())

    def __str__(self):
        return self.email
