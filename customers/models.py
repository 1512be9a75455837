import uuid

from django.db import models

from organizations.models import Organization
from organizations.scoping import OrganizationScopedQuerySet


class Customer(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        INACTIVE = "inactive", "Inactive"
        CHURNED = "churned", "Churned"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="customers")
    # Shown as "customerId" in the API: CUST-001, numbered per organization.
    customer_number = models.CharField(max_length=32, editable=False)
    company_name = models.CharField(max_length=255)
    contact_email = models.EmailField(max_length=254, null=True, blank=True)
    contact_phone = models.CharField(max_length=50, null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Bumped by every write: the ETag (leadsite/etags.py).
    version = models.PositiveIntegerField(default=1, db_default=1, editable=False)

    objects = OrganizationScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "customer_number"], name="customer_number_unique_per_org"),
            models.CheckConstraint(
                condition=models.Q(status__in=["active", "inactive", "churned"]), name="customer_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "created_at", "id"], name="customer_org_created_idx"),
            models.Index(fields=["organization", "status"], name="customer_org_status_idx"),
        ]

    def __str__(self):
        return f"{self.customer_number} {self.company_name}"
