"""The lead and customer admin for sales-ops staff: scoping, actions, writes through the services, speed."""

import csv
import html
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import needs_chromium, screenshot
from customers.models import Customer
from customers.tests.factories import CustomerFactory
from leads.models import Lead, LeadHistory, LeadStatus
from leads.tests.factories import LeadFactory
from organizations.models import User
from organizations.tests.factories import UserFactory

CHANGELIST = reverse("admin:leads_lead_changelist")
BASE_DIR = Path(__file__).resolve().parents[2]


def lead_url(view, lead):
    return reverse(f"admin:leads_lead_{view}", args=[lead.pk])


def customer_url(view, customer):
    return reverse(f"admin:customers_customer_{view}", args=[customer.pk])


def admin_client(user):
    client = Client()
    client.force_login(user)
    return client


def run_action(client, action, leads, **extra):
    data = {"action": action, ACTION_CHECKBOX_NAME: [str(lead.pk) for lead in leads], **extra}
    if "apply" not in extra:
        data["index"] = 0
    return client.post(CHANGELIST, data)


@pytest.fixture
def staff(organization):
    """Sales-ops staff of organization A: an organization admin who may use the Django admin."""
    return UserFactory(organization=organization, role=User.Role.ADMIN, is_staff=True)


@pytest.fixture
def staff_client(staff):
    return admin_client(staff)


@pytest.fixture
def lead(organization):
    return LeadFactory(organization=organization, name="Alpha Lead", status=LeadStatus.QUALIFIED)


@pytest.fixture
def other_lead(other_organization, other_user):
    return LeadFactory(organization=other_organization, name="Bravo Secret", assigned_to=other_user)


@pytest.fixture
def other_customer(other_organization):
    return CustomerFactory(organization=other_organization, company_name="Bravo Customer")


# -- Scoping: organization A's staff against organization B's rows ----------------------------------


def test_changelist_and_search_show_only_own_organization(staff_client, lead, other_lead):
    response = staff_client.get(CHANGELIST)
    assert response.status_code == 200
    assert b"Alpha Lead" in response.content
    assert b"Bravo Secret" not in response.content

    response = staff_client.get(CHANGELIST, {"q": "Bravo"})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []


@pytest.mark.parametrize("view", ["change", "delete", "history"])
def test_another_organizations_lead_is_404_on_every_object_page(staff_client, lead, other_lead, view):
    assert staff_client.get(lead_url(view, lead)).status_code == 200
    assert staff_client.get(lead_url(view, other_lead)).status_code == 404


def test_posting_to_another_organizations_lead_is_404_and_changes_nothing(staff_client, other_lead):
    response = staff_client.post(lead_url("change", other_lead), {"name": "Hijacked", "status": "new"})
    assert response.status_code == 404
    response = staff_client.post(lead_url("delete", other_lead), {"post": "yes"})
    assert response.status_code == 404
    other_lead.refresh_from_db()
    assert other_lead.name == "Bravo Secret"


def test_a_malformed_id_is_404(staff_client):
    assert staff_client.get(reverse("admin:leads_lead_change", args=["not-a-uuid"])).status_code == 404


def test_assignee_autocomplete_offers_only_own_active_members(staff_client, staff, organization, other_user):
    colleague = UserFactory(organization=organization, email="colleague@example.com")
    UserFactory(organization=organization, email="gone@example.com", is_active=False)
    response = staff_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "leads", "model_name": "lead", "field_name": "assigned_to", "term": ""},
    )
    assert response.status_code == 200
    ids = {result["id"] for result in response.json()["results"]}
    assert ids == {str(staff.pk), str(colleague.pk)}
    assert str(other_user.pk) not in ids


@pytest.mark.parametrize("model_name", ["lead", "customer"])
def test_organization_autocomplete_offers_only_own_organization(
    staff_client, organization, other_organization, model_name
):
    app_label = "leads" if model_name == "lead" else "customers"
    params = {"app_label": app_label, "model_name": model_name, "field_name": "organization", "term": ""}
    response = staff_client.get(reverse("admin:autocomplete"), params)
    assert [result["id"] for result in response.json()["results"]] == [str(organization.pk)]


def test_assignee_filter_lists_only_own_members(staff_client, staff, other_user, lead):
    response = staff_client.get(CHANGELIST)
    assert staff.email.encode() in response.content
    assert other_user.email.encode() not in response.content


