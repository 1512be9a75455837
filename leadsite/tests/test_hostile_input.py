"""Issue 12, "Never a 500": hostile JSON, path and query values and cursors are a 400 in the error format."""

import json
from base64 import urlsafe_b64encode

import pytest

from customers.tests.factories import CustomerFactory
from leads.models import Lead
from leads.tests.factories import LeadFactory
from organizations.tests.factories import UserFactory
from webhooks.tests.factories import WebhookFactory

pytestmark = pytest.mark.django_db

DEEP = 100_000


def deep_body(field="email", depth=DEEP):
    return f'{{"{field}": {"[" * depth}"x"{"]" * depth}}}'


def post_raw(client, path, body):
    return client.generic("POST", path, body, content_type="application/json")


def codes(response):
    return [(item.get("field"), item["code"]) for item in response.json()["details"]]


@pytest.mark.parametrize("path", ["/auth/token", "/auth/token/refresh"])
def test_json_nested_100000_deep_is_a_400_at_the_token_endpoints(anonymous, path):
    response = post_raw(anonymous, path, deep_body("email" if path == "/auth/token" else "refresh"))
    assert response.status_code == 400
    assert codes(response) == [(None, "too_deep")]


def test_json_nested_100000_deep_is_a_400_everywhere(api):
    response = post_raw(api, "/leads", deep_body("customFields"))
    assert response.status_code == 400
    assert codes(response) == [(None, "too_deep")]
    assert not Lead.objects.exists()


def test_json_nested_33_deep_is_refused_and_32_is_parsed(api):
    refused = post_raw(api, "/leads", "[" * 33 + "]" * 33)
    assert refused.status_code == 400 and codes(refused) == [(None, "too_deep")]
    parsed = post_raw(api, "/leads", "[" * 32 + "]" * 32)
    assert parsed.status_code == 400 and codes(parsed) != [(None, "too_deep")]


def test_brackets_inside_strings_do_not_count_as_nesting(api):
    response = post_raw(api, "/leads", json.dumps({"name": "[" * 100 + "{" * 100}))
    assert response.status_code == 201


def test_a_lone_surrogate_in_the_login_email_is_a_400(anonymous):
    body = '{"email": "a\\ud800@b.c", "password": "x"}'
    response = post_raw(anonymous, "/auth/token", body)
    assert response.status_code == 400
    assert codes(response) == [("email", "unstorable_text")]


@pytest.mark.parametrize(
    ("custom_fields", "field"),
    [
        ('{"k": "a\\u0000b"}', "customFields.k"),
        ('{"k": "a\\udc00b"}', "customFields.k"),
        ('{"a\\u0000b": 1}', "customFields.a\ufffdb"),  # shown as U+FFFD: a lone surrogate cannot be encoded
        ('{"k": ["ok", "\\ud83d"]}', "customFields.k[1]"),
        ('{"a\\ud800": 1}', "customFields.a\ufffd"),
    ],
)
@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_unstorable_text_in_custom_fields_is_a_400_naming_the_field(api, organization, custom_fields, field, method):
    lead = LeadFactory(organization=organization)
    path = "/leads" if method == "POST" else f"/leads/{lead.id}"
    response = api.generic(
        method, path, f'{{"name": "A", "customFields": {custom_fields}}}', content_type="application/json"
    )
    assert response.status_code == 400
    assert codes(response) == [(field, "unstorable_text")]
    assert Lead.objects.count() == 1


def test_a_paired_surrogate_is_text_like_any_other(api):
    response = post_raw(api, "/leads", '{"name": "A \\ud83d\\ude00"}')
    assert response.status_code == 201
    assert response.json()["name"] == "A \U0001f600"


def test_nul_in_a_path_value_is_a_400(api):
    response = api.get("/leads/by-source/a%00b")
    assert response.status_code == 400
    assert codes(response) == [("source", "unstorable_text")]


@pytest.mark.parametrize(
    "path", ["/leads/a%00b", "/customers/a%00b", "/users/a%00b", "/events/a%00b", "/webhooks/a%00b"]
)
def test_nul_in_an_id_is_a_400(api, path):
    response = api.get(path)
    assert response.status_code == 400
    assert response.json()["details"][0]["code"] == "unstorable_text"


@pytest.mark.parametrize("path", ["/leads", "/customers", "/users", "/events", "/webhooks"])
def test_nul_in_a_query_value_is_a_400(api, path):
    response = api.get(f"{path}?q=a%00b")
    assert response.status_code == 400
    assert response.json()["details"][0]["code"] in ("unstorable_text", "unknown_parameter")


def test_nul_in_a_search_is_a_400(api):
    response = api.get("/leads?q=a%00b")
    assert response.status_code == 400
    assert codes(response) == [("q", "unstorable_text")]


