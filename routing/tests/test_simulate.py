"""POST /assignment-rules/simulate answers per lead and writes nothing."""

import pytest
from django.apps import apps

from conftest import client_for
from leads.tests.factories import LeadFactory
from organizations.models import User
from organizations.tests.factories import UserFactory
from routing.models import RuleMember
from routing.services import rule_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def reps(organization):
    return [UserFactory(organization=organization, name=name) for name in ("Ana", "Ben")]


def every_row():
    """Every row of every table, to prove nothing was written."""
    return {model._meta.label: list(model._base_manager.order_by("pk").values()) for model in apps.get_models()}


def test_simulate_saved_rules_with_given_leads_writes_nothing(organization, reps):
    rule = rule_create(
        organization=organization,
        data={
            "name": "Referrals",
            "method": "round_robin",
            "conditions": {"source": ["referral"]},
            "members": [{"user": rep} for rep in reps],
        },
    )
    reader = client_for(UserFactory(organization=organization, role=User.Role.READ_ONLY))
    before = every_row()
    leads = [{"id": "a", "name": "A", "source": "referral"}, {"name": "B", "source": "referral"}, {"source": "web"}]
    response = reader.post("/assignment-rules/simulate", {"leads": leads}, format="json")
    assert response.status_code == 200, response.json()
    data = response.json()["data"]
    assert [row["userId"] for row in data] == [str(reps[0].pk), str(reps[1].pk), None]
    assert data[0]["leadId"] == "a" and data[0]["name"] == "A" and data[0]["ruleId"] == str(rule.pk)
    assert data[1]["explanation"] == 'rule "Referrals" matched source=referral; round robin: Ben, after Ana'
    assert data[2]["explanation"].startswith('rule "Referrals" did not match (source=web not in referral)')
    assert every_row() == before
    assert set(RuleMember.objects.values_list("turn", flat=True)) == {0}


def test_simulate_a_draft_on_a_sample_of_the_backlog(api, organization, reps):
    for source in ("referral", "website", "referral"):
        LeadFactory(organization=organization, assigned_to=None, source=source)
    LeadFactory(organization=organization, assigned_to=reps[0], source="referral")
    before = every_row()
    draft = [
        {
            "name": "Draft",
            "conditions": {"source": ["referral"]},
            "method": "weighted",
            "members": [{"userId": str(reps[1].pk), "weight": 2}],
        },
    ]
    response = api.post("/assignment-rules/simulate", {"sample": 50, "rules": draft}, format="json")
    assert response.status_code == 200, response.json()
    data = response.json()["data"]
    assert len(data) == 3
    assert [row["userId"] for row in data] == [str(reps[1].pk), None, str(reps[1].pk)]
    assert data[0]["ruleName"] == "Draft" and data[0]["ruleId"] is None
    assert every_row() == before


def test_simulate_validation(api, other_user):
    response = api.post("/assignment-rules/simulate", {"sample": 0, "leads": [{"status": "won"}]}, format="json")
    assert response.status_code == 400
    fields = {item["field"] for item in response.json()["details"]}
    assert {"sample", "leads.0.status"} <= fields
    draft = [{"name": "X", "members": [{"userId": str(other_user.pk), "weight": 0}]}]
    response = api.post("/assignment-rules/simulate", {"sample": 5, "rules": draft}, format="json")
    fields = {item["field"] for item in response.json()["details"]}
    assert fields == {"rules.0.members.0.userId", "rules.0.members.0.weight"}
    assert api.post("/assignment-rules/simulate", {}, format="json").json() == {"data": []}  # sample 50 of none
