"""POST /leads/reassign of many leads is a job: 202 with it, moved in chunks by the worker, shown by /jobs."""

import pytest

from conftest import client_for
from events.models import Event
from jobs.models import Job
from jobs.tasks import run_job
from leads import services, tasks
from leads.models import Lead, LeadHistory
from leads.tests.factories import LeadFactory
from organizations.models import User
from organizations.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def reps(organization):
    return [UserFactory(organization=organization, role=User.Role.SALES_REP) for _ in range(2)]


@pytest.fixture
def small_limits(monkeypatch):
    monkeypatch.setattr(services, "REASSIGN_AT_ONCE_MAX", 5)
    monkeypatch.setattr(tasks, "REASSIGN_CHUNK", 2)


def leads_of(organization, rep, count, **fields):
    return LeadFactory.create_batch(count, organization=organization, assigned_to=rep, **fields)


def reassign(api, source, target, **body):
    return api.post(
        "/leads/reassign", {"fromUserId": str(source.pk), "toUserId": str(target.pk), **body}, format="json"
    )


def test_more_leads_than_the_limit_are_a_job_that_moves_each_once(api, organization, user, reps, small_limits):
    source, target = reps
    moving = leads_of(organization, source, 7)
    leads_of(organization, source, 2, status="unqualified")  # not asked for: they stay

    response = reassign(api, source, target, status=["new"])

    assert response.status_code == 202
    job = response.json()
    assert response["Location"] == f"/jobs/{job['id']}"
    assert {key: job[key] for key in ("kind", "status", "total", "done", "progress", "errors", "result")} == {
        "kind": "reassign",
        "status": "queued",
        "total": 7,
        "done": 0,
        "progress": 0,
        "errors": [],
        "result": None,
    }
    assert job["params"] == {"fromUserId": str(source.pk), "toUserId": str(target.pk), "status": ["new"]}
    assert job["createdBy"] == str(user.pk) and job["startedAt"] is None
    assert Lead.objects.filter(assigned_to=target).count() == 0  # nothing moved in the request

    run_job.call(job["id"])  # what the worker does

    shown = api.get(f"/jobs/{job['id']}").json()
    assert (shown["status"], shown["done"], shown["progress"], shown["result"]) == (
        "succeeded",
        7,
        100,
        {"reassigned": 7},
    )
    assert shown["startedAt"] and shown["finishedAt"]
    assert set(Lead.objects.filter(assigned_to=target).values_list("pk", flat=True)) == {lead.pk for lead in moving}
    assert Lead.objects.filter(assigned_to=source).count() == 2
    history = LeadHistory.objects.filter(action="reassigned")
    assert sorted(history.values_list("lead_id", flat=True)) == sorted(lead.pk for lead in moving)
    assert {entry.via for entry in history} == {"api"} and {entry.actor_id for entry in history} == {user.pk}
    events = Event.objects.filter(type="lead.reassigned")
    assert sorted(event.data["lead"]["id"] for event in events) == sorted(str(lead.pk) for lead in moving)


def test_up_to_the_limit_it_stays_synchronous(api, organization, reps, small_limits):
    source, target = reps
    leads_of(organization, source, 5)
    response = reassign(api, source, target)
    assert (response.status_code, response.json()) == (200, {"reassigned": 5})
    assert not Job.objects.exists()


def test_a_target_deactivated_before_the_job_runs_fails_it_with_the_reason(api, organization, reps, small_limits):
    source, target = reps
    leads_of(organization, source, 6)
    job_id = reassign(api, source, target).json()["id"]
    User.objects.filter(pk=target.pk).update(is_active=False)

    run_job.call(job_id)

    job = api.get(f"/jobs/{job_id}").json()
    assert (job["status"], job["done"], job["result"]) == ("failed", 0, None)
    assert job["errors"] == [
        {
            "message": "This user is inactive; leads can only move to an active user.",
            "field": "toUserId",
            "code": "invalid",
        }
    ]
    assert Lead.objects.filter(assigned_to=source).count() == 6


def test_an_inactive_target_is_refused_before_queueing(api, organization, reps, small_limits):
    source, target = reps
    leads_of(organization, source, 6)
    User.objects.filter(pk=target.pk).update(is_active=False)
    response = reassign(api, source, target)
    assert response.status_code == 400 and not Job.objects.exists()


def test_a_cancelled_job_moves_nothing_more(api, organization, reps, small_limits):
    source, target = reps
    leads_of(organization, source, 6)
    job_id = reassign(api, source, target).json()["id"]

    cancelled = api.post(f"/jobs/{job_id}/cancel")
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")
    run_job.call(job_id)

    assert Lead.objects.filter(assigned_to=target).count() == 0
    again = api.post(f"/jobs/{job_id}/cancel")
    assert again.status_code == 409
    assert again.json()["details"][0]["message"] == "The job has ended (cancelled); there is nothing to cancel."


def test_jobs_list_newest_first_and_every_role_reads_them(organization, reps, small_limits, api):
    source, target = reps
    leads_of(organization, source, 6)
    first = reassign(api, source, target).json()["id"]
    second = reassign(api, source, target, status="new").json()["id"]
    reader = client_for(UserFactory(organization=organization, role=User.Role.READ_ONLY))

    listed = reader.get("/jobs")
    assert listed.status_code == 200
    assert [job["id"] for job in listed.json()["data"]] == [second, first]
    assert reader.get(f"/jobs/{first}").status_code == 200
    assert reader.post(f"/jobs/{first}/cancel").status_code == 403


def test_another_organizations_job_is_not_found(api, other_api, organization, reps, small_limits):
    source, target = reps
    leads_of(organization, source, 6)
    job_id = reassign(api, source, target).json()["id"]
    assert other_api.get(f"/jobs/{job_id}").status_code == 404
    assert other_api.post(f"/jobs/{job_id}/cancel").status_code == 404
    assert other_api.get("/jobs").json()["data"] == []
    assert Job.objects.get(pk=job_id).status == "queued"
