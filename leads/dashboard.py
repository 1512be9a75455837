"""The sales-ops dashboard in the admin: the organization's pipeline, weekly intake, scores and reps.

The figures come from `selectors.lead_dashboard_rows` (three aggregate queries, two of them over the
running counts of leads/tallies.py) and this week's routing (`selectors.routed_this_week`, one), cached for a minute
per organization and period; the page says "as of" when they were computed. The source filter is
applied to the cached rows, so switching sources costs no query.

The predictions part (issue 20: expected conversions of the open pipeline per rep and per source, the
scoring model's calibration, each rep's top open leads by predicted score) reads every open lead, too
slow for the page's first answer at a million leads: it is a fragment of its own
(`/admin/dashboard/predictions/`), cached for a minute per organization like the rest, shown in the page
when cached and otherwise fetched by dashboard.js right after the page loads.
"""

from datetime import timedelta
from urllib.parse import urlencode

from django.contrib import admin
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html_join

from leads import selectors, tallies
from leads.models import SCORE_BANDS, Lead, LeadStatus
from organizations.models import Organization, User

PERIODS = (30, 90, 365)
CACHE_SECONDS = 60
BANDS = [*SCORE_BANDS, "unscored"]
BAND_LABELS = {band: f"{band.capitalize()} ({low}–{high})" for band, (low, high) in SCORE_BANDS.items()}
BAND_LABELS["unscored"] = "Unscored"
# The score-band filter of the lead list names "no score" differently.
BAND_FILTER_VALUES = {**{band: band for band in SCORE_BANDS}, "unscored": "none"}


def dashboard_view(request):
    """GET /admin/dashboard/?organization=&period=&source= (the organization only for superusers)."""
    if not admin.site.get_model_admin(Lead).has_view_permission(request):
        raise PermissionDenied
    organizations = Organization.objects.order_by("name") if request.user.is_superuser else None
    organization = _chosen_organization(request, organizations)
    period = _chosen_period(request)
    source = request.GET.get("source", "")
    context = {
        **admin.site.each_context(request),
        "title": "Dashboard",
        "organizations": organizations,
        "organization": organization,
        "periods": PERIODS,
        "period": period,
        "source": source,
    }
    if organization is not None:
        rows, as_of = _cached_rows(organization, period)
        links = LeadListLinks(organization if request.user.is_superuser else None, source)
        context.update(as_of=as_of, **dashboard_figures(rows, source=source, period=period, now=as_of, links=links))
        members = list(User.objects.for_organization(organization).only("pk", "name", "email", "is_active"))
        context["reps"] = reps_table_rows(_reps(rows, source, members, links))
        context["routed_week"] = selectors.with_user_names(rows["routed_week"], members)
        cached = cache.get(_predictions_key(organization))
        context["predictions_url"] = reverse("admin:dashboard_predictions") + "?" + _query(request, organization)
        if cached is not None:
            context.update(prediction_figures(cached, source=source, links=links))
    return TemplateResponse(request, "admin/leads/dashboard.html", context)


def predictions_view(request):
    """GET /admin/dashboard/predictions/?organization=&source=: the dashboard's predictions part, as HTML.

    A fragment of the dashboard page (dashboard.js puts it in place); the same permissions and filters.
    """
    if not admin.site.get_model_admin(Lead).has_view_permission(request):
        raise PermissionDenied
    organizations = Organization.objects.order_by("name") if request.user.is_superuser else None
    organization = _chosen_organization(request, organizations)
    source = request.GET.get("source", "")
    context = {"organization": organization, "source": source}
    if organization is not None:
        key = _predictions_key(organization)
        cached = cache.get(key)
        if cached is None:
            cached = _prediction_rows(organization)
            cache.set(key, cached, CACHE_SECONDS)
        links = LeadListLinks(organization if request.user.is_superuser else None, source)
        context.update(prediction_figures(cached, source=source, links=links))
    return TemplateResponse(request, "admin/leads/dashboard_predictions.html", context)


def _query(request, organization):
    query = {"source": request.GET.get("source", "")}
    if request.user.is_superuser:
        query["organization"] = organization.pk
    return urlencode(query)


def _predictions_key(organization):
    return f"lead-dashboard-predictions:{organization.pk}"


def _prediction_rows(organization):
    """What the predictions part shows, for every source: the model, the open leads' rows, the reps' names."""
    now = timezone.now()
    model, status = _ready_model(organization)
    rows = selectors.open_pipeline_predictions(organization=organization) if model is not None else []
    assignees = {row["assigned_to"] for row in rows if row["assigned_to"] is not None}
    members = User.objects.for_organization(organization).filter(pk__in=assignees).only("pk", "name", "email")
    names = {member.pk: member.name or member.email for member in members} if assignees else {}
    return {"model": model, "model_status": status, "rows": rows, "names": names, "as_of": now}


