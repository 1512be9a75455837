import pytest
from django.db import OperationalError, connection
from rest_framework.test import APIClient


def fail_every_query(execute, sql, params, many, context):
    raise OperationalError("could not connect to server: Connection refused")


@pytest.mark.django_db
def test_healthz_answers_without_auth_and_without_the_database(django_assert_num_queries):
    with django_assert_num_queries(0):
        response = APIClient().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_healthz_ignores_a_bad_token():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    assert client.get("/healthz").status_code == 200


@pytest.mark.django_db
def test_healthz_stays_up_while_the_database_is_down():
    with connection.execute_wrapper(fail_every_query):
        assert APIClient().get("/healthz").status_code == 200


@pytest.mark.django_db
def test_readyz_checks_the_database(django_assert_num_queries):
    with django_assert_num_queries(1):
        response = APIClient().get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_503_in_the_error_format_when_the_database_is_unreachable():
    with connection.execute_wrapper(fail_every_query):
        response = APIClient().get("/readyz")
    assert response.status_code == 503
    assert response.json() == {
        "error": "Service Unavailable",
        "details": [{"message": "The database is unreachable.", "code": "service_unavailable"}],
    }


@pytest.mark.django_db
def test_probes_are_documented_without_security():
    schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/json").json()
    for path in ("/healthz", "/readyz"):
        operation = schema["paths"][path]["get"]
        assert "200" in operation["responses"]
        assert operation.get("security", []) in ([], [{}])
    assert "503" in schema["paths"]["/readyz"]["get"]["responses"]
