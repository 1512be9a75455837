from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from leadsite.pagination import PageLimitPagination
from leadsite.parameters import CheckedParametersMixin
from leadsite.partial_put import PartialPutMixin
from leadsite.schema import error_responses
from organizations.permissions import MayManageWebhooks
from organizations.scoping import OrganizationScopedViewSetMixin
from webhooks import selectors, services
from webhooks.models import Delivery, Webhook
from webhooks.serializers import DeliverySerializer, WebhookSerializer, WebhookWithSecretSerializer

_errors = error_responses(
    {
        400: "Invalid input",
        403: "Only an organization admin may manage webhooks",
        409: "The webhook is disabled, or an attempt is in flight",
    }
)


@extend_schema_view(
    list=extend_schema(responses={200: WebhookSerializer(many=True), **_errors(400, 401, 403)}),
    create=extend_schema(
        request=WebhookSerializer,
        responses={201: WebhookWithSecretSerializer, **_errors(400, 401, 403)},
        description="The response holds the signing secret, the only time it is shown.",
    ),
    retrieve=extend_schema(responses={200: WebhookSerializer, **_errors(401, 403, 404)}),
    update=extend_schema(
        request=WebhookSerializer(partial=True),
        responses={200: WebhookSerializer, **_errors(400, 401, 403, 404)},
        description="Fields not sent keep their value, as with PATCH.",
    ),
    partial_update=extend_schema(responses={200: WebhookSerializer, **_errors(400, 401, 403, 404)}),
    destroy=extend_schema(responses={204: None, **_errors(401, 403, 404)}),
)
class WebhookViewSet(CheckedParametersMixin, OrganizationScopedViewSetMixin, PartialPutMixin, viewsets.ModelViewSet):
    """Where the organization's events are pushed; organization admins only."""

    queryset = Webhook.objects.all()
    serializer_class = WebhookSerializer
    permission_classes = [MayManageWebhooks]
    pagination_class = PageLimitPagination  # newest first (an organization has a handful: no cursors)
    filter_backends = []
    lookup_value_regex = "[^/]+"

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        webhook = services.webhook_create(organization=self.organization, **_service_args(serializer.validated_data))
        return Response(WebhookWithSecretSerializer(webhook).data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer):
        serializer.instance = services.webhook_update(webhook=serializer.instance, data=serializer.validated_data)

    def perform_destroy(self, instance):
        services.webhook_delete(webhook=instance)

    @extend_schema(
        request=None,
        responses={200: WebhookWithSecretSerializer, **_errors(401, 403, 404)},
        description="A new signing secret, shown in this response only; the old one stops being used at once.",
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        webhook = services.webhook_rotate_secret(webhook=self.get_object())
        return Response(WebhookWithSecretSerializer(webhook).data)

    @extend_schema(
        request=None,
        responses={202: DeliverySerializer, **_errors(401, 403, 404, 409)},
        description="Sends a `webhook.test` event to this webhook alone; follow it in its deliveries.",
    )
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        delivery = services.webhook_send_test(webhook=self.get_object(), user=request.user)
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={200: DeliverySerializer(many=True), **_errors(400, 401, 403, 404)})
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk=None):
        """The webhook's deliveries, newest first."""
        page = self.paginate_queryset(selectors.webhook_deliveries(webhook=self.get_object()))
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)


def _service_args(data: dict) -> dict:
    return {"url": data["url"], "event_types": data["event_types"], "description": data.get("description", "")}


class DeliveryViewSet(CheckedParametersMixin, OrganizationScopedViewSetMixin, viewsets.GenericViewSet):
    """A delivery's own routes (the list is under its webhook)."""

    queryset = Delivery.objects.all()
    serializer_class = DeliverySerializer
    permission_classes = [MayManageWebhooks]
    lookup_value_regex = "[^/]+"

    @extend_schema(
        request=None,
        responses={202: DeliverySerializer, **_errors(401, 403, 404, 409)},
        description="Attempts the delivery again now, with the same webhook-id.",
    )
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        delivery = services.delivery_retry(delivery=self.get_object())
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
