"""POST /leads/batch/create, /update, /upsert, /delete and /read: the API of leads/batch.py.

The body is {"inputs": [...], "atomic": false} (upsert also "idProperty"): 1 to 100 inputs (more is a
413). The answer lists every input's result in input order: 200 (201 for create) when all
succeeded, 207 Multi-Status when some failed, 409 when an atomic batch failed (nothing written).
"""

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.response import Response

from idempotency.decorators import idempotent
from leads import batch
from leads.serializers import LeadSerializer
from leadsite.errors import ErrorDetailSerializer, ErrorSerializer
from leadsite.parameters import query_flag
from leadsite.strict import StrictTypesMixin
from organizations.permissions import IsOrganizationMember


class TooManyInputs(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"


class BatchPermission(IsOrganizationMember):
    """What the role may do with each input: read (every role), delete (as DELETE /leads/{id}), or change."""

    message = "Your role does not allow this action."
    needs = {"batch_read": "view", "batch_delete": "delete"}

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        return request.user.may(self.needs.get(view.action, "change"))


STATUS_HELP = (
    "The status the input's single request would have answered: 201 created, 200 updated or read, 204 deleted; "
    "400 invalid, 404 no such lead in your organization, 409 conflict (duplicate email, converted lead, "
    "the batch names the lead twice), 412 `version` is not the lead's; in a failed atomic batch, 424 for an input "
    "without errors of its own (not written because others failed). With several errors, the first the single "
    "request would have stopped at (404, 400, 412, 409)."
)


class BatchResultSerializer(serializers.Serializer):
    index = serializers.IntegerField(min_value=0, help_text="The input's position in `inputs`, from 0.")
    status = serializers.ChoiceField(choices=[200, 201, 204, 400, 404, 409, 412, 424], help_text=STATUS_HELP)
    id = serializers.UUIDField(allow_null=True, help_text="The lead's id (null for a new lead not written).")
    lead = LeadSerializer(required=False, help_text="The lead as written or read (not for 204 and errors).")
    errors = ErrorDetailSerializer(
        many=True, required=False, help_text="Every error of the input, as a single request's error details."
    )


class BatchResponseSerializer(serializers.Serializer):
    results = BatchResultSerializer(many=True, help_text="One per input, in input order.")
    numErrors = serializers.IntegerField(min_value=0, help_text="How many inputs failed.")


class BatchFailedSerializer(ErrorSerializer):
    results = BatchResultSerializer(many=True, help_text="One per input, in input order; nothing was written.")
    numErrors = serializers.IntegerField(min_value=1, help_text="How many inputs failed.")


def inputs_field(description: str, item_properties: dict):
    """The `inputs` list: objects checked one by one (an input's mistakes are its own errors, not the batch's)."""

    @extend_schema_field(
        {
            "type": "array",
            "minItems": 1,
            "description": f"1 to {batch.MAX_INPUTS} inputs (more is a 413). {description}",
            "items": {"type": "object", "properties": item_properties, "additionalProperties": True},
        }
    )
    class InputsField(serializers.ListField):
        pass

    return InputsField(child=serializers.DictField(), min_length=1)


LEAD_FIELDS = "the fields of POST /leads (LeadCreateRequest)"
ID_PROPERTY = {"id": {"description": "The lead's id (UUID)."}}
VERSION_PROPERTY = {
    "version": {
        "description": 'Optional: write only if the lead is at this version, as If-Match does (its ETag "7" is '
        "version 7); otherwise the input's 412."
    }
}
ATOMIC = serializers.BooleanField(
    required=False,
    default=False,
    help_text="All or nothing: if any input fails, nothing is written and the answer is a 409 listing every "
    "failing input.",
)


class BatchCreateSerializer(StrictTypesMixin, serializers.Serializer):
    inputs = inputs_field(f"Each input: {LEAD_FIELDS}.", {})
    atomic = ATOMIC


class BatchUpdateSerializer(StrictTypesMixin, serializers.Serializer):
    inputs = inputs_field(
        "Each input: the lead's `id`, optionally its `version`, and the fields to change, as PATCH /leads/{id} "
        "takes them (customFields is a JSON merge patch).",
        {**ID_PROPERTY, **VERSION_PROPERTY},
    )
    atomic = ATOMIC


class BatchUpsertSerializer(StrictTypesMixin, serializers.Serializer):
    inputs = inputs_field(
        "Each input: a lead's fields. If idProperty finds a lead, the input updates it as PATCH /leads/{id} does "
        f"(200, optionally only at its `version`), else it creates one with {LEAD_FIELDS} (201).",
        {**ID_PROPERTY, **VERSION_PROPERTY},
    )
    idProperty = serializers.ChoiceField(
        choices=["email", "id"],
        help_text="How an input finds its lead. email: the lead with that email, case-insensitively (required in "
        "each input; several such leads are the input's 409). id: the lead with the input's id (unknown: 404); an "
        "input without id creates a lead.",
    )
    atomic = ATOMIC


class BatchDeleteSerializer(StrictTypesMixin, serializers.Serializer):
    inputs = inputs_field(
        "Each input: {id, version?}. A converted lead only with ?force=true.", {**ID_PROPERTY, **VERSION_PROPERTY}
    )
    atomic = ATOMIC


class BatchReadSerializer(StrictTypesMixin, serializers.Serializer):
    inputs = inputs_field("Each input: {id}.", ID_PROPERTY)


ALLOW_DUPLICATE = OpenApiParameter(
    "allowDuplicate", bool, description="Create new leads even if a lead with their email exists (default false)."
)
FORCE = OpenApiParameter("force", bool, description="Needed to delete converted leads (default false).")
FORBIDDEN = {403: OpenApiResponse(ErrorSerializer, description="Your role does not allow this action")}


def batch_responses(success: int) -> dict:
    return {
        success: OpenApiResponse(BatchResponseSerializer, description="Every input succeeded"),
        207: OpenApiResponse(BatchResponseSerializer, description="Some inputs failed: see each result's errors"),
        409: OpenApiResponse(BatchFailedSerializer, description="atomic: some inputs failed; nothing was written"),
        413: OpenApiResponse(ErrorSerializer, description=f"More than {batch.MAX_INPUTS} inputs, or a body over 1 MB"),
        **FORBIDDEN,
    }


BATCH = {"detail": False, "methods": ["post"], "filter_backends": [], "pagination_class": None}


# The batch actions of the lead viewset (OrganizationScopedViewSetMixin gives self.organization). No
# docstring: drf-spectacular would take it as the description of every lead operation.
class LeadBatchMixin:
    batch_query_params = {
        "batch_create": ("allowDuplicate",),
        "batch_upsert": ("allowDuplicate",),
        "batch_delete": ("force",),
    }

    def accepted_query_params(self):
        return super().accepted_query_params() | set(self.batch_query_params.get(getattr(self, "action", None), ()))

    @extend_schema(
        operation_id="leads_batch_create",
        request=BatchCreateSerializer,
        parameters=[ALLOW_DUPLICATE],
        responses=batch_responses(201),
        examples=[
            OpenApiExample(
                "Two leads",
                request_only=True,
                value={
                    "inputs": [
                        {"name": "Acme Corporation", "email": "contact@acme.example", "source": "website", "score": 75},
                        {"name": "Globex", "company": "Globex Inc.", "customFields": {"industry": "Energy"}},
                    ]
                },
            )
        ],
        description="Create up to 100 leads, each as POST /leads would (its validation, duplicate check, history "
        "and events); an email twice in the batch is a duplicate too.",
    )
    @action(url_path="batch/create", permission_classes=[BatchPermission], **BATCH)
    @idempotent
    def batch_create(self, request):
        body = self._batch_body(BatchCreateSerializer)
        items = batch.batch_create(
            organization=self.organization,
            user=request.user,
            inputs=body["inputs"],
            context=self.get_serializer_context(),
            atomic=body["atomic"],
            allow_duplicate=query_flag(request, "allowDuplicate"),
        )
        return self._batch_response(items, success=201)

    @extend_schema(
        operation_id="leads_batch_update",
        request=BatchUpdateSerializer,
        responses=batch_responses(200),
        description="Update up to 100 leads, each as PATCH /leads/{id} would.",
    )
    @action(url_path="batch/update", permission_classes=[BatchPermission], **BATCH)
    @idempotent
    def batch_update(self, request):
        body = self._batch_body(BatchUpdateSerializer)
        items = batch.batch_update(
            organization=self.organization,
            user=request.user,
            inputs=body["inputs"],
            context=self.get_serializer_context(),
            atomic=body["atomic"],
        )
        return self._batch_response(items, success=200)

    @extend_schema(
        operation_id="leads_batch_upsert",
        request=BatchUpsertSerializer,
        parameters=[ALLOW_DUPLICATE],
        responses=batch_responses(200),
        description="Update or create up to 100 leads, found by email or id (idProperty).",
    )
    @action(url_path="batch/upsert", permission_classes=[BatchPermission], **BATCH)
    @idempotent
    def batch_upsert(self, request):
        body = self._batch_body(BatchUpsertSerializer)
        items = batch.batch_upsert(
            organization=self.organization,
            user=request.user,
            inputs=body["inputs"],
            id_property=body["idProperty"],
            context=self.get_serializer_context(),
            atomic=body["atomic"],
            allow_duplicate=query_flag(request, "allowDuplicate"),
        )
        return self._batch_response(items, success=200)

    @extend_schema(
        operation_id="leads_batch_delete",
        request=BatchDeleteSerializer,
        parameters=[FORCE],
        responses=batch_responses(200),
        description="Delete up to 100 leads, each as DELETE /leads/{id} would (organization admins).",
    )
    @action(url_path="batch/delete", permission_classes=[BatchPermission], **BATCH)
    @idempotent
    def batch_delete(self, request):
        body = self._batch_body(BatchDeleteSerializer)
        items = batch.batch_delete(
            organization=self.organization,
            user=request.user,
            inputs=body["inputs"],
            atomic=body["atomic"],
            force=query_flag(request, "force"),
        )
        return self._batch_response(items, success=200)

    @extend_schema(
        operation_id="leads_batch_read",
        request=BatchReadSerializer,
        responses={
            200: OpenApiResponse(BatchResponseSerializer, description="Every lead was found"),
            207: OpenApiResponse(BatchResponseSerializer, description="Some inputs failed: see each result's errors"),
            413: OpenApiResponse(ErrorSerializer, description=f"More than {batch.MAX_INPUTS} inputs"),
        },
        description="Read up to 100 leads by id, as GET /leads/{id} would; every role may.",
    )
    @action(url_path="batch/read", permission_classes=[BatchPermission], **BATCH)
    def batch_read(self, request):
        body = self._batch_body(BatchReadSerializer)
        items = batch.batch_read(organization=self.organization, inputs=body["inputs"])
        return self._batch_response(items, success=200)

    def _batch_body(self, serializer_class) -> dict:
        inputs = self.request.data.get("inputs") if isinstance(self.request.data, dict) else None
        if isinstance(inputs, list) and len(inputs) > batch.MAX_INPUTS:
            raise TooManyInputs(
                f"A batch takes at most {batch.MAX_INPUTS} inputs; this one has {len(inputs)}. "
                f"Send them in batches of {batch.MAX_INPUTS}."
            )
        serializer = serializer_class(data=self.request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def _batch_response(self, items, *, success: int) -> Response:
        return Response(batch.results_body(items), status=batch.batch_status(items, success=success))


# OpenAPI links into and out of the batch operations (clients and the stateful fuzz follow them).
def _batch_links(id_expression: str) -> dict:
    one = [{"id": id_expression}]
    return {
        "BatchRead": {"operationId": "leads_batch_read", "requestBody": {"inputs": one}},
        "BatchUpdate": {
            "operationId": "leads_batch_update",
            "requestBody": {"inputs": [{"id": id_expression, "score": 75, "customFields": {"tier": "gold"}}]},
        },
        "BatchUpsertById": {
            "operationId": "leads_batch_upsert",
            "requestBody": {"idProperty": "id", "inputs": [{"id": id_expression, "notes": "Synced"}]},
        },
        "BatchDelete": {"operationId": "leads_batch_delete", "requestBody": {"inputs": one}},
    }


LINKS = {
    ("/leads", "201"): _batch_links("$response.body#/id"),
    ("/leads/batch/create", "201"): {
        **_batch_links("$response.body#/results/0/id"),
        "GetLead": {"operationId": "leads_retrieve", "parameters": {"id": "$response.body#/results/0/id"}},
    },
}


def add_batch_links(result, generator, request, public):
    """drf-spectacular postprocessing hook: the LINKS above, on the POST responses they start from."""
    for (path, status_code), links in LINKS.items():
        response = result["paths"].get(path, {}).get("post", {}).get("responses", {}).get(status_code)
        if response is not None:
            response.setdefault("links", {}).update(links)
    return result
