"""Jobs in the admin: what the API's /jobs shows, read-only and scoped like every page."""

from django.contrib import admin

from jobs.models import Job
from organizations.scoping import OrganizationScopedAdminMixin


@admin.register(Job)
class JobAdmin(OrganizationScopedAdminMixin, admin.ModelAdmin):
    list_display = ["kind", "status", "done", "total", "created_by", "created_at", "started_at", "finished_at"]
    list_filter = ["kind", "status"]
    list_select_related = ["created_by"]
    readonly_fields = [
        "id",
        "kind",
        "status",
        "params",
        "total",
        "done",
        "errors",
        "result",
        "notice",
        "task_id",
        "created_by",
        "created_at",
        "started_at",
        "finished_at",
    ]

    def has_add_permission(self, request):
        return False  # jobs come from the API's requests

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
