"""Bulk import of leads from CSV, JSON and JSON Lines (the `import_leads` command).

The file is streamed: rows are read one by one, mapped to the API's field names, validated
by LeadSerializer (the rules of POST /leads, with the assignee looked up once per batch
instead of once per row) and written a batch at a time: COPY on PostgreSQL, bulk_create
elsewhere, bulk_update for upserts, one history entry per lead in one bulk insert. Memory
depends on the batch size, not on the file size (except in a dry run, which remembers the
emails it would have created so that it can report duplicates).
"""

import codecs
import copy
import csv
import io
import json
import multiprocessing
import os
import pickle
import queue
import re
import signal
import time
import uuid
from collections import Counter
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import cache, partial

from django.db import connection, connections, transaction
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from events.models import Event
from events.services import lead_event, new_event, record_events
from leads import tallies
from leads.exporting import FORMULA_START, ExportLeadSerializer, csv_cell_text, unquote_formula
from leads.history import Action, created_changes, field_changes, history_entry, record_history
from leads.lifecycle import lifecycle_problem
from leads.models import Lead, LeadHistory
from leads.serializers import LeadSerializer, OrganizationUserField
from leadsite.bulk import insert_rows
from leadsite.text import UNSTORABLE_MESSAGE, find_unstorable
from organizations.models import Organization

FORMATS = ("csv", "json", "jsonl")
SAMPLE_SIZE = 64 * 1024
JSON_CHUNK = 256 * 1024
# A JSON array element bigger than this is taken as broken JSON rather than read on to the end of the file.
MAX_JSON_OBJECT = 8 * 1024 * 1024
# In CSV an empty cell is null, except for fields that have a default: there it means "not given".
OMIT_WHEN_EMPTY = {"status", "isActive", "customFields"}
CUSTOM = object()
# What --upsert finds a lead by.
UPSERT_KEYS = ("email", "id")


class ImportFileError(Exception):
    """The file cannot be imported at all (as opposed to a bad row)."""


def organization_from_option(value: str) -> Organization:
    """The organization named by its slug or its id on the command line."""
    try:
        lookup = {"pk": uuid.UUID(value)}
    except ValueError:
        lookup = {"slug": value}
    try:
        return Organization.objects.get(**lookup)
    except Organization.DoesNotExist:
        raise ImportFileError(f"No organization with slug or id '{value}'.") from None


# Reading ---------------------------------------------------------------------------------------


class _CountingReader(io.RawIOBase):
    """Gives back `prefix` (the sample already read) and then the stream, counting bytes for the progress bar."""

    def __init__(self, prefix: bytes, stream):
        self.prefix, self.stream, self.bytes_read = prefix, stream, 0

    def readable(self):
        return True

    def readinto(self, buffer):
        if self.prefix:
            data, self.prefix = self.prefix[: len(buffer)], self.prefix[len(buffer) :]
        else:
            data = self.stream.read(len(buffer))
        buffer[: len(data)] = data
        self.bytes_read += len(data)
        return len(data)

    def tell(self):
        # What io.BufferedReader.tell() starts from: it subtracts what it holds but has not given out.
        return self.bytes_read


@dataclass
class SourceRow:
    line: int
    values: dict | None  # as read: header or key -> value
    original: list | str  # what the error report shows: the CSV cells or the JSON text
    problem: str | None = None  # why the row could not be read
    code: str = ""


def detect_format(name: str, sample: bytes) -> str:
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix in ("jsonl", "ndjson"):
        return "jsonl"
    if suffix in ("json", "csv"):
        return suffix
    start = sample.removeprefix(codecs.BOM_UTF8).lstrip()[:1]
    return {b"[": "json", b"{": "jsonl"}.get(start, "csv")


def detect_encoding(sample: bytes) -> str:
    """UTF-8 (with or without BOM) unless the sample's non-ASCII lines are all invalid UTF-8: then cp1252.

    A UTF-8 file with a few broken lines stays UTF-8 (those lines become bad rows); a file that
    a Windows program saved in its legacy code page is read as such.
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    lines = sample.splitlines()
    if lines and not sample.endswith(b"\n"):
        lines.pop()  # possibly cut in the middle of a character
    non_ascii = [line for line in lines if not line.isascii()]
    if not non_ascii or any(_is_utf8(line) for line in non_ascii):
        return "utf-8"
    return "cp1252"


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def detect_delimiter(header_line: str) -> str:
    counts = {delimiter: header_line.count(delimiter) for delimiter in ",;\t|"}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


class DecodedLines:
    """The file's lines decoded one at a time, so that a badly encoded line is one bad row, not a crash."""

    def __init__(self, stream, encoding: str):
        self.stream, self.encoding = stream, encoding
        self.line = 0
        self.problems = {}  # line number -> message, for lines not read yet by the consumer

    def __iter__(self):
        if codecs.lookup(self.encoding).name.startswith(("utf-16", "utf-32")):
            # Not ASCII-compatible: lines cannot be split on b"\n"; decode the stream as a whole.
            for text in io.TextIOWrapper(self.stream, self.encoding, newline=""):
                self.line += 1
                yield text
            return
        for raw in self.stream:
            self.line += 1
            try:
                yield raw.decode(self.encoding)
            except UnicodeDecodeError as exc:
                self.problems[self.line] = (
                    f"Not valid {self.encoding}: byte 0x{raw[exc.start]:02x} at position {exc.start + 1}. "
                    "Give --encoding if the file is in another encoding (e.g. --encoding cp1252)."
                )
                yield raw.decode(self.encoding, errors="replace")

    def problem_between(self, first: int, last: int) -> str | None:
        found = None
        for line in [line for line in self.problems if line <= last]:
            message = self.problems.pop(line)
            if line >= first and found is None:
                found = message
        return found


