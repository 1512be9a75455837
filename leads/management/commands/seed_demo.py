import random

from django.core.management.base import BaseCommand
from django.db import transaction

from leads.models import Lead, LeadStatus
from organizations.emails import normalize_email
from organizations.models import Organization, User

DEMO_SLUG = "demo"
DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-leads-2025"
SOURCES = ["website", "referral", "trade_show", "cold_call", "social_media", "content_marketing", "paid_advertising"]
COMPANIES = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Wonka", "Soylent", "Tyrell"]


class Command(BaseCommand):
    help = "Create a demo organization, a demo user and a few dozen leads (idempotent)."

    @transaction.atomic
    def handle(self, *args, **options):
        organization, _ = Organization.objects.get_or_create(slug=DEMO_SLUG, defaults={"name": "Demo Organization"})
        user = User.objects.filter(email=normalize_email(DEMO_EMAIL)).first()
        if user is None:
            user = User.objects.create_user(
                email=DEMO_EMAIL,
                password=DEMO_PASSWORD,
                name="Demo Admin",
                organization=organization,
                role=User.Role.ADMIN,
                is_staff=True,
            )
        if not Lead.objects.for_organization(organization).exists():
            Lead.objects.bulk_create(self._demo_leads(organization, user))
        self.stdout.write(f"Demo organization: {organization.name} ({organization.slug})")
        self.stdout.write(f"Log in as {DEMO_EMAIL} with password {DEMO_PASSWORD}")

    def _demo_leads(self, organization, user):
        rng = random.Random(42)
        statuses = [s for s in LeadStatus.values if s != LeadStatus.CONVERTED]
        for number in range(1, 41):
            company = f"{rng.choice(COMPANIES)} {rng.choice(['Corp', 'Ltd', 'GmbH', 'Inc'])}"
            yield Lead(
                organization=organization,
                name=f"Contact {number} at {company}",
                email=f"contact{number}@{company.split()[0].lower()}.example.com",
                phone=f"555-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
                company=company,
                source=rng.choice(SOURCES),
                status=rng.choice(statuses),
                score=rng.choice([None, *range(0, 101)]),
                assigned_to=user if number % 3 == 0 else None,
                custom_fields={"industry": rng.choice(["Technology", "Retail", "Finance"])},
            )
