"""Deliveries by real `manage.py db_worker` processes (PostgreSQL: they need the test database)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from webhooks.models import Delivery
from webhooks.receiver import Answer, Receiver
from webhooks.tests.factories import WebhookFactory
from webhooks.tests.helpers import record, verify

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PORT = 8161
ROOT = Path(__file__).resolve().parents[2]


def start_worker(**settings):
    database = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        "WEBHOOK_ALLOW_PRIVATE_URLS": "true",
        **{name: str(value) for name, value in settings.items()},
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--interval", "0.1", "--no-reload", "--no-startup-delay", "-v0"],
        cwd=ROOT,
        env=env,
    )


def stop(*workers):
    for worker in workers:
        if worker.poll() is None:
            worker.kill()
        worker.wait(timeout=10)


def other_connections():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def wait_until(condition, timeout):
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return condition()


def test_a_worker_killed_mid_delivery_delivers_the_same_webhook_id_after_restart(organization):
    webhook = WebhookFactory(organization=organization, url=f"http://127.0.0.1:{PORT}/stall")
    settings = {"WEBHOOK_TIMEOUT_SECONDS": 2, "WEBHOOK_RETRY_SCHEDULE": 0.5}
    with Receiver(PORT, answers={"/stall": [Answer(delay=30), 200]}) as receiver:
        first_worker = start_worker(**settings)
        try:
            record(organization)
            assert len(receiver.wait_for(1, timeout=30)) == 1
            os.kill(first_worker.pid, signal.SIGKILL)  # mid-delivery: the receiver has not answered
        finally:
            stop(first_worker)
        second_worker = start_worker(**settings)
        try:
            requests = receiver.wait_for(2, timeout=30)
            assert wait_until(lambda: Delivery.objects.get().status == "succeeded", timeout=10)
        finally:
            stop(second_worker)

    first, second = requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == str(Delivery.objects.get().pk)
    assert verify(webhook, first) == verify(webhook, second)
    assert Delivery.objects.get().attempts == 2


def test_a_slow_endpoint_does_not_delay_the_others(organization):
    slow = WebhookFactory(organization=organization, url=f"http://127.0.0.1:{PORT}/slow")
    fast = WebhookFactory(organization=organization, url=f"http://127.0.0.1:{PORT}/fast")
    settings = {"WEBHOOK_TIMEOUT_SECONDS": 8, "WEBHOOK_RETRY_SCHEDULE": 60}
    with Receiver(PORT, answers={"/slow": Answer(delay=20)}) as receiver:
        workers = [start_worker(**settings), start_worker(**settings)]
        try:
            assert wait_until(lambda: other_connections() >= 2, timeout=30)  # both workers polling
            recorded_at = time.time()
            for _ in range(5):
                record(organization)
            fast_requests = receiver.wait_for(5, timeout=15, path="/fast")
            slow_requests = receiver.received("/slow")
        finally:
            stop(*workers)

    # All five reached the fast endpoint while the slow one still held its first request.
    assert len(fast_requests) == 5
    assert max(request.at for request in fast_requests) - recorded_at < 3
    assert len(slow_requests) == 1
    for request in fast_requests:
        verify(fast, request)
    # One attempt in flight to the slow endpoint; its other deliveries wait for it, without holding a worker.
    statuses = list(slow.deliveries.values_list("status", flat=True))
    assert statuses.count("sending") == 1 and set(statuses) <= {"sending", "queued", "pending"}