def test_another_organizations_user_cannot_be_assigned_in_the_form(staff_client, lead, other_user):
    data = {"name": "Alpha Lead", "status": "qualified", "custom_fields": "{}", "assigned_to": str(other_user.pk)}
    response = staff_client.post(lead_url("change", lead), data)
    assert response.status_code == 200  # the form again, with the error
    assert "assigned_to" in response.context["adminform"].form.errors
    lead.refresh_from_db()
    assert lead.assigned_to is None


@pytest.mark.parametrize(
    "action, extra",
    [
        ("convert_to_customers", {}),
        ("unconvert", {}),
        ("mark_inactive", {}),
        ("mark_active", {}),
        ("set_status", {"apply": "Apply", "status": "contacted"}),
        ("assign_to_user", {"apply": "Apply", "assignee": ""}),
        ("delete_selected", {"post": "yes"}),
    ],
)
def test_actions_ignore_another_organizations_leads(staff_client, other_lead, action, extra):
    before = Lead.objects.values().get(pk=other_lead.pk)
    run_action(staff_client, action, [other_lead], **extra)
    assert Lead.objects.values().get(pk=other_lead.pk) == before
    assert not Customer.objects.exists()
    assert not LeadHistory.objects.filter(lead_id=other_lead.pk).exists()


def test_export_leaves_out_another_organizations_leads(staff_client, lead, other_lead):
    response = run_action(staff_client, "export_csv", [lead, other_lead])
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row["name"] for row in rows] == ["Alpha Lead"]


def test_a_new_lead_gets_the_staff_users_organization(staff_client, organization, other_organization):
    data = {"name": "New One", "status": "new", "custom_fields": "{}", "organization": str(other_organization.pk)}
    response = staff_client.post(reverse("admin:leads_lead_add"), data)
    assert response.status_code == 302
    created = Lead.objects.get(name="New One")
    assert created.organization == organization
    entry = LeadHistory.objects.get(lead_id=created.pk)
    assert (entry.action, entry.via) == ("created", "admin")


def test_customer_admin_is_scoped(staff_client, organization, other_customer):
    own = CustomerFactory(organization=organization, company_name="Alpha Customer")
    response = staff_client.get(reverse("admin:customers_customer_changelist"))
    assert b"Alpha Customer" in response.content
    assert b"Bravo Customer" not in response.content
    for view in ("change", "delete", "history"):
        assert staff_client.get(customer_url(view, own)).status_code == 200
        assert staff_client.get(customer_url(view, other_customer)).status_code == 404
    assert staff_client.post(customer_url("delete", other_customer), {"post": "yes"}).status_code == 404
    assert Customer.objects.filter(pk=other_customer.pk).exists()


def test_superuser_sees_every_organization_and_can_filter_by_it(lead, other_lead, organization):
    superuser = User.objects.create_superuser(email="root@example.com", password="x")
    client = admin_client(superuser)
    response = client.get(CHANGELIST)
    assert {row.name for row in response.context["cl"].result_list} == {"Alpha Lead", "Bravo Secret"}
    response = client.get(CHANGELIST, {"organization__id__exact": str(organization.pk)})
    assert [row.name for row in response.context["cl"].result_list] == ["Alpha Lead"]
    assert client.get(lead_url("change", other_lead)).status_code == 200


def test_superuser_cannot_assign_a_lead_to_another_organizations_member(lead, other_user):
    client = admin_client(User.objects.create_superuser(email="root@example.com", password="x"))
    data = {"name": "Alpha Lead", "status": "qualified", "custom_fields": "{}", "assigned_to": str(other_user.pk)}
    response = client.post(lead_url("change", lead), data)
    assert "assigned_to" in response.context["adminform"].form.errors
    run_action(client, "assign_to_user", [lead], apply="Apply", assignee=str(other_user.pk))
    lead.refresh_from_db()
    assert lead.assigned_to is None


# -- Roles ---------------------------------------------------------------------------------------


