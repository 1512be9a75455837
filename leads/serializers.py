from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from customers.serializers import CustomerSerializer
from leads.lifecycle import USE_CONVERT_ENDPOINT
from leads.models import SCORE_MAX, SCORE_MIN, Lead, LeadHistory, LeadStatus
from leads.validators import validate_custom_fields
from leadsite import messages
from leadsite.fields import TimestampField
from leadsite.representation import FastRepresentationMixin
from leadsite.strict import StrictTypesMixin
from organizations.models import User

OPTIONAL_TEXT_FIELDS = ("email", "phone", "company", "source", "notes")
STATUSES_ON_CREATE = [s.value for s in LeadStatus if s != LeadStatus.CONVERTED]


class OrganizationUserField(serializers.PrimaryKeyRelatedField):
    """A user id that must name an active user of the request's organization."""

    default_error_messages = {
        "does_not_exist": "No active user with id '{pk_value}' in your organization.",
        "incorrect_type": "Must be a user id (UUID), not {data_type}.",
    }

    def __init__(self, **kwargs):
        super().__init__(pk_field=serializers.UUIDField(), **kwargs)

    def run_validation(self, data=serializers.empty):
        # DRF reads "" as null for relations; the schema says a UUID or null, so "" is an error.
        if data == "":
            self.fail("incorrect_type", data_type="an empty string")
        return super().run_validation(data)

    def get_queryset(self):
        organization = self.context["organization"]
        return User.objects.for_organization(organization).filter(is_active=True)


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": True,
        "description": "Free-form JSON object: nested at most 5 deep, at most 16 KB as JSON.",
    }
)
class CustomFieldsField(serializers.JSONField):
    """customFields: a JSON object (see leads.validators.validate_custom_fields)."""


PREDICTED_SCORE_HELP = (
    "The organization's scoring model's calibrated probability that the lead converts, in percent (0-100; "
    "GET /leads/{id}/prediction explains it). Null while the organization has no ready model, and for converted "
    "or unqualified leads. Read-only: the user's own estimate is `score`."
)


def predicted_score_field():
    return serializers.IntegerField(
        source="predicted_score",
        read_only=True,
        allow_null=True,
        min_value=0,
        max_value=100,
        help_text=PREDICTED_SCORE_HELP,
    )


class LeadSerializer(StrictTypesMixin, FastRepresentationMixin, serializers.ModelSerializer):
    """A lead as the spec shows it, camelCase in and out.

    These are the rules for a lead's fields wherever leads are written (API and importer).
    The organization is never read from the body; the caller passes it in the context.
    """

    organizationId = serializers.UUIDField(source="organization_id", read_only=True)
    email = serializers.EmailField(max_length=254, required=False, allow_null=True, allow_blank=True)
    status = serializers.ChoiceField(choices=LeadStatus.choices, required=False)
    score = serializers.IntegerField(min_value=SCORE_MIN, max_value=SCORE_MAX, required=False, allow_null=True)
    predictedScore = predicted_score_field()
    assignedTo = OrganizationUserField(source="assigned_to", required=False, allow_null=True)
    lastContactedAt = TimestampField(source="last_contacted_at", required=False, allow_null=True)
    customFields = CustomFieldsField(source="custom_fields", required=False)
    isActive = serializers.BooleanField(source="is_active", required=False)
    convertedAt = TimestampField(source="converted_at", read_only=True, allow_null=True)
    convertedCustomerId = serializers.UUIDField(source="converted_customer_id", read_only=True, allow_null=True)
    createdAt = TimestampField(source="created_at", read_only=True)
    updatedAt = TimestampField(source="updated_at", read_only=True)

    class Meta:
        model = Lead
        fields = [
            "id",
            "organizationId",
            "name",
            "email",
            "phone",
            "company",
            "source",
            "status",
            "score",
            "predictedScore",
            "assignedTo",
            "lastContactedAt",
            "notes",
            "customFields",
            "isActive",
            "convertedAt",
            "convertedCustomerId",
            "createdAt",
            "updatedAt",
        ]
        read_only_fields = ["id"]
        extra_kwargs = {
            field: {"required": False, "allow_null": True, "allow_blank": True}
            for field in ("phone", "company", "source", "notes")
        }

    allowed_choices = {"status": STATUSES_ON_CREATE}  # converted only through convert-to-customer

    def validate_customFields(self, value):
        return validate_custom_fields(value)

    def validate_status(self, value):
        # Reported with the other fields' errors; the services check again on the locked row.
        current = None if self.instance is None else self.instance.status
        if value == LeadStatus.CONVERTED and current != LeadStatus.CONVERTED:
            raise serializers.ValidationError(USE_CONVERT_ENDPOINT, code="use_convert_endpoint")
        return value

    def validate(self, attrs):
        for field in OPTIONAL_TEXT_FIELDS:
            if attrs.get(field) == "":
                attrs[field] = None
        return attrs


class LeadCreateSerializer(LeadSerializer):
    """A new lead: any lead field, but it cannot be created as converted."""

    # Documents POST /leads only; the view validates with LeadSerializer and the service refuses 'converted'
    # with the lifecycle's message (leads/lifecycle.py).

    status = serializers.ChoiceField(choices=[(s, s) for s in STATUSES_ON_CREATE], required=False)


