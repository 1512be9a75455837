"""Imports through the API (/imports): the admin's Lead imports (the same LeadImport rows), run by the task worker.

Every step is leads.lead_imports' (and so leads.importing's, the command's code): this module reads the
multipart request and shows an import as JSON.
"""

import json
import uuid

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ErrorDetail
from rest_framework.parsers import MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from leads import lead_imports
from leads.models import LeadImport
from leadsite.api import PageLimitPagination, TimestampField
from leadsite.parameters import CheckedParametersMixin
from leadsite.schema import error_responses
from organizations.models import User
from organizations.scoping import OrganizationScopedViewSetMixin

# The multipart body may hold the file and the form fields; the rest of the API keeps its limit.
UPLOAD_BODY_BYTES = lead_imports.MAX_UPLOAD_BYTES + 1024 * 1024
MAPPING_TARGETS = [value for value, _ in lead_imports.mapping_targets()]
UPSERT_CHOICES = [("", "Every row is a new lead"), ("email", "By email"), ("id", "By id")]


class FileTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {"type": "string", "enum": MAPPING_TARGETS, "nullable": True},
        "description": "A JSON object (as text, in a form field): column of the file -> what it is read into: a "
        'field of the lead (API name), "+customFields" (a key of customFields named after the column), "id" '
        '(the lead to update, with upsert id), or "" / null to ignore it. Columns not named keep what the '
        "importer's own rules read them into (a column named like a field is that field).",
        "example": {"Company Name": "company", "Favourite colour": "+customFields", "Internal": ""},
    }
)
class MappingField(serializers.Field):
    def to_internal_value(self, data):
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except ValueError:
                raise serializers.ValidationError("Must be a JSON object: column -> target.") from None
        if not isinstance(data, dict):
            raise serializers.ValidationError("Must be a JSON object: column -> target.")
        allowed = ", ".join(repr(target) for target in MAPPING_TARGETS)
        errors = [
            f"{column!r}: {target!r} is not a target; the targets are {allowed}."
            for column, target in data.items()
            if not (target is None or (isinstance(target, str) and target in MAPPING_TARGETS))
        ]
        if errors:
            raise serializers.ValidationError(errors, code="invalid_choice")
        return {column: target or "" for column, target in data.items()}

    def to_representation(self, value):
        return value


class LeadImportCreateSerializer(serializers.Serializer):
    """The multipart form of POST /imports: the file and the options the admin's import takes."""

    file = serializers.FileField(help_text="CSV (with a header line), JSON (an array of objects) or JSON Lines; 50 MB.")
    mapping = MappingField(required=False)
    upsert = serializers.ChoiceField(
        choices=UPSERT_CHOICES,
        required=False,
        default="",
        help_text='"email": update the lead with the same email; "id": the lead named by the id column; '
        '"" (default): every row is a new lead and an existing email is that row\'s error.',
    )
    extraToCustomFields = serializers.BooleanField(
        required=False, default=False, help_text="Keep unknown columns in customFields (otherwise ignored)."
    )
    defaultAssignee = serializers.CharField(
        required=False, allow_blank=True, help_text="An active user (id or email) for new leads whose row names no one."
    )
    dryRun = serializers.BooleanField(
        required=False, default=False, help_text="Check every row and count what would happen; write nothing."
    )

    def to_internal_value(self, data):
        """Unknown fields are reported with the others' mistakes, in one answer."""
        allowed = ", ".join(self.fields)
        unknown = {
            name: [ErrorDetail(f"Unknown field '{name}'; the fields you can send are {allowed}.", "unknown_parameter")]
            for name in sorted(set(data) - set(self.fields))
        }
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({**exc.detail, **unknown}) from None
        if unknown:
            raise serializers.ValidationError(unknown)
        return value

    def validate_file(self, upload):
        if upload.size > lead_imports.MAX_UPLOAD_BYTES:
            raise FileTooLarge(
                f"The file is {upload.size:,} bytes; the limit is 50 MB ({lead_imports.MAX_UPLOAD_BYTES:,})."
            )
        return upload

    def validate_defaultAssignee(self, value):  # noqa: N802 - the API's field name
        value = value.strip()
        if not value:
            return None
        users = User.objects.for_organization(self.context["organization"]).filter(is_active=True)
        try:
            user = users.filter(pk=uuid.UUID(value)).first()
        except ValueError:
            user = users.filter(email=value.lower()).first()
        if user is None:
            raise serializers.ValidationError(f"No active user with id or email '{value}' in your organization.")
        return user


