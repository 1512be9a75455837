"""A reassign job and real task workers on PostgreSQL: the worker is killed with kill -9 mid-job."""

import os
import signal
from collections import Counter

import pytest

from events.models import Event
from jobs.models import Job
from jobs.tests.workers import start_worker, stop, wait_until
from leads.models import Lead, LeadHistory
from leads.services import lead_reassign_or_queue
from organizations.models import User
from organizations.tests.factories import UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

LEADS = 40_000  # 8 chunks of 5,000


def test_a_reassign_job_whose_worker_is_killed_resumes_and_moves_each_lead_once(organization, user):
    source, target = (UserFactory(organization=organization, role=User.Role.SALES_REP) for _ in range(2))
    Lead.objects.bulk_create(
        [Lead(organization=organization, name=f"Lead {n}", assigned_to=source) for n in range(LEADS)],
        batch_size=5_000,
    )
    job = lead_reassign_or_queue(organization=organization, from_user=source, to_user=target, user=user)
    assert isinstance(job, Job) and job.total == LEADS

    first = start_worker()
    try:
        wait_until(lambda: Job.objects.get(pk=job.pk).done >= 5_000, 180, first)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        stop(first)
    killed_at = Job.objects.get(pk=job.pk)
    assert killed_at.status == "running" and killed_at.done < LEADS
    assert Lead.objects.filter(assigned_to=target).count() == killed_at.done  # progress commits with its chunk

    second = start_worker()
    try:
        wait_until(lambda: Job.objects.get(pk=job.pk).status not in ("queued", "running"), 240)
    finally:
        stop(second)

    job.refresh_from_db()
    assert (job.status, job.done, job.result) == ("succeeded", LEADS, {"reassigned": LEADS})
    assert "stopped answering" in job.notice and "resumes after the" in job.notice
    assert Lead.objects.filter(assigned_to=target).count() == LEADS
    assert not Lead.objects.filter(assigned_to=source).exists()
    history = Counter(LeadHistory.objects.filter(action="reassigned").values_list("lead_id", flat=True))
    assert len(history) == LEADS and set(history.values()) == {1}
    events = Counter(event.data["lead"]["id"] for event in Event.objects.filter(type="lead.reassigned").only("data"))
    assert len(events) == LEADS and set(events.values()) == {1}
    assert set(Lead.objects.values_list("version", flat=True)) == {2}
