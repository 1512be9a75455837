import uuid

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from customers.models import Customer
from idempotency.decorators import idempotent
from jobs.models import Job
from jobs.serializers import JobSerializer
from leads import selectors, services
from leads.batch_views import LeadBatchMixin
from leads.filters import LeadFilter
from leads.models import SORTABLE_FIELDS, Lead
from leads.serializers import (
    ConvertRequestSerializer,
    ConvertResponseSerializer,
    DuplicateGroupSerializer,
    LeadByAssigneeSerializer,
    LeadBySourceSerializer,
    LeadCreateSerializer,
    LeadHistorySerializer,
    LeadSerializer,
    LeadUpdateSerializer,
    MergeRequestSerializer,
    ReassignResponseSerializer,
    ReassignSerializer,
    ScoringStatsSerializer,
)
from leadsite.errors import ErrorSerializer
from leadsite.etags import ETAG, IF_MATCH, ETagMixin, IfMatch
from leadsite.filters import FilterWhenAskedBackend
from leadsite.pagination import PageLimitPagination
from leadsite.parameters import CheckedParametersMixin, parse_positive_int, query_flag
from leadsite.partial_put import PartialPutMixin
from leadsite.representation import FastRepresentationMixin
from leadsite.sorting import SortBackend
from organizations.models import User
from organizations.permissions import IsOrganizationAdmin, role_allows
from organizations.scoping import OrganizationScopedViewSetMixin

ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Invalid input"),
    401: OpenApiResponse(ErrorSerializer, description="Missing or invalid token"),
    404: OpenApiResponse(ErrorSerializer, description="Not found in your organization"),
}
PRECONDITION = {
    412: OpenApiResponse(ErrorSerializer, description="If-Match names another version (the ETag header: the current)")
}
STATUS_CONFLICT = {
    409: OpenApiResponse(ErrorSerializer, description="The lead is converted: its status stays (undo: /unconvert)")
}
CONVERT_ERRORS = {
    **ERRORS,
    409: OpenApiResponse(ErrorSerializer, description="Lead cannot be converted"),
    **PRECONDITION,
}
DUPLICATE_ERRORS = {
    **ERRORS,
    409: OpenApiResponse(ErrorSerializer, description="A lead with this email exists (details: existingLeadId)"),
}
DELETE_ERRORS = {
    **ERRORS,
    409: OpenApiResponse(ErrorSerializer, description="Lead is converted; send force=true"),
    **PRECONDITION,
}
UNCONVERT_ERRORS = {
    **ERRORS,
    403: OpenApiResponse(ErrorSerializer, description="Only an organization admin may undo a conversion"),
    409: OpenApiResponse(ErrorSerializer, description="Lead is not converted"),
    **PRECONDITION,
}
MERGE_ERRORS = {
    **ERRORS,
    409: OpenApiResponse(ErrorSerializer, description="A duplicate has been converted"),
    **PRECONDITION,
}
ALLOW_DUPLICATE = OpenApiParameter(
    "allowDuplicate", bool, description="Create the lead even if a lead with its email exists (default false)."
)
FORCE = OpenApiParameter("force", bool, description="Needed to delete a converted lead (default false).")


