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
from django.db.models import F, Value
from django.db.models.functions import Coalesce, Concat, Greatest
from django.utils import timezone
from rest_framework.exceptions import ValidationError

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
from leadsite.errors import Conflict
from leadsite.text import UNSTORABLE_MESSAGE, is_unstorable_text, storable_text

logger = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
# Files up to both limits run at once, in the request; larger ones in the task worker.
RUN_AT_ONCE_MAX_ROWS = 5_000
RUN_AT_ONCE_MAX_BYTES = 2 * 1024 * 1024
PREVIEW_ROWS = 20
# The mapping page has a field per column (its POST may hold this many: import_admin); the command takes any number.
MAX_COLUMNS = 10_000
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
    if len(header) > MAX_COLUMNS:
        raise ImportFileError(
            f"The file has {len(header):,} columns; the import page takes at most {MAX_COLUMNS:,} "
            "(manage.py import_leads takes any number)."
        )
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
        route=options.get("route", True),
    )


def _header_and_samples(source):
    """The columns (CSV's header, or the keys of a JSON file's first rows) and their first values."""
    rows = [row.values for row in itertools.islice(source.rows, 50) if row.values is not None]
    if source.header is not None:
        header = list(source.header)
        for number, column in enumerate(header, 1):
            if is_unstorable_text(column):
                raise ImportFileError(f"Column {number}'s name {UNSTORABLE_MESSAGE} Rename it in the file.")
    else:
        # A key no database can store is no column: the preview reports its rows.
        header = list(dict.fromkeys(key for row in rows for key in row if not is_unstorable_text(key)))
    samples = {
        column: [_sample(row.get(column)) for row in rows[:SAMPLE_VALUES] if row.get(column) not in (None, "")]
        for column in header
    }
    return header, samples


def _sample(value) -> str:
    text = storable_text(value if isinstance(value, str) else str(value))
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
        route=lead_import.route,
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
    fields = ["preview", "status", "mapping", "upsert", "default_assignee", "route"]
    # Not over a run that another click started meanwhile (it would make the import runnable again).
    editable = LeadImport.objects.filter(pk=lead_import.pk, status__in=[Status.UPLOADED, Status.PREVIEWED])
    if not editable.update(**{name: getattr(lead_import, name) for name in fields}):
        raise ImportFileError("This import has been started meanwhile; its options can no longer change.")


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


def lead_import_start(lead_import: LeadImport) -> bool:
    """Run a previewed import, at once if it is small, else queued for the task worker; False if it had started.

    The start is one conditional UPDATE (status previewed -> running or queued): it takes the row's lock,
    and of concurrent clicks exactly one finds the row still `previewed`; the others change nothing.
    """
    background = runs_in_background(lead_import)
    with transaction.atomic():
        started = LeadImport.objects.filter(pk=lead_import.pk, status=Status.PREVIEWED)
        if background:
            if not started.update(status=Status.QUEUED):
                return False
            from leads.tasks import run_lead_import

            task_id = str(run_lead_import.enqueue(str(lead_import.pk)).id)
            LeadImport.objects.filter(pk=lead_import.pk).update(task_id=task_id)
        elif not started.update(status=Status.RUNNING, started_at=timezone.now()):
            return False
    if not background:
        lead_import.refresh_from_db()
        lead_import_run(lead_import)
    return True


def lead_import_claim(import_id) -> LeadImport | None:
    """The worker's start of a queued import (queued -> running, once); None if it is not queued."""
    claimed = LeadImport.objects.filter(pk=import_id, status=Status.QUEUED).update(
        status=Status.RUNNING, started_at=Coalesce(F("started_at"), Value(timezone.now()))
    )
    return LeadImport.objects.select_related("organization", "created_by").get(pk=import_id) if claimed else None


COUNTS = ("created", "updated", "unchanged", "skipped")


class RunStopped(Exception):
    """The import's row no longer stands where this run left it: it was cancelled, or another run took it over."""


