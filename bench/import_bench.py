"""Time `import_leads` against `psql \\copy` of the same clean rows, and its peak memory at two file sizes.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/leads_import_bench .venv/bin/python bench/import_bench.py \\
        [--rows 1000000] [--bad-share 0.02] [--batch-size 5000]

It migrates the database, generates a CSV of N rows (a share of them bad: no name, bad email,
score 150, status 'converted', unknown assignee), then runs, each in its own process:
- `import_leads --dry-run` of the file (reading + validation only),
- `import_leads` of the file into an empty leads table (reading, validation, COPY, history),
- `import_leads` of a file a tenth the size, for the peak memory at two sizes,
- `psql \\copy` of the file's good rows into a scratch table with the same column types, then into
  one with leads_lead's defaults, constraints and indexes (LIKE copies no foreign keys).
Figures are rows of the file per second (bad rows included for the import). The leads and
history tables are emptied first: the script refuses a database whose name lacks "bench".
"""

import argparse
import csv
import json
import os
import platform
import random
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadsite.settings.dev")
os.environ.setdefault("DEBUG", "0")

from bench.scratch_db import empty_tables, prepare  # noqa: E402

SLUG = "import-bench"
COLUMNS = ["name", "email", "phone", "company", "source", "status", "score", "assignedTo", "notes", "customFields"]
SCRATCH_COLUMNS = "name text, email text, phone text, company text, source text, status text, score smallint, "
SCRATCH_COLUMNS += "assigned_to_id text, notes text, custom_fields jsonb"
SOURCES = ["website", "referral", "trade_show", "cold_call", "social_media"]
STATUSES = ["new", "contacted", "qualified", "unqualified"]
BAD_KINDS = ["no_name", "bad_email", "score_150", "converted", "unknown_assignee"]


def generate(path: Path, clean_path: Path, rows: int, bad_share: float, assignees: list) -> int:
    """Write the file and its good rows; returns how many rows are bad."""
    rng = random.Random(rows)
    bad = 0
    with open(path, "w", newline="") as out, open(clean_path, "w", newline="") as clean:
        writer, clean_writer = csv.writer(out), csv.writer(clean)
        writer.writerow(COLUMNS)
        clean_writer.writerow(COLUMNS)
        for n in range(rows):
            company = f"Company {rng.randrange(50_000)}"
            row = [
                f"Contact {n} at {company}",
                f"lead{n}@example.com",
                f"555-{rng.randrange(100, 1000)}-{rng.randrange(1000, 10000)}",
                company,
                rng.choice(SOURCES),
                rng.choice(STATUSES),
                rng.choice(["", *map(str, range(0, 101))]),
                rng.choice(["", *assignees]),
                "Met at the booth; wants a demo" if n % 3 == 0 else "",
                json.dumps({"industry": rng.choice(["Tech", "Retail"]), "employees": rng.randrange(1, 5000)}),
            ]
            if rng.random() < bad_share:
                bad += 1
                kind = BAD_KINDS[bad % len(BAD_KINDS)]
                if kind == "no_name":
                    row[0] = ""
                elif kind == "bad_email":
                    row[1] = f"lead{n}-at-example.com"
                elif kind == "score_150":
                    row[6] = "150"
                elif kind == "converted":
                    row[5] = "converted"
                else:
                    row[7] = "nobody@nowhere.example"
            else:
                clean_writer.writerow(row)
            writer.writerow(row)
    return bad


def child_import(args):
    """Run in a process of its own: import one file and print seconds and peak memory as JSON."""
    import django
    from django.core.management import call_command
    from django.core.management.base import CommandError

    django.setup()
    options = ["--organization", SLUG, "--quiet", "--allow-errors", "--batch-size", str(args.batch_size)]
    options += ["--processes", str(args.processes)]
    if args.dry_run:
        options.append("--dry-run")
    if args.upsert:
        options += ["--upsert", "email"]
    started = time.perf_counter()
    try:
        call_command("import_leads", args.child_import, *options, errors=os.devnull, stdout=sys.stderr)
    except CommandError as exc:
        print(exc, file=sys.stderr)
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    reader = resource.getrusage(resource.RUSAGE_CHILDREN)  # the forked reader of --processes 2
    cpu = usage.ru_utime + usage.ru_stime
    reader_cpu = reader.ru_utime + reader.ru_stime
    maxrss_mb = max(usage.ru_maxrss, reader.ru_maxrss) / 1024
    print(
        json.dumps({"seconds": seconds, "cpu_seconds": cpu, "reader_cpu_seconds": reader_cpu, "maxrss_mb": maxrss_mb})
    )


