from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import ExpiredTokenError, TokenError
from rest_framework_simplejwt.settings import api_settings

from leadsite.compiled import CompiledLookup
from organizations.models import User
from organizations.tokens import token_generation

# Every authenticated request reads its user and organization: compiled once (leadsite/compiled.py).
USER_WITH_ORGANIZATION = CompiledLookup(User, lambda pk: User.objects.select_related("organization").filter(pk=pk))


def token_refused(exc: TokenError) -> AuthenticationFailed:
    """A 401 for a token simplejwt refused: an expired one says so; anything else is token_invalid."""
    if isinstance(exc, ExpiredTokenError):
        return AuthenticationFailed("The token has expired; refresh it or log in again.", code="token_expired")
    return AuthenticationFailed(f"{str(exc.args[0]).rstrip('.')}.", code="token_invalid")


def token_user(token) -> User:
    """The user a validated token was issued to, with its organization, in one query.

    Refused (401) when the user is gone or inactive, when its organization is inactive or gone,
    and when the token predates the user's last password change, deactivation or logout-all.
    """
    user_id = token.get(api_settings.USER_ID_CLAIM)
    try:
        user = USER_WITH_ORGANIZATION.get(user_id)
    except (ValueError, TypeError) as exc:  # not a UUID
        raise AuthenticationFailed("User not found.", code="user_not_found") from exc
    if user is None:
        raise AuthenticationFailed("User not found.", code="user_not_found")
    if not user.is_active:
        raise AuthenticationFailed("User is inactive.", code="user_inactive")
    if user.organization is None or not user.organization.is_active:
        raise AuthenticationFailed("User has no active organization.", code="organization_inactive")
    if token_generation(token) != user.token_generation:
        raise AuthenticationFailed(
            "The token was revoked (password change, deactivation or logout everywhere); log in again.",
            code="token_invalid",
        )
    return user


class OrganizationJWTAuthentication(JWTAuthentication):
    """Bearer JWT authentication that loads the user and its organization in one query.

    A user who is inactive, or whose organization is inactive or gone, gets a 401; so does a token
    issued before the user's tokens were revoked.
    """

    def get_validated_token(self, raw_token):
        try:
            return api_settings.AUTH_TOKEN_CLASSES[0](raw_token)
        except TokenError as exc:
            raise token_refused(exc) from None

    def get_user(self, validated_token):
        return token_user(validated_token)
