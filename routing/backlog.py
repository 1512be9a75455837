"""Routing leads that are already there: one lead again, or a backlog of open unassigned ones.

This floor sits above leads/: it reads leads through leads.selectors and writes them through
leads.services (which calls routing.services for the decisions), never the other way round.

POST /leads/route routes up to ROUTE_AT_ONCE_MAX leads in the request, in one transaction; a larger
backlog is a job (jobs/) that the task worker routes in chunks of ROUTE_CHUNK, one transaction each,
with the figures so far committed with the chunk that made them: a run resumed after a dead worker
starts after the last lead of the last committed chunk, so each lead is routed and counted once.
"""

from collections import Counter

from django.db import transaction
from django.utils.datastructures import MultiValueDict

from jobs.models import Job
from jobs.services import job_create, job_progress, register_runner
from leads import selectors, services
from leads.filters import LeadFilter
from leads.models import Lead

# As POST /leads/reassign: more than this many leads are a job (202), fewer are routed in the request (200).
ROUTE_AT_ONCE_MAX = 1000
# Leads per transaction of the job. A chunk holds the rules' pools locked while it writes, and every
# create of the organization that routes waits for it: 1,000 leads keep that wait well under a second.
ROUTE_CHUNK = 1000


def route_lead(*, lead, user):
    """Route one lead again; (lead, decision, moved)."""
    results = services.leads_route(organization=lead.organization, lead_ids=[lead.pk], user=user)
    if not results:
        return None
    return results[0]


def backlog(*, organization, leads=None):
    """The organization's open unassigned leads (within `leads`, a filtered queryset, if given), oldest first."""
    queryset = selectors.open_leads(organization=organization) if leads is None else leads
    queryset = queryset.filter(assigned_to__isnull=True, status__in=selectors.OPEN_STATUSES, is_active=True)
    return queryset.order_by("created_at", "id")


def empty_figures() -> dict:
    return {"routed": 0, "unassigned": 0, "byRule": {}, "byUser": {}}


def _route_ids(*, organization, user, ids, figures: dict) -> None:
    """Route these leads (those still open and unassigned once locked) and add what happened to `figures`."""
    by_rule, by_user = Counter(figures["byRule"]), Counter(figures["byUser"])
    results = services.leads_route(organization=organization, lead_ids=ids, user=user, unassigned_only=True)
    for _lead, decision, moved in results:
        if moved:
            figures["routed"] += 1
            by_rule[decision.rule.name if decision.rule else "(organization default)"] += 1
            by_user[str(decision.user_id)] += 1
        else:
            figures["unassigned"] += 1
    figures["byRule"], figures["byUser"] = dict(by_rule), dict(by_user)


def route_backlog_or_queue(*, organization, user, leads, filters: dict) -> dict | Job:
    """Route the backlog now if it is small (the figures), or queue a job that routes it (the Job).

    `leads`: the organization's leads narrowed by the list's filters; `filters`: those query parameters
    ({name: [values]}), which the job applies again in the worker.
    """
    queue = backlog(organization=organization, leads=leads)
    ids = list(queue.values_list("pk", flat=True)[: ROUTE_AT_ONCE_MAX + 1])
    if len(ids) <= ROUTE_AT_ONCE_MAX:
        figures = empty_figures()
        if ids:
            with transaction.atomic():
                _route_ids(organization=organization, user=user, ids=ids, figures=figures)
        return figures
    return job_create(
        organization=organization, user=user, kind=Job.Kind.ROUTE, params={"filters": filters}, total=queue.count()
    )


def _job_backlog(job: Job):
    """The job's leads: the backlog as its filters narrow it, of leads created before it was queued, by id."""
    leads = Lead.objects.for_organization(job.organization)
    leads = LeadFilter(data=MultiValueDict(job.params.get("filters") or {}), queryset=leads).qs
    leads = backlog(organization=job.organization, leads=leads).filter(created_at__lte=job.created_at)
    return leads.order_by("pk")


@register_runner(Job.Kind.ROUTE)
def route_in_chunks(job: Job) -> dict:
    """Route the backlog ROUTE_CHUNK leads per transaction, oldest (by id) first; the job's result: the figures.

    While it runs, `result` holds the figures so far and `lastLeadId`, the last lead of the last
    committed chunk: leads no rule places stay unassigned and are not looked at again.
    """
    figures = {**empty_figures(), **(job.result or {})}
    after = figures.pop("lastLeadId", None)
    while True:
        with transaction.atomic():
            leads = _job_backlog(job)
            if after is not None:
                leads = leads.filter(pk__gt=after)
            ids = list(leads.values_list("pk", flat=True)[:ROUTE_CHUNK])
            if not ids:
                return figures
            _route_ids(organization=job.organization, user=job.created_by, ids=ids, figures=figures)
            job_progress(job, len(ids))
            after = str(ids[-1])
            Job.objects.filter(pk=job.pk).update(result={**figures, "lastLeadId": after})
        if len(ids) < ROUTE_CHUNK:
            return figures
