"""The customer admin: scoped to the staff user's organization, numbered by customers.services."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from customers import services
from customers.models import Customer
from leads.models import Lead
from leadsite.admin_site import ChoicesListedAdminMixin, day_with_time_on_hover, truncated
from leadsite.paginators import LargeTableAdminMixin
from organizations.scoping import OrganizationScopedAdminMixin

VIA = "admin"
MAX_LINKED_LEADS = 50


@admin.register(Customer)
class CustomerAdmin(LargeTableAdminMixin, OrganizationScopedAdminMixin, ChoicesListedAdminMixin, admin.ModelAdmin):
    # Chosen to fit a 1366 px screen beside the filters: long text is cut with the full value on hover.
    list_display = [
        "customer_number",
        "company_cell",
        "email_cell",
        "contact_phone",
        "status",
        "created_cell",
        "leads_link",
    ]
    list_filter = ["status", "created_at"]
    search_fields = ["customer_number", "company_name", "contact_email", "contact_phone"]
    ordering = ["-created_at", "-id"]
    autocomplete_fields = ["organization"]
    fieldsets = [
        (None, {"fields": ["organization", "customer_number", "company_name", "status"]}),
        ("Contact", {"fields": ["contact_email", "contact_phone"]}),
        ("Converted leads", {"fields": ["converted_leads"]}),
        ("System", {"fields": ["id", "created_at", "updated_at"], "classes": ["collapse"]}),
    ]
    readonly_fields = ["customer_number", "converted_leads", "id", "created_at", "updated_at"]

    class Media:
        css = {"all": ["leads/admin-lists.css"]}

    @admin.display(description="company name", ordering="company_name")
    def company_cell(self, obj):
        return truncated(obj.company_name, "wide")

    @admin.display(description="contact email", ordering="contact_email")
    def email_cell(self, obj):
        return truncated(obj.contact_email, "wide")

    @admin.display(description="created", ordering="created_at")
    def created_cell(self, obj):
        return day_with_time_on_hover(obj.created_at)

    def get_readonly_fields(self, request, obj=None):
        # A customer never moves to another organization.
        return [*self.readonly_fields, "organization"] if obj is not None else self.readonly_fields

    @admin.display(description="leads converted into it")
    def converted_leads(self, obj):
        if obj.pk is None:
            return "—"
        leads = Lead.objects.for_organization(obj.organization_id).filter(converted_customer=obj).order_by("name")
        links = format_html_join(
            "",
            '<a href="{}">{}</a><br>',
            ((reverse("admin:leads_lead_change", args=[lead.pk]), lead) for lead in leads[:MAX_LINKED_LEADS]),
        )
        if not links:
            return "None."
        return format_html('{}<a href="{}">All of them in the lead list</a>', links, _leads_url(obj))

    @admin.display(description="leads")
    def leads_link(self, obj):
        return format_html('<a href="{}">Converted leads</a>', _leads_url(obj))

    def save_model(self, request, obj, form, change):
        if change:
            data = {name: form.cleaned_data[name] for name in form.changed_data}
            if data:
                customer = Customer.objects.get(pk=obj.pk)
                services.customer_update(customer=customer, user=request.user, data=data, via=VIA)
            return
        saved = services.customer_create(
            organization_id=obj.organization_id,
            company_name=obj.company_name,
            contact_email=obj.contact_email,
            contact_phone=obj.contact_phone,
            status=obj.status,
            user=request.user,
            via=VIA,
        )
        obj.pk, obj.customer_number = saved.pk, saved.customer_number
        obj.created_at, obj.updated_at = saved.created_at, saved.updated_at
        obj._state.adding, obj._state.db = False, saved._state.db

    def delete_model(self, request, obj):
        services.customer_delete(customer=obj, user=request.user, via=VIA)

    def delete_queryset(self, request, queryset):
        for customer in queryset.iterator(chunk_size=1000):
            services.customer_delete(customer=customer, user=request.user, via=VIA)


def _leads_url(customer):
    return reverse("admin:leads_lead_changelist") + f"?converted_customer__id__exact={customer.pk}"
