from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from organizations.models import Organization, User
from organizations.tests.factories import OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-Unusual-pass"


def create_organization(*args):
    out = StringIO()
    call_command("create_organization", *args, stdout=out)
    return out.getvalue()


def test_creates_an_organization_and_its_first_admin_who_can_log_in():
    output = create_organization("Acme Sales", "--admin-email", "Boss@Acme.example", "--admin-password", PASSWORD)

    organization = Organization.objects.get(slug="acme-sales")
    admin = User.objects.get(organization=organization)
    assert (organization.name, admin.email, admin.role, admin.is_active) == (
        "Acme Sales",
        "boss@acme.example",  # stored normalized
        "admin",
        True,
    )
    assert str(organization.id) in output and str(admin.id) in output
    assert PASSWORD not in output

    client = APIClient()
    login = client.post("/auth/token", {"email": "boss@acme.example", "password": PASSWORD}, format="json")
    assert login.status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {login.json()['access']}")
    me = client.get("/me").json()
    assert (me["role"], me["organization"]["slug"]) == ("admin", "acme-sales")
    # The first admin manages the members from then on.
    body = {"email": "rep@acme.example", "name": "Rep", "password": PASSWORD}
    assert client.post("/users", body, format="json").status_code == 201


def test_prints_a_random_password_when_none_is_given():
    output = create_organization("Beta", "--slug", "beta", "--admin-email", "admin@beta.example")
    password = output.split("Password:")[1].strip()
    assert User.objects.get(email="admin@beta.example").check_password(password)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Taken", "--slug", "taken", "--admin-email", "new@example.com"], "already exists"),
        (["New", "--admin-email", "TAKEN@example.com"], "already exists"),
        (["New", "--admin-email", "new@example.com", "--admin-password", "123"], "Password refused"),
        (["!!!", "--admin-email", "new@example.com"], "slug"),
    ],
)
def test_refuses_bad_input_and_creates_nothing(args, message):
    UserFactory(organization=OrganizationFactory(slug="taken"), email="taken@example.com")
    with pytest.raises(CommandError, match=message):
        create_organization(*args)
    assert Organization.objects.count() == 1
    assert User.objects.count() == 1
