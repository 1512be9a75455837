from django.conf import settings
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Concat, Lower

from leadsite.ids import uuid7
from organizations.models import Organization
from organizations.scoping import OrganizationScopedQuerySet

SCORE_MIN, SCORE_MAX = 0, 100
# Scoring bands from the spec, inclusive on both ends.
SCORE_BANDS = {"low": (0, 33), "medium": (34, 66), "high": (67, 100)}

# API sort field -> model field. Each has an index (organization, field, id), read forwards or backwards.
SORTABLE_FIELDS = {
    "name": "name",
    "email": "email",
    "company": "company",
    "source": "source",
    "status": "status",
    "score": "score",
    "createdAt": "created_at",
    "updatedAt": "updated_at",
    "lastContactedAt": "last_contacted_at",
    "predictedScore": "predicted_score",
}


# Between the searched fields in search_text(), so that a term never matches across two of them.
SEARCH_SEPARATOR = "\x1f"


def search_text():
    """What `?q=` searches: name, email and company as one text.

    One trigram index on it (migration 0008, PostgreSQL) answers a search where three, one per
    column, cost three times the index maintenance on every write.
    """
    return Concat(
        "name", Value(SEARCH_SEPARATOR), "email", Value(SEARCH_SEPARATOR), "company", output_field=models.TextField()
    )


class LeadStatus(models.TextChoices):
    NEW = "new", "New"
    CONTACTED = "contacted", "Contacted"
    QUALIFIED = "qualified", "Qualified"
    UNQUALIFIED = "unqualified", "Unqualified"
    CONVERTED = "converted", "Converted"


def _sort_indexes():
    """An index (organization, field, id) per sort the API offers, ties broken by id.

    A nullable column sorts nulls last in both directions. Read backwards the index gives the nulls
    first, so a descending sort walks it twice: the values, then the nulls (leadsite.pagination.Keyset.parts).
    """
    return [
        models.Index(fields=["organization", field, "id"], name=f"lead_{field.replace('_', '')[:12]}_idx")
        for field in SORTABLE_FIELDS.values()
    ]


class Lead(models.Model):
    # Time-ordered: new rows land at the right edge of the primary key and the (…, id) indexes.
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    # No single-column indexes on the foreign keys: every query of the organization's leads is served by an
    # (organization, …) index below, which also answers cascades and assignee look-ups.
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="leads", db_index=False)
    name = models.CharField(max_length=255)
    email = models.EmailField(max_length=254, null=True, blank=True)
    phone = models.CharField(max_length=50, null=True, blank=True)
    company = models.CharField(max_length=255, null=True, blank=True)
    source = models.CharField(max_length=100, null=True, blank=True)
    status = models.CharField(max_length=20, choices=LeadStatus.choices, default=LeadStatus.NEW)
    score = models.SmallIntegerField(null=True, blank=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_leads",
        db_index=False,
    )
    last_contacted_at = models.DateTimeField(null=True, blank=True)
    notes = models.TextField(null=True, blank=True)
    custom_fields = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True)
    converted_at = models.DateTimeField(null=True, blank=True, editable=False)
    converted_customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="leads",
        editable=False,
        db_index=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Bumped by every write (services, reassign, import, admin, merge): the ETag (leadsite/etags.py).
    version = models.PositiveIntegerField(default=1, db_default=1, editable=False)
    # The organization's scoring model's calibrated probability of conversion, in percent (scoring/):
    # null while it has no model, and for converted or unqualified leads. Never written by a client. No CHECK
    # constraint: on SQLite adding one rebuilds leads_lead, which drops the tally triggers (leads/tallies.py).
    predicted_score = models.SmallIntegerField(null=True, blank=True, editable=False)

    objects = OrganizationScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=[choice.value for choice in LeadStatus]), name="lead_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__gte=SCORE_MIN, score__lte=SCORE_MAX),
                name="lead_score_0_100",
            ),
            # The lifecycle (leads/lifecycle.py): converted exactly when linked to a customer, with a date.
            models.CheckConstraint(
                condition=Q(status=LeadStatus.CONVERTED, converted_customer__isnull=False, converted_at__isnull=False)
                | (~Q(status=LeadStatus.CONVERTED) & Q(converted_customer__isnull=True, converted_at__isnull=True)),
                name="lead_converted_with_customer",
            ),
        ]
        indexes = [
            *_sort_indexes(),
            models.Index(fields=["organization", "assigned_to"], name="lead_org_assignee_idx"),
            # The duplicate check on create: LOWER(email) within the organization.
            models.Index(F("organization"), Lower("email"), name="lead_org_email_lower_idx"),
            # A customer's leads (its leadIds, SET_NULL when it is deleted); only converted leads have one.
            models.Index(
                fields=["converted_customer"],
                condition=Q(converted_customer__isnull=False),
                name="lead_converted_customer_idx",
            ),
        ]

    def __str__(self):
        return self.name


