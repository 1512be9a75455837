"""The indexes of leads_lead are exactly those a documented query needs, and each query is served by its index.

Every lead insert and every reassign updates every index of the table, so an index stays only
for a query the API, the admin or the importer sends. LEAD_INDEXES names each one with those
queries (docs/scaling.md, "Indexes of leads_lead", lists the same); a new index fails
`test_the_indexes_are_the_documented_ones` until it is listed with its query, and a query whose
plan stops naming its index fails `test_each_documented_query_is_served_by_its_index`.

The plans are PostgreSQL's for the SQL the API really sends (captured from requests through the
test client). On a test's few rows the planner would read the table whole, so sequential scans,
sorts and (where the query's plan is a walk) bitmap scans are priced out, as a million rows
price them out: what is left is an index that serves the query, or none. `bench/explain.py`
prints the same plans at 1,000,000 leads without any of that.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from customers.tests.factories import CustomerFactory
from leads.models import SORTABLE_FIELDS
from leads.tests.factories import LeadFactory
from organizations.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LEAD_INDEXES = {
    "leads_lead_pkey": "one lead by id: detail, PUT, PATCH, DELETE, convert, merge",
    "lead_createdat_idx": "the default order (createdAt desc), sortField=createdAt; the list filters walk it",
    "lead_updatedat_idx": "sortField=updatedAt",
    "lead_name_idx": "sortField=name",
    "lead_email_idx": "sortField=email",
    "lead_company_idx": "sortField=company",
    "lead_source_idx": "sortField=source; the total of /leads/by-source/{source}",
    "lead_status_idx": "sortField=status",
    "lead_score_idx": "sortField=score; the top scorers of /leads/stats/scoring",
    "lead_lastcontacte_idx": "sortField=lastContactedAt; the lastContactedBefore filter",
    "lead_predictedsco_idx": "sortField=predictedScore",
    "lead_org_assignee_idx": "the total of /leads/assigned-to/{id}; POST /leads/reassign",
    "lead_org_email_lower_idx": "the duplicate check of POST /leads; the importer's email look-up; duplicates",
    "lead_org_phone_digits_idx": "GET /leads/duplicates: the leads of a page's phone groups (PostgreSQL)",
    "lead_search_trgm": "the q filter (PostgreSQL, pg_trgm)",
    "lead_converted_customer_idx": "a customer's leadIds; deleting a customer",
}
POSTGRES_ONLY = {"lead_org_phone_digits_idx", "lead_search_trgm"}

WALK = ("seqscan", "sort", "bitmapscan")  # what a list page's plan may not use: it walks an index in order
LOOKUP = ("seqscan",)  # a look-up may use the index any way
# The top scorers (ORDER BY score DESC, id DESC LIMIT 5): on a few rows a bitmap scan of any index with the
# organization first costs the same as another, and the planner picked lead_org_assignee_idx now and then.
TOP = ("seqscan", "bitmapscan")
BITMAP = ("seqscan", "indexscan", "indexonlyscan")  # a filter the planner answers from an index's matches

SORT_CASES = [
    (f"sortField={name}&sortOrder={order}", f"lead_{column.replace('_', '')[:12]}_idx")
    for name, column in SORTABLE_FIELDS.items()
    for order in ("asc", "desc")
]


def index_names():
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "leads_lead")
    # SQLite names the primary key __primary__.
    return {
        "leads_lead_pkey" if info["primary_key"] else name
        for name, info in constraints.items()
        if info["index"] or info["primary_key"]
    }


def test_the_indexes_are_the_documented_ones():
    documented = set(LEAD_INDEXES)
    if connection.vendor != "postgresql":
        documented -= POSTGRES_ONLY
    assert index_names() == documented


def test_docs_scaling_lists_every_index_with_its_query():
    with open("docs/scaling.md", encoding="utf-8") as docs:
        text = docs.read()
    section = text[text.index("## 6. Indexes of leads_lead") :]
    assert [name for name in LEAD_INDEXES if f"`{name}`" not in section] == []


@pytest.fixture
def leads(organization, user):
    """Leads with every nullable sort field null in some rows, a customer, and another organization's leads."""
    customer = CustomerFactory(organization=organization)
    made = [
        LeadFactory(
            organization=organization,
            email=None if n % 3 == 0 else f"lead{n}@example.com",
            company=None if n % 4 == 0 else f"Company {n}",
            source=None if n % 5 == 0 else "referral" if n == 3 else "website",
            score=None if n % 3 == 1 else n,
            last_contacted_at=None if n % 2 else timezone.now() - timedelta(days=9000 if n == 4 else 1),
            assigned_to=user if n % 2 else None,
            status=["new", "contacted", "qualified"][n % 3],
            is_active=n % 6 != 0,
            phone=f"555-000-{min(n, 28):04d}",  # two leads share a phone
        )
        for n in range(30)
    ]
    LeadFactory(organization=organization, status="converted", converted_customer=customer)
    LeadFactory.create_batch(10, organization=UserFactory().organization)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE leads_lead")  # the planner's row counts, as a live table has them
    return made


