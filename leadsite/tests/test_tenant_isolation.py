"""Organization B can neither see nor touch organization A's rows, through any route.

The routes come from the URL conf and the admin site, so a new route is tested without anyone
remembering to: every method it allows is called by an admin of B with the ids of A's objects, and
must answer 404 and change nothing of A's. Lists and aggregates must show nothing of A's, and ids of
A's objects in a request body must be refused. A path parameter this test does not know fails it:
teach it below (PATH_VALUES) when you add one.
"""

import re

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Group
from django.db import transaction
from django.test import Client
from django.urls import URLResolver, get_resolver
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from drf_spectacular.generators import SchemaGenerator
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from conftest import client_for
from customers.models import Customer
from customers.tests.factories import CustomerFactory
from events.models import Event
from events.services import lead_event, record_events
from jobs.models import Job
from leads.models import Lead, LeadImport, LeadStatus
from leads.tests.factories import LeadFactory
from organizations.models import Organization, User
from organizations.tests.factories import OrganizationFactory, UserFactory
from routing.models import AssignmentRule
from routing.services import rule_create
from scoring import features as scoring_features
from scoring.models import ScoringModel
from webhooks.models import Delivery, Webhook
from webhooks.tests.factories import WebhookFactory

pytestmark = pytest.mark.django_db

# Routes that hold no organization's data: documentation and probes. Anything else is tested.
PUBLIC_ROUTES = {"api/schema/", "api/docs/", "api/redoc/", "^healthz/?$", "^readyz/?$", "^$"}
CATCH_ALL = "^"
# OPTIONS describes a route (the same for every id) and reads no row.
SKIPPED_METHODS = {"options"}
A_SOURCE = "alpha-only-source"


