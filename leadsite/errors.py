"""One error format for every response: {"error": ..., "details": [{"message": ..., "field": ..., "code": ...}]}.

`code` is a stable machine-readable name from ERROR_CODES: DRF's ErrorDetail.code, with DRF's and
Django's own names mapped to ours by CODE_ALIASES. Whoever raises an error passes its code
(`ValidationError({...}, code="...")`, `Conflict("...", code="lead_converted")`).
"""

import logging
import math
import sys
from http import HTTPStatus

from django.conf import settings
from django.core.exceptions import DisallowedHost, PermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

logger = logging.getLogger("leadsite.errors")

# Every code an error detail can carry (the OpenAPI schema lists them as an enum, the README as a table).
ERROR_CODES = {
    "required": "A required field is missing.",
    "null": "The field may not be null.",
    "blank": "The field may not be blank.",
    "invalid": "The value is malformed or of the wrong type.",
    "invalid_choice": "The value is not one of the allowed choices (the message lists them).",
    "too_long": "The text or list is longer than allowed.",
    "too_short": "The text or list is shorter than allowed.",
    "out_of_range": "The number or date is outside the allowed range.",
    "unstorable_text": "The text holds NUL or an unpaired surrogate, which cannot be stored.",
    "too_deep": "The JSON nests deeper than allowed.",
    "invalid_json": "The body is not valid JSON.",
    "unknown_parameter": "A query parameter or body field this endpoint does not know.",
    "duplicate_email": "The email is already used.",
    "lead_converted": "The lead has already been converted to a customer.",
    "use_convert_endpoint": "A lead becomes converted only through POST /leads/{id}/convert-to-customer.",
    "conflict": "The request conflicts with the current state of the resource.",
    "lead_resolved": "The lead is converted or unqualified: its outcome is known, it has no prediction.",
    "no_scoring_model": "The organization has no (ready) lead scoring model; POST /scoring/model/train trains one.",
    "incompatible_scoring_model": "The stored scoring model has another format or feature set; retrain it.",
    "precondition_failed": "The resource changed since the version the request names.",
    "idempotency_key_reused": "The Idempotency-Key was used with a different request.",
    "url_not_allowed": "The webhook URL is not https, or its host resolves to a loopback, private or metadata address.",
    "webhook_disabled": "The webhook is disabled; enable it (isActive: true) first.",
    "delivery_in_flight": "An attempt of this delivery is in flight; wait for its outcome.",
    "invalid_credentials": "Wrong email or password.",
    "not_authenticated": "No token was sent.",
    "authentication_failed": "The credentials were refused.",
    "token_invalid": "The token is malformed, forged, revoked or not for this purpose.",
    "token_expired": "The token has expired.",
    "user_inactive": "The token's user is deactivated.",
    "organization_inactive": "The token's organization is deactivated.",
    "permission_denied": "Your role does not allow this action.",
    "not_found": "No such resource in your organization (or no such path).",
    "method_not_allowed": "The path does not accept this HTTP method.",
    "not_acceptable": "No response in the media type the Accept header asks for.",
    "unsupported_media_type": "The body's Content-Type is not JSON.",
    "too_large": "The request body is larger than allowed.",
    "uri_too_long": "The request line (method, path and query string) is longer than the server accepts.",
    "headers_too_large": "The request's headers are too many or too large.",
    "throttled": "Too many requests; retry after the Retry-After header's seconds.",
    "invalid_host": "The Host header names a host this server does not serve.",
    "bad_request": "The request is malformed.",
    "server_error": "An unexpected error; nothing was changed.",
    "service_unavailable": "The database is unreachable; retry shortly.",
}
ERROR_CODE_CHOICES = list(ERROR_CODES.items())


# The error format as the OpenAPI schema documents it (every view's 4xx responses).
class ErrorDetailSerializer(serializers.Serializer):
    message = serializers.CharField()
    field = serializers.CharField(required=False)
    code = serializers.ChoiceField(choices=ERROR_CODE_CHOICES, help_text="A stable machine-readable name.")


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField()
    details = ErrorDetailSerializer(many=True)


