from rest_framework.permissions import BasePermission


class IsOrganizationMember(BasePermission):
    """Authenticated and attached to an organization (authentication already refused the rest)."""

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.organization_id)
