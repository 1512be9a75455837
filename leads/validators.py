"""Rules for a lead's free-form data, shared by the API serializer and anything else that writes leads."""

import json

from rest_framework import serializers

CUSTOM_FIELDS_MAX_DEPTH = 5
CUSTOM_FIELDS_MAX_BYTES = 16 * 1024


def json_depth(value):
    """How deeply objects and arrays nest: 0 for a scalar, 1 for {"a": 1}, 2 for {"a": [1]}."""
    if isinstance(value, dict):
        return 1 + max((json_depth(item) for item in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((json_depth(item) for item in value), default=0)
    return 0


def validate_custom_fields(value):
    """customFields: a JSON object nested at most 5 deep and at most 16 KB once serialized."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise serializers.ValidationError("Must be a JSON object.")
    if json_depth(value) > CUSTOM_FIELDS_MAX_DEPTH:
        raise serializers.ValidationError(
            f"Must not nest objects or arrays more than {CUSTOM_FIELDS_MAX_DEPTH} deep.", code="too_deep"
        )
    size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
    if size > CUSTOM_FIELDS_MAX_BYTES:
        raise serializers.ValidationError(
            f"Must be at most {CUSTOM_FIELDS_MAX_BYTES} bytes as JSON ({size} given).", code="too_long"
        )
    return value
