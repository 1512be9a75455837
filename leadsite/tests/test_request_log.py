import json
import logging
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def request_log(caplog):
    caplog.set_level(logging.INFO, logger="leadsite.requests")

    def entries():
        return [json.loads(record.getMessage()) for record in caplog.records if record.name == "leadsite.requests"]

    return entries


def test_one_json_line_per_request_with_user_organization_and_request_id(api, user, organization, request_log):
    response = api.get("/leads?q=secret@example.com")

    assert response.status_code == 200
    [entry] = request_log()
    request_id = response["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    assert entry == {
        "request_id": request_id,
        "method": "GET",
        "path": "/leads",  # never the query string, which can hold personal data
        "status": 200,
        "duration_ms": entry["duration_ms"],
        "organization_id": str(organization.id),
        "user_id": str(user.id),
    }
    assert isinstance(entry["duration_ms"], float) and entry["duration_ms"] >= 0


def test_a_safe_request_id_from_the_caller_is_kept(api, request_log):
    response = api.post("/leads", {"name": "Ada"}, format="json", HTTP_X_REQUEST_ID="lb-7f3a.42:retry_1")

    assert response.status_code == 201
    assert response["X-Request-ID"] == "lb-7f3a.42:retry_1"
    [entry] = request_log()
    assert (entry["request_id"], entry["method"], entry["status"]) == ("lb-7f3a.42:retry_1", "POST", 201)


@pytest.mark.parametrize("unsafe", ["x" * 65, "two words", 'a"b', "<script>", "a\\nb", "é"])
def test_an_unsafe_request_id_is_replaced(api, request_log, unsafe):
    response = api.get("/leads", HTTP_X_REQUEST_ID=unsafe)

    request_id = response["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    assert request_log()[0]["request_id"] == request_id


def test_requests_without_a_user_are_logged_without_one(anonymous, request_log):
    anonymous.get("/leads")
    anonymous.get("/healthz")
    anonymous.get("/no/such/page")

    entries = request_log()
    assert [(entry["path"], entry["status"]) for entry in entries] == [
        ("/leads", 401),
        ("/healthz", 200),
        ("/no/such/page", 404),
    ]
    assert all(entry["organization_id"] is None and entry["user_id"] is None for entry in entries)


def test_logging_the_organization_costs_no_query(user, settings, request_log):
    def queries_of_one_request():
        client = client_for(user)
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/leads").status_code == 200
        return len(queries)

    with_log = queries_of_one_request()
    settings.MIDDLEWARE = [name for name in settings.MIDDLEWARE if name != "leadsite.middleware.RequestLogMiddleware"]
    without_log = queries_of_one_request()

    assert with_log == without_log
    assert request_log()[0]["organization_id"] == str(user.organization_id)
