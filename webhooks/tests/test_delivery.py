"""Deliveries to a real HTTP receiver on 127.0.0.1, run by the worker's own loop in this process."""

import json
import socket
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from conftest import client_for
from webhooks.attempts import finish_attempt, start_attempt
from webhooks.models import Delivery
from webhooks.receiver import Answer, Receiver
from webhooks.sending import Outcome
from webhooks.tests.factories import WebhookFactory
from webhooks.tests.helpers import PORT, record, run_ready_tasks, verify

pytestmark = pytest.mark.django_db


@pytest.fixture
def fast_retries(settings):
    settings.WEBHOOK_RETRY_SCHEDULE = [0.05]
    settings.WEBHOOK_TIMEOUT_SECONDS = 1


def run_until(condition, timeout=10):
    """Run due tasks until `condition()` holds (retries come due a moment later)."""
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        run_ready_tasks()
        time.sleep(0.02)
    return condition()


def test_a_delivery_is_signed_and_verifies_with_the_stock_verifier(organization):
    webhook = WebhookFactory(organization=organization, url=f"http://127.0.0.1:{PORT}/hook")
    with Receiver(PORT, answers={"/hook": Answer(body=b"thanks")}) as receiver:
        event = record(organization, "lead.created", {"lead": {"name": "Ada"}})
        run_ready_tasks()
        [received] = receiver.wait_for(1, timeout=5)

    payload = verify(webhook, received)
    assert payload == {
        "id": str(event.pk),
        "type": "lead.created",
        "createdAt": payload["createdAt"],
        "organizationId": str(organization.pk),
        "actor": {"id": None, "via": "api"},
        "data": {"lead": {"name": "Ada"}},
    }
    delivery = Delivery.objects.get()
    assert received.headers["webhook-id"] == str(delivery.pk)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 1, 200)
    assert (delivery.last_response_body, delivery.next_attempt_at, delivery.delivered_at is not None) == (
        "thanks",
        None,
        True,
    )
    # The task written ahead for a retry is gone again.
    assert not DBTaskResult.objects.filter(status="READY").exists()


def test_a_receiver_failing_twice_gets_the_event_on_the_third_attempt(organization, fast_retries):
    webhook = WebhookFactory(organization=organization, url=f"http://127.0.0.1:{PORT}/flaky")
    with Receiver(PORT, answers={"/flaky": [500, 503, 204]}) as receiver:
        record(organization)
        assert run_until(lambda: Delivery.objects.get().status == "succeeded")
        received = receiver.received()

    assert len(received) == 3
    assert len({request.headers["webhook-id"] for request in received}) == 1
    for request in received:
        verify(webhook, request)
    delivery = Delivery.objects.get()
    assert (delivery.attempts, delivery.last_status_code, delivery.last_error) == (3, 204, "")
    webhook.refresh_from_db()
    assert webhook.failing_since is None


def test_redirects_are_not_followed(organization, fast_retries, settings):
    settings.WEBHOOK_RETRY_FOR_SECONDS = 0
    WebhookFactory(organization=organization, url=f"http://127.0.0.1:{PORT}/moved")
    answers = {"/moved": Answer(status=302, headers=(("Location", f"http://127.0.0.1:{PORT}/elsewhere"),))}
    with Receiver(PORT, answers=answers) as receiver:
        record(organization)
        run_ready_tasks()
        assert [request.path for request in receiver.received()] == ["/moved"]

    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.last_status_code, delivery.last_error) == (
        "failed",
        302,
        "The endpoint answered 302.",
    )


def test_no_answer_within_the_timeout_is_a_failure(organization, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 1
    WebhookFactory(organization=organization, url=f"http://127.0.0.1:{PORT}/slow")
    with Receiver(PORT, answers={"/slow": Answer(delay=3)}):
        record(organization)
        run_ready_tasks()

    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, None)
    assert delivery.last_error == "No answer within 1 s."
    assert 900 <= delivery.last_duration_ms < 2000