class _ReportBuffer(io.StringIO):
    """The error report as the importer writes it; `take()` gives what was written since the last take.

    A resumed run's report continues the stored one: the header, which the importer writes and flushes
    first, is left out.
    """

    def __init__(self, resumed: bool):
        super().__init__()
        self.taken = None if resumed else 0

    def flush(self):
        if self.taken is None:
            self.taken = self.tell()
        super().flush()

    def take(self) -> str:
        """The rows as the file had them, but NUL (which PostgreSQL cannot store) shown as U+FFFD."""
        text = self.getvalue()[self.taken or 0 :]
        self.taken = (self.taken or 0) + len(text)
        return storable_text(text)


class _ProgressOnTheRow:
    """The importer's progress interface, keeping the run's state on the LeadImport.

    Rows read and bytes: every `interval` s, for the progress bar. What a run resumes from (rows
    committed, the counts, the reasons, the error report) is written in each batch's own transaction.
    """

    def __init__(self, lead_import, report: _ReportBuffer, interval=1.0):
        self.lead_import, self.report, self.interval, self.saved = lead_import, report, interval, 0.0

    def update(self, rows, position, committed=0, force=False):
        if force or time.monotonic() - self.saved >= self.interval:
            self.save(rows, position)

    def finish(self, rows, position):
        self.save(rows, position)

    def save(self, rows, position):
        self.saved = time.monotonic()
        LeadImport.objects.filter(pk=self.lead_import.pk).update(rows=rows, position=position)

    def committing(self, result, batch, rows, position=None):
        """In the batch's transaction (before the importer adds `batch` to `result`).

        Rows read and the position go with the counts, so that a reader never sees a batch's leads
        counted beside the progress of before it (they are also saved every `interval` s, ahead).
        """
        reasons = result.reasons + batch.reasons
        examples = {**batch.examples, **result.examples}
        counts = {name: getattr(result, name) + getattr(batch, name) for name in COUNTS}
        written = LeadImport.objects.filter(
            pk=self.lead_import.pk, status=Status.RUNNING, committed_rows=result.committed_rows
        ).update(
            committed_rows=result.committed_rows + rows,
            rows=Greatest(F("rows"), result.committed_rows + rows),
            **({} if position is None else {"position": Greatest(F("position"), position)}),
            error_report=Concat(F("error_report"), Value(self.report.take())),
            reasons=[
                {"field": f, "code": c, "message": examples[(f, c)], "rows": n} for (f, c), n in reasons.most_common()
            ],
            **counts,
        )
        if not written:
            raise RunStopped(f"Import {self.lead_import.pk} was cancelled or taken over; this run stops.")


def lead_import_run(lead_import: LeadImport) -> None:
    """Run the import (leads.importing, batch by batch) from where it stands; results kept on the row.

    A run that a dead worker left resumes after its committed rows (the row's committed_rows), with its
    counts and its error report: no row is written twice or skipped. A run that stops on an error ends
    failed, even when its results cannot be saved.
    """
    ended = False
    try:
        _run(lead_import)
        ended = True
    finally:
        if not ended:
            logger.error("Import %s stopped before its results were saved", lead_import.pk)
            LeadImport.objects.filter(pk=lead_import.pk, status=Status.RUNNING).update(
                status=Status.FAILED,
                failure="The import stopped before its results could be saved; the server's log says why.",
                finished_at=timezone.now(),
            )


