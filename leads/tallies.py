"""Running counts of each organization's leads for the dashboard, kept by the database itself.

The dashboard's pipeline, score bands and reps' table are sums over every lead of an organization:
at 800,000 leads, reading them all took 300-600 ms (bench/RESULTS.md). Instead, triggers on
leads_lead append to two tables for every statement that inserts, updates or deletes leads:

- `LeadTally`: per (assignee, source, status, active, score band), how many leads and their score sum;
- `LeadWeekTally`: per (week of creation, source, converted or not), how many leads.

A row holds the change a statement made (negative for leads that left the key), so writers only
ever insert and never wait for each other; the sum of an organization's rows is its count now.
`compact` folds an organization's rows into one per key, marked `folded`. Because the database
keeps the tallies, every write path counts: the services, the importer, the admin,
`QuerySet.update`, cascades and raw SQL. Only TRUNCATE and writes with triggers disabled
(bench/load.py's COPY) bypass them; `rebuild` recounts from the leads then.

PostgreSQL runs one trigger per statement over its transition tables (a 1,000-row import batch
adds one grouped INSERT); SQLite has only row triggers. Migration leads/0015 installs them.
"""

from django.db import connection as default_connection
from django.db import transaction
from django.db.models import Count

from leads.models import SCORE_BANDS, LeadTally

TALLY_KEYS = ("organization_id", "assigned_to_id", "source", "status", "is_active", "band")
WEEK_KEYS = ("organization_id", "week", "source", "converted")


def _band(row):
    bands = sorted(SCORE_BANDS.items(), key=lambda item: item[1][0])
    whens = " ".join(f"WHEN {row}.score <= {high} THEN '{band}'" for band, (_, high) in bands[:-1])
    return f"CASE WHEN {row}.score IS NULL THEN 'unscored' {whens} ELSE '{bands[-1][0]}' END"


def _week(row, vendor):
    if vendor == "postgresql":
        return f"date_trunc('week', {row}.created_at AT TIME ZONE 'UTC')::date"
    # The Monday on or before the day. The day is cut from the stored text ("2026-06-07 23:59:59.999999",
    # UTC): date() would round that instant to milliseconds, into the next day.
    return f"date(substr({row}.created_at, 1, 10), '-6 days', 'weekday 1')"


def _tally_columns(row, sign, vendor):
    return {
        "organization_id": f"{row}.organization_id",
        "assigned_to_id": f"{row}.assigned_to_id",
        "source": f"{row}.source",
        "status": f"{row}.status",
        "is_active": f"{row}.is_active",
        "band": _band(row),
        "leads": str(sign),
        "score_sum": f"{sign} * COALESCE({row}.score, 0)",
    }


def _week_columns(row, sign, vendor):
    return {
        "organization_id": f"{row}.organization_id",
        "week": _week(row, vendor),
        "source": f"{row}.source",
        "converted": f"{row}.status = 'converted'",
        "leads": str(sign),
    }


def _insert_changes(table, keys, columns, sources, vendor, folded):
    """INSERT INTO table the net change per key of `sources`: [(row alias, +1 or -1, FROM clause)]."""
    selects = " UNION ALL ".join(
        "SELECT "
        + ", ".join(f"{expression} AS {name}" for name, expression in columns(row, sign, vendor).items())
        + from_clause
        for row, sign, from_clause in sources
    )
    counts = [name for name in columns("r", 1, vendor) if name not in keys]
    return _insert_sums(table, keys, counts, f"({selects}) AS changes", folded)


def _insert_sums(table, keys, counts, rows, folded):
    """INSERT INTO table one row per key of `rows` with the sums of its counts, unless they are all zero."""
    key_list = ", ".join(keys)
    sums = ", ".join(f"SUM({name})" for name in counts)
    nonzero = " OR ".join(f"SUM({name}) <> 0" for name in counts)
    return (
        f"INSERT INTO {table} ({key_list}, {', '.join(counts)}, folded) "
        f"SELECT {key_list}, {sums}, {'TRUE' if folded else 'FALSE'} FROM {rows} "
        f"GROUP BY {key_list} HAVING {nonzero}"
    )


def _insert_both(sources, vendor, folded=False):
    return [
        _insert_changes("leads_leadtally", TALLY_KEYS, _tally_columns, sources, vendor, folded),
        _insert_changes("leads_leadweektally", WEEK_KEYS, _week_columns, sources, vendor, folded),
    ]


# Per event: the rows it adds (+1) and removes (-1). PostgreSQL names the transition tables.
EVENTS = {
    "INSERT": [("new", 1)],
    "UPDATE": [("new", 1), ("old", -1)],
    "DELETE": [("old", -1)],
}


