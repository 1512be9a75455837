from functools import partial

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conftest import client_for, run_at_once
from leads.models import Lead, LeadHistory
from leads.tests.factories import LeadFactory
from organizations.models import User
from organizations.tests.factories import UserFactory


def fields(response):
    return {item.get("field") for item in response.json()["details"]}


@pytest.fixture
def rep(organization):
    return UserFactory(organization=organization, role=User.Role.SALES_REP)


@pytest.fixture
def successor(organization):
    return UserFactory(organization=organization, role=User.Role.SALES_REP)


def reassign(api, from_user, to_user, **extra):
    return api.post("/leads/reassign", {"fromUserId": str(from_user.id), "toUserId": str(to_user.id), **extra}, "json")


def assignees(leads):
    return [Lead.objects.get(pk=lead.pk).assigned_to_id for lead in leads]


@pytest.mark.django_db
class TestReassign:
    def test_moves_every_lead_of_one_member_to_another(self, api, organization, user, rep, successor):
        moving = LeadFactory.create_batch(3, organization=organization, assigned_to=rep)
        staying = [LeadFactory(organization=organization, assigned_to=user), LeadFactory(organization=organization)]

        response = reassign(api, rep, successor)

        assert response.status_code == 200
        assert response.json() == {"reassigned": 3}
        assert assignees(moving) == [successor.id] * 3
        assert assignees(staying) == [user.id, None]
        assert api.get(f"/leads?assignedTo={successor.id}").json()["total"] == 3

    def test_trailing_slash_works_too(self, api, organization, rep, successor):
        LeadFactory(organization=organization, assigned_to=rep)
        response = api.post("/leads/reassign/", {"fromUserId": str(rep.id), "toUserId": str(successor.id)}, "json")
        assert response.json() == {"reassigned": 1}

    @pytest.mark.parametrize("status", [["new", "contacted"], "new,contacted", "new, contacted"])
    def test_status_filter(self, api, organization, rep, successor, status):
        new = LeadFactory(organization=organization, assigned_to=rep, status="new")
        contacted = LeadFactory(organization=organization, assigned_to=rep, status="contacted")
        qualified = LeadFactory(organization=organization, assigned_to=rep, status="qualified")

        response = reassign(api, rep, successor, status=status)

        assert response.json() == {"reassigned": 2}
        assert assignees([new, contacted, qualified]) == [successor.id, successor.id, rep.id]

    @pytest.mark.parametrize("status", [[], "", None])
    def test_empty_status_filter_moves_everything(self, api, organization, rep, successor, status):
        LeadFactory(organization=organization, assigned_to=rep, status="converted")
        assert reassign(api, rep, successor, status=status).json() == {"reassigned": 1}

    @pytest.mark.parametrize("status", [["new", "won"], "new,won", 5, [5], {"new": True}])
    def test_unknown_status_is_refused(self, api, organization, rep, successor, status):
        lead = LeadFactory(organization=organization, assigned_to=rep)
        response = reassign(api, rep, successor, status=status)
        assert response.status_code == 400
        assert fields(response) == {"status"}
        assert assignees([lead]) == [rep.id]

    def test_nothing_to_move(self, api, rep, successor):
        assert reassign(api, rep, successor).json() == {"reassigned": 0}
        assert not LeadHistory.objects.exists()

    def test_moves_a_deactivated_members_leads(self, api, organization, rep, successor):
        leads = LeadFactory.create_batch(2, organization=organization, assigned_to=rep)
        api.delete(f"/users/{rep.id}")
        assert reassign(api, rep, successor).json() == {"reassigned": 2}
        assert assignees(leads) == [successor.id] * 2

    def test_cannot_move_to_a_deactivated_member(self, api, organization, rep, successor):
        lead = LeadFactory(organization=organization, assigned_to=rep)
        api.delete(f"/users/{successor.id}")
        response = reassign(api, rep, successor)
        assert response.status_code == 400
        assert fields(response) == {"toUserId"}
        assert assignees([lead]) == [rep.id]

    @pytest.mark.parametrize("side", ["fromUserId", "toUserId"])
    def test_users_of_another_organization_are_refused(self, api, organization, rep, successor, other_user, side):
        lead = LeadFactory(organization=organization, assigned_to=rep)
        body = {"fromUserId": str(rep.id), "toUserId": str(successor.id), side: str(other_user.id)}
        response = api.post("/leads/reassign", body, format="json")
        assert response.status_code == 400
        assert fields(response) == {side}
        assert response.json()["details"][0]["message"].startswith("No ")
        assert assignees([lead]) == [rep.id]

    def test_cannot_take_another_organizations_leads(self, api, other_organization, other_user, user):
        lead = LeadFactory(organization=other_organization, assigned_to=other_user)
        other_rep = UserFactory(organization=other_organization)
        response = reassign(api, other_user, user)
        assert fields(response) == {"fromUserId"}
        response = reassign(api, other_user, other_rep)
        assert response.status_code == 400
        assert assignees([lead]) == [other_user.id]

    @pytest.mark.parametrize(
        ("body", "expected"),
        [
            ({}, {"fromUserId", "toUserId"}),
            ({"fromUserId": "not-a-uuid", "toUserId": None}, {"fromUserId", "toUserId"}),
            ({"fromUserId": "00000000-0000-0000-0000-000000000000"}, {"fromUserId", "toUserId"}),
        ],
    )
    def test_invalid_bodies(self, api, body, expected):
        response = api.post("/leads/reassign", body, format="json")
        assert response.status_code == 400
        assert fields(response) == expected

    def test_same_user_is_refused(self, api, rep):
        response = reassign(api, rep, rep)
        assert response.status_code == 400
        assert fields(response) == {"toUserId"}

    def test_records_history_for_each_moved_lead(self, api, organization, user, rep, successor):
        leads = LeadFactory.create_batch(2, organization=organization, assigned_to=rep)
        LeadFactory(organization=organization, assigned_to=user)

        reassign(api, rep, successor)

        entries = LeadHistory.objects.filter(action=LeadHistory.Action.REASSIGNED)
        assert {entry.lead_id for entry in entries} == {lead.id for lead in leads}
        for entry in entries:
            assert (entry.organization_id, entry.actor, entry.via) == (organization.id, user, "api")
            assert entry.changes == {"assignedTo": {"old": str(rep.id), "new": str(successor.id)}}

    @pytest.mark.parametrize("count", [2, 40])
    def test_one_update_and_one_insert_whatever_the_number_of_leads(self, api, organization, rep, successor, count):
        LeadFactory.create_batch(count, organization=organization, assigned_to=rep)
        with CaptureQueriesContext(connection) as queries:
            assert reassign(api, rep, successor).json() == {"reassigned": count}
        statements = [query["sql"].split()[0].upper() for query in queries.captured_queries]
        assert statements.count("UPDATE") == 1
        assert statements.count("INSERT") == 2  # the history and the events
        # Authentication, two user lookups, savepoint, lock of toUser, UPDATE ... RETURNING, two INSERTs.
        assert len(queries.captured_queries) <= 11

    def test_sales_rep_may_reassign(self, organization, rep, successor):
        LeadFactory(organization=organization, assigned_to=rep)
        assert reassign(client_for(rep), rep, successor).json() == {"reassigned": 1}

    def test_read_only_member_may_not(self, organization, rep, successor):
        lead = LeadFactory(organization=organization, assigned_to=rep)
        reader = client_for(UserFactory(organization=organization, role=User.Role.READ_ONLY))
        response = reassign(reader, rep, successor)
        assert response.status_code == 403
        assert assignees([lead]) == [rep.id]

    def test_needs_a_token(self, anonymous, rep, successor):
        assert reassign(anonymous, rep, successor).status_code == 401


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_reassigns_move_each_lead_once_and_record_it_once(user, organization, rep):
    leads = LeadFactory.create_batch(30, organization=organization, assigned_to=rep)
    targets = UserFactory.create_batch(4, organization=organization)
    responses = run_at_once([partial(reassign, client_for(user), rep, target) for target in targets])
    moved = {target.id: response.json()["reassigned"] for target, response in zip(targets, responses, strict=True)}

    assert sum(moved.values()) == 30
    final = dict(Lead.objects.filter(pk__in=[lead.pk for lead in leads]).values_list("pk", "assigned_to_id"))
    for target in targets:
        assert sum(1 for assignee in final.values() if assignee == target.id) == moved[target.id]
    history = LeadHistory.objects.filter(action=LeadHistory.Action.REASSIGNED)
    assert history.count() == 30
    assert {entry.lead_id: entry.changes["assignedTo"]["new"] for entry in history} == {
        pk: str(assignee) for pk, assignee in final.items()
    }


@pytest.mark.django_db
def test_a_large_reassign_records_one_history_entry_and_one_event_per_lead(api, organization, rep, successor):
    """From COPY_FROM leads on, PostgreSQL gets the entries by COPY; the rows must be the same."""
    from events.models import Event
    from leadsite.bulk import COPY_FROM

    Lead.objects.bulk_create(Lead(organization=organization, name=f"L{n}", assigned_to=rep) for n in range(COPY_FROM))

    response = reassign(api, rep, successor)

    assert response.status_code == 200, response.content
    assert response.json() == {"reassigned": COPY_FROM}
    entries = LeadHistory.objects.filter(organization=organization, action="reassigned")
    assert entries.count() == COPY_FROM
    assert entries.first().changes == {"assignedTo": {"old": str(rep.pk), "new": str(successor.pk)}}
    assert entries.first().actor_id is not None and entries.first().via == "api"
    events = Event.objects.filter(organization_id=organization.pk, type="lead.reassigned")
    assert events.count() == COPY_FROM
    event = events.first()
    assert event.data["lead"]["assignedTo"] == str(successor.pk) and event.data["changes"] == entries.first().changes