def _run(lead_import: LeadImport) -> None:
    if lead_import.dry_run and lead_import.committed_rows:  # a dry run keeps nothing to resume from: again
        _restart(lead_import)
    resumed = lead_import.committed_rows
    report = _ReportBuffer(resumed=bool(resumed))
    progress = _ProgressOnTheRow(lead_import, report)
    importer = Importer(
        lead_import.organization,
        import_options(lead_import, dry_run=lead_import.dry_run),
        errors=report,
        progress=progress,
        actor=lead_import.created_by,
        file_name=lead_import.file_name,
    )
    source = _source(lead_import)
    result = importer.result
    if resumed:
        source.rows = itertools.islice(source.rows, resumed, None)
        result.rows = result.committed_rows = resumed
        for name in COUNTS:
            setattr(result, name, getattr(lead_import, name))
        for reason in lead_import.reasons:
            key = (reason["field"], reason.get("code"))
            result.reasons[key] = reason["rows"]
            result.examples[key] = reason["message"]
    failure = ""
    try:
        importer.run(source)
    except RunStopped:  # its last batch rolled back; what committed before stays
        logger.warning("Import %s was cancelled or taken over by another run", lead_import.pk)
        return
    except Exception as exc:  # the row says what happened; the worker's log has the traceback
        logger.exception("Import %s failed", lead_import.pk)
        failure = storable_text(f"Stopped after {result.committed_rows} rows were written: {exc}")
    fields = {
        "status": Status.FAILED if failure else Status.DONE,
        "failure": failure,
        "rows": result.rows,
        "finished_at": timezone.now(),
        **({} if failure else {"position": lead_import.size}),
    }
    if not result.skipped:
        fields["error_report"] = ""
    LeadImport.objects.filter(pk=lead_import.pk, status=Status.RUNNING).update(**fields)


def _restart(lead_import: LeadImport) -> None:
    fields = {"committed_rows": 0, "rows": 0, "position": 0, "error_report": "", "reasons": []}
    fields.update({name: 0 for name in COUNTS})
    LeadImport.objects.filter(pk=lead_import.pk).update(**fields)
    for name, value in fields.items():
        setattr(lead_import, name, value)


# -- Through the API (POST /imports) ----------------------------------------------------------------


@transaction.atomic
def lead_import_queue(
    *, organization, user, file_name: str, content: bytes, options: dict, mapping: dict, dry_run: bool
) -> LeadImport:
    """Store an uploaded file and queue its run in the task worker (the API's import: no preview step).

    mapping: {column: target} over the one the importer's rules suggest (targets as `mapping_targets`).
    Raises ValidationError (on `file` or `mapping`) if the file cannot be read or the mapping cannot work.
    """
    try:
        lead_import = lead_import_create(
            organization=organization, user=user, file_name=file_name, content=content, options=options
        )
    except ImportFileError as exc:
        raise ValidationError({"file": [str(exc)]}) from None
    unknown = [column for column in mapping if column not in lead_import.header]
    if unknown:
        columns = ", ".join(repr(column) for column in lead_import.header[:50])
        raise ValidationError(
            {"mapping": [f"{column!r} is not a column of the file; its columns: {columns}." for column in unknown]}
        )
    lead_import.mapping.update(mapping)
    import_mapping = import_options(lead_import).mapping
    columns = ColumnMap(import_mapping, lead_import.extra_to_custom_fields, text_values=True, read_id=True)
    try:
        columns.check_header(lead_import.header, lead_import.upsert or None)
    except ImportFileError as exc:
        raise ValidationError({"mapping": [str(exc)]}) from None
    from leads.tasks import run_lead_import

    lead_import.dry_run = dry_run
    lead_import.status = Status.QUEUED
    lead_import.task_id = str(run_lead_import.enqueue(str(lead_import.pk)).id)
    lead_import.save(update_fields=["mapping", "dry_run", "status", "task_id"])
    return lead_import


FINISHED = (Status.DONE, Status.FAILED, Status.CANCELLED)


@transaction.atomic
def lead_import_cancel(*, lead_import: LeadImport) -> LeadImport:
    """A queued import never runs; a running one stops before its next batch commits (the batches written stay)."""
    lead_import = LeadImport.objects.select_for_update().get(pk=lead_import.pk)
    if lead_import.status in FINISHED:
        raise Conflict(f"The import has ended ({lead_import.status}); there is nothing to cancel.")
    lead_import.status, lead_import.finished_at = Status.CANCELLED, timezone.now()
    lead_import.save(update_fields=["status", "finished_at"])
    return lead_import
