from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from events.models import Event
from events.selectors import events_older_than

BATCH = 10_000


class Command(BaseCommand):
    help = "Delete events older than EVENT_RETENTION_DAYS (30) days (run it daily, e.g. from cron)."

    def handle(self, *args, **options):
        cutoff = timezone.now() - timedelta(days=settings.EVENT_RETENTION_DAYS)
        deleted = 0
        while ids := list(events_older_than(cutoff).values_list("pk", flat=True)[:BATCH]):
            deleted += Event.objects.filter(pk__in=ids).delete()[1].get(Event._meta.label, 0)
        self.stdout.write(f"Deleted {deleted} events older than {settings.EVENT_RETENTION_DAYS} days.")