class ReasonSerializer(serializers.Serializer):
    field = serializers.CharField(allow_null=True, help_text="The field, or null for the row as a whole.")
    message = serializers.CharField()
    rows = serializers.IntegerField(help_text="Rows skipped for it.")


class LeadImportSerializer(serializers.ModelSerializer):
    """An import as GET /imports/{id} shows it (the admin's Lead imports page shows the same row)."""

    fileName = serializers.CharField(source="file_name", read_only=True)
    dryRun = serializers.BooleanField(source="dry_run", read_only=True)
    mapping = MappingField(read_only=True)
    extraToCustomFields = serializers.BooleanField(source="extra_to_custom_fields", read_only=True)
    defaultAssignee = serializers.UUIDField(source="default_assignee_id", read_only=True, allow_null=True)
    rowsRead = serializers.IntegerField(source="rows", read_only=True, help_text="Rows of the file read so far.")
    written = serializers.SerializerMethodField(help_text="Leads written: created + updated (0 for a dry run).")
    progress = serializers.SerializerMethodField(help_text="Percent of the file read (100 once done).")
    reasons = ReasonSerializer(many=True, read_only=True, help_text="Why rows were skipped, most frequent first.")
    failure = serializers.CharField(read_only=True, help_text="Why it failed (empty unless it did).")
    notice = serializers.CharField(
        read_only=True, help_text="What interrupted it (its worker died) and that it resumed."
    )
    errorReport = serializers.SerializerMethodField(help_text="Where the skipped rows are, as CSV.")
    createdBy = serializers.UUIDField(source="created_by_id", read_only=True, allow_null=True)
    createdAt = TimestampField(source="created_at", read_only=True)
    startedAt = TimestampField(source="started_at", read_only=True, allow_null=True)
    finishedAt = TimestampField(source="finished_at", read_only=True, allow_null=True)

    class Meta:
        model = LeadImport
        fields = [
            "id",
            "status",
            "fileName",
            "format",
            "size",
            "dryRun",
            "mapping",
            "upsert",
            "extraToCustomFields",
            "defaultAssignee",
            "rowsRead",
            "created",
            "updated",
            "unchanged",
            "skipped",
            "written",
            "progress",
            "reasons",
            "failure",
            "notice",
            "errorReport",
            "createdBy",
            "createdAt",
            "startedAt",
            "finishedAt",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "status": {
                "help_text": "queued, running, done, failed or cancelled (uploaded/previewed: the admin's steps)."
            },
            "size": {"help_text": "Bytes."},
            "created": {"help_text": "New leads (that would be, for a dry run)."},
            "updated": {"help_text": "Leads changed by upsert."},
            "unchanged": {"help_text": "Rows that matched a lead and changed nothing."},
            "skipped": {"help_text": "Rows with errors, in the error report."},
        }

    def get_written(self, lead_import) -> int:
        return 0 if lead_import.dry_run else lead_import.created + lead_import.updated

    def get_progress(self, lead_import) -> int:
        return 100 if lead_import.status == LeadImport.Status.DONE else lead_import.percent

    def get_errorReport(self, lead_import) -> str:  # noqa: N802 - the API's field name
        return f"/imports/{lead_import.pk}/errors"


