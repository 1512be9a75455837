"""A job's life: queued with its task, claimed by a worker, progress committed with each chunk, ended.

What a kind of job does is its app's (`register_runner`): a runner does its work in bounded
transactions, calls `job_progress` inside each one (so the job's `done` commits with the work it
counts, and a run resumed after a dead worker starts exactly where the last commit left it), and
returns the job's result. It raises JobFailed for an outcome the user must hear of.
"""

from collections.abc import Callable

from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from jobs.models import Job
from leadsite.errors import Conflict

Status = Job.Status
_runners: dict[str, Callable[[Job], dict]] = {}


class JobStopped(Exception):
    """The job is no longer running (cancelled, or taken over by another worker): the current chunk rolls back."""


class JobFailed(Exception):
    def __init__(self, errors: list[dict]):
        super().__init__("; ".join(error["message"] for error in errors))
        self.errors = errors


def register_runner(kind: str):
    def register(runner):
        _runners[kind] = runner
        return runner

    return register


def runner_for(kind: str) -> Callable[[Job], dict]:
    return _runners[kind]


@transaction.atomic
def job_create(*, organization, user, kind: str, params: dict, total: int) -> Job:
    """A queued job and its task, in one transaction: no job without its task, no task without its job."""
    from jobs.tasks import run_job  # the task module imports this one

    job = Job.objects.create(organization=organization, created_by=user, kind=kind, params=params, total=total)
    job.task_id = str(run_job.enqueue(str(job.pk)).id)
    job.save(update_fields=["task_id"])
    return job


def job_claim(job_id) -> Job | None:
    """queued -> running, once (a conditional UPDATE under the row's lock); None if it is not queued."""
    now = timezone.now()
    claimed = Job.objects.filter(pk=job_id, status=Status.QUEUED).update(
        status=Status.RUNNING, started_at=Coalesce(F("started_at"), Value(now))
    )
    return Job.objects.select_related("organization", "created_by").get(pk=job_id) if claimed else None


def job_progress(job: Job, items: int) -> None:
    """Count `items` done, in the caller's transaction (the one that did them); JobStopped if it stopped running."""
    counted = Job.objects.filter(pk=job.pk, status=Status.RUNNING, done=job.done).update(
        done=F("done") + items, total=Greatest(F("total"), F("done") + items)
    )
    if not counted:
        raise JobStopped(f"Job {job.pk} is no longer running here.")
    job.done += items


def job_succeed(job: Job, result: dict) -> None:
    _end(job, Status.SUCCEEDED, result=result)


def job_fail(job: Job, errors: list[dict]) -> None:
    _end(job, Status.FAILED, errors=errors)


def _end(job: Job, status: str, **fields) -> None:
    Job.objects.filter(pk=job.pk, status=Status.RUNNING).update(status=status, finished_at=timezone.now(), **fields)


@transaction.atomic
def job_cancel(*, job: Job) -> Job:
    """A queued job never starts; a running one stops before its next chunk (the chunks done stay done)."""
    job = Job.objects.select_for_update().get(pk=job.pk)
    if job.status in Job.FINISHED:
        raise Conflict(f"The job has ended ({job.status}); there is nothing to cancel.")
    job.status, job.finished_at = Status.CANCELLED, timezone.now()
    job.save(update_fields=["status", "finished_at"])
    return job
