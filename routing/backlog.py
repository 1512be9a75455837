"""Routing leads that are already there: one lead again, or a backlog of open unassigned ones.

This floor sits above leads/: it reads leads through leads.selectors and writes them through
leads.services (which calls routing.services for the decisions), never the other way round.
"""

from collections import Counter

from leads import selectors, services

# One POST /leads/route routes at most this many leads, in transactions of BATCH (the jobs of
# issue 22 are not there yet to run more in the worker); the answer says how many remain.
BACKLOG_LIMIT = 5000
BATCH = 1000


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


def route_backlog(*, organization, user, leads=None, limit: int = BACKLOG_LIMIT) -> dict:
    """Route up to `limit` of the backlog, BATCH leads per transaction; what it did, in figures."""
    ids = list(backlog(organization=organization, leads=leads).values_list("pk", flat=True)[: limit + 1])
    remaining = max(0, len(ids) - limit)
    if remaining:
        remaining = backlog(organization=organization, leads=leads).count() - limit
    ids = ids[:limit]
    by_rule, by_user, unassigned = Counter(), Counter(), 0
    for start in range(0, len(ids), BATCH):
        results = services.leads_route(organization=organization, lead_ids=ids[start : start + BATCH], user=user)
        for _lead, decision, moved in results:
            if moved:
                by_rule[decision.rule.name if decision.rule else "(organization default)"] += 1
                by_user[str(decision.user_id)] += 1
            else:
                unassigned += 1
    return {
        "routed": sum(by_user.values()),
        "unassigned": unassigned,
        "remaining": remaining,
        "limit": limit,
        "byRule": dict(by_rule),
        "byUser": dict(by_user),
    }
