"""Sessions end when they should: password change, deactivation, logout everywhere, chain expiry."""

import importlib
from datetime import timedelta
from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from conftest import PASSWORD
from organizations.emails import normalize_email
from organizations.models import User
from organizations.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
NORMALIZING_MIGRATION = "0002_user_emails_normalized"


def login(email, password=PASSWORD, **extra):
    return APIClient().post("/auth/token", {"email": email, "password": password}, format="json", **extra)


def refresh(token):
    return APIClient().post("/auth/token/refresh", {"refresh": token}, format="json")


def get_me(access):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client.get("/me")


def assert_refused(response, code):
    assert response.status_code == 401, response.content
    body = response.json()
    assert body["error"] == "Unauthorized"
    assert [detail["code"] for detail in body["details"]] == [code], body


@pytest.fixture
def session(user):
    """The tokens of a real login of `user`."""
    response = login(user.email)
    assert response.status_code == 200
    return response.json()


def assert_session_ended(tokens):
    assert_refused(get_me(tokens["access"]), "token_invalid")
    assert_refused(refresh(tokens["refresh"]), "token_invalid")


# One normalization of emails


@pytest.mark.parametrize("lookalike", ["admın2@b.test", "admin2@b.teſt", "admin2@b.tеst"])  # ı, ſ, Cyrillic е
def test_unicode_lookalikes_of_an_address_are_unknown_addresses(organization, lookalike):
    User.objects.create_user(email="admin2@b.test", password=PASSWORD, organization=organization)

    assert login(lookalike).status_code == 401
    assert login(" ADMIN2@B.Test ").status_code == 200


def test_emails_are_stored_normalized_and_looked_up_exactly(organization):
    User.objects.create_user(email=" Mixed.Case@Example.COM ", password=PASSWORD, organization=organization)
    assert User.objects.get().email == "mixed.case@example.com"

    with CaptureQueriesContext(connection) as queries:
        assert login("MIXED.case@example.com").status_code == 200
    lookup = next(query["sql"] for query in queries if '"email"' in query["sql"] and "WHERE" in query["sql"])
    assert "UPPER" not in lookup and "LIKE" not in lookup  # served by the unique index on email


def test_api_stores_a_new_users_email_normalized_and_refuses_it_in_another_case(api):
    body = {"email": "New.Member@Example.com", "name": "N", "password": "a-long-enough-password"}
    created = api.post("/users", body, format="json")
    assert created.status_code == 201
    assert created.json()["email"] == "new.member@example.com"

    again = api.post("/users", {**body, "email": "NEW.MEMBER@example.com"}, format="json")
    assert again.status_code == 400
    assert again.json()["details"][0]["field"] == "email"


def test_nfc_and_nfd_spellings_are_one_address():
    assert normalize_email("Ze\u0301@x.test") == normalize_email("z\u00e9@X.test") == "z\u00e9@x.test"


def test_the_migration_normalizes_existing_emails(user):
    User.objects.filter(pk=user.pk).update(email=" Old.Style@Example.COM")
    migration = importlib.import_module(f"organizations.migrations.{NORMALIZING_MIGRATION}")

    migration.normalize_emails(apps, None)

    user.refresh_from_db()
    assert user.email == "old.style@example.com"
    assert login("old.style@example.com").status_code == 200


# Password change, deactivation and logout everywhere end every session


def test_a_password_change_ends_every_session(user, session):
    user.set_password("a-brand-new-password")
    user.save()

    assert_session_ended(session)
    assert login(user.email).status_code == 401
    new = login(user.email, "a-brand-new-password")
    assert new.status_code == 200
    assert get_me(new.json()["access"]).status_code == 200


def test_a_password_change_with_changepassword_ends_every_session(user, session, monkeypatch):
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "a-brand-new-password")

    call_command("changepassword", user.email, stdout=StringIO())

    assert_session_ended(session)


def test_a_password_change_in_the_admin_ends_every_session(client, user, session):
    superuser = User.objects.create_superuser(email="root@platform.test", password=PASSWORD)
    client.force_login(superuser)
    form = {"password1": "a-brand-new-password", "password2": "a-brand-new-password", "usable_password": "true"}

    response = client.post(f"/admin/organizations/user/{user.pk}/password/", form)

    assert response.status_code == 302
    assert_session_ended(session)


class CheapPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    iterations = 1


def test_rehashing_a_password_at_login_is_not_a_password_change(user, session, settings):
    settings.PASSWORD_HASHERS = [f"{__name__}.CheapPBKDF2PasswordHasher", *settings.PASSWORD_HASHERS]

    assert login(user.email).status_code == 200  # Django upgrades the stored hash here

    user.refresh_from_db()
    assert user.password.startswith("pbkdf2_sha256$")
    assert get_me(session["access"]).status_code == 200


def test_a_reactivated_user_does_not_get_old_tokens_back(api, rep_session, rep):
    assert api.delete(f"/users/{rep.pk}").status_code == 204
    assert api.patch(f"/users/{rep.pk}", {"isActive": True}, format="json").status_code == 200

    assert_session_ended(rep_session)
    assert login(rep.email).status_code == 200


@pytest.fixture
def rep(organization):
    return UserFactory(organization=organization)


@pytest.fixture
def rep_session(rep):
    return login(rep.email).json()


