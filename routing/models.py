"""Assignment rules: an ordered list per organization; the first whose conditions hold and whose
pool has someone free gets the lead, by its method. What each method needs to be fair (whose turn,
weights owed, how many today) is kept on the member rows and changed only under their row locks."""

from django.conf import settings
from django.db import models

from leadsite.ids import uuid7
from organizations.models import Organization
from organizations.scoping import OrganizationScopedQuerySet


class Method(models.TextChoices):
    ROUND_ROBIN = "round_robin", "Round robin"
    WEIGHTED = "weighted", "Weighted"
    LEAST_LOADED = "least_loaded", "Least loaded"


class AssignmentRule(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)
    # 1, 2, 3, ... without gaps within the organization; the first matching rule wins.
    position = models.PositiveIntegerField()
    # {"source": [...], "status": [...], "customFields": {key: [values]}, "emailDomain": [...], "hasCompany": bool,
    #  "scoreMin", "scoreMax", "predictedScoreMin", "predictedScoreMax"}: all must hold; {} matches every lead.
    conditions = models.JSONField(default=dict, blank=True)
    method = models.CharField(max_length=20, choices=Method.choices, default=Method.ROUND_ROBIN)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrganizationScopedQuerySet.as_manager()

    class Meta:
        ordering = ["position", "created_at"]
        indexes = [models.Index(fields=["organization", "position"], name="rule_org_position_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(method__in=["round_robin", "weighted", "least_loaded"]), name="rule_method_valid"
            )
        ]

    def __str__(self):
        return self.name


class RuleMember(models.Model):
    """A user in a rule's pool, with their share and capacity, and the rule's fairness state for them."""

    id = models.BigAutoField(primary_key=True)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+", db_index=False)
    rule = models.ForeignKey(AssignmentRule, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField(default=0)  # order in the rule's list
    weight = models.PositiveIntegerField(default=1)
    max_open = models.PositiveIntegerField(null=True, blank=True)
    max_per_day = models.PositiveIntegerField(null=True, blank=True)
    # Fairness state. `turn`: the rule's running number of the member's last lead (0: none yet); round robin
    # and least loaded's ties go to the lowest. `credit`: smooth weighted round robin's current weight.
    turn = models.PositiveBigIntegerField(default=0)
    credit = models.BigIntegerField(default=0)
    last_assigned_at = models.DateTimeField(null=True, blank=True)
    # maxPerDay: leads given on `day` (UTC).
    day = models.DateField(null=True, blank=True)
    assigned_on_day = models.PositiveIntegerField(default=0)

    objects = OrganizationScopedQuerySet.as_manager()

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "rule", "user"], name="rule_member_unique_user"),
            models.CheckConstraint(condition=models.Q(weight__gte=1), name="rule_member_weight_positive"),
        ]

    def __str__(self):
        return f"{self.user_id} in {self.rule_id}"