@extend_schema_view(
    list=extend_schema(responses={200: LeadSerializer(many=True), **ERRORS}),
    create=extend_schema(
        request=LeadCreateSerializer,
        parameters=[ALLOW_DUPLICATE, ETAG],
        responses={201: LeadSerializer, **DUPLICATE_ERRORS},
    ),
    retrieve=extend_schema(parameters=[ETAG], responses={200: LeadSerializer, **ERRORS}),
    update=extend_schema(
        request=LeadUpdateSerializer(partial=True),
        parameters=[IF_MATCH, ETAG],
        responses={200: LeadSerializer, **ERRORS, **STATUS_CONFLICT, **PRECONDITION},
        description="Fields not sent keep their value, as with PATCH; customFields, if sent, replaces the stored "
        "object.",
    ),
    partial_update=extend_schema(
        request=LeadUpdateSerializer(partial=True),
        parameters=[IF_MATCH, ETAG],
        responses={200: LeadSerializer, **ERRORS, **STATUS_CONFLICT, **PRECONDITION},
        description="Changes the fields sent. customFields is a JSON merge patch (RFC 7396) of the stored object: "
        "its keys are set, a key set to null is removed, keys not sent stay.",
    ),
    destroy=extend_schema(parameters=[FORCE, IF_MATCH], responses={204: None, **DELETE_ERRORS}),
)
class LeadViewSet(
    LeadBatchMixin,
    CheckedParametersMixin,
    OrganizationScopedViewSetMixin,
    ETagMixin,
    PartialPutMixin,
    viewsets.ModelViewSet,
):
    queryset = Lead.objects.all()
    serializer_class = LeadSerializer
    pagination_class = PageLimitPagination
    filter_backends = [FilterWhenAskedBackend, SortBackend]
    filterset_class = LeadFilter
    sort_fields = SORTABLE_FIELDS
    default_sort_field, default_sort_order = "createdAt", "desc"
    lookup_value_regex = "[^/]+"
    extra_query_params = {"create": ("allowDuplicate",), "destroy": ("force",), "scoring_stats": ("top",)}

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "organization": self.organization}

    def filter_queryset(self, queryset):
        # List filters and sorting mean nothing to one lead: get_object skips building them (~0.5 ms).
        if self.detail:
            return queryset
        return super().filter_queryset(queryset)

    def list(self, request, *args, **kwargs):
        return self._paginated(self.filter_queryset(self.get_queryset()), LeadSerializer)

    @idempotent
    def create(self, request, *args, **kwargs):
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer):
        serializer.instance = self.etag_object = services.lead_create(
            organization=self.organization,
            user=self.request.user,
            data=serializer.validated_data,
            allow_duplicate=query_flag(self.request, "allowDuplicate"),
        )

    def perform_update(self, serializer):
        # PATCH merges customFields into the stored object (RFC 7396); PUT replaces it.
        merge = self.request.method == "PATCH"
        serializer.instance = self.etag_object = services.lead_update(
            lead=serializer.instance,
            user=self.request.user,
            data=serializer.validated_data,
            if_match=IfMatch.from_request(self.request),
            merge_custom_fields=merge,
        )

    def perform_destroy(self, instance):
        services.lead_delete(
            lead=instance,
            user=self.request.user,
            force=query_flag(self.request, "force"),
            if_match=IfMatch.from_request(self.request),
        )

    @extend_schema(
        request=ConvertRequestSerializer,
        parameters=[IF_MATCH, ETAG],
        responses={201: ConvertResponseSerializer, 200: ConvertResponseSerializer, **CONVERT_ERRORS},
        description="Creates a customer from the lead (201), or with customerId attaches the lead to that existing "
        "customer, filling only its empty contact fields (200). The ETag is the lead's.",
    )
    @action(detail=True, methods=["post"], url_path="convert-to-customer")
    @idempotent
    def convert_to_customer(self, request, pk=None):
        lead = self.get_object()
        serializer = ConvertRequestSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        customer_id = serializer.validated_data.get("customerId")
        customer = None
        if customer_id is not None:
            customer = get_object_or_404(Customer.objects.for_organization(self.organization), pk=customer_id)
        self.etag_object, customer = services.lead_convert(
            lead=lead, user=request.user, customer=customer, if_match=IfMatch.from_request(request)
        )
        body = ConvertResponseSerializer({"customerId": customer.id, "customer": customer}).data
        return Response(body, status=status.HTTP_200_OK if customer_id else status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        parameters=[IF_MATCH, ETAG],
        responses={200: LeadSerializer, **UNCONVERT_ERRORS},
        description="Undoes a conversion (organization admins only): unlinks the lead from its customer, which "
        "stays, sets it back to 'qualified' and clears convertedAt; its history records 'unconverted'.",
    )
    @action(detail=True, methods=["post"], filter_backends=[], permission_classes=[IsOrganizationAdmin])
    def unconvert(self, request, pk=None):
        lead = self.etag_object = services.lead_unconvert(
            lead=self.get_object(), user=request.user, if_match=IfMatch.from_request(request)
        )
        return Response(LeadSerializer(lead, context=self.get_serializer_context()).data)

    @extend_schema(
        responses={200: DuplicateGroupSerializer(many=True), **ERRORS},
        description="Groups of leads sharing an email (case-insensitive) or a phone number (digits only), "
        "biggest first. A lead can be in an email group and a phone group.",
    )
    @action(detail=False, methods=["get"], filter_backends=[])
    def duplicates(self, request):
        groups = self.paginate_queryset(selectors.lead_duplicate_groups(organization=self.organization))
        groups = selectors.lead_duplicate_group_members(organization=self.organization, groups=groups)
        return self.get_paginated_response(DuplicateGroupSerializer(groups, many=True).data)

    @extend_schema(
        request=MergeRequestSerializer,
        parameters=[IF_MATCH, ETAG],
        responses={200: LeadSerializer, **MERGE_ERRORS},
        description="Folds the duplicates into this lead (empty fields filled, custom fields and notes merged, "
        "highest score kept), moves their history to it and deletes them, all in one transaction.",
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def merge(self, request, pk=None):
        lead = self.get_object()
        if not role_allows(request.user, "DELETE"):
            raise PermissionDenied("Merging deletes the duplicates; your role may not delete leads.")
        serializer = MergeRequestSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        duplicate_ids = serializer.validated_data["duplicateIds"]
        lead = self.etag_object = services.lead_merge(
            lead=lead, duplicate_ids=duplicate_ids, user=request.user, if_match=IfMatch.from_request(request)
        )
        return Response(LeadSerializer(lead, context=self.get_serializer_context()).data)

    @extend_schema(
        responses={200: LeadHistorySerializer(many=True), **ERRORS},
        description="Who created, changed, converted, merged or deleted the lead, and when; newest first.",
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def history(self, request, pk=None):
        entries = selectors.lead_history(lead=self.get_object())
        return self._paginated(entries, LeadHistorySerializer)

    @extend_schema(responses={200: LeadBySourceSerializer(many=True), **ERRORS})
    @action(detail=False, methods=["get"], url_path=r"by-source/(?P<source>[^/]+)")
    def by_source(self, request, source=None):
        leads = self.filter_queryset(self.get_queryset()).filter(source=source)
        return self._paginated(leads, LeadBySourceSerializer)

    @extend_schema(
        parameters=[OpenApiParameter("assigneeId", str, OpenApiParameter.PATH, description="User id (UUID)")],
        responses={200: LeadByAssigneeSerializer(many=True), **ERRORS},
    )
    @action(detail=False, methods=["get"], url_path=r"assigned-to/(?P<assigneeId>[^/]+)")
    def assigned_to(self, request, assigneeId=None):
        try:
            assignee_id = uuid.UUID(assigneeId)
        except ValueError:
            raise Http404 from None
        leads = self.filter_queryset(self.get_queryset()).filter(assigned_to_id=assignee_id)
        page = self.paginate_queryset(LeadByAssigneeSerializer.rows(leads, also=self.sort_fields.values()))
        if not page:
            # Leads are only ever assigned to members of their organization, so the assignee
            # needs a lookup (for the 404) only when there are none: one query less per page.
            self._organization_user_or_404(assignee_id)
        return self.get_paginated_response(LeadByAssigneeSerializer(page, many=True).data)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "top",
                {"type": "integer", "minimum": 1, "maximum": 50, "default": 5},
                description="How many top scorers, 1 to 50 (default 5).",
            )
        ],
        responses={200: ScoringStatsSerializer, **ERRORS},
        filters=False,
    )
    @action(detail=False, methods=["get"], url_path="stats/scoring", filter_backends=[], pagination_class=None)
    def scoring_stats(self, request):
        top = parse_positive_int(request.query_params, "top", default=5, maximum=50)
        stats = selectors.lead_scoring_stats(organization=self.organization, top=top)
        return Response(ScoringStatsSerializer(stats).data)

    @extend_schema(
        request=ReassignSerializer,
        parameters=[
            OpenApiParameter(
                "Location", str, OpenApiParameter.HEADER, response=[202], description="/jobs/{id} of the job (202)"
            )
        ],
        responses={
            200: ReassignResponseSerializer,
            202: OpenApiResponse(
                JobSerializer,
                description="More than 1,000 leads: a job moves them (Location: /jobs/{id}; its result is this "
                "200's body)",
            ),
            **ERRORS,
            403: OpenApiResponse(ErrorSerializer, description="Your role does not allow this action"),
        },
        description="Move every lead of one member (optionally only some statuses) to another active member. Up "
        "to 1,000 leads move in the request (200). More are a job (202, at once): the task worker moves them in "
        "chunks of 5,000, each chunk with its history and events in one transaction (a lead being moved waits at "
        "most about a second for its chunk); GET /jobs/{id} shows its progress and, once succeeded, "
        '`result: {"reassigned": n}`. A worker killed mid-job is replaced and the job resumes: each lead moves, '
        "and is recorded and evented, once.",
    )
    @action(detail=False, methods=["post"], filter_backends=[], pagination_class=None)
    def reassign(self, request):
        serializer = ReassignSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        outcome = services.lead_reassign_or_queue(
            organization=self.organization,
            from_user=data["fromUserId"],
            to_user=data["toUserId"],
            statuses=data.get("status"),
            user=request.user,
        )
        if isinstance(outcome, Job):
            headers = {"Location": f"/jobs/{outcome.pk}"}
            return Response(JobSerializer(outcome).data, status=status.HTTP_202_ACCEPTED, headers=headers)
        return Response(ReassignResponseSerializer({"reassigned": outcome}).data)

    def _paginated(self, queryset, serializer_class):
        if issubclass(serializer_class, FastRepresentationMixin):  # with every column a cursor can sort by
            queryset = serializer_class.rows(queryset, also=self.sort_fields.values())
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(serializer_class(page, many=True).data)

    def _organization_user_or_404(self, user_id):
        try:
            return User.objects.for_organization(self.organization).get(pk=user_id)
        except (User.DoesNotExist, DjangoValidationError, ValueError):
            raise Http404 from None
