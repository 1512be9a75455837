"""Refuse request bodies over settings.MAX_REQUEST_BODY_BYTES with a 413 in the error format."""

from django.conf import settings

from leadsite.errors import error_response


class RequestBodyLimitMiddleware:
    """Looks at Content-Length before anything reads the body (Django reads no body without one)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.MAX_REQUEST_BODY_BYTES
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit:
            message = f"The request body is {length} bytes; the limit is {limit} bytes."
            return error_response(413, message, "too_large")
        return self.get_response(request)
