"""Schemathesis fuzzes every operation of our own OpenAPI schema, in process, with a real token.

Every built-in check runs: no 5xx, and status codes, headers and bodies (errors included) must be the
documented ones; schema-valid requests must not be refused with a 400 and schema-invalid ones must
be. Each operation is its own test; examples are few and derandomized, so the suite stays fast and
repeatable. New endpoints are picked up from the schema without touching this file.
"""

import itertools
import uuid
from datetime import timedelta

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken
from schemathesis.config import SchemathesisConfig
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation import GenerationMode

from conftest import PASSWORD
from customers.tests.factories import CustomerFactory
from leads.tests.factories import LeadFactory
from leadsite.wsgi import application
from organizations.models import User
from organizations.tests.factories import OrganizationFactory, UserFactory

CONFIG = SchemathesisConfig.from_dict(
    {
        # DRF refuses NUL characters in every text field (a 400), which no schema can say.
        "generation": {"allow-x00": False, "deterministic": True, "with-security-parameters": False},
    }
)
schema = schemathesis.openapi.from_wsgi("/api/schema/", application, config=CONFIG)
# A second, shorter pass as a read-only member: its 403s must be documented too.
READ_ONLY_CONFIG = SchemathesisConfig.from_dict(
    {
        "generation": {"allow-x00": False, "deterministic": True, "with-security-parameters": False},
        "phases": {"coverage": {"enabled": False}},
    }
)
read_only_schema = schemathesis.openapi.from_wsgi("/api/schema/", application, config=READ_ONLY_CONFIG)


# Schemathesis builds some cases (its coverage phase) while collecting tests, before any fixture
# runs, and signs them then: so the token is minted up front for an admin id that the `data`
# fixture then creates (as an admin, or a read-only member). It lives long enough for any test run.
ADMIN_ID = uuid.UUID("00000000-0000-4000-8000-00000000f022")
TOKEN = AccessToken()
TOKEN["user_id"] = str(ADMIN_ID)
TOKEN.set_exp(lifetime=timedelta(hours=12))


class BearerToken:
    def get(self, case, context):
        return str(TOKEN)

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


schema.auth(refresh_interval=None)(BearerToken)
read_only_schema.auth(refresh_interval=None)(BearerToken)


@pytest.fixture(autouse=True)
def keep_the_test_connection():
    """Requests go through the real WSGI handler, whose request signals close a connection that is inside
    a transaction: the test's. Django's test client disconnects them the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def data(db):
    return make_data(User.Role.ADMIN)


@pytest.fixture
def read_only_data(db):
    return make_data(User.Role.READ_ONLY)


def make_data(role):
    """The caller (ADMIN_ID, with `role`) in an organization with some data, and another organization beside it."""
    organization = OrganizationFactory()
    admin = UserFactory(id=ADMIN_ID, organization=organization, role=role)
    rep = UserFactory(organization=organization, role=User.Role.SALES_REP)
    for status in ("new", "contacted", "qualified", "unqualified"):
        LeadFactory(organization=organization, status=status, assigned_to=rep)
    customer = CustomerFactory(organization=organization)
    LeadFactory(organization=OrganizationFactory())
    return {"organization": organization, "admin": admin, "rep": rep, "customer": customer}


# Values a schema cannot describe (ids that exist in the caller's organization, tokens, passwords
# Django's validators accept, keys not used before): in schema-valid requests they are replaced by
# real ones, so that "valid data is accepted" tests the API rather than luck.
REAL_BODY_VALUES = {
    "assignedTo": lambda data: str(data["rep"].pk),
    "fromUserId": lambda data: str(data["rep"].pk),
    "toUserId": lambda data: str(data["admin"].pk),
    "customerId": lambda data: str(data["customer"].pk),
    "refresh": lambda data: str(RefreshToken.for_user(data["admin"])),
    "password": lambda data: f"Quiet-Harbour-{uuid.uuid4()}",
    "newPassword": lambda data: f"Quiet-Harbour-{uuid.uuid4()}",
    "currentPassword": lambda data: PASSWORD,
    "duplicateIds": lambda data: [str(LeadFactory(organization=data["organization"]).pk)],
    "userId": lambda data: str(data["rep"].pk),
    # A webhook URL's host must be a valid name or address and its port 1-65535: no pattern says that.
    "url": lambda data: "http://127.0.0.1:18160/fuzz",
}


def real_members(members, data):
    """An assignment rule's pool: one real member (a user listed twice is rightly a 400)."""
    first = members[0] if members and isinstance(members[0], dict) else {}
    return [{**first, "userId": str(data["rep"].pk)}]


def real_rules(rules, data):
    return [{**rule, "members": real_members(rule.get("members"), data)} for rule in rules if isinstance(rule, dict)]


