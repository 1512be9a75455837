"""Imports uploaded through the admin (LeadImport): what its pages and the task worker call.

leads.importing is what an import does; this module only turns a LeadImport's options into
ImportOptions, previews it (a dry run of its first rows), and runs it, now or in the task worker,
keeping its progress and results on the row.
"""

import io
import itertools
import json
import logging
import time

from django.db import transaction
from django.utils import timezone

from leads.importing import (
    CUSTOM,
    ColumnMap,
    Importer,
    ImportFileError,
    ImportOptions,
    lead_field_names,
    open_input,
)
from leads.models import LeadImport

logger = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
# Files up to both limits run at once, in the request; larger ones in the task worker.
RUN_AT_ONCE_MAX_ROWS = 5_000
RUN_AT_ONCE_MAX_BYTES = 2 * 1024 * 1024
PREVIEW_ROWS = 20
SAMPLE_VALUES = 3
# Mapping targets besides the lead's fields (LeadImport.mapping's values).
IGNORE, EXTRA, ID = "", "+customFields", "id"
Status = LeadImport.Status


def mapping_targets() -> list[tuple[str, str]]:
    """(value, label) of what a column can be read into, for the mapping form."""
    fields = [(name, name) for name in lead_field_names()]
    return [
        (IGNORE, "— ignore —"),
        *fields,
        (EXTRA, "a key of customFields"),
        (ID, "id (finds the lead to update with upsert by id)"),
    ]


def lead_import_create(*, organization, user, file_name: str, content: bytes, options: dict) -> LeadImport:
    """Store an uploaded file with the mapping the importer's own rules suggest for its columns.

    options: upsert ("", "email", "id"), extra_to_custom_fields, default_assignee (a user or None).
    Raises ImportFileError if the file cannot be read at all.
    """
    source = open_input(io.BytesIO(content), name=file_name, size=len(content))
    header, samples = _header_and_samples(source)
    if not header:
        raise ImportFileError("The file holds no rows.")
    columns = ColumnMap({}, options["extra_to_custom_fields"], text_values=source.format == "csv", read_id=True)
    mapping = {column: _target_value(columns.target(column)) for column in header}
    return LeadImport.objects.create(
        organization=organization,
        created_by=user,
        file_name=file_name[:255],
        content=content,
        size=len(content),
        format=source.format,
        encoding=source.encoding,
        header=header,
        samples=samples,
        mapping=mapping,
        upsert=options["upsert"],
        extra_to_custom_fields=options["extra_to_custom_fields"],
        default_assignee=options["default_assignee"],
    )


def _header_and_samples(source):
    """The columns (CSV's header, or the keys of a JSON file's first rows) and their first values."""
    rows = [row.values for row in itertools.islice(source.rows, 50) if row.values is not None]
    header = list(source.header) if source.header is not None else list(dict.fromkeys(k for r in rows for k in r))
    samples = {
        column: [_sample(row.get(column)) for row in rows[:SAMPLE_VALUES] if row.get(column) not in (None, "")]
        for column in header
    }
    return header, samples


def _sample(value) -> str:
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _target_value(target) -> str:
    return EXTRA if target is CUSTOM else IGNORE if target is None else target


def import_options(lead_import: LeadImport, **overrides) -> ImportOptions:
    """The LeadImport's options as the importer takes them (every column mapped explicitly)."""
    mapping = {
        column: None if target == IGNORE else CUSTOM if target == EXTRA else target
        for column, target in lead_import.mapping.items()
    }
    assignee = lead_import.default_assignee_id
    return ImportOptions(
        upsert=lead_import.upsert or None,
        mapping=mapping,
        extra_to_custom_fields=lead_import.extra_to_custom_fields,
        default_assignee=str(assignee) if assignee else None,
        **overrides,
    )


def _source(lead_import: LeadImport):
    content = LeadImport.objects.filter(pk=lead_import.pk).values_list("content", flat=True).get()
    stream = io.BytesIO(bytes(content))
    return open_input(
        stream,
        name=lead_import.file_name,
        size=lead_import.size,
        format=lead_import.format,
        encoding=lead_import.encoding,
    )


