import pytest
from rest_framework_simplejwt.tokens import RefreshToken

from conftest import PASSWORD, client_for
from leads.models import Lead
from leads.tests.factories import LeadFactory
from organizations.models import User
from organizations.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ADMIN_ONLY = {
    "error": "Forbidden",
    "details": [{"message": "Only an organization admin may do this.", "code": "permission_denied"}],
}
NOT_FOUND = {"error": "Not Found", "details": [{"message": "Not found.", "code": "not_found"}]}
NEW_USER = {"email": "New.Rep@Example.com", "name": "New Rep", "role": "sales_rep", "password": "a-long-Unusual-pass"}


def fields(response):
    return {item.get("field") for item in response.json()["details"]}


@pytest.fixture
def rep(organization):
    return UserFactory(organization=organization, role=User.Role.SALES_REP, name="Rita Rep", email="rita@example.com")


# GET /me


def test_me(api, user, organization):
    response = api.get("/me")
    assert response.status_code == 200
    assert response.json() == {
        "id": str(user.id),
        "email": user.email,
        "name": user.name,
        "role": "admin",
        "isActive": True,
        "availability": "available",
        "awayUntil": None,
        "createdAt": response.json()["createdAt"],
        "organization": {"id": str(organization.id), "name": organization.name, "slug": organization.slug},
    }
    assert response.json()["createdAt"].endswith("Z")
    assert api.get("/me/").json()["id"] == str(user.id)


def test_me_needs_a_token(anonymous):
    response = anonymous.get("/me")
    assert response.status_code == 401
    assert response.json()["error"] == "Unauthorized"


# GET /users


def test_list_shows_only_my_organization(api, user, rep, other_user):
    response = api.get("/users")
    assert response.status_code == 200
    body = response.json()
    assert {u["id"] for u in body["data"]} == {str(user.id), str(rep.id)}
    assert (body["total"], body["page"], body["limit"], body["totalPages"]) == (2, 1, 10, 1)
    assert set(body["data"][0]) == {"id", "email", "name", "role", "isActive", "availability", "awayUntil", "createdAt"}


def test_any_member_can_list_and_read(organization, rep):
    reader = client_for(UserFactory(organization=organization, role=User.Role.READ_ONLY))
    assert reader.get("/users").json()["total"] == 2
    assert reader.get(f"/users/{rep.id}").json()["email"] == "rita@example.com"


def test_list_filters_and_search(api, organization, user, rep):
    gone = UserFactory(organization=organization, name="Gone Rep", email="gone@example.com", is_active=False)
    reader = UserFactory(organization=organization, role=User.Role.READ_ONLY, name="Rob Reader")

    def ids(query):
        response = api.get(f"/users?{query}")
        assert response.status_code == 200, response.json()
        return {u["id"] for u in response.json()["data"]}

    assert ids("role=sales_rep") == {str(rep.id), str(gone.id)}
    assert ids("role=sales_rep&isActive=true") == {str(rep.id)}
    assert ids("isActive=false") == {str(gone.id)}
    assert ids("q=RITA") == {str(rep.id)}
    assert ids("q=gone@example") == {str(gone.id)}
    assert ids("role=read_only") == {str(reader.id)}


@pytest.mark.parametrize(
    ("query", "field"),
    [("role=boss", "role"), ("isActive=maybe", "isActive"), ("sortField=password", "sortField"), ("limit=0", "limit")],
)
def test_list_refuses_bad_parameters(api, query, field):
    response = api.get(f"/users?{query}")
    assert response.status_code == 400
    assert fields(response) == {field}


def test_list_sorts_and_pages(api, organization, user):
    user.name = "Mia"
    user.save()
    for name in ["Zoe", "Adam", "Lia"]:
        UserFactory(organization=organization, name=name)
    names = [u["name"] for u in api.get("/users?sortField=name&sortOrder=asc").json()["data"]]
    assert names == ["Adam", "Lia", "Mia", "Zoe"]
    page = api.get("/users?sortField=name&sortOrder=desc&limit=3&page=2").json()
    assert ([u["name"] for u in page["data"]], page["totalPages"]) == (["Adam"], 2)


