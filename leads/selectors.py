"""Reads of leads that are more than a filtered list. Every one starts from for_organization."""

from django.db.models import Avg, Count, F, Q

from leads.models import SCORE_BANDS, Lead


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
