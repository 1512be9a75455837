"""The lead admin for sales-ops staff: scoped to their organization, every write through leads.services."""

import csv
import json

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.models import CHANGE, LogEntry
from django.db.models import Q
from django.http import StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from rest_framework.exceptions import NotFound, ValidationError

from leads import selectors, services
from leads.exporting import csv_rows
from leads.lifecycle import lifecycle_problem
from leads.models import SCORE_BANDS, SCORE_MAX, SCORE_MIN, Lead, LeadHistory, LeadStatus
from leadsite.admin_site import day_with_time_on_hover, readable_timestamp, truncated
from leadsite.errors import Conflict, flatten_errors
from leadsite.messages import WHOLE_NUMBER, in_range
from leadsite.paginators import LargeTableAdminMixin
from organizations.models import User
from organizations.scoping import OrganizationScopedAdminMixin

VIA = "admin"
# Statuses the "set status" action offers: converting goes through the conversion service.
SETTABLE_STATUSES = [(status.value, status.label) for status in LeadStatus if status != LeadStatus.CONVERTED]
# How many skipped leads a message names before it says "and N more".
MAX_NAMED = 10


def score_band(score):
    if score is None:
        return None
    return next(band for band, (low, high) in SCORE_BANDS.items() if low <= score <= high)


class ScoreBandFilter(admin.SimpleListFilter):
    title = "score band"
    parameter_name = "band"

    def lookups(self, request, model_admin):
        bands = [(band, f"{band.capitalize()} ({low}–{high})") for band, (low, high) in SCORE_BANDS.items()]
        return [*bands, ("none", "No score")]

    def queryset(self, request, queryset):
        if self.value() in SCORE_BANDS:
            low, high = SCORE_BANDS[self.value()]
            return queryset.filter(score__gte=low, score__lte=high)
        if self.value() == "none":
            return queryset.filter(score__isnull=True)
        return queryset


class SourceFilter(admin.SimpleListFilter):
    """The sources in use, found by one index seek per value instead of a DISTINCT over every lead."""

    title = "source"
    parameter_name = "source"
    max_values = 30

    def lookups(self, request, model_admin):
        leads = model_admin.get_queryset(request).exclude(source=None).order_by("source")
        if request.user.is_superuser:
            # Across organizations no index leads with the source: one DISTINCT beats a scan per value.
            sources = list(leads.values_list("source", flat=True).distinct()[: self.max_values])
        else:
            # (organization, source, id) is indexed: each next value is one short index seek.
            sources, values = [], leads.values_list("source", flat=True)
            while len(sources) < self.max_values:
                following = values.filter(source__gt=sources[-1]) if sources else values
                value = following.first()
                if value is None:
                    break
                sources.append(value)
        return [(source, source) for source in sources]

    def queryset(self, request, queryset):
        return queryset.filter(source=self.value()) if self.value() else queryset


class PipelineFilter(admin.SimpleListFilter):
    """The dashboard's groups of leads (leads.selectors), so each of its figures links to its list."""

    title = "follow-up"
    parameter_name = "pipeline"

    def lookups(self, request, model_admin):
        return [
            ("open", "Open (active, not converted or unqualified)"),
            ("recently_contacted", "Contacted in the last 30 days"),
            ("stale", "Stale (open, not contacted for 30+ days)"),
        ]

    def queryset(self, request, queryset):
        now = timezone.now()
        conditions = {
            "open": selectors.open_leads_q,
            "recently_contacted": lambda: selectors.contacted_recently_q(now=now),
            "stale": lambda: selectors.stale_leads_q(now=now),
        }
        return queryset.filter(conditions[self.value()]()) if self.value() in conditions else queryset


class AssigneeFilter(admin.RelatedFieldListFilter):
    """Offers the users the user admin shows this request (the own organization's), not every user."""

    def field_choices(self, field, request, model_admin):
        users = model_admin.admin_site.get_model_admin(User).get_queryset(request)
        return [(user.pk, str(user)) for user in users.only("pk", "email").order_by("email")]


