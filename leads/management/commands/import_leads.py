import os
import shlex
import stat
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import InterfaceError, OperationalError

from leads.importing import (
    FORMATS,
    UPSERT_KEYS,
    Importer,
    ImportFileError,
    ImportOptions,
    Progress,
    open_input,
    organization_from_option,
    parse_mappings,
)

DEFAULT_BATCH_SIZE = ImportOptions.batch_size


class Command(BaseCommand):
    help = (
        "Import leads from a CSV, JSON (array) or JSON Lines file ('-' reads standard input). "
        "Every row is validated by the rules of POST /leads; bad rows are skipped and reported."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The file to import, or - for standard input")
        parser.add_argument("--organization", required=True, help="Slug or id of the organization")
        parser.add_argument("--format", choices=FORMATS, help="Default: from the file name, else from its content")
        parser.add_argument("--encoding", help="Default: UTF-8 (with or without BOM), else cp1252")
        parser.add_argument("--delimiter", help="CSV delimiter (default: detected from the header: , ; tab |)")
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="'COLUMN=field'",
            help="Read a column into a lead field, e.g. --map 'Company Name=company' (repeatable)",
        )
        parser.add_argument(
            "--extra-to-custom-fields",
            action="store_true",
            help="Put unknown columns into customFields (default: report and ignore them)",
        )
        parser.add_argument(
            "--default-assignee",
            metavar="USER",
            help="Id or email of the active member new leads are assigned to when their row names no one",
        )
        parser.add_argument(
            "--no-routing",
            action="store_true",
            help="Leave new leads without an assignee unassigned (default: the assignment rules choose one)",
        )
        parser.add_argument(
            "--upsert",
            choices=UPSERT_KEYS,
            help="email: update the lead with the same email (case-insensitive) instead of reporting a duplicate; "
            "id: update the lead named by the id column (of an export), create rows without an id",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=DEFAULT_BATCH_SIZE,
            help=f"Rows per transaction (default {DEFAULT_BATCH_SIZE})",
        )
        parser.add_argument(
            "--atomic",
            action="store_true",
            help="The whole file in one transaction: nothing is written if a row fails (unless --allow-errors)",
        )
        parser.add_argument("--dry-run", action="store_true", help="Validate everything, write nothing")
        parser.add_argument("--errors", metavar="FILE", help="Write the skipped rows and why to this CSV file")
        parser.add_argument("--allow-errors", action="store_true", help="Exit 0 even if rows were skipped")
        parser.add_argument("--quiet", action="store_true", help="No progress bar")
        parser.add_argument(
            "--processes",
            type=int,
            choices=(1, 2),
            default=2,
            help="2 (default): on PostgreSQL, a second process reads and validates the next batch while one is "
            "written (not with --upsert, --atomic or --dry-run); 1: one process does both",
        )

    def handle(self, *args, **options):
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be 1 or more.")
        try:
            organization = organization_from_option(options["organization"])
            import_options = ImportOptions(
                batch_size=options["batch_size"],
                upsert=options["upsert"],
                dry_run=options["dry_run"],
                atomic=options["atomic"],
                allow_errors=options["allow_errors"],
                mapping=parse_mappings(options["map"]),
                extra_to_custom_fields=options["extra_to_custom_fields"],
                default_assignee=options["default_assignee"],
                route=not options["no_routing"],
                processes=options["processes"],
            )
            with self._open(options["file"]) as stream, self._open_errors(options["errors"]) as errors:
                source = open_input(
                    stream,
                    name=options["file"],
                    size=_size(stream),
                    format=options["format"],
                    encoding=options["encoding"],
                    delimiter=options["delimiter"],
                )
                show_progress = not options["quiet"] and options["verbosity"] > 0 and self.stderr.isatty()
                progress = Progress(self.stderr, source.size) if show_progress else None
                file_name = None if options["file"] == "-" else Path(options["file"]).name
                importer = Importer(organization, import_options, errors=errors, progress=progress, file_name=file_name)
                try:
                    result = importer.run(source)
                except KeyboardInterrupt:
                    self._stopped("Interrupted", importer, options, returncode=130)
                except (OperationalError, InterfaceError) as exc:
                    if not _connection_lost(exc):
                        raise
                    self._stopped("Lost the database connection", importer, options, returncode=1)
        except (ImportFileError, OSError) as exc:
            raise CommandError(str(exc)) from None

        if options["verbosity"] > 0:
            self._summary(importer, result, source, import_options, options)
        if result.skipped and not options["allow_errors"]:
            where = f"; see {options['errors']}" if options["errors"] else "; --errors FILE lists them"
            if result.rolled_back:
                raise CommandError(f"{result.skipped} rows failed, nothing written{where}.")
            raise CommandError(f"{result.skipped} rows skipped{where} (--allow-errors to exit 0).")

    def _open(self, path):
        return _Unclosed(sys.stdin) if path == "-" else open(path, "rb")

    def _open_errors(self, path):
        # backslashreplace: a skipped row may hold a lone surrogate, which UTF-8 cannot write.
        if path:
            return open(path, "w", newline="", encoding="utf-8", errors="backslashreplace")
        return _Unclosed(None)

    def _stopped(self, what, importer, options, *, returncode):
        """Ends the command in one line: what was kept, and how to complete the import."""
        result = importer.result
        if options["atomic"] or options["dry_run"]:
            raise CommandError(f"{what} at line {result.last_line}: nothing was written.", returncode=returncode)
        raise CommandError(
            f"{what} at line {result.last_line}. Kept whole batches only: the first {result.committed_rows} "
            f"rows ({result.created} created, {result.updated} updated). "
            f"To complete it without duplicates, run: {_rerun_command(options)}",
            returncode=returncode,
        )

    def _summary(self, importer, result, source, options, cli):
        write = self.stdout.write
        prefix = "Dry run, nothing written. Would have: " if options.dry_run else ""
        if result.rolled_back:
            prefix = "Nothing written (--atomic and rows failed; --allow-errors keeps the good ones). Would have: "
        write(
            f"{prefix}{result.rows} rows read ({source.format}, {source.encoding}): {result.created} created, "
            f"{result.updated} updated, {result.unchanged} unchanged, {result.skipped} skipped."
        )
        for (field, code), count in result.reasons.most_common():
            example = result.examples[(field, code)]
            write(f"  {count:>8}  {field + ': ' if field else ''}{example}")
        if importer.unknown_columns:
            columns = ", ".join(repr(column) for column in importer.unknown_columns)
            write(f"Ignored unknown columns {columns} (--map them or use --extra-to-custom-fields).")
        if result.skipped and cli["errors"]:
            write(f"Skipped rows with their line numbers and messages: {cli['errors']}")


