from rest_framework import serializers

from leads.models import SCORE_MAX, SCORE_MIN, LeadStatus
from leads.serializers import CustomFieldsField, LeadSerializer, OrganizationMemberField
from leads.validators import validate_custom_fields
from leadsite.fields import TimestampField
from leadsite.strict import StrictTypesMixin
from routing.models import AssignmentRule, Method

SCORE = {"min_value": SCORE_MIN, "max_value": SCORE_MAX, "required": False, "allow_null": True}


class ConditionsSerializer(StrictTypesMixin, serializers.Serializer):
    """Every condition is optional and all must hold; none at all matches every lead."""

    source = serializers.ListField(
        child=serializers.CharField(max_length=100, trim_whitespace=False),
        required=False,
        help_text="The lead's source is one of these.",
    )
    status = serializers.ListField(
        child=serializers.ChoiceField(choices=LeadStatus.choices), required=False, help_text="The lead's status is one."
    )
    customFields = serializers.DictField(
        child=serializers.ListField(child=serializers.JSONField(allow_null=True), min_length=1),
        required=False,
        help_text='{"<key>": [values]}: the lead\'s customFields[key] is one of the values (every key must hold).',
    )
    emailDomain = serializers.ListField(
        child=serializers.RegexField(
            r"^[^@ ]+\.[^@ ]+$",
            max_length=253,
            trim_whitespace=False,
            error_messages={"invalid": "Must be a domain: the part of an email after @, like example.com."},
        ),
        required=False,
        help_text="The part of the lead's email after @ is one of these (case-insensitive).",
    )
    hasCompany = serializers.BooleanField(required=False, help_text="The lead has a company (true) or none (false).")
    scoreMin = serializers.IntegerField(**SCORE)
    scoreMax = serializers.IntegerField(**SCORE)
    predictedScoreMin = serializers.IntegerField(
        **SCORE, help_text="Applies to leads with a predictedScore; a lead without one does not match."
    )
    predictedScoreMax = serializers.IntegerField(**SCORE)

    def validate_emailDomain(self, value):
        return [domain.lower() for domain in value]

    def validate(self, attrs):
        return {key: value for key, value in attrs.items() if value is not None}


class MemberSerializer(StrictTypesMixin, serializers.Serializer):
    userId = OrganizationMemberField(source="user", help_text="A member of your organization.")
    weight = serializers.IntegerField(min_value=1, max_value=1000, default=1, help_text="Share under 'weighted'.")
    maxOpen = serializers.IntegerField(
        source="max_open",
        min_value=1,
        max_value=1_000_000_000,
        required=False,
        allow_null=True,
        help_text="At most this many open leads.",
    )
    maxPerDay = serializers.IntegerField(
        source="max_per_day",
        min_value=1,
        max_value=1_000_000_000,
        required=False,
        allow_null=True,
        help_text="At most this many new a day.",
    )


class AssignmentRuleSerializer(StrictTypesMixin, serializers.ModelSerializer):
    isActive = serializers.BooleanField(source="is_active", default=True)
    position = serializers.IntegerField(
        min_value=1,
        max_value=1_000_000_000,
        required=False,
        help_text="1 is tried first; a new rule goes last unless given; a position beyond the last puts it last.",
    )
    conditions = ConditionsSerializer(required=False)
    method = serializers.ChoiceField(choices=Method.values, default=Method.ROUND_ROBIN)
    members = MemberSerializer(many=True, min_length=1, max_length=200)
    createdAt = TimestampField(source="created_at", read_only=True)
    updatedAt = TimestampField(source="updated_at", read_only=True)

    class Meta:
        model = AssignmentRule
        fields = ["id", "name", "isActive", "position", "conditions", "method", "members", "createdAt", "updatedAt"]
        read_only_fields = ["id"]
        extra_kwargs = {"name": {"trim_whitespace": False}}

    def validate_members(self, value):
        seen, errors = set(), []
        for member in value:
            if member["user"].pk in seen:
                errors.append(f"User {member['user'].pk} is listed twice.")
            seen.add(member["user"].pk)
        if errors:
            raise serializers.ValidationError(errors)
        return value

    def validate_conditions(self, value):
        return value or {}

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["conditions"] = instance.conditions or {}
        return data