class LeadAdminForm(forms.ModelForm):
    # The API's range and wording (leadsite/messages.py); the table's CHECK constraint stays the last word.
    score = forms.IntegerField(
        required=False,
        min_value=SCORE_MIN,
        max_value=SCORE_MAX,
        error_messages={"invalid": WHOLE_NUMBER}
        | dict.fromkeys(["min_value", "max_value"], in_range(SCORE_MIN, SCORE_MAX)),
    )
    allow_duplicate = forms.BooleanField(
        required=False, label="Create even if a lead with this email exists", help_text="As ?allowDuplicate=true."
    )
    # Set by LeadAdmin.get_form: the organization a new lead gets (None: a superuser picks it).
    organization_of_user = None

    class Meta:
        model = Lead
        fields = [
            "organization",
            "name",
            "email",
            "phone",
            "company",
            "status",
            "source",
            "assigned_to",
            "last_contacted_at",
            "is_active",
            "score",
            "notes",
            "custom_fields",
        ]

    def clean_status(self):
        status = self.cleaned_data.get("status")
        # The lifecycle as the API has it (leads/lifecycle.py); the service checks it again on the locked row.
        problem = lifecycle_problem(lead=None if self.instance._state.adding else self.instance, status=status)
        if problem is not None:
            _, message, code = problem
            if code == "use_convert_endpoint":
                message = "Convert a lead with the 'Convert selected leads to customers' action, not by its status."
            else:
                message = (
                    "This lead has been converted to a customer: its status stays 'converted'. "
                    "An organization admin can undo the conversion (POST /leads/{id}/unconvert)."
                )
            raise forms.ValidationError(message, code=code)
        return status

    def clean(self):
        cleaned = super().clean()
        organization = self.organization_of_user or cleaned.get("organization") or self._existing_organization()
        assignee = cleaned.get("assigned_to")
        if organization and assignee and assignee.organization_id != organization.pk:
            self.add_error("assigned_to", "Choose a member of the lead's organization.")
        email = cleaned.get("email")
        if self.instance._state.adding and organization and email and not cleaned.get("allow_duplicate"):
            existing = selectors.lead_with_email(organization=organization, email=email)
            if existing is not None:
                self.add_error("email", f"A lead with this email already exists: {existing} ({existing.pk}).")
        return cleaned

    def _existing_organization(self):
        return None if self.instance._state.adding else self.instance.organization


