"""JWTs that die when they should: each carries the user's token generation (User.token_generation).

A password change, a deactivation or "log out everywhere" moves the generation on; a token of an
older one is refused by the authentication (organizations/authentication.py) and at refresh.
A token without the claim counts as generation 0, which every user starts with.
"""

from rest_framework_simplejwt.tokens import RefreshToken, Token

GENERATION_CLAIM = "gen"


def refresh_token_for(user) -> RefreshToken:
    """A new session for `user`: a refresh token (its access token is `.access_token`)."""
    token = RefreshToken.for_user(user)
    token[GENERATION_CLAIM] = user.token_generation
    return token


def token_generation(token: Token) -> int:
    return token.get(GENERATION_CLAIM, 0)