@pytest.fixture
def world():
    """Organization A with one of everything, and B's admin with B's own objects."""
    a = OrganizationFactory(name="Alpha Secret Org")
    a_admin = UserFactory(organization=a, role=User.Role.ADMIN, email="alpha-admin@alpha.example", name="Alpha Admin")
    a_rep = UserFactory(organization=a, email="alpha-rep@alpha.example", name="Alpha Rep")
    a_customer = CustomerFactory(organization=a, company_name="Alpha Secret Customer", contact_email="c@alpha.example")
    a_leads = [
        LeadFactory(
            organization=a,
            name=f"Alpha Secret Lead {status}",
            email=f"lead-{status}@alpha.example",
            status=status,
            source=A_SOURCE,
            assigned_to=a_rep,
            score=90,
        )
        for status in (LeadStatus.NEW, LeadStatus.QUALIFIED)
    ]
    # A duplicate pair, so A has something for the duplicates listing.
    LeadFactory(organization=a, name="Alpha Secret Duplicate", email=a_leads[0].email, source=A_SOURCE)
    LeadFactory(
        organization=a,
        name="Alpha Secret Converted",
        email="conv@alpha.example",
        status=LeadStatus.CONVERTED,
        converted_customer=a_customer,
    )
    a_rule = rule_create(
        organization=a,
        data={"name": "Alpha Secret Rule", "conditions": {"source": [A_SOURCE]}, "members": [{"user": a_rep}]},
    )
    a.default_assignee = a_rep
    # A's lead scoring model (scoring/): its coefficients name A's source.
    a_model = ScoringModel.objects.create(
        organization=a, version=1, status=ScoringModel.Status.READY, format=scoring_features.FORMAT,
        feature_set=scoring_features.FEATURE_SET, features=["source"], intercept=-0.5,
        coefficients={"source": {A_SOURCE: 1.5}}, counts={"leads": 300, "converted": 100, "unqualified": 200},
        quality={"topFactors": [{"feature": "source", "value": A_SOURCE, "effect": 1.5, "leads": 300}]},
        trained_at=timezone.now(),
    )  # fmt: skip
    a.scoring_model_version = 1
    a.save()
    a_refresh = RefreshToken.for_user(a_admin)
    with transaction.atomic():
        (a_event,) = record_events([lead_event("lead.created", lead=a_leads[1], user=a_admin, via="api")])
    a_webhook = WebhookFactory(organization=a, url="https://hooks.alpha.example/secret", description="Alpha Secret")
    a_delivery = Delivery.objects.create(
        organization=a,
        webhook=a_webhook,
        event_id=a_leads[0].pk,
        event_type="lead.created",
        body='{"data": "Alpha Secret"}',
        last_response_body="Alpha Secret response",
    )

    a_job = Job.objects.create(
        organization=a,
        created_by=a_admin,
        kind=Job.Kind.REASSIGN,
        params={"fromUserId": str(a_rep.pk), "toUserId": str(a_admin.pk), "status": None},
        total=5000,
    )

    b = OrganizationFactory(name="Beta Org")
    b_admin = UserFactory(organization=b, role=User.Role.ADMIN, is_staff=True, email="admin@beta.example")
    b_rep = UserFactory(organization=b, email="rep@beta.example")
    b_lead = LeadFactory(organization=b, name="Beta Lead", email="lead@beta.example", status=LeadStatus.QUALIFIED)
    b_customer = CustomerFactory(organization=b, company_name="Beta Customer")
    b_webhook = WebhookFactory(organization=b, url="http://127.0.0.1:8169/beta")
    b_rule = rule_create(organization=b, data={"name": "Beta Rule", "members": [{"user": b_rep}], "is_active": False})
    b_delivery = Delivery.objects.create(
        organization=b, webhook=b_webhook, event_id=b_lead.pk, event_type="lead.created", body="{}"
    )
    b_job = Job.objects.create(organization=b, created_by=b_admin, kind=Job.Kind.REASSIGN, total=5000)
    a_import = a_lead_import({"a": a, "a_admin": a_admin})
    b_import = LeadImport.objects.create(
        organization=b, created_by=b_admin, file_name="beta.csv", content=b"name\nB\n", size=7, format="csv",
        encoding="utf-8", header=["name"], mapping={"name": "name"}, status=LeadImport.Status.QUEUED,
    )  # fmt: skip
    return {
        "a": a,
        "a_user": a_rep,
        "a_admin": a_admin,
        "a_lead": a_leads[1],
        "a_customer": a_customer,
        "a_event": a_event,
        "a_refresh": str(a_refresh),
        "a_webhook": a_webhook,
        "a_delivery": a_delivery,
        "a_rule": a_rule,
        "a_job": a_job,
        "a_import": a_import,
        "a_model": a_model,
        "b_admin": b_admin,
        "b_user": b_rep,
        "b_lead": b_lead,
        "b_customer": b_customer,
        "b_webhook": b_webhook,
        "b_delivery": b_delivery,
        "b_rule": b_rule,
        "b_job": b_job,
        "b_import": b_import,
    }


def a_markers(world):
    """Strings that would betray A's data in a response."""
    a = world["a"]
    markers = {str(a.pk), "Alpha Secret", "alpha.example", A_SOURCE}
    for model in (Lead, Customer, User, Event, Webhook, Delivery, AssignmentRule, Job, LeadImport):
        markers |= {str(pk) for pk in model.objects.for_organization(a).values_list("pk", flat=True)}
    return markers


def snapshot(world):
    """Every row of A's, in every model that belongs to an organization, plus A's tokens."""
    a = world["a"]
    rows = {"organization": list(Organization.objects.filter(pk=a.pk).values())}
    for model in apps.get_models():
        if any(field.name == "organization" for field in model._meta.fields):
            rows[model._meta.label] = list(model._base_manager.filter(organization=a).order_by("pk").values())
    rows["outstanding"] = list(OutstandingToken.objects.filter(user__organization=a).order_by("pk").values())
    rows["blacklisted"] = list(BlacklistedToken.objects.filter(token__user__organization=a).order_by("pk").values())
    return rows


# ---- the API ----------------------------------------------------------------------------------


def walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern.callback


