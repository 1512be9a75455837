import os
import sys

from django.core.management.base import BaseCommand, CommandError

from leads.exporting import EXPORT_FORMATS, FILTER_OPTIONS, FilterError, filtered_leads, write_leads
from leads.importing import ImportFileError, organization_from_option


class Command(BaseCommand):
    help = (
        "Export an organization's leads (the same filters as GET /leads) as CSV or JSON Lines, streamed to a file "
        "or standard output. The output imports back with import_leads --upsert id."
    )

    def add_arguments(self, parser):
        parser.add_argument("--organization", required=True, help="Slug or id of the organization")
        parser.add_argument("--format", choices=EXPORT_FORMATS, help="Default: from --output's name, else csv")
        parser.add_argument("--output", "-o", default="-", help="File to write (default: standard output)")
        parser.add_argument("--chunk-size", type=int, default=2000, help="Rows fetched from the database at a time")
        parser.add_argument("--status", help="One status or several, comma-separated")
        parser.add_argument("--source")
        parser.add_argument("--assigned-to", metavar="USER_ID")
        parser.add_argument("--is-active", metavar="true|false")
        parser.add_argument("--score-min", type=int)
        parser.add_argument("--score-max", type=int)
        parser.add_argument("--created-after", metavar="ISO_DATETIME")
        parser.add_argument("--created-before", metavar="ISO_DATETIME")
        parser.add_argument("--last-contacted-before", metavar="ISO_DATETIME")
        parser.add_argument("--q", help="Search in name, email and company")

    def handle(self, *args, output, **options):
        format = options["format"] or ("jsonl" if output.endswith((".jsonl", ".ndjson")) else "csv")
        try:
            organization = organization_from_option(options["organization"])
            filters = {param: options[option] for option, param in FILTER_OPTIONS.items()}
            leads = filtered_leads(organization=organization, filters=filters)
        except (ImportFileError, FilterError) as exc:
            raise CommandError(str(exc)) from None

        if output == "-":
            try:
                count = write_leads(leads, _StdoutText(self.stdout), format=format, chunk_size=options["chunk_size"])
            except BrokenPipeError:
                _reader_went_away()
                return
        else:
            with open(output, "w", newline="", encoding="utf-8") as stream:
                count = write_leads(leads, stream, format=format, chunk_size=options["chunk_size"])
        if options["verbosity"] > 0:
            self.stderr.write(f"Exported {count} leads ({format}).")


def _reader_went_away():
    """`export_leads | head`: the reader has all it wanted. End quietly, as the Python docs advise
    (standard output pointed at /dev/null, so that the interpreter's last flush does not fail again)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


class _StdoutText:
    """The command's stdout without its automatic line endings (csv writes its own)."""

    def __init__(self, out):
        self.out = out

    def write(self, text):
        self.out.write(text, ending="")