def create_triggers_sql(vendor) -> list[str]:
    if vendor == "postgresql":
        return [statement for event in EVENTS for statement in _postgresql_trigger(event)]
    return [_sqlite_trigger(event) for event in EVENTS]


def drop_triggers_sql(vendor) -> list[str]:
    if vendor == "postgresql":
        return [
            statement
            for event in EVENTS
            for statement in (
                f"DROP TRIGGER IF EXISTS leads_tally_{event.lower()} ON leads_lead",
                f"DROP FUNCTION IF EXISTS leads_tally_{event.lower()}()",
            )
        ]
    return [f"DROP TRIGGER IF EXISTS leads_tally_{event.lower()}" for event in EVENTS]


def _postgresql_trigger(event):
    name = f"leads_tally_{event.lower()}"
    # Aliases n and o: NEW and OLD are PL/pgSQL variables (NULL in a statement trigger).
    sources = [(side[0], sign, f" FROM {side}_rows AS {side[0]}") for side, sign in EVENTS[event]]
    body = ";\n".join(_insert_both(sources, "postgresql"))
    referencing = " ".join(f"{side.upper()} TABLE AS {side}_rows" for side, _ in EVENTS[event])
    return [
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        f"BEGIN\n{body};\nRETURN NULL;\nEND $$",
        f"CREATE TRIGGER {name} AFTER {event} ON leads_lead REFERENCING {referencing} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()",
    ]


def _sqlite_trigger(event):
    sources = [(side.upper(), sign, "") for side, sign in EVENTS[event]]
    body = ";\n".join(_insert_both(sources, "sqlite"))
    return f"CREATE TRIGGER leads_tally_{event.lower()} AFTER {event} ON leads_lead BEGIN\n{body};\nEND"


def install(connection=default_connection):
    with connection.cursor() as cursor:
        for statement in create_triggers_sql(connection.vendor):
            cursor.execute(statement)


def uninstall(connection=default_connection):
    with connection.cursor() as cursor:
        for statement in drop_triggers_sql(connection.vendor):
            cursor.execute(statement)


def rebuild(connection=default_connection):
    """Recount every organization's tallies from its leads (after writes that bypassed the triggers)."""
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        for statement in rebuild_sql(connection.vendor):
            cursor.execute(statement)


def rebuild_sql(vendor) -> list[str]:
    recount = _insert_both([("r", 1, " FROM leads_lead AS r")], vendor, folded=True)
    return ["DELETE FROM leads_leadtally", "DELETE FROM leads_leadweektally", *recount]


# An organization's rows are folded once the triggers have added this many: by the dashboard when it
# reads them, and by the task worker's sweep (`compact_where_due`), since routing sums a member's rows
# on every decision (leads.selectors.open_leads_count_of).
COMPACT_AFTER = 5000


def compact_where_due() -> list:
    """Compact every organization with more than COMPACT_AFTER unfolded rows (index leadtally_unfolded_idx)."""
    due = (
        LeadTally.objects.filter(folded=False)
        .order_by()
        .values("organization_id")
        .annotate(rows=Count("pk"))
        .filter(rows__gt=COMPACT_AFTER)
        .values_list("organization_id", flat=True)
    )
    due = list(due)
    for organization_id in due:
        compact(organization_id=organization_id)
    return due


def compact(*, organization_id, connection=default_connection):
    """Fold an organization's tally rows into one per key whose count is not zero."""
    organization = LeadTally._meta.get_field("organization").get_db_prep_value(organization_id, connection)
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        for table, keys, counts in (
            ("leads_leadtally", TALLY_KEYS, ("leads", "score_sum")),
            ("leads_leadweektally", WEEK_KEYS, ("leads",)),
        ):
            if connection.vendor == "postgresql":
                # The DELETE takes exactly the rows its snapshot sees; rows that writers commit
                # meanwhile (a sequence hands out ids before commit) stay as they are.
                taken = f"DELETE FROM {table} WHERE organization_id = %s RETURNING {', '.join((*keys, *counts))}"
                cursor.execute(
                    f"WITH taken AS ({taken}) {_insert_sums(table, keys, counts, 'taken', True)}", [organization]
                )
                continue
            # SQLite numbers a row when its writer holds the database's one write lock, so rows
            # written meanwhile are numbered after `last`.
            cursor.execute(f"SELECT MAX(id) FROM {table} WHERE organization_id = %s", [organization])
            (last,) = cursor.fetchone()
            if last is None:
                continue
            rows = f"{table} WHERE organization_id = %s AND id <= %s"
            cursor.execute(_insert_sums(table, keys, counts, rows, True), [organization, last])
            cursor.execute(f"DELETE FROM {rows}", [organization, last])
