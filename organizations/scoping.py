"""The one way to scope a query to an organization.

Every model that belongs to an organization uses `OrganizationScopedQuerySet`, and every
viewset, admin class and selector reaches its rows through `for_organization`. Viewsets get it
through `OrganizationScopedViewSetMixin`, which refuses subclasses that override
`get_queryset` (so the filter cannot be forgotten); they customise `get_base_queryset` instead.
Admin classes get it through `OrganizationScopedAdminMixin`.
"""

from django.contrib import messages
from django.db import models
from django.http import Http404, HttpResponseRedirect


class OrganizationScopedQuerySet(models.QuerySet):
    # The lookup from the model to its organization; "organization" for every model so far.
    organization_lookup = "organization"

    def for_organization(self, organization):
        if organization is None:
            return self.none()
        return self.filter(**{self.organization_lookup: organization})


class OrganizationScopedViewSetMixin:
    """Gives a viewset `self.organization` and filters its queryset by it.

    An object of another organization is simply not in the queryset, so it is a 404.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "get_queryset" in cls.__dict__:
            raise TypeError(
                f"{cls.__name__} overrides get_queryset; override get_base_queryset instead "
                "so that organization scoping always applies."
            )

    @property
    def organization(self):
        return self.request.user.organization

    def get_base_queryset(self):
        return self.queryset.all()

    def get_queryset(self):
        return self.get_base_queryset().for_organization(self.organization)


class OrganizationScopedAdminMixin:
    """The admin's side of the same scoping, for every ModelAdmin of an organization's rows.

    Staff who are not superusers see, pick and write only their own organization's rows: the
    queryset (changelist, change, delete and history pages, search, filters, actions and the
    autocomplete of any field pointing here), the choices of every foreign key, and the organization
    of a new row (set from request.user, never from the form). Another organization's object is a
    404, not the admin's usual "does not exist" redirect. Superusers see everything, with an
    organization column and filter.

    What a staff member may do follows their role, as in the API (organizations/permissions.py):
    read-only members view, sales reps also add and change, organization admins also delete.
    """

    # {role: permissions} for a model whose rules differ; None: the roles as in the API (User.may).
    role_permissions = None
    # Form fields only superusers see; for everyone else the organization comes from request.user.
    superuser_only_fields = ("organization",)

    def _role_allows(self, request, permission):
        user = request.user
        if not (user.is_active and user.is_staff):
            return False
        if self.role_permissions is None:
            allowed = user.may(permission)
        else:
            allowed = permission in self.role_permissions.get(user.role, ())
        # As in the API, members of an inactive organization are locked out.
        return allowed and user.organization_id is not None and user.organization.is_active

    def has_module_permission(self, request):
        if request.user.is_superuser:
            return super().has_module_permission(request)
        return self._role_allows(request, "view")

    def has_view_permission(self, request, obj=None):
        if request.user.is_superuser:
            return super().has_view_permission(request, obj)
        return self._role_allows(request, "view")

    def has_add_permission(self, request):
        if request.user.is_superuser:
            return super().has_add_permission(request)
        return self._role_allows(request, "add")

    def has_change_permission(self, request, obj=None):
        if request.user.is_superuser:
            return super().has_change_permission(request, obj)
        return self._role_allows(request, "change")

    def has_delete_permission(self, request, obj=None):
        if request.user.is_superuser:
            return super().has_delete_permission(request, obj)
        return self._role_allows(request, "delete")

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.for_organization(request.user.organization_id)

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404(f"No {self.opts.verbose_name} with this id.")
        return obj

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if not request.user.is_superuser and "queryset" not in kwargs:
            related = db_field.related_model._default_manager.all()
            if isinstance(related, OrganizationScopedQuerySet):
                kwargs["queryset"] = related.for_organization(request.user.organization_id)
            else:
                kwargs["queryset"] = related.none()  # fail closed: a model we cannot scope offers nothing
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def _has_organization_field(self):
        return any(field.name == "organization" for field in self.opts.fields)

    def get_list_display(self, request):
        list_display = list(super().get_list_display(request))
        if request.user.is_superuser and self._has_organization_field():
            list_display.append("organization")
        return list_display

    def get_list_filter(self, request):
        list_filter = list(super().get_list_filter(request))
        if request.user.is_superuser and self._has_organization_field():
            list_filter.insert(0, "organization")
        return list_filter

    def get_list_select_related(self, request):
        related = super().get_list_select_related(request)
        if request.user.is_superuser and self._has_organization_field() and related is not True:
            return [*(related or []), "organization"]  # the organization column, without a query per row
        return related

    def get_exclude(self, request, obj=None):
        exclude = list(super().get_exclude(request, obj) or [])
        if not request.user.is_superuser:
            exclude += self.superuser_only_fields
        return exclude

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if request.user.is_superuser:
            return fieldsets
        hidden = set(self.superuser_only_fields)
        return [
            (name, {**options, "fields": [field for field in options["fields"] if field not in hidden]})
            for name, options in fieldsets
        ]

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # A service refusing the save (e.g. demoting the last admin) rolls it back and says why on the page.
        from leadsite.errors import Conflict, flatten_errors  # not at the top: models import this module

        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except Conflict as exc:
            self.message_user(request, " ".join(item["message"] for item in flatten_errors(exc.detail)), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_form(self, request, form, change):
        obj = super().save_form(request, form, change)
        if not change and not request.user.is_superuser and self._has_organization_field():
            obj.organization_id = request.user.organization_id
        return obj
