"""Leads → Import in the admin: upload, map the columns, preview, run; every step in leads.lead_imports."""

import csv
import io

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from leads import lead_imports
from leads.importing import ImportFileError
from leads.models import LeadImport
from organizations.models import Organization, User
from organizations.scoping import OrganizationScopedAdminMixin

UPSERT_CHOICES = [
    ("", "Create every row as a new lead (an existing email is an error)"),
    ("email", "Update the lead with the same email, create the others"),
    ("id", "Update the lead with the row's id (an export), create rows without id"),
]
# The upload may be this large; the rest of the site keeps settings.MAX_REQUEST_BODY_BYTES.
UPLOAD_BODY_BYTES = lead_imports.MAX_UPLOAD_BYTES + 1024 * 1024
# The mapping page posts a field per column and a few more; the rest of the site keeps DATA_UPLOAD_MAX_NUMBER_FIELDS.
MAPPING_FORM_FIELDS = lead_imports.MAX_COLUMNS + 100


class ImportOptionsForm(forms.Form):
    upsert = forms.ChoiceField(choices=UPSERT_CHOICES, required=False, label="Rows that match a lead")
    default_assignee = forms.ModelChoiceField(
        User.objects.none(), required=False, empty_label="Nobody", help_text="For new leads whose row names no one."
    )
    route = forms.BooleanField(
        required=False,
        initial=True,
        label="Route by the assignment rules",
        help_text="New leads that still have no assignee go to the assignment rules; unticked, they stay unassigned.",
    )

    def __init__(self, *args, users, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["default_assignee"].queryset = users


class UploadForm(ImportOptionsForm):
    file = forms.FileField(
        help_text="CSV (with a header line), JSON (an array of objects) or JSON Lines; "
        f"up to 50 MB and {lead_imports.MAX_COLUMNS:,} columns."
    )
    extra_to_custom_fields = forms.BooleanField(
        required=False, label="Keep unknown columns in customFields", help_text="Otherwise they are ignored."
    )
    field_order = ["organization", "file", "upsert", "extra_to_custom_fields", "default_assignee", "route"]

    def __init__(self, *args, organizations=None, **kwargs):
        super().__init__(*args, **kwargs)
        if organizations is not None:  # superusers pick the organization
            self.fields["organization"] = forms.ModelChoiceField(organizations)
            self.order_fields(self.field_order)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > lead_imports.MAX_UPLOAD_BYTES:
            raise forms.ValidationError(f"The file is {upload.size:,} bytes; the limit is 50 MB.")
        return upload


class MappingForm(ImportOptionsForm):
    """One choice per column of the file, pre-filled with what the importer would read it into."""

    def __init__(self, *args, lead_import, **kwargs):
        super().__init__(*args, **kwargs)
        self.columns = []
        for index, column in enumerate(lead_import.header):
            name = f"column_{index}"
            self.fields[name] = forms.ChoiceField(
                choices=lead_imports.mapping_targets(),
                required=False,
                label=column,
                initial=lead_import.mapping.get(column),
            )
            self.columns.append((column, name, lead_import.samples.get(column, [])))

    def rows(self):
        return [(column, self[name], samples) for column, name, samples in self.columns]

    def mapping(self):
        return {column: self.cleaned_data[name] for column, name, _ in self.columns}


@admin.register(LeadImport)
class LeadImportAdmin(OrganizationScopedAdminMixin, admin.ModelAdmin):
    list_display = ["file_name", "status", "rows", "created", "updated", "skipped", "created_by", "created_at"]
    list_filter = ["status"]
    ordering = ["-created_at", "-id"]
    list_select_related = ["created_by"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("content", "error_report")

    def get_urls(self):
        urls = super().get_urls()
        for url in urls:
            if url.name == "leads_leadimport_add":
                url.callback.max_request_body_bytes = UPLOAD_BODY_BYTES
            if url.name == "leads_leadimport_change":
                url.callback.max_request_fields = MAPPING_FORM_FIELDS
        errors = self.admin_site.admin_view(self.error_report_view)
        errors.model_admin = self  # as Django's own admin URLs: found by the tenant isolation test
        return [path("<path:object_id>/errors.csv", errors, name="leads_leadimport_errors"), *urls]

    def _users(self, request, organization):
        return User.objects.for_organization(organization).filter(is_active=True).order_by("email")

    # -- Upload ----------------------------------------------------------------------------------

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        superuser = request.user.is_superuser
        organizations = Organization.objects.order_by("name") if superuser else None
        organization = request.user.organization
        chosen = request.POST.get("organization") if superuser else None
        users = self._users(request, chosen if chosen else organization)
        form = UploadForm(request.POST or None, request.FILES or None, users=users, organizations=organizations)
        if request.method == "POST" and form.is_valid():
            organization = form.cleaned_data.get("organization") or organization
            upload = form.cleaned_data["file"]
            try:
                lead_import = lead_imports.lead_import_create(
                    organization=organization,
                    user=request.user,
                    file_name=upload.name,
                    content=upload.read(),
                    options=form.cleaned_data,
                )
            except ImportFileError as exc:
                form.add_error("file", str(exc))
            else:
                self.log_addition(request, lead_import, [{"added": {}}])
                return HttpResponseRedirect(reverse("admin:leads_leadimport_change", args=[lead_import.pk]))
        context = {**self.admin_site.each_context(request), "title": "Import leads", "opts": self.opts, "form": form}
        return TemplateResponse(request, "admin/leads/leadimport/upload.html", context)

    # -- Map, preview, run, follow ---------------------------------------------------------------

    def change_view(self, request, object_id, form_url="", extra_context=None):
        lead_import = self.get_object(request, unquote(object_id))  # another organization's: 404
        if not self.has_view_permission(request, lead_import):
            raise PermissionDenied
        may_run = self.has_add_permission(request)
        users = self._users(request, lead_import.organization)
        editable = lead_import.status in (LeadImport.Status.UPLOADED, LeadImport.Status.PREVIEWED)
        initial = {
            "upsert": lead_import.upsert,
            "default_assignee": lead_import.default_assignee_id,
            "route": lead_import.route,
        }
        form = MappingForm(None, lead_import=lead_import, users=users, initial=initial)
        if request.method == "POST":
            if not may_run:
                raise PermissionDenied
            if "_run" in request.POST:
                return self._run(request, lead_import)
            if editable:
                form = MappingForm(request.POST, lead_import=lead_import, users=users, initial=initial)
                if form.is_valid():
                    self._preview(request, lead_import, form)
        context = {
            **self.admin_site.each_context(request),
            "title": str(lead_import),
            "opts": self.opts,
            "original": lead_import,
            "lead_import": lead_import,
            "form": form,
            "editable": editable and may_run,
            "may_run": may_run,
            "in_background": lead_imports.runs_in_background(lead_import),
            "limits": {
                "rows": lead_imports.RUN_AT_ONCE_MAX_ROWS,
                "megabytes": lead_imports.RUN_AT_ONCE_MAX_BYTES >> 20,
            },
            "leads_url": reverse("admin:leads_lead_changelist"),
        }
        return TemplateResponse(request, "admin/leads/leadimport/import.html", context)

    def _preview(self, request, lead_import, form):
        lead_import.mapping = form.mapping()
        lead_import.upsert = form.cleaned_data["upsert"]
        lead_import.default_assignee = form.cleaned_data["default_assignee"]
        lead_import.route = form.cleaned_data["route"]
        try:
            lead_imports.lead_import_preview(lead_import)
        except ImportFileError as exc:
            form.add_error(None, str(exc))

    def _run(self, request, lead_import):
        started = lead_imports.lead_import_start(lead_import)
        lead_import.refresh_from_db()
        if not started:  # another click (or tab) started it first
            self.message_user(request, "This import has already been started; here is how it goes.", messages.INFO)
            return HttpResponseRedirect(reverse("admin:leads_leadimport_change", args=[lead_import.pk]))
        self.log_change(request, lead_import, f"Ran the import ({lead_import.get_status_display().lower()}).")
        if lead_import.status == LeadImport.Status.DONE:
            self.message_user(
                request,
                f"Imported {lead_import.file_name}: {lead_import.created} created, {lead_import.updated} updated, "
                f"{lead_import.unchanged} unchanged, {lead_import.skipped} skipped.",
                messages.SUCCESS if not lead_import.skipped else messages.WARNING,
            )
        return HttpResponseRedirect(reverse("admin:leads_leadimport_change", args=[lead_import.pk]))

    def error_report_view(self, request, object_id):
        lead_import = self.get_object(request, unquote(object_id))
        if not self.has_view_permission(request, lead_import):
            raise PermissionDenied
        report = LeadImport.objects.filter(pk=lead_import.pk).values_list("error_report", flat=True).get()
        if not report:
            report = _empty_report()
        response = HttpResponse(report, content_type="text/csv; charset=utf-8")
        stem = lead_import.file_name.rsplit(".", 1)[0] or "import"
        response["Content-Disposition"] = f'attachment; filename="{_safe_name(stem)}-errors.csv"'
        return response


def _empty_report():
    out = io.StringIO()
    csv.writer(out).writerow(["line", "errors"])
    return out.getvalue()


def _safe_name(name: str) -> str:
    return "".join(char if char.isalnum() or char in "-_." else "_" for char in name)[:100]
