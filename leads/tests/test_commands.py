import pytest
from django.core.management import call_command

from leads.models import Lead
from organizations.models import Organization, User

pytestmark = pytest.mark.django_db


def test_seed_demo_is_idempotent_and_its_login_works(client):
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    call_command("seed_demo", stdout=open("/dev/null", "w"))

    organization = Organization.objects.get(slug="demo")
    assert User.objects.filter(organization=organization).count() == 1
    assert 24 <= Lead.objects.for_organization(organization).count() <= 60
    response = client.post(
        "/auth/token", {"email": "demo@example.com", "password": "demo-leads-2025"}, content_type="application/json"
    )
    assert response.status_code == 200
