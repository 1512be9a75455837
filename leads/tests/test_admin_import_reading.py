"""Leads → Import in the admin, with files no database can store or Python cannot read as they are.

NUL bytes, "\\u0000" in JSON, 5,000 nested brackets and 5,000 columns: each is a row error or a
clear form error, never a 500, and every run ends with a status and its report. PostgreSQL is the
database that refuses NUL; these tests run on both.
"""

import json
from urllib.parse import urlencode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from events.models import Event
from leads import lead_imports
from leads.models import Lead, LeadImport
from leadsite.text import UNSTORABLE_MESSAGE, find_unstorable
from organizations.models import User
from organizations.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:leads_leadimport_add")
DEEP = 5000


def change_url(lead_import):
    return reverse("admin:leads_leadimport_change", args=[lead_import.pk])


@pytest.fixture
def staff(organization):
    return UserFactory(organization=organization, role=User.Role.SALES_REP, is_staff=True, email="ops@a.example")


@pytest.fixture
def staff_client(staff):
    client = Client(raise_request_exception=False)
    client.force_login(staff)
    return client


def upload(client, content: str, name: str):
    return client.post(ADD_URL, {"file": SimpleUploadedFile(name, content.encode()), "upsert": ""})


def uploaded(client, content: str, name: str) -> LeadImport:
    response = upload(client, content, name)
    assert response.status_code == 302, response.content.decode()[:3000]
    return LeadImport.objects.get()


def preview(client, lead_import, **targets):
    data = {"upsert": "", "default_assignee": "", "_preview": "Preview"}
    for index, column in enumerate(lead_import.header):
        data[f"column_{index}"] = targets.get(column, lead_import.mapping[column])
    response = client.post(change_url(lead_import), data)
    assert response.status_code == 200, response.content.decode()[:3000]
    lead_import.refresh_from_db()
    return response


def run(client, lead_import):
    response = client.post(change_url(lead_import), {"_run": "Run"})
    assert response.status_code == 302, response.content.decode()[:3000]
    lead_import.refresh_from_db()
    return lead_import


def csv_rows(count, start=1):
    return "".join(f"Lead {n},lead{n}@x.test\n" for n in range(start, start + count))


def report_lines(lead_import):
    return lead_import.error_report.splitlines()[1:]


# -- NUL --------------------------------------------------------------------------------------


def test_a_nul_in_a_csv_cell_is_that_rows_error(staff_client, organization):
    content = "name,email\n" + csv_rows(2) + "Nul\x00Name,nul@x.test\n" + csv_rows(2, start=3)
    lead_import = uploaded(staff_client, content, "nul.csv")
    assert find_unstorable(lead_import.samples) is None

    preview(staff_client, lead_import)
    assert (lead_import.status, lead_import.preview["created"], lead_import.preview["skipped"]) == ("previewed", 4, 1)

    run(staff_client, lead_import)
    assert (lead_import.status, lead_import.created, lead_import.skipped) == ("done", 4, 1)
    assert Lead.objects.for_organization(organization).count() == 4
    [line] = report_lines(lead_import)
    assert line.startswith("4,") and UNSTORABLE_MESSAGE in line
    assert "\x00" not in lead_import.error_report


def test_a_nul_in_a_csv_header_is_a_form_error(staff_client):
    response = upload(staff_client, "name,e\x00mail\nAda,ada@x.test\n", "nul-header.csv")

    assert response.status_code == 200
    page = response.content.decode()
    assert "Column 2&#x27;s name contains a character that cannot be stored" in page
    assert not LeadImport.objects.exists()


def test_a_nul_after_the_first_50_rows_fails_only_its_row_at_run_time(staff_client, organization):
    content = "name,email\n" + csv_rows(60) + "Late\x00Nul,late@x.test\n" + csv_rows(5, start=61)
    lead_import = uploaded(staff_client, content, "late-nul.csv")
    preview(staff_client, lead_import)

    run(staff_client, lead_import)

    assert (lead_import.status, lead_import.created, lead_import.skipped, lead_import.rows) == ("done", 65, 1, 66)
    assert lead_import.finished_at is not None
    [line] = report_lines(lead_import)
    assert line.startswith("62,")
    assert Lead.objects.for_organization(organization).count() == 65


