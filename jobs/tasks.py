"""The task that runs every job, and what a dead worker means for a job."""

import logging

from django.utils import timezone
from django_tasks import task

from jobs.leases import LostTask, on_worker_lost
from jobs.models import Job
from jobs.services import JobFailed, JobStopped, job_claim, job_fail, job_succeed, runner_for

logger = logging.getLogger(__name__)


@task()
def run_job(job_id: str) -> None:
    """Run a queued job, or resume it after its worker died (its runner starts where the last commit left it)."""
    job = job_claim(job_id)
    if job is None:  # cancelled, or already run: a task delivered twice does nothing
        return
    try:
        result = runner_for(job.kind)(job)
    except JobStopped:
        return
    except JobFailed as exc:
        job_fail(job, exc.errors)
        return
    except Exception as exc:  # the job says what happened; the worker's log has the traceback
        logger.exception("Job %s failed", job.pk)
        job_fail(job, [{"message": f"Stopped after {job.done} items: {exc}", "code": "server_error"}])
        return
    job_succeed(job, result)


@on_worker_lost(run_job)
def resume_or_fail_job(lost: LostTask) -> bool:
    job = Job.objects.select_for_update().filter(pk=lost.args[0]).first()
    if job is None or job.status not in (Job.Status.QUEUED, Job.Status.RUNNING):
        return False
    if lost.may_retry:
        job.status = Job.Status.QUEUED
        job.notice = f"{lost.reason} The job resumes after the {job.done:,} items already done."
        job.save(update_fields=["status", "notice"])
        return True
    job.status, job.finished_at = Job.Status.FAILED, timezone.now()
    message = f"{lost.reason} It was given up after its workers died several times, with {job.done:,} items done."
    job.errors = [{"message": message, "code": "server_error"}]
    job.save(update_fields=["status", "finished_at", "errors"])
    return False
