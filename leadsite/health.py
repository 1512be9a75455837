"""Probes for load balancers and orchestrators: no authentication, no throttling, tiny bodies.

`/healthz` answers as long as the process can serve a request (it never touches the database);
`/readyz` also needs every configured database to answer `SELECT 1`, else 503.
"""

from django.db import DatabaseError, connections
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from leadsite.db_router import PRIMARY, replica_alias
from leadsite.errors import ErrorSerializer, ServiceUnavailable
from leadsite.parameters import CheckedParametersMixin


class ProbeSerializer(serializers.Serializer):
    status = serializers.CharField()


class ProbeView(CheckedParametersMixin, APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []


class HealthView(ProbeView):
    @extend_schema(tags=["health"], responses={200: ProbeSerializer}, summary="Liveness: the process is up")
    def get(self, request):
        return Response({"status": "ok"})


class ReadyView(ProbeView):
    @extend_schema(
        tags=["health"],
        responses={
            200: ProbeSerializer,
            503: OpenApiResponse(ErrorSerializer, description="A database is unreachable"),
        },
        summary="Readiness: the databases answer",
    )
    def get(self, request):
        for alias in filter(None, [PRIMARY, replica_alias()]):
            try:
                with connections[alias].cursor() as cursor:
                    cursor.execute("SELECT 1")
            except DatabaseError:
                raise ServiceUnavailable("The database is unreachable.") from None
        return Response({"status": "ok"})