def test_list_query_count_does_not_grow(api, organization, django_assert_num_queries):
    UserFactory.create_batch(3, organization=organization)
    with django_assert_num_queries(3):  # authentication, count, page
        api.get("/users")
    UserFactory.create_batch(20, organization=organization)
    with django_assert_num_queries(3):
        api.get("/users?limit=20")


# GET /users/{id}


def test_retrieve(api, rep):
    response = api.get(f"/users/{rep.id}")
    assert response.status_code == 200
    assert response.json()["name"] == "Rita Rep"


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_another_organizations_user_is_not_found(api, other_user, method):
    body = None if method == "get" else {"name": "Hacked"}  # for a GET, the test client sends data as a query
    response = getattr(api, method)(f"/users/{other_user.id}", body, format="json")
    assert response.status_code == 404
    assert response.json() == NOT_FOUND
    other_user.refresh_from_db()
    assert (other_user.name, other_user.is_active) != ("Hacked", False)
    assert other_user.is_active


def test_not_a_uuid_is_not_found(api):
    assert api.get("/users/not-a-uuid").status_code == 404


# POST /users


def test_admin_creates_a_user(api, anonymous, organization):
    response = api.post("/users/", NEW_USER, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert "password" not in body
    assert (body["email"], body["name"], body["role"], body["isActive"]) == (
        "new.rep@example.com",  # stored normalized (organizations.emails)
        "New Rep",
        "sales_rep",
        True,
    )
    created = User.objects.get(pk=body["id"])
    assert created.organization == organization
    assert not created.is_staff
    # The initial password works for logging in, with the email in any case.
    credentials = {"email": "new.rep@example.com", "password": NEW_USER["password"]}
    login = anonymous.post("/auth/token", credentials, format="json")
    assert login.status_code == 200


def test_created_user_role_defaults_to_sales_rep(api):
    body = {key: value for key, value in NEW_USER.items() if key != "role"}
    assert api.post("/users", body, format="json").json()["role"] == "sales_rep"


@pytest.mark.parametrize("password", ["short", "password123", "12345678901", "new.rep@example"])
def test_create_refuses_weak_passwords(api, password):
    response = api.post("/users", {**NEW_USER, "password": password}, format="json")
    assert response.status_code == 400
    assert fields(response) == {"password"}
    assert not User.objects.filter(email__iexact=NEW_USER["email"]).exists()


def test_the_schema_states_the_password_rules_the_api_applies(api, anonymous):
    schema = anonymous.get("/api/schema/?format=json").json()
    rules = schema["components"]["schemas"]["UserCreateRequest"]["properties"]["password"]
    assert (rules["minLength"], rules["pattern"], rules["writeOnly"]) == (8, r"\D", True)
    for rule in ("similar", "8 characters", "commonly used", "entirely numeric"):
        assert rule in rules["description"]

    for password in ("a" * (rules["minLength"] - 1), "1234567890123"):  # breaks minLength, breaks the pattern
        response = api.post("/users", {**NEW_USER, "password": password}, format="json")
        assert response.status_code == 400
        assert fields(response) == {"password"}


def test_probing_which_emails_exist_is_throttled_per_admin(api, other_user, user, settings):
    """Emails are global (docs/security.md): refused creations are counted, so an admin learns little."""
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "user_create_failures": "3/hour"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    assert api.post("/users", {**NEW_USER, "email": "fine@example.com"}, format="json").status_code == 201
    for i in range(3):
        probe = api.post("/users", {**NEW_USER, "email": f"probe{i}@elsewhere.example", "password": "1"}, format="json")
        assert probe.status_code == 400

    response = api.post("/users", {**NEW_USER, "email": other_user.email}, format="json")

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert api.get("/users").status_code == 200  # reading is not held up
    assert client_for(other_user).post("/users", {**NEW_USER, "password": "1"}, format="json").status_code == 400


def test_create_refuses_an_email_taken_in_any_organization_whatever_the_case(api, other_user):
    response = api.post("/users", {**NEW_USER, "email": other_user.email.upper()}, format="json")
    assert response.status_code == 400
    assert fields(response) == {"email"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": None}, "email"),
        ({"role": "owner"}, "role"),
        ({"password": None}, "password"),
    ],
)
def test_create_validates_fields(api, body, field):
    response = api.post("/users", {**NEW_USER, **body}, format="json")
    assert response.status_code == 400
    assert fields(response) == {field}


