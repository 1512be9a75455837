"""Query parameters: an unknown one is a 400 that names it and the accepted ones, which are exactly
those the OpenAPI schema documents for the operation."""

import re
import uuid

import pytest
from django.urls import get_resolver
from rest_framework.test import APIClient
from rest_framework.views import APIView

from leads.tests.factories import LeadFactory
from leadsite.parameters import CheckedParametersMixin

pytestmark = pytest.mark.django_db

ACCEPTS = re.compile(r"^Unknown query parameter '(?P<name>.*)'; this endpoint accepts: (?P<accepted>.*)\.$")


def test_a_misspelt_filter_is_a_400_instead_of_every_lead(api, organization):
    LeadFactory(organization=organization, status="new")
    LeadFactory(organization=organization, status="qualified")
    response = api.get("/leads", {"stauts": "new"})
    assert response.status_code == 400
    [detail] = response.json()["details"]
    assert detail["field"] == "stauts" and detail["code"] == "unknown_parameter"
    accepted = ACCEPTS.match(detail["message"])["accepted"].split(", ")
    assert {"status", "page", "limit", "cursor", "sortField", "sortOrder", "q"} <= set(accepted)


def test_every_unknown_parameter_is_named_at_once(api):
    response = api.get("/leads", {"stauts": "new", "scroe": "5", "status": "new"})
    assert response.status_code == 400
    assert [(item["field"], item["code"]) for item in response.json()["details"]] == [
        ("stauts", "unknown_parameter"),
        ("scroe", "unknown_parameter"),
    ]


def test_documented_extra_parameters_are_accepted(api, organization):
    lead = LeadFactory(organization=organization)
    assert api.get("/leads/stats/scoring", {"top": "3"}).status_code == 200
    assert api.post("/leads?allowDuplicate=true", {"name": "A"}, format="json").status_code == 201
    assert api.delete(f"/leads/{lead.id}?force=false").status_code == 204
    assert api.get("/events", {"limit": "5", "types": "lead.created"}).status_code == 200


def test_a_query_parameter_on_one_object_is_unknown(api, organization):
    lead = LeadFactory(organization=organization)
    response = api.get(f"/leads/{lead.id}", {"page": "1"})
    assert response.status_code == 400
    assert response.json()["details"][0]["message"] == ("Unknown query parameter 'page'; this endpoint accepts: none.")


def test_an_unknown_parameter_at_login_is_a_400(anonymous):
    response = anonymous.post("/auth/token?debug=1", {"email": "a@b.c", "password": "x"}, format="json")
    assert response.status_code == 400
    assert response.json()["details"][0]["code"] == "unknown_parameter"


def api_views():
    """Every view class the URLconf routes to that belongs to the API (not the admin, schema or docs)."""
    views = set()

    def walk(patterns):
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                if not str(pattern.pattern).startswith("admin/"):
                    walk(pattern.url_patterns)
                continue
            cls = getattr(pattern.callback, "cls", None)
            if cls and issubclass(cls, APIView) and not cls.__module__.startswith("drf_spectacular"):
                views.add(cls)

    walk(get_resolver().url_patterns)
    return views


def test_every_api_view_checks_its_parameters():
    views = api_views()
    assert len(views) >= 10
    assert [view.__name__ for view in views if not issubclass(view, CheckedParametersMixin)] == []


def test_each_operation_accepts_exactly_the_query_parameters_its_schema_documents(api):
    schema = APIClient().get("/api/schema/?format=json").json()
    checked = 0
    for path, operations in schema["paths"].items():
        if path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            documented = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
            url = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)
            response = api.generic(method.upper(), f"{url}?zzUnknown=1", "{}", content_type="application/json")
            assert response.status_code == 400, (method, path, response.status_code)
            [detail] = response.json()["details"]
            assert detail["code"] == "unknown_parameter", (method, path, detail)
            accepted = ACCEPTS.match(detail["message"])["accepted"]
            assert (set() if accepted == "none" else set(accepted.split(", "))) == documented, (method, path)
            checked += 1
    assert checked >= 30
