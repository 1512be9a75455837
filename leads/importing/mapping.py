"""Mapping a file's columns to the lead fields of the API (names, --map, extra columns into customFields)."""

import json
import re
from functools import cache

from leads.exporting import unquote_formula
from leads.importing.errors import ImportFileError
from leads.importing.reading import TOO_DEEP, too_deep
from leads.serializers import LeadSerializer

# In CSV an empty cell is null, except for fields that have a default: there it means "not given".
OMIT_WHEN_EMPTY = {"status", "isActive", "customFields"}
CUSTOM = object()


class RowProblem(Exception):
    """A value of a row that cannot be read: that row's error, for (field, message, code)."""

    def __init__(self, field: str, message: str, code: str):
        super().__init__(message)
        self.problem = (field, message, code)


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
                    if too_deep(value):
                        raise RowProblem("customFields", TOO_DEEP, "too_deep")
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
