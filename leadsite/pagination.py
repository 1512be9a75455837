"""API list pagination: `?page=&limit=` with a total, and keyset cursors (`?cursor=`) for sorted lists."""

import binascii
import json
import math
from base64 import urlsafe_b64decode, urlsafe_b64encode
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import F, IntegerField
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.response import Response

from leadsite.counting import count_rows
from leadsite.parameters import parse_positive_int
from leadsite.sorting import SortBackend
from leadsite.text import is_unstorable_text


class Keyset:
    """Where a cursor points: after the row with this sort value and id, for one sortField/sortOrder.

    The cursor is opaque to clients: url-safe base64 of [sortField, sortOrder, value, id].
    """

    def __init__(self, request, view, queryset):
        self.field, self.order = SortBackend().get_sort(request, view)
        self.name = request.query_params.get("sortField") or view.default_sort_field
        self.model_field = queryset.model._meta.get_field(self.field)
        self.pk_field = queryset.model._meta.pk

    def encode(self, row):
        """The cursor after `row`: a model instance or a named tuple of its columns."""
        value = getattr(row, self.field)
        if isinstance(value, datetime):
            value = value.isoformat()  # full precision: the API shows milliseconds only
        payload = json.dumps(
            [self.name, self.order, value, str(getattr(row, self.pk_field.attname))], separators=(",", ":")
        )
        return urlsafe_b64encode(payload.encode()).decode().rstrip("=")

    def decode(self, cursor):
        """The (value, id) a cursor points after, or a 400 naming `cursor`.

        A cursor is client input: it is held to what encode() can have written (a value of the sort
        column's type and range, storable text, a date-time with a time zone PostgreSQL accepts, a
        UUID), as strictly as the filters hold their values.
        """
        try:
            name, order, value, pk = json.loads(urlsafe_b64decode(cursor.encode("ascii") + b"=" * (-len(cursor) % 4)))
            if not all(isinstance(item, str) for item in (name, order, pk)):
                raise TypeError
            value = self.decode_value(value)
            pk = self.pk_field.to_python(pk)
            self.pk_field.run_validators(pk)
        except (ValueError, TypeError, OverflowError, binascii.Error, DjangoValidationError):
            raise ValidationError({"cursor": ["Not a valid cursor; send a nextCursor this list returned."]}) from None
        if [name, order] != [self.name, self.order]:
            raise ValidationError(
                {"cursor": [f"This cursor walks sortField={name}&sortOrder={order}; send those with it."]}
            )
        return value, pk

    def decode_value(self, value):
        """The sort value of a cursor as the column holds it; TypeError/ValueError if it cannot be one."""
        if value is None:
            return None
        wants_int = isinstance(self.model_field, IntegerField)
        if isinstance(value, bool) or not isinstance(value, int if wants_int else str):
            raise TypeError
        if not wants_int and is_unstorable_text(value):
            raise ValueError
        value = self.model_field.to_python(value)
        if isinstance(value, datetime) and value.utcoffset() != timedelta(0):
            raise ValueError  # encode() writes UTC; PostgreSQL refuses offsets past ±15:59 that Python reads
        self.model_field.run_validators(value)  # e.g. the database's integer range
        return value

    def walk(self, queryset):
        """The queryset in an order the (organization, field, id) index gives, read one way.

        Ascending is that index forwards (PostgreSQL keeps nulls last there). Descending is the index
        backwards, which meets the nulls first: the non-null values and the nulls are then two walks
        (`parts`), so the sort needs no `DESC NULLS LAST` index of its own.
        """
        if self.model_field.null and self.order == "desc":
            return queryset.order_by(F(self.field).desc(nulls_first=True), "-pk")
        return queryset

    def parts(self, queryset):
        """The walks that give the list's order (nulls last) one after the other."""
        if not (self.model_field.null and self.order == "desc"):
            return [queryset]
        walk = self.walk(queryset)
        return [walk.filter(**{f"{self.field}__isnull": False}), walk.filter(**{f"{self.field}__isnull": True})]

    def page(self, queryset, offset, count):
        """Rows offset to offset + count of the list, taken from its walks in turn.

        A page that starts past a walk's end counts that walk to know how far into the next one it
        starts (only pages beyond the last non-null value of a descending sort do).
        """
        rows = []
        parts = self.parts(queryset)
        for number, part in enumerate(parts):
            taken = list(part[offset : offset + count - len(rows)])
            rows += taken
            if len(rows) == count or number == len(parts) - 1:
                break
            offset = 0 if taken or not offset else max(offset - part.count(), 0)
        return rows

    def rows_after(self, queryset, cursor, count):
        """Up to `count` rows after the cursor (from the start for an empty cursor) in the queryset's order.

        The sort is (field, id) with nulls last: the non-null rows come by one row comparison that the
        (organization, field, id) index answers, then, once they run out, the null rows by id.
        """
        if not cursor:
            return self.page(queryset, 0, count)
        value, pk = self.decode(cursor)
        after, id_after = (TupleGreaterThan, "pk__gt") if self.order == "asc" else (TupleLessThan, "pk__lt")
        walk = self.walk(queryset)
        rows = []
        if value is not None:
            rows = list(walk.filter(after(Tuple(F(self.field), F("pk")), (value, pk)))[:count])
        if self.model_field.null and len(rows) < count:
            nulls = walk.filter(**{f"{self.field}__isnull": True})
            if value is None:
                nulls = nulls.filter(**{id_after: pk})
            rows += list(nulls[: count - len(rows)])
        return rows


