"""Validating a row: the rules of POST /leads (LeadSerializer), with assignees loaded once per batch."""

import uuid

from django.db.models import Q
from django.db.models.functions import Lower

from leads.serializers import LeadSerializer, OrganizationUserField


class PreloadedAssigneeField(OrganizationUserField):
    """assignedTo as the API takes it (a user id) or a user's email, found among the users loaded for the batch.

    The users are loaded with OrganizationUserField's own queryset (active users of the
    organization), once per batch instead of once per row.
    """

    default_error_messages = {"no_user_with_email": "No active user with email '{email}' in your organization."}

    def to_internal_value(self, data):
        users = self.context["assignees"]
        if isinstance(data, str) and "@" in data:
            user = users.get(data.strip().lower())
            if user is None:
                self.fail("no_user_with_email", email=data)
            return user
        user = users.get(self.pk_field.to_internal_value(data))
        if user is None:
            self.fail("does_not_exist", pk_value=data)
        return user

    def load(self, values) -> dict:
        ids, emails = set(), set()
        for value in values:
            if isinstance(value, str) and "@" in value:
                emails.add(value.strip().lower())
            elif value not in (None, ""):
                try:
                    ids.add(uuid.UUID(str(value).strip()))
                except ValueError:
                    pass
        if not ids and not emails:
            return {}
        users = self.get_queryset().annotate(email_key=Lower("email")).filter(Q(pk__in=ids) | Q(email_key__in=emails))
        found = {}
        for user in users.only("id", "email"):
            found[user.pk] = found[user.email_key] = user
        return found


class ImportLeadSerializer(LeadSerializer):
    """LeadSerializer's rules, with assignees looked up per batch (see PreloadedAssigneeField)."""

    assignedTo = PreloadedAssigneeField(source="assigned_to", required=False, allow_null=True)


def error_messages(detail, field=None) -> list[tuple]:
    """DRF error detail -> [(field, message, code)]."""
    if isinstance(detail, dict):
        return [item for key, value in detail.items() for item in error_messages(value, key)]
    if isinstance(detail, list):
        return [item for value in detail for item in error_messages(value, field)]
    if field == "non_field_errors":
        field = None
    return [(field, str(detail), getattr(detail, "code", "invalid"))]
