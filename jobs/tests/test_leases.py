"""Leases of task workers: the running tasks of a worker that stopped heartbeating are recovered, once."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from jobs import leases
from jobs.models import WorkerHeartbeat
from leads import lead_imports
from leads.models import LeadImport
from leads.tasks import run_lead_import
from webhooks.attempts import start_attempt
from webhooks.models import Delivery
from webhooks.tests.factories import WebhookFactory
from webhooks.tests.helpers import record

pytestmark = pytest.mark.django_db


def running(task_result, worker_id, started_ago=timedelta(minutes=5), earlier_workers=()):
    row = DBTaskResult.objects.get(pk=task_result.id)
    row.status = "RUNNING"
    row.started_at = timezone.now() - started_ago
    row.worker_ids = [*earlier_workers, worker_id]
    row.save()
    return row


def heartbeat(worker_id, ago):
    leases.beat(worker_id, now=timezone.now() - ago)


def queued_import(organization, user, rows=3):
    content = "name,email\n" + "".join(f"Lead {n},lead{n}@x.test\n" for n in range(rows))
    options = {"upsert": "", "extra_to_custom_fields": False, "default_assignee": None}
    lead_import = lead_imports.lead_import_create(
        organization=organization, user=user, file_name="leads.csv", content=content.encode(), options=options
    )
    LeadImport.objects.filter(pk=lead_import.pk).update(status="running", committed_rows=2)
    return lead_import, run_lead_import.enqueue(str(lead_import.pk))


def test_a_task_of_a_worker_that_stopped_beating_runs_again_and_its_import_resumes(organization, user, settings):
    settings.WORKER_LEASE_SECONDS = 30
    lead_import, task = queued_import(organization, user)
    running(task, "dead")
    heartbeat("dead", ago=timedelta(seconds=31))

    assert leases.sweep() == [(str(task.id), True)]

    row = DBTaskResult.objects.get(pk=task.id)
    assert row.status == "READY" and row.worker_ids == ["dead"]
    lead_import.refresh_from_db()
    assert lead_import.status == "queued"
    assert "(dead) stopped answering" in lead_import.notice and "resumes after the 2 rows" in lead_import.notice


def test_a_live_worker_keeps_its_tasks(organization, user, settings):
    settings.WORKER_LEASE_SECONDS = 30
    lead_import, task = queued_import(organization, user)
    running(task, "alive", started_ago=timedelta(hours=2))
    heartbeat("alive", ago=timedelta(seconds=10))

    assert leases.sweep() == []

    assert DBTaskResult.objects.get(pk=task.id).status == "RUNNING"
    assert LeadImport.objects.get(pk=lead_import.pk).status == "running"


def test_a_worker_without_heartbeats_keeps_the_lease_from_the_tasks_start(organization, user, settings):
    settings.WORKER_LEASE_SECONDS = 30
    _, task = queued_import(organization, user)
    running(task, "stock-worker", started_ago=timedelta(seconds=5))
    assert leases.sweep() == []
    running(task, "stock-worker", started_ago=timedelta(seconds=40))
    assert leases.sweep() == [(str(task.id), True)]


def test_a_task_lost_too_often_fails_with_the_reason_and_so_does_its_import(organization, user, settings):
    settings.TASK_MAX_ATTEMPTS = 3
    lead_import, task = queued_import(organization, user)
    running(task, "third", earlier_workers=["first", "second"])

    assert leases.sweep() == [(str(task.id), False)]

    row = DBTaskResult.objects.get(pk=task.id)
    assert row.status == "FAILED" and row.exception_class_path == leases.WORKER_LOST
    assert "The worker running this task (third) stopped answering" in row.traceback
    lead_import.refresh_from_db()
    assert lead_import.status == "failed" and lead_import.finished_at is not None
    assert "stopped after 2 rows were written" in lead_import.failure


def test_a_lost_delivery_attempt_says_so_and_waits_for_its_next_attempt(organization):
    WebhookFactory(organization=organization, url="http://127.0.0.1:9/hook")
    record(organization)
    delivery = Delivery.objects.get()
    task_id = delivery.task_id
    assert start_attempt(delivery.pk) is not None  # the worker is sending it when it dies
    delivery.refresh_from_db()
    next_task, next_attempt_at = delivery.task_id, delivery.next_attempt_at
    running(DBTaskResult.objects.get(pk=task_id), "dead")

    assert leases.sweep() == [(str(task_id), False)]

    row = DBTaskResult.objects.get(pk=task_id)
    assert row.status == "FAILED" and "(dead) stopped answering" in row.traceback
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.attempts == 1
    assert "The attempt got no outcome; the next attempt comes at" in delivery.last_error
    assert (delivery.task_id, delivery.next_attempt_at) == (next_task, next_attempt_at)
    assert DBTaskResult.objects.get(pk=next_task).status == "READY"


def test_a_lost_task_whose_row_is_gone_fails_with_the_reason(settings):
    from webhooks.tasks import deliver

    task = deliver.enqueue("00000000-0000-0000-0000-000000000000")  # no such delivery
    running(task, "dead")
    assert leases.sweep() == [(str(task.id), False)]
    assert DBTaskResult.objects.get(pk=task.id).exception_class_path == leases.WORKER_LOST


def test_an_import_run_in_a_request_that_died_is_failed(organization, user):
    lead_import, _ = queued_import(organization, user)
    LeadImport.objects.filter(pk=lead_import.pk).update(task_id="", started_at=timezone.now() - timedelta(minutes=11))
    leases.sweep()
    lead_import.refresh_from_db()
    assert lead_import.status == "failed" and "web request running this import ended" in lead_import.failure


def test_a_sweeping_worker_never_takes_its_own_tasks_for_a_dead_workers(organization, user, settings):
    """Its thread may stall between its beat and its sweep on a loaded machine."""
    settings.WORKER_LEASE_SECONDS = 30
    _, task = queued_import(organization, user)
    running(task, "me")
    heartbeat("me", ago=timedelta(seconds=31))
    assert leases.sweep(sweeper="me") == []
    assert leases.sweep(sweeper="another") == [(str(task.id), True)]


def test_heartbeats_of_workers_gone_a_day_are_forgotten():
    heartbeat("old", ago=timedelta(days=2))
    heartbeat("recent", ago=timedelta(minutes=1))
    leases.sweep()
    assert list(WorkerHeartbeat.objects.values_list("worker_id", flat=True)) == ["recent"]