class LeadUpdateSerializer(LeadSerializer):
    """PUT and PATCH of a lead, as the schema documents them (the view validates with LeadSerializer)."""

    status = serializers.ChoiceField(
        choices=[(s, s) for s in STATUSES_ON_CREATE],
        required=False,
        help_text="'converted' only by POST /leads/{id}/convert-to-customer (400 use_convert_endpoint); a converted "
        "lead keeps its status (409 lead_converted, undo with POST /leads/{id}/unconvert) and may be sent "
        "'converted' again, which changes nothing.",
    )
    customFields = CustomFieldsField(
        source="custom_fields",
        required=False,
        help_text="Free-form JSON object: nested at most 5 deep, at most 16 KB as JSON. PATCH: a JSON merge patch "
        "(RFC 7396) of the stored object (a key set to null is removed, keys not sent stay). PUT: the whole object.",
    )


class LeadBySourceSerializer(FastRepresentationMixin, serializers.ModelSerializer):
    predictedScore = predicted_score_field()
    createdAt = TimestampField(source="created_at", read_only=True)

    class Meta:
        model = Lead
        fields = ["id", "name", "email", "source", "status", "score", "predictedScore", "createdAt"]
        read_only_fields = fields


class LeadByAssigneeSerializer(FastRepresentationMixin, serializers.ModelSerializer):
    assignedTo = serializers.UUIDField(source="assigned_to_id", read_only=True)
    predictedScore = predicted_score_field()
    lastContactedAt = TimestampField(source="last_contacted_at", read_only=True, allow_null=True)

    class Meta:
        model = Lead
        fields = ["id", "name", "assignedTo", "status", "score", "predictedScore", "lastContactedAt"]
        read_only_fields = fields


class ScoreDistributionSerializer(serializers.Serializer):
    low = serializers.IntegerField()
    medium = serializers.IntegerField()
    high = serializers.IntegerField()


class TopScorerSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    score = serializers.IntegerField()
    status = serializers.ChoiceField(choices=LeadStatus.choices)


class ScoringStatsSerializer(serializers.Serializer):
    averageScore = serializers.FloatField(allow_null=True)
    scoreDistribution = ScoreDistributionSerializer()
    topScorers = TopScorerSerializer(many=True)


class ConvertResponseSerializer(serializers.Serializer):
    customerId = serializers.UUIDField()
    customer = CustomerSerializer()


class ConvertRequestSerializer(StrictTypesMixin, serializers.Serializer):
    customerId = serializers.UUIDField(
        required=False, allow_null=True, help_text="Attach the lead to this existing customer instead of a new one."
    )


class MergeRequestSerializer(StrictTypesMixin, serializers.Serializer):
    duplicateIds = serializers.ListField(
        child=serializers.UUIDField(), min_length=1, max_length=100, help_text="Leads folded into this one and deleted."
    )


class LeadHistorySerializer(serializers.ModelSerializer):
    leadId = serializers.UUIDField(source="lead_id", read_only=True)
    changes = serializers.JSONField(read_only=True, help_text='{"field": {"old": ..., "new": ...}}, camelCase names.')
    actorId = serializers.UUIDField(source="actor_id", read_only=True, allow_null=True)
    createdAt = TimestampField(source="created_at", read_only=True)

    class Meta:
        model = LeadHistory
        fields = ["id", "leadId", "action", "changes", "actorId", "via", "createdAt"]
        read_only_fields = fields


class DuplicateGroupSerializer(serializers.Serializer):
    matchOn = serializers.ChoiceField(choices=["email", "phone"], source="match_on")
    value = serializers.CharField(help_text="The shared email in lower case, or the shared phone's digits.")
    size = serializers.IntegerField(min_value=2)
    leads = LeadSerializer(many=True)


class OrganizationMemberField(OrganizationUserField):
    """A user id of the request's organization, active or not (leads of a departed rep can be moved away)."""

    default_error_messages = {"does_not_exist": "No user with id '{pk_value}' in your organization."}

    def get_queryset(self):
        return User.objects.for_organization(self.context["organization"])


_STATUS = f"(?:{'|'.join(LeadStatus.values)}) *"
STATUS_LIST_PATTERN = f"^ *(?:{_STATUS})?(?:, *(?:{_STATUS})?)*$"


@extend_schema_field(
    {
        "oneOf": [
            {"type": "array", "items": {"type": "string", "enum": LeadStatus.values}},
            {
                "type": "string",
                "description": "One status or several, comma-separated.",
                "pattern": STATUS_LIST_PATTERN,
            },
        ]
    }
)
class StatusListField(serializers.Field):
    """A list of statuses, or a comma-separated string of them; [] for none."""

    def to_internal_value(self, data):
        if isinstance(data, str):
            data = [part.strip(" ") for part in data.split(",") if part.strip(" ")]  # spaces only, as documented
        if not isinstance(data, list) or not all(isinstance(status, str) for status in data):
            raise serializers.ValidationError("Must be a list of statuses or a comma-separated string.")
        unknown = [status for status in data if status not in LeadStatus.values]
        if unknown:
            raise serializers.ValidationError(
                [messages.invalid_choice(status, "status", LeadStatus.values) for status in unknown],
                code="invalid_choice",
            )
        return data

    def to_representation(self, value):
        return value


class ReassignSerializer(StrictTypesMixin, serializers.Serializer):
    fromUserId = OrganizationMemberField(help_text="The member whose leads move (may be deactivated).")
    toUserId = OrganizationUserField(help_text="The active member who receives them.")
    status = StatusListField(required=False, allow_null=True, help_text="Move only leads in these statuses.")

    def validate(self, attrs):
        if attrs["fromUserId"] == attrs["toUserId"]:
            raise serializers.ValidationError({"toUserId": ["Must be another user than fromUserId."]})
        return attrs


class ReassignResponseSerializer(serializers.Serializer):
    reassigned = serializers.IntegerField(min_value=0, help_text="How many leads moved.")
