"""Work for the task worker (`manage.py db_worker`), and what happens to it when a worker dies."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django_tasks import task
from rest_framework.exceptions import ValidationError

from jobs.leases import LostTask, on_sweep, on_worker_lost
from jobs.models import Job
from jobs.services import JobFailed, job_progress, register_runner
from leads import tallies
from leads.lead_imports import lead_import_claim, lead_import_run
from leads.models import LeadImport
from leads.services import lead_reassign
from organizations.models import User

Status = LeadImport.Status
# An import run at once (in the request) that is still "running" after this long lost its request.
RUN_AT_ONCE_GIVEN_UP_AFTER = timedelta(minutes=10)


@task()
def run_lead_import(import_id: str) -> None:
    """Run an import that was too large to run in the request, or resume it after its worker died."""
    lead_import = lead_import_claim(import_id)
    if lead_import is not None:  # not twice, if the task is delivered again
        lead_import_run(lead_import)


@on_worker_lost(run_lead_import)
def resume_or_fail_import(lost: LostTask) -> bool:
    """The import resumes after its committed rows; after TASK_MAX_ATTEMPTS lost workers it fails, saying why."""
    lead_import = LeadImport.objects.select_for_update().filter(pk=lost.args[0]).first()
    if lead_import is None or lead_import.status not in (Status.QUEUED, Status.RUNNING):
        return False
    written = f"{lead_import.committed_rows:,} rows"
    if lost.may_retry:
        lead_import.status = Status.QUEUED
        lead_import.notice = f"{lost.reason} The import resumes after the {written} already written."
        lead_import.save(update_fields=["status", "notice"])
        return True
    lead_import.status = Status.FAILED
    lead_import.failure = (
        f"{lost.reason} It stopped after {written} were written, and was given up after its workers died "
        "several times. Import the file again with upsert by email to complete it without duplicates."
    )
    lead_import.finished_at = timezone.now()
    lead_import.save(update_fields=["status", "failure", "finished_at"])
    return False


@on_sweep
def fail_imports_whose_request_died(now) -> None:
    """A small import runs in its request; if that process died (killed, timed out), the import says so."""
    LeadImport.objects.filter(
        status=Status.RUNNING, task_id="", started_at__lt=now - RUN_AT_ONCE_GIVEN_UP_AFTER
    ).update(
        status=Status.FAILED,
        finished_at=now,
        failure="The web request running this import ended before the import did (its process was stopped).",
    )


# The tallies' sweep looks for organizations to compact at most this often (one indexed count of the unfolded rows).
TALLY_SWEEP_EVERY = timedelta(minutes=1)
_tallies_swept_at = None


@on_sweep
def compact_tallies_when_due(now) -> None:
    """Fold the tally rows of organizations that single writes have piled up (routing sums them on every decision)."""
    global _tallies_swept_at
    if _tallies_swept_at is not None and now - _tallies_swept_at < TALLY_SWEEP_EVERY:
        return
    _tallies_swept_at = now
    tallies.compact_where_due()


# -- Reassign as a job ------------------------------------------------------------------------------

# Leads moved per transaction: each chunk locks at most this many rows, for about a second.
REASSIGN_CHUNK = 5_000


@register_runner(Job.Kind.REASSIGN)
def reassign_in_chunks(job: Job) -> dict:
    """Move the leads in chunks, each with its history, its events and the job's progress in one transaction.

    A chunk takes the leads that still belong to fromUserId, so after a dead worker the next run moves
    exactly the rest: every lead moved, recorded and evented once.
    """
    params = job.params
    members = User.objects.filter(organization=job.organization)
    from_user = members.filter(pk=params["fromUserId"]).first()
    to_user = members.filter(pk=params["toUserId"]).first()
    if from_user is None or to_user is None:
        raise JobFailed([{"message": "The user no longer exists.", "code": "not_found"}])
    while True:
        with transaction.atomic():
            try:
                moved = lead_reassign(
                    organization=job.organization,
                    from_user=from_user,
                    to_user=to_user,
                    statuses=params.get("status"),
                    user=job.created_by,
                    limit=REASSIGN_CHUNK,
                )
            except ValidationError as exc:  # toUserId was deactivated meanwhile
                raise JobFailed(job_errors(exc.detail)) from None
            job_progress(job, moved)
        if moved < REASSIGN_CHUNK:
            return {"reassigned": job.done}


def job_errors(detail) -> list[dict]:
    return [
        {"message": str(message), "field": field, "code": getattr(message, "code", "invalid")}
        for field, messages in detail.items()
        for message in messages
    ]
