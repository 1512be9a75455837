"""Latency of every lead endpoint at a million leads, beside hand-written SQL + orjson for the same rows.

    .venv/bin/python bench/api.py [-n 200] [--only list,stats]   (DATABASE_URL defaults to .../leads_bench)

Requests go through Django's test client (the whole stack: middleware, JWT authentication,
throttling, DRF, serializers, rendering) as the admin of the organization that holds 80% of the
leads. Each row prints the median and p95 over `-n` requests, the SQL queries one request makes,
and the same rows fetched with one hand-written query through psycopg and dumped with orjson,
measured in the same run; the ratio is API median / hand-written median. Writes (create,
update, convert) each use fresh rows and leave them in the database.
"""

import argparse
import os
import random
import statistics
import time
import uuid

os.environ.setdefault("THROTTLE_RATE_USER", "100000000/second")

import orjson  # noqa: E402
import psycopg  # noqa: E402
from common import admin, api_client  # noqa: E402 (sets Django up)
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from psycopg.rows import dict_row  # noqa: E402

LEAD = {
    "id": "id",
    "organizationId": "organization_id",
    "name": "name",
    "email": "email",
    "phone": "phone",
    "company": "company",
    "source": "source",
    "status": "status",
    "score": "score",
    "assignedTo": "assigned_to_id",
    "lastContactedAt": "last_contacted_at",
    "notes": "notes",
    "customFields": "custom_fields",
    "isActive": "is_active",
    "convertedAt": "converted_at",
    "convertedCustomerId": "converted_customer_id",
    "createdAt": "created_at",
    "updatedAt": "updated_at",
}
BY_SOURCE = ["id", "name", "email", "source", "status", "score", "createdAt"]
BY_ASSIGNEE = ["id", "name", "assignedTo", "status", "score", "lastContactedAt"]
SORTS = {
    "name": ("name", False),
    "email": ("email", True),
    "company": ("company", True),
    "source": ("source", True),
    "status": ("status", False),
    "score": ("score", True),
    "createdAt": ("created_at", False),
    "updatedAt": ("updated_at", False),
    "lastContactedAt": ("last_contacted_at", True),
}
SEARCH = "(UPPER(name::text) LIKE UPPER(%(q)s) OR UPPER(email::text) LIKE UPPER(%(q)s) OR UPPER(company::text) LIKE UPPER(%(q)s))"  # noqa: E501


def columns(names=None):
    return ", ".join(f'{LEAD[name]} AS "{name}"' for name in names or LEAD)


def order_by(sort_field="createdAt", order="desc"):
    """The sort as the API reads it: a descending sort of a nullable column reads the values first
    (`select` adds `IS NOT NULL`), then the nulls, which a first page does not reach."""
    column, nullable = SORTS[sort_field]
    nulls = " NULLS LAST" if nullable and order == "asc" else ""
    return f"{column} {order.upper()}{nulls}, id {order.upper()}"


def select(where="TRUE", sort=("createdAt", "desc"), limit=100, offset=0, names=None):
    return (
        f"SELECT {columns(names)} FROM leads_lead WHERE organization_id = %(org)s AND {where} "
        f"ORDER BY {order_by(*sort)} LIMIT {limit} OFFSET {offset}"
    )


def dump(rows):
    return orjson.dumps({"data": rows}, option=orjson.OPT_UTC_Z)


def timed(fn, n):
    times = []
    for i in range(n):
        started = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), statistics.quantiles(times, n=20)[18]


