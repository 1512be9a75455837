from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings

from organizations.models import User


class OrganizationJWTAuthentication(JWTAuthentication):
    """Bearer JWT authentication that loads the user and its organization in one query.

    A user who is inactive, or whose organization is inactive or gone, gets a 401.
    """

    def get_user(self, validated_token):
        user_id = validated_token.get(api_settings.USER_ID_CLAIM)
        if user_id is None:
            raise InvalidToken("Token contained no recognizable user identification")
        try:
            user = User.objects.select_related("organization").get(pk=user_id)
        except (User.DoesNotExist, DjangoValidationError, ValueError) as exc:
            raise AuthenticationFailed("User not found", code="user_not_found") from exc
        if not user.is_active:
            raise AuthenticationFailed("User is inactive", code="user_inactive")
        if user.organization is None or not user.organization.is_active:
            raise AuthenticationFailed("User has no active organization", code="organization_inactive")
        return user
