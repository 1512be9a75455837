"""The webhook admin: an organization admin manages their webhooks and retries deliveries; others see nothing."""

import pytest
from django.test import Client

from organizations.models import User
from organizations.tests.factories import UserFactory
from webhooks.models import Delivery, Webhook
from webhooks.tests.factories import WebhookFactory

pytestmark = pytest.mark.django_db


def staff_client(organization, role=User.Role.ADMIN):
    client = Client()
    client.force_login(UserFactory(organization=organization, role=role, is_staff=True))
    return client


def test_an_organization_admin_creates_a_webhook_and_sees_its_secret_once(organization):
    client = staff_client(organization)

    response = client.post(
        "/admin/webhooks/webhook/add/",
        {"url": "http://127.0.0.1:8160/admin", "event_types": ["lead.created"], "description": "", "is_active": "on"},
        follow=True,
    )

    webhook = Webhook.objects.get()
    assert (webhook.organization, webhook.event_types) == (organization, ["lead.created"])
    assert webhook.secret in response.content.decode()
    assert webhook.secret not in client.get(f"/admin/webhooks/webhook/{webhook.pk}/change/").content.decode()


def test_disabled_reason_shows_and_deliveries_are_listed_and_retried(organization):
    webhook = WebhookFactory(organization=organization, is_active=True, disabled_reason="")
    delivery = Delivery.objects.create(
        organization=organization,
        webhook=webhook,
        event_id=webhook.pk,
        event_type="lead.created",
        body="{}",
        status=Delivery.Status.FAILED,
    )
    client = staff_client(organization)

    listed = client.get("/admin/webhooks/delivery/")
    retried = client.post(
        "/admin/webhooks/delivery/", {"action": "retry", "_selected_action": [str(delivery.pk)]}, follow=True
    )

    assert listed.status_code == 200 and "lead.created" in listed.content.decode()
    assert retried.status_code == 200
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.task_id is not None


def test_a_webhook_disabled_by_the_worker_shows_why(organization):
    webhook = WebhookFactory(organization=organization, is_active=False, disabled_reason="Failing since X.")

    page = staff_client(organization).get(f"/admin/webhooks/webhook/{webhook.pk}/change/")

    assert "Failing since X." in page.content.decode()


@pytest.mark.parametrize("role", [User.Role.SALES_REP, User.Role.READ_ONLY])
def test_other_roles_have_no_webhook_admin(organization, role):
    webhook = WebhookFactory(organization=organization)
    client = staff_client(organization, role)

    assert client.get("/admin/webhooks/webhook/").status_code == 403
    assert client.get(f"/admin/webhooks/webhook/{webhook.pk}/change/").status_code == 403
    assert client.get("/admin/webhooks/delivery/").status_code == 403


def test_the_webhook_page_links_to_its_deliveries(organization):
    webhook, other = WebhookFactory(organization=organization), WebhookFactory(organization=organization)
    for hook, event_type in ((webhook, "lead.created"), (other, "customer.deleted")):
        Delivery.objects.create(
            organization=organization, webhook=hook, event_id=hook.pk, event_type=event_type, body=""
        )
    client = staff_client(organization)

    page = client.get(f"/admin/webhooks/webhook/{webhook.pk}/change/").content.decode()
    listed = client.get(f"/admin/webhooks/delivery/?webhook__id__exact={webhook.pk}")

    assert f"delivery/?webhook__id__exact={webhook.pk}" in page
    assert listed.status_code == 200
    assert [delivery.event_type for delivery in listed.context["cl"].result_list] == ["lead.created"]
