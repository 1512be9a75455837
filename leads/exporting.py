"""Export of leads (the `export_leads` command): the API's representation, streamed as CSV or JSON Lines.

The output imports back with `import_leads --upsert id` to the same data: CSV cells hold
customFields as JSON, booleans as true/false and null as an empty cell, which is how the
importer reads them. A CSV cell that a spreadsheet would run as a formula gets a leading `'`
(see `formula_safe`), which the importer removes again.
"""

import csv
import json
import re
from contextlib import closing
from datetime import UTC

from django.core.serializers.json import DjangoJSONEncoder
from django.http import QueryDict

from leads.filters import LeadFilter
from leads.models import Lead
from leads.serializers import LeadSerializer
from leadsite.fields import TimestampField

EXPORT_FORMATS = ("csv", "jsonl")
# CLI option -> GET /leads query parameter.
FILTER_OPTIONS = {
    "status": "status",
    "source": "source",
    "assigned_to": "assignedTo",
    "is_active": "isActive",
    "score_min": "scoreMin",
    "score_max": "scoreMax",
    "created_after": "createdAfter",
    "created_before": "createdBefore",
    "last_contacted_before": "lastContactedBefore",
    "q": "q",
}


class ExactTimestampField(TimestampField):
    """The API's timestamp format, with microseconds when a value has them, so that nothing is lost on re-import."""

    def to_representation(self, value):
        if value is not None and value.microsecond % 1000:
            return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
        return super().to_representation(value)


class ExportLeadSerializer(LeadSerializer):
    lastContactedAt = ExactTimestampField(source="last_contacted_at", required=False, allow_null=True)


class FilterError(Exception):
    pass


def filtered_leads(*, organization, filters: dict):
    """The organization's leads matching GET /leads' filters ({"status": "new,contacted", ...}), oldest first."""
    params = QueryDict(mutable=True)
    for name, value in filters.items():
        if value is not None:
            params[name] = str(value)
    filterset = LeadFilter(params, queryset=Lead.objects.for_organization(organization))
    if not filterset.is_valid():
        messages = [f"{name}: {' '.join(errors)}" for name, errors in filterset.errors.items()]
        raise FilterError("; ".join(messages))
    return filterset.qs.order_by("created_at", "id")


def write_leads(queryset, stream, *, format: str, chunk_size: int = 2000) -> int:
    """Write the leads to the text stream one at a time; returns how many."""
    count = 0
    if format == "csv":
        rows = csv_rows(queryset, chunk_size=chunk_size)
        writer = csv.writer(stream)
        with closing(rows):  # a reader that went away closes the database cursor now, not at exit
            writer.writerow(next(rows))
            for row in rows:
                writer.writerow(row)
                count += 1
        return count
    serializer = ExportLeadSerializer(context={"organization": None})
    leads = queryset.iterator(chunk_size=chunk_size)
    with closing(leads):
        for lead in leads:
            stream.write(json.dumps(serializer.to_representation(lead), cls=DjangoJSONEncoder, ensure_ascii=False))
            stream.write("\n")
            count += 1
    return count


def csv_rows(queryset, *, chunk_size: int = 2000):
    """The header, then one row a lead: the API's field names and values, as import_leads reads them."""
    serializer = ExportLeadSerializer(context={"organization": None})
    fields = list(serializer.fields)
    yield fields
    for lead in queryset.iterator(chunk_size=chunk_size):
        data = serializer.to_representation(lead)
        yield [_csv_cell(data[name]) for name in fields]


def _csv_cell(value):
    text = csv_cell_text(value)
    return formula_safe(text) if isinstance(value, str) else text


def csv_cell_text(value) -> str:
    """A value of a lead as its CSV cell holds it, before formula_safe (what import_leads reads back)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, cls=DjangoJSONEncoder)
    return str(value)


# A spreadsheet runs a cell starting with one of these as a formula (OWASP: CSV injection).
FORMULA_START = "=+-@\t\r"
# Text that is, or after the importer removed one quote would be, such a cell: any quotes, then one of them.
_NEEDS_QUOTE = re.compile(f"'*[{re.escape(FORMULA_START)}]")


def formula_safe(text: str) -> str:
    """The cell text a spreadsheet shows as text: a leading `'` before a formula character.

    Text already starting with quotes before such a character gets one more, so that
    `unquote_formula` (what import_leads does) gives back exactly the text.
    """
    return "'" + text if _NEEDS_QUOTE.match(text) else text


def unquote_formula(text: str) -> str:
    """The text `formula_safe` was given: one leading `'` fewer before a formula character."""
    return text[1:] if text.startswith("'") and _NEEDS_QUOTE.match(text) else text
