"""Reassign a busy rep's leads to another rep through the API, and back: time, queries, leads moved.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/leads_bench .venv/bin/python bench/reassign_bench.py [--rounds 2]

Uses the database loaded by `bench/load.py --leads 1000000`: in "bench-big" the busiest rep holds
about 65,000 leads, of which about 48,600 are new, contacted or qualified; the request moves those
(`status=[new, contacted, qualified]`) to the least busy rep, then the next request moves them back,
so the database ends as it began. Each request is the whole stack (Django's test client, JWT) and
writes one history entry and one event per moved lead.
"""

import argparse
import os
import time

from common import BIG, admin, api_client
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from leads.models import Lead

STATUSES = ["new", "contacted", "qualified"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2, help="there-and-back pairs")
    args = parser.parse_args()

    user = admin(BIG)
    client = api_client(user)
    reps = (
        Lead.objects.filter(organization=user.organization, assigned_to__isnull=False)
        .values("assigned_to")
        .annotate(n=Count("pk"))
        .order_by("-n")
    )
    busiest, quietest = reps.first()["assigned_to"], reps.last()["assigned_to"]
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    for _ in range(args.rounds):
        for from_user, to_user in ((busiest, quietest), (quietest, busiest)):
            body = {"fromUserId": str(from_user), "toUserId": str(to_user), "status": STATUSES}
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.post("/leads/reassign", body, format="json")
                seconds = time.perf_counter() - started
            assert response.status_code == 200, response.content
            moved = response.json()
            print(f"reassign: {seconds:6.2f} s, {len(queries)} queries, response {moved}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