def api_routes():
    routes = []
    for route, callback in walk(get_resolver().url_patterns):
        if route.startswith("admin/") or route in PUBLIC_ROUTES or route == CATCH_ALL:
            continue
        cls = getattr(callback, "cls", None)
        assert cls is not None, f"{route} is not a DRF view; teach test_tenant_isolation how to call it"
        actions = getattr(callback, "actions", None)
        if actions:
            methods = set(actions) & set(cls.http_method_names)
        else:
            methods = {method for method in cls.http_method_names if hasattr(cls, method)}
        if "get" in methods:
            methods.add("head")
        for method in sorted(methods - SKIPPED_METHODS):
            routes.append((route, method, cls))
    return routes


ROUTES = api_routes()


def path_parameters(route):
    if "(?P<" in route:  # re_path
        return re.findall(r"\(\?P<(\w+)>", route)
    return re.findall(r"<(?:\w+:)?(\w+)>", route)  # path


def fill(route, values):
    """Turn `^leads/(?P<pk>[^/]+)/?$` or `leads/<path:object_id>/` into a path with the given values."""
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: str(values[m.group(1)]), route)
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), path)
    path = path.lstrip("^").rstrip("$").replace("/?", "")
    return "/" + path


def a_object_for(cls, name, world):
    """The id of A's object that a path parameter names, or fail: teach the test new parameters."""
    if name in ("pk", "id"):
        model = cls.queryset.model
        objects = {
            Lead: world["a_lead"],
            Customer: world["a_customer"],
            User: world["a_user"],
            Event: world["a_event"],
            Webhook: world["a_webhook"],
            Delivery: world["a_delivery"],
            AssignmentRule: world["a_rule"],
            Job: world["a_job"],
            LeadImport: world["a_import"],
        }
        return objects[model].pk
    if name == "assigneeId":
        return world["a_user"].pk
    pytest.fail(f"Unknown path parameter {name!r}: teach test_tenant_isolation which of A's objects it names")


def poisoned_body(world):
    """A plausible body whose every reference points at one of A's objects."""
    return {
        "name": "From Beta",
        "email": "new@beta.example",
        "companyName": "From Beta",
        **{field: make(world) for field, make in REFERENCE_FIELDS.items()},
    }


# Body fields that name another object; a new one must be added here (the schema is checked below).
REFERENCE_FIELDS = {
    "assignedTo": lambda w: str(w["a_user"].pk),
    "customerId": lambda w: str(w["a_customer"].pk),
    "fromUserId": lambda w: str(w["a_user"].pk),
    "toUserId": lambda w: str(w["a_admin"].pk),
    "duplicateIds": lambda w: [str(w["a_lead"].pk)],
    "userId": lambda w: str(w["a_user"].pk),
}


def call(client, method, path, body=None):
    if method in ("get", "head", "delete"):
        return getattr(client, method)(path)
    return getattr(client, method)(path, body, format="json")


def assert_reveals_nothing(response, markers, what, sent=""):
    """No marker of A's in the response, except one the request sent itself (an error may quote it)."""
    content = response.content.decode()
    leaked = sorted(marker for marker in markers if marker in content and marker not in str(sent))
    assert not leaked, f"{what} reveals A's data: {leaked}"


def test_every_route_is_covered():
    """The walk finds the routes we know of (a sanity check that the walk itself works)."""
    paths = {fill(route, {name: "x" for name in path_parameters(route)}) for route, _, _ in ROUTES}
    assert {"/leads", "/leads/x", "/leads/x/convert-to-customer", "/customers/x", "/users/x"} <= paths


