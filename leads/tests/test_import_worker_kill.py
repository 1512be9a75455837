"""Admin imports and real task workers on PostgreSQL: killed with kill -9, and started by concurrent clicks."""

import csv
import io
import os
import signal

import pytest
from django.test import Client
from django.urls import reverse

from conftest import run_at_once
from events.models import Event
from jobs.tests.workers import start_worker, stop, wait_until
from leads import lead_imports
from leads.models import Lead, LeadHistory, LeadImport
from organizations.models import User
from organizations.tests.factories import UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROWS = 30_000
BAD_EVERY = 1_000  # score 999: one skipped row per 1,000


def previewed_import(organization, user, rows=ROWS):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["name", "email", "score"])
    for n in range(rows):
        writer.writerow([f"Lead {n}", f"lead{n}@x.test", 999 if n % BAD_EVERY == 7 else n % 100])
    options = {"upsert": "", "extra_to_custom_fields": False, "default_assignee": None}
    lead_import = lead_imports.lead_import_create(
        organization=organization, user=user, file_name="leads.csv", content=out.getvalue().encode(), options=options
    )
    lead_imports.lead_import_preview(lead_import)
    return lead_import


def test_an_import_whose_worker_is_killed_resumes_in_another_and_writes_every_row_once(organization, user):
    lead_import = previewed_import(organization, user)
    assert lead_imports.lead_import_start(lead_import)
    first = start_worker()
    try:
        # Killed mid-run: at least one batch committed, the file not finished.
        wait_until(lambda: LeadImport.objects.get(pk=lead_import.pk).committed_rows >= 5_000, 180, first)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        stop(first)
    killed_at = LeadImport.objects.get(pk=lead_import.pk)
    assert killed_at.status == "running" and killed_at.committed_rows < ROWS

    second = start_worker()
    try:
        wait_until(lambda: LeadImport.objects.get(pk=lead_import.pk).status not in ("queued", "running"), 240)
    finally:
        stop(second)

    lead_import.refresh_from_db()
    bad = ROWS // BAD_EVERY
    assert (lead_import.status, lead_import.committed_rows) == ("done", ROWS)
    assert (lead_import.created, lead_import.skipped) == (ROWS - bad, bad)
    assert "stopped answering" in lead_import.notice and "resumes after the" in lead_import.notice
    leads = Lead.objects.for_organization(organization)
    assert leads.count() == ROWS - bad == leads.values("email").distinct().count()
    assert LeadHistory.objects.filter(organization=organization).count() == ROWS - bad
    assert Event.objects.filter(organization_id=organization.pk, type="lead.created").count() == ROWS - bad
    report = list(csv.DictReader(io.StringIO(lead_import.error_report)))
    assert [int(row["line"]) for row in report] == [2 + n for n in range(ROWS) if n % BAD_EVERY == 7]


def test_three_concurrent_run_clicks_start_the_import_once(organization, monkeypatch):
    staff = UserFactory(organization=organization, role=User.Role.SALES_REP, is_staff=True)
    lead_import = previewed_import(organization, staff, rows=300)
    monkeypatch.setattr(lead_imports, "RUN_AT_ONCE_MAX_ROWS", 1_000)
    lead_imports.lead_import_preview(lead_import)  # small: it runs in the request
    url = reverse("admin:leads_leadimport_change", args=[lead_import.pk])

    def click():
        client = Client()
        client.force_login(staff)
        response = client.post(url, {"_run": "Run"}, follow=True)
        return response.status_code, [str(message) for message in response.context["messages"]]

    answers = run_at_once([click] * 3)

    assert [status for status, _ in answers] == [200] * 3
    messages = [text for _, texts in answers for text in texts]
    assert sum("already been started" in text for text in messages) == 2
    assert Lead.objects.for_organization(organization).count() == 300 - 1
    assert LeadHistory.objects.filter(organization=organization).count() == 300 - 1
    lead_import.refresh_from_db()
    assert (lead_import.status, lead_import.created) == ("done", 299)


def test_three_concurrent_run_clicks_queue_a_large_import_once(organization, user):
    lead_import = previewed_import(organization, user, rows=6_000)
    started = run_at_once([lambda: lead_imports.lead_import_start(LeadImport.objects.get(pk=lead_import.pk))] * 3)
    assert sorted(started) == [False, False, True]
    from django_tasks_db.models import DBTaskResult

    assert DBTaskResult.objects.filter(task_path="leads.tasks.run_lead_import").count() == 1


def test_through_the_api_progress_shows_while_it_runs_and_cancel_stops_it_between_batches(organization, user):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from conftest import client_for

    api = client_for(user)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["name", "email"])
    for n in range(ROWS):
        writer.writerow([f"Lead {n}", f"lead{n}@x.test"])
    upload = SimpleUploadedFile("leads.csv", out.getvalue().encode())
    import_id = api.post("/imports", {"file": upload}, format="multipart").json()["id"]
    worker = start_worker()
    try:
        seen = []

        def running_with_progress():
            shown = api.get(f"/imports/{import_id}").json()
            seen.append(shown)
            return shown["status"] == "running" and shown["created"] >= 5_000

        wait_until(running_with_progress, 180, worker)
        assert 0 < seen[-1]["progress"] < 100 and seen[-1]["rowsRead"] >= 5_000 and seen[-1]["startedAt"]
        cancelled = api.post(f"/imports/{import_id}/cancel")
        assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")
        # The worker stops before its next batch commits; it then takes no more of this import.
        wait_until(lambda: not LeadImport.objects.filter(pk=import_id, task_id__in=running_tasks()).exists(), 120)
    finally:
        stop(worker)

    lead_import = LeadImport.objects.get(pk=import_id)
    assert lead_import.status == "cancelled" and lead_import.committed_rows < ROWS
    written = Lead.objects.for_organization(organization).count()
    assert written == lead_import.created == lead_import.committed_rows and written % 5_000 == 0
    assert LeadHistory.objects.filter(organization=organization).count() == written


def running_tasks():
    from django_tasks_db.models import DBTaskResult

    return [str(pk) for pk in DBTaskResult.objects.filter(status="RUNNING").values_list("pk", flat=True)]
