"""Admin for organizations and their users, scoped like everything else (organizations/scoping.py)."""

from django.contrib import admin
from django.contrib.auth import admin as auth_admin
from django.contrib.auth import forms as auth_forms

from leadsite.admin_site import ChoicesListedAdminMixin
from organizations import services
from organizations.models import Availability, Organization, User
from organizations.scoping import OrganizationScopedAdminMixin


@admin.register(Organization)
class OrganizationAdmin(OrganizationScopedAdminMixin, admin.ModelAdmin):
    # Staff see their own organization; creating and changing organizations is for superusers.
    role_permissions = {role: {"view"} for role in User.Role.values}
    list_display = ["name", "slug", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["id", "last_customer_number", "created_at", "updated_at"]


class UserCreationForm(auth_forms.AdminUserCreationForm):
    class Meta(auth_forms.AdminUserCreationForm.Meta):
        model = User
        fields = ["email"]
        field_classes = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A new user is never a superuser, so it needs an organization (only superusers see this field).
        if "organization" in self.fields:
            self.fields["organization"].required = True


class UserChangeForm(auth_forms.UserChangeForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "availability" in self.fields:  # a form that leaves it out keeps the user's
            self.fields["availability"].required = False

    def clean_availability(self):
        return self.cleaned_data.get("availability") or self.instance.availability or Availability.AVAILABLE

    class Meta(auth_forms.UserChangeForm.Meta):
        model = User
        fields = [
            "email",
            "password",
            "name",
            "organization",
            "role",
            "availability",
            "away_until",
            "is_active",
            "is_staff",
            "is_superuser",
            "groups",
            "user_permissions",
        ]
        field_classes = {}


@admin.register(User)
class UserAdmin(OrganizationScopedAdminMixin, ChoicesListedAdminMixin, auth_admin.UserAdmin):
    """An organization's admins manage its members; other staff only see them.

    Nobody but a superuser sees or sets the organization, superuser status, groups or permissions,
    so staff cannot escalate; users are deactivated rather than deleted (as DELETE /users does).
    """

    role_permissions = {"admin": {"view", "add", "change"}, "sales_rep": {"view"}, "read_only": {"view"}}
    superuser_only_fields = ("organization", "is_superuser", "groups", "user_permissions")
    form = UserChangeForm
    add_form = UserCreationForm
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Profile", {"fields": ["name", "organization", "role"]}),
        ("Availability for lead routing", {"fields": ["availability", "away_until"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Important dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": [
                    "email",
                    "name",
                    "organization",
                    "role",
                    "is_staff",
                    "usable_password",
                    "password1",
                    "password2",
                ],
            },
        ),
    ]
    list_display = ["email", "name", "role", "availability_now", "is_active", "is_staff"]
    list_filter = ["role", "availability", "is_active", "is_staff"]
    list_select_related = []
    search_fields = ["email", "name"]
    ordering = ["email"]
    readonly_fields = ["last_login", "date_joined"]

    @admin.display(description="Availability", ordering="availability")
    def availability_now(self, user):
        if not user.is_away:
            return "Available"
        return f"Away until {user.away_until:%Y-%m-%d}" if user.away_until else "Away"

    def has_change_permission(self, request, obj=None):
        # A platform superuser's account is not for an organization's staff to take over.
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        managed = [field for field in ("role", "is_active") if field in form.changed_data]
        if not change or not managed:
            return super().save_model(request, obj, form, change)
        # Role and activity change through the service: the last active admin stays one, and
        # deactivating revokes the user's refresh tokens.
        stored = User.objects.get(pk=obj.pk)
        for field in managed:
            setattr(obj, field, getattr(stored, field))
        obj.save()
        services.user_update(user=obj, data={field: form.cleaned_data[field] for field in managed})
        for field in managed:
            setattr(obj, field, form.cleaned_data[field])

    def get_search_results(self, request, queryset, search_term):
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if request.resolver_match and request.resolver_match.url_name == "autocomplete":
            # The assignee picker offers active members only, like the API's assignedTo.
            queryset = queryset.filter(is_active=True)
        return queryset, may_have_duplicates