@pytest.mark.parametrize(("route", "method", "cls"), ROUTES, ids=[f"{m.upper()} {r}" for r, m, _ in ROUTES])
def test_another_organizations_objects_are_out_of_reach(world, route, method, cls):
    b = client_for(world["b_admin"])
    markers = a_markers(world)
    before = snapshot(world)
    names = path_parameters(route)
    values = {name: a_object_for(cls, name, world) for name in names if name != "source"}
    values["source"] = A_SOURCE
    path = fill(route, values)

    body = poisoned_body(world)
    response = call(b, method, path, body)

    if set(names) - {"source"}:
        assert response.status_code == 404, f"{method.upper()} {path} gave {response.status_code}, not 404"
        if method != "head":
            assert response.json()["error"] == "Not Found"
    else:
        # No object in the path: a list, an aggregate, or a write whose body may point into A.
        assert response.status_code < 500, f"{method.upper()} {path} gave {response.status_code}"
        if set(request_fields(path, method)) & set(REFERENCE_FIELDS):
            assert response.status_code >= 400, f"{method.upper()} {path} accepted references into A"
    assert_reveals_nothing(response, markers, f"{method.upper()} {path}", sent=(path, body))
    assert snapshot(world) == before, f"{method.upper()} {path} changed A's rows"


def test_references_to_another_organization_in_bodies_are_refused_on_own_objects(world):
    """On B's own objects too, a body naming A's objects is refused and A is untouched."""
    b = client_for(world["b_admin"])
    markers = a_markers(world)
    before = snapshot(world)
    own = {
        Lead: world["b_lead"],
        Customer: world["b_customer"],
        User: world["b_user"],
        Webhook: world["b_webhook"],
        Delivery: world["b_delivery"],
        AssignmentRule: world["b_rule"],
        Job: world["b_job"],
        LeadImport: world["b_import"],
    }
    tried = 0
    for route, method, cls in ROUTES:
        if method in ("get", "head", "delete") or path_parameters(route) != ["pk"]:
            continue
        path = fill(route, {"pk": own[cls.queryset.model].pk})
        body = {field: make(world) for field, make in REFERENCE_FIELDS.items()}
        response = call(b, method, path, body)
        accepts_references = set(request_fields(path, method)) & set(REFERENCE_FIELDS)
        if accepts_references:
            tried += 1
            assert response.status_code in (400, 404), f"{method.upper()} {path} gave {response.status_code}"
        assert_reveals_nothing(response, markers, f"{method.upper()} {path}", sent=body)
        assert snapshot(world) == before, f"{method.upper()} {path} changed A's rows"
    assert tried >= 3  # update, convert-to-customer, merge


def request_fields(path, method):
    """The request body's property names for an operation, from the OpenAPI schema."""
    schema = SCHEMA()
    for template, operations in schema["paths"].items():
        if re.fullmatch(re.sub(r"\{\w+\}", "[^/]+", template), path) and method in operations:
            body = operations[method].get("requestBody", {}).get("content", {}).get("application/json", {})
            ref = body.get("schema", {}).get("$ref", "")
            return schema["components"]["schemas"].get(ref.rsplit("/", 1)[-1], {}).get("properties", {})
    return {}


_schema_cache = {}


def SCHEMA():  # noqa: N802 - a cached constant
    if "schema" not in _schema_cache:
        _schema_cache["schema"] = SchemaGenerator().get_schema(request=None, public=True)
    return _schema_cache["schema"]


def test_every_reference_field_in_request_bodies_is_known():
    """Fields that take an id (format uuid) must be in REFERENCE_FIELDS, so the tests above send A's ids in them."""
    unknown = set()
    for name, component in SCHEMA()["components"]["schemas"].items():
        if not name.endswith("Request"):
            continue
        for field, spec in component.get("properties", {}).items():
            items = spec.get("items", {})
            if spec.get("format") == "uuid" or items.get("format") == "uuid":
                if field not in REFERENCE_FIELDS:
                    unknown.add(f"{name}.{field}")
    assert not unknown, f"Teach test_tenant_isolation.REFERENCE_FIELDS about {sorted(unknown)}"


