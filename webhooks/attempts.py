"""The life of a delivery in the worker: claim an attempt, send it, record the outcome.

At least once: before an attempt goes out, the task of the next attempt is already committed
(its run_after is the retry time). A worker killed mid-attempt therefore loses nothing: after the
retry delay the next attempt runs, with the same webhook-id. When the attempt succeeds, that task is
deleted again.

A slow endpoint does not hold up the others: at most WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT attempts to one
webhook are in flight at once, over all workers. A delivery that finds its endpoint busy is QUEUED, with
no task, and the attempt that ends next on that endpoint starts it. So a dead or slow endpoint occupies at
most that many workers (1 by default) while the other workers deliver to everyone else.

No transaction is open during the HTTP request. Row locks are always taken webhook first, then delivery.
"""

import random
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult, get_date_max

from webhooks.models import Delivery, Webhook
from webhooks.sending import Outcome, send

Status = Delivery.Status
# What an attempt changes on its delivery (saving only these leaves the body alone).
ATTEMPT_FIELDS = [
    "status",
    "attempts",
    "next_attempt_at",
    "sending_until",
    "task_id",
    "last_attempt_at",
    "last_status_code",
    "last_response_body",
    "last_error",
    "last_duration_ms",
    "delivered_at",
]
# The lease of an attempt outlives its timeout by this much before another worker may take it over.
LEASE_MARGIN = timedelta(seconds=5)


def retry_delay(attempts_made: int) -> timedelta:
    """The wait after the `attempts_made`-th failed attempt: the schedule's step, ±20 % jitter."""
    schedule = settings.WEBHOOK_RETRY_SCHEDULE
    base = schedule[min(attempts_made, len(schedule)) - 1]
    return timedelta(seconds=base * random.uniform(0.8, 1.2))  # noqa: S311 - jitter, not security


def schedule_task(delivery: Delivery, when=None) -> None:
    """Enqueue the task that attempts `delivery` at `when` (now if None); in the caller's transaction."""
    from webhooks.tasks import deliver  # the task module imports this one

    task = deliver.using(run_after=when) if when is not None else deliver
    delivery.task_id = task.enqueue(str(delivery.pk)).id


def schedule_tasks_now(deliveries: list[Delivery]) -> None:
    """Enqueue the first attempt of many deliveries at once (an import's fan-out), in the caller's transaction.

    The backend's enqueue writes one row per call; this writes the same rows, 1,000 per INSERT.
    """
    from webhooks.tasks import deliver

    backend = deliver.get_backend()
    if not isinstance(backend, DatabaseBackend):
        for delivery in deliveries:
            schedule_task(delivery)
        return
    rows = [
        DBTaskResult(
            id=backend._get_id(),
            args_kwargs={"args": [str(delivery.pk)], "kwargs": {}},
            priority=deliver.priority,
            task_path=deliver.module_path,
            queue_name=deliver.queue_name,
            run_after=get_date_max(),  # what the backend stores for "now"
            backend_name=backend.alias,
        )
        for delivery in deliveries
    ]
    DBTaskResult.objects.bulk_create(rows, batch_size=1000)
    for delivery, row in zip(deliveries, rows, strict=True):
        delivery.task_id = row.id


def cancel_task(delivery: Delivery) -> None:
    """Drop the delivery's scheduled task if no worker has picked it up yet (a worker that has, finds nothing to do)."""
    if delivery.task_id is not None:
        DBTaskResult.objects.filter(pk=delivery.task_id, status="READY").delete()
        delivery.task_id = None


def run_attempt(delivery_id) -> Outcome | None:
    """The whole attempt, as the task runs it; None when there was nothing to do."""
    delivery = start_attempt(delivery_id)
    if delivery is None:
        return None
    outcome = send(
        url=delivery.webhook.url, secret=delivery.webhook.secret, message_id=str(delivery.pk), body=delivery.body
    )
    finish_attempt(delivery, outcome)
    return outcome


@transaction.atomic
def start_attempt(delivery_id) -> Delivery | None:
    """Claim the delivery's next attempt, or return None: not due, done, or its endpoint busy (then QUEUED)."""
    webhook = Webhook.objects.select_for_update(of=("self",)).filter(deliveries=delivery_id).first()
    if webhook is None:
        return None  # deleted with its webhook
    delivery = Delivery.objects.select_for_update().get(pk=delivery_id)
    now = timezone.now()
    if not _is_due(delivery, now):
        return None
    if not webhook.is_active:
        _fail(delivery, error="The webhook is disabled.")
        return None
    in_flight = webhook.delivery_rows().filter(status=Status.SENDING, sending_until__gt=now).exclude(pk=delivery.pk)
    if in_flight.count() >= settings.WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT:
        delivery.status, delivery.next_attempt_at, delivery.task_id = Status.QUEUED, None, None
        delivery.save(update_fields=["status", "next_attempt_at", "task_id"])
        return None
    delivery.attempts += 1
    delivery.status = Status.SENDING
    delivery.last_attempt_at = now
    delivery.sending_until = now + timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS) + LEASE_MARGIN
    # Written ahead: if this worker dies during the attempt, this task makes the next one.
    delivery.next_attempt_at = max(now + retry_delay(delivery.attempts), delivery.sending_until)
    schedule_task(delivery, delivery.next_attempt_at)
    delivery.save(update_fields=ATTEMPT_FIELDS)
    delivery.webhook = webhook
    return delivery


