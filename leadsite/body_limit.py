"""Refuse request bodies over settings.MAX_REQUEST_BODY_BYTES with a 413 in the error format.

A view may allow more by carrying `max_request_body_bytes` (the admin's lead import does, for its
upload); every other view, the API's included, keeps the setting's limit.
"""

from django.conf import settings

from leadsite.errors import error_response


class RequestBodyLimitMiddleware:
    """Looks at Content-Length once the view is known and before anything reads the body
    (Django reads no body without one)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        limit = getattr(view_func, "max_request_body_bytes", settings.MAX_REQUEST_BODY_BYTES)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit:
            message = f"The request body is {length} bytes; the limit is {limit} bytes."
            return error_response(413, message, "too_large")
        return None
