import pytest
from rest_framework.test import APIClient

from organizations.models import User
from organizations.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery"


def login(email, password=PASSWORD):
    return APIClient().post("/auth/token", {"email": email, "password": password}, format="json")


def test_login_returns_tokens_that_open_the_api(user):
    response = login(user.email)

    assert response.status_code == 200
    assert set(response.json()) == {"access", "refresh"}
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    assert client.get("/leads").status_code == 200


def test_login_email_is_case_insensitive(organization):
    User.objects.create_user(email="Jane.Doe@Example.com", password=PASSWORD, organization=organization)

    assert login("jane.doe@example.COM").status_code == 200
    assert User.objects.get().email == "jane.doe@example.com"  # stored normalized


@pytest.mark.parametrize("email, password", [("nobody@example.com", PASSWORD), (None, "wrong-password")])
def test_bad_credentials_are_401_in_the_error_format(user, email, password):
    response = login(email or user.email, password)

    assert response.status_code == 401
    assert response.json()["error"] == "Unauthorized"
    assert response.json()["details"][0]["message"]


def test_login_without_fields_is_400_naming_them(db):
    response = APIClient().post("/auth/token", {}, format="json")

    assert response.status_code == 400
    assert {d["field"] for d in response.json()["details"]} == {"email", "password"}


def test_refresh_rotates_and_the_old_refresh_token_stops_working(user):
    refresh = login(user.email).json()["refresh"]

    first = APIClient().post("/auth/token/refresh", {"refresh": refresh}, format="json")
    replay = APIClient().post("/auth/token/refresh", {"refresh": refresh}, format="json")

    assert first.status_code == 200 and set(first.json()) == {"access", "refresh"}
    assert replay.status_code == 401
    assert replay.json()["error"] == "Unauthorized"


def test_logout_revokes_the_refresh_token(user):
    tokens = login(user.email).json()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")

    response = client.post("/auth/logout", {"refresh": tokens["refresh"]}, format="json")

    assert response.status_code == 204
    refresh = APIClient().post("/auth/token/refresh", {"refresh": tokens["refresh"]}, format="json")
    assert refresh.status_code == 401


def test_logout_needs_an_access_token_and_a_valid_refresh_token(user):
    tokens = login(user.email).json()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")

    assert APIClient().post("/auth/logout", {"refresh": tokens["refresh"]}, format="json").status_code == 401
    bad = client.post("/auth/logout", {"refresh": "garbage"}, format="json")
    assert bad.status_code == 400 and bad.json()["details"][0]["field"] == "refresh"


def test_logout_refuses_another_users_refresh_token(user, organization):
    colleague = UserFactory(organization=organization)
    mine = login(user.email).json()
    theirs = login(colleague.email).json()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {mine['access']}")

    response = client.post("/auth/logout", {"refresh": theirs["refresh"]}, format="json")

    assert response.status_code == 400
    assert APIClient().post("/auth/token/refresh", {"refresh": theirs["refresh"]}, format="json").status_code == 200


def test_token_of_a_deactivated_user_is_refused(user, api):
    User.objects.filter(pk=user.pk).update(is_active=False)

    response = api.get("/leads")

    assert response.status_code == 401


def test_token_of_a_deactivated_organization_is_refused(user, api, organization):
    organization.is_active = False
    organization.save()

    assert api.get("/leads").status_code == 401
