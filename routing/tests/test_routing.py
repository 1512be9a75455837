"""Where new leads go: first match, every condition, each method, capacity, availability, explanations."""

from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection, reset_queries
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conftest import client_for
from events.models import Event
from leads.models import Lead, LeadHistory
from leads.tests.factories import LeadFactory
from organizations.tests.factories import UserFactory
from routing.decisions import Member, Rule, check_conditions, decide
from routing.models import AssignmentRule, RuleMember
from routing.services import rule_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def reps(organization):
    return [UserFactory(organization=organization, name=name) for name in ("Ana", "Ben", "Cleo")]


def make_rule(organization, reps, name="All", method="round_robin", conditions=None, **member):
    members = [{"user": rep, **member} for rep in reps]
    return rule_create(
        organization=organization,
        data={"name": name, "method": method, "conditions": conditions or {}, "members": members},
    )


def create(api, **fields):
    response = api.post("/leads?allowDuplicate=true", {"name": "Lead", **fields}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_round_robin_rotates_strictly_and_explains(api, organization, reps):
    rule = make_rule(organization, reps, name="EU referrals", conditions={"source": ["referral"]})
    assignees = [create(api, source="referral")["assignedTo"] for _ in range(6)]
    assert assignees == [str(rep.pk) for rep in reps] * 2

    lead_id = Lead.objects.order_by("-created_at", "-id").first().pk
    entries = LeadHistory.objects.filter(lead_id=lead_id).order_by("created_at", "id")
    assert [(entry.action, entry.via) for entry in entries] == [("created", "api"), ("updated", "rule")]
    assert "assignedTo" not in entries[0].changes
    routing = entries[1].changes["routing"]
    assert entries[1].changes["assignedTo"] == {"old": None, "new": str(reps[2].pk)}
    assert routing["ruleId"] == str(rule.pk) and routing["method"] == "round_robin"
    assert routing["explanation"] == 'rule "EU referrals" matched source=referral; round robin: Cleo, after Ben'
    event = Event.objects.filter(type="lead.created").order_by("-id").first()
    assert event.data["routing"] == routing
    assert event.data["lead"]["assignedTo"] == str(reps[2].pk)


def test_explicit_assignee_wins_and_no_rules_leave_it_unassigned(api, organization, reps):
    assert create(api)["assignedTo"] is None
    make_rule(organization, reps)
    assert create(api, assignedTo=str(reps[2].pk))["assignedTo"] == str(reps[2].pk)
    assert RuleMember.objects.filter(turn__gt=0).count() == 0
    assert create(api, assignedTo=None)["assignedTo"] == str(reps[0].pk)


def test_first_matching_rule_wins_in_position_order(api, organization, reps):
    make_rule(organization, [reps[0]], name="Referrals", conditions={"source": ["referral"]})
    make_rule(organization, [reps[1]], name="Everything")
    assert create(api, source="referral")["assignedTo"] == str(reps[0].pk)
    assert create(api, source="website")["assignedTo"] == str(reps[1].pk)
    AssignmentRule.objects.filter(name="Everything").update(position=0)
    assert create(api, source="referral")["assignedTo"] == str(reps[1].pk)
    AssignmentRule.objects.filter(name="Everything").update(is_active=False)
    assert create(api, source="website")["assignedTo"] is None


@pytest.mark.parametrize(
    ("conditions", "matching", "failing"),
    [
        ({"source": ["referral", "trade_show"]}, {"source": "trade_show"}, {"source": "website"}),
        ({"status": ["contacted"]}, {"status": "contacted"}, {"status": "new"}),
        (
            {"customFields": {"region": ["EU"]}},
            {"custom_fields": {"region": "EU"}},
            {"custom_fields": {"region": "US"}},
        ),
        ({"emailDomain": ["acme.com"]}, {"email": "a@ACME.com"}, {"email": "a@acme.co"}),
        ({"hasCompany": True}, {"company": "Acme"}, {"company": ""}),
        ({"hasCompany": False}, {"company": None}, {"company": "Acme"}),
        ({"scoreMin": 50, "scoreMax": 80}, {"score": 80}, {"score": 81}),
        ({"scoreMin": 50}, {"score": 50}, {"score": None}),
        ({"predictedScoreMin": 70}, {"predicted_score": 71}, {"predicted_score": 69}),
        ({"predictedScoreMax": 30}, {"predicted_score": 30}, {}),
        ({}, {}, None),
    ],
)
def test_every_condition(conditions, matching, failing):
    assert check_conditions(conditions, matching)[0] is True
    if failing is not None:
        assert check_conditions(conditions, failing)[0] is False


def test_conditions_through_the_api(api, organization, reps):
    conditions = {"source": ["referral"], "customFields": {"region": ["EU"]}, "emailDomain": ["eu.example"]}
    make_rule(organization, [reps[0]], name="EU", conditions=conditions)
    match = {"source": "referral", "customFields": {"region": "EU"}, "email": "x@eu.example"}
    assert create(api, **match)["assignedTo"] == str(reps[0].pk)
    assert create(api, **{**match, "customFields": {"region": "US"}})["assignedTo"] is None


def test_away_and_deactivated_reps_are_skipped_and_said_so(api, organization, reps):
    back = timezone.localdate() + timedelta(days=7)
    reps[1].availability, reps[1].away_until = "away", back
    reps[1].save()
    reps[2].is_active = False
    reps[2].save()
    make_rule(organization, reps, name="All")
    assert {create(api)["assignedTo"] for _ in range(3)} == {str(reps[0].pk)}
    routing = LeadHistory.objects.filter(via="rule").order_by("-created_at", "-id").first().changes["routing"]
    assert f"Ben away until {back.isoformat()}" in routing["explanation"]
    assert "Cleo deactivated" in routing["explanation"]


def test_a_rep_back_from_away_is_not_flooded(api, organization, reps):
    make_rule(organization, reps)
    reps[2].availability = "away"
    reps[2].save()
    for _ in range(10):
        create(api)
    reps[2].availability = "available"
    reps[2].save()
    assignees = [create(api)["assignedTo"] for _ in range(6)]
    # One turn now (they waited longest), then strict rotation: never two in a row to catch up.
    assert Counter(assignees) == {str(rep.pk): 2 for rep in reps}


def test_a_full_pool_passes_the_lead_to_the_next_rule_then_the_default(api, organization, reps):
    make_rule(organization, [reps[0]], name="Capped", max_open=2)
    make_rule(organization, [reps[1]], name="Daily", max_per_day=1)
    organization.default_assignee = reps[2]
    organization.save()
    assignees = [create(api)["assignedTo"] for _ in range(5)]
    assert assignees == [str(reps[0].pk)] * 2 + [str(reps[1].pk)] + [str(reps[2].pk)] * 2
    routing = LeadHistory.objects.filter(via="rule").order_by("-created_at", "-id").first().changes["routing"]
    assert routing["ruleId"] is None
    assert "Ana full (2/2 open)" in routing["explanation"]
    assert "Ben had 1/1 today" in routing["explanation"]
    assert routing["explanation"].endswith("organization default: Cleo")
    # A converted or closed lead no longer counts against maxOpen.
    Lead.objects.filter(assigned_to=reps[0]).update(status="unqualified")
    assert create(api)["assignedTo"] == str(reps[0].pk)


def test_an_away_default_leaves_the_lead_unassigned(api, organization, reps):
    organization.default_assignee = reps[0]
    organization.save()
    reps[0].availability = "away"
    reps[0].save()
    assert create(api)["assignedTo"] is None


def test_least_loaded_takes_fewest_open_and_breaks_ties_by_longest_wait(api, organization, reps):
    for _ in range(3):
        LeadFactory(organization=organization, assigned_to=reps[0])
    LeadFactory(organization=organization, assigned_to=reps[2])
    make_rule(organization, reps, method="least_loaded")
    assignees = [create(api)["assignedTo"] for _ in range(5)]
    # Ben 0 -> Ben; then Ben 1, Cleo 1: Cleo waited longer; then Ben, Cleo tie at 2: Ben waited longer...
    assert assignees[:3] == [str(reps[1].pk), str(reps[2].pk), str(reps[1].pk)]
    counts = Counter(Lead.objects.values_list("assigned_to", flat=True))
    assert sorted(counts.values()) == [3, 3, 3]


def test_weighted_shares_hold_within_2_percent_over_10000_leads():
    members = [Member(id=i, user_id=i, name=str(i), weight=w) for i, w in enumerate((5, 3, 2))]
    rule = Rule("r", "Weighted", "weighted", {}, members)
    today = timezone.localdate()
    counts = Counter(decide({}, [rule], today=today).user_id for _ in range(10_000))
    for member in members:
        share = counts[member.user_id] / 10_000
        assert abs(share - member.weight / 10) <= 0.02 * member.weight / 10


def test_weighted_rep_back_from_away_gets_their_share_not_a_backlog():
    members = [Member(id=i, user_id=i, name=str(i), weight=1) for i in range(2)]
    rule = Rule("r", "Weighted", "weighted", {}, members)
    today = timezone.localdate()
    members[1].is_away = True
    for _ in range(100):
        decide({}, [rule], today=today)
    members[1].is_away = False
    following = [decide({}, [rule], today=today).user_id for _ in range(10)]
    assert Counter(following) == {0: 5, 1: 5}


def test_routing_adds_at_most_two_queries_to_a_create(organization, reps, django_assert_max_num_queries):
    user = reps[0]
    api = client_for(user)
    create(api)  # warm up: the token's user, caches
    reset_queries()  # a request empties the query log: a capture must start from an empty one to count
    with CaptureQueriesContext(connection) as without:
        create(api)
    plain = len(without)  # now: the capture reads the log, which the next request empties
    assert plain > 5  # authentication, the transaction, the lead, its history, its event, ...
    make_rule(organization, reps, max_open=100)  # capacity: the pools' read counts open leads
    create(api)
    reset_queries()
    with django_assert_max_num_queries(plain + 2):
        lead = create(api)
    assert lead["assignedTo"] is not None
    # Nothing placed by a rule (the pool is full): the default assignee's look-up instead of the state's write.
    RuleMember.objects.update(max_open=0)
    organization.default_assignee = reps[1]
    organization.save()
    reset_queries()
    with django_assert_max_num_queries(plain + 2):
        lead = create(api)
    assert lead["assignedTo"] == str(reps[1].pk)


def test_route_one_lead_again(api, organization, reps):
    lead = LeadFactory(organization=organization, assigned_to=None, source="referral")
    make_rule(organization, [reps[1]], name="Referrals", conditions={"source": ["referral"]})
    response = api.post(f"/leads/{lead.pk}/route")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["moved"] is True and body["lead"]["assignedTo"] == str(reps[1].pk)
    assert body["routing"]["ruleName"] == "Referrals"
    event = Event.objects.get(type="lead.updated")
    assert event.data["changes"] == {"assignedTo": {"old": None, "new": str(reps[1].pk)}}
    assert event.data["routing"]["explanation"].startswith('rule "Referrals" matched source=referral')
    assert api.post(f"/leads/{lead.pk}/route").json()["moved"] is False


def test_route_the_backlog_filtered_like_the_list(api, organization, reps):
    for _ in range(4):
        LeadFactory(organization=organization, assigned_to=None, source="website")
    LeadFactory(organization=organization, assigned_to=None, source="referral")
    LeadFactory(organization=organization, assigned_to=None, source="website", status="unqualified")
    make_rule(organization, reps[:2], name="Both")
    response = api.post("/leads/route?source=website")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["routed"], body["unassigned"]) == (4, 0)
    assert body["byRule"] == {"Both": 4}
    assert body["byUser"] == {str(reps[0].pk): 2, str(reps[1].pk): 2}
    assert Lead.objects.filter(assigned_to__isnull=True).count() == 2
    assert api.post("/leads/route?stauts=new").status_code == 400


