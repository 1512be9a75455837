"""`?sortField=&sortOrder=` for API lists."""

from django.db.models import F
from rest_framework.exceptions import ValidationError


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
