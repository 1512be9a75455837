"""The /webhooks API: an organization admin's CRUD, secrets, tests, deliveries and retries."""

import base64

import pytest
from django_tasks_db.models import DBTaskResult

from conftest import client_for
from organizations.models import User
from organizations.tests.factories import UserFactory
from webhooks.models import Delivery, Webhook
from webhooks.tests.factories import WebhookFactory

pytestmark = pytest.mark.django_db

BODY = {"url": "http://127.0.0.1:8160/hook", "events": ["lead.created", "lead.converted"], "description": "Billing"}


def test_create_answers_the_secret_once(api, organization):
    response = api.post("/webhooks", BODY, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["url"] == BODY["url"]
    assert body["events"] == ["lead.created", "lead.converted"]
    assert (body["description"], body["isActive"], body["disabledReason"]) == ("Billing", True, "")
    assert body["secret"].startswith("whsec_") and len(base64.b64decode(body["secret"][6:])) == 32
    webhook = Webhook.objects.get(pk=body["id"])
    assert (webhook.organization, webhook.secret) == (organization, body["secret"])
    assert "secret" not in api.get(f"/webhooks/{webhook.pk}").json()
    assert "secret" not in api.get("/webhooks").json()["data"][0]


def test_list_is_paginated_like_other_lists(api, organization, other_organization):
    for number in range(3):
        WebhookFactory(organization=organization, url=f"http://127.0.0.1:8160/{number}")
    WebhookFactory(organization=other_organization)

    body = api.get("/webhooks?limit=2").json()

    assert (body["total"], body["page"], body["limit"], body["totalPages"]) == (3, 1, 2, 2)
    assert [hook["url"] for hook in body["data"]] == ["http://127.0.0.1:8160/2", "http://127.0.0.1:8160/1"]


def test_bad_input_is_refused_with_every_mistake_at_once(api):
    response = api.post("/webhooks", {"url": "ftp://x", "events": ["lead.created", "no.such"]}, format="json")

    assert response.status_code == 400
    fields = {detail["field"] for detail in response.json()["details"]}
    assert fields == {"url", "events.1"}
    assert not Webhook.objects.exists()


@pytest.mark.parametrize(
    ("events", "status"), [([], 400), (["*", "lead.created"], 400), ("lead.created", 400), (["*"], 201)]
)
def test_events_are_a_list_of_types_or_star_alone(api, events, status):
    assert api.post("/webhooks", {**BODY, "events": events}, format="json").status_code == status


def test_update_delete_and_rotate(api, organization):
    webhook = WebhookFactory(organization=organization)
    old_secret = webhook.secret

    changed = api.patch(f"/webhooks/{webhook.pk}", {"events": ["customer.created"], "description": "x"}, format="json")
    rotated = api.post(f"/webhooks/{webhook.pk}/rotate-secret")

    assert changed.status_code == 200 and changed.json()["events"] == ["customer.created"]
    assert "secret" not in changed.json()
    assert rotated.status_code == 200
    webhook.refresh_from_db()
    assert rotated.json()["secret"] == webhook.secret != old_secret
    assert api.delete(f"/webhooks/{webhook.pk}").status_code == 204
    assert not Webhook.objects.exists()


def test_re_enabling_a_disabled_webhook_clears_the_reason(api, organization):
    webhook = WebhookFactory(organization=organization, is_active=False, disabled_reason="Every attempt failed.")

    body = api.patch(f"/webhooks/{webhook.pk}", {"isActive": True}, format="json").json()

    assert (body["isActive"], body["disabledReason"], body["failingSince"]) == (True, "", None)


def test_test_event_goes_to_this_webhook_alone(api, user, organization):
    webhook = WebhookFactory(organization=organization)
    other = WebhookFactory(organization=organization)

    response = api.post(f"/webhooks/{webhook.pk}/test")

    assert response.status_code == 202
    body = response.json()
    assert (body["eventType"], body["status"], body["attempts"], body["webhookId"]) == (
        "webhook.test",
        "pending",
        0,
        str(webhook.pk),
    )
    delivery = Delivery.objects.get()
    assert delivery.webhook == webhook and not other.deliveries.exists()
    assert DBTaskResult.objects.filter(pk=delivery.task_id, status="READY").exists()
    assert f'"actor":{{"id":"{user.pk}","via":"api"}}' in delivery.body


def test_a_disabled_webhook_refuses_test_and_retry(api, organization):
    webhook = WebhookFactory(organization=organization, is_active=False)
    delivery = Delivery.objects.create(
        organization=organization, webhook=webhook, event_id=webhook.pk, event_type="lead.created", body="{}"
    )

    assert api.post(f"/webhooks/{webhook.pk}/test").status_code == 409
    assert api.post(f"/webhooks/deliveries/{delivery.pk}/retry").status_code == 409


def test_deliveries_newest_first_and_retry(api, organization):
    webhook = WebhookFactory(organization=organization)
    first = Delivery.objects.create(
        organization=organization,
        webhook=webhook,
        event_id=webhook.pk,
        event_type="lead.created",
        body="{}",
        status=Delivery.Status.FAILED,
        attempts=11,
        last_status_code=500,
        last_response_body="boom",
        last_duration_ms=12,
    )
    api.post(f"/webhooks/{webhook.pk}/test")

    listed = api.get(f"/webhooks/{webhook.pk}/deliveries").json()
    retried = api.post(f"/webhooks/deliveries/{first.pk}/retry")

    assert [item["eventType"] for item in listed["data"]] == ["webhook.test", "lead.created"]
    assert listed["total"] == 2
    old = listed["data"][1]
    assert (old["status"], old["attempts"], old["responseStatusCode"], old["responseBody"], old["durationMs"]) == (
        "failed",
        11,
        500,
        "boom",
        12,
    )
    assert retried.status_code == 202
    assert (retried.json()["status"], retried.json()["nextAttemptAt"] is not None) == ("pending", True)
    first.refresh_from_db()
    assert DBTaskResult.objects.filter(pk=first.task_id, status="READY").exists()


@pytest.mark.parametrize("role", [User.Role.SALES_REP, User.Role.READ_ONLY])
def test_only_organization_admins_manage_webhooks(organization, role):
    webhook = WebhookFactory(organization=organization)
    member = client_for(UserFactory(organization=organization, role=role))

    assert member.get("/webhooks").status_code == 403
    assert member.get(f"/webhooks/{webhook.pk}").status_code == 403
    assert member.post("/webhooks", BODY, format="json").status_code == 403
    assert member.post(f"/webhooks/{webhook.pk}/test").status_code == 403
    assert not Delivery.objects.exists()


def test_another_organizations_webhook_is_a_404(other_api, organization):
    webhook = WebhookFactory(organization=organization)

    assert other_api.get(f"/webhooks/{webhook.pk}").status_code == 404
    assert other_api.post(f"/webhooks/{webhook.pk}/test").status_code == 404
    assert other_api.get(f"/webhooks/{webhook.pk}/deliveries").status_code == 404
    assert other_api.get("/webhooks/not-a-uuid").status_code == 404
    assert not Delivery.objects.exists()