def cursor_of(payload):
    return urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "payload",
    [
        ["createdAt", "desc", "2025-01-01T00:00:00+23:59", "018f0000-0000-7000-8000-000000000000"],
        ["createdAt", "desc", "9999-12-31T23:59:59-23:59", "018f0000-0000-7000-8000-000000000000"],
        ["name", "desc", "a\x00b", "018f0000-0000-7000-8000-000000000000"],
        ["name", "desc", "a\ud800b", "018f0000-0000-7000-8000-000000000000"],
        ["name", "desc", "a", "018f0000-0000-7000-8000-000000000000\x00"],
        ["name", "desc", ["a"], "018f0000-0000-7000-8000-000000000000"],
        ["score", "desc", 10**30, "018f0000-0000-7000-8000-000000000000"],
        ["score", "desc", "x", "018f0000-0000-7000-8000-000000000000"],
        {"a": 1},
        ["name", "desc"],
    ],
)
def test_hand_made_cursors_are_a_400(api, organization, payload):
    LeadFactory(organization=organization)
    sort = payload[0] if isinstance(payload, list) else "createdAt"
    response = api.get("/leads", {"cursor": cursor_of(payload), "sortField": sort})
    assert response.status_code == 400
    assert codes(response) == [("cursor", "invalid")]


def test_a_cursor_with_a_surrogate_in_its_base64_text_is_a_400(api):
    response = api.get("/leads?cursor=%ED%A0%80")
    assert response.status_code == 400


def test_page_together_with_cursor_is_a_400(api, organization):
    LeadFactory(organization=organization)
    response = api.get("/leads", {"cursor": "", "page": "2"})
    assert response.status_code == 400
    assert codes(response) == [("page", "invalid")]


# -- Every mistake answered once ------------------------------------------------------------------


def test_every_fields_errors_come_in_one_response(api):
    body = {
        "name": 123,
        "score": "high",
        "email": "nope",
        "status": "won",
        "assignedTo": "x",
        "customFields": [],
        "isActive": "yes",
    }
    response = api.post("/leads", body, format="json")
    assert response.status_code == 400
    fields = sorted(item["field"] for item in response.json()["details"])
    assert fields == sorted(body)
    assert not Lead.objects.exists()


def test_unknown_body_fields_are_named(api, organization):
    lead = LeadFactory(organization=organization, score=10)
    response = api.patch(f"/leads/{lead.id}", {"scroe": 50, "name": 5}, format="json")
    assert response.status_code == 400
    assert codes(response) == [("scroe", "unknown_parameter"), ("name", "invalid")]
    assert "the fields you can send are name, email," in response.json()["details"][0]["message"]
    lead.refresh_from_db()
    assert lead.score == 10


@pytest.mark.parametrize(
    ("path", "make", "edited"),
    [
        ("/leads", LeadFactory, "name"),
        ("/customers", CustomerFactory, "companyName"),
        ("/users", UserFactory, "name"),
        ("/webhooks", WebhookFactory, "description"),
    ],
)
def test_get_edit_put_of_a_whole_object_works_and_a_typo_does_not(api, organization, path, make, edited):
    obj = make(organization=organization)
    shown = api.get(f"{path}/{obj.id}").json()
    shown[edited] = "Edited"
    method = api.patch if path == "/users" else api.put  # users have no PUT
    response = method(f"{path}/{obj.id}", shown, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()[edited] == "Edited"
    response = method(f"{path}/{obj.id}", {**shown, "nmae": "x"}, format="json")
    assert response.status_code == 400
    assert codes(response) == [("nmae", "unknown_parameter")]


# -- Say what is allowed --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field", "message", "code"),
    [
        (
            {"status": "won"},
            "status",
            '"won" is not a valid status; use one of new, contacted, qualified, unqualified.',
            "invalid_choice",
        ),
        ({"score": 500}, "score", "Must be from 0 to 100.", "out_of_range"),
        ({"score": -1}, "score", "Must be from 0 to 100.", "out_of_range"),
        ({"score": "50"}, "score", "Must be a whole number.", "invalid"),
        (
            {"lastContactedAt": "yesterday"},
            "lastContactedAt",
            "Must be an ISO 8601 date-time, like 2025-05-11T12:33:59Z (or with an offset: +02:00).",
            "invalid",
        ),
    ],
)
def test_an_invalid_value_says_what_is_allowed(api, body, field, message, code):
    response = api.post("/leads", {"name": "Acme", **body}, format="json")
    assert response.status_code == 400
    assert response.json()["details"] == [{"message": message, "field": field, "code": code}]


@pytest.mark.parametrize(
    ("query", "message", "code"),
    [
        (
            {"createdAfter": "yesterday"},
            "Must be an ISO 8601 date-time, like 2025-05-11T12:33:59Z (or with an offset: +02:00).",
            "invalid",
        ),
        (
            {"status": "won"},
            '"won" is not a valid status; use one of new, contacted, qualified, unqualified, converted.',
            "invalid_choice",
        ),
        ({"scoreMin": "high"}, "Must be a whole number.", "invalid"),
        ({"isActive": "maybe"}, "Must be true or false.", "invalid"),
        ({"limit": "500"}, "Must be from 1 to 100.", "out_of_range"),
    ],
)
def test_an_invalid_filter_says_what_is_allowed(api, query, message, code):
    response = api.get("/leads", query)
    assert response.status_code == 400
    assert response.json()["details"] == [{"message": message, "field": next(iter(query)), "code": code}]


def test_other_choices_say_theirs(api, user):
    response = api.patch(f"/users/{user.id}", {"role": "owner"}, format="json")
    assert response.json()["details"][0]["message"] == (
        '"owner" is not a valid role; use one of admin, sales_rep, read_only.'
    )
    response = api.post("/webhooks", {"url": "https://example.com/h", "events": ["lead.won"]}, format="json")
    assert response.json()["details"][0]["message"].startswith('"lead.won" is not a valid event type; use one of *, ')