def run_child(path: Path, batch_size: int, dry_run=False, processes=2, upsert=False) -> dict:
    command = [sys.executable, __file__, "--child-import", str(path), "--batch-size", str(batch_size)]
    command += ["--processes", str(processes)]
    if dry_run:
        command.append("--dry-run")
    if upsert:
        command.append("--upsert")
    result = subprocess.run(command, check=True, capture_output=True, text=True)
    sys.stderr.write(result.stderr)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--bad-share", type=float, default=0.02)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--workdir", default="/tmp/import_bench")
    parser.add_argument("--child-import", help=argparse.SUPPRESS)
    parser.add_argument("--dry-run", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--upsert", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--processes", type=int, default=2, help=argparse.SUPPRESS)
    parser.add_argument(
        "--one-process-too", action="store_true", help="also import with --processes 1 first, for the ratio"
    )
    args = parser.parse_args()
    if args.child_import:
        return child_import(args)

    organization = prepare(SLUG, "Import bench")
    from django.db import connection

    from organizations.models import User

    assignees = []
    for n in range(5):
        user, _ = User.objects.get_or_create(email=f"rep{n}@{SLUG}.example", defaults={"organization": organization})
        assignees.append(user.email if n % 2 else str(user.pk))
    connection.close()

    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    small_rows = max(args.rows // 10, 1)
    files = {}
    for rows in (args.rows, small_rows):
        path, clean = workdir / f"leads_{rows}.csv", workdir / f"clean_{rows}.csv"
        started = time.perf_counter()
        bad = generate(path, clean, rows, args.bad_share, assignees)
        files[rows] = (path, clean, bad)
        print(f"generated {rows:,} rows ({bad:,} bad) in {time.perf_counter() - started:.1f}s: {path}", flush=True)

    path, clean, bad = files[args.rows]
    dry = run_child(path, args.batch_size, dry_run=True)
    print(f"dry run (read + validate): {dry['seconds']:.1f}s", flush=True)
    one = None
    if args.one_process_too:
        one = run_child(path, args.batch_size, processes=1)
        print(f"import, one process: {one['seconds']:.1f}s", flush=True)
        empty_tables(close=True)
    full = run_child(path, args.batch_size)
    print(f"import: {full['seconds']:.1f}s, peak {full['maxrss_mb']:.0f} MB", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM leads_lead")
        imported = cursor.fetchone()[0]
    empty_tables(close=True)
    small = run_child(files[small_rows][0], args.batch_size)
    print(f"import of {small_rows:,} rows: {small['seconds']:.1f}s, peak {small['maxrss_mb']:.0f} MB", flush=True)
    again = run_child(files[small_rows][0], args.batch_size, upsert=True)
    print(f"re-import of {small_rows:,} rows with --upsert email: {again['seconds']:.1f}s", flush=True)

    url = os.environ["DATABASE_URL"]
    psql = ["psql", url.replace("postgres://", "postgresql://", 1), "-q", "-v", "ON_ERROR_STOP=1"]
    plain = f"CREATE TABLE import_bench_scratch ({SCRATCH_COLUMNS})"
    # The same columns, constraints and indexes as leads_lead (LIKE copies no foreign keys).
    indexed = (
        "CREATE TABLE import_bench_scratch "
        "(LIKE leads_lead INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES);"
        "ALTER TABLE import_bench_scratch ALTER assigned_to_id TYPE text, ALTER id SET DEFAULT gen_random_uuid(), "
        f"ALTER organization_id SET DEFAULT '{organization.pk}', ALTER created_at SET DEFAULT now(), "
        "ALTER updated_at SET DEFAULT now(), ALTER is_active SET DEFAULT true, ALTER custom_fields SET DEFAULT '{}'"
    )
    columns = "name, email, phone, company, source, status, score, assigned_to_id, notes, custom_fields"
    copy_seconds = {}
    for label, create in (("plain", plain), ("indexed", indexed)):
        setup = f"SET client_min_messages = warning; DROP TABLE IF EXISTS import_bench_scratch; {create}"
        subprocess.run([*psql, "-c", setup], check=True)
        started = time.perf_counter()
        copy = f"\\copy import_bench_scratch ({columns}) FROM '{clean}' WITH (FORMAT csv, HEADER)"
        subprocess.run([*psql, "-c", copy], check=True)
        copy_seconds[label] = time.perf_counter() - started
        subprocess.run([*psql, "-c", "DROP TABLE import_bench_scratch"], check=True)

    good = args.rows - bad
    import_rate = args.rows / full["seconds"]
    plain_rate, indexed_rate = good / copy_seconds["plain"], good / copy_seconds["indexed"]
    print()
    print(f"date {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"file: {args.rows:,} rows, {bad:,} bad ({args.bad_share:.0%}), batch size {args.batch_size:,}")
    print(f"load average at the end: {', '.join(f'{load:.1f}' for load in os.getloadavg())}")
    print(f"import_leads --dry-run   : {dry['seconds']:7.1f}s {args.rows / dry['seconds']:>9,.0f} rows/s", end="")
    print(f"  (process CPU {dry['cpu_seconds']:.1f}s)")
    if one:
        print(f"import_leads, 1 process  : {one['seconds']:7.1f}s {args.rows / one['seconds']:>9,.0f} rows/s", end="")
        print(f"  (process CPU {one['cpu_seconds']:.1f}s)")
    print(f"import_leads, 2 processes: {full['seconds']:7.1f}s {import_rate:>9,.0f} rows/s", end="")
    print(
        f"  (CPU {full['cpu_seconds']:.1f}s writing + {full['reader_cpu_seconds']:.1f}s reading;"
        f" {imported:,} leads written)"
    )
    print(f"re-import --upsert email : {again['seconds']:7.1f}s {small_rows / again['seconds']:>9,.0f} rows/s", end="")
    print(f"  ({small_rows:,} rows, nothing changed)")
    print(f"psql \\copy, plain table  : {copy_seconds['plain']:7.1f}s {plain_rate:>9,.0f} rows/s (good rows)")
    print(f"psql \\copy, leads indexes: {copy_seconds['indexed']:7.1f}s {indexed_rate:>9,.0f} rows/s (good rows)")
    ratios = f"{plain_rate / import_rate:.1f}x plain, {indexed_rate / import_rate:.1f}x indexed"
    print(f"ratio \\copy / import     : {ratios}")
    print(f"peak memory (maxrss)     : {small['maxrss_mb']:.0f} MB at {small_rows:,} rows, ", end="")
    print(f"{full['maxrss_mb']:.0f} MB at {args.rows:,} rows")


if __name__ == "__main__":
    main()
