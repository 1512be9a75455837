"""Reads of leads that are more than a filtered list. Every one starts from for_organization."""

import uuid
from datetime import datetime, time, timedelta

from django.db import connection
from django.db.models import (
    Avg,
    BooleanField,
    Case,
    CharField,
    Count,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    Q,
    Subquery,
    Sum,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Lower, Replace, StrIndex, Substr
from django.utils import timezone

from leads.models import SCORE_BANDS, Lead, LeadHistory, LeadStatus, LeadTally, LeadWeekTally


def lead_list(*, organization):
    return Lead.objects.for_organization(organization)


# A lead someone is working on: what routing's capacity (maxOpen) and least_loaded count.
OPEN_STATUSES = (LeadStatus.NEW, LeadStatus.CONTACTED, LeadStatus.QUALIFIED)


def open_leads(*, organization):
    return Lead.objects.for_organization(organization).filter(status__in=OPEN_STATUSES, is_active=True)


def open_leads_count_of(user_ref, *, organization):
    """An expression: how many open leads the user `user_ref` (an OuterRef) has.

    Summed from the tallies the database keeps (leads/tallies.py, index leadtally_org_assignee_idx):
    a few rows a user, where counting the leads read every open lead of theirs on each routing
    decision (0.2 s a create at 50,000 open leads a rep). The triggers write the tallies in the
    lead's own statement, so the sum is as current as a count would be, under the same locks.
    """
    counted = LeadTally.objects.filter(
        organization_id=getattr(organization, "pk", organization),
        assigned_to_id=user_ref,
        status__in=OPEN_STATUSES,
        is_active=True,
    )
    counted = counted.order_by().values("assigned_to_id").annotate(n=Sum("leads")).values("n")[:1]
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def open_lead_counts(*, organization, user_ids) -> dict:
    """{user id: open leads} for the given users (0 for none)."""
    rows = open_leads(organization=organization).filter(assigned_to_id__in=list(user_ids)).order_by()
    counts = dict(rows.values_list("assigned_to_id").annotate(n=Count("pk")))
    return {user_id: counts.get(user_id, 0) for user_id in user_ids}


def lead_scoring_stats(*, organization, top: int = 5) -> dict:
    """Average score, counts per band and the top scorers, computed by the database.

    Leads without a score stay out of the average and the bands.
    """
    leads = Lead.objects.for_organization(organization)
    bands = {band: Count("pk", filter=Q(score__gte=low, score__lte=high)) for band, (low, high) in SCORE_BANDS.items()}
    figures = leads.aggregate(average=Avg("score"), **bands)
    top_scorers = (
        leads.filter(score__isnull=False)
        .order_by(F("score").desc(), "-id")  # the (organization, score, id) index backwards
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


# -- The dashboard -------------------------------------------------------------------------------

OPEN_STATUSES = (LeadStatus.NEW, LeadStatus.CONTACTED, LeadStatus.QUALIFIED)
# A lead not contacted for this long (or, never contacted, created this long ago) is stale.
STALE_AFTER = timedelta(days=30)
RECENT_CONTACT = timedelta(days=30)


def open_leads_q() -> Q:
    """Leads somebody still works on: active and neither converted nor unqualified."""
    return Q(is_active=True, status__in=OPEN_STATUSES)


def stale_leads_q(*, now) -> Q:
    """Open leads nobody contacted for 30+ days (a never-contacted lead counts from its creation)."""
    cutoff = now - STALE_AFTER
    never_contacted_and_old = Q(last_contacted_at__isnull=True, created_at__lt=cutoff)
    return open_leads_q() & (Q(last_contacted_at__lt=cutoff) | never_contacted_and_old)


def contacted_recently_q(*, now) -> Q:
    return Q(last_contacted_at__gte=now - RECENT_CONTACT)


def recent_enough_q(*, now) -> Q:
    """Within open leads, the opposite of stale: contacted, or (never contacted) created, in the last 30 days."""
    cutoff = now - STALE_AFTER
    return Q(last_contacted_at__gte=cutoff) | Q(last_contacted_at__isnull=True, created_at__gte=cutoff)


def lead_dashboard_rows(*, organization, days: int, now) -> dict:
    """The dashboard's figures for every source at once, in three queries.

    `by_assignee_and_source`: one row per (assignee, source) with counts per status, score band,
    open, contacted in the last 30 days and stale, and the score sum. `by_week_and_source`: leads
    created per (week, source) in every week that overlaps the last `days` days, and how many of
    them are converted now. Pipeline, score bands, the reps' table and stale leads are sums of the
    first; the source filter picks rows in Python, so one result serves every source.

    The counts come from the tallies the database keeps (leads/tallies.py); only the two that
    depend on the clock are counted from leads, those contacted or created in the last 30 days.
    `unfolded_tally_rows` says how many rows the triggers added since `tallies.compact` last ran.
    """
    tallies = LeadTally.objects.for_organization(organization).order_by()
    by_key = tallies.values("assigned_to", "source").annotate(
        unfolded=Count("pk", filter=Q(folded=False)),
        total=Sum("leads"),
        **{f"status_{status}": Sum("leads", filter=Q(status=status)) for status in LeadStatus.values},
        **{f"band_{band}": Sum("leads", filter=Q(band=band)) for band in [*SCORE_BANDS, "unscored"]},
        open=Sum("leads", filter=open_leads_q()),
        score_sum=Sum("score_sum"),
        scored=Sum("leads", filter=~Q(band="unscored")),
    )
    recent = (
        Lead.objects.for_organization(organization)
        .order_by()
        .filter(contacted_recently_q(now=now) | recent_enough_q(now=now))
        .values("assigned_to", "source")
        .annotate(
            contacted_recently=Count("pk", filter=contacted_recently_q(now=now)),
            open_recent_enough=Count("pk", filter=open_leads_q() & recent_enough_q(now=now)),
        )
    )
    first_week = (now - timedelta(days=days)).date()
    by_week_and_source = (
        LeadWeekTally.objects.for_organization(organization)
        .order_by()
        .filter(week__gte=first_week - timedelta(days=first_week.weekday()))
        .values("week", "source")
        .annotate(created=Sum("leads"), converted=Sum("leads", filter=Q(converted=True)))
    )
    rows = [_zeros_for_none(row) for row in by_key]
    recent_by_key = {(row["assigned_to"], row["source"]): row for row in recent}
    for row in rows:
        counts = recent_by_key.get((row["assigned_to"], row["source"]), {})
        row["contacted_recently"] = counts.get("contacted_recently", 0)
        row["stale"] = row["open"] - counts.get("open_recent_enough", 0)
    return {
        "by_assignee_and_source": [row for row in rows if row["total"]],
        "by_week_and_source": [_zeros_for_none(row) for row in by_week_and_source if row["created"]],
        "unfolded_tally_rows": sum(row.pop("unfolded") for row in rows),
    }


def _zeros_for_none(row: dict, keys=("assigned_to", "source", "week")) -> dict:
    """SUM over no rows is NULL; a count of nothing is 0."""
    return {name: 0 if value is None and name not in keys else value for name, value in row.items()}


def routed_since(*, organization, since) -> dict:
    """Leads routed since `since` (a date), most first: {"byRule": [(rule name, n)], "byUser": [(user id, n)]}.

    Read from the history entries routing writes (via "rule"), grouped by the database in one query.
    The entries' ids are time-ordered (leadsite.ids.uuid7), so the primary key bounds the scan to the
    entries written since then (of every organization), not all of this organization's history.
    """
    from django.db.models.fields.json import KT

    start = datetime.combine(since, time.min, tzinfo=timezone.get_current_timezone())
    first_id = uuid.UUID(int=(int(start.timestamp() * 1000) & 0xFFFF_FFFF_FFFF) << 80)
    entries = LeadHistory.objects.for_organization(organization).filter(
        pk__gte=first_id, via="rule", created_at__gte=start
    )
    groups = entries.values(rule=KT("changes__routing__ruleName"), user=KT("changes__routing__userId"))
    by_rule, by_user = {}, {}
    for row in groups.annotate(n=Count("id")).order_by():
        rule = row["rule"] or "(organization default)"
        by_rule[rule] = by_rule.get(rule, 0) + row["n"]
        by_user[row["user"]] = by_user.get(row["user"], 0) + row["n"]
    return {
        "byRule": sorted(by_rule.items(), key=lambda item: (-item[1], item[0])),
        "byUser": sorted(by_user.items(), key=lambda item: (-item[1], str(item[0]))),
    }


def routed_this_week(*, organization, today=None) -> dict:
    """routed_since Monday (`today`'s week): {"since", "byRule", "byUser"}, the users as ids."""
    today = today or timezone.localdate()
    since = today - timedelta(days=today.weekday())
    return {"since": since, **routed_since(organization=organization, since=since)}


def with_user_names(week: dict, users) -> dict:
    """The week's figures with each user id replaced by the user's name (or email), from `users`."""
    names = {str(user.pk): user.name or user.email for user in users}
    return {**week, "byUser": [(names.get(str(user_id), user_id), count) for user_id, count in week["byUser"]]}


TOP_PREDICTED = 5  # open leads per (assignee, source) that open_pipeline_predictions names


def open_pipeline_predictions(*, organization, top: int = TOP_PREDICTED) -> list[dict]:
    """The open pipeline's predictions (issue 20) per (assignee, source), in one query.

    One row per (assigned_to, source) holding open leads: `open` (active, neither converted nor
    unqualified), `predicted` (those with a predicted score), `predicted_sum` (the sum of their
    predicted scores: divided by 100, the expected conversions) and `top`, the `top` open leads with
    the highest predicted scores as [(predicted score, id, name)], highest first (ties by id).

    On PostgreSQL the database keeps only each group's first `top` (an ordered array_agg, sliced);
    elsewhere (SQLite: development and tests) the open leads come back and Python groups them.
    """
    from django.db import connection

    leads = open_leads(organization=organization).order_by()
    if connection.vendor == "postgresql":
        from django.contrib.postgres.aggregates import ArrayAgg
        from django.db.models.functions import JSONArray

        best = ArrayAgg(
            JSONArray("predicted_score", "id", "name"),
            order_by=(F("predicted_score").desc(), "id"),
            filter=Q(predicted_score__isnull=False),
        )
        rows = leads.values("assigned_to", "source").annotate(
            open=Count("pk"),
            predicted=Count("predicted_score"),
            predicted_sum=Sum("predicted_score"),
            top=Func(best, template=f"(%(expressions)s)[1:{int(top)}]"),
        )
        return [
            {**row, "predicted_sum": row["predicted_sum"] or 0, "top": [tuple(item) for item in row["top"] or []]}
            for row in rows
        ]
    groups = {}
    for assigned_to, source, score, pk, name in leads.values_list(
        "assigned_to", "source", "predicted_score", "pk", "name"
    ):
        row = groups.setdefault(
            (assigned_to, source),
            {"assigned_to": assigned_to, "source": source, "open": 0, "predicted": 0, "predicted_sum": 0, "top": []},
        )
        row["open"] += 1
        if score is not None:
            row["predicted"] += 1
            row["predicted_sum"] += score
            row["top"].append((score, str(pk), name))
    for row in groups.values():
        row["top"] = sorted(row["top"], key=lambda item: (-item[0], item[1]))[:top]
    return list(groups.values())


# -- Predictive scoring (scoring/) ---------------------------------------------------------------

RESOLVED_STATUSES = (LeadStatus.CONVERTED, LeadStatus.UNQUALIFIED)
# What the scoring model may read of a resolved lead (scoring/features.py), and its outcome (status). The email's
# domain, lower case, and whether phone and company are given are worked out by the database (less to send).
SCORING_COLUMNS = ("status", "source", "domain", "has_phone", "has_company", "score", "custom_fields", "assignee")


def _given(column):
    return ExpressionWrapper(Q(**{f"{column}__isnull": False}) & ~Q(**{column: ""}), output_field=BooleanField())


def resolved_lead_counts(*, organization) -> dict:
    """{"converted": n, "unqualified": n} of the organization's leads."""
    rows = Lead.objects.for_organization(organization).filter(status__in=RESOLVED_STATUSES).order_by()
    counts = dict(rows.values_list("status").annotate(n=Count("pk")))
    return {status: counts.get(status, 0) for status in RESOLVED_STATUSES}


def resolved_leads_oldest_first(*, organization, chunk_size: int = 10_000):
    """The organization's converted and unqualified leads as tuples of SCORING_COLUMNS, oldest created first,
    streamed (a server-side cursor on PostgreSQL): training reads a million without holding them.

    Sent as SQL on Django's chunked cursor, without its per-row converters (a third of the time at a million
    rows): custom_fields is the JSON text, assignee the id's text (SQLite: 32 hex digits, PostgreSQL: with dashes).
    """
    rows = (
        Lead.objects.for_organization(organization)
        .filter(status__in=RESOLVED_STATUSES)
        .annotate(
            domain=Case(
                When(email__contains="@", then=Lower(Substr("email", StrIndex("email", Value("@")) + 1))),
                default=None,
            ),
            has_phone=_given("phone"),
            has_company=_given("company"),
            assignee=Cast("assigned_to_id", TextField()),
            custom_text=Cast("custom_fields", TextField()),
        )
        .order_by("created_at", "id")
        .values_list("status", "source", "domain", "has_phone", "has_company", "score", "custom_text", "assignee")
    )
    sql, params = rows.query.sql_with_params()
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(chunk_size):
            yield from batch
