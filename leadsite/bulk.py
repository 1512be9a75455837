"""Inserting many new rows at once, for the paths that write thousands (imports, reassigns)."""

from django.db import connection
from django.db.models import JSONField

# From this many rows on, PostgreSQL gets them by COPY (see insert_rows); fewer go as one INSERT,
# which the query-count tests see as a query like any other.
COPY_FROM = 500


def insert_rows(model, objects: list, *, now):
    """Insert new rows: COPY on PostgreSQL (psycopg 3), multi-row INSERTs elsewhere; never a query per row.

    auto_now/auto_now_add timestamps are set to `now`. Values go to psycopg as they are (it
    adapts str, int, bool, UUID, datetime and None); JSON fields are adapted the way Django does.
    """
    if not objects:
        return
    # A column with a database default (Event.transaction_order) is left to the database.
    fields = [f for f in model._meta.concrete_fields if not f.has_db_default()]
    for f in fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            for obj in objects:
                setattr(obj, f.attname, now)
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objects, batch_size=1000)
        return
    adapt = {f.attname: f.encoder for f in fields if isinstance(f, JSONField)}
    columns = [(f.attname, f.attname in adapt) for f in fields]
    names = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({names}) FROM STDIN"
    adapt_json = connection.ops.adapt_json_value
    # psycopg's own copy(): wrap_database_errors gives its errors Django's classes, as every other query's.
    with connection.cursor() as cursor, connection.wrap_database_errors, cursor.cursor.copy(sql) as copy:
        for obj in objects:
            values = [getattr(obj, attname) for attname, _ in columns]
            for index, (attname, is_json) in enumerate(columns):
                if is_json:
                    values[index] = adapt_json(values[index], adapt[attname])
            copy.write_row(values)
