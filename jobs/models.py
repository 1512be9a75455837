from django.db import models


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