class CsvRows:
    def __init__(self, lines: DecodedLines, delimiter: str):
        self.lines = lines
        self.reader = csv.reader(lines, delimiter=delimiter)
        self.header = [name.strip() for name in next(self.reader, [])]
        if lines.problem_between(1, self.reader.line_num):
            raise ImportFileError(f"The header line is not valid {lines.encoding}; give --encoding.")

    def __iter__(self):
        width = len(self.header)
        previous = self.reader.line_num
        while True:
            try:
                cells = next(self.reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield SourceRow(previous + 1, None, [], f"Unreadable CSV: {exc}.", "csv")
                return
            line, previous = previous + 1, self.reader.line_num
            problem = self.lines.problem_between(line, previous)
            if not any(cell.strip() for cell in cells):
                continue
            if problem:
                yield SourceRow(line, None, cells, problem, "encoding")
            elif len(cells) != width:
                message = f"Has {len(cells)} values but the header has {width} columns."
                yield SourceRow(line, None, cells, message, "columns")
            else:
                yield SourceRow(line, dict(zip(self.header, cells, strict=True)), cells)


def jsonl_rows(lines: DecodedLines):
    for text in lines:
        line, text = lines.line, text.lstrip("\ufeff").strip()
        problem = lines.problems.pop(line, None)
        if problem:
            yield SourceRow(line, None, text, problem, "encoding")
        elif text:
            yield _json_row(line, text)


def _json_row(line: int, text: str) -> SourceRow:
    try:
        value = json.loads(text)
    except ValueError as exc:
        return SourceRow(line, None, text, f"Invalid JSON: {exc.msg} (column {exc.colno}).", "json")
    if not isinstance(value, dict):
        return SourceRow(line, None, text, "Must be a JSON object ({...}).", "json")
    return SourceRow(line, value, text)


def json_array_rows(stream, encoding: str):
    """The elements of a JSON array, read a chunk at a time; broken JSON ends the file with a bad row."""
    text = io.TextIOWrapper(stream, encoding)
    decoder = json.JSONDecoder()
    buf, pos, line, eof = "", 0, 1, False
    space = re.compile(r"[ \t\r\n]*")

    def more():
        nonlocal buf, pos, eof
        chunk = text.read(JSON_CHUNK)
        eof = not chunk
        buf, pos = buf[pos:] + chunk, 0

    def skip_space():
        nonlocal pos, line
        while True:
            end = space.match(buf, pos).end()
            line += buf.count("\n", pos, end)
            pos = end
            if pos < len(buf) or eof:
                return
            more()

    def broken(message):
        return SourceRow(line, None, buf[pos : pos + 200], message, "json")

    try:
        more()
        if buf.startswith("\ufeff"):
            pos = 1
        skip_space()
        if buf[pos : pos + 1] != "[":
            yield broken("Invalid JSON: a JSON file must hold an array of objects ([{...}, ...]).")
            return
        pos += 1
        first = True
        while True:
            skip_space()
            if buf[pos : pos + 1] == "]":
                return
            if not first:
                if buf[pos : pos + 1] != ",":
                    yield broken("Invalid JSON: expected ',' or ']' after an element.")
                    return
                pos += 1
                skip_space()
            first = False
            while True:
                try:
                    value, end = decoder.raw_decode(buf, pos)
                    break
                except ValueError as exc:
                    if eof or len(buf) - pos > MAX_JSON_OBJECT:
                        at = line + buf.count("\n", pos, exc.pos)
                        yield SourceRow(at, None, buf[pos : pos + 200], f"Invalid JSON: {exc.msg}.", "json")
                        return
                    more()
            original = buf[pos:end]
            if isinstance(value, dict):
                yield SourceRow(line, value, original)
            else:
                yield SourceRow(line, None, original, "Must be a JSON object ({...}).", "json")
            line += buf.count("\n", pos, end)
            pos = end
    except UnicodeDecodeError as exc:
        yield SourceRow(line, None, "", f"Not valid {encoding}: {exc.reason}; give --encoding.", "encoding")
    finally:
        text.detach()


@dataclass
class InputFile:
    rows: object  # iterator of SourceRow
    format: str
    encoding: str
    header: list | None  # CSV only
    counter: _CountingReader
    size: int | None  # bytes, when known
    buffered: io.BufferedReader | None = None

    @property
    def bytes_read(self):
        return self.counter.bytes_read

    @property
    def position(self) -> int:
        """Bytes of the file taken by the readers so far (not what the buffer read ahead): the progress bar's base."""
        return self.buffered.tell() if self.buffered is not None else self.counter.bytes_read


def open_input(stream, *, name="", size=None, format=None, encoding=None, delimiter=None) -> InputFile:
    """Detect what the binary `stream` holds (format, encoding, delimiter) and read its rows lazily."""
    sample = stream.read(SAMPLE_SIZE)
    if len(sample) == SAMPLE_SIZE:
        sample += stream.readline(SAMPLE_SIZE)
    counter = _CountingReader(sample, stream)
    buffered = io.BufferedReader(counter, 1024 * 1024)
    format = format or detect_format(name, sample)
    encoding = encoding or detect_encoding(sample)
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ImportFileError(f"Unknown encoding '{encoding}'.") from None
    header = None
    if format == "json":
        rows = json_array_rows(buffered, encoding)
    elif format == "jsonl":
        rows = jsonl_rows(DecodedLines(buffered, encoding))
    else:
        if delimiter is None:
            first_line = sample.split(b"\n", 1)[0].decode(encoding, errors="replace")
            delimiter = detect_delimiter(first_line)
        csv_rows = CsvRows(DecodedLines(buffered, encoding), delimiter)
        rows, header = iter(csv_rows), csv_rows.header
    return InputFile(
        rows=rows, format=format, encoding=encoding, header=header, counter=counter, size=size, buffered=buffered
    )


# Mapping columns to fields --------------------------------------------------------------------


def _normalized(name: str) -> str:
    """customFields, custom_fields and "Custom Fields" are the same column."""
    return re.sub(r"[\s_\-]+", "", name).lower()


@cache
def _field_names():
    fields = LeadSerializer().fields
    writable = [name for name, f in fields.items() if not f.read_only]
    read_only = [name for name, f in fields.items() if f.read_only]
    return writable, read_only


def lead_field_names() -> list[str]:
    """The lead fields an import writes (the API's names)."""
    return list(_field_names()[0])


def parse_mappings(specs) -> dict:
    """["Company Name=company", ...] -> {"Company Name": "company"}."""
    writable = {_normalized(name): name for name in _field_names()[0]}
    mapping = {}
    for spec in specs or []:
        source, sep, target = spec.rpartition("=")
        if not sep or not source.strip():
            raise ImportFileError(f"--map '{spec}': use --map 'Column Name=field'.")
        if _normalized(target) not in writable:
            raise ImportFileError(f"--map '{spec}': '{target}' is not a lead field ({', '.join(writable.values())}).")
        mapping[source.strip()] = writable[_normalized(target)]
    return mapping


class ColumnMap:
    """Turns a row as read into the API's input: {"name": ..., "assignedTo": ..., "customFields": {...}}."""

    def __init__(self, mapping: dict, extra_to_custom_fields: bool, text_values: bool, read_id: bool = False):
        writable, read_only = _field_names()
        self.fields = {_normalized(name): name for name in writable}
        self.read_only = {_normalized(name) for name in read_only}
        self.mapping = mapping
        self.extra_to_custom_fields = extra_to_custom_fields
        self.text_values = text_values  # CSV: every value is text and an empty cell means null
        self.read_id = read_id  # --upsert id: the id column names the lead to update
        self.targets = {}
        self.unknown = {}  # column -> None, in the order first seen

    def target(self, column: str):
        if column not in self.targets:
            key = _normalized(column)
            if column.strip() in self.mapping:
                target = self.mapping[column.strip()]
                if target == "id" and not self.read_id:
                    target = None
            elif key in self.fields:
                target = self.fields[key]
            elif key == "id" and self.read_id:
                target = "id"
            elif key in self.read_only:
                target = None  # id, createdAt, ... of an export: not written by an import
            elif self.extra_to_custom_fields:
                target = CUSTOM
            else:
                target, self.unknown[column] = None, None
            self.targets[column] = target
        return self.targets[column]

    def check_header(self, header: list, upsert: str | None):
        seen = {}
        for column in header:
            target = self.target(column)
            if target is not None and target is not CUSTOM:
                if target in seen:
                    raise ImportFileError(f"Columns '{seen[target]}' and '{column}' both map to {target}.")
                seen[target] = column
        if "name" not in seen and not upsert:
            raise ImportFileError("No column maps to name; use --map 'Your Column=name'.")
        if upsert == "id" and "id" not in seen:
            raise ImportFileError("--upsert id needs an id column (as export_leads writes it).")

    def apply(self, values: dict) -> dict:
        data, extras = {}, {}
        for column, value in values.items():
            target = self.target(column)
            if target is None:
                continue
            if self.text_values:
                value = unquote_formula(value)
            if target is CUSTOM:
                if not (self.text_values and value.strip() == ""):
                    extras[column] = value
                continue
            if self.text_values:
                if value.strip() == "":
                    if target in OMIT_WHEN_EMPTY:
                        continue
                    value = value if target == "name" else None
                elif target == "customFields":
                    try:
                        value = json.loads(value)
                    except ValueError:
                        pass  # the serializer says what is wrong with it
            data[target] = value
        if extras:
            custom = data.get("customFields")
            if custom is None:
                data["customFields"] = extras
            elif isinstance(custom, dict):
                data["customFields"] = {**custom, **extras}
        return data


# Validating -----------------------------------------------------------------------------------


class PreloadedAssigneeField(OrganizationUserField):
    """assignedTo as the API takes it (a user id) or a user's email, found among the users loaded for the batch.

    The users are loaded with OrganizationUserField's own queryset (active users of the
    organization), once per batch instead of once per row.
    """

    default_error_messages = {"no_user_with_email": "No active user with email '{email}' in your organization."}

    def to_internal_value(self, data):
        users = self.context["assignees"]
        if isinstance(data, str) and "@" in data:
            user = users.get(data.strip().lower())
            if user is None:
                self.fail("no_user_with_email", email=data)
            return user
        user = users.get(self.pk_field.to_internal_value(data))
        if user is None:
            self.fail("does_not_exist", pk_value=data)
        return user

    def load(self, values) -> dict:
        ids, emails = set(), set()
        for value in values:
            if isinstance(value, str) and "@" in value:
                emails.add(value.strip().lower())
            elif value not in (None, ""):
                try:
                    ids.add(uuid.UUID(str(value).strip()))
                except ValueError:
                    pass
        if not ids and not emails:
            return {}
        users = self.get_queryset().annotate(email_key=Lower("email")).filter(Q(pk__in=ids) | Q(email_key__in=emails))
        found = {}
        for user in users.only("id", "email"):
            found[user.pk] = found[user.email_key] = user
        return found


class ImportLeadSerializer(LeadSerializer):
    """LeadSerializer's rules, with assignees looked up per batch (see PreloadedAssigneeField)."""

    assignedTo = PreloadedAssigneeField(source="assigned_to", required=False, allow_null=True)


def error_messages(detail, field=None) -> list[tuple]:
    """DRF error detail -> [(field, message, code)]."""
    if isinstance(detail, dict):
        return [item for key, value in detail.items() for item in error_messages(value, key)]
    if isinstance(detail, list):
        return [item for value in detail for item in error_messages(value, field)]
    if field == "non_field_errors":
        field = None
    return [(field, str(detail), getattr(detail, "code", "invalid"))]


def _email_key(data: dict):
    email = data.get("email")
    return email.strip().lower() if isinstance(email, str) and email.strip() else None


# Importing ------------------------------------------------------------------------------------


@dataclass
class ImportOptions:
    batch_size: int = 5000
    upsert: str | None = None  # "email" or "id": update the lead found by it instead of creating one
    dry_run: bool = False
    atomic: bool = False  # one transaction: nothing is written if a row is skipped, unless allow_errors
    allow_errors: bool = False
    mapping: dict = field(default_factory=dict)  # column -> field name, None to ignore it, CUSTOM for customFields
    extra_to_custom_fields: bool = False
    default_assignee: str | None = None  # user id or email for new leads whose row names no assignee
    preview_rows: int = 0  # keep this many rows as they would be saved (ImportResult.preview)
    # 2: read and validate the next batch in a forked process while this one writes (see Pipeline).
    # The command's default; a web request or the task worker is not forked (1).
    processes: int = 1


@dataclass
class ImportResult:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    committed_rows: int = 0
    rolled_back: bool = False  # --atomic and rows were skipped: nothing written
    last_line: int = 0
    reasons: Counter = field(default_factory=Counter)  # (field, code) -> rows
    examples: dict = field(default_factory=dict)  # (field, code) -> first message
    preview: list = field(default_factory=list)  # [(line, "create" | "update" | "unchanged", lead)]

    def add(self, other: "ImportResult"):
        for name in ("created", "updated", "unchanged", "skipped"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.reasons.update(other.reasons)
        for key, message in other.examples.items():
            self.examples.setdefault(key, message)


class ErrorReport:
    """The rows that were skipped, as CSV: line, errors, then the row as it was in the file.

    Written a batch at a time and flushed before that batch commits, so that the report lists
    the bad rows of every committed batch even if the process is killed.
    """

    def __init__(self, stream, header):
        self.stream = stream
        self.writer = csv.writer(stream) if stream is not None else None
        if self.writer:
            self.writer.writerow(["line", "errors", *(header if header is not None else ["row"])])
            stream.flush()

    def add(self, skipped: list):
        """Write [(row, messages)] in line order."""
        if not self.writer:
            return
        for row, messages in sorted(skipped, key=lambda item: item[0].line):
            text = " | ".join(f"{field}: {message}" if field else message for field, message, _ in messages)
            original = row.original if isinstance(row.original, list) else [row.original]
            self.writer.writerow([row.line, text, *(_inert(cell) for cell in original)])
        self.stream.flush()


def _same_value(value, stored, *, text: bool) -> bool:
    """A value of the file is the stored one: the same text as the export's cell (CSV), or the same JSON."""
    if isinstance(value, dict | list) or isinstance(stored, dict | list):
        return _canonical_json(value) == _canonical_json(stored)
    if text and isinstance(value, str):
        return value == csv_cell_text(stored)
    return type(value) is type(stored) and value == stored  # JSON: 1 is not true, "5" is not 5


def _canonical_json(value):
    try:
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    except (TypeError, ValueError):
        return object()  # equal to nothing


def _skip(batch: ImportResult, skipped: list, row, messages):
    skipped.append((row, messages))
    batch.skipped += 1
    for field_name, message, code in messages:
        batch.reasons[(field_name, code)] += 1
        batch.examples.setdefault((field_name, code), message)


def _inert(cell):
    """A cell of the file as it was, with a `'` before a formula so that a spreadsheet does not run it.

    The importer removes that quote again, so the report's rows import as the file's did.
    """
    return "'" + cell if isinstance(cell, str) and cell[:1] and cell[0] in FORMULA_START else cell


class Importer:
    def __init__(self, organization, options: ImportOptions, *, errors=None, progress=None, actor=None, file_name=None):
        self.organization = organization
        self.file_name = file_name  # for the import.completed event
        self.options = options
        self.actor = actor  # the user the history names (the staff member of an admin import), or nobody
        self.errors_stream = errors
        self.progress = progress
        self.result = ImportResult()
        self.context = {"organization": organization, "assignees": {}}
        self.create_validator = ImportLeadSerializer(context=self.context)
        self.update_validator = ImportLeadSerializer(instance=Lead(), partial=True, context=self.context)
        self.stored_values = ExportLeadSerializer(context=self.context)  # a lead as export_leads writes it
        self.seen = {}  # dry run only: email -> line of the lead it would have created
        self.columns = None
        writable = {name: f.source for name, f in self.create_validator.fields.items() if not f.read_only}
        self.model_field_of = writable  # API name -> model field

    def run(self, source: InputFile) -> ImportResult:
        self.columns = ColumnMap(
            self.options.mapping,
            self.options.extra_to_custom_fields,
            text_values=source.format == "csv",
            read_id=self.options.upsert == "id",
        )
        if source.header is not None:
            self.columns.check_header(source.header, self.options.upsert)
        self.report = ErrorReport(self.errors_stream, source.header)
        whole_file = transaction.atomic() if self.options.atomic and not self.options.dry_run else nullcontext()
        self.position = lambda: source.position
        try:
            with whole_file:
                if self._can_pipeline():
                    self._import_rows_pipelined(source)
                else:
                    self._import_rows(source)
                if self.options.atomic and self.result.skipped and not self.options.allow_errors:
                    transaction.set_rollback(True)
                    self.result.rolled_back = True
        finally:
            if self.progress:
                self.progress.finish(self.result.rows, self.position())
        if not self.options.dry_run:
            self._record_completed()
        return self.result

    @transaction.atomic
    def _record_completed(self):
        result = self.result
        counts = {name: getattr(result, name) for name in ("rows", "created", "updated", "unchanged", "skipped")}
        data = {"fileName": self.file_name, **counts, "rolledBack": result.rolled_back}
        event = new_event(
            Event.Type.IMPORT_COMPLETED, organization_id=self.organization.pk, actor=self.actor, via="import", data=data
        )
        record_events([event])
        if result.created or result.updated:
            # A batch adds up to a tally row per key it touched: fold them before the dashboard reads them.
            tallies.compact(organization_id=self.organization.pk)

    def _import_rows(self, source: InputFile):
        batch = []
        for row in source.rows:
            batch.append(row)
            self.result.rows += 1
            self.result.last_line = row.line
            if self.progress:
                self.progress.update(self.result.rows, source.position, self.result.committed_rows)
            if len(batch) >= self.options.batch_size:
                self._import_batch(batch)
                batch = []
        if batch:
            self._import_batch(batch)

    def _can_pipeline(self) -> bool:
        """Two processes for a plain import into PostgreSQL (see Pipeline); one for everything else.

        Upserts validate each row against the lead it finds, which the batch before may be
        writing, and dry runs and previews write nothing worth overlapping. Inside a transaction
        (tests, --atomic) the connection cannot be handed over to a forked process.
        """
        options = self.options
        return (
            options.processes > 1
            and options.upsert is None
            and not (options.dry_run or options.atomic or options.preview_rows)
            and connection.vendor == "postgresql"
            and not connection.in_atomic_block
        )

    def _import_rows_pipelined(self, source: InputFile):
        with Pipeline(self, source) as batches:
            for validated, position in batches:
                self.position = lambda position=position: position
                self._write_validated_batch(validated)

    def validate_new_leads(self, rows) -> list:
        """[(row, the lead's model values or None, problems)] for rows that would each create a lead.

        Everything of a row that does not depend on the leads already in the database: reading,
        the assignee (users do not change during an import) and validation. The duplicate check is
        the writer's (`_write_validated_batch`).
        """
        read = [(row, *self._read(row)) for row in rows]
        default_assignee = self.options.default_assignee
        assignees = [data.get("assignedTo") for _, data, _, _ in read if data] + [default_assignee]
        self.context["assignees"] = self.create_validator.fields["assignedTo"].load(assignees)
        results = []
        for row, data, _, problems in read:
            if problems:
                results.append((row, None, problems))
                continue
            if default_assignee and data.get("assignedTo") in (None, ""):
                data = {**data, "assignedTo": default_assignee}
            self.create_validator.instance = None
            try:
                validated = self.create_validator.run_validation(data)
            except ValidationError as exc:
                results.append((row, None, error_messages(exc.detail)))
                continue
            problem = lifecycle_problem(lead=None, status=validated.get("status"))  # 'converted' only by converting
            if problem is not None:
                results.append((row, None, [problem]))
                continue
            if "assigned_to" in validated:  # a User; its id crosses to the writing process
                validated["assigned_to_id"] = getattr(validated.pop("assigned_to"), "pk", None)
            results.append((row, validated, []))
        return results

    def _write_validated_batch(self, results: list):
        """Write a batch that `validate_new_leads` checked: refuse duplicates, then as `_import_batch` does."""
        batch, skipped, creates = ImportResult(), [], {}
        keys = {_email_key(validated) for _, validated, _ in results if validated} - {None}
        existing = self._existing_leads(keys)
        for row, validated, problems in results:
            key = _email_key(validated) if validated else None
            if not problems and key and (key in existing or key in creates):
                line = creates[key][1] if key in creates else None
                message = f"Same email as line {line}." if line else "A lead with this email already exists."
                problems = [("email", message, "duplicate")]
            if problems:
                _skip(batch, skipped, row, problems)
                continue
            creates[key or object()] = (Lead(organization=self.organization, **validated), row.line)
            batch.created += 1
        with transaction.atomic():
            self._write([lead for lead, _ in creates.values()], [])
            self.report.add(skipped)
            self._committing(batch, len(results))
        self.result.rows += len(results)
        self.result.last_line = results[-1][0].line
        self.result.add(batch)
        self.result.committed_rows += len(results)
        if self.progress:
            self.progress.update(self.result.rows, self.position(), self.result.committed_rows, force=True)

    def _committing(self, batch: ImportResult, rows: int):
        """In the batch's transaction: a progress that keeps where a run stands commits it with the batch."""
        committing = getattr(self.progress, "committing", None)
        if committing is not None:
            committing(self.result, batch, rows)

    @property
    def unknown_columns(self) -> list:
        return list(self.columns.unknown) if self.columns else []

    def _import_batch(self, rows):
        batch = ImportResult()
        skipped = []
        creates = {}  # email key (or a unique object) -> (lead, line)
        updates = {}  # lead pk -> [lead, changes]
        upsert_email = self.options.upsert == "email"

        def skip(row, messages):
            _skip(batch, skipped, row, messages)

        mapped = []  # (row, data, id of the lead to update or None)
        for row in rows:
            data, lead_id, problems = self._read(row)
            if problems:
                skip(row, problems)
            else:
                mapped.append((row, data, lead_id))
        assignee_field = self.create_validator.fields["assignedTo"]
        default_assignee = self.options.default_assignee
        assignees = [data.get("assignedTo") for _, data, _ in mapped] + [default_assignee]
        self.context["assignees"] = assignee_field.load(assignees)
        by_id = self._leads_by_id({lead_id for _, _, lead_id in mapped} - {None})
        emails = {_email_key(data) for _, data, lead_id in mapped if lead_id is None}
        existing = self._existing_leads(emails - {None})

        for row, data, lead_id in mapped:
            key, pending, earlier = None, None, None
            if lead_id is not None:
                matches = [by_id[lead_id]] if lead_id in by_id else []
                if not matches:
                    skip(row, [("id", "No lead with this id in the organization.", "not_found")])
                    continue
            else:
                key = _email_key(data)
                matches = existing.get(key, [])
                pending = creates.get(key) if key else None
                earlier = self.seen.get(key) if key else None
                if upsert_email and key is None:
                    skip(row, [("email", "Required with --upsert email: it is how the lead is found.", "upsert_key")])
                    continue
                if upsert_email and len(matches) > 1:
                    message = f"{len(matches)} leads of the organization have this email; merge them first."
                    skip(row, [("email", message, "ambiguous")])
                    continue
                if not upsert_email and (matches or pending or earlier):
                    line = pending[1] if pending else earlier
                    message = f"Same email as line {line}." if line else "A lead with this email already exists."
                    skip(row, [("email", message, "duplicate")])
                    continue

            lead = matches[0] if matches else pending[0] if pending else Lead() if earlier else None
            if matches and not (pending or earlier) and lead.pk not in updates and self._as_stored(data, lead):
                self._keep_for_preview(row, "unchanged", lead)
                batch.unchanged += 1
                continue
            if lead is None and default_assignee and data.get("assignedTo") in (None, ""):
                data = {**data, "assignedTo": default_assignee}
            validator = self.create_validator if lead is None else self.update_validator
            validator.instance = lead
            try:
                validated = validator.run_validation(data)
            except ValidationError as exc:
                skip(row, error_messages(exc.detail))
                continue
            # The lifecycle as the API has it: 'converted' only by converting; a converted lead keeps it.
            problem = lifecycle_problem(lead=lead, status=validated.get("status"))
            if problem is not None:
                skip(row, [problem])
                continue

            if lead is None:
                lead = Lead(organization=self.organization, **validated)
                creates[key or object()] = (lead, row.line)
                batch.created += 1
                self._keep_for_preview(row, "create", lead)
                continue
            changes = field_changes(lead, validated)
            for name, value in validated.items():
                setattr(lead, name, value)
            self._keep_for_preview(row, "update" if changes else "unchanged", lead)
            if matches and changes:
                entry = updates.setdefault(lead.pk, [lead, {}])
                for name, change in changes.items():
                    entry[1].setdefault(name, {"old": change["old"]})["new"] = change["new"]
            if changes or pending or earlier:
                batch.updated += 1
            else:
                batch.unchanged += 1

        # The skipped rows are in the report before the batch commits: after a crash, the report
        # lists the bad rows of every batch that was written (and perhaps of the one that was not).
        with transaction.atomic():
            if self.options.dry_run:
                self.seen.update((key, line) for key, (_, line) in creates.items() if isinstance(key, str))
            else:
                self._write([lead for lead, _ in creates.values()], self._net_changes(updates.values()))
            self.report.add(skipped)
            self._committing(batch, len(rows))
        self.result.add(batch)
        self.result.committed_rows += len(rows)

    def _as_stored(self, data: dict, lead: Lead) -> bool:
        """Whether every value of the row is the lead's own, as an export writes it: then it changes nothing.

        Re-importing an unchanged export (or file) skips validation this way; an assignee may be
        named by email. Anything written otherwise (another date format, "True") is validated.
        """
        stored = self.stored_values.to_representation(lead)
        for name, value in data.items():
            if name not in stored:
                return False
            if name == "assignedTo" and isinstance(value, str) and "@" in value:
                user = self.context["assignees"].get(value.strip().lower())  # loaded for the batch
                value = str(user.pk) if user is not None else value
            if not _same_value(value, stored[name], text=self.columns.text_values):
                return False
        return True

    def _keep_for_preview(self, row, action, lead):
        if len(self.result.preview) < self.options.preview_rows:
            self.result.preview.append((row.line, action, copy.copy(lead)))

    def _read(self, row: SourceRow):
        """(the row as the API's input, the id of the lead it updates, []) or (None, None, [problems])."""
        if row.problem is not None:
            return None, None, [(None, row.problem, row.code)]
        data = self.columns.apply(row.values)
        unstorable = find_unstorable(data)
        if unstorable is not None:
            field_name = re.split(r"[.\[]", unstorable, maxsplit=1)[0] or None
            return None, None, [(field_name, UNSTORABLE_MESSAGE, "invalid")]
        if self.options.upsert != "id":
            return data, None, []
        lead_id = data.pop("id", None)
        if lead_id is None or (isinstance(lead_id, str) and not lead_id.strip()):
            return data, None, []  # no id: a new lead
        try:
            return data, uuid.UUID(str(lead_id).strip()), []
        except ValueError:
            return None, None, [("id", "Must be a lead id (UUID) or empty for a new lead.", "invalid")]

    def _leads_by_id(self, ids) -> dict:
        """The organization's leads with these ids, id -> lead; one query per 2,000."""
        found = {}
        ids = list(ids)
        for start in range(0, len(ids), 2000):
            leads = Lead.objects.for_organization(self.organization).filter(pk__in=ids[start : start + 2000])
            found.update((lead.pk, lead) for lead in leads)
        return found

    def _existing_leads(self, keys) -> dict:
        """The organization's leads with these emails (case-insensitive), email -> [leads]; one query per 2,000."""
        found = {}
        keys = list(keys)
        for start in range(0, len(keys), 2000):
            leads = (
                Lead.objects.for_organization(self.organization)
                .annotate(email_key=Lower("email"))
                .filter(email_key__in=keys[start : start + 2000])
                .order_by("created_at", "id")
            )
            if self.options.upsert != "email":
                leads = leads.only("id", "email")
            for lead in leads:
                found.setdefault(lead.email_key, []).append(lead)
        return found

    @staticmethod
    def _net_changes(updates) -> list:
        """[lead, changes] without the changes that a later row of the batch undid."""
        net = []
        for lead, changes in updates:
            changes = {name: change for name, change in changes.items() if change["old"] != change["new"]}
            if changes:
                net.append([lead, changes])
        return net

    def _write(self, creates: list, updates: list):
        """Write a batch; the caller holds the transaction."""
        now = timezone.now()
        insert_rows(Lead, creates, now=now)
        if updates:
            changed_fields = {self.model_field_of[name] for _, changes in updates for name in changes}
            for lead, _ in updates:
                lead.updated_at = now
                lead.version = F("version") + 1  # the ETag changes (leadsite/etags.py), whoever else wrote it
            fields = [*changed_fields, "updated_at", "version"]
            Lead.objects.bulk_update([lead for lead, _ in updates], fields, batch_size=1000)
        created, updated, actor = Action.CREATED, Action.UPDATED, self.actor
        entries = [
            history_entry(lead=lead, action=created, actor=actor, via="import", changes=created_changes(lead))
            for lead in creates
        ]
        entries += [
            history_entry(lead=lead, action=updated, actor=actor, via="import", changes=changes)
            for lead, changes in updates
        ]
        write_history(entries, now=now)
        events = [lead_event(Event.Type.LEAD_CREATED, lead=lead, user=actor, via="import") for lead in creates]
        events += [
            lead_event(Event.Type.LEAD_UPDATED, lead=lead, user=actor, via="import", changes=changes)
            for lead, changes in updates
        ]
        record_events(events, insert=partial(insert_rows, Event, now=now))


class Pipeline:
    """Read and validate batches in a forked process while this one writes the batch before.

    The writing process's time goes mostly to PostgreSQL (COPY into an indexed table, history,
    events) and the reading process's to Python (decoding, mapping, DRF validation), so each
    keeps a core busy. The child reads the file (the parent no longer touches it), looks up
    assignees on its own connection and sends each batch's results through a queue that
    holds at most two batches, so memory stays flat. Batches are written in file order, each in
    its own transaction, exactly as one process writes them.

        with Pipeline(importer, source) as batches:
            for results, position in batches: ...
    """

    QUEUED_BATCHES = 2

    def __init__(self, importer: Importer, source: InputFile):
        self.importer, self.source = importer, source
        context = multiprocessing.get_context("fork")
        self.queue = context.Queue(self.QUEUED_BATCHES)
        self.process = context.Process(target=self._read_and_validate, daemon=True)
        self.parent_pid = os.getpid()

    def __enter__(self):
        # The child must not share the parent's database socket: both open their own.
        connections.close_all()
        self.process.start()
        return self._batches()

    def __exit__(self, *exc_info):
        if self.process.is_alive():
            self.process.terminate()
        self.process.join()
        self.queue.close()

    def _batches(self):
        while True:
            try:
                kind, payload, position = self.queue.get(timeout=1)
            except queue.Empty:
                if not self.process.is_alive():
                    raise ImportFileError("The reading process ended unexpectedly.") from None
                continue
            if kind == "end":
                return
            if kind == "error":
                raise payload
            yield payload, position

    def _send(self, *message):
        """Put a message on the queue, waiting while it is full; end quietly if the parent is gone (kill -9)."""
        while True:
            try:
                self.queue.put(message, timeout=1)
                return
            except queue.Full:
                if os.getppid() != self.parent_pid:
                    os._exit(1)

    def _read_and_validate(self):
        """The child: runs until the file ends; Ctrl-C is the parent's to handle."""
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        importer, source, size = self.importer, self.source, self.importer.options.batch_size
        try:
            batch = []
            for row in source.rows:
                batch.append(row)
                if len(batch) >= size:
                    self._send("batch", importer.validate_new_leads(batch), source.position)
                    batch = []
            if batch:
                self._send("batch", importer.validate_new_leads(batch), source.position)
            self._send("end", None, source.position)
        except Exception as exc:  # the parent raises it: a file error, or the child's database gone
            try:
                pickle.dumps(exc)
            except Exception:
                exc = ImportFileError(f"Reading the file failed: {exc}")
            self._send("error", exc, None)
        finally:
            connections.close_all()
            self.queue.close()
            self.queue.join_thread()


def write_history(entries: list, *, now):
    """Write history entries (built by history_entry) in bulk.

    On PostgreSQL through COPY: Django 5.2's bulk_create sends each column as an array that
    psycopg quotes value by value in Python, which cost as much as validating the rows.
    """
    if connection.vendor == "postgresql":
        insert_rows(LeadHistory, entries, now=now)
    else:
        record_history(entries)


# Progress -------------------------------------------------------------------------------------


class Progress:
    """The command's progress bar (tqdm) on a terminal: rows, rows per second and, for a file, % and ETA.

    Neutral colours (tqdm's own, not the command's red error style). The ETA appears once the first
    batch is written: before that the rate would count reading and validating but no database
    writes, and promise too much. Progress is measured in bytes the readers have taken, not in what
    the read-ahead buffer holds, so a small file does not show 100% at once.
    """

    def __init__(self, stream, total_bytes=None, interval=0.25):
        from tqdm import tqdm  # only a command on a terminal needs it

        self.total = total_bytes or None
        stream = getattr(stream, "_out", stream)  # a command's OutputWrapper would colour and end every write
        self.bar = tqdm(
            total=self.total,
            file=stream,
            mininterval=interval,
            bar_format=self._format(eta=False),
            ncols=80,  # the line's own width: a terminal that reports none (0) would otherwise get an empty line
            smoothing=0,  # the rate since the start, writes included: an ETA that holds
        )
        self.committed, self.started = 0, time.monotonic()

    def _format(self, eta: bool) -> str:
        if not self.total:
            return "{desc}"
        return "{percentage:3.0f}%|{bar:20}| {desc}" + ("  ETA {remaining}" if eta else "")

    def update(self, rows, position, committed=0, force=False):
        if committed and not self.committed:
            self.committed = committed
            self.bar.bar_format = self._format(eta=True)
        elapsed = max(time.monotonic() - self.started, 1e-6)
        self.bar.set_description_str(f"{rows:,} rows  {rows / elapsed:,.0f} rows/s", refresh=False)
        self.bar.update((position or 0) - self.bar.n if self.total else 0)
        if force:
            self.bar.refresh()

    def finish(self, rows, position=None):
        self.update(rows, self.total if position is None else position, self.committed or rows, force=True)
        self.bar.close()