def test_create_refuses_an_organization_in_the_body(api, organization, other_organization):
    # Not a field of a user: an unknown field is a 400 naming it (issue 12), never read.
    response = api.post("/users", {**NEW_USER, "organization": str(other_organization.id)}, format="json")
    assert response.status_code == 400
    assert [(item["field"], item["code"]) for item in response.json()["details"]] == [
        ("organization", "unknown_parameter")
    ]
    response = api.post("/users", {**NEW_USER, "organizationId": str(other_organization.id)}, format="json")
    assert response.status_code == 400
    assert not User.objects.filter(email__iexact=NEW_USER["email"]).exists()


# Admin only


@pytest.mark.parametrize("role", [User.Role.SALES_REP, User.Role.READ_ONLY])
def test_only_admins_manage_users(organization, rep, role):
    api = client_for(UserFactory(organization=organization, role=role))
    for response in [
        api.post("/users", NEW_USER, format="json"),
        api.patch(f"/users/{rep.id}", {"role": "admin"}, format="json"),
        api.delete(f"/users/{rep.id}"),
    ]:
        assert response.status_code == 403
        assert response.json() == ADMIN_ONLY
    rep.refresh_from_db()
    assert (rep.role, rep.is_active) == ("sales_rep", True)
    assert not User.objects.filter(email__iexact=NEW_USER["email"]).exists()


def test_non_admin_gets_404_not_403_for_another_organizations_user(organization, other_user):
    api = client_for(UserFactory(organization=organization, role=User.Role.SALES_REP))
    assert api.patch(f"/users/{other_user.id}", {"name": "x"}, format="json").status_code == 404
    assert api.delete(f"/users/{other_user.id}").status_code == 404


def test_put_is_not_offered(api, rep):
    assert api.put(f"/users/{rep.id}", {"name": "x"}, format="json").status_code == 405


# PATCH /users/{id}


def test_admin_updates_name_role_and_active(api, rep):
    response = api.patch(f"/users/{rep.id}", {"name": "Rita R.", "role": "admin", "isActive": False}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["role"], body["isActive"]) == ("Rita R.", "admin", False)
    rep.refresh_from_db()
    assert (rep.name, rep.role, rep.is_active) == ("Rita R.", "admin", False)


def test_patch_does_not_change_email_or_password(api, rep):
    # email is read-only (shown, so sent back by GET, edit, PUT): ignored; password is no field here: a 400.
    response = api.patch(f"/users/{rep.id}", {"email": "changed@example.com"}, format="json")
    assert response.status_code == 200
    response = api.patch(f"/users/{rep.id}", {"email": "changed@example.com", "password": "x"}, format="json")
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "password"
    rep.refresh_from_db()
    assert rep.email == "rita@example.com"
    assert rep.check_password(PASSWORD)


def test_patch_refuses_an_unknown_role(api, rep):
    response = api.patch(f"/users/{rep.id}", {"role": "owner"}, format="json")
    assert response.status_code == 400
    assert fields(response) == {"role"}


@pytest.mark.parametrize("body", [{"role": "sales_rep"}, {"role": "read_only"}, {"isActive": False}])
def test_last_admin_cannot_be_demoted_or_deactivated(api, user, body):
    response = api.patch(f"/users/{user.id}", body, format="json")
    assert response.status_code == 409
    assert response.json()["error"] == "Conflict"
    user.refresh_from_db()
    assert (user.role, user.is_active) == ("admin", True)


def test_last_admin_can_be_renamed(api, user):
    assert api.patch(f"/users/{user.id}", {"name": "Still Admin", "role": "admin"}, format="json").status_code == 200


def test_an_admin_can_step_down_when_another_remains(api, organization, user):
    UserFactory(organization=organization, role=User.Role.ADMIN)
    response = api.patch(f"/users/{user.id}", {"role": "sales_rep"}, format="json")
    assert response.status_code == 200
    assert response.json()["role"] == "sales_rep"