def test_lists_and_aggregates_show_nothing_of_another_organization(world):
    b = client_for(world["b_admin"])
    assert [lead["id"] for lead in b.get("/leads").json()["data"]] == [str(world["b_lead"].pk)]
    assert b.get(f"/leads/by-source/{A_SOURCE}").json()["data"] == []
    stats = b.get("/leads/stats/scoring").json()
    assert [top["id"] for top in stats["topScorers"]] == [str(world["b_lead"].pk)]
    assert stats["averageScore"] == world["b_lead"].score
    assert b.get("/events").json() == {"data": [], "nextCursor": None}
    assert [rule["name"] for rule in b.get("/assignment-rules").json()["data"]] == ["Beta Rule"]
    assert b.get("/assignment-rules/default").json() == {"userId": None}
    assert [job["id"] for job in b.get("/jobs").json()["data"]] == [str(world["b_job"].pk)]
    assert [item["id"] for item in b.get("/imports").json()["data"]] == [str(world["b_import"].pk)]


def test_another_organizations_rules_and_users_are_never_used(world):
    """B's new leads and B's backlog never go to A's users, whatever A's rules and default say."""
    b = client_for(world["b_admin"])
    created = b.post("/leads", {"name": "Beta New", "source": A_SOURCE}, format="json")
    assert created.status_code == 201 and created.json()["assignedTo"] is None
    assert b.post("/leads/route").json()["routed"] == 0
    simulated = b.post("/assignment-rules/simulate", {"leads": [{"source": A_SOURCE}]}, format="json").json()
    assert simulated["data"][0]["userId"] is None
    assert_reveals_nothing(created, a_markers(world), "POST /leads", sent=A_SOURCE)


def test_logout_cannot_revoke_another_users_refresh_token(world):
    response = client_for(world["b_admin"]).post("/auth/logout", {"refresh": world["a_refresh"]}, format="json")
    assert response.status_code == 400
    refreshed = Client().post("/auth/token/refresh", {"refresh": world["a_refresh"]}, content_type="application/json")
    assert refreshed.status_code == 200


# ---- the admin --------------------------------------------------------------------------------


def admin_routes():
    routes = []
    for route, callback in walk(get_resolver().url_patterns):
        model_admin = getattr(callback, "model_admin", None)
        if route.startswith("admin/") and model_admin is not None and path_parameters(route):
            routes.append((route, model_admin.model))
    return routes


ADMIN_ROUTES = admin_routes()


# Platform tables with no organization: organization staff may not reach them at all.
PLATFORM_MODELS = {Group, OutstandingToken, BlacklistedToken, DBTaskResult}


def a_object_of(model, world):
    a_token = OutstandingToken.objects.filter(user=world["a_admin"]).first()
    objects = {
        Lead: world["a_lead"],
        Customer: world["a_customer"],
        User: world["a_user"],
        Organization: world["a"],
        Webhook: world["a_webhook"],
        Delivery: world["a_delivery"],
        OutstandingToken: a_token,
        BlacklistedToken: BlacklistedToken.objects.get_or_create(token=a_token)[0],
        Group: Group.objects.get_or_create(name="Alpha Secret Group")[0],
        LeadImport: a_lead_import(world),
        AssignmentRule: world["a_rule"],
        Job: world["a_job"],
        ScoringModel: world["a_model"],
        DBTaskResult: DBTaskResult.objects.create(
            args_kwargs={"args": [str(world["a_lead"].pk)], "kwargs": {}},
            task_path="leads.tasks.alpha_secret_task",
            backend_name="default",
            run_after=timezone.now(),
        ),
    }
    if model not in objects:
        pytest.fail(f"Admin for {model.__name__}: teach test_tenant_isolation which of A's objects to use")
    return objects[model]


def a_lead_import(world):
    """A's import of a file, finished, with an error report: the admin's import pages must not show it to B."""
    content = b"name,email\nAlpha Secret Imported,imported@alpha.example\n,bad@alpha.example\n"
    return LeadImport.objects.create(
        organization=world["a"],
        created_by=world["a_admin"],
        file_name="Alpha Secret leads.csv",
        content=content,
        size=len(content),
        format="csv",
        encoding="utf-8",
        header=["name", "email"],
        mapping={"name": "name", "email": "email"},
        status=LeadImport.Status.DONE,
        error_report="line,errors,name,email\n3,name: This field may not be null.,,bad@alpha.example\n",
        skipped=1,
    )


