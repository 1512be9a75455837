"""The admin dashboard of the organization holding 800,000 leads: time and queries per request.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/leads_bench_NAME .venv/bin/python bench/dashboard.py [-n 5]

(the database loaded by `bench/load.py --leads 1000000`, whose "bench-big" organization holds 80%.)
Requests go through Django's test client, the whole stack, logged in as that organization's admin.
"cold" clears the cache first, so the three aggregate queries run (two over the tallies of
leads/tallies.py, one over the leads contacted or created in the last 30 days); "cached" is the same page within
the minute the figures are kept; "other source" switches the source filter on cached figures; the
"predictions part" (issue 20: /admin/dashboard/predictions/, the page fetches it after it loads) reads
every open lead in one query, cold and cached likewise. Each
line prints the median and the slowest of `-n` requests, the SQL queries of one request and the
time of each aggregate query alone; the load average is printed before and after, since the
machine is shared.
"""

import argparse
import os
import statistics
import time

from common import BIG, admin  # noqa: F401 (sets Django up)
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leads.dashboard import PERIODS
from leads.selectors import lead_dashboard_rows


def load_average():
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def timed(call, times):
    durations, queries = [], 0
    for _ in range(times):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            call()
            durations.append((time.perf_counter() - started) * 1000)
        queries = len(captured)
    return statistics.median(durations), max(durations), queries


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=5, help="requests per line")
    args = parser.parse_args()

    user = admin(BIG)
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    organization = user.organization
    leads = organization.leads.count()
    client = Client()
    client.force_login(user)
    print(f"organization {organization.slug}: {leads:,} leads; load average before: {load_average()}")
    print(f"{'request':<34} {'median':>9} {'slowest':>9} {'queries':>8}")

    def get(**params):
        response = client.get("/admin/dashboard/", params)
        assert response.status_code == 200, response.status_code

    for period in PERIODS:

        def cold(period=period):
            cache.clear()
            get(period=period)

        lines = [
            (f"period {period}, cold", cold),
            (f"period {period}, cached", lambda period=period: get(period=period)),
            (f"period {period}, other source, cached", lambda period=period: get(period=period, source="referral")),
        ]
        for label, call in lines:
            median, slowest, queries = timed(call, args.n)
            print(f"{label:<34} {median:>7.0f}ms {slowest:>7.0f}ms {queries:>8}")

    def predictions(**params):
        response = client.get("/admin/dashboard/predictions/", params)
        assert response.status_code == 200, response.status_code

    def predictions_cold():
        cache.clear()
        predictions()

    # The predictions part (issue 20), fetched by the page right after it unless cached.
    for label, call in [
        ("predictions part, cold", predictions_cold),
        ("predictions part, cached", predictions),
        ("predictions part, other source", lambda: predictions(source="referral")),
        ("page with the part cached", lambda: get(period=30)),
    ]:
        median, slowest, queries = timed(call, args.n)
        print(f"{label:<34} {median:>7.0f}ms {slowest:>7.0f}ms {queries:>8}")

    print("the aggregate queries alone (median of -n):")
    for period in (30, 365):
        with CaptureQueriesContext(connection) as captured:
            lead_dashboard_rows(organization=organization, days=period, now=timezone.now())
        tallies, recent, weekly = (query["sql"] for query in captured.captured_queries)
        names_and_queries = [(f"week tallies, {period} days", weekly)]
        if period == 30:
            names_and_queries[:0] = [("tallies per assignee, source", tallies), ("leads of the last 30 days", recent)]
        for name, sql in names_and_queries:

            def run(sql=sql):
                with connection.cursor() as cursor:
                    cursor.execute(sql)
                    cursor.fetchall()

            median, slowest, _ = timed(run, args.n)
            print(f"  {name:<32} {median:>7.0f}ms {slowest:>7.0f}ms")
    print(f"load average after: {load_average()}")


if __name__ == "__main__":
    main()
