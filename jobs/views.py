from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from jobs import services
from jobs.models import Job
from jobs.serializers import JobSerializer
from leadsite.api import PageLimitPagination
from leadsite.parameters import CheckedParametersMixin
from leadsite.schema import error_responses
from organizations.scoping import OrganizationScopedViewSetMixin

_errors = error_responses(
    {
        400: "Invalid input",
        403: "Your role does not allow this action",
        409: "The job has ended",
    }
)


@extend_schema_view(
    list=extend_schema(
        responses={200: JobSerializer(many=True), **_errors(400, 401)},
        description="The organization's jobs (long work the task worker does, e.g. a large reassign), newest first.",
    ),
    retrieve=extend_schema(
        responses={200: JobSerializer, **_errors(401, 404)},
        description="One job: its status (queued, running, succeeded, failed, cancelled), progress and result.",
    ),
)
class JobViewSet(
    CheckedParametersMixin,
    OrganizationScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Every role may read the organization's jobs; those who may write may cancel one."""

    queryset = Job.objects.all()
    serializer_class = JobSerializer
    pagination_class = PageLimitPagination
    filter_backends = []
    lookup_value_regex = "[^/]+"

    @extend_schema(
        request=None,
        responses={200: JobSerializer, **_errors(401, 403, 404, 409)},
        description="Cancel a queued or running job: it stops before its next chunk; what it did stays done.",
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return Response(JobSerializer(services.job_cancel(job=self.get_object())).data)
