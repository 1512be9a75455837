"""The database going away gives a 503 in the error format, and the service recovers when it returns."""

import socket
import threading

import pytest
from django.db import InterfaceError, OperationalError, close_old_connections, connection, connections
from rest_framework.test import APIClient

from leads.tests.factories import LeadFactory

UNAVAILABLE = {
    "error": "Service Unavailable",
    "details": [
        {"message": "The service is temporarily unavailable; try again shortly.", "code": "service_unavailable"}
    ],
}


def failing_with(error):
    def wrapper(execute, sql, params, many, context):
        raise error("server closed the connection unexpectedly (host=db.internal port=5432)")

    return wrapper


@pytest.mark.django_db
@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_an_api_call_is_503_in_the_error_format_while_the_database_is_unavailable(api, organization, error):
    LeadFactory(organization=organization)
    with connection.execute_wrapper(failing_with(error)):
        response = api.get("/leads")

    assert response.status_code == 503
    assert response.json() == UNAVAILABLE
    assert api.get("/leads").json()["total"] == 1


@pytest.mark.django_db
def test_a_non_api_view_is_503_in_the_error_format_too(user, settings):
    settings.DEBUG = False
    client = APIClient()
    client.raise_request_exception = False

    with connection.execute_wrapper(failing_with(OperationalError)):
        response = client.post("/admin/login/", {"username": user.email, "password": "whatever"})

    assert response.status_code == 503
    assert response.json() == UNAVAILABLE


def terminate_backend(pid):
    """pg_terminate_backend from another connection, as a database restart or failover would."""

    def run():
        try:
            with connections["default"].cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        finally:
            connections["default"].close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_connection_terminated_mid_request_is_a_503_and_the_next_request_succeeds(api, organization):
    LeadFactory(organization=organization)

    def terminate_before_reading_leads(execute, sql, params, many, context):
        if "leads_lead" in sql:  # after authentication has read the user: truly mid-request
            terminate_backend(context["connection"].connection.info.backend_pid)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(terminate_before_reading_leads):
        response = api.get("/leads")

    assert response.status_code == 503
    assert response.json() == UNAVAILABLE
    # What Django does at the end of every request (the test client skips it): drop the broken connection.
    close_old_connections()
    assert api.get("/leads").json()["total"] == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_connection_terminated_between_requests_costs_no_request(api, organization):
    LeadFactory(organization=organization)
    assert api.get("/leads").status_code == 200
    close_old_connections()  # end of the request: the connection is kept open (CONN_MAX_AGE)
    assert connection.connection is not None
    terminate_backend(connection.connection.info.backend_pid)

    close_old_connections()  # start of the next request: the health check will replace the dead connection
    assert api.get("/leads").json()["total"] == 1


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_unreachable_database_is_503_until_it_is_back(api, organization):
    LeadFactory(organization=organization)
    anonymous = APIClient()
    real = {key: connection.settings_dict[key] for key in ("HOST", "PORT")}
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT=closed_port())
    try:
        ready, leads = anonymous.get("/readyz"), api.get("/leads")
    finally:
        connection.close()
        connection.settings_dict.update(real)

    assert (ready.status_code, ready.json()["error"]) == (503, "Service Unavailable")
    assert (leads.status_code, leads.json()) == (503, UNAVAILABLE)
    assert b"5432" not in leads.content
    assert anonymous.get("/readyz").status_code == 200
    assert api.get("/leads").json()["total"] == 1