# Body fields whose nested ids must be real (replaced as above, inside).
REAL_NESTED_BODY_VALUES = {"members": real_members, "rules": real_rules}
# A path's object: a fresh one of the caller's organization for each request, so that updates,
# conversions, merges and deletions run on a real object (other paths keep made-up ids: 404s).
FRESH_OBJECTS = {
    "leads": lambda data: LeadFactory(organization=data["organization"], assigned_to=data["rep"]),
    "customers": lambda data: CustomerFactory(organization=data["organization"]),
    "users": lambda data: UserFactory(organization=data["organization"]),
}
REAL_PATH_VALUES = {"assigneeId": lambda data: str(data["rep"].pk)}
# Per operation: a new user's email must not be taken yet.
NEW_USERS = itertools.count()
REAL_OPERATION_BODY_VALUES = {("POST", "/users"): {"email": lambda data: f"new-user-{next(NEW_USERS)}@fuzz.example"}}
# If-Match: "*" matches the fresh object's ETag (a made-up tag is rightly a 412).
REAL_HEADER_VALUES = {"Idempotency-Key": lambda data: str(uuid.uuid4()), "If-Match": lambda data: "*"}
# An uploaded file is valid or not by what it holds, which no schema can say (nor which columns a mapping
# may name): a schema-valid upload sends a real file, a mapping of its columns and a real assignee.
UPLOAD_FILE = b"id,name,email\n,Ada Fuzz,ada@fuzz.example\n"
REAL_UPLOAD_VALUES = {
    "file": lambda data: UPLOAD_FILE,
    "mapping": lambda data: {"name": "name", "email": "email"},
    "defaultAssignee": lambda data: data["rep"].email,
}
# An upload's validity is its file's content (and a mapping names the file's columns), which its schema
# cannot describe: for POST /imports the answers are checked against the schema, not the data's validity
# (leads/tests/test_import_api.py tests that).
EXCLUDED_CHECKS = {
    ("POST", "/imports"): [schemathesis.checks.negative_data_rejection, schemathesis.checks.positive_data_acceptance]
}
# An opaque cursor only comes from a list's nextCursor: a made-up one is rightly a 400.
OPAQUE_QUERY_PARAMETERS = {"cursor", "after"}


def is_positive(case, location):
    component = case.meta and case.meta.components.get(location)
    return bool(component) and component.mode == GenerationMode.POSITIVE


def make_realistic(case, data):
    if isinstance(case.body, dict) and is_positive(case, ParameterLocation.BODY):
        operation = (case.method.upper(), case.path)
        for field, make in {**REAL_BODY_VALUES, **REAL_OPERATION_BODY_VALUES.get(operation, {})}.items():
            if isinstance(case.body.get(field), (str, list)):
                case.body[field] = make(data)
        for field, make in REAL_NESTED_BODY_VALUES.items():
            if isinstance(case.body.get(field), list):
                case.body[field] = make(case.body[field], data)
    if isinstance(case.body, dict) and is_positive(case, ParameterLocation.BODY):
        make_inputs_realistic(case.body.get("inputs"), data)
        if (case.method.upper(), case.path) == ("POST", "/imports"):
            for field, make in REAL_UPLOAD_VALUES.items():
                if field in case.body:
                    case.body[field] = make(data)
    if case.path_parameters and is_positive(case, ParameterLocation.PATH):
        make_object = FRESH_OBJECTS.get(case.path.strip("/").split("/")[0])
        if "id" in case.path_parameters and make_object:
            case.path_parameters["id"] = str(make_object(data).pk)
        for name, make in REAL_PATH_VALUES.items():
            if name in case.path_parameters:
                case.path_parameters[name] = make(data)
    if case.query and is_positive(case, ParameterLocation.QUERY):
        for name in OPAQUE_QUERY_PARAMETERS:
            if case.query.get(name):
                del case.query[name]
        if "cursor" in case.query:  # page or cursor, not both (their descriptions say so; a schema cannot)
            case.query.pop("page", None)
    if case.headers and is_positive(case, ParameterLocation.HEADER):
        for name, make in REAL_HEADER_VALUES.items():
            if name in case.headers:
                case.headers[name] = make(data)


def make_inputs_realistic(inputs, data):
    """A batch's inputs (POST /leads/batch/*) get the real values a single request's body gets, and an input
    naming a lead names a fresh one of the caller's organization, at its version."""
    if not isinstance(inputs, list):
        return
    for item in inputs:
        if not isinstance(item, dict):
            continue
        for field, make in REAL_BODY_VALUES.items():
            if isinstance(item.get(field), (str, list)):
                item[field] = make(data)
        if "id" in item:
            item["id"] = str(FRESH_OBJECTS["leads"](data).pk)
        if "version" in item:
            item["version"] = 1


@schema.parametrize()
@settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_conforms_to_its_schema(case, data):
    make_realistic(case, data)
    case.call_and_validate(excluded_checks=EXCLUDED_CHECKS.get((case.method.upper(), case.path), []))


@read_only_schema.parametrize()
@settings(
    max_examples=5,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_conforms_to_its_schema_for_a_read_only_member(case, read_only_data):
    make_realistic(case, read_only_data)
    case.call_and_validate()
