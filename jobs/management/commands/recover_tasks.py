from django.core.management.base import BaseCommand

from jobs.leases import sweep


class Command(BaseCommand):
    help = (
        "Recover the tasks left running by dead workers (no heartbeat for WORKER_LEASE_SECONDS): each is run "
        "again or marked failed with the reason. Every db_worker does this on start and every few seconds."
    )

    def handle(self, **options):
        recovered = sweep()
        for task_id, retried in recovered:
            self.stdout.write(f"{task_id}: {'runs again' if retried else 'failed'}")
        self.stdout.write(f"{len(recovered)} task(s) recovered.")
