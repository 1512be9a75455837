"""Every error detail carries a stable machine-readable `code` (issue 12)."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from leads.models import LeadStatus
from leads.tests.factories import LeadFactory
from leadsite.errors import CODE_ALIASES, ERROR_CODES

pytestmark = pytest.mark.django_db


def codes(response):
    return {(detail.get("field"), detail["code"]) for detail in response.json()["details"]}


def test_validation_errors_name_their_codes(api):
    response = api.post(
        "/leads", {"name": "x" * 300, "score": 101, "status": "won", "email": "", "phone": None}, format="json"
    )

    assert response.status_code == 400
    assert codes(response) == {("name", "too_long"), ("score", "out_of_range"), ("status", "invalid_choice")}


def test_a_missing_field_is_required(api):
    response = api.post("/leads", {}, format="json")

    assert codes(response) == {("name", "required")}


def test_a_duplicate_lead_email_is_duplicate_email(api, organization):
    LeadFactory(organization=organization, email="ann@acme.test")

    response = api.post("/leads", {"name": "Ann", "email": "ann@acme.test"}, format="json")

    assert response.status_code == 409
    assert codes(response) == {("email", "duplicate_email")}


def test_converting_a_converted_lead_is_lead_converted(api, organization):
    lead = LeadFactory(organization=organization, status=LeadStatus.CONVERTED)

    response = api.post(f"/leads/{lead.id}/convert-to-customer")

    assert response.status_code == 409
    assert codes(response) == {(None, "lead_converted")}


@pytest.mark.parametrize(
    ("call", "status", "code"),
    [
        (lambda api: api.get("/no/such/path"), 404, "not_found"),
        (lambda api: api.get("/leads/00000000-0000-0000-0000-000000000000"), 404, "not_found"),
        (lambda api: api.put("/leads/stats/scoring"), 405, "method_not_allowed"),
        (lambda api: api.post("/leads", "name=x", content_type="text/plain"), 415, "unsupported_media_type"),
        (lambda api: api.post("/leads", "{", content_type="application/json"), 400, "invalid_json"),
        (lambda api: APIClient().get("/leads"), 401, "not_authenticated"),
        (lambda api: APIClient(HTTP_AUTHORIZATION="Bearer nope").get("/leads"), 401, "token_invalid"),
    ],
)
def test_protocol_errors_name_their_codes(api, call, status, code):
    response = call(api)

    assert response.status_code == status
    assert [detail["code"] for detail in response.json()["details"]] == [code]


def test_a_wrong_password_is_invalid_credentials(user):
    response = APIClient().post("/auth/token", {"email": user.email, "password": "wrong"}, format="json")

    assert response.status_code == 401
    assert codes(response) == {(None, "invalid_credentials")}


def test_a_host_outside_allowed_hosts_is_400_in_the_error_format(db):
    response = APIClient().get("/leads", HTTP_HOST="evil.example")

    assert response.status_code == 400
    assert response.json() == {
        "error": "Bad Request",
        "details": [{"message": "This server does not serve the host the request names.", "code": "invalid_host"}],
    }


def test_the_schema_lists_every_code():
    schema = APIClient().get("/api/schema/?format=json").json()
    detail = schema["components"]["schemas"]["ErrorDetail"]
    [reference] = detail["properties"]["code"]["allOf"]

    assert reference == {"$ref": "#/components/schemas/ErrorCodeEnum"}
    enum = schema["components"]["schemas"]["ErrorCodeEnum"]["enum"]

    assert enum == list(ERROR_CODES)
    assert "code" in detail["required"]


def test_every_code_the_source_raises_is_registered():
    """A new `code="..."` must be added to ERROR_CODES (else the response names a code the schema lacks)."""
    raised = set()
    for path in Path(settings.BASE_DIR).glob("*/**/*.py"):
        if ".venv" in path.parts or "tests" in path.parts or "migrations" in path.parts:
            continue
        raised |= set(re.findall(r'\bcode="([a-z_]+)"', path.read_text()))

    assert raised, "the scan found nothing: is BASE_DIR right?"
    assert raised - set(ERROR_CODES) - set(CODE_ALIASES) == set()
    assert set(CODE_ALIASES.values()) <= set(ERROR_CODES)


def test_the_readme_lists_every_code():
    readme = (Path(settings.BASE_DIR) / "README.md").read_text()

    assert [code for code in ERROR_CODES if f"| `{code}` |" not in readme] == []
