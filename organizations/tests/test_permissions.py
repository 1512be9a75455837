import pytest

from conftest import client_for
from leads.models import Lead
from leads.tests.factories import LeadFactory
from organizations.models import User
from organizations.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

FORBIDDEN = {
    "error": "Forbidden",
    "details": [{"message": "Your role does not allow this action.", "code": "permission_denied"}],
}


@pytest.fixture
def lead(organization):
    return LeadFactory(organization=organization, status="qualified")


def member(organization, role):
    return client_for(UserFactory(organization=organization, role=role))


def test_read_only_member_reads(organization, lead):
    api = member(organization, User.Role.READ_ONLY)
    assert api.get("/leads").status_code == 200
    assert api.get(f"/leads/{lead.id}").status_code == 200
    assert api.get("/leads/stats/scoring").status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/leads", {"name": "New"}),
        ("put", "/leads/{id}", {"name": "Renamed"}),
        ("patch", "/leads/{id}", {"name": "Renamed"}),
        ("delete", "/leads/{id}", None),
        ("post", "/leads/{id}/convert-to-customer", None),
    ],
)
def test_read_only_member_cannot_write(organization, lead, method, path, body):
    api = member(organization, User.Role.READ_ONLY)
    response = getattr(api, method)(path.format(id=lead.id), body, format="json")
    assert response.status_code == 403
    assert response.json() == FORBIDDEN
    lead.refresh_from_db()
    assert (lead.name, lead.status) != ("Renamed", "converted")
    assert Lead.objects.count() == 1


def test_sales_rep_writes_but_does_not_delete(organization, lead):
    api = member(organization, User.Role.SALES_REP)
    assert api.post("/leads", {"name": "New"}, format="json").status_code == 201
    assert api.patch(f"/leads/{lead.id}", {"name": "Renamed"}, format="json").status_code == 200
    assert api.post(f"/leads/{lead.id}/convert-to-customer").status_code == 201
    response = api.delete(f"/leads/{lead.id}")
    assert response.status_code == 403
    assert response.json() == FORBIDDEN
    assert Lead.objects.filter(pk=lead.pk).exists()


def test_admin_deletes(api, lead):
    assert api.delete(f"/leads/{lead.id}").status_code == 204
    assert not Lead.objects.filter(pk=lead.pk).exists()


@pytest.mark.parametrize("role", [User.Role.READ_ONLY, User.Role.SALES_REP])
def test_another_organizations_object_stays_not_found(organization, other_organization, role):
    other_lead = LeadFactory(organization=other_organization)
    api = member(organization, role)
    assert api.delete(f"/leads/{other_lead.id}").status_code == 404
    assert api.delete("/leads/not-a-uuid").status_code == 404
    if role == User.Role.READ_ONLY:
        assert api.patch(f"/leads/{other_lead.id}", {"name": "x"}, format="json").status_code == 404
        assert api.post(f"/leads/{other_lead.id}/convert-to-customer").status_code == 404
    assert Lead.objects.filter(pk=other_lead.pk).exists()


def test_read_only_member_can_log_out(organization, anonymous):
    reader = UserFactory(organization=organization, role=User.Role.READ_ONLY)
    tokens = anonymous.post("/auth/token", {"email": reader.email, "password": "correct-horse-battery"}, format="json")
    refresh = tokens.json()["refresh"]
    assert client_for(reader).post("/auth/logout", {"refresh": refresh}, format="json").status_code == 204


def test_is_organization_admin(rf, organization):
    from organizations.permissions import IsOrganizationAdmin

    permission = IsOrganizationAdmin()
    request = rf.get("/users")
    for role, allowed in [(User.Role.ADMIN, True), (User.Role.SALES_REP, False), (User.Role.READ_ONLY, False)]:
        request.user = UserFactory(organization=organization, role=role)
        assert permission.has_permission(request, view=None) is allowed


@pytest.fixture
def customer(organization):
    from customers.tests.factories import CustomerFactory

    return CustomerFactory(organization=organization)


def test_customers_follow_the_same_roles(organization, customer):
    from customers.models import Customer

    reader = member(organization, User.Role.READ_ONLY)
    rep = member(organization, User.Role.SALES_REP)
    assert reader.get(f"/customers/{customer.id}").status_code == 200
    assert reader.patch(f"/customers/{customer.id}", {"companyName": "X"}, format="json").json() == FORBIDDEN
    assert rep.patch(f"/customers/{customer.id}", {"companyName": "X"}, format="json").status_code == 200
    assert rep.delete(f"/customers/{customer.id}").json() == FORBIDDEN
    assert Customer.objects.filter(pk=customer.pk).exists()


@pytest.mark.parametrize("role", [User.Role.READ_ONLY, User.Role.SALES_REP])
def test_only_admins_manage_users(organization, role):
    client = member(organization, role)
    colleague = UserFactory(organization=organization)
    response = client.patch(f"/users/{colleague.id}", {"name": "Renamed"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"] == "Forbidden"
    colleague.refresh_from_db()
    assert colleague.name != "Renamed"


def test_read_only_member_cannot_reassign_leads(organization, user):
    rep = UserFactory(organization=organization)
    response = member(organization, User.Role.READ_ONLY).post(
        "/leads/reassign", {"fromUserId": str(rep.id), "toUserId": str(user.id)}, format="json"
    )
    assert response.json() == FORBIDDEN