# DRF's, Django's and simplejwt's own codes, and the one we answer with.
CODE_ALIASES = {
    "max_length": "too_long",
    "min_length": "too_short",
    "max_value": "out_of_range",
    "min_value": "out_of_range",
    "max_digits": "out_of_range",
    "max_decimal_places": "out_of_range",
    "max_whole_digits": "out_of_range",
    "max_string_length": "out_of_range",
    "overflow": "out_of_range",
    "incorrect_type": "invalid",
    "not_a_list": "invalid",
    "not_a_dict": "invalid",
    "date": "invalid",
    "datetime": "invalid",
    "make_aware": "invalid",
    "invalid_pk_value": "invalid",
    "empty": "blank",
    "does_not_exist": "not_found",
    "parse_error": "invalid_json",
    "no_active_account": "invalid_credentials",
    "token_not_valid": "token_invalid",
    "user_not_found": "token_invalid",
    "error": "server_error",
}

# A detail whose code is missing or unknown takes the code of its response's status.
STATUS_CODES = {
    400: "invalid",
    401: "authentication_failed",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    412: "precondition_failed",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "throttled",
    500: "server_error",
    503: "service_unavailable",
}


def error_code(code, status_code=400):
    """The stable name for a raised error's code (None or unknown: the status's own)."""
    code = CODE_ALIASES.get(code, code)
    return code if code in ERROR_CODES else STATUS_CODES.get(status_code, "invalid")


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


def flatten_errors(detail, field=None, status_code=400):
    """Turn DRF's nested error detail into a flat list of {"message", "field", "code"}."""
    if isinstance(detail, dict):
        # simplejwt's InvalidToken carries {"detail", "code", "messages"}.
        if "detail" in detail and "code" in detail:
            return [error_item(detail["detail"], field, str(detail["code"]), status_code)]
        items = []
        for key, value in detail.items():
            if key in ("non_field_errors", "detail"):
                items += flatten_errors(value, field, status_code)
            else:
                items += flatten_errors(value, f"{field}.{key}" if field else str(key), status_code)
        return items
    if isinstance(detail, list):
        items = []
        for index, value in enumerate(detail):
            # A list of dicts is a list of nested objects: name the index.
            nested_field = f"{field}[{index}]" if isinstance(value, dict) and field else field
            items += flatten_errors(value, nested_field, status_code)
        return items
    return [error_item(detail, field, getattr(detail, "code", None), status_code)]


def error_item(message, field=None, code=None, status_code=400):
    item = {"message": str(message)}
    if field:
        item["field"] = field
    item["code"] = error_code(code, status_code)
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
            error_body(500, [error_item("An unexpected error occurred.", code="server_error")]),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )

    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(math.ceil(exc.wait))
    if getattr(exc, "etag", None):  # a 412 (leadsite.etags): the object's current ETag
        headers["ETag"] = exc.etag

    details = flatten_errors(exc.detail, status_code=exc.status_code)
    for item in details:
        item.update(getattr(exc, "extra", {}))
    body = error_body(exc.status_code, details)
    body.update(getattr(exc, "body_extra", {}))  # e.g. a failed atomic batch's results (leads/batch.py)
    set_rollback()
    return Response(body, status=exc.status_code, headers=headers)


def error_response(status_code, message, code):
    return JsonResponse(error_body(status_code, [error_item(message, code=code)]), status=status_code)


@csrf_exempt  # The catch-all route answers every method: a PATCH to an unknown path is a 404, not a CSRF 403.
def not_found_view(request, exception=None, *args, **kwargs):
    return error_response(404, "The requested resource was not found.", "not_found")


def bad_request_view(request, exception=None, *args, **kwargs):
    """Django's 400 for a SuspiciousOperation met before any view, e.g. a Host outside ALLOWED_HOSTS."""
    if isinstance(exception, DisallowedHost):
        return error_response(400, "This server does not serve the host the request names.", "invalid_host")
    return error_response(400, "The request is malformed.", "bad_request")


def server_error_view(request, *args, **kwargs):
    # Django calls this while it handles the exception, so a lost database can be told from a bug.
    if isinstance(sys.exception(), DATABASE_UNAVAILABLE):
        return error_response(503, ServiceUnavailable.default_detail, "service_unavailable")
    return error_response(500, "An unexpected error occurred.", "server_error")
