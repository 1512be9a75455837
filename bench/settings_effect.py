"""The effect of PostgreSQL settings on the queries that depend on them, in one run, per session.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/leads_bench .venv/bin/python bench/settings_effect.py [-n 7]
    ... bench/settings_effect.py --apply   # docs/scaling.md's settings for the bench database only
    ... bench/settings_effect.py --reset   # and back to the cluster's defaults

Each query runs n times under each set of settings (`SET` in this session only, nothing changes for
anyone else) and prints its median ms. `--apply` sets RECOMMENDED on the benchmark database
(`ALTER DATABASE … SET`, new sessions only) and the leads table's autovacuum thresholds, never the
cluster's own settings; `--reset` undoes both. shared_buffers needs a server restart and is not set
here: see docs/scaling.md.
"""

import argparse
import os
import statistics
import time

from common import admin
from django.db import connection
from django.db.models import Count

from leads import selectors
from leads.models import Lead, search_text

# What docs/scaling.md recommends for this machine (2 cores, 23 GB, SSD), per database.
RECOMMENDED = {"random_page_cost": "1.1", "work_mem": "32MB", "effective_cache_size": "8GB"}
LEADS_AUTOVACUUM = {"autovacuum_vacuum_scale_factor": "0.02", "autovacuum_analyze_scale_factor": "0.01"}
SETTINGS = {
    "defaults": {},
    "random_page_cost=1.1": {"random_page_cost": "1.1"},
    "random_page_cost=1.1, work_mem=32MB": {"random_page_cost": "1.1", "work_mem": "32MB"},
    "recommended (+ effective_cache_size=8GB)": RECOMMENDED,
}


def apply(reset=False):
    database = connection.settings_dict["NAME"]
    if "bench" not in database:
        raise SystemExit(f"Refusing to change {database}: only a database whose name contains 'bench'.")
    with connection.cursor() as cursor:
        for name, value in RECOMMENDED.items():
            value_sql = "TO DEFAULT" if reset else f"= '{value}'"
            cursor.execute(f'ALTER DATABASE "{database}" SET {name} {value_sql}')
        if reset:
            cursor.execute(f"ALTER TABLE leads_lead RESET ({', '.join(LEADS_AUTOVACUUM)})")
        else:
            options = ", ".join(f"{name} = {value}" for name, value in LEADS_AUTOVACUUM.items())
            cursor.execute(f"ALTER TABLE leads_lead SET ({options})")
    print(f"{'reset' if reset else 'applied'} on {database}: {RECOMMENDED} and leads_lead {LEADS_AUTOVACUUM}")


def queries(organization):
    leads = Lead.objects.for_organization(organization)
    yield "GET /leads/stats/scoring (its 2 queries)", lambda: selectors.lead_scoring_stats(organization=organization)
    yield (
        "GET /leads/duplicates (first 20 groups)",
        lambda: list(selectors.lead_duplicate_groups(organization=organization)[:20]),
    )
    yield "leads per status", lambda: list(leads.values("status").annotate(n=Count("pk")))
    yield (
        "q=acme globex, page of 100",
        lambda: list(
            leads.alias(text=search_text()).filter(text__icontains="acme globex").order_by("-created_at", "-id")[:100]
        ),
    )


def load():
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def measure(run, n):
    times = []
    for _ in range(n):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=7)
    parser.add_argument("--apply", action="store_true", help="set RECOMMENDED on the bench database and exit")
    parser.add_argument("--reset", action="store_true", help="undo --apply and exit")
    args = parser.parse_args()
    if args.apply or args.reset:
        return apply(reset=args.reset)
    organization = admin().organization
    print(f"load average {load()}")
    print("| query | " + " | ".join(SETTINGS) + " |")
    print("|---|" + "---|" * len(SETTINGS))
    rows = {}
    for values in SETTINGS.values():
        with connection.cursor() as cursor:
            cursor.execute("RESET ALL")
            for name, value in values.items():
                cursor.execute(f"SET {name} = '{value}'")
        for title, run in queries(organization):
            run()  # warm
            rows.setdefault(title, []).append(f"{measure(run, args.n):.1f}")
    with connection.cursor() as cursor:
        cursor.execute("RESET ALL")
    for title, figures in rows.items():
        print(f"| {title} | " + " | ".join(figures) + " |")
    print(f"load average {load()}")


if __name__ == "__main__":
    main()
