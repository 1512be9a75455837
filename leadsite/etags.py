"""ETag and If-Match for single leads and customers: optimistic concurrency for clients that ask for it.

Every write of a lead or customer bumps its `version` column; the ETag is that version, strong
(`"7"`). A request with `If-Match` (PUT, PATCH, DELETE, convert, unconvert, merge) is carried out
only if the object's current ETag is one of those it names (or `*`); otherwise it is a 412
(`precondition_failed`) whose `ETag` header is the current one. The services compare on the row
they have locked, so two clients that both read version 7 cannot both write. Without `If-Match`
the last writer wins.
"""

import re

from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.response import Response

# An entity-tag in a header list: "abc", W/"abc" (weak: never matches a strong comparison), or *.
_TAG = re.compile(r'\s*(W/)?("[^"]*"|\*|[^,\s]+)\s*(?:,|$)')


def etag(obj) -> str:
    """The strong ETag of a lead or customer: its version, quoted."""
    return f'"{obj.version}"'


class PreconditionFailed(APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The resource has changed since the version If-Match names; fetch it again."
    default_code = "precondition_failed"

    def __init__(self, current_etag: str):
        super().__init__(
            f"The resource has changed since the version If-Match names: it is now {current_etag}. "
            "Fetch it again and retry."
        )
        self.etag = current_etag  # the error handler sends it as the ETag header


class IfMatch:
    """The tags of a request's If-Match header. `check(obj)` raises PreconditionFailed unless one matches."""

    def __init__(self, header: str):
        self.any = False
        self.tags = set()
        for weak, tag in _TAG.findall(header):
            if tag == "*":
                self.any = True
            elif not weak:
                self.tags.add(tag if tag.startswith('"') else f'"{tag}"')  # a bare 7 is read as "7"

    @classmethod
    def from_request(cls, request) -> "IfMatch | None":
        header = request.headers.get("If-Match")
        return None if header is None else cls(header)

    def check(self, obj) -> None:
        if not (self.any or etag(obj) in self.tags):
            raise PreconditionFailed(etag(obj))


def check_if_match(if_match: IfMatch | None, obj) -> None:
    """What every service calls on the row it has locked; nothing to do without If-Match."""
    if if_match is not None:
        if_match.check(obj)


class ETagMixin:
    """For a viewset: its single-object responses (retrieve, and whatever sets `self.etag_object`) carry an ETag."""

    etag_object = None

    def retrieve(self, request, *args, **kwargs):
        self.etag_object = self.get_object()
        return Response(self.get_serializer(self.etag_object).data)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if self.etag_object is not None and 200 <= response.status_code < 300 and response.status_code != 204:
            response["ETag"] = etag(self.etag_object)
        return response


# For the schema (drf-spectacular): the request header and the response header.
IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    description='Carry out the write only if the object\'s ETag is this one (e.g. "7"), else 412 with the current '
    "ETag. Without it the last writer wins.",
)
ETAG = OpenApiParameter(
    "ETag",
    str,
    OpenApiParameter.HEADER,
    description='The object\'s version, a strong entity-tag (e.g. "7"); send it as If-Match to write only that '
    "version. On a 412: the current one.",
    response=[200, 201, 412],
)
