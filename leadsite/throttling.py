"""Rate limits. Counters live in the default cache; rates come from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].

The rates are read on every request (not once at import as DRF does), so tests can change them
with override_settings.
"""

import hashlib

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle


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


class FailedAttemptsThrottle(RateFromSettingsMixin, SimpleRateThrottle):
    """Counts failed attempts only: a client that logs in or refreshes correctly is never held up.

    `allow_request` only checks the count; the view calls `record_failure` when it answers
    400 or 401 (see CountFailedAttemptsMixin).
    """

    def allow_request(self, request, view):
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        self.key = None  # stays None if reading the key fails (an unparsable body is a 400)
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        self.history = [moment for moment in self.cache.get(self.key, []) if moment > self.now - self.duration]
        return len(self.history) < self.num_requests or self.throttle_failure()

    def record_failure(self):
        if self.key is not None:
            self.history.insert(0, self.now)
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
    """Failed login and refresh attempts from one client IP."""

    scope = "login_ip"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginAccountThrottle(FailedAttemptsThrottle):
    """Failed login attempts for one account (email, case-insensitively), from wherever they come."""

    scope = "login_account"

    def get_cache_key(self, request, view):
        data = request.data if isinstance(request.data, dict) else {}
        email = data.get("email")
        if not isinstance(email, str) or not email.strip():
            return None  # Nothing to count; the login itself answers 400.
        ident = hashlib.sha256(email.strip().lower().encode()).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": ident}