class CsvRenderer(BaseRenderer):
    """GET /imports/{id}/errors answers CSV; its errors stay JSON."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data if isinstance(data, str | bytes) else json.dumps(data)


_errors = error_responses(
    {
        400: "Invalid input (every mistake at once)",
        403: "Your role does not allow this action",
        409: "The import has ended",
        413: "The file is larger than 50 MB",
    }
)


@extend_schema_view(
    list=extend_schema(
        responses={200: LeadImportSerializer(many=True), **_errors(400, 401)},
        description="The organization's imports (API and admin alike), newest first.",
    ),
    retrieve=extend_schema(
        responses={200: LeadImportSerializer, **_errors(401, 404)},
        description="One import: its status and progress (poll it while it runs), counts and why rows were skipped.",
    ),
)
class LeadImportViewSet(
    CheckedParametersMixin,
    OrganizationScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Every role reads the organization's imports; sales reps and admins import and cancel."""

    queryset = LeadImport.objects.defer("content", "error_report", "preview", "samples", "header")
    serializer_class = LeadImportSerializer
    pagination_class = PageLimitPagination
    filter_backends = []
    lookup_value_regex = "[^/]+"
    extra_query_params = {"errors": ("format",)}  # DRF's, as the schema documents it: ?format=csv or json

    @classmethod
    def as_view(cls, actions=None, **initkwargs):
        view = super().as_view(actions, **initkwargs)
        if actions and actions.get("post") == "create":
            view.max_request_body_bytes = UPLOAD_BODY_BYTES  # leadsite.body_limit
        return view

    def get_parsers(self):
        # Called before the action is known: the list route's POST is the upload (its GET has no body).
        if getattr(self, "action_map", {}).get("post") == "create":
            return [MultiPartParser()]
        return super().get_parsers()

    @extend_schema(
        request={"multipart/form-data": LeadImportCreateSerializer},
        responses={202: LeadImportSerializer, **_errors(400, 401, 403, 413)},
        description="Upload a file to import (multipart, the file in the part `file`, up to 50 MB) with the "
        "options of the admin's import. It answers 202 at once with the queued import (Location: /imports/{id}); "
        "the task worker runs it in batches of 5,000 rows, each committed with the import's progress, and a worker "
        "killed mid-import is replaced and resumes after the last committed batch. Rows follow the rules of "
        "POST /leads; bad rows are skipped and listed in GET /imports/{id}/errors.",
    )
    def create(self, request):
        serializer = LeadImportCreateSerializer(data=request.data, context={"organization": self.organization})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        upload = data["file"]
        lead_import = lead_imports.lead_import_queue(
            organization=self.organization,
            user=request.user,
            file_name=upload.name or "upload",
            content=upload.read(),
            options={
                "upsert": data["upsert"],
                "extra_to_custom_fields": data["extraToCustomFields"],
                "default_assignee": data.get("defaultAssignee"),
            },
            mapping=data.get("mapping", {}),
            dry_run=data["dryRun"],
        )
        headers = {"Location": f"/imports/{lead_import.pk}"}
        return Response(LeadImportSerializer(lead_import).data, status=status.HTTP_202_ACCEPTED, headers=headers)

    @extend_schema(
        request=None,
        responses={200: LeadImportSerializer, **_errors(401, 403, 404, 409)},
        description="Cancel a queued or running import: it stops before its next batch commits; the batches "
        "written stay (their leads and the error report's rows).",
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        lead_import = lead_imports.lead_import_cancel(lead_import=self.get_object())
        return Response(LeadImportSerializer(lead_import).data)

    @extend_schema(
        responses={(200, "text/csv"): OpenApiTypes.STR, **_errors(400, 401, 404)},
        description="The skipped rows as CSV: line, errors, then the row as it was in the file (a header only "
        "when none was skipped). It grows batch by batch while the import runs.",
    )
    @action(detail=True, methods=["get"], renderer_classes=[JSONRenderer, CsvRenderer], pagination_class=None)
    def errors(self, request, pk=None):
        lead_import = self.get_object()
        report = LeadImport.objects.filter(pk=lead_import.pk).values_list("error_report", flat=True).get()
        response = HttpResponse(report or "line,errors\r\n", content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="import-{lead_import.pk}-errors.csv"'
        return response
