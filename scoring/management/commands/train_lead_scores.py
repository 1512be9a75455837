"""manage.py train_lead_scores [--organization SLUG]: train lead scoring models now, in this process."""

from django.core.management.base import BaseCommand, CommandError

from organizations.models import Organization
from scoring import services
from scoring.models import ScoringModel


class Command(BaseCommand):
    help = (
        "Train the lead scoring model of one organization (--organization SLUG) or of every active one, now, and "
        "re-score their open leads. The task worker does the same nightly (SCORING_RETRAIN_HOURS)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--organization", metavar="SLUG", help="Only this organization.")

    def handle(self, *args, organization=None, **options):
        organizations = Organization.objects.filter(is_active=True).order_by("slug")
        if organization is not None:
            organizations = Organization.objects.filter(slug=organization)
            if not organizations.exists():
                raise CommandError(f"No organization with the slug '{organization}'.")
        for org in organizations:
            row = services.train_now(organization=org)
            self.stdout.write(f"{org.slug}: {describe(row)}")


def describe(row: ScoringModel) -> str:
    counts = row.counts
    learned = f"{counts['leads']} resolved leads ({counts['converted']} converted, {counts['unqualified']} unqualified)"
    if row.status != ScoringModel.Status.READY:
        needed = ", ".join(f"{n} more {what}" for what, n in counts.get("needed", {}).items() if n)
        return f"version {row.version} insufficient_data: {learned}; needs {needed}"
    auc = row.quality.get("rocAuc")
    return (
        f"version {row.version} ready from {learned}; held-out AUC {auc}, Brier {row.quality.get('brier')} "
        f"(baseline {row.quality.get('baselineBrier')}); {row.seconds:.1f} s"
    )
