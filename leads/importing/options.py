"""What an import is asked to do: its options, and the organization a command names."""

import uuid
from dataclasses import dataclass, field

from leads.importing.errors import ImportFileError
from organizations.models import Organization

# What --upsert finds a lead by.
UPSERT_KEYS = ("email", "id")


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
    route: bool = True  # new leads still without an assignee go to the assignment rules (routing/), per batch
    preview_rows: int = 0  # keep this many rows as they would be saved (ImportResult.preview)
    # 2: read and validate the next batch in a forked process while this one writes (see Pipeline).
    # The command's default; a web request or the task worker is not forked (1).
    processes: int = 1
