"""Leads → Import in the admin: upload, map, preview, run (now or in the task worker), error report; scoped."""

import csv
import io

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from conftest import PASSWORD, needs_chromium, screenshot
from leads import lead_imports
from leads.models import Lead, LeadHistory, LeadImport
from leads.tasks import run_lead_import
from leads.tests.factories import LeadFactory
from organizations.models import User
from organizations.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:leads_leadimport_add")
ODD_CSV = (
    "Full Name,E-Mail,Firma,Lead Score,Favourite Colour\n"
    "Ada Lovelace,ada@x.test,Engines Ltd,90,green\n"
    "Bad Score,bad@x.test,Nope,150,red\n"
    "Grace Hopper,grace@x.test,Navy,80,blue\n"
)


def change_url(lead_import):
    return reverse("admin:leads_leadimport_change", args=[lead_import.pk])


def errors_url(lead_import):
    return reverse("admin:leads_leadimport_errors", args=[lead_import.pk])


@pytest.fixture
def staff(organization):
    return UserFactory(organization=organization, role=User.Role.SALES_REP, is_staff=True, email="ops@a.example")


@pytest.fixture
def staff_client(staff):
    client = Client()
    client.force_login(staff)
    return client


def upload(client, content=ODD_CSV, name="odd.csv", **options):
    data = {"file": SimpleUploadedFile(name, content.encode()), "upsert": "", **options}
    return client.post(ADD_URL, data)


def mapping_post(lead_import, targets, **options):
    """The mapping form's POST: targets {column: field}; other columns as pre-filled."""
    data = {"upsert": lead_import.upsert, "default_assignee": "", "_preview": "Preview", **options}
    for index, column in enumerate(lead_import.header):
        data[f"column_{index}"] = targets.get(column, lead_import.mapping[column])
    return data


def uploaded(client, **options):
    response = upload(client, **options)
    assert response.status_code == 302, response.content.decode()[:2000]
    return LeadImport.objects.get()


def test_the_lead_list_links_to_the_import(staff_client):
    response = staff_client.get(reverse("admin:leads_lead_changelist"))
    assert f'href="{ADD_URL}"' in response.content.decode()


def test_upload_stores_the_file_with_the_importers_own_suggestions(staff_client, organization, staff):
    lead_import = uploaded(staff_client, extra_to_custom_fields="on")

    assert (lead_import.organization, lead_import.created_by, lead_import.status) == (organization, staff, "uploaded")
    assert (lead_import.format, lead_import.encoding, lead_import.size) == ("csv", "utf-8", len(ODD_CSV))
    assert lead_import.mapping == {
        "Full Name": "+customFields",
        "E-Mail": "email",
        "Firma": "+customFields",
        "Lead Score": "+customFields",
        "Favourite Colour": "+customFields",
    }
    assert lead_import.samples["Full Name"] == ["Ada Lovelace", "Bad Score", "Grace Hopper"]
    page = staff_client.get(change_url(lead_import)).content.decode()
    assert "Ada Lovelace · Bad Score · Grace Hopper" in page
    assert LogEntry.objects.filter(object_id=str(lead_import.pk), action_flag=ADDITION, user=staff).exists()


def test_a_file_that_cannot_be_read_is_a_form_error(staff_client):
    response = upload(staff_client, content='[{"name": "a"', name="broken.json")

    assert response.status_code == 200
    assert "The file holds no rows." in response.content.decode()
    assert not LeadImport.objects.exists()


def test_preview_shows_the_rows_as_they_would_be_saved_and_writes_nothing(staff_client, staff):
    lead_import = uploaded(staff_client, extra_to_custom_fields="on")
    targets = {"Full Name": "name", "Firma": "company", "Lead Score": "score"}

    response = staff_client.post(change_url(lead_import), mapping_post(lead_import, targets, default_assignee=staff.pk))

    assert response.status_code == 200
    lead_import.refresh_from_db()
    assert lead_import.status == "previewed"
    preview = lead_import.preview
    assert (preview["created"], preview["skipped"], preview["wholeFile"]) == (2, 1, True)
    assert preview["reasons"] == [{"field": "score", "message": "Must be from 0 to 100.", "rows": 1}]
    first = preview["rows"][0]
    assert first == {
        "line": 2,
        "action": "create",
        "values": {
            "name": "Ada Lovelace",
            "email": "ada@x.test",
            "company": "Engines Ltd",
            "status": "new",
            "score": 90,
            "assigned_to": staff.email,
            "custom_fields": '{"Favourite Colour": "green"}',
        },
    }
    page = response.content.decode()
    assert "Must be from 0 to 100." in page and "Run the import" in page
    assert not Lead.objects.exists()


