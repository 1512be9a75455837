from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets

from customers import services
from customers.filters import CustomerFilter
from customers.models import Customer
from customers.serializers import CustomerWithLeadsSerializer
from leads.models import Lead
from leadsite.errors import ErrorSerializer
from leadsite.etags import ETAG, IF_MATCH, ETagMixin, IfMatch
from leadsite.filters import FilterWhenAskedBackend
from leadsite.pagination import PageLimitPagination
from leadsite.parameters import CheckedParametersMixin
from leadsite.partial_put import PartialPutMixin
from leadsite.sorting import SortBackend
from organizations.scoping import OrganizationScopedViewSetMixin

ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Invalid input"),
    401: OpenApiResponse(ErrorSerializer, description="Missing or invalid token"),
    404: OpenApiResponse(ErrorSerializer, description="Not found in your organization"),
}
PRECONDITION = {
    412: OpenApiResponse(ErrorSerializer, description="If-Match names another version (the ETag header: the current)")
}
SORTABLE_FIELDS = {
    "companyName": "company_name",
    "customerId": "customer_number",
    "contactEmail": "contact_email",
    "status": "status",
    "createdAt": "created_at",
    "updatedAt": "updated_at",
}


@extend_schema_view(
    list=extend_schema(responses={200: CustomerWithLeadsSerializer(many=True), **ERRORS}),
    retrieve=extend_schema(parameters=[ETAG], responses={200: CustomerWithLeadsSerializer, **ERRORS}),
    update=extend_schema(
        request=CustomerWithLeadsSerializer(partial=True),
        parameters=[IF_MATCH, ETAG],
        responses={200: CustomerWithLeadsSerializer, **ERRORS, **PRECONDITION},
        description="Fields not sent keep their value, as with PATCH.",
    ),
    partial_update=extend_schema(
        parameters=[IF_MATCH, ETAG], responses={200: CustomerWithLeadsSerializer, **ERRORS, **PRECONDITION}
    ),
    destroy=extend_schema(
        parameters=[IF_MATCH],
        responses={204: None, **ERRORS, **PRECONDITION},
        description="Each lead converted into the customer is unconverted in the same transaction: back to "
        "'qualified', unlinked, convertedAt cleared, with an 'unconverted' history entry.",
    ),
)
class CustomerViewSet(
    CheckedParametersMixin,
    OrganizationScopedViewSetMixin,
    ETagMixin,
    PartialPutMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Customers are created by converting leads; here they are read, changed and deleted."""

    queryset = Customer.objects.all()
    serializer_class = CustomerWithLeadsSerializer
    pagination_class = PageLimitPagination
    filter_backends = [FilterWhenAskedBackend, SortBackend]
    filterset_class = CustomerFilter
    sort_fields = SORTABLE_FIELDS
    default_sort_field, default_sort_order = "createdAt", "desc"
    lookup_value_regex = "[^/]+"

    def get_base_queryset(self):
        # leadIds: one query per page for all the customers' leads, not one per customer.
        leads = Lead.objects.only("id", "converted_customer_id").order_by("converted_at", "id")
        return self.queryset.prefetch_related(Prefetch("leads", queryset=leads))

    def perform_update(self, serializer):
        updated = services.customer_update(
            customer=serializer.instance,
            user=self.request.user,
            data=serializer.validated_data,
            if_match=IfMatch.from_request(self.request),
        )
        # The service returns the row it locked; leadIds as get_object prefetched them, without another query.
        updated._prefetched_objects_cache = getattr(serializer.instance, "_prefetched_objects_cache", {})
        serializer.instance = self.etag_object = updated

    def perform_destroy(self, instance):
        services.customer_delete(customer=instance, user=self.request.user, if_match=IfMatch.from_request(self.request))
