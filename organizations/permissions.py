"""Who may do what. Every API view gets `RolePermission` by default (REST_FRAMEWORK settings).

- read_only members only read;
- sales reps do everything except delete;
- organization admins do everything, and alone manage users (`IsOrganizationAdmin`).

A role is refused with a 403 only for what the user can see: on a route naming an object, the
object is looked up first, so another organization's object stays a 404.
"""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from organizations.models import User


def _not_found_before_forbidden(view):
    """Called when the role refuses: on a route naming an object, look the object up first.

    It raises a 404 if the object is not the user's to see; otherwise the object check refuses it (403).
    Returns False, so a route without an object is a 403.
    """
    lookup = getattr(view, "lookup_url_kwarg", None) or getattr(view, "lookup_field", None)
    if lookup and lookup in getattr(view, "kwargs", {}) and hasattr(view, "get_object"):
        view.get_object()
    return False


def role_allows(user, method):
    """Reading is viewing, DELETE deletes; every other method (creating, updating, actions) changes."""
    if method in SAFE_METHODS:
        return user.may("view")
    return user.may("delete" if method == "DELETE" else "change")


class IsOrganizationMember(BasePermission):
    """Authenticated and attached to an organization (authentication already refused the rest)."""

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.organization_id)


class RolePermission(IsOrganizationMember):
    """The default for every API view: what the member's role lets them do with this method."""

    message = "Your role does not allow this action."

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        return role_allows(request.user, request.method) or _not_found_before_forbidden(view)

    def has_object_permission(self, request, view, obj):
        return role_allows(request.user, request.method)


class IsOrganizationAdmin(IsOrganizationMember):
    """The organization's admins only, whatever the method (user management)."""

    message = "Only an organization admin may do this."

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        return request.user.role == User.Role.ADMIN or _not_found_before_forbidden(view)

    def has_object_permission(self, request, view, obj):
        return request.user.role == User.Role.ADMIN


class MayManageWebhooks(IsOrganizationMember):
    """Whoever's role may manage the organization's webhooks (organization admins), whatever the method."""

    message = "Only an organization admin may manage webhooks."

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        return request.user.may("manage_webhooks") or _not_found_before_forbidden(view)

    def has_object_permission(self, request, view, obj):
        return request.user.may("manage_webhooks")