def test_read_only_staff_can_look_but_not_change(organization, lead):
    client = admin_client(UserFactory(organization=organization, role=User.Role.READ_ONLY, is_staff=True))
    assert client.get(CHANGELIST).status_code == 200
    assert client.get(lead_url("change", lead)).status_code == 200
    response = client.post(lead_url("change", lead), {"name": "Changed", "status": "new", "custom_fields": "{}"})
    assert response.status_code == 403
    assert client.get(reverse("admin:leads_lead_add")).status_code == 403
    run_action(client, "convert_to_customers", [lead])
    lead.refresh_from_db()
    assert (lead.name, lead.status) == ("Alpha Lead", LeadStatus.QUALIFIED)


def test_sales_rep_staff_cannot_delete(organization, lead):
    client = admin_client(UserFactory(organization=organization, role=User.Role.SALES_REP, is_staff=True))
    assert client.get(lead_url("change", lead)).status_code == 200
    assert client.post(lead_url("delete", lead), {"post": "yes"}).status_code == 403
    assert Lead.objects.filter(pk=lead.pk).exists()


def test_staff_of_an_inactive_organization_are_locked_out(staff_client, organization, lead):
    organization.is_active = False
    organization.save()
    assert staff_client.get(CHANGELIST).status_code == 403
    assert staff_client.get(lead_url("change", lead)).status_code == 403


def test_members_who_are_not_staff_cannot_enter_the_admin(user):
    response = admin_client(user).get(CHANGELIST)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


# -- What each action does -----------------------------------------------------------------------


def test_convert_action_converts_and_reports_what_it_skipped(staff_client, organization, staff):
    ready = LeadFactory.create_batch(2, organization=organization, status=LeadStatus.QUALIFIED)
    unqualified = LeadFactory(organization=organization, name="Nope Inc", status=LeadStatus.UNQUALIFIED)
    inactive = LeadFactory(organization=organization, name="Sleepy Co", is_active=False)
    response = run_action(staff_client, "convert_to_customers", [*ready, unqualified, inactive])
    assert response.status_code == 302
    for lead in ready:
        lead.refresh_from_db()
        assert lead.status == LeadStatus.CONVERTED
        assert lead.converted_customer.organization == organization
    assert Customer.objects.count() == 2
    unqualified.refresh_from_db()
    assert unqualified.status == LeadStatus.UNQUALIFIED
    entry = LeadHistory.objects.get(lead_id=ready[0].pk)
    assert (entry.action, entry.via, entry.actor) == ("converted", "admin", staff)

    messages = [str(m) for m in staff_client.get(CHANGELIST).context["messages"]]
    assert "Converted 2 leads to customers." in messages
    skipped = next(m for m in messages if m.startswith("Skipped 2"))
    assert "Nope Inc: Lead is unqualified" in skipped
    assert "Sleepy Co: Lead is inactive" in skipped


def test_assign_action_asks_for_a_member_then_assigns(staff_client, organization, lead, other_user):
    colleague = UserFactory(organization=organization, email="colleague@example.com")
    second = LeadFactory(organization=organization)

    response = run_action(staff_client, "assign_to_user", [lead, second])
    assert response.status_code == 200
    choices = [str(pk) for pk, _ in response.context["form"].fields["assignee"].choices if pk]
    assert str(colleague.pk) in choices
    assert str(other_user.pk) not in choices

    response = run_action(staff_client, "assign_to_user", [lead, second], apply="Apply", assignee=str(other_user.pk))
    assert response.status_code == 200  # refused: not a choice
    assert Lead.objects.filter(assigned_to__isnull=False).count() == 0

    response = run_action(staff_client, "assign_to_user", [lead, second], apply="Apply", assignee=str(colleague.pk))
    assert response.status_code == 302
    assert set(Lead.objects.filter(organization=organization).values_list("assigned_to", flat=True)) == {colleague.pk}
    entry = LeadHistory.objects.get(lead_id=lead.pk)
    assert entry.via == "admin"
    assert entry.changes == {"assignedTo": {"old": None, "new": str(colleague.pk)}}


def test_set_status_action_skips_converted_leads(staff_client, organization, lead):
    converted = LeadFactory(organization=organization, status=LeadStatus.CONVERTED)
    response = run_action(staff_client, "set_status", [lead, converted], apply="Apply", status="contacted")
    assert response.status_code == 302
    lead.refresh_from_db()
    converted.refresh_from_db()
    assert (lead.status, converted.status) == ("contacted", "converted")
    assert converted.converted_customer_id is not None
    messages = [str(message) for message in get_messages(response.wsgi_request)]
    assert any("Skipped 1" in message and "/unconvert" in message for message in messages)
    assert not LeadHistory.objects.filter(lead_id=converted.pk).exists()