class MoveSerializer(StrictTypesMixin, serializers.Serializer):
    position = serializers.IntegerField(
        min_value=1, help_text="The rule's new place: 1 is tried first; beyond the last puts it last."
    )


class DefaultAssigneeSerializer(StrictTypesMixin, serializers.Serializer):
    userId = OrganizationMemberField(
        allow_null=True, help_text="Who gets a new lead that no rule places; null: it stays unassigned."
    )


class SimulatedLeadSerializer(StrictTypesMixin, serializers.Serializer):
    """A lead's attributes, as far as conditions read them; `id` and `name` only come back in the answer."""

    id = serializers.CharField(required=False, allow_blank=True, max_length=100)
    name = serializers.CharField(required=False, allow_blank=True, max_length=255)
    email = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=254)
    company = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=255)
    source = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=100)
    status = serializers.ChoiceField(choices=LeadStatus.choices, required=False)
    score = serializers.IntegerField(**SCORE)
    predictedScore = serializers.IntegerField(source="predicted_score", **SCORE)
    customFields = CustomFieldsField(source="custom_fields", required=False)

    def validate_customFields(self, value):
        return validate_custom_fields(value)


class SimulateSerializer(StrictTypesMixin, serializers.Serializer):
    leads = SimulatedLeadSerializer(many=True, required=False, max_length=500, help_text="Lead attributes to route.")
    sample = serializers.IntegerField(
        min_value=1,
        max_value=500,
        required=False,
        help_text="Or: this many of your open unassigned leads, oldest first.",
    )
    rules = AssignmentRuleSerializer(
        many=True, required=False, max_length=100, help_text="A draft to try instead of the saved rules, in order."
    )

    def validate(self, attrs):
        if "leads" not in attrs:
            attrs.setdefault("sample", 50)
        return attrs


class SimulatedDecisionSerializer(serializers.Serializer):
    leadId = serializers.CharField(allow_null=True, help_text="The lead's id (sample) or the id sent, if any.")
    name = serializers.CharField(allow_null=True)
    userId = serializers.UUIDField(allow_null=True, help_text="Who would get it; null: it would stay unassigned.")
    ruleId = serializers.UUIDField(allow_null=True, help_text="The rule that would place it (null: default/none).")
    ruleName = serializers.CharField(allow_null=True)
    method = serializers.CharField(allow_null=True)
    explanation = serializers.CharField()


class SimulateResponseSerializer(serializers.Serializer):
    data = SimulatedDecisionSerializer(many=True)


class RoutingSerializer(serializers.Serializer):
    """Why a lead went where it went: as history (changes.routing) and events (data.routing) carry it."""

    userId = serializers.UUIDField(allow_null=True)
    ruleId = serializers.UUIDField(allow_null=True)
    ruleName = serializers.CharField(allow_null=True)
    method = serializers.CharField(allow_null=True)
    explanation = serializers.CharField()


class RouteBacklogResponseSerializer(serializers.Serializer):
    routed = serializers.IntegerField(help_text="Leads assigned now.")
    unassigned = serializers.IntegerField(help_text="Leads looked at that no rule (nor the default) placed.")
    byRule = serializers.DictField(child=serializers.IntegerField(), help_text="Leads routed per rule name.")
    byUser = serializers.DictField(child=serializers.IntegerField(), help_text="Leads routed per user id.")


class RouteResponseSerializer(serializers.Serializer):
    lead = LeadSerializer(help_text="The lead as it is now.")
    routing = RoutingSerializer()
    moved = serializers.BooleanField(help_text="Whether its assignee changed.")