def test_a_nul_escape_in_a_json_value_is_that_rows_error(staff_client, organization):
    rows = [{"name": "Ada", "email": "ada@x.test"}, {"name": "Nul", "company": "A\u0000B"}, {"name": "Grace"}]
    lead_import = uploaded(staff_client, json.dumps(rows), "nul.json")
    assert find_unstorable(lead_import.samples) is None

    preview(staff_client, lead_import)
    assert (lead_import.preview["created"], lead_import.preview["skipped"]) == (2, 1)
    assert lead_import.preview["reasons"] == [{"field": "company", "message": UNSTORABLE_MESSAGE, "rows": 1}]

    run(staff_client, lead_import)
    assert (lead_import.status, lead_import.created, lead_import.skipped) == ("done", 2, 1)
    assert "\x00" not in lead_import.error_report


def test_a_nul_escape_in_a_json_key_is_that_rows_error_not_a_column(staff_client, organization):
    rows = [{"name": "Ada"}, {"name": "Nul", "bad\u0000key": "x"}, {"name": "Grace"}]
    response = staff_client.post(
        ADD_URL,
        {"file": SimpleUploadedFile("nul-key.json", json.dumps(rows).encode()), "extra_to_custom_fields": "on"},
    )
    assert response.status_code == 302
    lead_import = LeadImport.objects.get()
    assert lead_import.header == ["name"]

    preview(staff_client, lead_import)
    run(staff_client, lead_import)

    assert (lead_import.status, lead_import.created, lead_import.skipped) == ("done", 2, 1)


# -- Nesting ----------------------------------------------------------------------------------


@pytest.mark.parametrize("bracket", ["[", "{"])
def test_deep_nesting_in_a_json_file_is_a_row_error(staff_client, organization, bracket):
    deep = '{"a":' * DEEP + "1" + "}" * DEEP if bracket == "{" else "[" * DEEP + "]" * DEEP
    content = '[{"name": "Ada"}, {"name": "Deep", "customFields": {"x": ' + deep + '}}, {"name": "Grace"}]'
    lead_import = uploaded(staff_client, content, "deep.json")

    preview(staff_client, lead_import)
    assert lead_import.preview["skipped"] == 1 and lead_import.preview["created"] >= 1

    run(staff_client, lead_import)
    assert lead_import.status == "done" and lead_import.skipped == 1
    assert "nest" in lead_import.error_report


@pytest.mark.parametrize("bracket", ["[", "{"])
def test_deep_nesting_in_a_json_lines_file_is_that_rows_error(staff_client, organization, bracket):
    deep = '{"a":' * DEEP + "1" + "}" * DEEP if bracket == "{" else "[" * DEEP + "]" * DEEP
    content = '{"name": "Ada"}\n{"name": "Deep", "customFields": {"x": ' + deep + '}}\n{"name": "Grace"}\n'
    lead_import = uploaded(staff_client, content, "deep.jsonl")

    preview(staff_client, lead_import)
    assert (lead_import.preview["created"], lead_import.preview["skipped"]) == (2, 1)

    run(staff_client, lead_import)
    assert (lead_import.status, lead_import.created, lead_import.skipped) == ("done", 2, 1)
    [line] = report_lines(lead_import)
    assert line.startswith("2,") and "nests deeper than" in line


def test_a_file_that_is_only_deep_nesting_is_a_form_error(staff_client):
    response = upload(staff_client, "[" * DEEP + "]" * DEEP, "deep.json")

    assert response.status_code == 200
    assert "The file holds no rows." in response.content.decode()


def test_deep_nesting_in_a_csv_custom_fields_cell_is_that_rows_error(staff_client, organization):
    deep = "[" * DEEP + "]" * DEEP
    content = f'name,customFields\nAda,{{}}\nDeep,"{deep}"\nGrace,\n'
    lead_import = uploaded(staff_client, content, "deep.csv")

    preview(staff_client, lead_import)
    assert (lead_import.preview["created"], lead_import.preview["skipped"]) == (2, 1)

    run(staff_client, lead_import)
    assert (lead_import.status, lead_import.created, lead_import.skipped) == ("done", 2, 1)