class Bench:
    def __init__(self, n, slow_n):
        self.n, self.slow_n = n, slow_n
        self.user = admin()
        self.org = str(self.user.organization_id)
        self.client = api_client(self.user)
        # No prepared statements, as Django: both sides get the same (custom) plans from PostgreSQL.
        self.pg = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True, row_factory=dict_row)
        self.pg.prepare_threshold = None
        self.results = []

    def sql(self, sql, params=None, one=False):
        cursor = self.pg.execute(sql, {"org": self.org, **(params or {})})
        if cursor.description is None:
            return None
        return cursor.fetchone() if one else cursor.fetchall()

    def request(self, method, url, body=None):
        response = getattr(self.client, method)(url, body, format="json") if body is not None else self.client.get(url)
        assert response.status_code in (200, 201), (url, response.status_code, response.content[:300])
        return response

    def measure(self, title, api, baseline, warmup=3, n=None):
        """api(i) makes request i; baseline(i) runs the hand-written equivalent. Both get n + warmup + 1 calls."""
        n = n or self.n
        for i in range(warmup):
            api(n + i)
            baseline(n + i)
        with CaptureQueriesContext(connection) as queries:
            api(n + warmup)
        query_count = len(queries)  # now: the next request clears the log
        api_median, api_p95 = timed(api, n)
        sql_median, sql_p95 = timed(baseline, n)
        row = (title, api_median, api_p95, query_count, sql_median, sql_p95, api_median / sql_median)
        self.results.append(row)
        print("| {} | {:.1f} | {:.1f} | {} | {:.2f} | {:.2f} | {:.1f}x |".format(*row), flush=True)

    def get(self, title, url, sql, params=None, n=None):
        self.measure(title, lambda i: self.request("get", url), lambda i: dump(self.sql(sql, params)), n=n)


def header():
    print("| endpoint | API median ms | API p95 ms | queries | SQL+orjson median ms | SQL+orjson p95 ms | ratio |")
    print("|---|---|---|---|---|---|---|")


