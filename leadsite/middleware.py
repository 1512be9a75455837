"""One JSON log line per request, tied to the request id that the response carries."""

import json
import logging
import re
import time
import uuid

from django.utils.functional import SimpleLazyObject

logger = logging.getLogger("leadsite.requests")

REQUEST_ID_HEADER = "X-Request-ID"
# A caller's request id is kept only if it is short and cannot forge log lines or headers.
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


class RequestLogMiddleware:
    """Logs method, path (without the query string), status, duration, user and organization.

    Sits first in MIDDLEWARE, so the duration covers the whole stack and every response,
    redirects and errors included, carries the X-Request-ID header.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        request_id = request.headers.get(REQUEST_ID_HEADER, "")
        if not SAFE_REQUEST_ID.fullmatch(request_id):
            request_id = uuid.uuid4().hex
        request.request_id = request_id

        response = self.get_response(request)

        response[REQUEST_ID_HEADER] = request_id
        user = authenticated_user(request)
        entry = {
            "request_id": request_id,
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            "organization_id": str(user.organization_id) if user and user.organization_id else None,
            "user_id": str(user.pk) if user else None,
        }
        logger.info(json.dumps(entry))
        return response


def authenticated_user(request):
    """The user the request was authenticated as, without a query of its own.

    DRF authenticates inside the view and then sets the user on Django's request too (for the
    middleware), replacing the lazy session user of AuthenticationMiddleware. A lazy session user
    that nothing evaluated (an anonymous API call) is left alone rather than loaded.
    """
    user = request.__dict__.get("user")
    if isinstance(user, SimpleLazyObject):
        user = getattr(request, "_cached_user", None)
    return user if user is not None and user.is_authenticated else None
