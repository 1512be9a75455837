"""The feed's query (after, types, limit) and its answer, for the API and its schema."""

import binascii
import json
import uuid
from base64 import urlsafe_b64decode, urlsafe_b64encode

from django import forms
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from events.models import Event
from events.payloads import event_body
from leadsite.filters import ChoiceListField

MAX_LIMIT = 500


def encode_cursor(event) -> str:
    """Opaque to clients: url-safe base64 of [transaction_order, id], the event's place in the feed."""
    payload = json.dumps([event.transaction_order, str(event.id)], separators=(",", ":"))
    return urlsafe_b64encode(payload.encode()).decode().rstrip("=")


# A nextCursor is about 80 characters; anything much longer was not made by encode_cursor.
MAX_CURSOR_LENGTH = 200


class CursorField(serializers.CharField):
    default_error_messages = {"invalid": "Not a valid cursor; send a nextCursor that /events returned."}

    def to_internal_value(self, data):
        text = super().to_internal_value(data)
        if len(text) > MAX_CURSOR_LENGTH:
            self.fail("invalid")
        try:
            order, event_id = json.loads(urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            if not isinstance(order, int) or isinstance(order, bool):
                raise ValueError
            return order, uuid.UUID(event_id)
        except (ValueError, TypeError, AttributeError, binascii.Error, RecursionError):
            self.fail("invalid")


class TypeListField(serializers.CharField):
    """`lead.converted,customer.created`: event types, the same rules as the lists' `status` filter."""

    def to_internal_value(self, data):
        try:
            return ChoiceListField(values=Event.Type.values, noun="event type").clean(data)
        except forms.ValidationError as error:
            raise serializers.ValidationError(error.messages, code="invalid_choice") from None


class FeedQuerySerializer(serializers.Serializer):
    after = CursorField(required=False, help_text="A nextCursor from an earlier answer: the events after it.")
    types = TypeListField(required=False, help_text="Only these event types, comma-separated.")
    limit = serializers.IntegerField(min_value=1, max_value=MAX_LIMIT, default=100)


class ActorSerializer(serializers.Serializer):
    id = serializers.UUIDField(allow_null=True, help_text="The user who made the change; null for the system.")
    via = serializers.ChoiceField(choices=Event.Via.choices)


class EventSerializer(serializers.Serializer):
    """An event as /events and webhooks send it (events.payloads.event_body)."""

    id = serializers.UUIDField()
    type = serializers.ChoiceField(choices=Event.Type.choices)
    createdAt = serializers.DateTimeField()
    organizationId = serializers.UUIDField()
    actor = ActorSerializer()
    data = extend_schema_field(
        {
            "type": "object",
            "additionalProperties": True,
            "description": "The objects concerned, as the API shows them (lead, customer), and what changed.",
        }
    )(serializers.JSONField)()

    def to_representation(self, instance):
        return event_body(instance)


@extend_schema_serializer(many=False)  # the list's answer is this object, not an array of it
class EventFeedSerializer(serializers.Serializer):
    data = EventSerializer(many=True)
    nextCursor = serializers.CharField(
        allow_null=True,
        help_text="Send it as `after` to get the events that follow; the same cursor again when there are none "
        "yet. Null only when the feed is empty and no cursor was sent.",
    )
