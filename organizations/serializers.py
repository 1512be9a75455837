from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.serializers import TokenRefreshSerializer

from leadsite.api import StrictTypesMixin, TimestampField
from organizations.models import Organization, User


class UserSerializer(StrictTypesMixin, serializers.ModelSerializer):
    """A member of the organization. PATCH changes name, role and isActive; the email is fixed."""

    email = serializers.EmailField(read_only=True)
    role = serializers.ChoiceField(choices=User.Role.choices, required=False)
    isActive = serializers.BooleanField(source="is_active", required=False)
    createdAt = TimestampField(source="date_joined", read_only=True)

    class Meta:
        model = User
        fields = ["id", "email", "name", "role", "isActive", "createdAt"]
        read_only_fields = ["id"]
        extra_kwargs = {"name": {"required": False}}


class UserCreateSerializer(UserSerializer):
    email = serializers.EmailField(max_length=254)
    isActive = serializers.BooleanField(source="is_active", read_only=True)
    password = serializers.CharField(write_only=True, style={"input_type": "password"}, trim_whitespace=False)

    class Meta(UserSerializer.Meta):
        fields = [*UserSerializer.Meta.fields, "password"]

    def validate_email(self, value):
        # Unique across every organization, whatever the case (the database enforces it too).
        if User.objects.filter(email__iexact=value).exists():
            raise serializers.ValidationError("A user with this email already exists.", code="duplicate_email")
        return value

    def validate(self, attrs):
        candidate = User(email=attrs["email"], name=attrs.get("name", ""))
        try:
            password_validation.validate_password(attrs["password"], candidate)
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"password": list(exc.messages)}) from None
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


class RefreshSerializer(TokenRefreshSerializer):
    """simplejwt's refresh refuses an inactive user (401) but crashes on a deleted one: a 401 too."""

    def validate(self, attrs):
        try:
            return super().validate(attrs)
        except User.DoesNotExist:
            raise AuthenticationFailed(self.error_messages["no_active_account"], "no_active_account") from None