def _connection_lost(exc) -> bool:
    """The connection went away (terminated, server shut down), as opposed to a query that failed.

    Django reconnects behind the failed transaction, so the error itself tells: psycopg's errors
    carry the SQLSTATE, of class 08 (connection exception) or 57P (shutdown), or none when the
    client lost the socket. SQLite has no connection to lose.
    """
    cause = exc.__cause__
    if not hasattr(cause, "sqlstate"):
        return False
    return cause.sqlstate is None or cause.sqlstate.startswith(("08", "57P"))


def _rerun_command(options) -> str:
    """This import's command line with --upsert (email unless it was id), so that it skips what is done."""
    args = ["manage.py", "import_leads", options["file"], "--organization", options["organization"]]
    for name in ("format", "encoding", "delimiter", "errors"):
        if options[name] is not None:
            args += [f"--{name}", options[name]]
    if options["batch_size"] != DEFAULT_BATCH_SIZE:
        args += ["--batch-size", str(options["batch_size"])]
    for spec in options["map"]:
        args += ["--map", spec]
    if options["extra_to_custom_fields"]:
        args.append("--extra-to-custom-fields")
    if options["default_assignee"]:
        args += ["--default-assignee", options["default_assignee"]]
    if options.get("no_routing"):
        args += ["--no-routing"]
    args += ["--upsert", options["upsert"] or "email"]
    if options["allow_errors"]:
        args.append("--allow-errors")
    return shlex.join(args)


class _Unclosed:
    """A context manager giving back the text stream's bytes (or None) without closing anything."""

    def __init__(self, stream):
        self.stream = stream

    def __enter__(self):
        return getattr(self.stream, "buffer", self.stream)

    def __exit__(self, *exc):
        return False


def _size(stream):
    try:
        info = os.fstat(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None