def test_routes_of_another_organizations_lead_are_not_found(other_api, organization, reps):
    lead = LeadFactory(organization=organization, assigned_to=None)
    make_rule(organization, reps)
    assert other_api.post(f"/leads/{lead.pk}/route").status_code == 404
    assert other_api.post("/leads/route").json()["routed"] == 0
    lead.refresh_from_db()
    assert lead.assigned_to is None


def test_the_admins_add_form_routes_and_its_explicit_assignee_wins(organization, reps):
    from django.test import Client
    from django.urls import reverse

    staff = UserFactory(organization=organization, role="admin", is_staff=True)
    client = Client()
    client.force_login(staff)
    make_rule(organization, reps[1:2], name="Ben only")
    data = {"name": "From the admin", "status": "new", "custom_fields": "{}"}
    assert client.post(reverse("admin:leads_lead_add"), data).status_code == 302
    routed = Lead.objects.get(name="From the admin")
    assert routed.assigned_to == reps[1]
    entry = LeadHistory.objects.get(lead_id=routed.pk, via="rule")
    assert entry.changes["routing"]["ruleName"] == "Ben only"
    explicit = {**data, "name": "Chosen", "assigned_to": str(reps[2].pk)}
    assert client.post(reverse("admin:leads_lead_add"), explicit).status_code == 302
    assert Lead.objects.get(name="Chosen").assigned_to == reps[2]
    assert not LeadHistory.objects.filter(lead_id=Lead.objects.get(name="Chosen").pk, via="rule").exists()


def test_merge_survivors_keep_their_assignee_and_are_not_routed(api, organization, reps):
    make_rule(organization, reps[1:2])
    kept = LeadFactory(organization=organization, assigned_to=reps[2], email="a@example.com")
    bare = LeadFactory(organization=organization, assigned_to=None, email="b@example.com")
    for survivor in (kept, bare):
        duplicate = LeadFactory(organization=organization, assigned_to=reps[0], email=survivor.email)
        response = api.post(f"/leads/{survivor.pk}/merge", {"duplicateIds": [str(duplicate.pk)]}, format="json")
        assert response.status_code == 200, response.json()
    assert Lead.objects.get(pk=kept.pk).assigned_to == reps[2]
    assert Lead.objects.get(pk=bare.pk).assigned_to == reps[0]  # an empty field filled from the duplicate, not routed
    assert not LeadHistory.objects.filter(via="rule").exists()