class LeadTally(models.Model):
    """A change in how many of an organization's leads have one combination of the dashboard's keys.

    Written only by the database triggers of leads/tallies.py: a row per key a statement changed,
    with `leads` and `score_sum` positive for rows gained and negative for rows lost. The sum of an
    organization's rows is the count of its leads now; `tallies.compact` folds them into one per key.
    """

    id = models.BigAutoField(primary_key=True)
    # Not enforced: a cascade deleting the organization or a member must not wait for their tallies.
    organization = models.ForeignKey(
        Organization, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        null=True,
        related_name="+",
    )
    source = models.CharField(max_length=100, null=True)
    status = models.CharField(max_length=20)
    is_active = models.BooleanField()
    band = models.CharField(max_length=10)  # a key of SCORE_BANDS, or "unscored"
    leads = models.IntegerField()
    score_sum = models.BigIntegerField()
    # True for the rows `tallies.compact` and `tallies.rebuild` write, false for the triggers' changes.
    folded = models.BooleanField(default=False, db_default=False)

    objects = OrganizationScopedQuerySet.as_manager()

    class Meta:
        # With the assignee: routing sums a user's open leads here on every decision (selectors.open_leads_count_of).
        indexes = [
            models.Index(fields=["organization", "assigned_to"], name="leadtally_org_assignee_idx"),
            # The rows not folded yet, which the task worker's sweep counts to find what to compact.
            models.Index(fields=["organization"], condition=models.Q(folded=False), name="leadtally_unfolded_idx"),
        ]

    def __str__(self):
        return f"{self.leads:+} {self.status} {self.source} {self.band}"


class LeadWeekTally(models.Model):
    """A change in how many of an organization's leads were created in one week (UTC, from Monday)
    with one source, converted or not. Written only by leads/tallies.py's triggers, like LeadTally."""

    id = models.BigAutoField(primary_key=True)
    organization = models.ForeignKey(
        Organization, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    week = models.DateField()
    source = models.CharField(max_length=100, null=True)
    converted = models.BooleanField()
    leads = models.IntegerField()
    folded = models.BooleanField(default=False, db_default=False)

    objects = OrganizationScopedQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["organization", "week"], name="leadweektally_org_week_idx")]

    def __str__(self):
        return f"{self.leads:+} {self.week} {self.source}"


class LeadHistory(models.Model):
    """One entry per create, update, conversion, merge or delete of a lead."""

    class Action(models.TextChoices):
        CREATED = "created", "Created"
        UPDATED = "updated", "Updated"
        CONVERTED = "converted", "Converted"
        UNCONVERTED = "unconverted", "Unconverted"
        MERGED = "merged", "Merged"
        DELETED = "deleted", "Deleted"
        REASSIGNED = "reassigned", "Reassigned"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    # Not a foreign key: history outlives the lead it describes.
    lead_id = models.UUIDField(db_index=False)
    action = models.CharField(max_length=20, choices=Action.choices)
    # {"field": {"old": ..., "new": ...}} for updates; a summary for the other actions.
    changes = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Where the change came from: api, admin, import.
    via = models.CharField(max_length=20, default="api")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OrganizationScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "lead_id", "-created_at"], name="leadhistory_lead_idx")]

    def __str__(self):
        return f"{self.action} {self.lead_id}"


class LeadImport(models.Model):
    """A file uploaded to be imported (the admin's Leads → Import, or POST /imports), and how its import went.

    The file is kept in the database (not on a disk), so that the task worker on another machine
    reads it too. What an import does is leads.importing's; this row holds its options and results.
    """

    class Status(models.TextChoices):
        UPLOADED = "uploaded", "Uploaded: map the columns"
        PREVIEWED = "previewed", "Previewed: ready to run"
        QUEUED = "queued", "Waiting for the task worker"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    file_name = models.CharField(max_length=255)
    content = models.BinaryField()
    size = models.PositiveBigIntegerField()
    format = models.CharField(max_length=10)
    encoding = models.CharField(max_length=30)
    header = models.JSONField(default=list, blank=True)  # CSV's columns, or the keys of a JSON file's first rows
    samples = models.JSONField(default=dict, blank=True)  # column -> its first values, for the mapping form
    # Options, as import_leads takes them. mapping: column -> field name, "" to ignore, "customFields" for extras.
    mapping = models.JSONField(default=dict, blank=True)
    upsert = models.CharField(max_length=10, blank=True, default="")  # "", "email" or "id"
    extra_to_custom_fields = models.BooleanField(default=False)
    dry_run = models.BooleanField(default=False)  # check every row and count what would happen; write nothing
    default_assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # New leads still without an assignee go to the assignment rules (routing/); off: they stay unassigned.
    route = models.BooleanField(default=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.UPLOADED)
    # The dry run: the first rows as they would be saved, and counts of what it found.
    preview = models.JSONField(default=dict, blank=True)
    # Progress and results (ImportResult's counters).
    rows = models.PositiveIntegerField(default=0)
    position = models.PositiveBigIntegerField(default=0)  # bytes of the file read
    # Rows of the file whose batch has committed, written in that batch's transaction with the counts below
    # and the error report: a run that was stopped (its worker killed) resumes after exactly these rows.
    committed_rows = models.PositiveIntegerField(default=0)
    notice = models.TextField(blank=True, default="")  # why the run was interrupted and resumed, if it was
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    reasons = models.JSONField(default=list, blank=True)  # [{"field", "message", "rows"}], most frequent first
    error_report = models.TextField(blank=True, default="")  # CSV, as import_leads --errors writes it
    failure = models.TextField(blank=True, default="")
    task_id = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = OrganizationScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "-created_at"], name="leadimport_org_created_idx")]

    def __str__(self):
        return f"Import of {self.file_name}"

    @property
    def percent(self) -> int:
        return min(100, self.position * 100 // self.size) if self.size else 100
