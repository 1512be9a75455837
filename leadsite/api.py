"""The old home of the API's shared building blocks, kept only as a path to them.

leads/tests/test_cursor.py and test_query_counts.py import PageLimitPagination from here, and
branches written before the split may import the other names; new code imports each from the
module that holds it: fields (TimestampField), representation (FastRepresentationMixin),
partial_put (PartialPutMixin), strict (StrictTypesMixin), errors (ErrorSerializer), parameters
(parse_positive_int), counting (count_rows), sorting (SortBackend), pagination
(PageLimitPagination, Keyset).
"""

from leadsite.counting import count_rows
from leadsite.errors import ErrorDetailSerializer, ErrorSerializer
from leadsite.fields import TimestampField
from leadsite.pagination import Keyset, PageLimitPagination, sorts_by_keyset
from leadsite.parameters import parse_positive_int
from leadsite.partial_put import PartialPutMixin
from leadsite.representation import FastRepresentationMixin
from leadsite.sorting import SortBackend
from leadsite.strict import StrictTypesMixin

__all__ = [
    "ErrorDetailSerializer",
    "ErrorSerializer",
    "FastRepresentationMixin",
    "Keyset",
    "PageLimitPagination",
    "PartialPutMixin",
    "SortBackend",
    "StrictTypesMixin",
    "TimestampField",
    "count_rows",
    "parse_positive_int",
    "sorts_by_keyset",
]
