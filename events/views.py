from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.response import Response

from events import selectors
from events.models import Event
from events.serializers import MAX_LIMIT, EventFeedSerializer, EventSerializer, FeedQuerySerializer, encode_cursor
from leadsite.errors import ErrorSerializer
from leadsite.parameters import CheckedParametersMixin
from organizations.scoping import OrganizationScopedViewSetMixin

ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Invalid input"),
    401: OpenApiResponse(ErrorSerializer, description="Missing or invalid token"),
    404: OpenApiResponse(ErrorSerializer, description="Not found in your organization"),
}


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("after", str, description="A nextCursor from an earlier answer: the events after it."),
            OpenApiParameter("types", str, enum=Event.Type.values, description="One type or several, comma-separated."),
            OpenApiParameter(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 100},
                description="At most this many events.",
            ),
        ],
        responses={200: EventFeedSerializer, **ERRORS},
        description="What happened to the organization's leads and customers, oldest first. Resume from the last "
        "nextCursor: nothing is missed and nothing comes twice, even when transactions commit out of order "
        "(an event appears once every transaction of this database begun before it has ended). Events are kept "
        "30 days (EVENT_RETENTION_DAYS).",
    ),
    retrieve=extend_schema(responses={200: EventSerializer, **ERRORS}, description="One event of the organization."),
)
class EventViewSet(
    CheckedParametersMixin, OrganizationScopedViewSetMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """The change feed; every role may read it."""

    queryset = Event.objects.all()
    serializer_class = EventSerializer
    lookup_value_regex = "[^/]+"
    extra_query_params = {"list": ("after", "types", "limit")}

    def list(self, request):
        query = FeedQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        events = selectors.event_feed(
            organization=self.organization,
            after=params.get("after"),
            types=params.get("types") or (),
            limit=params["limit"],
        )
        next_cursor = encode_cursor(events[-1]) if events else request.query_params.get("after") or None
        return Response({"data": EventSerializer(events, many=True).data, "nextCursor": next_cursor})
