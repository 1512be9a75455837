"""What writing events costs: lead creation latency and import speed, with events and without, in one run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/leads_events_bench .venv/bin/python bench/events_bench.py \\
        [--creates 400] [--rounds 3] [--import-rows 100000]

"Without" is the same code with the services' and the importer's event writes replaced by no-ops
(`record_events` and the payload building), so the difference is exactly what events add. The two
are measured alternately, round after round, so a change of the machine's load hits both alike.

- Lead creation: `POST /leads` through Django's test client in this process (authentication,
  validation, the service, its transaction on PostgreSQL; no network), `--creates` per round each.
- Import: `import_leads` of a generated CSV (bench/import_bench.py's rows), each run in a process
  of its own into emptied tables.

The leads, history and events tables are emptied first: the database name must contain "bench".
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadsite.settings.dev")
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("LOG_LEVEL", "WARNING")

from bench.scratch_db import empty_tables, prepare  # noqa: E402

SLUG = "events-bench"


@contextmanager
def events_off():
    """The services and the importer as they are, minus the event writes."""
    import customers.services
    import leads.importing.writing
    import leads.services

    def no_event(*args, **kwargs):
        return None

    def no_write(events, **kwargs):
        return []

    with (
        mock.patch.object(leads.services, "lead_event", no_event),
        mock.patch.object(leads.services, "record_events", no_write),
        mock.patch.object(customers.services, "record_events", no_write),
        mock.patch.object(leads.importing.writing, "lead_event", no_event),
        mock.patch.object(leads.importing.writing, "record_events", no_write),
    ):
        yield


def create_latencies(client, count, tag) -> list:
    """Milliseconds of each of `count` POST /leads."""
    latencies = []
    for n in range(count):
        body = {"name": f"Bench {tag} {n}", "email": f"{tag}-{n}@bench.example", "score": n % 101, "source": "web"}
        started = time.perf_counter()
        response = client.post("/leads", body, format="json")
        latencies.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 201, response.content
    return latencies


def child_import(args):
    """In a process of its own: import the file (with or without events), print seconds as JSON."""
    import django

    django.setup()
    from django.core.management import call_command

    options = ["--organization", SLUG, "--quiet", "--allow-errors", "--batch-size", "5000"]
    with events_off() if args.without_events else nullcontext():
        started = time.perf_counter()
        call_command("import_leads", args.child_import, *options, errors=os.devnull, stdout=sys.stderr)
        seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds}))


def run_import(path, without_events) -> float:
    empty_tables(close=True)
    command = [sys.executable, __file__, "--child-import", str(path)]
    if without_events:
        command.append("--without-events")
    result = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(result.stdout.strip().splitlines()[-1])["seconds"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--creates", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--import-rows", type=int, default=100_000)
    parser.add_argument("--workdir", default="/tmp/events_bench")
    parser.add_argument("--child-import", help=argparse.SUPPRESS)
    parser.add_argument("--without-events", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_import:
        return child_import(args)

    organization = prepare(SLUG, "Events bench")
    from bench.import_bench import generate
    from conftest import client_for
    from organizations.models import User

    user, _ = User.objects.get_or_create(
        email=f"admin@{SLUG}.example", defaults={"organization": organization, "role": User.Role.ADMIN}
    )
    client = client_for(user)
    loads = [os.getloadavg()[0]]

    create = {"with": [], "without": []}
    create_latencies(client, 50, "warm-up")
    for round_number in range(args.rounds):
        create["with"] += create_latencies(client, args.creates, f"with{round_number}")
        with events_off():
            create["without"] += create_latencies(client, args.creates, f"without{round_number}")
        empty_tables()
        loads.append(os.getloadavg()[0])

    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    path, clean = workdir / f"leads_{args.import_rows}.csv", workdir / f"clean_{args.import_rows}.csv"
    if not path.exists():
        generate(path, clean, args.import_rows, 0.02, [user.email])
    imports = {"with": [], "without": []}
    for _ in range(args.rounds):
        imports["with"].append(run_import(path, without_events=False))
        imports["without"].append(run_import(path, without_events=True))
        loads.append(os.getloadavg()[0])
    empty_tables(close=True)

    def summary(latencies):
        ordered = sorted(latencies)
        return statistics.median(ordered), ordered[int(len(ordered) * 0.95)], statistics.mean(ordered)

    print(f"date {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"load average (1 min) during the run: {min(loads):.1f} to {max(loads):.1f}")
    print(f"POST /leads, {args.rounds} x {args.creates} each, alternating: p50 / p95 / mean ms")
    with_create, without_create = summary(create["with"]), summary(create["without"])
    for label, (p50, p95, mean) in (("with events", with_create), ("without", without_create)):
        print(f"  {label:<12}: {p50:6.2f} / {p95:6.2f} / {mean:6.2f}")
    p50_added, mean_added = with_create[0] / without_create[0] - 1, with_create[2] / without_create[2] - 1
    print(f"  events add  : {p50_added:+.1%} at p50, {mean_added:+.1%} mean")
    print(f"import_leads of {args.import_rows:,} rows, best of {args.rounds}, alternating:")
    for label, runs in (("with events", imports["with"]), ("without", imports["without"])):
        every = ", ".join(f"{seconds:.1f}" for seconds in runs)
        print(f"  {label:<12}: {min(runs):6.1f}s {args.import_rows / min(runs):>8,.0f} rows/s  (every run: {every} s)")
    print(f"  speed lost  : {1 - min(imports['without']) / min(imports['with']):.1%}")


if __name__ == "__main__":
    main()
