"""The admin site for sales-ops staff: the dashboard first, and the organization's recent actions."""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html

from leadsite.messages import invalid_choice_for_forms

RECENT_ACTIONS = 10


class LeadsAdminSite(admin.AdminSite):
    site_header = "Leads administration"
    site_title = "Leads admin"
    index_template = "admin/index_with_dashboard.html"
    # The app list stays on the index and the dashboard's breadcrumbs: without the side panel the lead and
    # customer lists fit a 1366 px screen beside their filters.
    enable_nav_sidebar = False

    def get_urls(self):
        from leads.dashboard import dashboard_view, predictions_view  # not at the top: the site is built first

        return [
            path("dashboard/", self.admin_view(dashboard_view), name="dashboard"),
            path("dashboard/predictions/", self.admin_view(predictions_view), name="dashboard_predictions"),
            *super().get_urls(),
        ]

    def login(self, request, extra_context=None):
        # Staff land on the dashboard after logging in, unless they were on their way elsewhere.
        if REDIRECT_FIELD_NAME not in request.GET and REDIRECT_FIELD_NAME not in request.POST:
            dashboard = reverse("admin:dashboard", current_app=self.name)
            extra_context = {REDIRECT_FIELD_NAME: dashboard, **(extra_context or {})}
        return super().login(request, extra_context)

    def index(self, request, extra_context=None):
        extra_context = {"recent_actions": recent_actions(request.user), **(extra_context or {})}
        return super().index(request, extra_context)


class ChoicesListedAdminMixin:
    """A choice the form does not offer (a stale page, a hand-made POST) is answered as the API answers it:
    '"owner" is not a valid role; use one of admin, sales_rep, read_only.' (leadsite/messages.py)."""

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        choices = [value for value, _ in db_field.flatchoices]
        message = invalid_choice_for_forms(db_field.name, choices)
        kwargs["error_messages"] = {"invalid_choice": message, **kwargs.get("error_messages", {})}
        return super().formfield_for_choice_field(db_field, request, **kwargs)


def recent_actions(user, limit=RECENT_ACTIONS):
    """The latest admin changes and bulk actions by members of the user's organization (all, for superusers)."""
    from django.contrib.admin.models import LogEntry

    from organizations.models import User

    entries = LogEntry.objects.select_related("content_type", "user").order_by("-action_time", "-id")
    if not user.is_superuser:
        entries = entries.filter(user__in=User.objects.for_organization(user.organization_id))
    return entries[:limit]


def readable_timestamp(value):
    """'25 Nov 2026, 14:03 UTC' (the DATETIME_FORMAT of leadsite/formats), or an em dash."""
    return "—" if value is None else formats.date_format(timezone.localtime(value), "DATETIME_FORMAT")


def day_with_time_on_hover(value):
    """A list cell showing the day, with the full timestamp on hover."""
    if value is None:
        return "—"
    day = formats.date_format(timezone.localtime(value), "DATE_FORMAT")
    return format_html('<span title="{}">{}</span>', readable_timestamp(value), day)


def truncated(value, width=""):
    """A list cell cut to its column's width by CSS (admin-lists.css), the whole value on hover."""
    if value in (None, ""):
        return "—"
    return format_html('<span class="truncate {}" title="{}">{}</span>', width, value, value)


class LeadsAdminConfig(AdminConfig):
    default_site = "leadsite.admin_site.LeadsAdminSite"
