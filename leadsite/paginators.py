"""Admin changelists that stay fast on tables of millions of rows."""

from datetime import date, timedelta

from django.contrib import admin
from django.core.paginator import Paginator
from django.db.models import Max, Min
from django.utils import timezone
from django.utils.functional import cached_property

from leadsite.counting import count_rows

# Up to this many rows a changelist counts exactly; above, PostgreSQL's planner estimate is shown.
EXACT_COUNT_UP_TO = 10_000


class EstimatedCountPaginator(Paginator):
    """A paginator that never counts a huge table: exact up to a threshold, then the planner's estimate.

    Only for lists whose estimate is trustworthy (an organization's whole list, not a search): with
    `estimate=False` it counts like Django's.
    """

    def __init__(self, *args, estimate=True, **kwargs):
        super().__init__(*args, **kwargs)
        self.estimate = estimate

    @cached_property
    def count(self):
        if not self.estimate:
            return super().count
        return count_rows(self.object_list, exact_up_to=EXACT_COUNT_UP_TO)[0]


class LargeTableAdminMixin:
    """No count of the whole table, no facet counts, and an estimated count for unfiltered lists."""

    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    # Query parameters that neither filter nor search: paging and sorting.
    unfiltered_params = {"p", "o"}

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        estimate = set(request.GET) <= self.unfiltered_params
        return EstimatedCountPaginator(queryset, per_page, orphans, allow_empty_first_page, estimate=estimate)


class RangeDates:
    """Stands in for a changelist's queryset in Django's date_hierarchy tag, without its DISTINCT scan.

    Django lists the years (months, days) that have rows with a DISTINCT over every row of the list.
    This lists each year (month, day) between the list's first and last date instead, from one MIN/MAX
    that an (organization, date) index answers at once; a period without rows shows an empty list.
    """

    def __init__(self, queryset):
        self.queryset = queryset
        self.bounds = None

    def aggregate(self, **aggregates):
        # The date_hierarchy tag asks for exactly the bounds datetimes() needs: keep them.
        self.bounds = self.queryset.aggregate(**aggregates)
        return dict(self.bounds)

    def datetimes(self, field_name, kind):
        bounds = self.bounds or self.queryset.aggregate(first=Min(field_name), last=Max(field_name))
        if bounds["first"] is None:
            return []
        first, last = (timezone.localtime(value).date() for value in (bounds["first"], bounds["last"]))
        if kind == "day":
            return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
        if kind == "month":
            months = range(first.year * 12 + first.month - 1, last.year * 12 + last.month)
            return [date(month // 12, month % 12 + 1, 1) for month in months]
        return [date(year, 1, 1) for year in range(first.year, last.year + 1)]