def plans_of_requests(send, priced_out, statements=("SELECT",)):
    """The plan of each statement on leads_lead that `send()` runs, with `priced_out` planner methods off."""
    with CaptureQueriesContext(connection) as queries:
        send()
    sent = [
        query["sql"]
        for query in queries.captured_queries
        if query["sql"].startswith(statements) and '"leads_lead"' in query["sql"]
    ]
    assert sent, "no query on leads_lead was sent"
    plans = []
    with connection.cursor() as cursor:
        for method in priced_out:
            cursor.execute(f"SET LOCAL enable_{method} = off")
        for sql in sent:
            cursor.execute(f"EXPLAIN {sql}")
            plans.append((sql, "\n".join(row[0] for row in cursor.fetchall())))
        for method in priced_out:
            cursor.execute(f"RESET enable_{method}")
    return plans


def reads(plan, index):
    """Whether the plan reads this index: "Index Scan using <index> on leads_lead", "Bitmap Index Scan on <index>"."""
    return f"using {index} on leads_lead" in plan or f"Bitmap Index Scan on {index} " in plan


def assert_served_by(plans, index, *, walk):
    """Every statement reads leads_lead through an index, `index` among them; a walk sorts nothing."""
    shown = "\n\n".join(plan for _, plan in plans)
    assert any(reads(plan, index) for _, plan in plans), shown
    for _, plan in plans:
        assert "Seq Scan on leads_lead" not in plan, shown
        assert not (walk and "Sort" in plan), shown


@pytest.mark.postgres
@pytest.mark.parametrize(("query", "index"), SORT_CASES, ids=[query for query, _ in SORT_CASES])
def test_each_sort_walks_its_index_on_every_page(api, leads, query, index):
    """Page 1, a page across the seam of a descending sort's two walks (values, then nulls), a page
    among the nulls, and a cursor page."""
    cursor = api.get(f"/leads?limit=4&cursor=&{query}").json()["nextCursor"]
    for path in [
        f"limit=4&{query}",
        f"limit=4&page=5&{query}",
        f"limit=4&page=7&{query}",
        f"limit=4&cursor={cursor}&{query}",
    ]:
        plans = plans_of_requests(lambda path=path: api.get(f"/leads?{path}"), WALK)
        # Not the total (planner_row_estimate and a capped count) nor a walk's count: they may read any index.
        pages = [(sql, plan) for sql, plan in plans if not sql.startswith(("SELECT estimate", "SELECT COUNT(*)"))]
        assert pages
        assert all(f"using {index} on leads_lead" in plan for _, plan in pages), [plan for _, plan in pages]
        assert_served_by(pages, index, walk=True)


