"""Fill a PostgreSQL database with N leads (1,000,000 by default) for the benchmarks.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/leads_bench .venv/bin/python bench/load.py [--leads N]

Three organizations: "bench-big" holds 80% of the leads (300 reps), "bench-mid" 15% (50 reps),
"bench-small" 5% (10 reps). Every organization has an admin `admin@<slug>.example` with the
password `bench-password`. Source, assignee (10% unassigned, the rest skewed towards a few busy
reps) and dates (3 years, skewed towards recent) follow rough real-world shapes; the generator is
seeded, so two runs give the same data.

Outcomes carry a planted signal for predictive scoring (issue 20): a share of the leads (`--open-share`,
75% by default) stays open (new, contacted, qualified); the others are resolved, converted with the
probability `bench.planted.true_probability` gives their source, email kind (company domain, free
mail, none), phone presence and `customFields.industry`, else unqualified. Company presence follows
the email kind, `customFields.country` and the assignee add nothing, and the manual score (15% null)
is a noisy guess of the truth. The truth is a function of the stored fields, so a bench recovers it
from the rows (`bench/scoring_bench.py` scores predictions against it).

The rows go in with PostgreSQL COPY through psycopg 3: the secondary indexes are dropped
first and rebuilt after (faster than maintaining them row by row), foreign-key triggers are
skipped for the COPY (the rows are consistent by construction), then the table is analysed.
The `import_leads` command validates every row through the serializer, which is the right
path for user files but too slow to load a million rows for a benchmark.

The database is wiped first: the script refuses a database whose name lacks "bench".
"""

import argparse
import json
import os
import random
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import planted  # noqa: E402

PASSWORD = "bench-password"
ORGANIZATIONS = [("bench-big", 0.80, 300), ("bench-mid", 0.15, 50), ("bench-small", 0.05, 10)]
# Open leads by status; resolved ones are converted or unqualified as bench/planted.py's truth draws.
OPEN_STATUSES = [("new", 35), ("contacted", 25), ("qualified", 15)]
OPEN_SHARE = 0.75  # of all leads (then about 10 % converted, 15 % unqualified)
SOURCES = [
    ("website", 30),
    ("referral", 18),
    ("linkedin", 15),
    ("email_campaign", 10),
    ("cold_call", 10),
    ("trade_show", 8),
    ("partner", 5),
    (None, 4),
]
FIRST = "Ada Alan Anna Ben Carla Chen Dana Eva Farid Grace Hana Ivan Jana Ken Lea Liam Maya Noah Olga Omar Pia Raj Sara Tom Uma Vera Wei Yuki Zoe".split()  # noqa: E501
LAST = "Smith Jones Garcia Müller Rossi Dubois Tanaka Kim Nowak Silva Ivanova Chen Patel Khan Novak Berg Costa Lind Moreau Okafor".split()  # noqa: E501
WORDS = "Acme Globex Initech Umbrella Stark Wayne Wonka Tyrell Cyberdyne Hooli Vandelay Soylent Oscorp Massive Dynamic Nakatomi Gringotts Monarch Aperture Black Mesa".split()  # noqa: E501
SUFFIXES = ["Inc", "LLC", "GmbH", "Ltd", "Group", "Labs", "Systems", "Partners"]
NOW = datetime(2026, 11, 1, tzinfo=UTC)  # the newest lead's creation, unless --now says otherwise
THREE_YEARS = 3 * 365 * 86400

COLUMNS = (
    "id organization_id name email phone company source status score assigned_to_id last_contacted_at notes "
    "custom_fields is_active converted_at converted_customer_id created_at updated_at"
).split()


def weighted(choices, rng, k):
    values, weights = zip(*choices, strict=True)
    return rng.choices(values, weights=weights, k=k)


CUSTOMER_COLUMNS = (
    "id organization_id customer_number company_name contact_email contact_phone status created_at updated_at"
).split()


