from datetime import timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from organizations.scoping import OrganizationScopedQuerySet

KEY_LIFETIME = timedelta(hours=24)


class IdempotencyKeyQuerySet(OrganizationScopedQuerySet):
    def expired(self, now=None):
        return self.filter(created_at__lte=(now or timezone.now()) - KEY_LIFETIME)


class IdempotencyKey(models.Model):
    """The first response to a request sent with an Idempotency-Key, kept for 24 hours.

    Written in the same transaction as the work it records, so a key never exists without its work.
    """

    organization = models.ForeignKey("organizations.Organization", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    # sha256 of the method, path, query string and body: the same key with another request is refused.
    request_fingerprint = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField(encoder=DjangoJSONEncoder, null=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = IdempotencyKeyQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "user", "key"], name="idempotency_key_unique"),
        ]

    def __str__(self):
        return self.key

    @property
    def is_expired(self):
        return self.created_at <= timezone.now() - KEY_LIFETIME
