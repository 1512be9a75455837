from django.conf import settings
from django.db import models

from organizations.models import Organization
from organizations.scoping import OrganizationScopedQuerySet

# Versions of an organization's model kept (the newest); older ones are deleted by each training.
KEEP_VERSIONS = 5


class ScoringModel(models.Model):
    """One training of an organization's lead scoring model, stored as plain data (never a pickle).

    `coefficients` is {feature: {value: log-odds}}, `intercept` the log-odds of a lead whose
    every value has no coefficient: a prediction is sigmoid(intercept + the lead's coefficients).
    `format` and `feature_set` name the layout and the feature definitions it was trained with
    (scoring/features.py); a model of another one is refused rather than misread.
    """

    class Status(models.TextChoices):
        TRAINING = "training", "Training"
        READY = "ready", "Ready"
        INSUFFICIENT_DATA = "insufficient_data", "Insufficient data"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.TRAINING)
    format = models.PositiveSmallIntegerField(default=0)
    feature_set = models.CharField(max_length=40, blank=True, default="")
    features = models.JSONField(default=list, blank=True)  # the model's features, in order
    intercept = models.FloatField(null=True, blank=True)
    coefficients = models.JSONField(default=dict, blank=True)  # {feature: {value: log-odds}}
    # Resolved leads learned from: {"leads", "converted", "unqualified"}; when too few, also "needed".
    counts = models.JSONField(default=dict, blank=True)
    # Held-out quality: rocAuc, brier, baselineBrier, calibration, topFactors, assignee's AUC gain, ...
    quality = models.JSONField(default=dict, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    task_id = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    trained_at = models.DateTimeField(null=True, blank=True)
    seconds = models.FloatField(null=True, blank=True)  # how long the training took

    objects = OrganizationScopedQuerySet.as_manager()

    class Meta:
        ordering = ["organization", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "version"], name="scoringmodel_org_version_unique")
        ]

    def __str__(self):
        return f"Scoring model v{self.version} ({self.status})"
