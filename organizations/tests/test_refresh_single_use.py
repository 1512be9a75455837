"""A refresh token is redeemed once: a second use, concurrent or later, is refused and ends its chain.

A refresh token presented after it was redeemed (rotated or logged out) is either stolen or a client
racing itself; the server cannot tell which, so (as RFC 9700 4.14.2 advises) it refuses it and revokes
the chain that token began: the refresh token the first redemption answered stops working too. The
user's other logins are untouched.
"""

import pytest
from django.db import connection
from rest_framework.test import APIClient

from conftest import PASSWORD, run_at_once
from leadsite.tests.test_sqlite_concurrency import file_database

pytestmark = pytest.mark.django_db


def login(user):
    response = APIClient().post("/auth/token", {"email": user.email, "password": PASSWORD}, format="json")
    assert response.status_code == 200
    return response.json()


def refresh(token):
    return APIClient().post("/auth/token/refresh", {"refresh": token}, format="json")


def assert_reused(response):
    assert response.status_code == 401, response.content
    [detail] = response.json()["details"]
    assert detail["code"] == "token_invalid"
    assert "already used" in detail["message"]


def test_a_redeemed_refresh_token_used_again_ends_its_chain(user):
    stolen = login(user)["refresh"]
    other_login = login(user)["refresh"]
    rotated = refresh(stolen).json()["refresh"]

    assert_reused(refresh(stolen))

    assert refresh(rotated).status_code == 401
    assert refresh(other_login).status_code == 200


def test_a_logged_out_refresh_token_is_refused(user):
    tokens = login(user)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert api.post("/auth/logout", {"refresh": tokens["refresh"]}, format="json").status_code == 204

    assert_reused(refresh(tokens["refresh"]))


def assert_redeemed_once(responses):
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200, 401, 401], [response.content for response in responses]
    for response in responses:
        if response.status_code == 401:
            assert_reused(response)
    [winner] = [response.json() for response in responses if response.status_code == 200]
    # The losers revoked the chain: the winner's new refresh token is refused too (asked from a thread
    # of its own: on SQLite only new threads' connections see the file the requests wrote).
    [again] = run_at_once([lambda: refresh(winner["refresh"])])
    assert_reused(again)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("repeat", range(3))
def test_concurrent_refreshes_of_one_token_redeem_it_once(user, repeat):
    token = login(user)["refresh"]

    assert_redeemed_once(run_at_once([lambda: refresh(token)] * 3))


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's own locking")
@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_of_one_token_redeem_it_once_on_sqlite(user, tmp_path):
    token = login(user)["refresh"]

    with file_database(tmp_path / "db.sqlite3"):
        assert_redeemed_once(run_at_once([lambda: refresh(token)] * 3))
