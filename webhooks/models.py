"""Webhooks (where an organization wants its events pushed) and their deliveries (one event to one webhook)."""

from django.db import models
from django.utils import timezone

from leadsite.ids import uuid7
from organizations.models import Organization
from organizations.scoping import OrganizationScopedQuerySet

ALL_EVENTS = "*"


class Webhook(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="webhooks")
    # Validated by webhooks.destinations.parse_url (API and admin alike), not by Django's URLValidator.
    url = models.CharField(max_length=2000)
    # Event types this webhook receives, or ["*"] for every type.
    event_types = models.JSONField(default=list)
    description = models.CharField(max_length=500, blank=True)
    # Standard Webhooks form: "whsec_" + base64 of 32 random bytes; shown to the user once.
    secret = models.CharField(max_length=100, editable=False)
    is_active = models.BooleanField(default=True)
    # Why the worker disabled it (every delivery failing for days); empty when enabled by a user.
    disabled_reason = models.CharField(max_length=500, blank=True)
    # The first failed attempt since the last successful one; None while deliveries succeed.
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrganizationScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "is_active"], name="webhook_org_active_idx")]

    def __str__(self):
        return self.url

    def wants(self, event_type: str) -> bool:
        return ALL_EVENTS in self.event_types or event_type in self.event_types

    def delivery_rows(self):
        """Its deliveries, reached through the organization like every row (the indexes lead with it)."""
        return Delivery.objects.for_organization(self.organization_id).filter(webhook=self)


class Delivery(models.Model):
    """One event on its way to one webhook; its id is the `webhook-id` header of every attempt."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending (next attempt scheduled)"
        QUEUED = "queued", "Queued (waits for the endpoint's attempt in flight)"
        SENDING = "sending", "Sending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.UUIDField()
    event_type = models.CharField(max_length=100)
    # The exact request body, the same bytes on every attempt.
    body = models.TextField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # While SENDING: the attempt is abandoned (its worker died) after this time.
    sending_until = models.DateTimeField(null=True, blank=True, editable=False)
    # The task that makes the next attempt: written before each attempt, so a killed worker loses nothing.
    task_id = models.UUIDField(null=True, blank=True, editable=False)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_response_body = models.TextField(blank=True)  # its first 1 KB
    last_error = models.CharField(max_length=500, blank=True)
    last_duration_ms = models.PositiveIntegerField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = OrganizationScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"
        indexes = [
            models.Index(fields=["organization", "webhook", "-created_at", "-id"], name="delivery_newest_idx"),
            models.Index(fields=["organization", "webhook", "status", "created_at"], name="delivery_status_idx"),
        ]

    def __str__(self):
        return f"{self.event_type} to {self.webhook_id}"