def _ready_model(organization):
    """(the model that predicts the organization's leads, as plain data, or None; what to say when there is none).

    That is the ready version `organization.scoring_model_version` names (scoring/). One query reads it with
    the newer trainings, so that without it the page says why: none yet, training, or too few resolved leads.
    """
    from scoring.models import KEEP_VERSIONS, ScoringModel

    Status = ScoringModel.Status
    rows = list(
        ScoringModel.objects.for_organization(organization)
        .order_by("-version")
        .values("version", "status", "trained_at", "quality", "counts")[: KEEP_VERSIONS + 1]
    )
    version = organization.scoring_model_version
    for row in rows:
        if version is not None and row["version"] == version and row["status"] == Status.READY:
            return {key: row[key] for key in ("version", "trained_at", "quality")}, ""
    if not rows:
        return None, "no model has been trained yet."
    if any(row["status"] == Status.TRAINING for row in rows):
        return None, "a model is being trained; its figures appear here once it is ready."
    newest = rows[0]
    if newest["status"] == Status.INSUFFICIENT_DATA:
        needed = {key: value for key, value in (newest["counts"].get("needed") or {}).items() if value}
        wanted = ", ".join(
            f"{value} more {'resolved leads' if key == 'leads' else key}" for key, value in needed.items()
        )
        return None, f"too few resolved leads to learn from (it needs {wanted})."
    return None, "the organization has no ready model."


def _chosen_organization(request, organizations):
    if organizations is None:
        return request.user.organization
    chosen = request.GET.get("organization")
    if not chosen:
        return organizations.first()
    try:
        return organizations.filter(pk=chosen).first()
    except ValidationError:  # not a UUID: no such organization
        return None


def _chosen_period(request):
    try:
        period = int(request.GET.get("period", PERIODS[0]))
    except ValueError:
        return PERIODS[0]
    return period if period in PERIODS else PERIODS[0]


def _cached_rows(organization, period):
    key = f"lead-dashboard:{organization.pk}:{period}"
    cached = cache.get(key)
    if cached is None:
        now = timezone.now()
        rows = selectors.lead_dashboard_rows(organization=organization, days=period, now=now)
        rows["routed_week"] = selectors.routed_this_week(organization=organization, today=timezone.localdate(now))
        if rows.pop("unfolded_tally_rows") > tallies.COMPACT_AFTER:
            tallies.compact(organization_id=organization.pk)
        cached = (rows, now)
        cache.set(key, cached, CACHE_SECONDS)
    return cached


class LeadListLinks:
    """Links into the lead changelist, filtered as a dashboard figure counts."""

    def __init__(self, organization, source):
        base = {}
        if organization is not None:  # a superuser's list spans organizations
            base["organization__id__exact"] = organization.pk
        if source:
            base["source"] = source
        self.prefix = reverse("admin:leads_lead_changelist") + "?" + (urlencode(base) + "&" if base else "")

    def __call__(self, **filters):
        return self.prefix + urlencode(filters)


def dashboard_figures(rows, *, source, period, now, links) -> dict:
    """Pipeline, weekly intake and conversion, score bands and stale leads for one source ("": all)."""
    snapshot = [row for row in rows["by_assignee_and_source"] if not source or row["source"] == source]
    weekly = [row for row in rows["by_week_and_source"] if not source or row["source"] == source]
    pipeline = [
        {"label": status.label, "count": _sum(snapshot, f"status_{status}"), "url": links(status__exact=status)}
        for status in LeadStatus
    ]
    bands = [
        {
            "label": BAND_LABELS[band],
            "count": _sum(snapshot, f"band_{band}"),
            "url": links(band=BAND_FILTER_VALUES[band]),
        }
        for band in BANDS
    ]
    figures = {
        "sources": sorted({row["source"] for row in rows["by_assignee_and_source"] if row["source"]}),
        "pipeline": pipeline,
        "bands": bands,
        "stale": {"count": _sum(snapshot, "stale"), "url": links(pipeline="stale")},
        "total": _sum(snapshot, "total"),
        **_weekly(weekly, period, now),
    }
    return {**figures, "chart_data": _chart_data(figures)}


