"""What an import reports: its counts and reasons (ImportResult) and the skipped rows as CSV (ErrorReport)."""

import csv
from collections import Counter
from dataclasses import dataclass, field

from leads.exporting import FORMULA_START


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


def _inert(cell):
    """A cell of the file as it was, with a `'` before a formula so that a spreadsheet does not run it.

    The importer removes that quote again, so the report's rows import as the file's did.
    """
    return "'" + cell if isinstance(cell, str) and cell[:1] and cell[0] in FORMULA_START else cell
