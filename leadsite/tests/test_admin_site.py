"""The admin site around the models: Recent actions of the organization, readable timestamps."""

import re
from datetime import UTC, datetime

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.models import CHANGE, LogEntry
from django.test import Client
from django.urls import reverse

from leads.models import Lead, LeadHistory, LeadStatus
from leads.tests.factories import LeadFactory
from organizations.models import User
from organizations.tests.factories import UserFactory

INDEX = reverse("admin:index")
CHANGELIST = reverse("admin:leads_lead_changelist")


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def staff(organization):
    return UserFactory(organization=organization, role=User.Role.ADMIN, is_staff=True, name="Ops One")


@pytest.fixture
def colleague(organization):
    return UserFactory(organization=organization, role=User.Role.SALES_REP, is_staff=True, name="Ops Two")


def recent_actions(client):
    html = client.get(INDEX).content.decode()
    return html.split('id="recent-actions-module"', 1)[1].split("</div>", 1)[0]


@pytest.mark.parametrize(
    ("action", "extra", "message"),
    [
        ("convert_to_customers", {}, "Converted to a customer (bulk action)."),
        ("set_status", {"apply": "1", "status": "contacted"}, "Status set to contacted (bulk action)."),
        ("mark_inactive", {}, "Marked inactive (bulk action)."),
    ],
)
def test_bulk_actions_show_in_the_organizations_recent_actions(organization, staff, colleague, action, extra, message):
    leads = LeadFactory.create_batch(2, organization=organization, status=LeadStatus.QUALIFIED)
    unchanged = LeadFactory(organization=organization, status=LeadStatus.CONVERTED, is_active=False, name="Done Co")
    data = {"action": action, ACTION_CHECKBOX_NAME: [str(lead.pk) for lead in [*leads, unchanged]], **extra}
    if "apply" not in extra:
        data["index"] = 0
    assert logged_in(staff).post(CHANGELIST, data).status_code == 302

    entries = LogEntry.objects.filter(user=staff)
    assert sorted(entries.values_list("object_id", flat=True)) == sorted(str(lead.pk) for lead in leads)
    assert {entry.get_change_message() for entry in entries} == {message}
    # A colleague of the same organization sees them, with who did it.
    shown = recent_actions(logged_in(colleague))
    assert all(lead.name in shown for lead in leads) and "Done Co" not in shown
    assert message in shown and staff.email in shown


def test_recent_actions_of_other_organizations_stay_out(organization, other_organization, staff):
    outsider = UserFactory(organization=other_organization, is_staff=True, role=User.Role.ADMIN)
    lead = LeadFactory(organization=other_organization, name="Outside Lead", status=LeadStatus.QUALIFIED)
    logged_in(outsider).post(CHANGELIST, {"action": "mark_inactive", "index": 0, ACTION_CHECKBOX_NAME: [str(lead.pk)]})
    assert LogEntry.objects.filter(user=outsider).count() == 1
    assert "Outside Lead" not in recent_actions(logged_in(staff))
    assert "None available" in recent_actions(logged_in(staff))


def test_admin_timestamps_are_readable(organization, staff):
    lead = LeadFactory(organization=organization, name="Timed Lead")
    when = datetime(2026, 11, 25, 14, 3, 7, tzinfo=UTC)
    Lead.objects.filter(pk=lead.pk).update(created_at=when, last_contacted_at=when)
    entry = LeadHistory.objects.create(organization=organization, lead_id=lead.pk, action="created", via="admin")
    LeadHistory.objects.filter(pk=entry.pk).update(created_at=when)
    client = logged_in(staff)
    listed = client.get(CHANGELIST).content.decode()
    assert '<span title="25 Nov 2026, 14:03 UTC">25 Nov 2026</span>' in listed
    page = client.get(reverse("admin:leads_lead_change", args=[lead.pk])).content.decode()
    before, history = page.split("field-history", 1)
    assert '<td class="nowrap">25 Nov 2026, 14:03 UTC</td>' in history and "2026-11-25T" not in history
    assert "25 Nov 2026, 14:03 UTC" in before  # created at, a read-only field
    # The admin's own history page too.
    LogEntry.objects.log_actions(user_id=staff.pk, queryset=[lead], action_flag=CHANGE, change_message="Checked.")
    admin_history = client.get(reverse("admin:leads_lead_history", args=[lead.pk])).content.decode()
    assert re.search(r"\d{1,2} \w{3} \d{4}, \d\d:\d\d UTC", admin_history)
