from django.core.management.base import BaseCommand

from idempotency.models import IdempotencyKey


class Command(BaseCommand):
    help = "Delete Idempotency-Key records older than 24 hours (run it daily, e.g. from cron)."

    def handle(self, *args, **options):
        deleted, _ = IdempotencyKey.objects.expired().delete()
        self.stdout.write(f"Deleted {deleted} expired idempotency keys.")