def _chart_data(figures):
    """What dashboard.js draws: the same numbers as the page's tables."""
    weeks = figures["weeks"]
    return {
        "pipeline": {
            "labels": [item["label"] for item in figures["pipeline"]],
            "counts": [item["count"] for item in figures["pipeline"]],
        },
        "bands": {
            "labels": [item["label"] for item in figures["bands"]],
            "counts": [item["count"] for item in figures["bands"]],
        },
        "weeks": [week["week"].strftime("%-d %b") for week in weeks],
        "weekly": [
            {"source": name, "counts": [week["counts"][index] for week in weeks]}
            for index, name in enumerate(figures["weekly_sources"])
        ],
        "rates": [week["rate"] for week in weeks],
    }


def _weekly(rows, period, now):
    """Every week of the period (Monday first), new leads per source and the cohort's conversion rate."""
    first = _monday(now - timedelta(days=period))
    weeks = [first + timedelta(weeks=n) for n in range((_monday(now) - first).days // 7 + 1)]
    sources = sorted({row["source"] or "" for row in rows})
    created = {(week, src): 0 for week in weeks for src in sources}
    converted = dict.fromkeys(weeks, 0)
    for row in rows:
        week = _monday(row["week"])
        created[week, row["source"] or ""] = created.get((week, row["source"] or ""), 0) + row["created"]
        converted[week] = converted.get(week, 0) + row["converted"]
    week_rows = []
    for week in weeks:
        counts = [created[week, src] for src in sources]
        total = sum(counts)
        rate = round(100 * converted[week] / total, 1) if total else None
        week_rows.append({"week": week, "counts": counts, "created": total, "converted": converted[week], "rate": rate})
    return {"weekly_sources": [src or "(no source)" for src in sources], "weeks": week_rows}


def _monday(moment):
    day = moment.date() if hasattr(moment, "date") else moment
    return day - timedelta(days=day.weekday())


def _sum(rows, key):
    return sum(row[key] or 0 for row in rows)


def _reps(rows, source, members, links):
    """One line per member holding leads (or active), and one for unassigned leads, busiest first."""
    by_user = {}
    for row in rows["by_assignee_and_source"]:
        if not source or row["source"] == source:
            by_user.setdefault(row["assigned_to"], []).append(row)
    reps = []
    for member in members:
        if member.pk in by_user or member.is_active:
            reps.append(
                _rep_line(
                    member.name or member.email, by_user.get(member.pk, []), links, assigned_to__id__exact=member.pk
                )
            )
    if None in by_user:
        reps.append(_rep_line("Unassigned", by_user[None], links, assigned_to__isnull="True"))
    return sorted(reps, key=lambda rep: (-rep["open"]["count"], rep["name"]))


def reps_table_rows(reps):
    """The reps' table rows as HTML: hundreds of reps render 20x faster here than through the template engine."""
    cell = '<td class="num"><a href="{}">{}</a></td>'
    return format_html_join(
        "\n",
        "<tr><td>{}</td>" + cell * 6 + "</tr>",
        (
            (
                rep["name"],
                *(
                    value
                    for key in ("open", "contacted", "qualified", "converted")
                    for value in (rep[key]["url"], f"{rep[key]['count']:,}")
                ),
                rep["rate"]["url"],
                "—" if rep["rate"]["value"] is None else f"{rep['rate']['value']}%",
                rep["score"]["url"],
                "—" if rep["score"]["value"] is None else rep["score"]["value"],
            )
            for rep in reps
        ),
    )


def _rep_line(name, rows, links, **assignee):
    total, converted, scored = _sum(rows, "total"), _sum(rows, "status_converted"), _sum(rows, "scored")
    everything = links(**assignee)
    return {
        "name": name,
        "open": {"count": _sum(rows, "open"), "url": links(**assignee, pipeline="open")},
        "contacted": {
            "count": _sum(rows, "contacted_recently"),
            "url": links(**assignee, pipeline="recently_contacted"),
        },
        "qualified": {"count": _sum(rows, "status_qualified"), "url": links(**assignee, status__exact="qualified")},
        "converted": {"count": converted, "url": links(**assignee, status__exact="converted")},
        "rate": {"value": round(100 * converted / total, 1) if total else None, "url": everything},
        "score": {"value": round(_sum(rows, "score_sum") / scored, 1) if scored else None, "url": everything},
        "total": total,
    }


def prediction_figures(cached, *, source, links) -> dict:
    """Expected conversions per source and per rep, each rep's top open leads, the model's calibration.

    `cached` (`_prediction_rows`): `model`, the organization's ready scoring model as plain data (None: no
    ready model, and the page says so); `rows`, `selectors.open_pipeline_predictions`; `names` of the reps.
    An expected conversion count is the sum of the open leads' probabilities: their predicted scores / 100.
    """
    model = cached["model"]
    picked = [row for row in cached["rows"] if not source or row["source"] == source]
    figures = {"model": model, "model_status": cached["model_status"], "predictions_as_of": cached["as_of"]}
    if model is None:
        return {**figures, "predictions_ready": False}
    by_source = {}
    for row in picked:
        _add(by_source.setdefault(row["source"], _tally()), row)
    sources = [
        {
            "name": name or "(no source)",
            **tally,
            "url": links(pipeline="open", **({} if source or name is None else {"source": name})),
        }
        for name, tally in sorted(by_source.items(), key=lambda item: (-item[1]["predicted_sum"], item[0] or ""))
    ]
    total = _tally()
    for row in picked:
        _add(total, row)
    return {
        **figures,
        "predictions_ready": True,
        "expected_total": _expected(total),
        "expected_sources": [{**item, **_expected(item)} for item in sources if item["open"]],
        "expected_reps": expected_reps_rows(_expected_reps(picked, cached["names"], links)),
        "calibration": _calibration(model),
        "predictions_chart": {"calibration": _calibration_chart(model)},
    }


def _tally():
    return {"open": 0, "predicted": 0, "predicted_sum": 0, "top": []}


def _add(tally, row):
    tally["open"] += row["open"]
    tally["predicted"] += row["predicted"]
    tally["predicted_sum"] += row["predicted_sum"]
    tally["top"].extend(row["top"])


def _expected(tally):
    """Expected conversions (one decimal) and the mean probability in percent (None without predictions)."""
    count, total = tally["predicted"], tally["predicted_sum"]
    return {
        **tally,
        "expected": (total + 5) // 10 / 10,  # one decimal, rounded half up (scores are integers)
        "mean": round(total / count, 1) if count else None,
    }


def _expected_reps(rows, names, links):
    """One line per member holding open leads, and one for unassigned ones: most expected conversions first."""
    by_user = {}
    for row in rows:
        _add(by_user.setdefault(row["assigned_to"], _tally()), row)
    reps = []
    for pk, tally in by_user.items():
        if not tally["open"]:
            continue
        assignee = {"assigned_to__id__exact": pk} if pk is not None else {"assigned_to__isnull": "True"}
        top = sorted(tally["top"], key=lambda item: (-item[0], item[1]))[: selectors.TOP_PREDICTED]
        reps.append(
            {
                "name": names.get(pk, str(pk)) if pk is not None else "Unassigned",
                **_expected(tally),
                "url": links(**assignee, pipeline="open"),
                "top": [
                    {"score": score, "name": name, "url": reverse("admin:leads_lead_change", args=[lead_id])}
                    for score, lead_id, name in top
                ],
            }
        )
    return sorted(reps, key=lambda rep: (-rep["predicted_sum"], rep["name"]))


def expected_reps_rows(reps):
    """The reps' expected conversions and top open leads as HTML rows (as reps_table_rows, for speed)."""
    return format_html_join(
        "\n",
        '<tr><td>{}</td><td class="num"><a href="{}">{}</a></td><td class="num">{}</td><td class="num">{}</td>'
        '<td class="top-leads">{}</td></tr>',
        (
            (
                rep["name"],
                rep["url"],
                f"{rep['open']:,}",
                f"{rep['predicted']:,}",
                rep["expected"],
                format_html_join(
                    ", ", '<a href="{}">{}</a> {}%', ((lead["url"], lead["name"], lead["score"]) for lead in rep["top"])
                )
                or "—",
            )
            for rep in reps
        ),
    )


def _calibration(model):
    """The model's calibration bins as table rows, in percent: mean predicted, observed rate, leads."""
    bins = (model.get("quality") or {}).get("calibration") or []
    rows = []
    for index, item in enumerate(bins):
        low = 100 * index // len(bins)
        high = 100 * (index + 1) // len(bins)
        rows.append(
            {
                "label": f"{low}–{high} %",
                "predicted": _percent(item.get("meanPredicted")),
                "observed": _percent(item.get("observedRate")),
                "count": item.get("count") or 0,
            }
        )
    return rows


def _percent(value):
    return None if value is None else round(100 * value, 1)


def _calibration_chart(model):
    """What dashboard.js draws: (mean predicted, observed rate) per bin with leads, in percent."""
    return [
        {"x": row["predicted"], "y": row["observed"], "count": row["count"]}
        for row in _calibration(model)
        if row["count"] and row["predicted"] is not None and row["observed"] is not None
    ]
