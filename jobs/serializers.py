from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from jobs.models import Job
from leadsite.api import TimestampField


class JobErrorSerializer(serializers.Serializer):
    message = serializers.CharField()
    field = serializers.CharField(required=False, help_text="The request's field it is about, if any.")
    code = serializers.CharField()


class JobSerializer(serializers.ModelSerializer):
    """A job as GET /jobs/{id} shows it."""

    progress = serializers.IntegerField(read_only=True, help_text="Percent of `total` done (100 once succeeded).")
    errors = JobErrorSerializer(many=True, read_only=True, help_text="Why it failed (empty unless it did).")
    params = extend_schema_field(
        {"type": "object", "additionalProperties": True, "description": "What the request asked for."}
    )(serializers.JSONField)(read_only=True)
    result = extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "additionalProperties": True,
            "description": "Once succeeded: what the synchronous request would have answered (reassign: "
            '`{"reassigned": n}`; route: `{"routed", "unassigned", "byRule", "byUser"}`). While a route job runs: '
            "its figures so far.",
        }
    )(serializers.JSONField)(read_only=True)
    notice = serializers.CharField(read_only=True, help_text="What interrupted it, if anything (it resumed).")
    createdBy = serializers.UUIDField(source="created_by_id", read_only=True, allow_null=True)
    createdAt = TimestampField(source="created_at", read_only=True)
    startedAt = TimestampField(source="started_at", read_only=True, allow_null=True)
    finishedAt = TimestampField(source="finished_at", read_only=True, allow_null=True)

    class Meta:
        model = Job
        fields = [
            "id",
            "kind",
            "status",
            "total",
            "done",
            "progress",
            "errors",
            "result",
            "params",
            "notice",
            "createdBy",
            "createdAt",
            "startedAt",
            "finishedAt",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "total": {"help_text": "Items to do, as counted when it was queued (grows if more are found)."},
            "done": {"help_text": "Items done; each counted in the transaction that did it."},
        }
