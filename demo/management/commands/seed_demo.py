from django.core.management import call_command
from django.core.management.base import BaseCommand

from demo.history import DAYS
from demo.seeding import DEMO_PASSWORD, seed_demo
from leads.models import Lead


class Command(BaseCommand):
    help = (
        "Create the demo organization, its members and six months of leads, customers, history and events "
        "(idempotent: an organization that has leads gets none)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--migrate",
            action="store_true",
            help="Apply the migrations first, in the same process (make run starts Django once instead of twice).",
        )

    def handle(self, *args, **options):
        if options["migrate"]:
            call_command("migrate", interactive=False, verbosity=0)
        seeded = seed_demo()
        organization = seeded.organization
        if seeded.leads:
            summary = f"{seeded.leads:,} leads over the last {DAYS} days"
        else:
            summary = f"{Lead.objects.for_organization(organization).count():,} leads (already there)"
        self.stdout.write(f"Demo organization: {organization.name} ({organization.slug}), {summary}")
        model = seeded.scoring_model
        if model is not None:
            quality = model.quality or {}
            self.stdout.write(
                f"Lead scoring model: version {model.version} {model.status}, learned from {model.counts['leads']:,} "
                f"resolved leads (held-out AUC {quality.get('rocAuc')}); GET /scoring/model"
            )
        for _, user in seeded.members:
            self.stdout.write(f"Log in as {user.email} with password {DEMO_PASSWORD} ({user.get_role_display()})")
