from django.contrib import admin

from organizations.scoping import OrganizationScopedAdminMixin
from scoring.models import ScoringModel


@admin.register(ScoringModel)
class ScoringModelAdmin(OrganizationScopedAdminMixin, admin.ModelAdmin):
    """The organization's scoring models, read-only: trained by the worker, POST /scoring/model/train or the command."""

    list_display = ["version", "status", "trained_at", "auc", "leads"]
    list_filter = ["status"]
    ordering = ["-version"]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="held-out AUC")
    def auc(self, obj):
        return (obj.quality or {}).get("rocAuc")

    @admin.display(description="resolved leads")
    def leads(self, obj):
        return (obj.counts or {}).get("leads")
