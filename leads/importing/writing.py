"""Writing an import: the Importer validates each batch of rows and writes it in its own transaction.

A batch is written with COPY on PostgreSQL, bulk_create elsewhere, bulk_update for upserts, one
history entry per lead in one bulk insert, and its events. Memory depends on the batch size, not
on the file size (except in a dry run, which remembers the emails it would have created so that
it can report duplicates).
"""

import copy
import json
import re
import uuid
from contextlib import nullcontext
from functools import partial

from django.db import connection, transaction
from django.db.models import F
from django.db.models.functions import Lower
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from events.models import Event
from events.services import lead_event, new_event, record_events
from leads import tallies
from leads.exporting import ExportLeadSerializer, csv_cell_text
from leads.history import Action, field_changes, history_entry, record_history
from leads.importing.mapping import ColumnMap, RowProblem
from leads.importing.options import ImportOptions
from leads.importing.pipeline import Pipeline
from leads.importing.reading import InputFile, SourceRow
from leads.importing.results import ErrorReport, ImportResult
from leads.importing.validation import ImportLeadSerializer, error_messages
from leads.lifecycle import lifecycle_problem
from leads.models import Lead, LeadHistory
from leads.services import created_history, route_unassigned, routing_data, score_leads, scoring_model
from leadsite.bulk import insert_rows
from leadsite.text import UNSTORABLE_MESSAGE, find_unstorable


def _email_key(data: dict):
    email = data.get("email")
    return email.strip().lower() if isinstance(email, str) and email.strip() else None


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
            committing(self.result, batch, rows, position=self.position())

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
        try:
            data = self.columns.apply(row.values)
        except RowProblem as exc:
            return None, None, [exc.problem]
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
        # Scored in Python from each row's values (no query; none at all without a model), before routing, whose
        # rules may read predictedScore, and again for the routed leads if the model reads the assignee.
        model = scoring_model(organization=self.organization)
        score_leads(model, creates)
        # Set-based: one routing step per batch (the pools locked and read in one query, their state written in one).
        routed = route_unassigned(organization=self.organization, leads=creates) if self.options.route else {}
        if routed and model is not None and model.uses_assignee:
            score_leads(model, [lead for lead in creates if lead.pk in routed])
        insert_rows(Lead, creates, now=now)
        if updates:
            changed_fields = {self.model_field_of[name] for _, changes in updates for name in changes}
            for lead, _ in updates:
                lead.updated_at = now
                lead.version = F("version") + 1  # the ETag changes (leadsite/etags.py), whoever else wrote it
            score_leads(model, [lead for lead, _ in updates])
            fields = [*changed_fields, "updated_at", "version", "predicted_score"]
            Lead.objects.bulk_update([lead for lead, _ in updates], fields, batch_size=1000)
        updated, actor = Action.UPDATED, self.actor
        entries = created_history(leads=creates, routed=routed, actor=actor, via="import")
        entries += [
            history_entry(lead=lead, action=updated, actor=actor, via="import", changes=changes)
            for lead, changes in updates
        ]
        write_history(entries, now=now)
        events = [
            lead_event(
                Event.Type.LEAD_CREATED, lead=lead, user=actor, via="import", **routing_data(routed.get(lead.pk))
            )
            for lead in creates
        ]
        events += [
            lead_event(Event.Type.LEAD_UPDATED, lead=lead, user=actor, via="import", changes=changes)
            for lead, changes in updates
        ]
        record_events(events, insert=partial(insert_rows, Event, now=now))


def write_history(entries: list, *, now):
    """Write history entries (built by history_entry) in bulk.

    On PostgreSQL through COPY: Django 5.2's bulk_create sends each column as an array that
    psycopg quotes value by value in Python, which cost as much as validating the rows.
    """
    if connection.vendor == "postgresql":
        insert_rows(LeadHistory, entries, now=now)
    else:
        record_history(entries)
