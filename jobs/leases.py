"""Leases of task workers: the tasks of a worker that stopped heartbeating are taken over.

django-tasks-db marks a task RUNNING when a worker claims it and SUCCESSFUL or FAILED when the
worker finishes it; a worker killed with `kill -9` (or whose machine or database connection died)
never finishes it, and the row stays RUNNING for ever. So every worker (our `db_worker`) writes a
heartbeat row every WORKER_HEARTBEAT_SECONDS, and sweeps: a RUNNING task whose worker has not beaten
for WORKER_LEASE_SECONDS is recovered, under a row lock so that two sweeping workers recover it once.

What recovering means depends on the task, so the apps that own tasks register a handler
(`on_worker_lost`) at start-up; this module knows none of them. A handler records on its own rows
what happened and says whether the task runs again (it resumes where its last commit left it); a task
without a handler, or lost TASK_MAX_ATTEMPTS times, is marked FAILED with the reason as its traceback.
"""

import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult, get_date_max

from jobs.models import WorkerHeartbeat

logger = logging.getLogger(__name__)

# Heartbeat rows of workers gone this long are deleted (their tasks were recovered long before).
FORGET_AFTER = timedelta(days=1)
# A name in the task row's exception column, so the admin and the API can tell this failure apart.
WORKER_LOST = "jobs.leases.WorkerLost"


@dataclass(frozen=True)
class LostTask:
    """What a handler learns of a task whose worker died."""

    args: list
    kwargs: dict
    reason: str  # one sentence for people: which worker, since when
    may_retry: bool  # False once the task has been lost TASK_MAX_ATTEMPTS times: the handler must end it


# task path ("leads.tasks.run_lead_import") -> handler(LostTask) -> True to run the task again
_handlers: dict[str, Callable[[LostTask], bool]] = {}
# Checks of work that runs outside tasks (e.g. in a web request), called with `now` on every sweep.
_sweepers: list[Callable] = []


def on_worker_lost(task):
    """Register what to do when a worker running `task` dies; called in the sweep's transaction."""

    def register(handler):
        _handlers[task.module_path] = handler
        return handler

    return register


def on_sweep(check):
    """Register a check that every sweep runs (after the tasks), for stale work that is not a task."""
    _sweepers.append(check)
    return check


def beat(worker_id: str, now=None) -> None:
    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id,
        defaults={"seen_at": now or timezone.now(), "hostname": socket.gethostname()[:255], "pid": os.getpid()},
    )


def forget(worker_id: str) -> None:
    """A worker that stops cleanly has finished its task: it leaves no lease behind."""
    WorkerHeartbeat.objects.filter(worker_id=worker_id).delete()


def sweep(now=None, *, sweeper: str | None = None) -> list[tuple[str, bool]]:
    """Recover the RUNNING tasks of dead workers; [(task id, whether it runs again)].

    `sweeper`: the worker that sweeps, alive by definition (its thread may have stalled between its beat
    and this sweep on a loaded machine: it must not take its own tasks for a dead worker's).
    """
    now = now or timezone.now()
    expired_before = now - timedelta(seconds=settings.WORKER_LEASE_SECONDS)
    heartbeats = dict(WorkerHeartbeat.objects.values_list("worker_id", "seen_at"))
    recovered = []
    with transaction.atomic():
        running = DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING).select_for_update(skip_locked=True)
        for task in running.order_by("started_at"):
            worker_id = task.worker_ids[-1] if task.worker_ids else None
            if sweeper is not None and worker_id == sweeper:
                continue
            # A worker without a heartbeat row is gone, or does not beat (the stock db_worker): it keeps the
            # lease for WORKER_LEASE_SECONDS from the task's start.
            seen_at = heartbeats.get(worker_id, task.started_at)
            if seen_at is not None and seen_at >= expired_before:
                continue
            recovered.append((str(task.pk), _recover(task, worker_id, seen_at, now)))
    for check in _sweepers:
        check(now)
    WorkerHeartbeat.objects.filter(seen_at__lt=now - FORGET_AFTER).delete()
    return recovered


def _recover(task: DBTaskResult, worker_id, seen_at, now) -> bool:
    since = f" since {seen_at:%Y-%m-%d %H:%M:%S %Z}" if seen_at else ""
    reason = (
        f"The worker running this task ({worker_id}) stopped answering{since}: "
        "it was killed, or lost its machine or its database connection."
    )
    handler = _handlers.get(task.task_path)
    lost = LostTask(
        args=task.args_kwargs.get("args", []),
        kwargs=task.args_kwargs.get("kwargs", {}),
        reason=reason,
        may_retry=len(task.worker_ids) < settings.TASK_MAX_ATTEMPTS,
    )
    retry = bool(handler(lost)) and lost.may_retry if handler else False
    if retry:
        task.status = TaskResultStatus.READY
        task.run_after = get_date_max()  # what the backend stores for "now"
        task.save(update_fields=["status", "run_after"])
        logger.warning("Task %s (%s) runs again: %s", task.pk, task.task_path, reason)
    else:
        task.status = TaskResultStatus.FAILED
        task.finished_at = now
        task.exception_class_path = WORKER_LOST
        task.traceback = reason
        task.save(update_fields=["status", "finished_at", "exception_class_path", "traceback"])
        logger.warning("Task %s (%s) failed: %s", task.pk, task.task_path, reason)
    return retry


class Heartbeat(threading.Thread):
    """Beats for a worker and sweeps, every WORKER_HEARTBEAT_SECONDS, in a thread with its own connection."""

    def __init__(self, worker_id: str):
        super().__init__(name=f"heartbeat-{worker_id}", daemon=True)
        self.worker_id = worker_id
        self.stopping = threading.Event()

    def run(self):
        try:
            while True:
                close_old_connections()
                try:
                    beat(self.worker_id)
                    sweep(sweeper=self.worker_id)
                except Exception:  # a lost database: the next beat tries again
                    logger.exception("Heartbeat of worker %s failed", self.worker_id)
                if self.stopping.wait(settings.WORKER_HEARTBEAT_SECONDS):
                    break
            forget(self.worker_id)
        finally:
            connection.close()

    def stop(self):
        self.stopping.set()
        self.join(timeout=10)