def test_an_inactive_admin_does_not_count(api, organization, user):
    UserFactory(organization=organization, role=User.Role.ADMIN, is_active=False)
    assert api.delete(f"/users/{user.id}").status_code == 409


# DELETE /users/{id}


def test_delete_deactivates(api, rep):
    lead = LeadFactory(organization=rep.organization, assigned_to=rep)
    response = api.delete(f"/users/{rep.id}")
    assert response.status_code == 204
    rep.refresh_from_db()
    assert not rep.is_active
    assert Lead.objects.get(pk=lead.pk).assigned_to == rep
    assert api.get(f"/users/{rep.id}").json()["isActive"] is False
    # Deleting again changes nothing.
    assert api.delete(f"/users/{rep.id}/").status_code == 204


def test_last_admin_cannot_be_deleted(api, user):
    response = api.delete(f"/users/{user.id}")
    assert response.status_code == 409
    user.refresh_from_db()
    assert user.is_active


def test_a_deactivated_user_can_be_reactivated(api, rep):
    api.delete(f"/users/{rep.id}")
    assert api.patch(f"/users/{rep.id}", {"isActive": True}, format="json").json()["isActive"] is True


# What a deactivated user can no longer do


def test_deactivated_user_cannot_log_in(api, anonymous, rep):
    credentials = {"email": rep.email, "password": PASSWORD}
    assert anonymous.post("/auth/token", credentials, format="json").status_code == 200
    api.delete(f"/users/{rep.id}")
    response = anonymous.post("/auth/token", credentials, format="json")
    assert response.status_code == 401
    assert response.json()["error"] == "Unauthorized"


def test_deactivated_user_cannot_refresh_or_use_tokens(api, anonymous, rep):
    refresh = RefreshToken.for_user(rep)
    rep_api = client_for(rep)
    api.delete(f"/users/{rep.id}")
    response = anonymous.post("/auth/token/refresh", {"refresh": str(refresh)}, format="json")
    assert response.status_code == 401
    assert response.json()["error"] == "Unauthorized"
    assert rep_api.get("/me").status_code == 401


def test_deleted_user_cannot_refresh(anonymous, rep):
    refresh = str(RefreshToken.for_user(rep))
    rep.delete()
    response = anonymous.post("/auth/token/refresh", {"refresh": refresh}, format="json")
    assert response.status_code == 401
    assert response.json()["error"] == "Unauthorized"


def test_reactivating_does_not_revive_old_refresh_tokens(api, anonymous, rep):
    refresh = RefreshToken.for_user(rep)
    api.delete(f"/users/{rep.id}")
    api.patch(f"/users/{rep.id}", {"isActive": True}, format="json")
    response = anonymous.post("/auth/token/refresh", {"refresh": str(refresh)}, format="json")
    assert response.status_code == 401


@pytest.mark.parametrize("method", ["post", "patch"])
def test_deactivated_user_cannot_be_newly_assigned(api, organization, rep, method):
    lead = LeadFactory(organization=organization)
    api.delete(f"/users/{rep.id}")
    if method == "post":
        response = api.post("/leads", {"name": "New", "assignedTo": str(rep.id)}, format="json")
    else:
        response = api.patch(f"/leads/{lead.id}", {"assignedTo": str(rep.id)}, format="json")
    assert response.status_code == 400
    assert fields(response) == {"assignedTo"}
    assert not Lead.objects.filter(assigned_to=rep).exists()


def test_deactivated_users_leads_still_listed_by_assignee(api, organization, rep):
    leads = LeadFactory.create_batch(2, organization=organization, assigned_to=rep)
    LeadFactory(organization=organization)
    api.delete(f"/users/{rep.id}")
    expected = {str(lead.id) for lead in leads}
    assert {lead["id"] for lead in api.get(f"/leads?assignedTo={rep.id}").json()["data"]} == expected
    assert {lead["id"] for lead in api.get(f"/leads/assigned-to/{rep.id}").json()["data"]} == expected


def test_leads_assigned_to_another_organizations_user_is_not_found(api, other_user):
    assert api.get(f"/leads/assigned-to/{other_user.id}").status_code == 404
