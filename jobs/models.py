from django.conf import settings
from django.db import models

from leadsite.ids import uuid7
from organizations.models import Organization
from organizations.scoping import OrganizationScopedQuerySet


class WorkerHeartbeat(models.Model):
    """A task worker that is alive: it updates `seen_at` every WORKER_HEARTBEAT_SECONDS (jobs/leases.py).

    A worker whose `seen_at` is older than WORKER_LEASE_SECONDS has lost the lease on the tasks it was
    running (it was killed, its machine died or it lost the database), and another worker takes them over.
    """

    worker_id = models.CharField(max_length=64, primary_key=True)  # the id db_worker records in DBTaskResult.worker_ids
    hostname = models.CharField(max_length=255, blank=True, default="")
    pid = models.PositiveIntegerField(null=True, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    seen_at = models.DateTimeField(db_index=True)

    def __str__(self):
        return f"worker {self.worker_id} ({self.hostname}:{self.pid})"


class Job(models.Model):
    """Long work of an organization that the task worker does in bounded transactions, and the API shows.

    What a kind of job does is registered by the app that owns it (jobs.services.register_runner);
    this app knows only its life: queued -> running -> succeeded / failed / cancelled, with progress.
    """

    class Kind(models.TextChoices):
        REASSIGN = "reassign", "Reassign leads"
        ROUTE = "route", "Route unassigned leads"

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting for the task worker"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    params = models.JSONField(default=dict, blank=True)  # what the request asked for, as the API took it
    total = models.PositiveIntegerField(default=0)  # items expected when it was queued
    done = models.PositiveIntegerField(default=0)  # items done, committed with them
    errors = models.JSONField(default=list, blank=True)  # [{"message", "code"}], as the API's error details
    result = models.JSONField(null=True, blank=True)  # what the synchronous request would have answered
    notice = models.TextField(blank=True, default="")  # e.g. that its worker died and it resumed
    task_id = models.CharField(max_length=64, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = OrganizationScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "-created_at"], name="job_org_created_idx")]

    def __str__(self):
        return f"{self.get_kind_display()} ({self.get_status_display().lower()})"

    @property
    def progress(self) -> int:
        if self.status == self.Status.SUCCEEDED:
            return 100
        return min(100, self.done * 100 // self.total) if self.total else 0
