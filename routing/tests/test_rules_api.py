"""/assignment-rules: the shape, who may write, validation, order and the default assignee."""

import pytest

from conftest import client_for
from organizations.models import User
from organizations.tests.factories import UserFactory
from routing.models import AssignmentRule, RuleMember

pytestmark = pytest.mark.django_db


@pytest.fixture
def reps(organization):
    return [UserFactory(organization=organization, name=name) for name in ("Ana", "Ben", "Cleo")]


def rule_body(reps, **extra):
    return {
        "name": "EU referrals",
        "conditions": {"source": ["referral"], "customFields": {"region": ["EU"]}},
        "method": "round_robin",
        "members": [{"userId": str(rep.pk), "weight": 1, "maxOpen": 50, "maxPerDay": None} for rep in reps],
        **extra,
    }


def test_create_and_read_a_rule_in_the_issues_shape(api, reps):
    response = api.post("/assignment-rules", rule_body(reps), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == {
        "id",
        "name",
        "isActive",
        "position",
        "conditions",
        "method",
        "members",
        "createdAt",
        "updatedAt",
    }
    assert body["position"] == 1 and body["isActive"] is True and body["method"] == "round_robin"
    assert body["conditions"] == {"source": ["referral"], "customFields": {"region": ["EU"]}}
    assert body["members"] == [{"userId": str(rep.pk), "weight": 1, "maxOpen": 50, "maxPerDay": None} for rep in reps]
    assert api.get(f"/assignment-rules/{body['id']}").json() == body
    listed = api.get("/assignment-rules").json()
    assert listed["total"] == 1 and listed["data"] == [body]


def test_every_role_reads_only_admins_write(organization, api, reps):
    rule_id = api.post("/assignment-rules", rule_body(reps), format="json").json()["id"]
    for role in (User.Role.SALES_REP, User.Role.READ_ONLY):
        client = client_for(UserFactory(organization=organization, role=role))
        assert client.get("/assignment-rules").status_code == 200
        assert client.get(f"/assignment-rules/{rule_id}").status_code == 200
        assert client.post("/assignment-rules", rule_body(reps), format="json").status_code == 403
        assert client.patch(f"/assignment-rules/{rule_id}", {"name": "x"}, format="json").status_code == 403
        assert client.post(f"/assignment-rules/{rule_id}/move", {"position": 1}, format="json").status_code == 403
        assert client.delete(f"/assignment-rules/{rule_id}").status_code == 403
        assert client.put("/assignment-rules/default", {"userId": None}, format="json").status_code == 403
    assert AssignmentRule.objects.get().name == "EU referrals"


def test_validation_names_every_mistake_at_once(api, reps, other_user):
    body = rule_body(
        reps,
        method="fastest",
        conditions={"source": ["referral"], "status": ["won"], "colour": ["red"], "emailDomain": ["a@b.com"]},
        members=[
            {"userId": str(reps[0].pk), "weight": 0},
            {"userId": "0190b2f4-6c1e-7d3a-9b7e-3f2a1c4d5e6f"},
            {"userId": str(other_user.pk)},
        ],
    )
    response = api.post("/assignment-rules", body, format="json")
    assert response.status_code == 400
    details = response.json()["details"]
    fields = {item["field"]: item for item in details}
    assert fields["method"]["code"] == "invalid_choice"
    assert "round_robin" in fields["method"]["message"]
    assert fields["conditions.status.0"]["code"] == "invalid_choice"
    assert fields["conditions.colour"]["code"] == "unknown_parameter"
    assert "scoreMin" in fields["conditions.colour"]["message"]
    assert fields["members.0.weight"]["code"] == "out_of_range"
    assert fields["conditions.emailDomain.0"]["message"].startswith("Must be a domain")
    assert fields["members.1.userId"]["message"].startswith("No user with id")
    # Another organization's user is answered exactly like an unknown one: nothing about them leaks.
    assert fields["members.2.userId"]["message"] == fields["members.1.userId"]["message"].replace(
        "0190b2f4-6c1e-7d3a-9b7e-3f2a1c4d5e6f", str(other_user.pk)
    )
    assert AssignmentRule.objects.count() == 0


def test_a_user_listed_twice_and_an_empty_pool_are_refused(api, reps):
    twice = rule_body(reps, members=[{"userId": str(reps[0].pk)}, {"userId": str(reps[0].pk)}])
    assert api.post("/assignment-rules", twice, format="json").json()["details"][0]["field"] == "members"
    empty = api.post("/assignment-rules", rule_body(reps, members=[]), format="json")
    assert empty.status_code == 400 and empty.json()["details"][0]["field"] == "members"


def test_move_reorders_and_positions_stay_1_to_n(api, reps):
    ids = [api.post("/assignment-rules", rule_body(reps, name=f"R{i}"), format="json").json()["id"] for i in range(4)]
    response = api.post(f"/assignment-rules/{ids[3]}/move", {"position": 1}, format="json")
    assert response.status_code == 200 and response.json()["position"] == 1
    assert [rule["name"] for rule in api.get("/assignment-rules").json()["data"]] == ["R3", "R0", "R1", "R2"]
    assert api.post(f"/assignment-rules/{ids[0]}/move", {"position": 0}, format="json").status_code == 400
    assert api.post(f"/assignment-rules/{ids[0]}/move", {"position": 9}, format="json").json()["position"] == 4
    api.post(f"/assignment-rules/{ids[0]}/move", {"position": 2}, format="json")
    api.delete(f"/assignment-rules/{ids[0]}")
    assert [(r["name"], r["position"]) for r in api.get("/assignment-rules").json()["data"]] == [
        ("R3", 1),
        ("R1", 2),
        ("R2", 3),
    ]
    created_at_2 = api.post("/assignment-rules", rule_body(reps, name="New", position=2), format="json").json()
    assert created_at_2["position"] == 2
    assert [r["name"] for r in api.get("/assignment-rules").json()["data"]] == ["R3", "New", "R1", "R2"]


def test_update_replaces_members_and_keeps_the_rotation_of_who_stays(api, reps):
    rule_id = api.post("/assignment-rules", rule_body(reps), format="json").json()["id"]
    RuleMember.objects.filter(user=reps[0]).update(turn=7)
    response = api.patch(
        f"/assignment-rules/{rule_id}",
        {"members": [{"userId": str(reps[0].pk), "weight": 3}], "isActive": False},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["members"] == [{"userId": str(reps[0].pk), "weight": 3, "maxOpen": None, "maxPerDay": None}]
    assert response.json()["isActive"] is False
    assert list(RuleMember.objects.values_list("user_id", "turn", "weight")) == [(reps[0].pk, 7, 3)]


def test_default_assignee(api, reps, other_user, organization):
    assert api.get("/assignment-rules/default").json() == {"userId": None}
    assert api.put("/assignment-rules/default", {"userId": str(reps[1].pk)}, format="json").json() == {
        "userId": str(reps[1].pk)
    }
    organization.refresh_from_db()
    assert organization.default_assignee == reps[1]
    refused = api.put("/assignment-rules/default", {"userId": str(other_user.pk)}, format="json")
    assert refused.status_code == 400 and refused.json()["details"][0]["field"] == "userId"
    assert api.put("/assignment-rules/default", {"userId": None}, format="json").json() == {"userId": None}


def test_another_organizations_rules_are_not_found(api, other_api, reps):
    rule_id = api.post("/assignment-rules", rule_body(reps), format="json").json()["id"]
    assert other_api.get(f"/assignment-rules/{rule_id}").status_code == 404
    assert other_api.get("/assignment-rules").json()["total"] == 0
    assert other_api.patch(f"/assignment-rules/{rule_id}", {"name": "x"}, format="json").status_code == 404
    assert other_api.post(f"/assignment-rules/{rule_id}/move", {"position": 1}, format="json").status_code == 404
    assert other_api.delete(f"/assignment-rules/{rule_id}").status_code == 404
    assert AssignmentRule.objects.get().name == "EU referrals"
