"""Strict query-parameter filters shared by every list: a bad value is a 400, never ignored."""

from datetime import UTC

import django_filters
from django import forms
from django.db.models import Q
from django_filters.fields import IsoDateTimeField
from django_filters.rest_framework import DjangoFilterBackend

from leadsite import messages


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
        raise forms.ValidationError(messages.BOOLEAN)


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class WholeNumberField(forms.IntegerField):
    default_error_messages = {"invalid": messages.WHOLE_NUMBER}


class IntegerFilter(django_filters.NumberFilter):
    """A whole number; 0.5 is an error, as the schema (type integer) says."""

    field_class = WholeNumberField


class UTCDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time, in UTC: PostgreSQL refuses offsets beyond ±15:59 that Python parses."""

    default_error_messages = {"invalid": messages.DATE_TIME}

    def to_python(self, value):
        value = super().to_python(value)
        if value is None:
            return None
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise forms.ValidationError(messages.DATE_TIME_OUT_OF_RANGE, code="out_of_range") from None


class UTCDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UTCDateTimeField


class ChoiceListField(forms.CharField):
    """One choice or several, comma-separated; an unknown one is an error that lists the valid ones."""

    def __init__(self, *, values, noun, **kwargs):
        self.valid, self.noun = list(values), noun
        super().__init__(**kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        chosen = [part.strip() for part in (value or "").split(",") if part.strip()]
        unknown = [item for item in chosen if item not in self.valid]
        if unknown:
            raise forms.ValidationError(
                [
                    forms.ValidationError(messages.invalid_choice(item, self.noun, self.valid), code="invalid_choice")
                    for item in unknown
                ]
            )
        return chosen


class ChoiceListFilter(django_filters.Filter):
    """`?status=new,contacted`: rows whose field is any of the given `values` (`noun` names them in errors)."""

    field_class = ChoiceListField

    def filter(self, qs, value):
        return qs.filter(**{f"{self.field_name}__in": value}) if value else qs


class TextSearchFilter(django_filters.CharFilter):
    """`?q=`: rows where any of `fields` contains the text, case-insensitively.

    Or, with `expression` (a function returning one text expression of those fields), rows where
    that text contains it: one condition that one index on the expression can answer.
    """

    def __init__(self, *, fields, expression=None, **kwargs):
        self.search_fields, self.expression = fields, expression
        super().__init__(**kwargs)

    def filter(self, qs, value):
        value = (value or "").strip()
        if not value:
            return qs
        if self.expression is not None:
            return qs.alias(search_text=self.expression()).filter(search_text__icontains=value)
        condition = Q()
        for field in self.search_fields:
            condition |= Q(**{f"{field}__icontains": value})
        return qs.filter(condition)


class FilterWhenAskedBackend(DjangoFilterBackend):
    """django-filter's backend, but a list without any of its filter parameters is not filtered at all.

    django-filter builds the FilterSet and validates its form on every request (~0.5 ms), even when
    no filter was asked for; a filter parameter sent empty or wrong still goes through it (and its 400).
    """

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is None or not any(
            param.startswith(tuple(filterset_class.base_filters)) for param in request.query_params
        ):
            return queryset
        return super().filter_queryset(request, queryset, view)
