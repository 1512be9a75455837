"""Building blocks every API endpoint shares: timestamps, pagination, sorting, error schema."""

import binascii
import json
import math
from base64 import urlsafe_b64decode, urlsafe_b64encode
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from operator import attrgetter

from django.core.exceptions import EmptyResultSet, FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connections
from django.db.models import F, IntegerField
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import relations, serializers
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.fields import SkipField
from rest_framework.pagination import BasePagination
from rest_framework.response import Response

from leadsite import messages
from leadsite.errors import ERROR_CODE_CHOICES
from leadsite.text import is_unstorable_text


@extend_schema_field(OpenApiTypes.DATETIME)
class TimestampField(serializers.DateTimeField):
    """ISO 8601 in UTC with milliseconds and a Z, as the spec shows: 2025-05-11T12:33:59.048Z."""

    def to_representation(self, value):
        if value is None:
            return None
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class FastRepresentationMixin:
    """A ModelSerializer's output without DRF's per-field machinery for plain columns; same JSON.

    DRF spends ~70 us per lead in get_attribute and its checks (7 ms of a 100-lead page). Here a
    field whose source is one concrete column is read with one attrgetter (a foreign key from its
    `_id` column, never loading the related row); None stays None and any other value goes through
    the field's own to_representation. Other fields (nested, dotted, methods) take DRF's path.
    """

    def to_representation(self, instance):
        if isinstance(instance, Mapping):
            return super().to_representation(instance)
        steps = self.__dict__.get("_fast_steps")
        if steps is None:
            steps = self._fast_steps = [
                (name, None if column is None else attrgetter(column), convert)
                for name, column, convert in map(self._fast_step, self._readable_fields)
            ]
        ret = {}
        for name, getter, convert in steps:
            if getter is not None:
                value = getter(instance)
                ret[name] = None if value is None else convert(value)
                continue
            try:
                attribute = convert.get_attribute(instance)
            except SkipField:
                continue
            check_for_none = attribute.pk if isinstance(attribute, relations.PKOnlyObject) else attribute
            ret[name] = None if check_for_none is None else convert.to_representation(attribute)
        return ret

    @classmethod
    def rows(cls, queryset, also=()):
        """The queryset as named tuples of the columns this serializer reads (and `also`), when it reads
        only plain columns; else the queryset as it is.

        Django then builds no model instance per row (about half the cost of a 100-row page), and
        the fast path above reads the tuples' attributes as it reads a model's.
        """
        columns = cls.__dict__.get("_row_columns")
        if columns is None:
            serializer = cls()
            columns = [serializer._fast_step(field)[1] for field in serializer._readable_fields]
            cls._row_columns = columns = () if None in columns else tuple(columns)
        if not columns:
            return queryset
        return queryset.values_list(*dict.fromkeys([*columns, *also]), named=True)

    def _fast_step(self, field):
        """(name, column, convert) for a plain column, else (name, None, field) for DRF's path."""
        slow = (field.field_name, None, field)
        if len(field.source_attrs) != 1 or isinstance(field, serializers.BaseSerializer):
            return slow
        try:
            column = self.Meta.model._meta.get_field(field.source_attrs[0])
        except (AttributeError, FieldDoesNotExist):
            return slow
        if not column.concrete or (column.is_relation and not column.many_to_one):
            return slow
        if isinstance(field, relations.PrimaryKeyRelatedField) and column.is_relation:
            return field.field_name, column.attname, field.pk_field.to_representation if field.pk_field else _same
        if isinstance(field, relations.RelatedField) or field.source_attrs[0] != column.attname:
            return slow  # a related object itself, or some other relation field
        return field.field_name, column.attname, field.to_representation


def _same(value):
    return value


class PartialPutMixin:
    """PUT updates only the fields sent, as PATCH does: the spec's own PUT example sends five fields."""

    def update(self, request, *args, **kwargs):
        kwargs["partial"] = True
        return super().update(request, *args, **kwargs)


class ErrorDetailSerializer(serializers.Serializer):
    message = serializers.CharField()
    field = serializers.CharField(required=False)
    code = serializers.ChoiceField(choices=ERROR_CODE_CHOICES, help_text="A stable machine-readable name.")


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField()
    details = ErrorDetailSerializer(many=True)


def _json_types(field):
    """The JSON types a field's input must have, as its schema says; None where DRF checks enough."""
    if isinstance(field, serializers.BooleanField):
        return (bool,)
    if isinstance(field, serializers.IntegerField):
        return (int,)
    if isinstance(field, (serializers.FloatField, serializers.DecimalField)):
        return (int, float)
    if isinstance(field, (serializers.CharField, serializers.UUIDField, serializers.DateTimeField)):
        return (str,)
    if isinstance(field, serializers.ChoiceField) and all(isinstance(key, str) for key in field.choices):
        return (str,)
    return None