def lists(b):
    b.get("list page 1 (limit 100)", "/leads?limit=100", select())
    b.get("list page 1 (limit 10)", "/leads?limit=10", select(limit=10))
    # What the cursor replaces: reading and dropping the rows before a deep page (page 5,000 at a million
    # leads, the middle page with fewer). Slow, so fewer requests (--slow-n).
    page = min(5000, max(1, b.mine // 200))
    offset = (page - 1) * 100
    b.get(
        f"list page {page:,} by offset (n={b.slow_n})",
        f"/leads?limit=100&page={page}",
        select(offset=offset),
        n=b.slow_n,
    )
    row = b.sql(f"SELECT created_at, id FROM leads_lead WHERE organization_id = %(org)s ORDER BY {order_by()} "
                f"OFFSET {offset - 1} LIMIT 1", one=True)  # fmt: skip
    cursor = cursor_for("createdAt", "desc", row["created_at"].isoformat(), row["id"])
    b.get(
        f"list page {page:,} by cursor",
        f"/leads?limit=100&cursor={cursor}",
        select("(created_at, id) < (%(v)s, %(id)s)"),
        {"v": row["created_at"], "id": row["id"]},
    )


def cursor_for(sort_field, order, value, pk):
    import base64
    import json

    payload = json.dumps([sort_field, order, value, str(pk)], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def sorts(b):
    for name in SORTS:
        for order in ("asc", "desc"):
            column, nullable = SORTS[name]
            b.get(
                f"list sortField={name}&sortOrder={order}",
                f"/leads?limit=100&sortField={name}&sortOrder={order}",
                select(f"{column} IS NOT NULL" if nullable and order == "desc" else "TRUE", sort=(name, order)),
            )


def filters(b):
    rep = b.sql(
        "SELECT assigned_to_id AS id FROM leads_lead WHERE organization_id = %(org)s AND assigned_to_id IS NOT NULL "
        "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
        one=True,
    )["id"]
    cases = [
        ("status=qualified", "status=qualified", "status = 'qualified'", {}),
        ("status=new,contacted&source=website", "status=new,contacted&source=website",
         "status IN ('new', 'contacted') AND source = 'website'", {}),
        ("scoreMin=80&scoreMax=100", "scoreMin=80&scoreMax=100", "score >= 80 AND score <= 100", {}),
        ("createdAfter=2026-10-01", "createdAfter=2026-10-01T00:00:00Z", "created_at >= '2026-10-01T00:00:00Z'", {}),
        ("lastContactedBefore=2024-01-01", "lastContactedBefore=2024-01-01T00:00:00Z",
         "last_contacted_at < '2024-01-01T00:00:00Z'", {}),
        ("isActive=false", "isActive=false", "NOT is_active", {}),
        ("assignedTo=<busiest rep>", f"assignedTo={rep}", "assigned_to_id = %(rep)s", {"rep": rep}),
        ("q=okafor", "q=okafor", SEARCH, {"q": "%okafor%"}),
        ("q=acme globex", "q=acme%20globex", SEARCH, {"q": "%acme globex%"}),
    ]  # fmt: skip
    for title, query, where, params in cases:
        b.get(f"list {title}", f"/leads?limit=100&{query}", select(where), params)


def others(b):
    ids = [row["id"] for row in b.sql("SELECT id FROM leads_lead WHERE organization_id = %(org)s LIMIT 1000")]
    random.Random(1).shuffle(ids)
    b.measure(
        "detail",
        lambda i: b.request("get", f"/leads/{ids[i % len(ids)]}"),
        lambda i: orjson.dumps(
            b.sql(f"SELECT {columns()} FROM leads_lead WHERE id = %(id)s AND organization_id = %(org)s",
                  {"id": ids[i % len(ids)]}, one=True), option=orjson.OPT_UTC_Z),
    )  # fmt: skip
    b.get(
        "by-source/referral (limit 100)",
        "/leads/by-source/referral?limit=100",
        select("source = 'referral'", names=BY_SOURCE),
    )
    rep = b.sql(
        "SELECT assigned_to_id AS id FROM leads_lead WHERE organization_id = %(org)s AND assigned_to_id IS NOT NULL "
        "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
        one=True,
    )["id"]
    b.get(
        "assigned-to/<busiest rep> (limit 100)",
        f"/leads/assigned-to/{rep}?limit=100",
        select("assigned_to_id = %(rep)s", names=BY_ASSIGNEE),
        {"rep": rep},
    )


STATS_SQL = """
SELECT round(avg(score), 1) AS "averageScore",
       json_build_object('low', count(*) FILTER (WHERE score BETWEEN 0 AND 33),
                         'medium', count(*) FILTER (WHERE score BETWEEN 34 AND 66),
                         'high', count(*) FILTER (WHERE score BETWEEN 67 AND 100)) AS "scoreDistribution",
       (SELECT json_agg(t) FROM (SELECT id, name, score, status FROM leads_lead
                                  WHERE organization_id = %(org)s AND score IS NOT NULL
                                  ORDER BY score DESC, id DESC LIMIT 5) t) AS "topScorers"
FROM leads_lead WHERE organization_id = %(org)s
"""


def stats(b):
    b.measure(
        "stats/scoring",
        lambda i: b.request("get", "/leads/stats/scoring"),
        lambda i: orjson.dumps(b.sql(STATS_SQL, one=True), default=float),
    )


HISTORY_SQL = (
    "INSERT INTO leads_leadhistory (id, organization_id, lead_id, action, changes, actor_id, via, created_at) "
    "VALUES (gen_random_uuid(), %(org)s, %(id)s, %(action)s, %(changes)s, %(actor)s, 'api', now())"
)


def writes(b):
    actor = str(b.user.pk)
    b.measure(
        "create",
        lambda i: b.request("post", "/leads", {"name": f"Bench {i}", "email": f"{uuid.uuid4().hex}@b.co", "score": 50}),
        lambda i: create_by_hand(b, i, actor),
    )
    ids = [
        row["id"]
        for row in b.sql("SELECT id FROM leads_lead WHERE organization_id = %(org)s AND status = 'new' LIMIT 2000")
    ]
    b.measure(
        "update",
        lambda i: b.request("put", f"/leads/{ids[i]}", {"score": i % 100, "status": "contacted"}),
        lambda i: update_by_hand(b, ids[1000 + i], i, actor),
    )
    qualified = [
        row["id"]
        for row in b.sql(
            "SELECT id FROM leads_lead WHERE organization_id = %(org)s AND status = 'qualified' AND is_active "
            "ORDER BY created_at LIMIT 2000"
        )
    ]
    b.measure(
        "convert-to-customer",
        lambda i: b.request("post", f"/leads/{qualified[i]}/convert-to-customer", {}),
        lambda i: convert_by_hand(b, qualified[1000 + i], actor),
    )


def create_by_hand(b, i, actor):
    email = f"{uuid.uuid4().hex}@h.co"
    with b.pg.transaction():
        # The API refuses a second lead with the same email (case-insensitive): so does this.
        assert not b.sql(
            "SELECT id FROM leads_lead WHERE organization_id = %(org)s AND lower(email) = lower(%(email)s) LIMIT 1",
            {"email": email},
        )
        row = b.sql(
            "INSERT INTO leads_lead (id, organization_id, name, email, status, score, custom_fields, is_active, "
            "created_at, updated_at) VALUES (gen_random_uuid(), %(org)s, %(name)s, %(email)s, 'new', 50, '{}', "
            f"true, now(), now()) RETURNING {columns()}",
            {"name": f"Hand {i}", "email": email},
            one=True,
        )
        b.sql(HISTORY_SQL, {"id": row["id"], "action": "created", "changes": "{}", "actor": actor})
    return orjson.dumps(row, option=orjson.OPT_UTC_Z)


def update_by_hand(b, pk, i, actor):
    with b.pg.transaction():
        row = b.sql(
            f"UPDATE leads_lead SET score = %(score)s, status = 'contacted', updated_at = now() "
            f"WHERE id = %(id)s AND organization_id = %(org)s RETURNING {columns()}",
            {"id": pk, "score": i % 100},
            one=True,
        )
        changes = orjson.dumps({"score": {"new": i % 100}}).decode()
        b.sql(HISTORY_SQL, {"id": pk, "action": "updated", "changes": changes, "actor": actor})
    return orjson.dumps(row, option=orjson.OPT_UTC_Z)


def convert_by_hand(b, pk, actor):
    with b.pg.transaction():
        lead = b.sql(
            "SELECT name, company, email, phone FROM leads_lead WHERE id = %(id)s AND organization_id = %(org)s "
            "FOR UPDATE",
            {"id": pk},
            one=True,
        )
        number = b.sql(
            "UPDATE organizations_organization SET last_customer_number = last_customer_number + 1 "
            "WHERE id = %(org)s RETURNING last_customer_number",
            one=True,
        )["last_customer_number"]
        customer = b.sql(
            "INSERT INTO customers_customer (id, organization_id, customer_number, company_name, contact_email, "
            "contact_phone, status, created_at, updated_at) VALUES (gen_random_uuid(), %(org)s, %(number)s, "
            "%(company)s, %(email)s, %(phone)s, 'active', now(), now()) RETURNING id AS \"id\", "
            'customer_number AS "customerId", company_name AS "companyName", contact_email AS "contactEmail", '
            'contact_phone AS "contactPhone", status, created_at AS "createdAt", updated_at AS "updatedAt"',
            {
                "number": f"CUST-{number:03d}",
                "company": lead["company"] or lead["name"],
                "email": lead["email"],
                "phone": lead["phone"],
            },
            one=True,
        )
        b.sql(
            "UPDATE leads_lead SET status = 'converted', converted_at = now(), converted_customer_id = %(c)s, "
            "updated_at = now() WHERE id = %(id)s",
            {"id": pk, "c": customer["id"]},
        )
        b.sql(HISTORY_SQL, {"id": pk, "action": "converted", "changes": "{}", "actor": actor})
    return orjson.dumps({"customerId": customer["id"], "customer": customer}, option=orjson.OPT_UTC_Z)


def floor(b):
    """What any request costs before it does anything (bench/urls.py): no hand-written counterpart."""
    for title, url in [("floor: plain Django view", "/bench/django-noop"), ("floor: DRF view, JWT", "/bench/drf-noop")]:
        for _ in range(3):
            b.request("get", url)
        with CaptureQueriesContext(connection) as queries:
            b.request("get", url)
        query_count = len(queries)
        median, p95 = timed(lambda i, url=url: b.request("get", url), b.n)
        print(f"| {title} | {median:.1f} | {p95:.1f} | {query_count} | | | |", flush=True)


SECTIONS = {
    "floor": floor,
    "list": lists,
    "sort": sorts,
    "filters": filters,
    "other": others,
    "stats": stats,
    "writes": writes,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=200, help="requests per endpoint (default 200)")
    parser.add_argument("--slow-n", type=int, default=20, help="requests for the deep page by offset (default 20)")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"sections: {','.join(SECTIONS)}")
    args = parser.parse_args()
    bench = Bench(args.n, args.slow_n)
    count = bench.sql("SELECT count(*) AS n FROM leads_lead", one=True)["n"]
    mine = bench.mine = bench.sql("SELECT count(*) AS n FROM leads_lead WHERE organization_id = %(org)s", one=True)["n"]
    print(f"{count} leads, {mine} in {bench.user.organization.slug}; n={args.n} per endpoint")
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average {os.getloadavg()[0]:.1f}\n")
    header()
    for section in args.only.split(","):
        SECTIONS[section](bench)
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
