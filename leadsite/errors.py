"""One error format for every response: {"error": ..., "details": [{"message": ..., "field": ...}]}."""

import logging
import math
import sys
from http import HTTPStatus

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

logger = logging.getLogger("leadsite.errors")


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the resource."
    default_code = "conflict"

    def __init__(self, detail=None, code=None, extra=None):
        super().__init__(detail, code)
        # Extra keys for the error detail, e.g. {"existingId": ...}.
        self.extra = extra or {}


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The service is temporarily unavailable; try again shortly."
    default_code = "service_unavailable"


# The database went away (restart, failover, network, connection limit): the client may retry shortly.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)


def error_body(status_code, details):
    return {"error": HTTPStatus(status_code).phrase, "details": details}


def flatten_errors(detail, field=None):
    """Turn DRF's nested error detail into a flat list of {"message", "field"}."""
    if isinstance(detail, dict):
        # simplejwt's InvalidToken carries {"detail", "code", "messages"}.
        if "detail" in detail and "code" in detail:
            return [_item(detail["detail"], field)]
        items = []
        for key, value in detail.items():
            if key in ("non_field_errors", "detail"):
                items += flatten_errors(value, field)
            else:
                items += flatten_errors(value, f"{field}.{key}" if field else str(key))
        return items
    if isinstance(detail, list):
        items = []
        for index, value in enumerate(detail):
            # A list of dicts is a list of nested objects: name the index.
            nested_field = f"{field}[{index}]" if isinstance(value, dict) and field else field
            items += flatten_errors(value, nested_field)
        return items
    return [_item(detail, field)]


def _item(message, field):
    item = {"message": str(message)}
    if field:
        item["field"] = field
    return item


def api_exception_handler(exc, context):
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DATABASE_UNAVAILABLE):
        logger.warning("Database unavailable in %s: %s", context.get("view").__class__.__name__, exc)
        exc = ServiceUnavailable()

    if not isinstance(exc, exceptions.APIException):
        if settings.DEBUG:
            return None  # Django's debug page, with the traceback.
        logger.exception("Unhandled error in %s", context.get("view").__class__.__name__)
        set_rollback()
        return Response(
            error_body(500, [{"message": "An unexpected error occurred."}]),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )

    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(math.ceil(exc.wait))

    details = flatten_errors(exc.detail)
    for item in details:
        item.update(getattr(exc, "extra", {}))
    set_rollback()
    return Response(error_body(exc.status_code, details), status=exc.status_code, headers=headers)


@csrf_exempt  # The catch-all route answers every method: a PATCH to an unknown path is a 404, not a CSRF 403.
def not_found_view(request, exception=None, *args, **kwargs):
    return JsonResponse(error_body(404, [{"message": "The requested resource was not found."}]), status=404)


def server_error_view(request, *args, **kwargs):
    # Django calls this while it handles the exception, so a lost database can be told from a bug.
    if isinstance(sys.exception(), DATABASE_UNAVAILABLE):
        return JsonResponse(error_body(503, [{"message": ServiceUnavailable.default_detail}]), status=503)
    return JsonResponse(error_body(500, [{"message": "An unexpected error occurred."}]), status=500)
