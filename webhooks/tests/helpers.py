"""What the webhook tests share: making events, running the worker's queue in-process, verifying deliveries."""

from unittest import mock

from django.db import transaction
from django_tasks_db.management.commands.db_worker import Worker
from standardwebhooks.webhooks import Webhook as Verifier

from events.services import new_event, record_events

# This engineer's ports; the subprocess tests use the rest of 8160-8169.
PORT = 8160


def record(organization, event_type="lead.created", data=None):
    """One event, recorded in a transaction as a service would."""
    with transaction.atomic():
        return record_events([new_event(event_type, organization_id=organization.pk, data=data or {"n": 1})])[0]


def run_ready_tasks():
    """Run every task that is due, in this process, the way `db_worker --batch` does.

    Without closing the connection between tasks: it holds the test's transaction.
    """
    worker = Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
        excluded_queue_names=[],
    )
    with mock.patch("django_tasks_db.management.commands.db_worker.close_old_connections"):
        worker.run()


def verify(webhook, received):
    """The body as the receiver's stock verifier accepts it (raises WebhookVerificationError otherwise)."""
    return Verifier(webhook.secret).verify(received.body, received.headers)