def test_logout_all_ends_every_session_of_mine_only(user, session, rep, rep_session):
    other_session = login(user.email).json()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {session['access']}")

    assert client.post("/auth/logout-all").status_code == 204

    assert_session_ended(session)
    assert_session_ended(other_session)
    assert get_me(rep_session["access"]).status_code == 200
    assert refresh(rep_session["refresh"]).status_code == 200
    assert get_me(login(user.email).json()["access"]).status_code == 200


def test_logout_all_ends_my_admin_sessions_too(user, session, rep):
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    mine, theirs = Client(), Client()
    mine.force_login(user)
    rep.is_staff = True
    rep.save(update_fields=["is_staff"])
    theirs.force_login(rep)
    assert mine.get("/admin/").status_code == 200

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {session['access']}")
    assert api.post("/auth/logout-all").status_code == 204

    response = mine.get("/admin/")
    assert (response.status_code, response["Location"]) == (302, "/admin/login/?next=/admin/")
    assert theirs.get("/admin/").status_code == 200


def test_logout_all_needs_a_token(db):
    response = APIClient().post("/auth/logout-all")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_authentication_still_costs_one_query(user, session, django_assert_num_queries):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {session['access']}")
    with django_assert_num_queries(1):
        assert client.get("/me").status_code == 200


# Expired and invalid tokens


def test_an_expired_access_token_says_it_expired(user):
    token = AccessToken.for_user(user)
    token.set_exp(from_time=timezone.now() - timedelta(hours=1), lifetime=timedelta(minutes=1))

    response = get_me(str(token))

    assert_refused(response, "token_expired")
    assert "expired" in response.json()["details"][0]["message"]


@pytest.mark.parametrize("token", ["garbage", "a.b.c"])
def test_a_malformed_access_token_is_token_invalid(db, token):
    assert_refused(get_me(token), "token_invalid")


def test_a_refresh_token_used_as_access_token_is_token_invalid(session):
    assert_refused(get_me(session["refresh"]), "token_invalid")


def test_an_expired_refresh_token_says_it_expired(user):
    token = RefreshToken.for_user(user)
    token.set_exp(from_time=timezone.now() - timedelta(days=30), lifetime=timedelta(days=1))

    assert_refused(refresh(str(token)), "token_expired")


# Rotation keeps the expiry of the login


def test_rotation_keeps_the_expiry_of_the_login(session, settings):
    login_expiry = RefreshToken(session["refresh"], verify=False)["exp"]
    token = session["refresh"]
    for _ in range(3):
        response = refresh(token)
        assert response.status_code == 200
        token = response.json()["refresh"]
        assert RefreshToken(token, verify=False)["exp"] == login_expiry

    lifetime = settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"]
    issued = RefreshToken(session["refresh"], verify=False)["iat"]
    assert login_expiry - issued == lifetime.total_seconds()


def test_a_rotated_chain_dies_with_its_login(user):
    old_login = RefreshToken.for_user(user)
    old_login.set_exp(from_time=timezone.now() - timedelta(days=7), lifetime=timedelta(days=7, seconds=60))
    rotated = refresh(str(old_login))
    assert rotated.status_code == 200

    with_time_passed = RefreshToken(rotated.json()["refresh"], verify=False)
    assert with_time_passed["exp"] == old_login["exp"]


# Deactivated organizations


def test_a_user_of_a_deactivated_organization_cannot_log_in_or_refresh(user, session, organization):
    organization.is_active = False
    organization.save()

    response = login(user.email)
    assert_refused(response, "organization_inactive")
    assert "deactivated" in response.json()["details"][0]["message"]
    assert_refused(refresh(session["refresh"]), "organization_inactive")


# POST /auth/password


def change_password(access, current, new, **extra):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    body = {"currentPassword": current, "newPassword": new}
    return client.post("/auth/password", body, format="json", **extra)


def test_a_password_change_through_the_api_ends_every_session_and_answers_a_new_one(user, session):
    other_device = login(user.email).json()

    response = change_password(session["access"], PASSWORD, "a-brand-new-password")

    assert response.status_code == 200
    assert_session_ended(session)
    assert_session_ended(other_device)
    assert get_me(response.json()["access"]).status_code == 200
    assert refresh(response.json()["refresh"]).status_code == 200
    assert login(user.email, "a-brand-new-password").status_code == 200


def test_a_password_change_reports_a_wrong_current_and_a_weak_new_password_at_once(user, session):
    response = change_password(session["access"], "not-my-password", "12345678")

    assert response.status_code == 400
    assert {detail["field"] for detail in response.json()["details"]} == {"currentPassword", "newPassword"}
    assert get_me(session["access"]).status_code == 200  # nothing changed
    assert login(user.email).status_code == 200


def test_guessing_the_current_password_is_throttled_like_logins(user, session, settings):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "login_account_ip": "2/minute"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    for guess in ("guess-one-1", "guess-two-2"):
        assert change_password(session["access"], guess, "a-brand-new-password").status_code == 400

    assert change_password(session["access"], PASSWORD, "a-brand-new-password").status_code == 429
    assert login(user.email).status_code == 429  # the same account from the same address


def test_a_password_change_needs_a_token(db):
    assert APIClient().post("/auth/password", {}, format="json").status_code == 401