class StrictTypesMixin:
    """API input as the schema documents it, every mistake reported in one answer.

    - JSON types: DRF would read 5 as "5", "5" as 5 and 0 as false.
    - Unknown fields (`{"scroe": 50}`) are a 400 `unknown_parameter` naming them; the read-only
      fields the API shows (id, createdAt, ...) are accepted and ignored, so GET, edit, PUT works.
    Both are reported together with DRF's own field errors, not one pass before them.

    Only for API requests (a `request` in the context): the CSV importer relies on DRF reading text
    and on ignoring columns it does not know.
    """

    type_messages = {bool: messages.BOOLEAN, int: messages.WHOLE_NUMBER, float: messages.NUMBER, str: messages.TEXT}
    # Say what is allowed (leadsite/messages.py): {field: noun for its choices}, {field: the choices a client may send}.
    choice_nouns = {}
    allowed_choices = {}

    def get_fields(self):
        return messages.say_what_is_allowed(super().get_fields(), self.choice_nouns, self.allowed_choices)

    def to_internal_value(self, data):
        if not isinstance(data, Mapping) or self.context.get("request") is None:
            return super().to_internal_value(data)
        errors = {}
        for name in data:
            if name not in self.fields:
                errors[name] = [
                    ErrorDetail(f"Unknown field '{name}'; {self.fields_allowed_message()}", code="unknown_parameter")
                ]
        for field in self._writable_fields:
            value, types = data.get(field.field_name), _json_types(field)
            if value is None or types is None:
                continue
            if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
                errors[field.field_name] = [ErrorDetail(self.type_messages[types[-1]], code="invalid")]
        try:
            value = super().to_internal_value(data)
        except ValidationError as exc:
            raise ValidationError({**exc.detail, **errors}) from None
        if errors:
            raise ValidationError(errors)
        return value

    def fields_allowed_message(self):
        writable = [field.field_name for field in self._writable_fields]
        return f"the fields you can send are {', '.join(writable)}." if writable else "this takes no fields."


def parse_positive_int(params, name, default, maximum=None):
    """Read a positive integer query parameter, or raise a 400 that names it."""
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ValidationError({name: [messages.WHOLE_NUMBER]}) from None
    if value < 1 or (maximum is not None and value > maximum):
        raise ValidationError({name: [messages.in_range(1, maximum)]}, code="out_of_range")
    return value


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
    listed = connection.ops.compose_sql(*queryset.values("pk").query.sql_with_params())
    capped_sql, capped_params = queryset.values("pk")[: exact_up_to + 1].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT estimate, CASE WHEN estimate > %s THEN NULL "
            f"ELSE (SELECT count(*) FROM ({capped_sql}) capped) END "
            "FROM planner_row_estimate(%s) AS estimate",
            [exact_up_to * ESTIMATE_MARGIN, *capped_params, listed],
        )
        return cursor.fetchone()


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


class SortBackend:
    """`?sortField=&sortOrder=` over the view's `sort_fields` ({api name: model field}).

    Nulls sort last in both directions and ties are broken by id, so the order is stable. The
    paginator reads a descending sort of a nullable field as two index walks (Keyset.parts).
    """

    def get_sort(self, request, view):
        fields = view.sort_fields
        sort_field = request.query_params.get("sortField") or view.default_sort_field
        sort_order = (request.query_params.get("sortOrder") or view.default_sort_order).lower()
        if sort_field not in fields:
            allowed = ", ".join(fields)
            raise ValidationError(
                {"sortField": [f"Unknown sort field '{sort_field}'. Use one of: {allowed}."]}, code="invalid_choice"
            )
        if sort_order not in ("asc", "desc"):
            raise ValidationError({"sortOrder": ["Must be 'asc' or 'desc'."]}, code="invalid_choice")
        return fields[sort_field], sort_order

    def filter_queryset(self, request, queryset, view):
        field, order = self.get_sort(request, view)
        # Nulls last only where nulls can occur, so a NOT NULL column's index serves both ways.
        nulls_last = True if queryset.model._meta.get_field(field).null else None
        if order == "asc":
            return queryset.order_by(F(field).asc(nulls_last=nulls_last), "id")
        return queryset.order_by(F(field).desc(nulls_last=nulls_last), "-id")

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": "sortField",
                "in": "query",
                "required": False,
                "schema": {"type": "string", "enum": list(view.sort_fields), "default": view.default_sort_field},
            },
            {
                "name": "sortOrder",
                "in": "query",
                "required": False,
                "schema": {"type": "string", "enum": ["asc", "desc"], "default": view.default_sort_order},
            },
        ]
