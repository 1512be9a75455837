"""POST /leads/route of a large backlog is a job: 202 with it, routed in chunks by the worker, saying what it did."""

import pytest
from django.utils import timezone

from jobs.models import Job
from jobs.tasks import run_job
from leads import services
from leads.models import Lead, LeadHistory
from leads.tests.factories import LeadFactory
from organizations.tests.factories import UserFactory
from routing import backlog
from routing.services import rule_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def reps(organization):
    return [UserFactory(organization=organization, name=name) for name in ("Ana", "Ben")]


@pytest.fixture
def small_limits(monkeypatch):
    monkeypatch.setattr(backlog, "ROUTE_AT_ONCE_MAX", 5)
    monkeypatch.setattr(backlog, "ROUTE_CHUNK", 2)


def referrals_rule(organization, reps):
    members = [{"user": rep} for rep in reps]
    return rule_create(
        organization=organization,
        data={"name": "Referrals", "conditions": {"source": ["referral"]}, "members": members},
    )


def unassigned(organization, count, **fields):
    return LeadFactory.create_batch(count, organization=organization, assigned_to=None, **fields)


def test_a_small_backlog_is_routed_in_the_request(api, organization, reps, small_limits):
    referrals_rule(organization, reps)
    unassigned(organization, 4, source="referral")
    unassigned(organization, 1, source="website")  # no rule, no default: stays unassigned

    response = api.post("/leads/route")

    assert response.status_code == 200, response.json()
    assert response.json() == {
        "routed": 4,
        "unassigned": 1,
        "byRule": {"Referrals": 4},
        "byUser": {str(reps[0].pk): 2, str(reps[1].pk): 2},
    }
    assert not Job.objects.exists()


def test_a_large_backlog_is_a_job_whose_result_says_what_it_did(api, organization, user, reps, small_limits):
    referrals_rule(organization, reps)
    routed = unassigned(organization, 6, source="referral")
    stranded = unassigned(organization, 2, source="referral", status="new")  # no one free for these: see below
    others = unassigned(organization, 3, source="website")  # not asked for: the filter leaves them out
    taken = LeadFactory(organization=organization, assigned_to=user, source="referral")

    response = api.post("/leads/route?source=referral")

    assert response.status_code == 202, response.json()
    job = response.json()
    assert response["Location"] == f"/jobs/{job['id']}"
    assert (job["kind"], job["status"], job["total"], job["done"], job["result"]) == ("route", "queued", 8, 0, None)
    assert job["params"] == {"filters": {"source": ["referral"]}}
    assert not Lead.objects.filter(assigned_to__in=reps).exists()  # nothing routed in the request

    # Between the request and the worker: one lead is assigned by hand, one arrives (routed when created).
    Lead.objects.filter(pk=stranded[0].pk).update(assigned_to=user)
    later = LeadFactory(organization=organization, assigned_to=None, source="referral")
    Lead.objects.filter(pk=stranded[1].pk).update(source="website")  # no longer matches the filter

    run_job.call(job["id"])  # what the worker does

    shown = api.get(f"/jobs/{job['id']}").json()
    assert (shown["status"], shown["done"], shown["progress"]) == ("succeeded", 6, 100)
    assert shown["result"] == {
        "routed": 6,
        "unassigned": 0,
        "byRule": {"Referrals": 6},
        "byUser": {str(reps[0].pk): 3, str(reps[1].pk): 3},
    }
    assert set(Lead.objects.filter(assigned_to__in=reps).values_list("pk", flat=True)) == {lead.pk for lead in routed}
    assert Lead.objects.get(pk=stranded[0].pk).assigned_to == user  # the hand's choice stays
    assert Lead.objects.get(pk=taken.pk).assigned_to == user
    assert Lead.objects.filter(pk__in=[lead.pk for lead in others] + [later.pk], assigned_to__isnull=True).count() == 4
    entries = LeadHistory.objects.filter(via="rule")
    assert sorted(entries.values_list("lead_id", flat=True)) == sorted(lead.pk for lead in routed)
    assert {entry.actor_id for entry in entries} == {user.pk}


def test_leads_no_rule_places_are_counted_once_and_the_job_ends(api, organization, reps, small_limits):
    rule_create(organization=organization, data={"name": "Busy", "members": [{"user": reps[0], "max_open": 3}]})
    unassigned(organization, 7, source="website")

    job = api.post("/leads/route").json()
    run_job.call(job["id"])

    result = Job.objects.get(pk=job["id"]).result
    assert (result["routed"], result["unassigned"], result["byRule"]) == (3, 4, {"Busy": 3})
    assert Lead.objects.filter(assigned_to=reps[0]).count() == 3


def test_a_job_resumed_after_its_worker_died_routes_each_lead_once(api, organization, reps, small_limits, monkeypatch):
    referrals_rule(organization, reps)
    unassigned(organization, 7, source="referral")
    job = Job.objects.get(pk=api.post("/leads/route").json()["id"])
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, started_at=timezone.now())

    real_route, calls = services.leads_route, []

    def dies_in_the_second_chunk(**kwargs):
        calls.append(kwargs["lead_ids"])
        if len(calls) == 2:
            raise SystemExit("worker killed")
        return real_route(**kwargs)

    monkeypatch.setattr(services, "leads_route", dies_in_the_second_chunk)
    with pytest.raises(SystemExit):
        backlog.route_in_chunks(Job.objects.get(pk=job.pk))
    job.refresh_from_db()
    assert job.done == 2 and job.result["routed"] == 2 and job.result["lastLeadId"] == str(calls[0][-1])

    monkeypatch.setattr(services, "leads_route", real_route)
    result = backlog.route_in_chunks(Job.objects.get(pk=job.pk))  # the next worker's run

    assert result == {
        "routed": 7,
        "unassigned": 0,
        "byRule": {"Referrals": 7},
        "byUser": {str(reps[0].pk): 4, str(reps[1].pk): 3},
    }
    assert Job.objects.get(pk=job.pk).done == 7
    assert LeadHistory.objects.filter(via="rule").count() == 7


def test_another_organizations_backlog_is_neither_routed_nor_counted(other_api, organization, reps, small_limits):
    referrals_rule(organization, reps)
    unassigned(organization, 7, source="referral")
    response = other_api.post("/leads/route")
    assert response.status_code == 200
    assert response.json()["routed"] == 0
    assert not Lead.objects.filter(assigned_to__isnull=False).exists()


def test_another_organizations_route_job_neither_sees_nor_routes_ours(
    api, other_api, other_user, organization, reps, small_limits
):
    referrals_rule(organization, reps)
    ours = unassigned(organization, 7, source="referral")
    theirs = unassigned(other_user.organization, 7, source="referral")
    rule_create(organization=other_user.organization, data={"name": "Theirs", "members": [{"user": other_user}]})

    job = other_api.post("/leads/route").json()
    assert job["total"] == 7
    run_job.call(job["id"])

    assert Job.objects.get(pk=job["id"]).result["byUser"] == {str(other_user.pk): 7}
    assert Lead.objects.filter(pk__in=[lead.pk for lead in theirs], assigned_to=other_user).count() == 7
    assert Lead.objects.filter(pk__in=[lead.pk for lead in ours], assigned_to__isnull=True).count() == 7
    assert api.get(f"/jobs/{job['id']}").status_code == 404
