"""Reassign a busy rep's leads to another rep through the API, and back: time, queries, leads moved.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/leads_bench .venv/bin/python bench/reassign_bench.py [--rounds 2]

Uses the database loaded by `bench/load.py --leads 1000000`: in "bench-big" the busiest rep holds
about 65,000 leads, of which about 48,600 are new, contacted or qualified; the request moves those
(`status=[new, contacted, qualified]`) to the least busy rep, then the next request moves them back,
so the database ends as it began. Each request is the whole stack (Django's test client, JWT) and
writes one history entry and one event per moved lead.

    ... bench/reassign_bench.py --job [--leads 50000]

measures the reassign as a job instead (more than 1,000 leads are one): `--leads` leads of "bench-big"
are first given to one rep (set-up, not timed), then POST /leads/reassign queues the job and it runs
here as the worker runs it, chunk by chunk, while a second connection PATCHes leads of the set being
moved, one after the other: the worker's time, its chunks, and the longest PATCH (its wait for a
chunk's row locks included).
"""

import argparse
import os
import random
import statistics
import threading
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
    parser.add_argument("--job", action="store_true", help="run the reassign as a job, with a concurrent PATCH")
    parser.add_argument("--leads", type=int, default=50_000, help="leads moved by the job (with --job)")
    args = parser.parse_args()
    if args.job:
        return reassign_job(args)

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


def reassign_job(args):
    from jobs.models import Job
    from jobs.tasks import run_job
    from leads import services, tasks

    user = admin(BIG)
    client = api_client(user)
    leads = Lead.objects.filter(organization=user.organization)
    source, target, other = (
        user.organization.users.exclude(pk=user.pk).order_by("email").values_list("pk", flat=True)[:3]
    )
    ids = list(leads.values_list("pk", flat=True).order_by("?")[: args.leads])
    # Set-up (not timed): `source` holds exactly these leads, `target` none.
    leads.filter(assigned_to__in=[source, target]).update(assigned_to=other)
    for start in range(0, len(ids), 10_000):
        leads.filter(pk__in=ids[start : start + 10_000]).update(assigned_to=source)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE leads_lead")
    print(f"load average before: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores)")

    response = client.post("/leads/reassign", {"fromUserId": str(source), "toUserId": str(target)}, format="json")
    assert response.status_code == 202, response.content
    job_id = response.json()["id"]
    with ConcurrentPatches(user, ids) as patches:
        started = time.perf_counter()
        run_job.call(job_id)  # as the worker runs it
        seconds = time.perf_counter() - started
    job = Job.objects.get(pk=job_id)
    chunks = -(-job.done // tasks.REASSIGN_CHUNK)
    print(
        f"as a job: {job.status}, {job.done:,} leads in {chunks} chunks of <= {tasks.REASSIGN_CHUNK:,}: "
        f"{seconds:.2f} s of worker time; {patches.summary()}"
    )
    print(f"load average: {os.getloadavg()[0]:.2f}")

    # The same leads back in one transaction, as the request did before jobs (the same run, for the ratio).
    users = {user.pk: user for user in user.organization.users.filter(pk__in=[source, target])}
    with ConcurrentPatches(user, ids) as patches:
        started = time.perf_counter()
        moved = services.lead_reassign(
            organization=user.organization, from_user=users[target], to_user=users[source], user=user
        )
        one_transaction = time.perf_counter() - started
    print(f"in one transaction: {moved:,} leads in {one_transaction:.2f} s; {patches.summary()}")
    print(f"job / one transaction: {seconds / one_transaction:.2f}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


class ConcurrentPatches:
    """PATCHes random leads of `ids`, one after the other, on a second connection while the block runs."""

    def __init__(self, user, ids):
        self.user, self.ids, self.times, self.stop = user, ids, [], threading.Event()

    def __enter__(self):
        self.thread = threading.Thread(target=self.run)
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.stop.set()
        self.thread.join()

    def run(self):
        editor = api_client(self.user)
        try:
            while not self.stop.is_set():
                started = time.perf_counter()
                answer = editor.patch(
                    f"/leads/{random.choice(self.ids)}", {"score": random.randint(0, 100)}, format="json"
                )
                self.times.append(time.perf_counter() - started)
                assert answer.status_code == 200, answer.content
        finally:
            connection.close()

    def summary(self) -> str:
        return (
            f"a concurrent PATCH of those leads: {len(self.times)} requests, longest {max(self.times) * 1000:,.0f} ms, "
            f"median {statistics.median(self.times) * 1000:,.0f} ms"
        )


if __name__ == "__main__":
    main()
