"""POST /imports and friends: the admin's imports through the API, run by the task worker."""

import csv
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from conftest import client_for
from events.models import Event
from leads import lead_imports
from leads.models import Lead, LeadHistory, LeadImport
from leads.tasks import run_lead_import
from leads.tests.factories import LeadFactory
from organizations.models import User
from organizations.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CSV = (
    "Full Name,E-Mail,Firma,Lead Score,Favourite Colour\n"
    "Ada Lovelace,ada@x.test,Engines Ltd,90,green\n"
    "Bad Score,bad@x.test,Nope,150,red\n"
    "Grace Hopper,grace@x.test,Navy,80,blue\n"
)
MAPPING = {"Full Name": "name", "E-Mail": "email", "Firma": "company", "Lead Score": "score"}


def post_import(api, content=CSV, name="leads.csv", **fields):
    data = {"file": SimpleUploadedFile(name, content.encode() if isinstance(content, str) else content)}
    data.update({key: json.dumps(value) if isinstance(value, dict) else value for key, value in fields.items()})
    return api.post("/imports", data, format="multipart")


def run(import_id):
    run_lead_import.call(str(import_id))  # what the worker does


def test_an_import_is_queued_at_once_then_run_by_the_worker(api, user, organization):
    response = post_import(api, mapping=MAPPING, extraToCustomFields="true")

    assert response.status_code == 202
    body = response.json()
    assert response["Location"] == f"/imports/{body['id']}"
    assert {key: body[key] for key in ("status", "fileName", "format", "dryRun", "upsert", "rowsRead", "progress")} == {
        "status": "queued",
        "fileName": "leads.csv",
        "format": "csv",
        "dryRun": False,
        "upsert": "",
        "rowsRead": 0,
        "progress": 0,
    }
    assert body["mapping"]["Firma"] == "company" and body["mapping"]["Favourite Colour"] == "+customFields"
    assert body["createdBy"] == str(user.pk) and body["errorReport"] == f"/imports/{body['id']}/errors"
    assert not Lead.objects.exists()

    run(body["id"])

    shown = api.get(f"/imports/{body['id']}").json()
    assert {key: shown[key] for key in ("status", "rowsRead", "created", "updated", "unchanged", "skipped")} == {
        "status": "done",
        "rowsRead": 3,
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "skipped": 1,
    }
    assert (shown["written"], shown["progress"]) == (2, 100)
    assert shown["reasons"] == [{"field": "score", "message": "Must be from 0 to 100.", "rows": 1}]
    assert shown["startedAt"] and shown["finishedAt"]
    ada = Lead.objects.get(email="ada@x.test")
    assert (ada.company, ada.score, ada.custom_fields) == ("Engines Ltd", 90, {"Favourite Colour": "green"})
    assert set(LeadHistory.objects.values_list("via", "actor_id")) == {("import", user.pk)}
    assert Event.objects.filter(type="import.completed").count() == 1

    errors = api.get(f"/imports/{body['id']}/errors")
    assert errors.status_code == 200 and errors["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(errors.content.decode())))
    assert rows[0][:2] == ["line", "errors"] and [row[0] for row in rows[1:]] == ["3"]
    assert "score" in rows[1][1]


def test_the_admins_lead_imports_show_the_apis_imports(api, organization):
    import_id = post_import(api, mapping=MAPPING).json()["id"]
    staff = UserFactory(organization=organization, role=User.Role.SALES_REP, is_staff=True)
    client = Client()
    client.force_login(staff)
    page = client.get(reverse("admin:leads_leadimport_change", args=[import_id]))
    assert page.status_code == 200 and "leads.csv" in page.content.decode()
    assert "leads.csv" in client.get(reverse("admin:leads_leadimport_changelist")).content.decode()


def test_json_lines_upsert_by_email_with_a_default_assignee_by_email(api, organization):
    rep = UserFactory(organization=organization, email="rep@x.test", role=User.Role.SALES_REP)
    LeadFactory(organization=organization, email="ada@x.test", name="Ada", score=10)
    lines = [{"name": "Ada", "email": "ada@x.test", "score": 95}, {"name": "New", "email": "new@x.test"}]
    content = "".join(json.dumps(line) + "\n" for line in lines)
    body = post_import(api, content, name="leads.jsonl", upsert="email", defaultAssignee="REP@x.test").json()
    assert body["defaultAssignee"] == str(rep.pk)

    run(body["id"])

    shown = api.get(f"/imports/{body['id']}").json()
    assert (shown["format"], shown["created"], shown["updated"], shown["written"]) == ("jsonl", 1, 1, 2)
    assert Lead.objects.get(email="ada@x.test").score == 95
    assert Lead.objects.get(email="new@x.test").assigned_to == rep


def test_a_dry_run_counts_and_writes_nothing(api):
    body = post_import(api, mapping=MAPPING, dryRun="true").json()
    run(body["id"])
    shown = api.get(f"/imports/{body['id']}").json()
    assert (shown["status"], shown["dryRun"], shown["created"], shown["skipped"], shown["written"]) == (
        "done",
        True,
        2,
        1,
        0,
    )
    assert not Lead.objects.exists() and not Event.objects.exists()


def test_every_mistake_of_the_form_is_answered_at_once_and_nothing_is_stored(api):
    response = post_import(
        api,
        mapping={"Nope": "name", "Firma": "colour"},
        upsert="phone",
        defaultAssignee="nobody@x.test",
        extraToCustomFields="maybe",
        color="red",
    )
    assert response.status_code == 400
    details = {detail["field"]: detail for detail in response.json()["details"]}
    assert set(details) == {"mapping", "upsert", "defaultAssignee", "extraToCustomFields", "color"}
    assert details["mapping"]["message"].startswith("'Firma': 'colour' is not a target; the targets are '', 'name'")
    assert (
        details["defaultAssignee"]["message"] == "No active user with id or email 'nobody@x.test' in your organization."
    )
    assert details["color"]["code"] == "unknown_parameter"
    assert not LeadImport.objects.exists()


def test_a_mapping_naming_a_missing_column_or_no_name_is_refused(api):
    unknown = post_import(api, mapping={"Nope": "name"})
    assert unknown.status_code == 400
    assert unknown.json()["details"][0]["message"].startswith("'Nope' is not a column of the file; its columns:")
    no_name = post_import(api, mapping={"Full Name": ""})
    assert no_name.status_code == 400
    assert no_name.json()["details"] == [
        {"message": "No column maps to name; use --map 'Your Column=name'.", "field": "mapping", "code": "invalid"}
    ]
    assert not LeadImport.objects.exists()


def test_unknown_form_fields_and_unreadable_files_are_refused(api):
    unknown = post_import(api, mapping=MAPPING, colour="red")
    assert unknown.status_code == 400
    assert unknown.json()["details"][0]["field"] == "colour"
    assert unknown.json()["details"][0]["code"] == "unknown_parameter"
    empty = post_import(api, "", name="empty.csv")
    assert empty.status_code == 400 and empty.json()["details"][0]["field"] == "file"


def test_the_file_may_be_larger_than_the_apis_body_limit_up_to_50_mb(api, settings, monkeypatch):
    settings.MAX_REQUEST_BODY_BYTES = 1000
    big = "name\n" + "".join(f"Lead {n}\n" for n in range(300))
    assert post_import(api, big).status_code == 202
    monkeypatch.setattr(lead_imports, "MAX_UPLOAD_BYTES", 1000)
    too_big = post_import(api, big)
    assert too_big.status_code == 413 and too_big.json()["details"][0]["code"] == "too_large"


def test_cancel_a_queued_import_and_not_a_finished_one(api):
    queued = post_import(api, mapping=MAPPING).json()["id"]
    cancelled = api.post(f"/imports/{queued}/cancel")
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")
    run(queued)
    assert not Lead.objects.exists()

    done = post_import(api, mapping=MAPPING).json()["id"]
    run(done)
    refused = api.post(f"/imports/{done}/cancel")
    assert refused.status_code == 409
    assert refused.json()["details"][0]["message"] == "The import has ended (done); there is nothing to cancel."


def test_roles_read_only_members_read_sales_reps_import(api, organization):
    import_id = post_import(api, mapping=MAPPING).json()["id"]
    reader = client_for(UserFactory(organization=organization, role=User.Role.READ_ONLY))
    rep = client_for(UserFactory(organization=organization, role=User.Role.SALES_REP))
    assert reader.get("/imports").status_code == 200
    assert reader.get(f"/imports/{import_id}").status_code == 200
    assert reader.get(f"/imports/{import_id}/errors").status_code == 200
    assert post_import(reader, mapping=MAPPING).status_code == 403
    assert reader.post(f"/imports/{import_id}/cancel").status_code == 403
    assert post_import(rep, mapping=MAPPING).status_code == 202


def test_another_organizations_imports_and_error_reports_are_not_found(api, other_api):
    import_id = post_import(api, mapping=MAPPING).json()["id"]
    run(import_id)
    for path in (f"/imports/{import_id}", f"/imports/{import_id}/errors"):
        assert other_api.get(path).status_code == 404
    assert other_api.post(f"/imports/{import_id}/cancel").status_code == 404
    assert other_api.get("/imports").json()["data"] == []


def test_each_committed_batch_shows_its_rows_read_and_progress_with_its_counts(api, monkeypatch):
    """A reader polling GET /imports/{id} never sees a batch's leads counted beside the progress of before it."""
    rows = 12_000  # three batches of 5,000 at most
    content = "name,email\n" + "".join(f"Lead {n},lead{n}@x.test\n" for n in range(rows))
    import_id = post_import(api, content=content).json()["id"]
    monkeypatch.setattr(lead_imports._ProgressOnTheRow, "update", lambda *args, **kwargs: None)  # no saves between
    seen = []
    committing = lead_imports._ProgressOnTheRow.committing

    def committing_then_read(self, *args, **kwargs):
        committing(self, *args, **kwargs)
        seen.append(api.get(f"/imports/{import_id}").json())  # in the batch's transaction, as it will commit

    monkeypatch.setattr(lead_imports._ProgressOnTheRow, "committing", committing_then_read)

    run(import_id)

    assert [shown["created"] for shown in seen] == [5_000, 10_000, 12_000]
    for shown in seen:
        assert shown["rowsRead"] >= shown["created"] and 0 < shown["progress"] <= 100
    assert seen[0]["progress"] < seen[1]["progress"] < 100
