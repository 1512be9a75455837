from datetime import timedelta
from functools import partial

import pytest
from django.core.management import call_command
from django.utils import timezone

from conftest import client_for, run_at_once
from customers.models import Customer
from idempotency.models import IdempotencyKey
from leads.models import Lead, LeadStatus
from leads.tests.factories import LeadFactory
from organizations.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def create_lead(client, key, **body):
    return client.post("/leads", {"name": "Acme", **body}, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_a_retry_returns_the_first_response_without_creating_again(api):
    first = create_lead(api, "key-1", email="a@example.com")
    retry = create_lead(api, "key-1", email="a@example.com")

    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert Lead.objects.count() == 1


def test_the_same_key_with_another_body_is_422(api):
    assert create_lead(api, "key-1", name="Acme").status_code == 201

    response = create_lead(api, "key-1", name="Other")

    assert response.status_code == 422
    assert response.json() == {
        "error": "Unprocessable Entity",
        "details": [
            {
                "message": "This Idempotency-Key was already used with a different request.",
                "code": "idempotency_key_reused",
            }
        ],
    }
    assert Lead.objects.count() == 1


def test_without_a_key_every_request_does_the_work(api):
    api.post("/leads", {"name": "Acme"}, format="json")
    api.post("/leads", {"name": "Acme"}, format="json")
    assert Lead.objects.count() == 2


def test_keys_belong_to_the_user_in_their_organization(api, organization, other_api):
    colleague = client_for(UserFactory(organization=organization))
    for client in (api, colleague, other_api):
        assert create_lead(client, "shared-key").status_code == 201
    assert Lead.objects.count() == 3


def test_a_key_expires_after_24_hours(api):
    create_lead(api, "key-1")
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=24, seconds=1))

    assert create_lead(api, "key-1", name="Other").status_code == 201
    assert Lead.objects.count() == 2
    assert IdempotencyKey.objects.count() == 1


def test_a_failed_request_records_nothing_so_its_retry_runs(api):
    assert create_lead(api, "key-1", score=1000).status_code == 400
    assert not IdempotencyKey.objects.exists()

    assert create_lead(api, "key-1", score=10).status_code == 201
    assert Lead.objects.count() == 1


@pytest.mark.parametrize("key", ["", "k" * 256])
def test_a_malformed_key_is_400(api, key):
    response = create_lead(api, key)
    assert response.status_code == 400
    assert response.json()["details"] == [
        {"message": "Must be 1 to 255 characters.", "field": "Idempotency-Key", "code": "invalid"}
    ]
    assert not Lead.objects.exists()


def test_a_retried_conversion_returns_the_first_response(api, organization):
    lead = LeadFactory(organization=organization, status=LeadStatus.QUALIFIED)
    url = f"/leads/{lead.id}/convert-to-customer"

    first = api.post(url, HTTP_IDEMPOTENCY_KEY="convert-1")
    retry = api.post(url, HTTP_IDEMPOTENCY_KEY="convert-1")

    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert Customer.objects.count() == 1
    # Without the key, the second conversion is refused as before.
    assert api.post(url).status_code == 409


def test_a_refused_conversion_records_no_key(api, organization):
    lead = LeadFactory(organization=organization, status=LeadStatus.UNQUALIFIED)
    assert api.post(f"/leads/{lead.id}/convert-to-customer", HTTP_IDEMPOTENCY_KEY="k").status_code == 409
    assert not IdempotencyKey.objects.exists()
    assert not Customer.objects.exists()


def test_the_same_key_on_another_endpoint_is_422(api, organization):
    lead = LeadFactory(organization=organization, status=LeadStatus.QUALIFIED)
    assert create_lead(api, "k").status_code == 201
    assert api.post(f"/leads/{lead.id}/convert-to-customer", HTTP_IDEMPOTENCY_KEY="k").status_code == 422
    assert not Customer.objects.exists()


def test_purge_deletes_only_expired_keys(api, capsys):
    create_lead(api, "old")
    create_lead(api, "new")
    IdempotencyKey.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=25))

    call_command("purge_idempotency_keys")

    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]
    assert "Deleted 1 expired idempotency keys." in capsys.readouterr().out


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_requests_with_one_key_do_the_work_once(user):
    client = client_for(user)
    count = 8
    responses = run_at_once([partial(create_lead, client, "same-key", email="race@example.com") for _ in range(count)])

    assert [response.status_code for response in responses] == [201] * count
    assert len({response.json()["id"] for response in responses}) == 1
    assert Lead.objects.count() == 1
    assert IdempotencyKey.objects.count() == 1


@pytest.mark.parametrize(("path", "success"), [("/leads", "201"), ("/leads/{id}/convert-to-customer", "201")])
def test_the_schema_documents_the_header_the_422_and_the_replay(path, success):
    from drf_spectacular.generators import SchemaGenerator

    operation = SchemaGenerator().get_schema(request=None, public=True)["paths"][path]["post"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in operation["parameters"])
    assert "422" in operation["responses"]
    assert "Idempotent-Replayed" in operation["responses"][success]["headers"]