def sorts_by_keyset(view):
    """Cursors need the (field, id) order that SortBackend gives; lists sorted otherwise have none."""
    return any(issubclass(backend, SortBackend) for backend in getattr(view, "filter_backends", ()))


class PageLimitPagination(BasePagination):
    """`?page=&limit=` pagination answering {data, total, page, limit, totalPages}.

    Views sorted by SortBackend also offer keyset pagination for clients that walk a whole list:
    `?cursor=&limit=` (empty: from the top) answers {data, limit, nextCursor}, and
    `?cursor=<nextCursor>` the rows after it, at the same cost on page 10,000 as on page 1;
    nextCursor is null on the last page. A cursor is bound to its sortField and sortOrder.
    Page responses keep exactly the spec's keys.

    `total` is exact up to `exact_count_up_to` rows; above that it is PostgreSQL's estimate and the
    response says `totalIsEstimate: true`.
    """

    default_limit = 10
    max_limit = 100
    # Counting runs at ~0.4 us a row on PostgreSQL (303 ms for 800,000, bench/RESULTS.md), so an
    # exact total up to 10,000 rows costs a few milliseconds; only bigger lists get the estimate.
    exact_count_up_to = 10_000

    def paginate_queryset(self, queryset, request, view=None):
        self.limit = parse_positive_int(request.query_params, "limit", self.default_limit, self.max_limit)
        self.keyset = Keyset(request, view, queryset) if sorts_by_keyset(view) else None
        self.cursor = request.query_params.get("cursor")
        if self.cursor is not None:
            if request.query_params.get("page"):
                raise ValidationError({"page": ["Send page or cursor, not both: a cursor's pages have no number."]})
            if self.keyset is None:
                raise ValidationError({"cursor": ["This list has no cursor pagination; use page and limit."]})
            rows = self.keyset.rows_after(queryset, self.cursor, self.limit + 1)
        else:
            self.page = parse_positive_int(request.query_params, "page", 1)
            self.total, self.total_is_estimate = count_rows(queryset, self.exact_count_up_to)
            offset = (self.page - 1) * self.limit
            if offset >= self.total and not self.total_is_estimate:
                return []
            if self.keyset is not None:
                return self.keyset.page(queryset, offset, self.limit)
            return list(queryset[offset : offset + self.limit])
        self.has_next = len(rows) > self.limit
        self.rows = rows[: self.limit]
        return self.rows

    def get_paginated_response(self, data):
        if self.cursor is not None:
            return Response({"data": data, "limit": self.limit, "nextCursor": self.next_cursor()})
        body = {
            "data": data,
            "total": self.total,
            "page": self.page,
            "limit": self.limit,
            "totalPages": math.ceil(self.total / self.limit),
        }
        if self.total_is_estimate:
            body["totalIsEstimate"] = True
        return Response(body)

    def next_cursor(self):
        return self.keyset.encode(self.rows[-1]) if self.has_next else None

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            # total, page and totalPages are in every answer except those to ?cursor=.
            "required": ["data", "limit"],
            "properties": {
                "data": schema,
                "total": {"type": "integer", "minimum": 0},
                "page": {"type": "integer", "minimum": 1},
                "limit": {"type": "integer", "minimum": 1, "maximum": self.max_limit},
                "totalPages": {"type": "integer", "minimum": 0},
                "totalIsEstimate": {"type": "boolean", "description": "Present (true) when total is an estimate."},
                "nextCursor": {
                    "type": "string",
                    "nullable": True,
                    "description": "In answers to ?cursor= only: where the next page starts; null on the last page.",
                },
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": "page",
                "in": "query",
                "required": False,
                "description": "Page number, from 1 (not with cursor).",
                "schema": {"type": "integer", "minimum": 1, "default": 1},
            },
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "description": f"Items per page, at most {self.max_limit}.",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_limit, "default": self.default_limit},
            },
        ] + (
            [
                {
                    "name": "cursor",
                    "in": "query",
                    "required": False,
                    "description": "A nextCursor from an earlier response: the rows after it, without page or total "
                    "(an empty cursor starts at the top). Send the same sortField and sortOrder, and no page.",
                    "schema": {"type": "string"},
                }
            ]
            if sorts_by_keyset(view)
            else []
        )
