"""Strict API input: the JSON types the schema documents, and no unknown fields."""

from collections.abc import Mapping

from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail, ValidationError

from leadsite import messages


def _json_types(field):
    """The JSON types a field's input must have, as its schema says; None where DRF checks enough."""
    if isinstance(field, serializers.BooleanField):
        return (bool,)
    if isinstance(field, serializers.IntegerField):
        return (int,)
    if isinstance(field, (serializers.FloatField, serializers.DecimalField)):
        return (int, float)
    if isinstance(field, (serializers.CharField, serializers.UUIDField, serializers.DateTimeField)):
        return (str,)
    if isinstance(field, serializers.ChoiceField) and all(isinstance(key, str) for key in field.choices):
        return (str,)
    return None


class StrictTypesMixin:
    """API input as the schema documents it, every mistake reported in one answer.

    - JSON types: DRF would read 5 as "5", "5" as 5 and 0 as false.
    - Unknown fields (`{"scroe": 50}`) are a 400 `unknown_parameter` naming them; the read-only
      fields the API shows (id, createdAt, ...) are accepted and ignored, so GET, edit, PUT works.
    Both are reported together with DRF's own field errors, not one pass before them.

    Only for API requests (a `request` in the context): the CSV importer relies on DRF reading text
    and on ignoring columns it does not know.
    """

    type_messages = {bool: messages.BOOLEAN, int: messages.WHOLE_NUMBER, float: messages.NUMBER, str: messages.TEXT}
    # Say what is allowed (leadsite/messages.py): {field: noun for its choices}, {field: the choices a client may send}.
    choice_nouns = {}
    allowed_choices = {}

    def get_fields(self):
        return messages.say_what_is_allowed(super().get_fields(), self.choice_nouns, self.allowed_choices)

    def to_internal_value(self, data):
        if not isinstance(data, Mapping) or self.context.get("request") is None:
            return super().to_internal_value(data)
        errors = {}
        for name in data:
            if name not in self.fields:
                errors[name] = [
                    ErrorDetail(f"Unknown field '{name}'; {self.fields_allowed_message()}", code="unknown_parameter")
                ]
        for field in self._writable_fields:
            value, types = data.get(field.field_name), _json_types(field)
            if value is None or types is None:
                continue
            if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
                errors[field.field_name] = [ErrorDetail(self.type_messages[types[-1]], code="invalid")]
        try:
            value = super().to_internal_value(data)
        except ValidationError as exc:
            raise ValidationError({**exc.detail, **errors}) from None
        if errors:
            raise ValidationError(errors)
        return value

    def fields_allowed_message(self):
        writable = [field.field_name for field in self._writable_fields]
        return f"the fields you can send are {', '.join(writable)}." if writable else "this takes no fields."
