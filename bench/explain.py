"""Print PostgreSQL's plan for each list query the API runs, for the organization holding 80%.

    .venv/bin/python bench/explain.py [--analyze]

The SQL is the ORM's own (the view's queryset with SortBackend and the filters applied), so
what is printed is what the API sends. A "Seq Scan on leads_lead" line is flagged.
"""

import argparse

from common import admin, api_client
from django.db import connection
from django.db.models import Count, F
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from rest_framework.request import Request

from customers.models import Customer
from leads import selectors
from leads.models import SORTABLE_FIELDS, Lead
from leads.views import LeadViewSet
from leadsite.counting import count_rows
from leadsite.pagination import Keyset, PageLimitPagination


def queryset_for(user, query):
    request = Request(RequestFactory().get("/leads", query))
    request.user = user
    view = LeadViewSet(request=request, format_kwarg=None, action="list", detail=False, kwargs={})
    return view.filter_queryset(view.get_queryset()), request, view


def other_queries(user):
    """The other reads of leads the API and the importer send, each as a function that sends them."""
    organization = user.organization
    client = api_client(user)
    busiest = (
        Lead.objects.for_organization(organization)
        .filter(assigned_to__isnull=False)
        .values("assigned_to")
        .annotate(n=Count("pk"))
        .order_by("-n")
        .first()["assigned_to"]
    )
    lead = Lead.objects.for_organization(organization).filter(email__isnull=False, phone__isnull=False).first()
    customer = Customer.objects.for_organization(organization).filter(leads__isnull=False).first()
    phone_group = {"match_on": "phone", "value": "".join(filter(str.isdigit, lead.phone))}
    return {
        "by-source/referral, page 1 of 100": lambda: client.get("/leads/by-source/referral?limit=100"),
        "assigned-to/<busiest rep>, page 1 of 100": lambda: client.get(f"/leads/assigned-to/{busiest}?limit=100"),
        "stats/scoring (bands and top scorers)": lambda: client.get("/leads/stats/scoring"),
        "duplicate check on create / importer email look-up": lambda: selectors.lead_with_email(
            organization=organization, email=lead.email.upper()
        ),
        "duplicates: the leads of a page's groups": lambda: selectors.lead_duplicate_group_members(
            organization=organization, groups=[phone_group, {"match_on": "email", "value": lead.email.lower()}]
        ),
        "a customer's leadIds (GET /customers/{id})": lambda: client.get(f"/customers/{customer.pk}"),
    }


def sent_to_leads(send):
    """The SELECTs on leads_lead that `send()` runs, as the SQL sent."""
    with CaptureQueriesContext(connection) as queries:
        send()
    return [
        query["sql"]
        for query in queries.captured_queries
        if query["sql"].startswith("SELECT") and '"leads_lead"' in query["sql"]
    ]


def plan(queryset, analyze):
    sql, params = (queryset, None) if isinstance(queryset, str) else queryset.query.sql_with_params()
    options = "ANALYZE, BUFFERS" if analyze else "COSTS"
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN ({options}) {sql}", params)
        return [row[0] for row in cursor.fetchall()]


def show(title, queryset, analyze):
    lines = plan(queryset, analyze)
    seq = any("Seq Scan on leads_lead" in line for line in lines)
    print(f"\n### {title}{'   <-- SEQ SCAN' if seq else ''}")
    for line in lines:
        print("    " + line)
    return seq


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--analyze", action="store_true", help="run the queries (EXPLAIN ANALYZE, BUFFERS)")
    parser.add_argument("--only", default="", help="comma-separated sections: sort,cursor,count,filters,other")
    args = parser.parse_args()
    only = set(filter(None, args.only.split(",")))
    user = admin()
    seq_scans = []

    def run(section, title, queryset):
        if not only or section in only:
            if show(title, queryset, args.analyze):
                seq_scans.append(title)

    for name in SORTABLE_FIELDS:
        for order in ("asc", "desc"):
            queryset, request, view = queryset_for(user, {"sortField": name, "sortOrder": order})
            keyset = Keyset(request, view, queryset)
            parts = keyset.parts(queryset)
            for number, part in enumerate(parts):
                walk = ["", " (walk 1: the values)", " (walk 2: then the nulls)"][number + (len(parts) > 1)]
                run("sort", f"page 1 of 100, sortField={name}&sortOrder={order}{walk}", part[:101])
            # The cursor of the 100th row of page 1, then the page after it (as Keyset.rows_after sends it).
            last = keyset.page(queryset, 99, 1)[0]
            value, pk = keyset.decode(keyset.encode(last))
            after = TupleGreaterThan if order == "asc" else TupleLessThan
            if value is not None:
                run(
                    "cursor",
                    f"cursor page, sortField={name}&sortOrder={order}",
                    keyset.walk(queryset).filter(after(Tuple(F(keyset.field), F("pk")), (value, pk)))[:101],
                )
    queryset, _, _ = queryset_for(user, {})
    run("sort", "page 5,000 of 100 by offset (createdAt desc)", queryset[499_900:500_001])
    run("count", "exact COUNT(*) of the organization (what an exact total costs)", queryset.order_by().values("pk"))
    cap = PageLimitPagination.exact_count_up_to + 1
    run("count", f"capped count (first {cap} rows)", queryset.order_by().values("pk")[:cap])
    filters = {
        "status=qualified": {"status": "qualified"},
        "source=referral": {"source": "referral"},
        "assignedTo=<a rep>": {"assignedTo": str(user.organization.users.exclude(pk=user.pk).first().pk)},
        "scoreMin=90": {"scoreMin": "90"},
        "createdAfter=2026-10-01": {"createdAfter": "2026-10-01T00:00:00Z"},
        "lastContactedBefore=2024-01-01": {"lastContactedBefore": "2024-01-01T00:00:00Z"},
        "isActive=false": {"isActive": "false"},
        "q=okafor": {"q": "okafor"},
        "q=acme globex": {"q": "acme globex"},
    }
    for title, query in filters.items():
        queryset, _, _ = queryset_for(user, query)
        run("filters", f"filter {title}, page 1 of 100", queryset[:101])
    for title, query in list(filters.items())[-2:]:
        queryset, _, _ = queryset_for(user, query)
        total, estimate = count_rows(queryset, PageLimitPagination.exact_count_up_to)
        print(f"\n({title}: total {total}{' (estimate)' if estimate else ''})")

    if not only or "other" in only:
        for title, send in other_queries(user).items():
            for number, sql in enumerate(sent_to_leads(send)):
                run("other", f"{title}{f' (query {number + 1})' if number else ''}", sql)

    print("\nSequential scans of leads_lead:", ", ".join(seq_scans) or "none")


if __name__ == "__main__":
    main()
