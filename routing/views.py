from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from jobs.models import Job
from jobs.serializers import JobSerializer
from leads import selectors as lead_selectors
from leads.filters import LeadFilter
from leads.models import Lead
from leads.serializers import LeadSerializer
from leads.services import lead_routing_attributes
from leadsite.filters import FilterWhenAskedBackend
from leadsite.pagination import PageLimitPagination
from leadsite.parameters import CheckedParametersMixin
from leadsite.partial_put import PartialPutMixin
from leadsite.schema import error_responses
from organizations.models import User
from organizations.permissions import IsOrganizationAdmin, IsOrganizationMember
from organizations.scoping import OrganizationScopedViewSetMixin
from routing import backlog, services
from routing.decisions import Member, Rule
from routing.models import AssignmentRule, RuleMember
from routing.serializers import (
    AssignmentRuleSerializer,
    DefaultAssigneeSerializer,
    MoveSerializer,
    RouteBacklogResponseSerializer,
    RouteResponseSerializer,
    RoutingSerializer,
    SimulateResponseSerializer,
    SimulateSerializer,
)

_errors = error_responses(
    {
        400: "Invalid input (every mistake named)",
        403: "Only an organization admin may change assignment rules",
    }
)


def _rule_data(validated: dict) -> dict:
    """The serializer's validated data as the services take it (model names)."""
    data = dict(validated)
    if "conditions" in data:
        data["conditions"] = data["conditions"] or {}
    return data


@extend_schema_view(
    list=extend_schema(
        responses={200: AssignmentRuleSerializer(many=True), **_errors(400, 401)},
        description="The organization's assignment rules in the order they are tried (position 1 first).",
    ),
    create=extend_schema(responses={201: AssignmentRuleSerializer, **_errors(400, 401, 403)}),
    retrieve=extend_schema(responses={200: AssignmentRuleSerializer, **_errors(401, 404)}),
    update=extend_schema(
        request=AssignmentRuleSerializer(partial=True),
        responses={200: AssignmentRuleSerializer, **_errors(400, 401, 403, 404)},
        description="Fields not sent keep their value, as with PATCH; members, if sent, replace the list (the users "
        "who stay keep their place in the rotation).",
    ),
    partial_update=extend_schema(responses={200: AssignmentRuleSerializer, **_errors(400, 401, 403, 404)}),
    destroy=extend_schema(responses={204: None, **_errors(401, 403, 404)}),
)
class AssignmentRuleViewSet(
    CheckedParametersMixin, OrganizationScopedViewSetMixin, PartialPutMixin, viewsets.ModelViewSet
):
    """Assignment rules: every member reads them, organization admins change them."""

    queryset = AssignmentRule.objects.all()
    serializer_class = AssignmentRuleSerializer
    pagination_class = PageLimitPagination
    filter_backends = []
    lookup_value_regex = "[^/]+"

    def get_base_queryset(self):
        members = RuleMember.objects.order_by("position", "id")
        return self.queryset.prefetch_related(Prefetch("members", queryset=members)).order_by("position", "pk")

    def get_permissions(self):
        if self.request.method in ("GET", "HEAD", "OPTIONS") or self.action == "simulate":
            return [IsOrganizationMember()]
        return [IsOrganizationAdmin()]

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "organization": self.organization}

    def perform_create(self, serializer):
        rule = services.rule_create(organization=self.organization, data=_rule_data(serializer.validated_data))
        serializer.instance = self.get_queryset().get(pk=rule.pk)

    def perform_update(self, serializer):
        rule = services.rule_update(rule=serializer.instance, data=_rule_data(serializer.validated_data))
        serializer.instance = self.get_queryset().get(pk=rule.pk)

    def perform_destroy(self, instance):
        services.rule_delete(rule=instance)

    @extend_schema(
        request=MoveSerializer,
        responses={200: AssignmentRuleSerializer, **_errors(400, 401, 403, 404)},
        description="Puts the rule at this position (1 = tried first); the others keep their order around it.",
    )
    @action(detail=True, methods=["post"])
    def move(self, request, pk=None):
        rule = self.get_object()
        serializer = MoveSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        services.rule_move(rule=rule, position=serializer.validated_data["position"])
        return Response(AssignmentRuleSerializer(self.get_queryset().get(pk=rule.pk)).data)

    @extend_schema(
        request=SimulateSerializer,
        responses={200: SimulateResponseSerializer, **_errors(400, 401)},
        description="Which rule and user would get each lead, and why, by the saved rules or a draft sent as `rules`; "
        "writes nothing (no lead, no rule's rotation moves). `leads`: lead attributes; without them, `sample` "
        "(default 50) of the open unassigned leads, oldest first. A draft's rotation starts fresh; the "
        "organization's default applies.",
    )
    @action(detail=False, methods=["post"], pagination_class=None)
    def simulate(self, request):
        serializer = SimulateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if "leads" not in data:
            leads = list(backlog.backlog(organization=self.organization)[: data["sample"]])
            attributes = [lead_routing_attributes(lead) for lead in leads]
            labels = [(str(lead.pk), lead.name) for lead in leads]
        else:
            attributes = [dict(lead) for lead in data["leads"]]
            labels = [(lead.get("id"), lead.get("name")) for lead in data["leads"]]
        draft = _draft_rules(data["rules"], self.organization) if "rules" in data else None
        decisions = services.simulate(
            organization=self.organization,
            leads=attributes,
            rules=draft,
            open_counts=lambda ids: lead_selectors.open_lead_counts(organization=self.organization, user_ids=ids),
        )
        rows = [
            {"leadId": lead_id, "name": name, **decision.as_json()}
            for (lead_id, name), decision in zip(labels, decisions, strict=True)
        ]
        return Response(SimulateResponseSerializer({"data": rows}).data)