def test_a_mapping_without_name_is_refused_on_the_page(staff_client):
    lead_import = uploaded(staff_client)

    response = staff_client.post(change_url(lead_import), mapping_post(lead_import, {}))

    assert "No column maps to name" in response.content.decode()
    lead_import.refresh_from_db()
    assert lead_import.status == "uploaded"


def test_a_small_file_runs_at_once_with_history_via_import_and_an_error_report(staff_client, staff, organization):
    lead_import = uploaded(staff_client, extra_to_custom_fields="on")
    staff_client.post(change_url(lead_import), mapping_post(lead_import, {"Full Name": "name", "Lead Score": "score"}))

    response = staff_client.post(change_url(lead_import), {"_run": "Run"}, follow=True)

    lead_import.refresh_from_db()
    assert (lead_import.status, lead_import.created, lead_import.skipped) == ("done", 2, 1)
    leads = Lead.objects.for_organization(organization).order_by("name")
    assert [(lead.name, lead.score, lead.custom_fields) for lead in leads] == [
        ("Ada Lovelace", 90, {"Firma": "Engines Ltd", "Favourite Colour": "green"}),
        ("Grace Hopper", 80, {"Firma": "Navy", "Favourite Colour": "blue"}),
    ]
    entries = LeadHistory.objects.for_organization(organization)
    assert {(entry.action, entry.via, entry.actor_id) for entry in entries} == {("created", "import", staff.pk)}
    assert "Imported odd.csv: 2 created, 0 updated, 0 unchanged, 1 skipped." in response.content.decode()
    assert LogEntry.objects.filter(object_id=str(lead_import.pk), action_flag=CHANGE).exists()

    report = staff_client.get(errors_url(lead_import))
    assert report["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(report.content.decode())))
    assert rows == [
        ["line", "errors", "Full Name", "E-Mail", "Firma", "Lead Score", "Favourite Colour"],
        ["3", "score: Must be from 0 to 100."] + "Bad Score,bad@x.test,Nope,150,red".split(","),
    ]


def test_running_twice_imports_once(staff_client, organization):
    lead_import = uploaded(staff_client)
    staff_client.post(change_url(lead_import), mapping_post(lead_import, {"Full Name": "name"}))

    staff_client.post(change_url(lead_import), {"_run": "Run"})
    staff_client.post(change_url(lead_import), {"_run": "Run"})

    assert Lead.objects.for_organization(organization).count() == 3


def test_upsert_by_email_updates_the_existing_lead(staff_client, organization):
    ada = LeadFactory(organization=organization, name="Ada", email="ADA@x.test", score=1)
    lead_import = uploaded(staff_client, upsert="email")
    data = mapping_post(lead_import, {"Full Name": "name", "Lead Score": "score"})

    staff_client.post(change_url(lead_import), data)
    staff_client.post(change_url(lead_import), {"_run": "Run"})

    ada.refresh_from_db()
    assert (ada.name, ada.score) == ("Ada Lovelace", 90)
    assert Lead.objects.for_organization(organization).count() == 2


def test_the_default_assignee_is_one_of_the_organizations_active_members(staff_client, other_user):
    lead_import = uploaded(staff_client)

    response = staff_client.post(
        change_url(lead_import), mapping_post(lead_import, {"Full Name": "name"}, default_assignee=other_user.pk)
    )

    assert "Select a valid choice" in response.content.decode()
    lead_import.refresh_from_db()
    assert lead_import.status == "uploaded"


def test_a_large_file_runs_in_the_task_worker_with_a_page_that_shows_its_progress(
    staff_client, organization, monkeypatch
):
    monkeypatch.setattr(lead_imports, "RUN_AT_ONCE_MAX_ROWS", 2)
    lead_import = uploaded(staff_client)
    staff_client.post(change_url(lead_import), mapping_post(lead_import, {"Full Name": "name"}))

    staff_client.post(change_url(lead_import), {"_run": "Run"})

    lead_import.refresh_from_db()
    assert lead_import.status == "queued" and not Lead.objects.exists()
    task = DBTaskResult.objects.get(pk=lead_import.task_id)
    assert task.task_path == "leads.tasks.run_lead_import"
    page = staff_client.get(change_url(lead_import)).content.decode()
    assert "Waiting for the task worker" in page and 'http-equiv="refresh"' in page

    run_lead_import.call(*task.args_kwargs["args"])  # what the worker does

    lead_import.refresh_from_db()
    assert (lead_import.status, lead_import.rows, lead_import.created, lead_import.position) == (
        "done",
        3,
        3,
        lead_import.size,
    )
    page = staff_client.get(change_url(lead_import)).content.decode()
    assert "3 created" in page and 'http-equiv="refresh"' not in page


def test_the_upload_may_be_larger_than_the_apis_body_limit(staff_client, api, settings):
    settings.MAX_REQUEST_BODY_BYTES = 1000
    big = "name\n" + "".join(f"Lead {n}\n" for n in range(300))

    assert upload(staff_client, content=big).status_code == 302
    response = api.post("/leads", {"name": "x" * 2000}, format="json")
    assert response.status_code == 413


def test_read_only_staff_see_imports_but_cannot_upload_or_run(organization, staff_client):
    lead_import = uploaded(staff_client)
    viewer = UserFactory(organization=organization, role=User.Role.READ_ONLY, is_staff=True)
    client = Client()
    client.force_login(viewer)

    assert client.get(change_url(lead_import)).status_code == 200
    assert client.get(ADD_URL).status_code == 403
    assert client.post(change_url(lead_import), mapping_post(lead_import, {"Full Name": "name"})).status_code == 403


def test_staff_of_another_organization_can_neither_see_nor_touch_an_import(staff_client, other_organization):
    lead_import = uploaded(staff_client)
    outsider = UserFactory(organization=other_organization, role=User.Role.ADMIN, is_staff=True)
    client = Client()
    client.force_login(outsider)

    assert client.get(change_url(lead_import)).status_code == 404
    assert client.get(errors_url(lead_import)).status_code == 404
    assert client.post(change_url(lead_import), {"_run": "Run"}).status_code == 404
    assert "odd.csv" not in client.get(reverse("admin:leads_leadimport_changelist")).content.decode()
    lead_import.refresh_from_db()
    assert lead_import.status == "uploaded"


def test_staff_cannot_import_into_another_organization(staff_client, organization, other_organization):
    response = upload(staff_client, organization=str(other_organization.pk))

    assert response.status_code == 302
    assert LeadImport.objects.get().organization == organization
    assert not LeadImport.objects.for_organization(other_organization).exists()


# -- In headless Chromium ------------------------------------------------------------------------


@needs_chromium
def test_staff_import_a_file_with_odd_headers_in_a_real_browser(live_server, browser, organization, staff, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    path = tmp_path / "odd headers.csv"
    path.write_text(ODD_CSV, encoding="utf-8")
    changelist = reverse("admin:leads_lead_changelist")

    browser.get(f"{live_server.url}/admin/login/?next={changelist}")
    browser.find_element(By.NAME, "username").send_keys(staff.email)
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    browser.find_element(By.ID, "import-leads").click()

    browser.find_element(By.NAME, "file").send_keys(str(path))
    browser.find_element(By.NAME, "extra_to_custom_fields").click()
    browser.find_element(By.NAME, "_upload").click()

    mapping = browser.find_element(By.ID, "mapping")
    assert "Ada Lovelace · Bad Score · Grace Hopper" in mapping.text
    assert Select(browser.find_element(By.NAME, "column_1")).first_selected_option.get_attribute("value") == "email"
    Select(browser.find_element(By.NAME, "column_0")).select_by_value("name")
    Select(browser.find_element(By.NAME, "column_2")).select_by_value("company")
    Select(browser.find_element(By.NAME, "column_3")).select_by_value("score")
    screenshot(browser, "admin-import-mapping")
    browser.find_element(By.NAME, "_preview").click()

    preview = browser.find_element(By.ID, "import-preview")
    assert "2 would be created" in preview.text and "1 skipped" in preview.text
    assert "Must be from 0 to 100." in preview.text
    assert "Ada Lovelace" in preview.text and "Engines Ltd" in preview.text
    assert not Lead.objects.exists()
    screenshot(browser, "admin-import-preview")
    browser.find_element(By.NAME, "_run").click()

    result = browser.find_element(By.ID, "import-result")
    assert "2 created" in result.text and "1 skipped" in result.text
    screenshot(browser, "admin-import-result")
    report_url = browser.find_element(By.ID, "error-report").get_attribute("href")
    report = browser.execute_async_script(
        "const done = arguments[arguments.length - 1]; fetch(arguments[0]).then(r => r.text()).then(done);", report_url
    )
    assert report.splitlines()[1].startswith("3,score: Must be from 0 to 100.,Bad Score,")

    browser.find_element(By.LINK_TEXT, "See the leads").click()
    names = {row.text for row in browser.find_elements(By.CSS_SELECTOR, "#result_list tbody th")}
    assert names == {"Ada Lovelace", "Grace Hopper"}
    screenshot(browser, "admin-import-leads")