def test_set_status_action_does_not_offer_converted(staff_client, lead):
    response = run_action(staff_client, "set_status", [lead], apply="Apply", status="converted")
    assert response.status_code == 200
    assert "status" in response.context["form"].errors
    lead.refresh_from_db()
    assert lead.status == LeadStatus.QUALIFIED


def test_mark_inactive_and_active_actions(staff_client, organization, lead):
    other = LeadFactory(organization=organization)
    run_action(staff_client, "mark_inactive", [lead, other])
    assert not Lead.objects.filter(is_active=True).exists()
    run_action(staff_client, "mark_active", [lead])
    lead.refresh_from_db()
    other.refresh_from_db()
    assert (lead.is_active, other.is_active) == (True, False)
    assert LeadHistory.objects.filter(lead_id=lead.pk, via="admin").count() == 2


def test_export_csv_action_streams_the_selected_leads_in_export_leads_format(staff_client, organization, staff, lead):
    lead.assigned_to, lead.score, lead.custom_fields = staff, 80, {"tier": "gold"}
    lead.save()
    response = run_action(staff_client, "export_csv", [lead])
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    (row,) = csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode()))
    assert row["id"] == str(lead.pk)
    assert (row["name"], row["score"], row["status"]) == ("Alpha Lead", "80", "qualified")
    assert row["assignedTo"] == str(staff.pk)
    assert (row["customFields"], row["isActive"], row["lastContactedAt"]) == ('{"tier": "gold"}', "true", "")


def test_delete_action_deletes_through_the_service(staff_client, organization, lead):
    converted = LeadFactory(organization=organization, status=LeadStatus.CONVERTED)
    response = run_action(staff_client, "delete_selected", [lead, converted], post="yes")
    assert response.status_code == 302
    assert not Lead.objects.exists()
    assert set(LeadHistory.objects.filter(action="deleted").values_list("lead_id", flat=True)) == {
        lead.pk,
        converted.pk,
    }


# -- Change page ---------------------------------------------------------------------------------


def test_editing_a_lead_records_history_and_the_page_shows_it(staff_client, lead, staff):
    data = {"name": "Alpha Renamed", "status": "qualified", "score": "70", "custom_fields": "{}", "is_active": "on"}
    data.update(email=lead.email, phone=lead.phone, company=lead.company, source=lead.source)
    response = staff_client.post(lead_url("change", lead), data)
    assert response.status_code == 302
    entry = LeadHistory.objects.get(lead_id=lead.pk)
    assert (entry.action, entry.via, entry.actor) == ("updated", "admin", staff)
    assert entry.changes == {"name": {"old": "Alpha Lead", "new": "Alpha Renamed"}, "score": {"old": 50, "new": 70}}

    page = staff_client.get(lead_url("change", lead)).content.decode()
    assert "name: Alpha Lead → Alpha Renamed" in page
    assert "70 (high)" not in page  # the band is shown read-only next to the score field
    assert ">high<" in page


def test_change_page_links_to_the_converted_customer_and_back(staff_client, organization, lead):
    customer = CustomerFactory(organization=organization, company_name="Alpha Customer")
    lead.status, lead.converted_customer, lead.converted_at = LeadStatus.CONVERTED, customer, timezone.now()
    lead.save()
    page = staff_client.get(lead_url("change", lead)).content.decode()
    assert customer_url("change", customer) in page

    page = staff_client.get(customer_url("change", customer)).content.decode()
    assert lead_url("change", lead) in page
    page = staff_client.get(reverse("admin:customers_customer_changelist")).content.decode()
    assert f"?converted_customer__id__exact={customer.pk}" in page
    response = staff_client.get(CHANGELIST, {"converted_customer__id__exact": str(customer.pk)})
    assert [row.pk for row in response.context["cl"].result_list] == [lead.pk]


def test_a_new_lead_with_an_existing_email_needs_allow_duplicate(staff_client, lead):
    data = {"name": "Again", "email": lead.email.upper(), "status": "new", "custom_fields": "{}"}
    response = staff_client.post(reverse("admin:leads_lead_add"), data)
    assert response.status_code == 200
    assert "email" in response.context["adminform"].form.errors
    response = staff_client.post(reverse("admin:leads_lead_add"), {**data, "allow_duplicate": "on"})
    assert response.status_code == 302
    assert Lead.objects.filter(email__iexact=lead.email).count() == 2