# -- Every run ends with a status and its report ---------------------------------------------


def test_a_run_that_breaks_ends_failed_with_its_reason_and_report(staff_client, organization, monkeypatch):
    content = "name,email\n" + csv_rows(3) + "Nul\x00,n@x.test\n"
    lead_import = uploaded(staff_client, content, "breaks.csv")
    preview(staff_client, lead_import)

    def broken_write(self, creates, updates):
        raise RuntimeError("the disk\x00 is full")

    monkeypatch.setattr(lead_imports.Importer, "_write", broken_write)
    run(staff_client, lead_import)

    assert lead_import.status == "failed" and lead_import.finished_at is not None
    assert "the disk\ufffd is full" in lead_import.failure
    assert "Failed" in staff_client.get(change_url(lead_import)).content.decode()


def test_a_run_whose_results_cannot_be_saved_still_ends_failed(staff_client, organization, monkeypatch):
    lead_import = uploaded(staff_client, "name,email\n" + csv_rows(3), "unsaved.csv")
    preview(staff_client, lead_import)

    def unreadable(lead_import):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(lead_imports, "_source", unreadable)
    with pytest.raises(RuntimeError):
        lead_imports.lead_import_start(lead_import)

    lead_import.refresh_from_db()
    assert lead_import.status == "failed" and lead_import.finished_at is not None
    assert "before its results could be saved" in lead_import.failure


# -- 5,000 columns ----------------------------------------------------------------------------


def test_a_file_of_5000_columns_can_be_mapped_and_previewed(staff, organization):
    client = Client(enforce_csrf_checks=True)  # the CSRF check reads the form before the view does
    client.force_login(staff)
    header = ["name", *(f"extra {n}" for n in range(1, 5000))]
    content = ",".join(header) + "\n" + ",".join(["Ada", *("x" * 4999)]) + "\n"
    page = client.get(ADD_URL)
    token = page.cookies["csrftoken"].value
    file = SimpleUploadedFile("wide.csv", content.encode())
    assert client.post(ADD_URL, {"file": file, "upsert": "", "csrfmiddlewaretoken": token}).status_code == 302
    lead_import = LeadImport.objects.get()
    assert len(lead_import.header) == 5000

    page = client.get(change_url(lead_import))
    assert page.status_code == 200 and page.content.decode().count("<select") >= 5000
    data = {"upsert": "", "default_assignee": "", "_preview": "Preview", "csrfmiddlewaretoken": token}
    data.update({f"column_{index}": lead_import.mapping[column] for index, column in enumerate(lead_import.header)})
    # As the browser sends the mapping form: urlencoded, 5,004 fields.
    response = client.post(change_url(lead_import), urlencode(data), content_type="application/x-www-form-urlencoded")

    assert response.status_code == 200, response.content.decode()[:2000]
    lead_import.refresh_from_db()
    assert lead_import.status == "previewed" and lead_import.preview["created"] == 1


def test_the_rest_of_the_admin_keeps_djangos_field_limit(staff_client, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    data = urlencode({f"field_{n}": "x" for n in range(20)})

    response = staff_client.post(ADD_URL, data, content_type="application/x-www-form-urlencoded")

    assert response.status_code == 400


def test_a_file_of_more_columns_than_the_mapping_page_takes_says_the_limit(staff_client, monkeypatch):
    monkeypatch.setattr(lead_imports, "MAX_COLUMNS", 10)
    response = upload(staff_client, ",".join(f"c{n}" for n in range(11)) + "\n" + "x," * 10 + "x\n", "wider.csv")

    assert response.status_code == 200
    assert "The file has 11 columns; the import page takes at most 10 " in response.content.decode()
    assert not LeadImport.objects.exists()


# -- import.completed -------------------------------------------------------------------------


def test_the_completed_event_names_the_uploaded_file(staff_client, organization):
    lead_import = uploaded(staff_client, "name,email\n" + csv_rows(2), "spring-fair.csv")
    preview(staff_client, lead_import)

    run(staff_client, lead_import)

    event = Event.objects.for_organization(organization).get(type="import.completed")
    assert event.data["fileName"] == "spring-fair.csv"
    assert (event.data["created"], event.data["rows"]) == (2, 2)
