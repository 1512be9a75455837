"""JWTs that die when they should.

Each carries the user's token generation (User.token_generation): a password change, a deactivation
or "log out everywhere" moves the generation on; a token of an older one is refused by the
authentication (organizations/authentication.py) and at refresh. A token without the claim counts as
generation 0, which every user starts with.

A refresh token is redeemed once (rotation, or logout). Redeeming is a unique insert into simplejwt's
blacklist, so of several concurrent redemptions of one token exactly one wins, on PostgreSQL and
SQLite alike. A refresh token presented again after it was redeemed (concurrently or later) is stolen
or a client racing itself, which the server cannot tell apart: it is refused and the chain it belongs
to (its family: every refresh token rotated from one login) is revoked, so a thief's copy and the
owner's copy cannot both live on (RFC 9700, 4.14.2). The user's other logins are untouched.
"""

import jwt
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken, Token

GENERATION_CLAIM = "gen"
# The jti of the login's first refresh token, kept by every rotation of it.
FAMILY_CLAIM = "fam"
REUSED_MESSAGE = "This refresh token was already used; its session has ended, log in again"


class RefreshTokenReused(TokenError):
    """The refresh token was redeemed before (rotated or logged out)."""


class SingleUseRefreshToken(RefreshToken):
    """A refresh token whose second use says so (simplejwt's says only "Token is blacklisted")."""

    def check_blacklist(self) -> None:
        if BlacklistedToken.objects.filter(token__jti=self.payload["jti"]).exists():
            revoke_family(self)  # the signature was checked before this
            raise RefreshTokenReused(REUSED_MESSAGE)


def refresh_token_for(user) -> RefreshToken:
    """A new session for `user`: a refresh token (its access token is `.access_token`)."""
    token = RefreshToken.for_user(user)
    token[GENERATION_CLAIM] = user.token_generation
    token[FAMILY_CLAIM] = token["jti"]
    return token


def token_generation(token: Token) -> int:
    return token.get(GENERATION_CLAIM, 0)


def rotate(refresh: RefreshToken) -> RefreshToken:
    """Redeem `refresh` and turn it into its successor (new jti and iat, the same expiry and family).

    A redemption that loses to another (the token was redeemed meanwhile) revokes the family and
    raises RefreshTokenReused.
    """
    try:
        with transaction.atomic():
            _redeem(refresh)
            refresh.set_jti()
            refresh.set_iat()
            refresh.outstand()
    except RefreshTokenReused:
        revoke_family(refresh)
        raise
    return refresh


def _redeem(refresh: RefreshToken) -> None:
    outstanding = refresh.outstand()[0]  # made at login; get_or_create for tokens from elsewhere
    try:
        with transaction.atomic():
            # BlacklistedToken.token is unique: a concurrent redemption waits for this one and fails.
            BlacklistedToken.objects.create(token=outstanding)
    except IntegrityError:
        raise RefreshTokenReused(REUSED_MESSAGE) from None


def revoke_family(refresh: RefreshToken) -> None:
    """Blacklist every live refresh token rotated from the same login as `refresh`."""
    family = refresh.get(FAMILY_CLAIM)
    if family is None:  # issued before families were recorded
        return
    live = OutstandingToken.objects.filter(
        user_id=refresh.get("user_id"), expires_at__gt=timezone.now(), blacklistedtoken__isnull=True
    )
    for outstanding in live:
        claims = jwt.decode(outstanding.token, options={"verify_signature": False})  # our own stored tokens
        if claims.get(FAMILY_CLAIM) == family:
            BlacklistedToken.objects.get_or_create(token=outstanding)
