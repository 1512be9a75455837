"""What key order and the index set cost an insert: COPY N new leads into leads_lead, then roll back.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/leads_bench .venv/bin/python bench/copy_keys.py [--rows 50000]

The table keeps the rows bench/load.py put there (and all its indexes); the same N rows go in
once with random UUIDv4 keys and once with time-ordered UUIDv7 keys, each in a transaction that is
rolled back, so the database is left as it was. Run it against two databases with different
index sets (e.g. before and after a migration) to compare those too.
"""

import argparse
import os
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from leadsite.ids import uuid7  # noqa: E402

COLUMNS = "id, organization_id, name, email, phone, company, source, status, score, custom_fields, is_active, "
COLUMNS += "created_at, updated_at"


def rows(count, organization_id, make_id):
    now = datetime.now(UTC)
    for n in range(count):
        yield (
            make_id(),
            organization_id,
            f"Copy {n} Okafor",
            f"copy{n}@example{n % 97}.com",
            f"+1-555-{n:07d}",
            f"Acme Globex {n % 500} Inc",
            "website",
            "new",
            n % 101,
            "{}",
            True,
            now,
            now,
        )


def copy_seconds(url, count, make_id):
    with psycopg.connect(url) as conn:
        organization_id = conn.execute("SELECT id FROM organizations_organization WHERE slug = 'bench-big'").fetchone()[
            0
        ]
        started = time.perf_counter()
        with conn.cursor().copy(f"COPY leads_lead ({COLUMNS}) FROM STDIN") as copy:
            for row in rows(count, organization_id, make_id):
                copy.write_row(row)
        seconds = time.perf_counter() - started
        conn.rollback()
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=50_000)
    args = parser.parse_args()
    url = os.environ["DATABASE_URL"]
    with psycopg.connect(url) as conn:
        indexes = conn.execute("SELECT count(*) FROM pg_indexes WHERE tablename = 'leads_lead'").fetchone()[0]
        existing = conn.execute("SELECT count(*) FROM leads_lead").fetchone()[0]
    print(f"{url.rsplit('/', 1)[-1]}: {existing:,} leads, {indexes} indexes; COPY of {args.rows:,} new leads")
    for label, make_id in (("UUIDv4 (random)", uuid.uuid4), ("UUIDv7 (time-ordered)", uuid7)):
        load = os.getloadavg()[0]
        seconds = copy_seconds(url, args.rows, make_id)
        print(f"  {label:22}: {seconds:6.1f} s  {args.rows / seconds:8,.0f} rows/s  (load average {load:.1f})")


if __name__ == "__main__":
    main()
