"""Webhook push: commit-to-receiver latency with an idle worker, and deliveries per second of one worker.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/leads_webhooks_bench .venv/bin/python bench/webhooks_bench.py

A receiver on 127.0.0.1:8162 answers 200 at once. Latency: events are recorded one at a time (each in
its own committed transaction, as a service writes them), at random moments so the worker's idle polling
phase is random; the figure is the time from COMMIT to the receiver reading the request, for each
`--interval` of `db_worker`. Throughput: `--burst` events are recorded while no worker runs, then one
worker starts and the figure is deliveries received per second from its first to its last delivery.
Each run starts from an empty webhooks table; the database is migrated first.
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadsite.settings.dev")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/leads_webhooks_bench")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402
from django_tasks_db.models import DBTaskResult  # noqa: E402

from events.services import new_event, record_events  # noqa: E402
from organizations.models import Organization  # noqa: E402
from webhooks.models import Webhook  # noqa: E402
from webhooks.receiver import Receiver  # noqa: E402
from webhooks.sending import new_secret  # noqa: E402

PORT = 8162


def load_average():
    return os.getloadavg()


def start_worker(interval):
    return subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--interval", str(interval), "--no-reload", "-v0"],
        cwd=ROOT,
        env={**os.environ, "WEBHOOK_ALLOW_PRIVATE_URLS": "true"},
    )


def stop(worker):
    worker.terminate()
    worker.wait(timeout=30)


def record(organization, count=1):
    with transaction.atomic():
        events = [new_event("lead.created", organization_id=organization.pk, data={"n": n}) for n in range(count)]
        record_events(events)
    return time.time()  # committed


def fresh_organization():
    Webhook.objects.filter(organization__slug="webhooks-bench").delete()
    DBTaskResult.objects.all().delete()
    organization, _ = Organization.objects.get_or_create(slug="webhooks-bench", defaults={"name": "Webhooks bench"})
    Webhook.objects.create(
        organization=organization, url=f"http://127.0.0.1:{PORT}/bench", event_types=["*"], secret=new_secret()
    )
    return organization


def latency(organization, receiver, interval, samples):
    worker = start_worker(interval)
    try:
        record(organization)  # the first delivery waits for the worker to start
        receiver.wait_for(1, timeout=60)
        figures = []
        for _ in range(samples):
            time.sleep(random.uniform(0.2, 0.2 + interval))
            before = len(receiver.requests)
            committed = record(organization)
            arrived = receiver.wait_for(before + 1, timeout=30)[before].at
            figures.append(arrived - committed)
    finally:
        stop(worker)
    receiver.requests.clear()
    return figures


def cpu_seconds(pid):
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def throughput(organization, receiver, burst):
    record(organization, burst)
    worker = start_worker(0.2)
    try:
        first = receiver.wait_for(1, timeout=120)
        cpu_at_first = cpu_seconds(worker.pid)
        requests = receiver.wait_for(burst, timeout=900)
        cpu = cpu_seconds(worker.pid) - cpu_at_first
    finally:
        stop(worker)
    span = requests[-1].at - first[0].at
    receiver.requests.clear()
    return len(requests) - 1, span, cpu


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=60)
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--intervals", default="0.2,1")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    organization = fresh_organization()
    print(f"load average before: {load_average()[0]:.2f} {load_average()[1]:.2f} {load_average()[2]:.2f}")
    with Receiver(PORT) as receiver:
        for interval in [float(value) for value in args.intervals.split(",")]:
            figures = latency(organization, receiver, interval, args.samples)
            print(
                f"db_worker --interval {interval:g}: commit-to-receiver p50 {statistics.median(figures) * 1000:.0f} ms,"
                f" p95 {percentile(figures, 0.95) * 1000:.0f} ms, max {max(figures) * 1000:.0f} ms"
                f" ({len(figures)} events; load {load_average()[0]:.2f})"
            )
        count, span, cpu = throughput(organization, receiver, args.burst)
        print(
            f"one worker: {count} deliveries in {span:.1f} s = {count / span:.1f} deliveries/s; the worker process used"
            f" {cpu * 1000 / count:.1f} ms of CPU per delivery (load {load_average()[0]:.2f})"
        )


if __name__ == "__main__":
    main()
