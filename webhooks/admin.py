"""Webhooks and their deliveries in the admin: organization admins manage their own, scoped like every page."""

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html

from leadsite.errors import Conflict, flatten_errors
from organizations.models import ROLE_ACTIONS
from organizations.scoping import OrganizationScopedAdminMixin
from webhooks import services
from webhooks.destinations import MAX_URL_LENGTH, DestinationRefused, clean_url
from webhooks.models import ALL_EVENTS, Delivery, Webhook
from webhooks.serializers import EVENT_TYPE_CHOICES

# The roles that may manage webhooks (organization admins) do everything here; the others see nothing.
WEBHOOK_MANAGERS = [role for role, actions in ROLE_ACTIONS.items() if "manage_webhooks" in actions]


class WebhookForm(forms.ModelForm):
    url = forms.CharField(
        max_length=MAX_URL_LENGTH,
        label="URL",
        help_text="https://, a host name or IP address (IPv6 in brackets), a port of 1-65535.",
    )
    event_types = forms.MultipleChoiceField(
        choices=[(value, value) for value in EVENT_TYPE_CHOICES],
        widget=forms.CheckboxSelectMultiple,
        label="Events",
        help_text='"*" is every event type.',
    )

    class Meta:
        model = Webhook
        fields = ["organization", "url", "event_types", "description", "is_active"]

    def clean_url(self):
        try:
            return clean_url(self.cleaned_data["url"])
        except DestinationRefused as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_event_types(self):
        event_types = self.cleaned_data["event_types"]
        if ALL_EVENTS in event_types and len(event_types) > 1:
            raise forms.ValidationError('"*" already means every event type; choose it alone.')
        return event_types


@admin.register(Webhook)
class WebhookAdmin(OrganizationScopedAdminMixin, admin.ModelAdmin):
    role_permissions = {role: {"view", "add", "change", "delete"} for role in WEBHOOK_MANAGERS}
    form = WebhookForm
    list_display = ["url", "events", "is_active", "disabled_reason", "failing_since", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["url", "description"]
    readonly_fields = ["id", "disabled_reason", "failing_since", "deliveries_link", "created_at", "updated_at"]
    actions = ["send_test_event", "rotate_secret"]

    @admin.display(description="events")
    def events(self, obj):
        return ", ".join(obj.event_types)

    @admin.display(description="deliveries")
    def deliveries_link(self, obj):
        if obj.pk is None:
            return "—"
        return format_html('<a href="../../../delivery/?webhook__id__exact={}">Deliveries</a>', obj.pk)

    def get_readonly_fields(self, request, obj=None):
        # A webhook never moves to another organization.
        return [*self.readonly_fields, "organization"] if obj is not None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            data = {name: form.cleaned_data[name] for name in form.changed_data}
            saved = services.webhook_update(webhook=Webhook.objects.get(pk=obj.pk), data=data)
        else:
            saved = services.webhook_create(
                organization=obj.organization,
                url=obj.url,
                event_types=obj.event_types,
                description=obj.description,
            )
            self._show_secret(request, saved)
        obj.pk, obj._state.adding, obj._state.db = saved.pk, False, saved._state.db

    def delete_model(self, request, obj):
        services.webhook_delete(webhook=obj)

    def delete_queryset(self, request, queryset):
        for webhook in queryset:
            services.webhook_delete(webhook=webhook)

    @admin.action(description="Send a test event to the selected webhooks", permissions=["change"])
    def send_test_event(self, request, queryset):
        sent = 0
        for webhook in queryset:
            try:
                services.webhook_send_test(webhook=webhook, user=request.user)
                sent += 1
            except Conflict as exc:
                message = " ".join(item["message"] for item in flatten_errors(exc.detail))
                self.message_user(request, f"{webhook}: {message}", messages.WARNING)
        self.message_user(request, f"Test event queued for {sent} webhook(s); see their deliveries.")

    @admin.action(description="Rotate the signing secret of the selected webhooks", permissions=["change"])
    def rotate_secret(self, request, queryset):
        for webhook in queryset:
            self._show_secret(request, services.webhook_rotate_secret(webhook=webhook))

    def _show_secret(self, request, webhook):
        self.message_user(
            request, f"Signing secret of {webhook} (shown only now, copy it to the receiver): {webhook.secret}"
        )


@admin.register(Delivery)
class DeliveryAdmin(OrganizationScopedAdminMixin, admin.ModelAdmin):
    # Deliveries are written by the worker; here they are read and retried ("change" allows the action).
    role_permissions = {role: {"view", "change"} for role in WEBHOOK_MANAGERS}
    list_display = [
        "created_at",
        "webhook",
        "event_type",
        "status",
        "attempts",
        "last_status_code",
        "last_duration_ms",
        "next_attempt_at",
    ]
    list_filter = ["status", "event_type"]
    list_select_related = ["webhook"]
    search_fields = ["=id", "=event_id"]
    ordering = ["-created_at", "-id"]
    actions = ["retry"]
    fields = [
        "id",
        "webhook",
        "event_id",
        "event_type",
        "status",
        "attempts",
        "last_attempt_at",
        "last_status_code",
        "last_response_body",
        "last_error",
        "last_duration_ms",
        "next_attempt_at",
        "delivered_at",
        "created_at",
        "body",
    ]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Retry the selected deliveries now", permissions=["change"])
    def retry(self, request, queryset):
        retried = 0
        for delivery in queryset:
            try:
                services.delivery_retry(delivery=delivery)
                retried += 1
            except Conflict as exc:
                message = " ".join(item["message"] for item in flatten_errors(exc.detail))
                self.message_user(request, f"{delivery}: {message}", messages.WARNING)
        self.message_user(request, f"{retried} delivery(ies) will be attempted again now.")
