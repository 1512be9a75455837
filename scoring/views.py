from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from leads.models import Lead
from leads.serializers import LeadSerializer
from leadsite.errors import ErrorSerializer
from leadsite.parameters import CheckedParametersMixin
from organizations.permissions import IsOrganizationAdmin, IsOrganizationMember
from organizations.scoping import OrganizationScopedViewSetMixin
from scoring import selectors, services
from scoring.serializers import PredictionSerializer, ScoringModelSerializer

ERRORS = {
    401: OpenApiResponse(ErrorSerializer, description="Missing or invalid token"),
    403: OpenApiResponse(ErrorSerializer, description="Only an organization admin may train the model"),
    404: OpenApiResponse(ErrorSerializer, description="Not found in your organization"),
    409: OpenApiResponse(
        ErrorSerializer,
        description="Nothing to explain: `lead_resolved` (the lead is converted or unqualified), `no_scoring_model` "
        "(no ready model) or `incompatible_scoring_model` (the stored model has another format or feature set)",
    ),
}
NEVER_TRAINED = (
    "Your organization's scoring model has never been trained: POST /scoring/model/train (organization admins) "
    "trains it; the task worker also trains every organization with resolved leads nightly."
)


class LeadPredictionViewSet(CheckedParametersMixin, OrganizationScopedViewSetMixin, viewsets.GenericViewSet):
    """GET /leads/{id}/prediction: why a lead has its predictedScore."""

    queryset = Lead.objects.all()
    serializer_class = LeadSerializer
    filter_backends = []
    lookup_value_regex = "[^/]+"

    @extend_schema(
        operation_id="leads_prediction",
        responses={200: PredictionSerializer, **{code: ERRORS[code] for code in (401, 404, 409)}},
        description="The lead's predicted probability of conversion and why: `baseline` (the model's intercept) plus "
        "every factor's `effect`, all in log-odds, equals log(probability / (1 - probability)) exactly; "
        "probability = 1 / (1 + e^-(baseline + sum of effects)), predictedScore = probability in percent, rounded. "
        "Factors are the lead's own values, largest |effect| first.",
        filters=False,
    )
    @action(detail=True, methods=["get"], url_path="prediction")
    def prediction(self, request, pk=None):
        lead = self.get_object()
        body = selectors.lead_prediction(lead=lead, organization=self.organization)
        return Response(PredictionSerializer(body).data)


class ScoringModelView(CheckedParametersMixin, APIView):
    """GET /scoring/model: the organization's model, its data and its measured quality."""

    permission_classes = [IsOrganizationMember]

    @extend_schema(
        operation_id="scoring_model_retrieve",
        responses={
            200: ScoringModelSerializer,
            401: ERRORS[401],
            404: OpenApiResponse(ErrorSerializer, description="Never trained: POST /scoring/model/train"),
        },
        description="The organization's lead scoring model: status, version, the resolved leads it learned from "
        "(and, with insufficient_data, how many more it needs), its quality measured on the newest 20 % of resolved "
        "leads after fitting on the older 80 % (ROC AUC, Brier score against always predicting the rate, a "
        "10-bin calibration table) and the organization-wide strongest factors (docs/scoring.md).",
    )
    def get(self, request):
        body = selectors.model_body(organization=request.user.organization)
        if body is None:
            raise NotFound(NEVER_TRAINED, code="no_scoring_model")
        return Response(ScoringModelSerializer(body).data)


class ScoringTrainView(CheckedParametersMixin, APIView):
    """POST /scoring/model/train: queue a training (organization admins)."""

    permission_classes = [IsOrganizationAdmin]

    @extend_schema(
        operation_id="scoring_model_train",
        request=None,
        responses={202: ScoringModelSerializer, 401: ERRORS[401], 403: ERRORS[403]},
        description="Queues a training of the organization's model in the task worker (202); GET /scoring/model "
        "shows status training until it ends, then the new version, and every open lead is re-scored. While one "
        "is queued or running, another request returns it instead of starting a second.",
    )
    def post(self, request):
        organization = request.user.organization
        services.training_request(organization=organization, user=request.user)
        body = selectors.model_body(organization=organization)
        return Response(ScoringModelSerializer(body).data, status=status.HTTP_202_ACCEPTED)
