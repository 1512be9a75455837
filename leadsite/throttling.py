"""Rate limits; rates come from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].

The rates are read on every request (not once at import as DRF does), so tests can change them
with override_settings.

Failed logins are counted in the `throttle` cache, which every process shares (the database, or
Redis when REDIS_URL is set), so four workers do not each allow the limit. The per-user API rate
uses the default cache: per process unless REDIS_URL is set (a guard against runaway clients, not
a security boundary; counting it in the database would cost every request two queries).
The scheme is described in docs/security.md.
"""

import hashlib

from django.core.cache import caches
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from organizations.emails import normalize_email

# Beyond its limit an account's failures space out: 1 s after the last one, then 2, 4, ... up to this.
MAX_ACCOUNT_DELAY_SECONDS = 300
# Failures kept per account beyond its limit; more would not lengthen the (capped) delay.
ACCOUNT_HISTORY_EXTRA = 100


class RateFromSettingsMixin:
    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]

    def allow_request(self, request, view):
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)


class UserRateThrottle(RateFromSettingsMixin, SimpleRateThrottle):
    """Every API request, counted per user (per client IP before authentication)."""

    scope = "user"

    def get_cache_key(self, request, view):
        user = request.user
        ident = f"user-{user.pk}" if user and user.is_authenticated else f"ip-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


def digest(text: str) -> str:
    # surrogatepass: a lone surrogate in an email must not turn counting into a 500.
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def login_account(request):
    """A digest of the normalized email a login names (or of the caller's, once authenticated), or None."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return digest(user.email)
    data = request.data if isinstance(request.data, dict) else {}
    email = data.get("email")
    if not isinstance(email, str) or not email.strip():
        return None  # Nothing to count; the login itself answers 400.
    return digest(normalize_email(email))


class FailedAttemptsThrottle(SimpleRateThrottle):
    """Counts failed attempts only: a client that logs in or refreshes correctly is never held up.

    `allow_request` only checks the count; the view calls `record_failure` when it answers
    400 or 401 (see CountFailedAttemptsMixin). Subclasses name what is counted in `get_ident_key`.
    """

    key = None  # None: nothing to count (no email), or the request was refused before this throttle looked

    @property
    def cache(self):
        return caches["throttle"]

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]

    def allow_request(self, request, view):
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        self.key = None  # stays None if reading the key fails (an unparsable body is a 400)
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        self.history = self.recent_failures()
        return len(self.history) < self.num_requests or self.throttle_failure()

    def recent_failures(self):
        return [entry for entry in self.cache.get(self.key, []) if self.moment(entry) > self.now - self.duration]

    def moment(self, entry):
        return entry

    def new_entry(self):
        return self.now

    def max_entries(self):
        return self.num_requests

    def record_failure(self):
        if self.key is None:
            return
        # Read again: other processes may have counted failures while this one checked the password.
        self.now = self.timer()
        self.history = [self.new_entry(), *self.recent_failures()][: self.max_entries()]
        self.cache.set(self.key, self.history, self.duration)


class CountFailedAttemptsMixin:
    """For views throttled by FailedAttemptsThrottle: a 400 or 401 answer counts as a failed attempt."""

    def get_throttles(self):
        self.checked_throttles = super().get_throttles()
        return self.checked_throttles

    def finalize_response(self, request, response, *args, **kwargs):
        if response.status_code in (400, 401):
            for throttle in getattr(self, "checked_throttles", []):
                if isinstance(throttle, FailedAttemptsThrottle):
                    throttle.record_failure()
        return super().finalize_response(request, response, *args, **kwargs)


class LoginIPThrottle(FailedAttemptsThrottle):
    """Failed login and refresh attempts from one client IP, whatever the account."""

    scope = "login_ip"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginAccountIPThrottle(FailedAttemptsThrottle):
    """Failed logins for one account from one client IP: the strict limit."""

    scope = "login_account_ip"

    def get_cache_key(self, request, view):
        account = login_account(request)
        if account is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": f"{account}-{digest(str(self.get_ident(request)))}"}


class LoginAccountThrottle(FailedAttemptsThrottle):
    """Failed logins for one account from all IPs: a higher limit, then growing delays.

    Up to the limit nothing waits. Beyond it, a login from an address that has failed for this
    account waits 1 s after the account's last failure, then 2 s, 4 s, ... up to
    MAX_ACCOUNT_DELAY_SECONDS. A login from an address that has not failed for this account is
    never held up here, so attackers elsewhere cannot lock the owner out.
    """

    scope = "login_account"

    def get_cache_key(self, request, view):
        account = login_account(request)
        self.address = digest(str(self.get_ident(request)))[:16]
        if account is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": account}

    def moment(self, entry):
        return entry[0]

    def new_entry(self):
        return (self.now, self.address)

    def allow_request(self, request, view):
        self.wait_seconds = None
        if super().allow_request(request, view):
            return True
        if all(address != self.address for _, address in self.history):
            return True
        delay = min(2 ** (len(self.history) - self.num_requests), MAX_ACCOUNT_DELAY_SECONDS)
        self.wait_seconds = delay - (self.now - self.history[0][0])
        return self.wait_seconds <= 0

    def max_entries(self):
        return self.num_requests + ACCOUNT_HISTORY_EXTRA

    def wait(self):
        return self.wait_seconds


class UserCreateFailuresThrottle(FailedAttemptsThrottle):
    """Refused POST /users per admin: bounds what "this email already exists" tells about other organizations."""

    scope = "user_create_failures"

    def get_cache_key(self, request, view):
        if getattr(view, "action", None) != "create":
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}