def test_status_converted_cannot_be_set_by_hand(staff_client, lead):
    response = staff_client.post(lead_url("change", lead), {"name": "x", "status": "converted", "custom_fields": "{}"})
    assert response.status_code == 200
    assert "status" in response.context["adminform"].form.errors
    lead.refresh_from_db()
    assert (lead.status, lead.converted_customer_id) == (LeadStatus.QUALIFIED, None)


def converted_form_data(lead, **changes):
    data = {"name": lead.name, "status": lead.status, "score": lead.score, "custom_fields": "{}", "is_active": "on"}
    data.update(email=lead.email, phone=lead.phone, company=lead.company, source=lead.source)
    return {**data, **changes}


def test_a_converted_leads_status_cannot_be_changed_in_the_form(staff_client, organization):
    lead = LeadFactory(organization=organization, status=LeadStatus.CONVERTED)

    response = staff_client.post(lead_url("change", lead), converted_form_data(lead, status="qualified"))

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["status"]
    assert "undo the conversion" in errors[0]
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONVERTED and lead.converted_customer_id is not None


def test_a_converted_leads_other_fields_stay_editable_in_the_form(staff_client, organization, staff):
    lead = LeadFactory(organization=organization, status=LeadStatus.CONVERTED, name="Old Name")

    response = staff_client.post(lead_url("change", lead), converted_form_data(lead, name="New Name"))

    assert response.status_code == 302
    lead.refresh_from_db()
    assert (lead.name, lead.status) == ("New Name", LeadStatus.CONVERTED)
    entry = LeadHistory.objects.get(lead_id=lead.pk)
    assert (entry.action, entry.changes) == ("updated", {"name": {"old": "Old Name", "new": "New Name"}})


def test_unconvert_action_undoes_conversions_and_keeps_the_customers(staff_client, organization, staff, lead):
    converted = LeadFactory(organization=organization, status=LeadStatus.CONVERTED)
    customer_id = converted.converted_customer_id

    response = run_action(staff_client, "unconvert", [converted, lead])

    assert response.status_code == 302
    converted.refresh_from_db()
    assert (converted.status, converted.converted_customer_id, converted.converted_at) == ("qualified", None, None)
    assert converted.version == 2
    assert Customer.objects.filter(pk=customer_id).exists()
    entry = LeadHistory.objects.get(lead_id=converted.pk)
    assert (entry.action, entry.via, entry.actor) == ("unconverted", "admin", staff)
    messages = [str(message) for message in get_messages(response.wsgi_request)]
    assert any("Skipped 1" in message and "not converted" in message for message in messages)


def test_only_organization_admins_are_offered_the_unconvert_action(organization, lead):
    rep = UserFactory(organization=organization, role=User.Role.SALES_REP, is_staff=True)
    actions = admin_client(rep).get(CHANGELIST).context["action_form"].fields["action"].choices
    assert "unconvert" not in [name for name, _ in actions]
    converted = LeadFactory(organization=organization, status=LeadStatus.CONVERTED)
    run_action(admin_client(rep), "unconvert", [converted])
    converted.refresh_from_db()
    assert converted.status == LeadStatus.CONVERTED


def test_admin_writes_bump_the_version(staff_client, organization, lead):
    run_action(staff_client, "mark_inactive", [lead])
    run_action(staff_client, "set_status", [lead], apply="Apply", status="contacted")
    lead.refresh_from_db()
    assert (lead.is_active, lead.status, lead.version) == (False, "contacted", 3)


def test_convert_action_skips_a_converted_lead_without_a_second_customer(staff_client, organization):
    lead = LeadFactory(organization=organization, status=LeadStatus.CONVERTED)

    response = run_action(staff_client, "convert_to_customers", [lead])

    assert response.status_code == 302
    assert Customer.objects.count() == 1
    messages = [str(message) for message in get_messages(response.wsgi_request)]
    assert any("already been converted" in message for message in messages)


def test_a_new_customer_is_numbered_in_the_staff_users_organization(staff_client, organization):
    data = {"company_name": "Fresh Co", "status": "churned"}
    response = staff_client.post(reverse("admin:customers_customer_add"), data)
    assert response.status_code == 302
    customer = Customer.objects.get()
    assert (customer.organization, customer.customer_number, customer.status) == (organization, "CUST-001", "churned")


