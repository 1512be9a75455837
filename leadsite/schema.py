from drf_spectacular import openapi
from drf_spectacular.drainage import get_override
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework.permissions import SAFE_METHODS, AllowAny

from leadsite.errors import ErrorSerializer
from leadsite.strict import StrictTypesMixin

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "minLength": 1, "maxLength": 255},
    OpenApiParameter.HEADER,
    description="Any unique string (at most 255 characters). A retry with the same key and request returns the "
    "first response without doing the work again; the same key with another request is a 422. Keys expire after "
    "24 hours.",
)

# What every authenticated route's 401 and 404 mean; a view module adds its own 400, 403, 409 and so on.
COMMON_ERROR_DESCRIPTIONS = {401: "Missing or invalid token", 404: "Not found in your organization"}


def error_responses(descriptions: dict):
    """A view module's `_errors(*codes)`: the documented error answers of those codes, in the API's error format."""
    described = {**COMMON_ERROR_DESCRIPTIONS, **descriptions}

    def errors(*codes):
        return {code: OpenApiResponse(ErrorSerializer, description=described[code]) for code in codes}

    return errors


# The schema and docs pages keep their slash; every API route also answers without one.
PATHS_WITH_SLASH = ("/api/",)


def drop_optional_slash_duplicates(endpoints):
    """Document each API route once, under the spec's slash-less path (`/leads`, not `/leads/`)."""
    cleaned = []
    for path, path_regex, method, callback in endpoints:
        if path.endswith("/") and not path.startswith(PATHS_WITH_SLASH):
            path = path.rstrip("/")
        cleaned.append((path, path_regex, method, callback))
    return cleaned


class AutoSchema(openapi.AutoSchema):
    """Documents the error responses every view can give, so no endpoint forgets one.

    Added where they can occur, unless the view documents the code itself: 400 (malformed body),
    401 (needs a token), 403 (a role may be refused), 404 (a path naming an object), 413 (body too
    large), 422 (an Idempotency-Key reused) and 429 (throttled, with Retry-After).
    """

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code, description in self._error_responses():
            if str(code) not in responses:
                error = OpenApiResponse(ErrorSerializer, description=description)
                responses[str(code)] = self._get_response_for_code(error, str(code), direction=direction)
        return responses

    def _error_responses(self):
        from organizations.permissions import IsOrganizationAdmin, RolePermission

        has_body = self.method in ("POST", "PUT", "PATCH")
        permissions = self.view.get_permissions()
        needs_token = any(not isinstance(permission, AllowAny) for permission in permissions)
        refuses_roles = any(
            isinstance(permission, IsOrganizationAdmin)
            or (isinstance(permission, RolePermission) and self.method not in SAFE_METHODS)
            for permission in permissions
        )
        candidates = [
            (400, "Invalid input", has_body),
            (401, "Missing or invalid token", needs_token),
            (403, "Your role does not allow this action", refuses_roles),
            (404, "Not found in your organization", "{" in self.path),
            (422, "Idempotency-Key already used with a different request", self._is_idempotent()),
            (413, "Request body too large", has_body),
            (429, "Too many requests; retry after the Retry-After header's seconds", bool(self.view.get_throttles())),
        ]
        return [(code, description) for code, description, applies in candidates if applies]

    def _map_serializer(self, serializer, direction, bypass_extensions=False):
        schema = super()._map_serializer(serializer, direction, bypass_extensions)
        if direction == "request" and isinstance(serializer, StrictTypesMixin):
            # As StrictTypesMixin reads a body: no field but these; the read-only ones (a GET's whole
            # object, sent back) are taken and ignored, whatever their value.
            properties = schema.setdefault("properties", {})
            for field in serializer.fields.values():
                if field.read_only and field.field_name not in properties:
                    properties[field.field_name] = {
                        "readOnly": True,
                        "description": "Shown in responses; ignored if sent.",
                    }
            schema["additionalProperties"] = False
        return schema

    def _get_serializer_field_meta(self, field, direction):
        meta = super()._get_serializer_field_meta(field, direction)
        # A field whose own schema (extend_schema_field) states its minLength keeps it, not "non-blank: 1".
        override = get_override(field, "field")
        if isinstance(override, dict) and "minLength" in override:
            meta.pop("minLength", None)
        return meta

    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        for parameter in (operation or {}).get("parameters", []):
            # Every optional query parameter treats `?name=` as absent; say so.
            if parameter["in"] == "query" and not parameter.get("required"):
                parameter["allowEmptyValue"] = True
        return operation

    def _is_idempotent(self):
        handler = getattr(self.view, getattr(self.view, "action", None) or self.method.lower(), None)
        return getattr(handler, "idempotent", False)

    def get_override_parameters(self):
        parameters = super().get_override_parameters()
        if self._is_idempotent():
            parameters = [*parameters, IDEMPOTENCY_KEY]
        return parameters

    def _get_response_headers_for_code(self, status_code, direction="response"):
        headers = super()._get_response_headers_for_code(status_code, direction)
        if self._is_idempotent() and str(status_code).startswith("2"):
            headers["Idempotent-Replayed"] = {
                "schema": {"type": "string", "enum": ["true"]},
                "description": "Present when this is the stored response to an earlier request with the same key.",
            }
        if str(status_code) == "429":
            headers["Retry-After"] = {
                "schema": {"type": "integer", "minimum": 0},
                "description": "Seconds to wait before retrying.",
            }
        return headers