def _is_due(delivery: Delivery, now) -> bool:
    if delivery.status == Status.SENDING:
        return delivery.sending_until <= now  # the worker of that attempt died: this is its retry
    if delivery.status != Status.PENDING:
        return False
    # A task left over from an earlier schedule (e.g. before a manual retry) finds it not yet due.
    return delivery.next_attempt_at is None or delivery.next_attempt_at <= now + timedelta(seconds=1)


@transaction.atomic
def finish_attempt(delivery: Delivery, outcome: Outcome) -> None:
    webhook = Webhook.objects.select_for_update().get(pk=delivery.webhook_id)
    current = Delivery.objects.select_for_update().filter(pk=delivery.pk).first()
    if current is None or current.status != Status.SENDING or current.attempts != delivery.attempts:
        return  # deleted, or taken over after our lease ran out: the newer attempt records its own outcome
    delivery = current
    now = timezone.now()
    delivery.last_status_code = outcome.status_code
    delivery.last_response_body = outcome.response_body
    delivery.last_error = outcome.error
    delivery.last_duration_ms = outcome.duration_ms
    delivery.sending_until = None
    if outcome.succeeded:
        cancel_task(delivery)
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = Status.SUCCEEDED, now, None
        if webhook.failing_since is not None:
            webhook.failing_since = None
            webhook.save(update_fields=["failing_since", "updated_at"])
    else:
        _note_failure(webhook, delivery.last_attempt_at, now)
        retry_window_end = delivery.created_at + timedelta(seconds=settings.WEBHOOK_RETRY_FOR_SECONDS)
        if not webhook.is_active or delivery.next_attempt_at > retry_window_end:
            cancel_task(delivery)
            delivery.status, delivery.next_attempt_at = Status.FAILED, None
        else:
            delivery.status = Status.PENDING
            _retry_after_outcome(delivery, now)
    delivery.save(update_fields=ATTEMPT_FIELDS)
    _start_next_queued(webhook)


def _retry_after_outcome(delivery: Delivery, now) -> None:
    """The task written ahead waits out the attempt's lease; once the attempt has failed, the retry delay suffices."""
    retry_at = max(delivery.last_attempt_at + retry_delay(delivery.attempts), now)
    if retry_at < delivery.next_attempt_at - timedelta(seconds=1):
        cancel_task(delivery)
        delivery.next_attempt_at = retry_at
        schedule_task(delivery, retry_at)


def _fail(delivery: Delivery, *, error: str) -> None:
    cancel_task(delivery)
    delivery.status, delivery.next_attempt_at, delivery.sending_until = Status.FAILED, None, None
    delivery.last_error = error
    delivery.save(update_fields=ATTEMPT_FIELDS)


def _note_failure(webhook: Webhook, attempted_at, now) -> None:
    """Remember since when the endpoint fails; disable it once every attempt has failed for long enough."""
    if webhook.failing_since is None:
        webhook.failing_since = attempted_at
        webhook.save(update_fields=["failing_since", "updated_at"])
        return
    if webhook.is_active and now - webhook.failing_since >= timedelta(seconds=settings.WEBHOOK_DISABLE_AFTER_SECONDS):
        webhook.is_active = False
        webhook.disabled_reason = (
            f"Disabled on {now:%Y-%m-%d %H:%M} UTC: every delivery attempt failed since "
            f"{webhook.failing_since:%Y-%m-%d %H:%M} UTC."
        )
        webhook.save(update_fields=["is_active", "disabled_reason", "updated_at"])
        fail_open_deliveries(webhook, "The webhook was disabled: every attempt failed for days.")


def fail_open_deliveries(webhook: Webhook, reason: str) -> None:
    """End the webhook's pending and queued deliveries as failed and drop their scheduled tasks."""
    open_deliveries = webhook.delivery_rows().filter(status__in=(Status.PENDING, Status.QUEUED))
    task_ids = [task_id for task_id in open_deliveries.values_list("task_id", flat=True) if task_id]
    DBTaskResult.objects.filter(pk__in=task_ids, status="READY").delete()
    open_deliveries.update(status=Status.FAILED, next_attempt_at=None, task_id=None, last_error=reason)


def _start_next_queued(webhook: Webhook) -> None:
    """The endpoint has a free slot: start the oldest delivery that waits for one."""
    queued = webhook.delivery_rows().select_for_update().filter(status=Status.QUEUED)
    queued = queued.order_by("created_at", "id").first()
    if queued is not None:
        queued.status, queued.next_attempt_at = Status.PENDING, timezone.now()
        schedule_task(queued)
        queued.save(update_fields=["status", "next_attempt_at", "task_id"])
