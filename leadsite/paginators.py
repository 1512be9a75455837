"""Admin changelists that stay fast on tables of millions of rows."""

import json

from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property

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
        queryset = self.object_list.order_by()
        capped = queryset[: EXACT_COUNT_UP_TO + 1].count()
        if capped <= EXACT_COUNT_UP_TO or connections[queryset.db].vendor != "postgresql":
            return capped if capped <= EXACT_COUNT_UP_TO else queryset.count()
        plan = json.loads(queryset.explain(format="json"))
        return max(capped, int(plan[0]["Plan"]["Plan Rows"]))


class LargeTableAdminMixin:
    """No count of the whole table, no facet counts, and an estimated count for unfiltered lists."""

    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    # Query parameters that neither filter nor search: paging and sorting.
    unfiltered_params = {"p", "o"}

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        estimate = set(request.GET) <= self.unfiltered_params
        return EstimatedCountPaginator(queryset, per_page, orphans, allow_empty_first_page, estimate=estimate)