class DefaultAssigneeView(CheckedParametersMixin, APIView):
    """GET/PUT /assignment-rules/default: who gets a new lead that no rule places."""

    def get_permissions(self):
        return (
            [IsOrganizationMember()] if self.request.method in ("GET", "HEAD", "OPTIONS") else [IsOrganizationAdmin()]
        )

    @extend_schema(
        responses={200: DefaultAssigneeSerializer, **_errors(401)},
        description="Who gets a new lead that no rule places (null: it stays unassigned).",
    )
    def get(self, request):
        return Response(_default_body(request.user.organization))

    @extend_schema(
        request=DefaultAssigneeSerializer,
        responses={200: DefaultAssigneeSerializer, **_errors(400, 401, 403)},
        description="Set the organization's default assignee (organization admins); null: leave such leads unassigned.",
    )
    def put(self, request):
        organization = request.user.organization
        serializer = DefaultAssigneeSerializer(
            data=request.data, context={"request": request, "organization": organization}
        )
        serializer.is_valid(raise_exception=True)
        services.default_assignee_set(organization=organization, user=serializer.validated_data["userId"])
        return Response(_default_body(organization))


def _default_body(organization) -> dict:
    return {"userId": str(organization.default_assignee_id) if organization.default_assignee_id else None}


def _draft_rules(drafts: list[dict], organization) -> list[Rule]:
    """Rules from a request's draft, with the members' names and availability (one query); fresh rotations."""
    user_ids = {member["user"].pk for draft in drafts for member in draft["members"]}
    users = {user.pk: user for user in User.objects.for_organization(organization).filter(pk__in=user_ids)}
    rules = []
    for draft in drafts:
        if not draft.get("is_active", True):
            continue
        members = []
        for index, member in enumerate(draft["members"]):
            user = users[member["user"].pk]
            members.append(
                Member(
                    id=index,
                    user_id=user.pk,
                    name=user.name or user.email,
                    weight=member.get("weight", 1),
                    max_open=member.get("max_open"),
                    max_per_day=member.get("max_per_day"),
                    is_active=user.is_active,
                    is_away=user.is_away,
                    away_until=user.away_until,
                )
            )
        rules.append(
            Rule(None, draft["name"], draft.get("method", "round_robin"), draft.get("conditions") or {}, members)
        )
    return rules


class LeadRoutingViewSet(CheckedParametersMixin, OrganizationScopedViewSetMixin, viewsets.GenericViewSet):
    """POST /leads/{id}/route and POST /leads/route: routing leads that already exist."""

    queryset = Lead.objects.all()
    serializer_class = LeadSerializer
    filter_backends = [FilterWhenAskedBackend]
    filterset_class = LeadFilter
    lookup_value_regex = "[^/]+"
    extra_query_params = {"route_backlog": tuple(LeadFilter.base_filters)}

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "organization": self.organization}

    @extend_schema(
        operation_id="leads_route_one",
        request=None,
        responses={200: RouteResponseSerializer, **_errors(401, 403, 404)},
        description="Routes the lead again by the rules as they are now: it moves to the user they choose (history "
        "via 'rule', a lead.updated event, both with the explanation); if no rule nor the default places it, it keeps "
        "its assignee.",
        filters=False,
    )
    @action(detail=True, methods=["post"], url_path="route", filter_backends=[])
    def route(self, request, pk=None):
        lead = self.get_object()
        result = backlog.route_lead(lead=lead, user=request.user)
        lead, decision, moved = result
        body = {
            "lead": LeadSerializer(lead, context=self.get_serializer_context()).data,
            "routing": RoutingSerializer(decision.as_json()).data,
            "moved": moved,
        }
        return Response(body, status=status.HTTP_200_OK)

    @extend_schema(
        operation_id="leads_route_backlog",
        request=None,
        parameters=[
            OpenApiParameter(
                "Location", str, OpenApiParameter.HEADER, response=[202], description="/jobs/{id} of the job (202)"
            )
        ],
        responses={
            200: RouteBacklogResponseSerializer,
            202: OpenApiResponse(
                JobSerializer,
                description="More than 1,000 leads: a job routes them (Location: /jobs/{id}; kind `route`; once "
                "succeeded its `result` is this 200's body, while it runs the figures so far)",
            ),
            **_errors(400, 401, 403),
        },
        description="Routes the organization's open (new, contacted, qualified; active) unassigned leads, narrowed by "
        "the list's filters, oldest first, by the rules as they are now. Up to 1,000 leads are routed in the request, "
        "in one transaction (200, what it did). More are a job (202, at once): the task worker routes them in "
        "transactions of 1,000 leads, those created before the request; GET /jobs/{id} shows its progress. A lead "
        "no rule nor the default places stays unassigned and counts in `unassigned`.",
        filters=True,
    )
    @action(detail=False, methods=["post"], url_path="route")
    def route_backlog(self, request):
        leads = self.filter_queryset(self.get_queryset())
        filters = {name: values for name, values in request.query_params.lists() if name in LeadFilter.base_filters}
        outcome = backlog.route_backlog_or_queue(
            organization=self.organization, user=request.user, leads=leads, filters=filters
        )
        if isinstance(outcome, Job):
            headers = {"Location": f"/jobs/{outcome.pk}"}
            return Response(JobSerializer(outcome).data, status=status.HTTP_202_ACCEPTED, headers=headers)
        return Response(RouteBacklogResponseSerializer(outcome).data)
