"""One wording for what a value must be: the API's serializers and filters, the CSV importer (which
validates with the API's serializers) and the admin's forms say the same thing, and say what is allowed.

`say_what_is_allowed(fields)` gives a serializer's fields these messages (StrictTypesMixin calls it).
"""

from django.core.validators import MaxValueValidator, MinValueValidator
from rest_framework import serializers

WHOLE_NUMBER = "Must be a whole number."
NUMBER = "Must be a number."
TEXT = "Must be a string."
BOOLEAN = "Must be true or false."
UUID = "Must be a UUID, like 0190b2f4-6c1e-7d3a-9b7e-3f2a1c4d5e6f."
DATE_TIME = "Must be an ISO 8601 date-time, like 2025-05-11T12:33:59Z (or with an offset: +02:00)."
DATE = "Must be an ISO 8601 date (YYYY-MM-DD), like 2025-05-11."
DATE_TIME_OUT_OF_RANGE = "The date-time is out of range; use a year from 1 to 9999 and an offset within ±15:59."


def in_range(low=None, high=None):
    if low is not None and high is not None:
        return f"Must be from {low} to {high}."
    if low is not None:
        return f"Must be {low} or more."
    return f"Must be {high} or less."


def invalid_choice(value, noun, choices):
    """'"won" is not a valid status; use one of new, contacted, qualified, unqualified.'"""
    return f'"{value}" is not a valid {noun}; use one of {", ".join(str(choice) for choice in choices)}.'


def invalid_choice_for_forms(noun, choices):
    """The same, as a Django form's invalid_choice message (the form fills in %(value)s)."""
    return invalid_choice("%(value)s", noun, [str(choice).replace("%", "%%") for choice in choices])


def _choice_template(noun, choices):
    # DRF formats the template with the input: braces in the choices must not be read as fields.
    listed = ", ".join(str(choice) for choice in choices).replace("{", "{{").replace("}", "}}")
    return f'"{{input}}" is not a valid {noun}; use one of {listed}.'


def say_what_is_allowed(fields, nouns=None, choices=None):
    """Give each field (and a list's items) the wording above. nouns: {field name: noun for its choices};
    choices: {field name: the choices to list, where not all of its choices may be sent}."""
    nouns, choices = nouns or {}, choices or {}
    for name, field in fields.items():
        for target in (field, getattr(field, "child", None)):
            if target is None:
                continue
            messages = target.error_messages
            if isinstance(target, serializers.ChoiceField):
                listed = choices.get(name, list(target.choices))
                messages["invalid_choice"] = _choice_template(nouns.get(name, name), listed)
            elif isinstance(target, serializers.IntegerField):
                messages["invalid"] = messages["max_string_length"] = WHOLE_NUMBER
                _say_the_range(target)
            elif isinstance(target, (serializers.FloatField, serializers.DecimalField)):
                messages["invalid"] = NUMBER
            elif isinstance(target, serializers.DateTimeField):
                messages["invalid"] = DATE_TIME
                messages["date"] = DATE_TIME
                messages["overflow"] = DATE_TIME_OUT_OF_RANGE
            elif isinstance(target, serializers.DateField):
                messages["invalid"] = DATE
            elif isinstance(target, serializers.BooleanField):
                messages["invalid"] = BOOLEAN
            elif isinstance(target, serializers.UUIDField):
                messages["invalid"] = UUID
    return fields


def _say_the_range(field):
    """The field's range validators (DRF's, or its model field's, shared: so replaced, not changed) say the range."""
    bounds = [v for v in field.validators if isinstance(v, (MinValueValidator, MaxValueValidator))]
    if not bounds:
        return
    low = max((v.limit_value for v in bounds if isinstance(v, MinValueValidator)), default=None)
    high = min((v.limit_value for v in bounds if isinstance(v, MaxValueValidator)), default=None)
    message = in_range(low, high)
    field.validators = [
        type(v)(v.limit_value, message=message) if isinstance(v, (MinValueValidator, MaxValueValidator)) else v
        for v in field.validators
    ]
