"""A generated organization with a planted truth, for the scoring tests.

A lead converts (once resolved) with a probability set by its source, customFields.industry, the
kind of its email and whether it has a phone. The company name is correlated with the email kind
(a company address nearly always comes with one, free mail rarely) but adds nothing of its own;
customFields.country and the manual score are noise; customFields.ref has a value per lead (too
many values to be a feature).
"""

import math
import random
from datetime import timedelta

from django.utils import timezone

from customers.models import Customer
from leads.models import Lead, LeadStatus

BASELINE = -0.9
SOURCES = {"referral": 1.4, "website": 0.2, "trade_show": 0.6, "cold_call": -1.5, "social_media": -0.4}
INDUSTRIES = {"Technology": 0.9, "Finance": 0.3, "Retail": -0.4, "Education": -1.1}
EMAIL = {"company": 0.8, "free": -0.7}
PHONE = 0.7
FREE_DOMAINS = ("gmail.com", "yahoo.com", "hotmail.com")


def true_probability(lead: Lead) -> float:
    kind = "free" if lead.email.split("@", 1)[1] in FREE_DOMAINS else "company"
    logit = BASELINE + SOURCES[lead.source] + INDUSTRIES[lead.custom_fields["industry"]] + EMAIL[kind]
    logit += PHONE if lead.phone else 0.0
    return 1 / (1 + math.exp(-logit))


def planted_leads(organization, *, resolved: int, open_: int, seed: int = 7, start=None) -> list[Lead]:
    """`resolved` converted or unqualified leads (drawn from the truth), then `open_` new ones, oldest first."""
    rng = random.Random(seed)
    start = start or timezone.now() - timedelta(days=365)
    customer = Customer.objects.create(organization=organization, company_name="Planted Customer")
    leads = []
    for n in range(resolved + open_):
        free = rng.random() < 0.45
        domain = rng.choice(FREE_DOMAINS) if free else f"firm{rng.randint(1, 400)}.{rng.choice(['com', 'io', 'de'])}"
        has_company = rng.random() < (0.2 if free else 0.92)
        lead = Lead(
            organization=organization,
            name=f"Planted {seed}-{n}",
            email=f"p{seed}-{n}@{domain}",
            phone="555-0100" if rng.random() < 0.55 else None,
            company=f"Company {n}" if has_company else None,
            source=rng.choices(list(SOURCES), weights=[15, 35, 15, 20, 15])[0],
            score=rng.choice([None, rng.randint(0, 100)]),
            custom_fields={
                "industry": rng.choices(list(INDUSTRIES), weights=[30, 25, 25, 20])[0],
                "country": rng.choice(["US", "DE", "FR"]),
                "ref": f"R{seed}-{n}",
            },
        )
        lead.created_at = start + timedelta(minutes=n)
        if n < resolved:
            converted = rng.random() < true_probability(lead)
            lead.status = LeadStatus.CONVERTED if converted else LeadStatus.UNQUALIFIED
            if converted:
                lead.converted_customer, lead.converted_at = customer, lead.created_at + timedelta(days=3)
        leads.append(lead)
    Lead.objects.bulk_create(leads, batch_size=500)
    # auto_now_add wrote the time of the insert: the planted order of creation is what the split reads.
    _set_created_at(leads)
    return leads


def _set_created_at(leads):
    by_pk = {lead.pk: lead.created_at for lead in leads}
    rows = list(Lead.objects.filter(pk__in=list(by_pk)).only("pk"))
    for row in rows:
        row.created_at = by_pk[row.pk]
    Lead.objects.bulk_update(rows, ["created_at"], batch_size=500)