def lead_import_preview(lead_import: LeadImport) -> None:
    """A dry run of the first RUN_AT_ONCE_MAX_ROWS rows: the first rows as they would be saved, errors counted.

    Raises ImportFileError when the mapping cannot work (no name column, two columns on one field).
    """
    source = _source(lead_import)
    rows = iter(source.rows)
    source.rows = itertools.islice(rows, RUN_AT_ONCE_MAX_ROWS)
    importer = Importer(lead_import.organization, import_options(lead_import, dry_run=True, preview_rows=PREVIEW_ROWS))
    result = importer.run(source)
    whole_file = next(rows, None) is None
    lead_import.preview = {
        "rows": [_preview_row(line, action, lead) for line, action, lead in result.preview],
        "checked": result.rows,
        "wholeFile": whole_file,
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "skipped": result.skipped,
        "reasons": _reasons(result),
    }
    lead_import.status = Status.PREVIEWED
    lead_import.save(update_fields=["preview", "status", "mapping", "upsert", "default_assignee"])


PREVIEW_FIELDS = ("name", "email", "phone", "company", "source", "status", "score", "assigned_to", "custom_fields")


def _preview_row(line, action, lead) -> dict:
    values = {name: getattr(lead, name) for name in PREVIEW_FIELDS}
    values["assigned_to"] = lead.assigned_to.email if lead.assigned_to_id else None
    values["custom_fields"] = json.dumps(lead.custom_fields, ensure_ascii=False) if lead.custom_fields else None
    return {"line": line, "action": action, "values": {k: v for k, v in values.items() if v not in (None, "", {})}}


def _reasons(result) -> list[dict]:
    return [
        {"field": field, "message": result.examples[(field, code)], "rows": count}
        for (field, code), count in result.reasons.most_common()
    ]


def runs_in_background(lead_import: LeadImport) -> bool:
    preview = lead_import.preview or {}
    return lead_import.size > RUN_AT_ONCE_MAX_BYTES or not preview.get("wholeFile", False)


def lead_import_start(lead_import: LeadImport) -> None:
    """Run a previewed import: at once if it is small, else queued for the task worker."""
    if lead_import.status != Status.PREVIEWED:
        return  # already started (a second click, a reload that posts again)
    if not runs_in_background(lead_import):
        lead_import_run(lead_import)
        return
    from leads.tasks import run_lead_import

    with transaction.atomic():
        lead_import.status = Status.QUEUED
        lead_import.save(update_fields=["status"])
        result = run_lead_import.enqueue(str(lead_import.pk))
        LeadImport.objects.filter(pk=lead_import.pk).update(task_id=str(result.id))


class _ProgressOnTheRow:
    """The importer's progress interface, saving rows, bytes and counts to the LeadImport every `interval` s."""

    def __init__(self, lead_import, interval=1.0):
        self.lead_import, self.interval, self.saved = lead_import, interval, 0.0
        self.result = None  # the importer's ImportResult, set once it exists

    def update(self, rows, position, committed=0):
        if time.monotonic() - self.saved >= self.interval:
            self.save(rows, position)

    def finish(self, rows, position):
        self.save(rows, position)

    def save(self, rows, position):
        self.saved = time.monotonic()
        counts = {name: getattr(self.result, name) for name in ("created", "updated", "unchanged", "skipped")}
        LeadImport.objects.filter(pk=self.lead_import.pk).update(rows=rows, position=position, **counts)


def lead_import_run(lead_import: LeadImport) -> None:
    """Run the import (leads.importing, batch by batch), its progress and results kept on the row."""
    LeadImport.objects.filter(pk=lead_import.pk).update(status=Status.RUNNING, started_at=timezone.now())
    errors = io.StringIO()
    progress = _ProgressOnTheRow(lead_import)
    importer = Importer(
        lead_import.organization,
        import_options(lead_import),
        errors=errors,
        progress=progress,
        actor=lead_import.created_by,
    )
    progress.result = importer.result
    failure = ""
    try:
        importer.run(_source(lead_import))
    except Exception as exc:  # the row says what happened; the worker's log has the traceback
        logger.exception("Import %s failed", lead_import.pk)
        failure = f"Stopped after {importer.result.committed_rows} rows were written: {exc}"
    result = importer.result
    lead_import.status = Status.FAILED if failure else Status.DONE
    lead_import.failure = failure
    lead_import.rows = result.rows
    for name in ("created", "updated", "unchanged", "skipped"):
        setattr(lead_import, name, getattr(result, name))
    lead_import.reasons = _reasons(result)
    lead_import.error_report = errors.getvalue() if result.skipped else ""
    lead_import.finished_at = timezone.now()
    fields = [
        "status",
        "failure",
        "rows",
        "created",
        "updated",
        "unchanged",
        "skipped",
        "reasons",
        "error_report",
        "finished_at",
    ]
    if not failure:
        lead_import.position = lead_import.size
        fields.append("position")
    lead_import.save(update_fields=fields)
