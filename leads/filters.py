from datetime import UTC

import django_filters
from django import forms
from django.db.models import Q
from django_filters.fields import IsoDateTimeField

from leads.models import Lead, LeadStatus


class StrictBooleanField(forms.Field):
    """true/false (or 1/0); anything else is an error instead of being silently ignored."""

    TRUE, FALSE = {"true", "1", "yes"}, {"false", "0", "no"}

    def to_python(self, value):
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in self.TRUE:
            return True
        if text in self.FALSE:
            return False
        raise forms.ValidationError(f"'{value}' is not a boolean; use true or false.")


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class IntegerFilter(django_filters.NumberFilter):
    """A whole number; 0.5 is an error, as the schema (type integer) says."""

    field_class = forms.IntegerField


class UTCDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time, in UTC: PostgreSQL refuses offsets beyond ±15:59 that Python parses."""

    def to_python(self, value):
        value = super().to_python(value)
        if value is None:
            return None
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise forms.ValidationError("Date-time out of range.") from None


class UTCDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UTCDateTimeField


class StatusListField(forms.CharField):
    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return []
        statuses = [part.strip() for part in value.split(",") if part.strip()]
        unknown = [s for s in statuses if s not in LeadStatus.values]
        if unknown:
            raise forms.ValidationError(
                f"Unknown status {', '.join(repr(s) for s in unknown)}. Use: {', '.join(LeadStatus.values)}."
            )
        return statuses


class StatusListFilter(django_filters.Filter):
    field_class = StatusListField

    def filter(self, qs, value):
        return qs.filter(status__in=value) if value else qs


class LeadFilter(django_filters.FilterSet):
    status = StatusListFilter(help_text="One status or several, comma-separated.")
    source = django_filters.CharFilter(field_name="source")
    assignedTo = django_filters.UUIDFilter(field_name="assigned_to_id")
    isActive = StrictBooleanFilter(field_name="is_active")
    scoreMin = IntegerFilter(field_name="score", lookup_expr="gte")
    scoreMax = IntegerFilter(field_name="score", lookup_expr="lte")
    createdAfter = UTCDateTimeFilter(field_name="created_at", lookup_expr="gte")
    createdBefore = UTCDateTimeFilter(field_name="created_at", lookup_expr="lt")
    lastContactedBefore = UTCDateTimeFilter(field_name="last_contacted_at", lookup_expr="lt")
    q = django_filters.CharFilter(method="search", help_text="Search in name, email and company.")

    class Meta:
        model = Lead
        fields = []

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(email__icontains=value) | Q(company__icontains=value))