def lead_rows(organization_id, reps, count, rng, offset, customers, now=NOW, open_share=OPEN_SHARE):
    """Yield `count` tuples in COLUMNS order; append to `customers` (CUSTOMER_COLUMNS) one customer per converted lead.

    A share `open_share` of the leads stays open (new, contacted, qualified); the others are resolved,
    converted with the planted probability of bench/planted.py, else unqualified. A converted lead has its
    customer and its convertedAt, as the database's lifecycle constraint demands.
    """
    sources = weighted(SOURCES, rng, count)
    open_statuses = weighted(OPEN_STATUSES, rng, count)
    companies = [f"{a} {b} {s}" for a in WORDS for b in WORDS for s in SUFFIXES]
    # A few reps hold many leads: weight rep i by 1 / (i + 1) ** 0.8.
    assignees = rng.choices(reps, weights=[1 / (i + 1) ** 0.8 for i in range(len(reps))], k=count)
    industry_shares = [
        (value, (1 - planted.NO_INDUSTRY_SHARE) * weight / sum(planted.INDUSTRY_SHARES.values()))
        for value, weight in planted.INDUSTRY_SHARES.items()
    ]
    industries = weighted([*industry_shares, (None, planted.NO_INDUSTRY_SHARE)], rng, count)
    country_total = sum(weight for _, weight in planted.COUNTRIES.values())
    country_shares = [
        (code, (1 - planted.NO_COUNTRY_SHARE) * weight / country_total)
        for code, (_, weight) in planted.COUNTRIES.items()
    ]
    countries = weighted([*country_shares, (None, planted.NO_COUNTRY_SHARE)], rng, count)
    custom_json = {}  # (industry, country) -> its JSON text: a few dozen, written a million times
    for i in range(count):
        n = offset + i
        source = sources[i]
        first, last = rng.choice(FIRST), rng.choice(LAST)
        age = int(THREE_YEARS * rng.random() ** 1.7)  # skewed towards recent leads
        created = now - timedelta(seconds=age, microseconds=rng.randrange(1_000_000))
        updated = created + timedelta(seconds=int(age * rng.random() * 0.5))
        contacted = None if rng.random() < 0.4 else created + timedelta(seconds=int(age * rng.random()))
        country, industry = countries[i], industries[i]
        draw = rng.random()
        no_email = planted.NO_EMAIL_SHARE.get(source, planted.NO_EMAIL_SHARE_OTHERS)
        if draw < no_email:
            kind, email = "none", None
        elif draw < no_email + planted.COMPANY_EMAIL_SHARE[source] * (1 - no_email):
            tld = planted.COUNTRIES[country][0] if country else "com"
            kind, email = "company", f"{first.lower()}.{last.lower()}{n}@example{n % 97}.{tld}"
        else:
            kind, email = "free", f"{first.lower()}{last.lower()}{n}@{rng.choice(planted.FREE_MAIL)}"
        phone = (
            f"+1-555-{n % 10_000_000:07d}"
            if rng.random() < planted.PHONE_SHARE.get(source, planted.PHONE_SHARE_OTHERS)
            else None
        )
        company = rng.choice(companies) if rng.random() < planted.COMPANY_SHARE[kind] else None
        custom_fields = custom_json.get((industry, country))
        if custom_fields is None:
            values = {key: value for key, value in (("industry", industry), ("country", country)) if value}
            custom_fields = custom_json[(industry, country)] = json.dumps(values)
        probability = planted.true_probability(source, email, phone, {"industry": industry})
        if rng.random() < open_share:
            status = open_statuses[i]
        else:
            status = "converted" if rng.random() < probability else "unqualified"
        # The manual score: 15 % never scored, the rest a rep's noisy guess of the truth.
        score = None if rng.random() < 0.15 else min(100, max(0, int(rng.gauss(30 + 50 * probability, 20))))
        customer_id = None
        if status == "converted":
            customer_id = uuid.UUID(int=rng.getrandbits(128), version=4)
            number = f"CUST-{len(customers) + 1:03d}"
            customers.append(
                (customer_id, organization_id, number, company or f"{first} {last}", email, phone, "active")
                + (updated, updated)
            )
        yield (
            uuid.UUID(int=rng.getrandbits(128), version=4),
            organization_id,
            f"{first} {last}",
            email,
            phone,
            company,
            source,
            status,
            score,
            None if rng.random() < 0.1 else assignees[i],
            contacted,
            None if rng.random() < 0.8 else "Asked for a call back next quarter.",
            custom_fields,
            rng.random() > 0.05,
            updated if status == "converted" else None,
            customer_id,
            created,
            updated,
        )


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadsite.settings.dev")
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/leads_bench")
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--if-missing", action="store_true", help="do nothing if the database already holds the leads")
    parser.add_argument(
        "--now",
        choices=["2026-11-01", "today"],
        default="2026-11-01",
        help="when the newest lead was created: a fixed day (the same rows every load) or today's midnight (UTC), "
        "so that the dashboard's last 30 days hold leads and contacts as a live organization's do",
    )
    parser.add_argument(
        "--open-share",
        type=float,
        default=OPEN_SHARE,
        help="the share of leads left open (new, contacted, qualified); the rest are resolved, converted or "
        f"unqualified as bench/planted.py's truth draws (default {OPEN_SHARE})",
    )
    args = parser.parse_args()
    if not 0 <= args.open_share <= 1:
        parser.error("--open-share must be between 0 and 1")

    url = os.environ["DATABASE_URL"]
    if "bench" not in url.rsplit("/", 1)[-1]:
        sys.exit(f"Refusing to wipe {url}: the database name must contain 'bench'.")
    ensure_database(url)
    if args.if_missing and loaded(url) >= args.leads:
        print(f"{url} already holds {args.leads} bench leads; not reloading.")
        return

    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import connection

    from leads import tallies
    from organizations.models import Organization, User

    now = NOW if args.now != "today" else datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    started = time.monotonic()
    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE leads_lead, leads_leadhistory, customers_customer, organizations_user, "
            "organizations_organization CASCADE"
        )
    rng = random.Random(args.seed)
    password = make_password(PASSWORD)
    plan = []
    for slug, share, rep_count in ORGANIZATIONS:
        organization = Organization.objects.create(name=slug.replace("-", " ").title(), slug=slug)
        User.objects.create(
            email=f"admin@{slug}.example", name="Admin", organization=organization, role="admin", password=password
        )
        reps = User.objects.bulk_create(
            User(email=f"rep{i}@{slug}.example", name=f"Rep {i}", organization=organization, password=password)
            for i in range(rep_count)
        )
        plan.append((organization.id, [rep.id for rep in reps], int(args.leads * share)))
    plan[0] = (plan[0][0], plan[0][1], args.leads - sum(count for _, _, count in plan[1:]))

    raw = connection.connection  # the psycopg 3 connection under Django's
    with raw.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'leads_lead' "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)"
        )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute("SET session_replication_role = replica")  # no FK triggers during COPY
        offset = 0
        customers = {organization_id: [] for organization_id, _, _ in plan}
        with cursor.copy(f"COPY leads_lead ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for organization_id, reps, count in plan:
                rows = lead_rows(
                    organization_id, reps, count, rng, offset, customers[organization_id], now, args.open_share
                )
                for row in rows:
                    copy.write_row(row)
                offset += count
        with cursor.copy(f"COPY customers_customer ({', '.join(CUSTOMER_COLUMNS)}) FROM STDIN") as copy:
            for rows in customers.values():
                for row in rows:
                    copy.write_row(row)
        for organization_id, rows in customers.items():
            cursor.execute(
                "UPDATE organizations_organization SET last_customer_number = %s WHERE id = %s",
                [len(rows), organization_id],
            )
        cursor.execute("SET session_replication_role = DEFAULT")
        print(f"copied {offset} leads in {time.monotonic() - started:.0f}s", flush=True)
        cursor.execute("SET maintenance_work_mem = '512MB'")
        for _, definition in indexes:
            cursor.execute(definition)
        print(f"rebuilt {len(indexes)} indexes at {time.monotonic() - started:.0f}s", flush=True)
        for statement in tallies.rebuild_sql("postgresql"):  # the COPY ran without the tallies' triggers
            cursor.execute(statement)
        print(f"counted the dashboard's tallies at {time.monotonic() - started:.0f}s", flush=True)
    raw.commit()
    raw.autocommit = True
    with raw.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE leads_lead")
        cursor.execute("VACUUM ANALYZE organizations_user")
        cursor.execute("VACUUM ANALYZE customers_customer")
    print(f"done: {offset} leads in {time.monotonic() - started:.0f}s", flush=True)
    for slug, _, _ in ORGANIZATIONS:
        print(f"  login: admin@{slug}.example / {PASSWORD}")


def loaded(url):
    """How many leads the bench organizations hold (0 before the first load)."""
    import psycopg

    with psycopg.connect(url) as conn:
        try:
            return conn.execute(
                "SELECT count(*) FROM leads_lead l JOIN organizations_organization o ON o.id = l.organization_id "
                "WHERE o.slug LIKE 'bench-%%'"
            ).fetchone()[0]
        except psycopg.errors.UndefinedTable:
            return 0


def ensure_database(url):
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


if __name__ == "__main__":
    main()