@pytest.mark.postgres
@pytest.mark.parametrize(
    "query",
    [
        "status=qualified",
        "source=website",
        "scoreMin=20&scoreMax=80",
        "isActive=false",
        "createdAfter=2020-01-01T00:00:00Z",
    ],
)
def test_the_list_filters_walk_the_default_order(api, leads, query):
    plans = plans_of_requests(lambda: api.get(f"/leads?limit=5&{query}"), WALK)
    assert_served_by([p for p in plans if not p[0].startswith("SELECT estimate")], "lead_createdat_idx", walk=True)


@pytest.mark.postgres
def test_the_search_reads_the_trigram_index(api, organization):
    """q: a rare term among 20,000 leads (on a few rows the planner rightly reads them all instead)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO leads_lead (id, organization_id, name, email, company, status, custom_fields, is_active, "
            "created_at, updated_at) SELECT gen_random_uuid(), %s, 'Lead ' || n, 'lead' || n || '@example.com', "
            "CASE WHEN n = 7 THEN 'Okafor Ltd' ELSE 'Company ' || n END, 'new', '{}', true, now(), now() "
            "FROM generate_series(1, 20000) AS n",
            [organization.pk],
        )
        # What autovacuum does to a live table: move the new rows' trigrams out of the GIN pending list.
        cursor.execute("SELECT gin_clean_pending_list('lead_search_trgm'::regclass)")
        cursor.execute("ANALYZE leads_lead")
    body = api.get("/leads?q=okafor").json()
    assert [lead["company"] for lead in body["data"]] == ["Okafor Ltd"]
    assert_served_by(plans_of_requests(lambda: api.get("/leads?q=okafor"), BITMAP), "lead_search_trgm", walk=False)


# (method, path, body, statements, planner methods priced out, index): {lead}, {email}, {customer},
# {user} and {rep} are filled in by the test.
REQUEST_CASES = [
    ("get", "/leads?lastContactedBefore=2010-01-01T00:00:00Z", None, "SELECT", BITMAP, "lead_lastcontacte_idx"),
    ("get", "/leads/by-source/referral", None, "SELECT", LOOKUP, "lead_source_idx"),
    ("get", "/leads/assigned-to/{user}", None, "SELECT", LOOKUP, "lead_org_assignee_idx"),
    ("get", "/leads/stats/scoring", None, "SELECT", TOP, "lead_score_idx"),
    ("get", "/leads/{lead}", None, "SELECT", LOOKUP, "leads_lead_pkey"),
    ("get", "/customers/{customer}", None, "SELECT", LOOKUP, "lead_converted_customer_idx"),
    ("post", "/leads", {"name": "New", "email": "{email}"}, "SELECT", LOOKUP, "lead_org_email_lower_idx"),
    ("get", "/leads/duplicates", None, "SELECT", LOOKUP, "lead_org_phone_digits_idx"),
    (
        "post",
        "/leads/reassign",
        {"fromUserId": "{user}", "toUserId": "{rep}"},
        "UPDATE",
        LOOKUP,
        "lead_org_assignee_idx",
    ),
]


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("method", "path", "body", "statements", "priced_out", "index"),
    REQUEST_CASES,
    ids=[f"{case[0]} {case[1]}" for case in REQUEST_CASES],
)
def test_the_other_queries_use_their_index(
    api, leads, organization, user, method, path, body, statements, priced_out, index
):
    names = {
        "lead": leads[1].pk,
        "email": leads[1].email.upper(),
        "customer": organization.customers.get().pk,
        "user": user.pk,
        "rep": UserFactory(organization=organization).pk,
    }
    path = path.format(**names)
    body = {key: value.format(**names) for key, value in body.items()} if body else None
    plans = plans_of_requests(lambda: getattr(api, method)(path, body, format="json"), priced_out, (statements,))
    assert_served_by(plans, index, walk=False)


def test_every_documented_index_has_a_query_here():
    tested = {index for *_, index in REQUEST_CASES} | {index for _, index in SORT_CASES}
    tested |= {"lead_createdat_idx", "lead_search_trgm"}  # the list filters' and the search's tests
    assert tested == set(LEAD_INDEXES)
