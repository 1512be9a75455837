"""Serializer fields the API shares."""

from datetime import UTC

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


@extend_schema_field(OpenApiTypes.DATETIME)
class TimestampField(serializers.DateTimeField):
    """ISO 8601 in UTC with milliseconds and a Z, as the spec shows: 2025-05-11T12:33:59.048Z."""

    def to_representation(self, value):
        if value is None:
            return None
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
