"""Bulk import of leads from CSV, JSON and JSON Lines (the `import_leads` command and the admin's import).

The file is streamed: rows are read one by one (reading), mapped to the API's field names
(mapping), validated by the rules of POST /leads (validation) and written a batch at a time
(writing), in one process or in two (pipeline); what was done is counted and the skipped rows
reported (results). Memory depends on the batch size, not on the file size.

    errors      ImportFileError: the file cannot be imported at all
    options     ImportOptions, the organization a command names
    reading     formats, encodings, delimiters; the file's rows (open_input)
    mapping     columns -> lead fields (ColumnMap, --map)
    validation  the import's LeadSerializer, assignees loaded once per batch
    writing     the Importer: batches, duplicates, upserts, history and events
    pipeline    the two-process import
    results     ImportResult and the error report
    progress    the command's progress bar

The names below are the package's entry points: import them from `leads.importing`. Setting one
of them on the package (a test's monkeypatch of `leads.importing.write_history`, say) sets it in
the module that uses it too, so that the patch reaches the code it is meant for.
"""

import sys
from types import ModuleType

from leads.importing import mapping, options, pipeline, reading, results, validation, writing
from leads.importing.errors import ImportFileError
from leads.importing.mapping import CUSTOM, ColumnMap, lead_field_names, parse_mappings
from leads.importing.options import UPSERT_KEYS, ImportOptions, organization_from_option
from leads.importing.pipeline import Pipeline
from leads.importing.progress import Progress
from leads.importing.reading import FORMATS, JSON_CHUNK, InputFile, SourceRow, open_input
from leads.importing.results import ErrorReport, ImportResult
from leads.importing.validation import ImportLeadSerializer, PreloadedAssigneeField, error_messages
from leads.importing.writing import Importer, write_history

__all__ = [
    "CUSTOM",
    "FORMATS",
    "JSON_CHUNK",
    "UPSERT_KEYS",
    "ColumnMap",
    "ErrorReport",
    "ImportFileError",
    "ImportLeadSerializer",
    "ImportOptions",
    "ImportResult",
    "Importer",
    "InputFile",
    "Pipeline",
    "PreloadedAssigneeField",
    "Progress",
    "SourceRow",
    "error_messages",
    "lead_field_names",
    "open_input",
    "organization_from_option",
    "parse_mappings",
    "write_history",
]

_MODULES = (mapping, options, pipeline, reading, results, validation, writing)


class _Package(ModuleType):
    """Passes a name set on the package on to each module of it that holds the same object."""

    def __setattr__(self, name, value):
        if name in __all__:
            current = getattr(self, name)
            for module in _MODULES:
                if vars(module).get(name, value) is current:
                    setattr(module, name, value)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