def test_the_response_is_kept_to_its_first_kilobyte(organization):
    WebhookFactory(organization=organization, url=f"http://127.0.0.1:{PORT}/chatty")
    with Receiver(PORT, answers={"/chatty": Answer(body=b"x" * 5000)}):
        record(organization)
        run_ready_tasks()

    assert Delivery.objects.get().last_response_body == "x" * 1024


def test_a_failed_delivery_after_the_retry_window_ends_failed(organization, fast_retries, settings):
    settings.WEBHOOK_RETRY_FOR_SECONDS = 0
    WebhookFactory(organization=organization, url=f"http://127.0.0.1:{PORT}/down")
    with Receiver(PORT, answers={"/down": 500}):
        record(organization)
        run_ready_tasks()

    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 1, None)
    assert not DBTaskResult.objects.filter(status="READY").exists()


def test_an_endpoint_failing_for_days_is_disabled_with_the_reason(organization, user, fast_retries, settings):
    settings.WEBHOOK_DISABLE_AFTER_SECONDS = 3 * 24 * 3600
    webhook = WebhookFactory(
        organization=organization,
        url=f"http://127.0.0.1:{PORT}/down",
        failing_since=timezone.now() - timedelta(days=3, minutes=1),
    )
    with Receiver(PORT, answers={"/down": 500}):
        record(organization)
        record(organization)
        run_ready_tasks()

    body = client_for(user).get(f"/webhooks/{webhook.pk}").json()
    assert body["isActive"] is False
    assert "every delivery attempt failed since" in body["disabledReason"]
    # The other delivery is not attempted any more, and nothing new is sent to it.
    assert sorted(Delivery.objects.values_list("status", flat=True)) == ["failed", "failed"]
    record(organization)
    assert Delivery.objects.count() == 2


def test_dns_changing_to_a_private_address_is_refused_at_delivery(organization, settings, monkeypatch):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    WebhookFactory(organization=organization, url="https://hooks.example.com/hook")
    # The host resolved to a public address when the webhook was saved; now it answers a private one.
    monkeypatch.setattr(
        socket, "getaddrinfo", lambda *args, **kwargs: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", 443))]
    )
    record(organization)
    run_ready_tasks()

    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.last_status_code, delivery.attempts) == ("pending", None, 1)
    assert "resolves to 10.0.0.7" in delivery.last_error


def test_one_attempt_in_flight_per_endpoint_and_the_next_starts_when_it_ends(organization):
    webhook = WebhookFactory(organization=organization)
    record(organization)
    record(organization)
    first, second = Delivery.objects.order_by("created_at", "id")

    in_flight = start_attempt(first.pk)
    assert start_attempt(second.pk) is None
    second.refresh_from_db()
    assert (second.status, second.task_id) == ("queued", None)

    finish_attempt(in_flight, Outcome(status_code=200))
    second.refresh_from_db()
    assert second.status == "pending"
    assert DBTaskResult.objects.filter(pk=second.task_id, status="READY").exists()
    assert webhook.deliveries.get(pk=first.pk).status == "succeeded"


def test_a_manual_retry_resends_with_the_same_webhook_id(organization, user, settings):
    settings.WEBHOOK_RETRY_FOR_SECONDS = 0
    webhook = WebhookFactory(organization=organization, url=f"http://127.0.0.1:{PORT}/later")
    with Receiver(PORT, answers={"/later": [500, 200]}) as receiver:
        record(organization)
        run_ready_tasks()
        delivery = Delivery.objects.get()
        assert delivery.status == "failed"
        response = client_for(user).post(f"/webhooks/deliveries/{delivery.pk}/retry")
        run_ready_tasks()
        first, second = receiver.wait_for(2, timeout=5)

    assert response.status_code == 202
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == str(delivery.pk)
    assert json.loads(verify(webhook, second) and second.body)["type"] == "lead.created"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("succeeded", 2)