@pytest.mark.parametrize("existing", [False, True])
def test_the_customer_form_says_what_is_allowed_as_the_api_does(staff_client, organization, existing):
    # A status the select does not offer (a stale page, a hand-made POST): the API's wording, the choices listed.
    # A bad email already reads the same in both: "Enter a valid email address."
    customer = CustomerFactory(organization=organization, company_name="Kept") if existing else None
    page = customer_url("change", customer) if existing else reverse("admin:customers_customer_add")
    data = {"company_name": "Changed", "status": "won", "contact_email": "not-an-email"}

    response = staff_client.post(page, data)

    assert response.status_code == 200
    status = '"won" is not a valid status; use one of active, inactive, churned.'
    assert response.context["adminform"].form.errors == {
        "status": [status],
        "contact_email": ["Enter a valid email address."],
    }
    assert html.escape(status) in response.content.decode()
    assert list(Customer.objects.values_list("company_name", flat=True)) == (["Kept"] if existing else [])


# -- Speed ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("per_page", [5, 50])
def test_lead_changelist_query_count_does_not_grow_with_the_page(
    staff_client, organization, staff, monkeypatch, django_assert_num_queries, per_page
):
    LeadFactory.create_batch(60, organization=organization, assigned_to=staff)
    monkeypatch.setattr(admin.site.get_model_admin(Lead), "list_per_page", per_page)
    # Session, user, the user's organization (is it active?), the user's permissions on the other
    # apps (2), assignee filter choices, the capped count, the page (assignees joined), the date
    # hierarchy's MIN/MAX, and the source filter's index seeks (one per source in use, plus one).
    with django_assert_num_queries(11):
        response = staff_client.get(CHANGELIST)
    assert len(response.context["cl"].result_list) == per_page


def test_date_hierarchy_and_source_filter_do_not_scan_every_lead(staff_client, organization):
    from datetime import UTC, datetime

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for year, source in [(2023, "website"), (2025, "referral"), (2025, None)]:
        created = LeadFactory(organization=organization, source=source)
        Lead.objects.filter(pk=created.pk).update(created_at=datetime(year, 6, 1, tzinfo=UTC))
    with CaptureQueriesContext(connection) as queries:
        response = staff_client.get(CHANGELIST)
    assert not [query["sql"] for query in queries.captured_queries if "DISTINCT" in query["sql"]]
    page = response.content.decode()
    for year in ("2023", "2024", "2025"):  # every year from the first lead to the last
        assert f"?created_at__year={year}" in page
    assert "?source=referral" in page and "?source=website" in page
    response = staff_client.get(CHANGELIST, {"source": "referral"})
    assert [lead.source for lead in response.context["cl"].result_list] == ["referral"]
    response = staff_client.get(CHANGELIST, {"created_at__year": "2025"})
    assert "?created_at__month=6&amp;created_at__year=2025" in response.content.decode()


@pytest.mark.parametrize("changelist", [CHANGELIST, reverse("admin:customers_customer_changelist")])
def test_superusers_organization_column_costs_no_query_per_row(
    organization, other_organization, changelist, django_assert_max_num_queries
):
    for org in (organization, other_organization):
        LeadFactory.create_batch(10, organization=org)
        CustomerFactory.create_batch(10, organization=org)
    client = admin_client(User.objects.create_superuser(email="root@example.com", password="x"))
    with django_assert_max_num_queries(12):
        response = client.get(changelist)
    assert len(response.context["cl"].result_list) == 20


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_unfiltered_changelist_of_a_big_list_shows_an_estimate_instead_of_counting(organization, staff, monkeypatch):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    LeadFactory.create_batch(30, organization=organization)
    monkeypatch.setattr("leadsite.paginators.EXACT_COUNT_UP_TO", 10)
    client = admin_client(staff)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(CHANGELIST)
    assert response.status_code == 200
    sql = [query["sql"] for query in queries.captured_queries]
    # The planner is asked first; no unbounded COUNT(*) of the organization's leads follows.
    assert any("planner_row_estimate" in statement for statement in sql)
    counts = [statement for statement in sql if "COUNT(*)" in statement]
    assert all("LIMIT" in statement for statement in counts)

    with CaptureQueriesContext(connection) as queries:
        client.get(CHANGELIST, {"status__exact": "new"})  # filtered: counted exactly
    assert not any("planner_row_estimate" in query["sql"] for query in queries.captured_queries)