@admin.register(Lead)
class LeadAdmin(LargeTableAdminMixin, OrganizationScopedAdminMixin, admin.ModelAdmin):
    form = LeadAdminForm
    # Chosen to fit a 1366 px screen beside the filters: long text is cut with the full value on hover.
    list_display = [
        "name_cell",
        "company_cell",
        "email_cell",
        "status",
        "score_with_band",
        "assignee_cell",
        "source_cell",
        "last_contacted_cell",
        "created_cell",
    ]
    list_select_related = ["assigned_to"]
    list_filter = [
        "status",
        PipelineFilter,
        SourceFilter,
        ScoreBandFilter,
        ("assigned_to", AssigneeFilter),
        "is_active",
        "created_at",
    ]
    search_fields = ["name", "email", "company", "phone"]
    date_hierarchy = "created_at"
    ordering = ["-created_at", "-id"]
    autocomplete_fields = ["assigned_to", "organization"]
    readonly_fields = [
        "id",
        "score_band",
        "converted_at",
        "converted_customer_link",
        "created_at",
        "updated_at",
        "history",
    ]
    actions = [
        "convert_to_customers",
        "unconvert",
        "assign_to_user",
        "set_status",
        "mark_active",
        "mark_inactive",
        "export_csv",
    ]
    fieldsets = [
        ("Contact", {"fields": ["organization", "name", "email", "phone", "company"]}),
        ("Pipeline", {"fields": ["status", "source", "assigned_to", "last_contacted_at", "is_active"]}),
        ("Scoring", {"fields": ["score", "score_band"]}),
        ("Notes and custom fields", {"fields": ["notes", "custom_fields"]}),
        ("Duplicates", {"fields": ["allow_duplicate"]}),
        ("Conversion", {"fields": ["converted_at", "converted_customer_link"]}),
        ("System", {"fields": ["id", "created_at", "updated_at"], "classes": ["collapse"]}),
        ("History", {"fields": ["history"]}),
    ]
    # Sections only a new lead has, and only an existing one.
    add_only_sections, change_only_sections = {"Duplicates"}, {"Conversion", "System", "History"}

    def get_fieldsets(self, request, obj=None):
        dropped = self.change_only_sections if obj is None else self.add_only_sections
        return [fieldset for fieldset in super().get_fieldsets(request, obj) if fieldset[0] not in dropped]

    def get_readonly_fields(self, request, obj=None):
        # A lead never moves to another organization.
        return [*self.readonly_fields, "organization"] if obj is not None else self.readonly_fields

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.organization_of_user = None if request.user.is_superuser else request.user.organization
        return form

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "assigned_to":
            field.queryset = field.queryset.filter(is_active=True)
        return field

    # The customer list links here with ?converted_customer__id__exact=<id>.
    def lookup_allowed(self, lookup, value, request=None):
        return lookup == "converted_customer__id__exact" or super().lookup_allowed(lookup, value, request)

    class Media:
        css = {"all": ["leads/admin-lists.css"]}

    # -- Columns and read-only fields ------------------------------------------------------------

    @admin.display(description="name", ordering="name")
    def name_cell(self, obj):
        return truncated(obj.name, "wide")

    @admin.display(description="company", ordering="company")
    def company_cell(self, obj):
        return truncated(obj.company)

    @admin.display(description="email", ordering="email")
    def email_cell(self, obj):
        return truncated(obj.email, "wide")

    @admin.display(description="assigned to", ordering="assigned_to__name")
    def assignee_cell(self, obj):
        return truncated(obj.assigned_to and (obj.assigned_to.name or obj.assigned_to.email), "narrow")

    @admin.display(description="source", ordering="source")
    def source_cell(self, obj):
        return truncated(obj.source, "narrow")

    @admin.display(description="last contacted", ordering="last_contacted_at")
    def last_contacted_cell(self, obj):
        return day_with_time_on_hover(obj.last_contacted_at)

    @admin.display(description="created", ordering="created_at")
    def created_cell(self, obj):
        return day_with_time_on_hover(obj.created_at)

    @admin.display(description="score", ordering="score")
    def score_with_band(self, obj):
        return "—" if obj.score is None else f"{obj.score} ({score_band(obj.score)})"

    @admin.display(description="band")
    def score_band(self, obj):
        return score_band(obj.score) or "—"

    @admin.display(description="converted into")
    def converted_customer_link(self, obj):
        if obj.converted_customer_id is None:
            return "—"
        url = reverse("admin:customers_customer_change", args=[obj.converted_customer_id])
        return format_html('<a href="{}">{}</a>', url, obj.converted_customer)

    @admin.display(description="change history")
    def history(self, obj):
        entries = (
            LeadHistory.objects.for_organization(obj.organization_id)
            .filter(lead_id=obj.pk)
            .select_related("actor")
            .order_by("-created_at", "-id")[:50]
        )
        rows = format_html_join(
            "",
            '<tr><td class="nowrap">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>',
            (
                (
                    readable_timestamp(entry.created_at),
                    entry.get_action_display(),
                    entry.actor or "—",
                    entry.via,
                    _describe_changes(entry.changes),
                )
                for entry in entries
            ),
        )
        if not rows:
            return "No history recorded."
        head = mark_safe("<tr><th>When</th><th>What</th><th>Who</th><th>Via</th><th>Changes</th></tr>")
        return format_html("<table>{}{}</table>", head, rows)

    # -- Writes go through leads.services --------------------------------------------------------

    def save_model(self, request, obj, form, change):
        fields = [name for name in form.cleaned_data if name in {f.name for f in Lead._meta.get_fields()}]
        if change:
            data = {name: form.cleaned_data[name] for name in form.changed_data if name in fields}
            if data:
                # obj already holds the new values; the service locks the stored row and compares with it.
                saved = services.lead_update(lead=obj, user=request.user, data=data, via=VIA)
                obj.updated_at, obj.version = saved.updated_at, saved.version
            return
        data = {name: form.cleaned_data[name] for name in fields if name != "organization"}
        saved = services.lead_create(
            organization=obj.organization,
            user=request.user,
            data=data,
            allow_duplicate=form.cleaned_data.get("allow_duplicate", False),
            via=VIA,
        )
        obj.pk, obj.created_at, obj.updated_at = saved.pk, saved.created_at, saved.updated_at
        obj.assigned_to_id = saved.assigned_to_id  # routing may have chosen one
        obj._state.adding, obj._state.db = False, saved._state.db

    def delete_model(self, request, obj):
        # The admin's confirmation page is the explicit "force" the API asks for.
        services.lead_delete(lead=obj, user=request.user, force=True, via=VIA)

    def delete_queryset(self, request, queryset):
        for lead in queryset.iterator(chunk_size=1000):
            services.lead_delete(lead=lead, user=request.user, force=True, via=VIA)

    # -- Actions ---------------------------------------------------------------------------------

    @admin.action(description="Convert selected leads to customers", permissions=["change"])
    def convert_to_customers(self, request, queryset):
        self._each_lead(
            request,
            queryset,
            services.lead_convert_to_customer,
            "Converted to a customer (bulk action).",
            lambda n: f"Converted {n} lead{'s' if n != 1 else ''} to customers.",
        )

    @admin.action(description="Undo the conversion of selected leads (organization admins)", permissions=["unconvert"])
    def unconvert(self, request, queryset):
        """As POST /leads/{id}/unconvert: back to qualified, unlinked; the customers stay."""
        self._each_lead(
            request,
            queryset,
            services.lead_unconvert,
            "Conversion undone (bulk action).",
            lambda n: f"Undid the conversion of {n} lead{'s' if n != 1 else ''}.",
        )

    def _each_lead(self, request, queryset, write, change_message, summary):
        """Call a lead service on each selected lead, then say how many it took and list those it refused."""
        done, skipped = [], []
        for lead in queryset.iterator(chunk_size=1000):
            try:
                write(lead=lead, user=request.user, via=VIA)
            except (Conflict, NotFound) as exc:
                skipped.append(f"{lead}: {' '.join(item['message'] for item in flatten_errors(exc.detail))}")
            else:
                done.append(lead)
        self._log_bulk_change(request, done, change_message)
        self.message_user(request, summary(len(done)), messages.SUCCESS if done else messages.WARNING)
        if skipped:
            self.message_user(request, _skipped_message(skipped), messages.WARNING)

    def has_unconvert_permission(self, request):
        """Organization admins only, as in the API."""
        user = request.user
        return user.is_superuser or (self._role_allows(request, "change") and user.role == User.Role.ADMIN)

    @admin.action(description="Assign selected leads to a user…", permissions=["change"])
    def assign_to_user(self, request, queryset):
        users = self.admin_site.get_model_admin(User).get_queryset(request).filter(is_active=True)
        form_class = type(
            "AssignForm",
            (forms.Form,),
            {"assignee": forms.ModelChoiceField(users, required=False, empty_label="Nobody (unassign)")},
        )
        form = form_class(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return self._ask(request, queryset, form, "Assign leads")
        assignee = form.cleaned_data["assignee"]
        changed_leads, skipped = [], []
        for lead in queryset.iterator(chunk_size=1000):
            if assignee is not None and assignee.organization_id != lead.organization_id:
                skipped.append(f"{lead}: {assignee} is not a member of its organization")
            elif lead.assigned_to_id != getattr(assignee, "pk", None):
                services.lead_update(lead=lead, user=request.user, data={"assigned_to": assignee}, via=VIA)
                changed_leads.append(lead)
        self._log_bulk_change(request, changed_leads, f"Assigned to {assignee or 'nobody'} (bulk action).")
        changed = len(changed_leads)
        message = f"Assigned {changed} lead{'s' if changed != 1 else ''} to {assignee or 'nobody'}."
        self.message_user(request, message, messages.SUCCESS)
        if skipped:
            self.message_user(request, _skipped_message(skipped), messages.WARNING)

    @admin.action(description="Set the status of selected leads…", permissions=["change"])
    def set_status(self, request, queryset):
        form_class = type("StatusForm", (forms.Form,), {"status": forms.ChoiceField(choices=SETTABLE_STATUSES)})
        form = form_class(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return self._ask(request, queryset, form, "Set status")
        status = form.cleaned_data["status"]
        changed_leads, skipped = [], []
        for lead in queryset.iterator(chunk_size=1000):
            if lead.status == status:
                continue
            try:
                services.lead_update(lead=lead, user=request.user, data={"status": status}, via=VIA)
            except (Conflict, ValidationError, NotFound) as exc:
                skipped.append(f"{lead}: {' '.join(item['message'] for item in flatten_errors(exc.detail))}")
            else:
                changed_leads.append(lead)
        label = LeadStatus(status).label.lower()
        self._log_bulk_change(request, changed_leads, f"Status set to {label} (bulk action).")
        changed = len(changed_leads)
        self.message_user(request, f"Set {changed} lead{'s' if changed != 1 else ''} to {label}.", messages.SUCCESS)
        if skipped:
            self.message_user(request, _skipped_message(skipped), messages.WARNING)

    @admin.action(description="Mark selected leads active", permissions=["change"])
    def mark_active(self, request, queryset):
        self._set_active(request, queryset, True)

    @admin.action(description="Mark selected leads inactive", permissions=["change"])
    def mark_inactive(self, request, queryset):
        self._set_active(request, queryset, False)

    def _set_active(self, request, queryset, is_active):
        changed_leads = []
        for lead in queryset.filter(~Q(is_active=is_active)).iterator(chunk_size=1000):
            services.lead_update(lead=lead, user=request.user, data={"is_active": is_active}, via=VIA)
            changed_leads.append(lead)
        state = "active" if is_active else "inactive"
        self._log_bulk_change(request, changed_leads, f"Marked {state} (bulk action).")
        changed = len(changed_leads)
        self.message_user(request, f"Marked {changed} lead{'s' if changed != 1 else ''} {state}.", messages.SUCCESS)

    @admin.action(description="Export selected leads as CSV", permissions=["view"])
    def export_csv(self, request, queryset):
        """Streamed, in export_leads' CSV format (the API's fields), which import_leads reads back."""
        response = StreamingHttpResponse(_csv_lines(queryset), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="leads.csv"'
        return response

    def _log_bulk_change(self, request, leads, message):
        """An action's changes show in Recent actions and each lead's admin history, as Django's delete action does."""
        if leads:
            LogEntry.objects.log_actions(
                user_id=request.user.pk, queryset=leads, action_flag=CHANGE, change_message=message
            )

    def _ask(self, request, queryset, form, title):
        """The intermediate page of an action that needs a value; it posts back to the same action."""
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.opts,
            "form": form,
            "action": request.POST["action"],
            "select_across": request.POST.get("select_across", "0"),
            "selected": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
            "leads": queryset[:MAX_NAMED],
            "count": queryset.count(),
        }
        return TemplateResponse(request, "admin/leads/lead/action_form.html", context)


def _skipped_message(skipped):
    named = "; ".join(skipped[:MAX_NAMED])
    more = f"; and {len(skipped) - MAX_NAMED} more" if len(skipped) > MAX_NAMED else ""
    return f"Skipped {len(skipped)}: {named}{more}."


def _describe_changes(changes):
    if not changes:
        return "—"
    parts = []
    for field, change in changes.items():
        if isinstance(change, dict) and set(change) == {"old", "new"}:
            parts.append(f"{field}: {_short(change['old'])} → {_short(change['new'])}")
        else:
            parts.append(f"{field}: {_short(change)}")
    return "; ".join(parts)


def _short(value, limit=80):
    text = "—" if value is None else value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Echo:
    """A file-like object whose write() returns the line, for streaming csv.writer output."""

    def write(self, value):
        return value


def _csv_lines(queryset):
    writer = csv.writer(_Echo())
    for row in csv_rows(queryset.order_by("created_at", "id")):
        yield writer.writerow(row)


from leads import import_admin  # noqa: E402, F401  registers Leads → Import
