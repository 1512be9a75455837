import pytest
from rest_framework.test import APIClient

from conftest import client_for

pytestmark = pytest.mark.django_db


def test_an_unexpected_error_is_a_500_in_the_error_format_without_a_traceback(user, monkeypatch, settings):
    settings.DEBUG = False

    def explode(**kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr("leads.selectors.lead_scoring_stats", explode)
    client = client_for(user)
    client.raise_request_exception = False

    response = client.get("/leads/stats/scoring")

    assert response.status_code == 500
    assert response.json() == {
        "error": "Internal Server Error",
        "details": [{"message": "An unexpected error occurred.", "code": "server_error"}],
    }
    assert b"secret internals" not in response.content and b"Traceback" not in response.content


def test_unknown_paths_are_json_404_also_with_debug_on(settings, db):
    settings.DEBUG = True

    response = APIClient().get("/no/such/page")

    assert response.status_code == 404
    assert response.json()["error"] == "Not Found"
