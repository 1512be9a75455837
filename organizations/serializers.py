from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer, TokenRefreshSerializer

from leadsite.fields import TimestampField
from leadsite.strict import StrictTypesMixin
from organizations.authentication import token_user
from organizations.emails import normalize_email
from organizations.models import Availability, Organization, User
from organizations.tokens import SingleUseRefreshToken, refresh_token_for, rotate


class AvailabilityMixin:
    """availability and awayUntil, in and out.

    Out, as they are today: a user whose awayUntil has come is "available" with awayUntil null.
    In: awayUntil alone means away until then (a date already come: back already); "available" clears awayUntil.
    """

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if "availability" in data and not instance.is_away:
            data["availability"], data["awayUntil"] = Availability.AVAILABLE, None
        return data

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if attrs.get("availability") == Availability.AVAILABLE:
            attrs["away_until"] = None
        elif attrs.get("away_until") is not None and "availability" not in attrs:
            attrs["availability"] = Availability.AWAY
        return attrs


AVAILABILITY_HELP = (
    "'away' users get no leads from routing (assignment rules); they are back by themselves on awayUntil. "
    "Shown as it is today: once awayUntil has come the user is 'available' again, with awayUntil null."
)
AWAY_UNTIL_HELP = (
    "The date the user is back (they are available again from that day on); sent alone it sets availability to "
    "'away'; availability 'available' clears it."
)


class UserSerializer(AvailabilityMixin, StrictTypesMixin, serializers.ModelSerializer):
    """A member of the organization. PATCH changes name, role, isActive and availability; the email is fixed."""

    email = serializers.EmailField(read_only=True)
    role = serializers.ChoiceField(choices=User.Role.choices, required=False)
    isActive = serializers.BooleanField(source="is_active", required=False)
    availability = serializers.ChoiceField(choices=Availability.choices, required=False, help_text=AVAILABILITY_HELP)
    awayUntil = serializers.DateField(source="away_until", required=False, allow_null=True, help_text=AWAY_UNTIL_HELP)
    createdAt = TimestampField(source="date_joined", read_only=True)

    class Meta:
        model = User
        fields = ["id", "email", "name", "role", "isActive", "availability", "awayUntil", "createdAt"]
        read_only_fields = ["id"]
        extra_kwargs = {"name": {"required": False}}


def password_rules_schema() -> dict:
    """The password rules (settings.AUTH_PASSWORD_VALIDATORS) as JSON Schema, so clients can check first."""
    schema = {"type": "string", "format": "password", "writeOnly": True}
    for validator in password_validation.get_default_password_validators():
        if isinstance(validator, password_validation.MinimumLengthValidator):
            schema["minLength"] = validator.min_length
        elif isinstance(validator, password_validation.NumericPasswordValidator):
            schema["pattern"] = r"\D"  # at least one character that is not a digit
    schema["description"] = " ".join(password_validation.password_validators_help_texts())
    return schema


@extend_schema_field(password_rules_schema())
class NewPasswordField(serializers.CharField):
    """A password being set; Django's validators check it (in the serializer's validate, with the user)."""

    def __init__(self, **kwargs):
        kwargs.update(write_only=True, trim_whitespace=False, style={"input_type": "password"})
        super().__init__(**kwargs)


class UserCreateSerializer(UserSerializer):
    email = serializers.EmailField(max_length=254)
    isActive = serializers.BooleanField(source="is_active", read_only=True)
    availability = serializers.ChoiceField(choices=Availability.choices, read_only=True)
    awayUntil = serializers.DateField(source="away_until", read_only=True, allow_null=True)
    password = NewPasswordField()

    class Meta(UserSerializer.Meta):
        fields = [*UserSerializer.Meta.fields, "password"]

    def validate_email(self, value):
        # Unique across every organization (docs/security.md says why); the database enforces it too.
        value = normalize_email(value)
        if User.objects.filter(email=value).exists():
            raise serializers.ValidationError("A user with this email already exists.", code="duplicate_email")
        return value

    def validate(self, attrs):
        candidate = User(email=attrs["email"], name=attrs.get("name", ""))
        try:
            password_validation.validate_password(attrs["password"], candidate)
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"password": list(exc.messages)}) from None
        return attrs


class PasswordChangeSerializer(serializers.Serializer):
    currentPassword = serializers.CharField(write_only=True, trim_whitespace=False, style={"input_type": "password"})
    newPassword = NewPasswordField()

    def validate(self, attrs):
        user = self.context["request"].user
        errors = {}
        if not user.check_password(attrs["currentPassword"]):
            errors["currentPassword"] = [
                serializers.ErrorDetail("This is not your current password.", code="invalid_credentials")
            ]
        try:
            password_validation.validate_password(attrs["newPassword"], user)
        except DjangoValidationError as exc:
            errors["newPassword"] = list(exc.messages)
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class OrganizationSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Organization
        fields = ["id", "name", "slug"]
        read_only_fields = fields


class MeSerializer(UserSerializer):
    organization = OrganizationSummarySerializer(read_only=True)

    class Meta(UserSerializer.Meta):
        fields = [*UserSerializer.Meta.fields, "organization"]


class MeUpdateSerializer(MeSerializer):
    """PATCH /me: my own name and availability; role, activity and email are for admins (/users)."""

    role = serializers.ChoiceField(choices=User.Role.choices, read_only=True)
    isActive = serializers.BooleanField(source="is_active", read_only=True)


class LoginSerializer(TokenObtainPairSerializer):
    """Email and password for a new session; refused (401) for a user without an active organization."""

    def validate(self, attrs):
        data = super().validate(attrs)
        if self.user.organization is None or not self.user.organization.is_active:
            raise AuthenticationFailed("Your organization is deactivated.", code="organization_inactive")
        return data

    @classmethod
    def get_token(cls, user):
        return refresh_token_for(user)


class RefreshSerializer(TokenRefreshSerializer):
    """Rotation: a new access and refresh token for a refresh token that is still good.

    Refused (401) for the same reasons as an access token (organizations.authentication.token_user).
    The new refresh token keeps the expiry of the one it replaces, so a chain of rotations ends
    REFRESH_TOKEN_DAYS after the login that began it, however often it is rotated. A refresh token
    is redeemed once, also under concurrency; a second use ends its chain (organizations/tokens.py).
    """

    token_class = SingleUseRefreshToken

    def validate(self, attrs):
        refresh = self.token_class(attrs["refresh"])  # TokenError: the view answers 401
        token_user(refresh)
        data = {"access": str(refresh.access_token)}
        data["refresh"] = str(rotate(refresh))  # RefreshTokenReused (a TokenError) if another redeemed it first
        return data
