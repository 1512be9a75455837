"""Forged, expired and orphaned tokens are 401; logins and the API are rate limited (429)."""

import base64
import json
from datetime import timedelta
from io import StringIO

import jwt
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import AccessToken

from conftest import PASSWORD
from leads.tests.factories import LeadFactory
from leadsite.throttling import MAX_ACCOUNT_DELAY_SECONDS
from organizations.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def b64(data):
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def get_with_token(token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client.get("/leads")


def assert_unauthorized(response):
    assert response.status_code == 401
    body = response.json()
    assert body["error"] == "Unauthorized"
    assert body["details"] and body["details"][0]["message"]
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_token_with_alg_none_is_refused(user):
    claims = dict(AccessToken.for_user(user).payload)
    assert_unauthorized(get_with_token(f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."))


def test_token_with_a_wrong_signature_is_refused(user):
    header, payload, signature = str(AccessToken.for_user(user)).split(".")
    forged_payload = b64({**AccessToken.for_user(user).payload, "user_id": str(UserFactory().pk)})
    assert_unauthorized(get_with_token(f"{header}.{forged_payload}.{signature}"))
    assert_unauthorized(get_with_token(f"{header}.{payload}.{'A' * len(signature)}"))


def test_token_signed_with_another_key_is_refused(user):
    claims = dict(AccessToken.for_user(user).payload)
    assert_unauthorized(get_with_token(jwt.encode(claims, "another-key-entirely", algorithm="HS256")))


def test_tokens_are_signed_with_the_secret_key_from_the_environment(user):
    claims = dict(AccessToken.for_user(user).payload)
    assert jwt_settings.SIGNING_KEY == settings.SECRET_KEY
    assert get_with_token(jwt.encode(claims, settings.SECRET_KEY, algorithm="HS256")).status_code == 200


def test_expired_token_is_refused(user):
    token = AccessToken.for_user(user)
    token.set_exp(from_time=timezone.now() - timedelta(hours=1), lifetime=timedelta(minutes=1))
    assert_unauthorized(get_with_token(str(token)))


def test_token_of_a_deleted_user_is_refused(user):
    token = str(AccessToken.for_user(user))
    user.delete()
    assert_unauthorized(get_with_token(token))


def test_token_of_a_deleted_organization_is_refused(user, organization):
    token = str(AccessToken.for_user(user))
    user.delete()
    organization.delete()
    assert_unauthorized(get_with_token(token))


def test_token_of_a_deactivated_organization_is_refused(user, organization):
    token = str(AccessToken.for_user(user))
    organization.is_active = False
    organization.save()
    assert_unauthorized(get_with_token(token))


def test_refresh_token_is_not_an_access_token(user, anonymous):
    tokens = anonymous.post("/auth/token", {"email": user.email, "password": PASSWORD}, format="json").json()
    assert_unauthorized(get_with_token(tokens["refresh"]))


def login(client, email, password="wrong-password", **extra):
    return client.post("/auth/token", {"email": email, "password": password}, format="json", **extra)


def assert_throttled(response):
    assert response.status_code == 429
    assert response.json()["error"] == "Too Many Requests"
    assert "throttled" in response.json()["details"][0]["message"]
    assert int(response["Retry-After"]) > 0


@pytest.fixture
def rates(settings):
    """Set throttle rates for this test (the defaults are generous)."""

    def set_rates(**changes):
        defaults = {name: "1000/minute" for name in ("user", "login_ip", "login_account_ip", "login_account")}
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {**defaults, **changes}}

    return set_rates


def test_login_is_throttled_per_account_and_ip(user, rates):
    rates(login_account_ip="3/minute")
    for email in (user.email, user.email.upper(), f" {user.email} "):  # one account, however it is typed
        assert login(APIClient(), email, REMOTE_ADDR="10.0.0.1").status_code == 401
    # The right password does not help from that address once its attempts are used up...
    assert_throttled(login(APIClient(), user.email, PASSWORD, REMOTE_ADDR="10.0.0.1"))
    # ...but the owner elsewhere logs in, and other accounts from that address are not affected.
    assert login(APIClient(), user.email, PASSWORD, REMOTE_ADDR="10.0.0.2").status_code == 200
    other = UserFactory(organization=user.organization)
    assert login(APIClient(), other.email, PASSWORD, REMOTE_ADDR="10.0.0.1").status_code == 200


def test_attackers_cannot_lock_the_owner_out(user, rates):
    """The account's limit across all addresses is used up; the owner from an address that never failed logs in."""
    rates(login_account="5/hour")
    for i in range(10):
        login(APIClient(), user.email, REMOTE_ADDR=f"10.0.0.{i}")
    assert_throttled(login(APIClient(), user.email, PASSWORD, REMOTE_ADDR="10.0.0.1"))

    for _ in range(8):
        assert login(APIClient(), user.email, PASSWORD, REMOTE_ADDR="192.0.2.1").status_code == 200


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr("leadsite.throttling.FailedAttemptsThrottle.timer", clock)
    return clock


def test_beyond_the_account_limit_failures_wait_ever_longer(user, rates, clock):
    rates(login_account="2/hour")
    attacker = {"REMOTE_ADDR": "10.0.0.1"}
    waits = []
    for _ in range(2):
        assert login(APIClient(), user.email, **attacker).status_code == 401
    for _ in range(4):
        refused = login(APIClient(), user.email, **attacker)
        assert_throttled(refused)
        waits.append(int(refused["Retry-After"]))
        clock.now += waits[-1]
        assert login(APIClient(), user.email, **attacker).status_code == 401

    assert waits == [1, 2, 4, 8]
    # Once the failures are an hour old the account's limit applies again.
    clock.now += 3600
    assert login(APIClient(), user.email, PASSWORD, **attacker).status_code == 200


def test_the_delay_of_an_account_is_capped(user, rates, clock):
    rates(login_account="1/hour")
    for _ in range(12):
        clock.now += 301
        assert login(APIClient(), user.email, REMOTE_ADDR="10.0.0.1").status_code == 401
    assert int(login(APIClient(), user.email, REMOTE_ADDR="10.0.0.1")["Retry-After"]) == MAX_ACCOUNT_DELAY_SECONDS


def test_failed_logins_are_counted_in_the_database_shared_by_all_processes(user, settings):
    assert settings.CACHES["throttle"]["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"
    login(APIClient(), user.email)

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {settings.THROTTLE_CACHE_TABLE}")
        assert cursor.fetchone()[0] == 3  # per IP, per account and IP, per account


def test_the_throttle_table_is_made_by_migrate(db):
    out = StringIO()
    call_command("createcachetable", dry_run=True, verbosity=0, stdout=out)
    assert out.getvalue() == ""  # nothing left to create


def test_redis_holds_the_counters_when_redis_url_is_set(monkeypatch):
    import importlib

    import leadsite.settings.base as base

    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        caches = importlib.reload(base).CACHES
    finally:
        monkeypatch.undo()
        importlib.reload(base)
    assert {alias: cache["BACKEND"] for alias, cache in caches.items()} == {
        "default": "django.core.cache.backends.redis.RedisCache",
        "throttle": "django.core.cache.backends.redis.RedisCache",
    }


def test_login_is_throttled_per_ip_across_accounts(organization, rates):
    rates(login_ip="3/minute")
    users = UserFactory.create_batch(4, organization=organization)
    for attacked in users[:3]:
        assert login(APIClient(), attacked.email, REMOTE_ADDR="10.0.0.1").status_code == 401
    assert_throttled(login(APIClient(), users[3].email, PASSWORD, REMOTE_ADDR="10.0.0.1"))
    assert login(APIClient(), users[3].email, PASSWORD, REMOTE_ADDR="10.0.0.2").status_code == 200


def test_forwarded_for_header_does_not_dodge_the_ip_limit(organization, rates):
    rates(login_ip="2/minute")
    users = UserFactory.create_batch(3, organization=organization)
    for i, attacked in enumerate(users):
        response = login(APIClient(), attacked.email, HTTP_X_FORWARDED_FOR=f"192.0.2.{i}")
    assert_throttled(response)


def test_refresh_is_throttled_per_ip(user, anonymous, rates):
    rates(login_ip="2/minute")
    assert login(anonymous, user.email, PASSWORD).status_code == 200
    anonymous.post("/auth/token/refresh", {"refresh": "garbage"}, format="json")
    anonymous.post("/auth/token/refresh", {"refresh": "garbage"}, format="json")
    assert_throttled(anonymous.post("/auth/token/refresh", {"refresh": "garbage"}, format="json"))


def test_successful_logins_and_refreshes_are_never_throttled(user, anonymous, rates):
    """Only failures count: a client that logs in for every test run is not locked out."""
    rates(login_ip="2/minute", login_account="2/minute")
    for _ in range(5):
        tokens = login(anonymous, user.email, PASSWORD)
        assert tokens.status_code == 200
        refreshed = anonymous.post("/auth/token/refresh", {"refresh": tokens.json()["refresh"]}, format="json")
        assert refreshed.status_code == 200


def test_api_is_throttled_per_user(api, user, other_api, rates):
    rates(user="3/minute")
    LeadFactory(organization=user.organization)
    for _ in range(3):
        assert api.get("/leads").status_code == 200
    assert_throttled(api.get("/leads"))
    assert_throttled(api.post("/leads", {"name": "x"}, format="json"))
    assert other_api.get("/leads").status_code == 200


def test_default_rates_come_from_the_environment(monkeypatch):
    import importlib

    import leadsite.settings.base as base

    monkeypatch.setenv("THROTTLE_RATE_USER", "7/second")
    monkeypatch.setenv("THROTTLE_RATE_LOGIN_IP", "8/hour")
    monkeypatch.setenv("THROTTLE_RATE_LOGIN_ACCOUNT_IP", "10/minute")
    monkeypatch.setenv("THROTTLE_RATE_LOGIN_ACCOUNT", "9/day")
    monkeypatch.setenv("THROTTLE_RATE_USER_CREATE_FAILURES", "11/hour")
    try:
        rates = importlib.reload(base).REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    finally:
        monkeypatch.undo()
        importlib.reload(base)
    assert rates == {
        "user": "7/second",
        "login_ip": "8/hour",
        "login_account_ip": "10/minute",
        "login_account": "9/day",
        "user_create_failures": "11/hour",
    }


def test_an_unparsable_login_body_is_a_400_and_counts_as_a_failed_attempt(db, anonymous, rates):
    rates(login_ip="1/minute")
    response = anonymous.post("/auth/token", b"\x00", content_type="application/json")

    assert response.status_code == 400
    assert_throttled(anonymous.post("/auth/token", {"email": "a@b.c", "password": "x"}, format="json"))
