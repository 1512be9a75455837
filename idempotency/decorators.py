"""`Idempotency-Key` support for POST endpoints whose retry must not repeat the work.

A retry with the same key and the same request gets the first response again (status and body)
without the work being done again; the same key with another request is a 422. Keys belong to the
user in their organization and expire after 24 hours. Only completed work is recorded: a request
that fails (an error response) records nothing, so its retry runs again.
"""

import functools
import hashlib
import json

from django.db import IntegrityError, transaction
from rest_framework import exceptions, status
from rest_framework.response import Response

from idempotency.models import IdempotencyKey

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


class IdempotencyKeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "This Idempotency-Key was already used with a different request."
    default_code = "idempotency_key_reused"


def idempotent(view_method):
    """Decorate a view method (`def create(self, request, ...)`) to honour the Idempotency-Key header."""

    @functools.wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return view_method(self, request, *args, **kwargs)
        if not key or len(key) > MAX_KEY_LENGTH:
            raise exceptions.ValidationError({HEADER: [f"Must be 1 to {MAX_KEY_LENGTH} characters."]})
        fingerprint = _fingerprint(request)
        with transaction.atomic():
            record, created = _lock_key(user=request.user, key=key, fingerprint=fingerprint)
            if not created:
                if record.request_fingerprint != fingerprint:
                    raise IdempotencyKeyReused()
                return Response(
                    record.response_body, status=record.response_status, headers={"Idempotent-Replayed": "true"}
                )
            response = view_method(self, request, *args, **kwargs)
            record.response_status = response.status_code
            record.response_body = response.data
            record.save(update_fields=["response_status", "response_body"])
        return response

    wrapper.idempotent = True  # leadsite.schema documents the header and the 422.
    return wrapper


def _fingerprint(request):
    canonical = json.dumps(
        [request.method, request.path.rstrip("/"), sorted(request.query_params.lists()), request.data],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _lock_key(*, user, key, fingerprint):
    """Insert the key's row, or lock the one already there. Returns (record, created).

    Of two simultaneous requests with one key, the second's insert waits on the unique constraint
    until the first commits; it then gets the first one's record (or, if the first failed, the key).
    """
    keys = IdempotencyKey.objects.for_organization(user.organization).filter(user=user, key=key)
    record = keys.select_for_update().first()
    if record is not None and record.is_expired:
        record.delete()
        record = None
    if record is not None:
        return record, False
    try:
        with transaction.atomic():
            record = IdempotencyKey.objects.create(
                organization=user.organization, user=user, key=key, request_fingerprint=fingerprint, response_status=0
            )
        return record, True
    except IntegrityError:
        return keys.select_for_update().get(), False
