from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from idempotency.decorators import idempotent
from leads import selectors, services
from leads.filters import LeadFilter
from leads.models import SORTABLE_FIELDS, Lead
from leads.serializers import (
    ConvertResponseSerializer,
    LeadByAssigneeSerializer,
    LeadBySourceSerializer,
    LeadSerializer,
    ReassignResponseSerializer,
    ReassignSerializer,
    ScoringStatsSerializer,
)
from leadsite.api import ErrorSerializer, PageLimitPagination, SortBackend, parse_positive_int
from organizations.models import User
from organizations.scoping import OrganizationScopedViewSetMixin

ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Invalid input"),
    401: OpenApiResponse(ErrorSerializer, description="Missing or invalid token"),
    404: OpenApiResponse(ErrorSerializer, description="Not found in your organization"),
}
CONVERT_ERRORS = {**ERRORS, 409: OpenApiResponse(ErrorSerializer, description="Lead cannot be converted")}


@extend_schema_view(
    list=extend_schema(responses={200: LeadSerializer(many=True), **ERRORS}),
    create=extend_schema(responses={201: LeadSerializer, **ERRORS}),
    retrieve=extend_schema(responses={200: LeadSerializer, **ERRORS}),
    update=extend_schema(
        request=LeadSerializer(partial=True),
        responses={200: LeadSerializer, **ERRORS},
        description="Fields not sent keep their value, as with PATCH.",
    ),
    partial_update=extend_schema(responses={200: LeadSerializer, **ERRORS}),
    destroy=extend_schema(responses={204: None, **ERRORS}),
)
class LeadViewSet(OrganizationScopedViewSetMixin, viewsets.ModelViewSet):
    queryset = Lead.objects.all()
    serializer_class = LeadSerializer
    pagination_class = PageLimitPagination
    filter_backends = [DjangoFilterBackend, SortBackend]
    filterset_class = LeadFilter
    sort_fields = SORTABLE_FIELDS
    default_sort_field, default_sort_order = "createdAt", "desc"
    lookup_value_regex = "[^/]+"

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "organization": self.organization}

    @idempotent
    def create(self, request, *args, **kwargs):
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer):
        serializer.instance = services.lead_create(
            organization=self.organization, user=self.request.user, data=serializer.validated_data
        )

    def update(self, request, *args, **kwargs):
        # The spec's PUT example sends only the fields it changes: PUT is a partial update.
        kwargs["partial"] = True
        return super().update(request, *args, **kwargs)

    def perform_update(self, serializer):
        serializer.instance = services.lead_update(
            lead=serializer.instance, user=self.request.user, data=serializer.validated_data
        )

    def perform_destroy(self, instance):
        services.lead_delete(lead=instance, user=self.request.user)

    @extend_schema(request=None, responses={201: ConvertResponseSerializer, **CONVERT_ERRORS})
    @action(detail=True, methods=["post"], url_path="convert-to-customer")
    @idempotent
    def convert_to_customer(self, request, pk=None):
        customer = services.lead_convert_to_customer(lead=self.get_object(), user=request.user)
        body = ConvertResponseSerializer({"customerId": customer.id, "customer": customer}).data
        return Response(body, status=status.HTTP_201_CREATED)

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
        assignee = self._organization_user_or_404(assigneeId)
        leads = self.filter_queryset(self.get_queryset()).filter(assigned_to=assignee)
        return self._paginated(leads, LeadByAssigneeSerializer)

    @extend_schema(
        parameters=[OpenApiParameter("top", int, description="How many top scorers, 1 to 50 (default 5).")],
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
        responses={
            200: ReassignResponseSerializer,
            **ERRORS,
            403: OpenApiResponse(ErrorSerializer, description="Your role does not allow this action"),
        },
        description="Move every lead of one member (optionally only some statuses) to another active member.",
    )
    @action(detail=False, methods=["post"], filter_backends=[], pagination_class=None)
    def reassign(self, request):
        serializer = ReassignSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        moved = services.lead_reassign(
            organization=self.organization,
            from_user=data["fromUserId"],
            to_user=data["toUserId"],
            statuses=data.get("status"),
            user=request.user,
        )
        return Response(ReassignResponseSerializer({"reassigned": moved}).data)

    def _paginated(self, queryset, serializer_class):
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(serializer_class(page, many=True).data)

    def _organization_user_or_404(self, user_id):
        try:
            return User.objects.for_organization(self.organization).get(pk=user_id)
        except (User.DoesNotExist, DjangoValidationError, ValueError):
            raise Http404 from None
