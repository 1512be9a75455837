"""Template tags for admin lists of millions of rows."""

import copy

from django import template
from django.contrib.admin.templatetags.admin_list import date_hierarchy

from leadsite.paginators import RangeDates

register = template.Library()


@register.inclusion_tag("admin/date_hierarchy.html")
def range_date_hierarchy(cl):
    """Django's date hierarchy, with its periods taken from the list's first and last date."""
    cl = copy.copy(cl)
    cl.queryset = RangeDates(cl.queryset)
    return date_hierarchy(cl)
