"""How many rows a list has: exact while that is cheap, PostgreSQL's planner estimate above."""

from django.core.exceptions import EmptyResultSet
from django.db import connections

# The planner's row estimate can be this many times too high (searches are the roughest); below
# exact_up_to times this, the rows are counted.
ESTIMATE_MARGIN = 10


def count_rows(queryset, exact_up_to):
    """(total, is_estimate): exact up to `exact_up_to` rows, above it PostgreSQL's planner estimate.

    Counting 800,000 rows exactly costs far more than fetching a page of them, and even a count
    capped at 10,001 rows costs ~2.5 ms. On PostgreSQL one query asks the planner first (an
    EXPLAIN inside the `planner_row_estimate` function, no scan) and counts, capped, only when the
    estimate says the list can be small. Other databases count.
    """
    queryset = queryset.order_by()
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        capped = queryset[: exact_up_to + 1].count()
        return (capped, False) if capped <= exact_up_to else (queryset.count(), False)
    try:
        estimate, capped = _estimate_then_count(queryset, connection, exact_up_to)
    except EmptyResultSet:
        # Django proved the filter matches nothing (e.g. scoreMin beyond the column's range) and cannot
        # write it as SQL; Django's own count() answers 0 for it without a query.
        return 0, False
    if capped is not None and capped <= exact_up_to:
        return capped, False
    return max(capped or 0, estimate, exact_up_to + 1), True


def _estimate_then_count(queryset, connection, exact_up_to):
    """(planner estimate, count capped at exact_up_to + 1 or None when the estimate is big), in one query.

    The capped count is a CASE branch's subquery: PostgreSQL runs it only when that branch is taken.
    """
    sql, params = queryset.values("pk").query.sql_with_params()  # unordered: LIMIT can follow it
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT estimate, CASE WHEN estimate > %s THEN NULL "
            f"ELSE (SELECT count(*) FROM ({sql} LIMIT %s) capped) END "
            "FROM planner_row_estimate(%s) AS estimate",
            [exact_up_to * ESTIMATE_MARGIN, *params, exact_up_to + 1, connection.ops.compose_sql(sql, params)],
        )
        return cursor.fetchone()