def test_admin_routes_are_found():
    assert {model for _, model in ADMIN_ROUTES} >= {Lead, Customer, User, Organization, LeadImport}
    assert "admin/leads/leadimport/<path:object_id>/errors.csv" in {route for route, _ in ADMIN_ROUTES}


@pytest.mark.parametrize(("route", "model"), ADMIN_ROUTES, ids=[route for route, _ in ADMIN_ROUTES])
def test_admin_staff_of_another_organization_gets_404(world, route, model):
    staff = Client()
    staff.force_login(world["b_admin"])
    obj = a_object_of(model, world)
    names = path_parameters(route)
    unknown = set(names) - {"object_id", "id"}
    if unknown:
        pytest.fail(f"Admin route {route} has parameters {unknown}: teach test_tenant_isolation about them")
    path = fill(route, {name: obj.pk for name in names})
    markers = a_markers(world)
    before = snapshot(world)
    expected = (403, 404) if model in PLATFORM_MODELS else (404,)

    for method in ("get", "post"):
        data = {"post": "yes", "name": "Hacked", "organization": world["a"].pk}
        # follow: `<id>/` only redirects to `<id>/change/`, which must then be a 404.
        response = getattr(staff, method)(path, data, follow=True)
        assert response.status_code in expected, f"{method.upper()} {path} gave {response.status_code}"
        assert_reveals_nothing(response, markers, f"{method.upper()} {path}", sent=path)
    assert snapshot(world) == before


def admin_site_pages():
    """Admin pages of no model and without path parameters: the index, the dashboard, login, password change..."""
    return [
        route
        for route, callback in walk(get_resolver().url_patterns)
        if route.startswith("admin/") and getattr(callback, "model_admin", None) is None and not path_parameters(route)
    ]


ADMIN_SITE_PAGES = admin_site_pages()


def test_admin_site_pages_are_found():
    assert {"admin/", "admin/dashboard/"} <= set(ADMIN_SITE_PAGES)


@pytest.mark.parametrize("route", ADMIN_SITE_PAGES)
def test_admin_site_pages_show_nothing_of_another_organization(world, route):
    """Even asked for A's organization and source, B's staff see only B (the dashboard, Recent actions)."""
    LogEntry.objects.log_actions(
        user_id=world["a_admin"].pk, queryset=[world["a_lead"]], action_flag=CHANGE, change_message="Alpha Secret"
    )
    staff = Client()
    staff.force_login(world["b_admin"])
    markers = a_markers(world)
    before = snapshot(world)
    path = fill(route, {})
    response = staff.get(path, {"organization": str(world["a"].pk), "source": A_SOURCE, "period": 365})
    assert response.status_code < 500, f"GET {path} gave {response.status_code}"
    assert_reveals_nothing(response, markers, f"GET {path}", sent=A_SOURCE)
    assert snapshot(world) == before


def test_dashboard_shows_own_organization_only(world):
    staff = Client()
    staff.force_login(world["b_admin"])
    response = staff.get("/admin/dashboard/", {"organization": str(world["a"].pk), "period": 365})
    assert response.context["organization"] == world["b_lead"].organization
    assert [item["count"] for item in response.context["pipeline"]] == [0, 0, 1, 0, 0]


def test_admin_changelists_show_nothing_of_another_organization(world):
    a_lead_import(world)
    staff = Client()
    staff.force_login(world["b_admin"])
    markers = a_markers(world)
    for model in admin.site._registry:
        info = model._meta.app_label, model._meta.model_name
        response = staff.get(f"/admin/{info[0]}/{info[1]}/")
        assert response.status_code in (200, 403), f"{model.__name__} changelist gave {response.status_code}"
        assert_reveals_nothing(response, markers, f"{model.__name__} changelist")
