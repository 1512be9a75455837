"""Building blocks every API endpoint shares: timestamps, pagination, sorting, error schema."""

import math
from datetime import UTC

from django.db.models import F
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.response import Response


@extend_schema_field(OpenApiTypes.DATETIME)
class TimestampField(serializers.DateTimeField):
    """ISO 8601 in UTC with milliseconds and a Z, as the spec shows: 2025-05-11T12:33:59.048Z."""

    def to_representation(self, value):
        if value is None:
            return None
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class ErrorDetailSerializer(serializers.Serializer):
    message = serializers.CharField()
    field = serializers.CharField(required=False)


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField()
    details = ErrorDetailSerializer(many=True)


def parse_positive_int(params, name, default, maximum=None):
    """Read a positive integer query parameter, or raise a 400 that names it."""
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ValidationError({name: [f"'{raw}' is not a whole number."]}) from None
    if value < 1:
        raise ValidationError({name: ["Must be 1 or more."]})
    if maximum is not None and value > maximum:
        raise ValidationError({name: [f"Must be {maximum} or less."]})
    return value


class PageLimitPagination(BasePagination):
    """`?page=&limit=` pagination answering {data, total, page, limit, totalPages}."""

    default_limit = 10
    max_limit = 100

    def paginate_queryset(self, queryset, request, view=None):
        self.page = parse_positive_int(request.query_params, "page", 1)
        self.limit = parse_positive_int(request.query_params, "limit", self.default_limit, self.max_limit)
        self.total = queryset.count()
        offset = (self.page - 1) * self.limit
        if offset >= self.total:
            return []
        return list(queryset[offset : offset + self.limit])

    def get_paginated_response(self, data):
        return Response(
            {
                "data": data,
                "total": self.total,
                "page": self.page,
                "limit": self.limit,
                "totalPages": math.ceil(self.total / self.limit),
            }
        )

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["data", "total", "page", "limit", "totalPages"],
            "properties": {
                "data": schema,
                "total": {"type": "integer", "minimum": 0},
                "page": {"type": "integer", "minimum": 1},
                "limit": {"type": "integer", "minimum": 1, "maximum": self.max_limit},
                "totalPages": {"type": "integer", "minimum": 0},
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": "page",
                "in": "query",
                "required": False,
                "description": "Page number, from 1.",
                "schema": {"type": "integer", "minimum": 1, "default": 1},
            },
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "description": f"Items per page, at most {self.max_limit}.",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_limit, "default": self.default_limit},
            },
        ]


class SortBackend:
    """`?sortField=&sortOrder=` over the view's `sort_fields` ({api name: model field}).

    Nulls sort last in both directions and ties are broken by id, so the order is stable.
    """

    def get_sort(self, request, view):
        fields = view.sort_fields
        sort_field = request.query_params.get("sortField") or view.default_sort_field
        sort_order = (request.query_params.get("sortOrder") or view.default_sort_order).lower()
        if sort_field not in fields:
            allowed = ", ".join(fields)
            raise ValidationError({"sortField": [f"Unknown sort field '{sort_field}'. Use one of: {allowed}."]})
        if sort_order not in ("asc", "desc"):
            raise ValidationError({"sortOrder": ["Must be 'asc' or 'desc'."]})
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
