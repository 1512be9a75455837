from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from events.models import Event
from leadsite.fields import TimestampField
from leadsite.strict import StrictTypesMixin
from leadsite.text import UNSTORABLE_MESSAGE, is_unstorable_text
from webhooks.destinations import MAX_URL_LENGTH, DestinationRefused, InvalidURL, clean_url
from webhooks.models import ALL_EVENTS, Delivery, Webhook

EVENT_TYPE_CHOICES = [ALL_EVENTS, *Event.Type.values]
_MOST = len(EVENT_TYPE_CHOICES)  # repeats are dropped, but no more items than this


@extend_schema_field(
    {
        "type": "string",
        "format": "uri",
        "maxLength": MAX_URL_LENGTH,
        # What every webhook URL looks like; webhooks.destinations.parse_url says the rest (a valid host
        # name or IP address, a port of 1-65535, no credentials), which no pattern can.
        "pattern": r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s/?#@]+([/?#]\S*)?$",
    }
)
class WebhookURLField(serializers.CharField):
    """A webhook URL: stored as webhooks.destinations.parse_url writes it (punycode host, lower-case scheme)."""


@extend_schema_field(
    {
        "oneOf": [
            {"type": "array", "items": {"type": "string", "enum": [ALL_EVENTS]}, "minItems": 1, "maxItems": _MOST},
            {"type": "array", "items": {"type": "string", "enum": Event.Type.values}, "minItems": 1, "maxItems": _MOST},
        ]
    }
)
class EventTypesField(serializers.ListField):
    """Event types, or ["*"] alone for all of them (the schema says so: "*" beside a type is a 400)."""


class WebhookSerializer(StrictTypesMixin, serializers.ModelSerializer):
    url = WebhookURLField(
        max_length=MAX_URL_LENGTH,
        help_text="An https:// URL (http:// where private URLs are allowed): a host name (internationalized "
        "names are stored in punycode) or an IP address (IPv6 in brackets), and a port of 1-65535.",
    )
    events = EventTypesField(
        source="event_types",
        child=serializers.ChoiceField(choices=EVENT_TYPE_CHOICES),
        min_length=1,
        max_length=_MOST,
        help_text='Event types to receive, or ["*"] for all of them.',
    )
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)
    isActive = serializers.BooleanField(
        source="is_active", required=False, help_text="false pauses deliveries; true re-enables a disabled webhook."
    )
    disabledReason = serializers.CharField(
        source="disabled_reason", read_only=True, help_text="Why the worker disabled it; empty otherwise."
    )
    failingSince = TimestampField(
        source="failing_since", read_only=True, allow_null=True, help_text="First failed attempt since the last success"
    )
    createdAt = TimestampField(source="created_at", read_only=True)
    updatedAt = TimestampField(source="updated_at", read_only=True)

    choice_nouns = {"events": "event type"}

    class Meta:
        model = Webhook
        fields = [
            "id",
            "url",
            "events",
            "description",
            "isActive",
            "disabledReason",
            "failingSince",
            "createdAt",
            "updatedAt",
        ]
        read_only_fields = ["id"]

    def validate_url(self, value):
        if is_unstorable_text(value):
            raise serializers.ValidationError(f"The URL {UNSTORABLE_MESSAGE}", code="invalid")
        try:
            return clean_url(value)
        except InvalidURL as exc:
            raise serializers.ValidationError(str(exc), code="invalid") from None
        except DestinationRefused as exc:
            raise serializers.ValidationError(str(exc), code="url_not_allowed") from None

    def validate_events(self, value):
        value = list(dict.fromkeys(value))
        if ALL_EVENTS in value and len(value) > 1:
            raise serializers.ValidationError('"*" already means every event type; send it alone.', code="invalid")
        return value

    def validate_description(self, value):
        if is_unstorable_text(value):
            raise serializers.ValidationError(f"The description {UNSTORABLE_MESSAGE}", code="invalid")
        return value


class WebhookWithSecretSerializer(WebhookSerializer):
    """The answer to creation and rotation: the only time the signing secret is shown."""

    secret = serializers.CharField(
        read_only=True, help_text="whsec_ + base64 (Standard Webhooks); shown only in this response."
    )

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]


class DeliverySerializer(serializers.ModelSerializer):
    webhookId = serializers.UUIDField(source="webhook_id", read_only=True)
    eventId = serializers.UUIDField(source="event_id", read_only=True)
    eventType = serializers.CharField(source="event_type", read_only=True)
    status = serializers.ChoiceField(choices=Delivery.Status.choices, read_only=True)
    attempts = serializers.IntegerField(read_only=True)
    lastAttemptAt = TimestampField(source="last_attempt_at", read_only=True, allow_null=True)
    responseStatusCode = serializers.IntegerField(source="last_status_code", read_only=True, allow_null=True)
    responseBody = serializers.CharField(
        source="last_response_body", read_only=True, help_text="The first 1 KB of the last response's body."
    )
    error = serializers.CharField(source="last_error", read_only=True, help_text="Why the last attempt failed.")
    durationMs = serializers.IntegerField(source="last_duration_ms", read_only=True, allow_null=True)
    nextAttemptAt = TimestampField(source="next_attempt_at", read_only=True, allow_null=True)
    deliveredAt = TimestampField(source="delivered_at", read_only=True, allow_null=True)
    createdAt = TimestampField(source="created_at", read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "webhookId",
            "eventId",
            "eventType",
            "status",
            "attempts",
            "lastAttemptAt",
            "responseStatusCode",
            "responseBody",
            "error",
            "durationMs",
            "nextAttemptAt",
            "deliveredAt",
            "createdAt",
        ]
