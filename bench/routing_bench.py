"""What lead routing costs: a create (time and queries) and an import, with routing and without, in one run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/leads_routing_bench .venv/bin/python bench/routing_bench.py \\
        [--creates 300] [--rows 20000] [--rounds 3] [--open-leads 50000]

In process, against DATABASE_URL (emptied: its name must contain "bench"). The organization has three
rules: two that do not match (a source, an email domain) and a least_loaded pool of three reps with
maxOpen, so every decision reads the pools, locks them, counts open leads and writes the state back.
Rounds alternate with and without routing so the machine's load hits both alike. Creates go through
leads.services.lead_create (as POST /leads after validation); the import is import_leads --processes 1
of a generated CSV, `--no-routing` for the runs without. Prints medians, ratios and the load average;
for the import also the importing process's CPU time, less disturbed by a loaded machine than its wall time.
`--open-leads N` then gives each rep N open leads and times creates again: least_loaded and maxOpen
read each member's open leads on every decision, summed from the tallies (leads/tallies.py); then
again with one tally row a lead, as single creates leave them until a compaction.
"""

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadsite.settings.dev")

from bench.scratch_db import empty_tables, prepare  # noqa: E402

SLUG = "routing-bench"


def setup_rules(organization):
    from organizations.models import User
    from routing.models import AssignmentRule
    from routing.services import rule_create

    AssignmentRule.objects.filter(organization=organization).delete()
    reps = []
    for name in ("ana", "ben", "cleo"):
        user, _ = User.objects.get_or_create(
            email=f"{name}@routing-bench.example", defaults={"organization": organization, "name": name.title()}
        )
        reps.append(user)
    members = [{"user": rep, "max_open": 10_000_000} for rep in reps]
    rule_create(
        organization=organization,
        data={"name": "Trade shows", "conditions": {"source": ["trade_show"]}, "members": members[:1]},
    )
    rule_create(
        organization=organization,
        data={"name": "Acme", "conditions": {"emailDomain": ["acme.example"]}, "members": members[1:2]},
    )
    rule_create(organization=organization, data={"name": "Everyone", "method": "least_loaded", "members": members})
    return reps


def time_creates(organization, count, route):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from leads import services

    durations = []
    with CaptureQueriesContext(connection) as queries:
        services.lead_create(
            organization=organization, user=None, data={"name": "Probe", "source": "website"}, route=route
        )
    for index in range(count):
        started = time.perf_counter()
        services.lead_create(
            organization=organization, user=None, data={"name": f"Lead {index}", "source": "website"}, route=route
        )
        durations.append(time.perf_counter() - started)
    return statistics.median(durations) * 1000, len(queries)


def time_with_open_leads(organization, reps, count, creates):
    from django.db import connection

    from leads.models import Lead

    for rep in reps:
        leads = (Lead(organization=organization, name=f"Open {i}", assigned_to=rep) for i in range(count))
        Lead.objects.bulk_create(leads, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE leads_lead")
    for route in (True, False):
        ms, queries = time_creates(organization, creates, route)
        print(f"create with {count:,} open leads a rep, routing {'on ' if route else 'off'}: median {ms:.2f} ms")
    # Routing sums a member's open leads from the tallies; single creates add a tally row each until
    # tallies.compact folds them (a dashboard view, an import): the worst case is one row a lead.
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO leads_leadtally (organization_id, assigned_to_id, source, status, is_active, band, leads,"
            " score_sum, folded) SELECT organization_id, assigned_to_id, source, status, is_active, 'unscored', 1, 0,"
            " false FROM leads_lead WHERE organization_id = %s AND name LIKE 'Open %%'",
            [organization.pk],
        )
        cursor.execute(
            "DELETE FROM leads_leadtally WHERE organization_id = %s AND leads > 1 AND assigned_to_id IS NOT NULL",
            [organization.pk],
        )
        cursor.execute("ANALYZE leads_leadtally")
    ms, queries = time_creates(organization, creates, True)
    print(f"create with {count:,} open leads a rep in one tally row each (none folded), routing on: median {ms:.2f} ms")
    empty_tables()


def time_import(organization, path, route):
    from django.core.management import call_command

    args = [str(path), "--organization", organization.slug, "--processes", "1", "--quiet"]
    if not route:
        args.append("--no-routing")
    started, cpu = time.perf_counter(), time.process_time()
    call_command("import_leads", *args, stdout=io.StringIO(), stderr=io.StringIO())
    return time.perf_counter() - started, time.process_time() - cpu


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--creates", type=int, default=300)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--open-leads", type=int, default=0)
    options = parser.parse_args()
    organization = prepare(SLUG, "Routing bench")
    reps = setup_rules(organization)
    print(f"load average before: {os.getloadavg()}")

    create = {True: [], False: []}
    for _ in range(options.rounds):
        for route in (True, False):
            create[route].append(time_creates(organization, options.creates, route))
            empty_tables()
    for route in (True, False):
        ms = statistics.median(value for value, _ in create[route])
        print(f"create, routing {'on ' if route else 'off'}: median {ms:.2f} ms, {create[route][0][1]} queries")
    on, off = (statistics.median(value for value, _ in create[flag]) for flag in (True, False))
    print(f"create ratio on/off: {on / off:.3f}; extra queries: {create[True][0][1] - create[False][0][1]}")

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "leads.csv"
        with open(path, "w") as stream:
            stream.write("name,email,source,score\n")
            for index in range(options.rows):
                stream.write(f"Lead {index},lead{index}@example.com,website,{index % 101}\n")
        imports = {True: [], False: []}
        for _ in range(options.rounds):
            for route in (True, False):
                imports[route].append(time_import(organization, path, route))
                empty_tables()
        for route in (True, False):
            seconds = statistics.median(wall for wall, _ in imports[route])
            cpu = statistics.median(cpu for _, cpu in imports[route])
            print(
                f"import {options.rows} rows, routing {'on ' if route else 'off'}: median {seconds:.2f} s "
                f"({options.rows / seconds:,.0f} rows/s), runs {', '.join(f'{s:.2f}' for s, _ in imports[route])}; "
                f"the importer's own CPU (this process, not PostgreSQL's) median {cpu:.2f} s"
            )
        on, off = (statistics.median(wall for wall, _ in imports[flag]) for flag in (True, False))
        cpu_on, cpu_off = (statistics.median(cpu for _, cpu in imports[flag]) for flag in (True, False))
        print(f"import ratio on/off: {on / off:.3f} (wall), {cpu_on / cpu_off:.3f} (the importer's CPU)")
    print(f"load average after: {os.getloadavg()}")
    if options.open_leads:
        time_with_open_leads(organization, reps, options.open_leads, min(options.creates, 50))
        print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
