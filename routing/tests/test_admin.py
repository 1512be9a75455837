"""The rules in the admin: in order, moved up and down, members' availability and load, this week's routing."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from leads.models import LeadHistory
from leads.tests.factories import LeadFactory
from organizations.models import User
from organizations.tests.factories import UserFactory
from routing.models import AssignmentRule
from routing.services import rule_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(user):
    user.is_staff = True
    user.save()
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def rules(organization):
    ana = UserFactory(organization=organization, name="Ana", email="ana@example.com")
    return [
        rule_create(organization=organization, data={"name": f"Rule {i}", "members": [{"user": ana}]}) for i in range(3)
    ]


def test_rules_listed_in_order_and_moved(staff, rules):
    page = staff.get("/admin/routing/assignmentrule/").content.decode()
    assert page.index("Rule 0") < page.index("Rule 1") < page.index("Rule 2")
    assert staff.post(f"/admin/routing/assignmentrule/{rules[2].pk}/move-up/").status_code == 302
    assert list(AssignmentRule.objects.order_by("position").values_list("name", flat=True)) == [
        "Rule 0",
        "Rule 2",
        "Rule 1",
    ]
    staff.post(f"/admin/routing/assignmentrule/{rules[0].pk}/move-down/")
    assert list(AssignmentRule.objects.order_by("position").values_list("name", flat=True)) == [
        "Rule 2",
        "Rule 0",
        "Rule 1",
    ]
    staff.get(f"/admin/routing/assignmentrule/{rules[0].pk}/move-down/")  # a GET moves nothing
    assert AssignmentRule.objects.get(pk=rules[0].pk).position == 2


def test_the_rule_page_shows_each_members_availability_and_load(staff, organization, rules):
    ana = rules[0].members.get().user
    ana.availability = "away"
    ana.save()
    LeadFactory(organization=organization, assigned_to=ana)
    page = staff.get(f"/admin/routing/assignmentrule/{rules[0].pk}/change/").content.decode()
    assert "away; 1 open; 0 from this rule today" in page


def test_add_a_rule_with_members_in_the_admin(staff, organization):
    bob = UserFactory(organization=organization, name="Bob")
    data = {
        "name": "From admin",
        "is_active": "on",
        "method": "weighted",
        "conditions": '{"source": ["referral"]}',
        "members-TOTAL_FORMS": "1",
        "members-INITIAL_FORMS": "0",
        "members-0-user": str(bob.pk),
        "members-0-weight": "2",
    }
    response = staff.post("/admin/routing/assignmentrule/add/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    rule = AssignmentRule.objects.get()
    assert (rule.position, rule.conditions, rule.organization) == (1, {"source": ["referral"]}, organization)
    assert [(m.user, m.weight, m.organization_id) for m in rule.members.all()] == [(bob, 2, organization.pk)]
    bad = staff.post("/admin/routing/assignmentrule/add/", {**data, "conditions": '{"colour": ["red"]}'})
    assert bad.status_code == 200 and "colour" in bad.content.decode()


def test_reps_only_look(organization, rules):
    rep = UserFactory(organization=organization, role=User.Role.SALES_REP, is_staff=True)
    client = Client()
    client.force_login(rep)
    assert client.get("/admin/routing/assignmentrule/").status_code == 200
    client.post(f"/admin/routing/assignmentrule/{rules[2].pk}/move-up/")
    assert AssignmentRule.objects.get(pk=rules[2].pk).position == 3


def test_routed_this_week(staff, organization, rules):
    from conftest import client_for

    admin_user = User.objects.get(organization=organization, role="admin")
    client_for(admin_user).post("/leads", {"name": "Routed"}, format="json")
    page = staff.get("/admin/routing/assignmentrule/").content.decode()
    assert "Routed this week" in page and "<td>Ana</td><td>1</td>" in page


def test_the_dashboard_shows_this_weeks_routing_per_rule_and_per_rep(staff, organization, other_user, other_api):
    from conftest import client_for

    ana, ben = (UserFactory(organization=organization, name=name) for name in ("Ana", "Ben"))
    rule_create(
        organization=organization,
        data={"name": "Referrals", "conditions": {"source": ["referral"]}, "members": [{"user": ben}]},
    )
    rule_create(organization=organization, data={"name": "Everyone", "members": [{"user": ana}, {"user": ben}]})
    api = client_for(User.objects.get(organization=organization, role="admin"))
    for source in ("website", "website", "website", "referral"):
        assert api.post("/leads", {"name": "Routed", "source": source}, format="json").status_code == 201
    # Last week's routing is not this week's; another organization's is never shown.
    old = LeadHistory.objects.filter(via="rule").order_by("created_at", "id").first()
    LeadHistory.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=8))
    other_rep = UserFactory(organization=other_user.organization, name="Zed")
    rule_create(organization=other_rep.organization, data={"name": "Elsewhere", "members": [{"user": other_rep}]})
    assert other_api.post("/leads", {"name": "Theirs"}, format="json").status_code == 201

    page = staff.get("/admin/dashboard/").content.decode()

    section = page[page.index('id="routed-this-week"') :]
    by_rule = section[section.index('id="routed-by-rule"') : section.index('id="routed-by-rep"')]
    by_rep = section[section.index('id="routed-by-rep"') : section.index("</section>")]
    assert re.findall(r"<tr><td>([^<]+)</td><td class=\"num\">(\d+)</td></tr>", by_rule) == [
        ("Everyone", "2"),
        ("Referrals", "1"),
    ]
    assert re.findall(r"<tr><td>([^<]+)</td><td class=\"num\">(\d+)</td></tr>", by_rep) == [
        ("Ben", "2"),
        ("Ana", "1"),
    ]
    assert "Elsewhere" not in page and "Zed" not in page


def test_the_dashboard_links_to_this_weeks_routing(staff):
    page = staff.get("/admin/dashboard/").content.decode()
    assert 'id="routing-link" href="/admin/routing/assignmentrule/"' in page
