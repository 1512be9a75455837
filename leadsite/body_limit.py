"""Refuse request bodies over settings.MAX_REQUEST_BODY_BYTES with a 413 in the error format.

A view may allow more by carrying `max_request_body_bytes` (the admin's lead import does, for its
upload); every other view, the API's included, keeps the setting's limit. Likewise a view may take
a form of more fields than DATA_UPLOAD_MAX_NUMBER_FIELDS by carrying `max_request_fields` (the
import's mapping page: a field per column of the file).
"""

from urllib.parse import parse_qsl

from django.conf import settings
from django.core.exceptions import TooManyFieldsSent
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict

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
        fields = getattr(view_func, "max_request_fields", None)
        if (
            fields is not None
            and request.method == "POST"
            and request.content_type == "application/x-www-form-urlencoded"
        ):
            # Read now, before the CSRF check reads request.POST with the site's limit.
            request.POST, request._files = form_fields(request, fields), MultiValueDict()
        return None


def form_fields(request, max_fields: int) -> QueryDict:
    """The urlencoded body as request.POST, as Django reads it but with at most `max_fields` fields."""
    encoding = request.encoding or settings.DEFAULT_CHARSET
    try:
        text = request.body.decode(encoding)
    except UnicodeDecodeError:
        text = request.body.decode("iso-8859-1")  # as Django does
    post = QueryDict(mutable=True, encoding=encoding)
    try:
        pairs = parse_qsl(text, keep_blank_values=True, encoding=encoding, max_num_fields=max_fields)
    except ValueError:
        raise TooManyFieldsSent(f"The form has more than {max_fields} fields.") from None
    for key, value in pairs:
        post.appendlist(key, value)
    post._mutable = False
    return post