# -- Production: admin static files served by whitenoise -----------------------------------------

PRODUCTION_CHECK = """
import django
django.setup()
from django.test import Client
from django.utils import timezone
client = Client()
page = client.get("/admin/login/", secure=True)
css = client.get("/static/admin/css/base.css", secure=True)
print(page.status_code, "/static/admin/css/base.css" in page.content.decode(), css.status_code, css["Content-Type"])
"""


def test_admin_css_is_served_in_production_after_collectstatic(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "leadsite.settings.production",
        "SECRET_KEY": "x" * 64,
        "STATIC_ROOT": str(tmp_path / "static"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    env.pop("DEBUG", None)
    run = {"cwd": BASE_DIR, "env": env, "capture_output": True, "text": True, "timeout": 300}
    collect = subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], **run)
    assert collect.returncode == 0, collect.stderr
    assert (tmp_path / "static" / "admin" / "css" / "base.css").exists()
    check = subprocess.run([sys.executable, "-c", PRODUCTION_CHECK], **run)
    assert check.returncode == 0, check.stderr
    assert check.stdout.split() == ["200", "True", "200", "text/css;", 'charset="utf-8"']


# -- The real admin in headless Chromium ---------------------------------------------------------


@needs_chromium
def test_staff_filters_leads_and_converts_them_in_a_real_browser(live_server, browser, organization, other_lead):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from conftest import PASSWORD

    staff = UserFactory(organization=organization, role=User.Role.ADMIN, is_staff=True, email="ops@a.example")
    qualified = LeadFactory.create_batch(3, organization=organization, status=LeadStatus.QUALIFIED, score=80)
    LeadFactory.create_batch(2, organization=organization, status=LeadStatus.NEW, score=20, assigned_to=staff)

    browser.get(f"{live_server.url}/admin/login/?next={CHANGELIST}")
    browser.find_element(By.NAME, "username").send_keys(staff.email)
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    assert browser.find_element(By.ID, "result_list")
    # The admin's stylesheet is served and applied: the header has its coloured background.
    header = browser.execute_script("return getComputedStyle(document.getElementById('header')).backgroundColor")
    assert header not in ("", "rgba(0, 0, 0, 0)", "transparent")

    filters = browser.find_element(By.ID, "changelist-filter")
    filters.find_element(By.LINK_TEXT, "Qualified").click()
    assert "status__exact=qualified" in browser.current_url
    assert len(browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")) == 3

    browser.find_element(By.ID, "action-toggle").click()
    Select(browser.find_element(By.NAME, "action")).select_by_value("convert_to_customers")
    browser.find_element(By.CSS_SELECTOR, "button[name=index]").click()
    message = browser.find_element(By.CSS_SELECTOR, "ul.messagelist li.success").text
    assert message == "Converted 3 leads to customers."
    assert {lead.status for lead in Lead.objects.filter(pk__in=[lead.pk for lead in qualified])} == {"converted"}
    assert Customer.objects.filter(organization=organization).count() == 3

    browser.get(f"{live_server.url}{CHANGELIST}")
    rows = browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")
    assert len(rows) == 5
    assert "Bravo Secret" not in browser.page_source
    screenshot(browser, "admin-lead-list")


@pytest.mark.parametrize(
    ("score", "message"),
    # 150 was a 500: the table's CHECK constraint, validated by the form, names a field the model does not have
    [("150", "Must be from 0 to 100."), ("-1", "Must be from 0 to 100."), ("high", "Must be a whole number.")],
)
def test_the_admin_says_the_score_range_as_the_api_does(staff_client, score, message):
    data = {"name": "Scored", "status": "new", "score": score, "custom_fields": "{}"}
    response = staff_client.post(reverse("admin:leads_lead_add"), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["score"] == [message]
    assert not Lead.objects.filter(name="Scored").exists()


def test_the_admin_saves_a_score_in_range(staff_client):
    data = {"name": "Scored", "status": "new", "score": "100", "custom_fields": "{}"}
    assert staff_client.post(reverse("admin:leads_lead_add"), data).status_code == 302
    assert Lead.objects.get(name="Scored").score == 100
