"""Reads of leads that are more than a filtered list. Every one starts from for_organization."""

from django.db.models import Avg, CharField, Count, F, Func, Q, Value
from django.db.models.functions import Lower, Replace

from leads.models import SCORE_BANDS, Lead, LeadHistory


def lead_list(*, organization):
    return Lead.objects.for_organization(organization)


def lead_scoring_stats(*, organization, top: int = 5) -> dict:
    """Average score, counts per band and the top scorers, computed by the database.

    Leads without a score stay out of the average and the bands.
    """
    leads = Lead.objects.for_organization(organization)
    bands = {band: Count("pk", filter=Q(score__gte=low, score__lte=high)) for band, (low, high) in SCORE_BANDS.items()}
    figures = leads.aggregate(average=Avg("score"), **bands)
    top_scorers = (
        leads.filter(score__isnull=False)
        .order_by(F("score").desc(nulls_last=True), "-id")
        .values("id", "name", "score", "status")[:top]
    )
    average = figures.pop("average")
    return {
        "averageScore": round(float(average), 1) if average is not None else None,
        "scoreDistribution": figures,
        "topScorers": list(top_scorers),
    }


def lead_with_email(*, organization, email: str) -> Lead | None:
    """The organization's oldest lead with this email, compared case-insensitively.

    LOWER(email) = LOWER(%s) is served by the index lead_org_email_lower_idx (email__iexact is not: it uses UPPER).
    """
    return (
        Lead.objects.for_organization(organization)
        .alias(email_lower=Lower("email"))
        .filter(email_lower=Lower(Value(email)))
        .order_by("created_at", "id")
        .first()
    )


class DigitsOnly(Func):
    """A phone number's digits: '(555) 123-4567' -> '5551234567'."""

    template = "REGEXP_REPLACE(%(expressions)s, '[^0-9]', '', 'g')"
    output_field = CharField()

    def as_sqlite(self, compiler, connection, **extra_context):
        # SQLite has no REGEXP_REPLACE: strip the characters phone numbers are written with.
        expression = self.source_expressions[0]
        for char in PHONE_PUNCTUATION:
            expression = Replace(expression, Value(char), Value(""))
        return compiler.compile(expression)


PHONE_PUNCTUATION = " -().+/"


def lead_duplicate_groups(*, organization):
    """Groups of the organization's leads sharing an email (case-insensitive) or a phone (digits only).

    A queryset of {"match_on", "value", "size"} rows, biggest groups first, ready to paginate;
    `lead_duplicate_group_members` adds each group's leads.
    """
    leads = Lead.objects.for_organization(organization).order_by()
    by_email = (
        leads.exclude(email__isnull=True)
        .exclude(email="")
        .annotate(match_on=Value("email"), value=Lower("email"))
        .values("match_on", "value")
        .annotate(size=Count("id"))
        .filter(size__gt=1)
    )
    by_phone = (
        leads.exclude(phone__isnull=True)
        .annotate(match_on=Value("phone"), value=DigitsOnly("phone"))
        .exclude(value="")
        .values("match_on", "value")
        .annotate(size=Count("id"))
        .filter(size__gt=1)
    )
    return by_email.union(by_phone, all=True).order_by("-size", "match_on", "value")


def lead_duplicate_group_members(*, organization, groups) -> list[dict]:
    """The groups with their leads (oldest first), in one query."""
    emails = [group["value"] for group in groups if group["match_on"] == "email"]
    phones = [group["value"] for group in groups if group["match_on"] == "phone"]
    if not groups:
        return []
    leads = (
        Lead.objects.for_organization(organization)
        .annotate(email_key=Lower("email"), phone_key=DigitsOnly("phone"))
        .filter(Q(email_key__in=emails) | Q(phone_key__in=phones))
        .order_by("created_at", "id")
    )
    members = {}
    for lead in leads:
        members.setdefault(("email", lead.email_key), []).append(lead)
        members.setdefault(("phone", lead.phone_key), []).append(lead)
    return [{**group, "leads": members.get((group["match_on"], group["value"]), [])} for group in groups]


def lead_history(*, lead):
    """The lead's history entries, newest first."""
    entries = LeadHistory.objects.for_organization(lead.organization_id).filter(lead_id=lead.pk)
    return entries.order_by("-created_at", "-id")
