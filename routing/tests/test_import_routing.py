"""The importer routes new leads without an assignee, a batch at a time; --no-routing turns it off."""

from collections import Counter

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from events.models import Event
from leads.models import Lead, LeadHistory
from leads.tests.test_import import run_import, write
from organizations.tests.factories import UserFactory
from routing.models import RuleMember
from routing.services import rule_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def reps(organization):
    reps = [UserFactory(organization=organization, name=name) for name in ("Ana", "Ben", "Cleo")]
    rule_create(
        organization=organization,
        data={"name": "Web", "conditions": {"source": ["website"]}, "members": [{"user": rep} for rep in reps]},
    )
    return reps


def rows(count, source="website", assignee=""):
    return "name,source,assignedTo\n" + "".join(f"Lead {i},{source},{assignee}\n" for i in range(count))


def test_import_routes_rows_without_an_assignee_and_says_why(tmp_path, organization, reps):
    path = write(tmp_path, "leads.csv", rows(9) + f"Mine,website,{reps[2].pk}\nElse,trade_show,\n")
    code, out = run_import(path, organization, "--batch-size", "4")
    assert code == 0, out
    counts = Counter(Lead.objects.filter(source="website").values_list("assigned_to", flat=True))
    assert counts == {reps[0].pk: 3, reps[1].pk: 3, reps[2].pk: 4}  # 9 routed, 3 each, + Cleo's own
    assert Lead.objects.get(name="Else").assigned_to is None
    lead = Lead.objects.get(name="Lead 4")
    entries = list(LeadHistory.objects.filter(lead_id=lead.pk).order_by("created_at", "id"))
    assert [(entry.action, entry.via) for entry in entries] == [("created", "import"), ("updated", "rule")]
    assert entries[1].changes["routing"]["explanation"].startswith('rule "Web" matched source=website; round robin')
    event = [e for e in Event.objects.filter(type="lead.created") if e.data["lead"]["id"] == str(lead.pk)][0]
    assert event.data["routing"] == entries[1].changes["routing"]


def test_no_routing_leaves_them_unassigned(tmp_path, organization, reps):
    code, out = run_import(write(tmp_path, "leads.csv", rows(5)), organization, "--no-routing")
    assert code == 0, out
    assert set(Lead.objects.values_list("assigned_to", flat=True)) == {None}
    assert set(RuleMember.objects.values_list("turn", flat=True)) == {0}


def test_routing_is_a_step_per_batch_not_a_query_per_row(tmp_path, organization, reps):
    def queries(count, *args):
        path = write(tmp_path, f"leads{count}{args}.csv", rows(count))
        with CaptureQueriesContext(connection) as captured:
            assert run_import(path, organization, "--processes", "1", *args)[0] == 0
        return len(captured)

    assert queries(10) - queries(10, "--no-routing") == 2  # the pools, locked; their state written back
    # 200 rows: the same 2, plus SQLite splitting the routing's 200 more history entries into more INSERTs.
    assert queries(200) - queries(200, "--no-routing") <= 6


@pytest.mark.parametrize("route", [True, False])
def test_the_admin_imports_checkbox(organization, reps, route):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    from leads.models import LeadImport
    from leads.tests.test_admin_import import ADD_URL, change_url, mapping_post

    staff = UserFactory(organization=organization, role="sales_rep", is_staff=True)
    client = Client()
    client.force_login(staff)
    tick = {"route": "on"} if route else {}
    content = rows(3).encode()
    response = client.post(ADD_URL, {"file": SimpleUploadedFile("l.csv", content), "upsert": "", **tick})
    assert response.status_code == 302
    lead_import = LeadImport.objects.get()
    assert lead_import.route is route
    assert 'name="route"' in client.get(change_url(lead_import)).content.decode()
    client.post(change_url(lead_import), mapping_post(lead_import, {}, **tick))
    client.post(change_url(lead_import), {"_run": "Run"})
    assignees = set(Lead.objects.values_list("assigned_to", flat=True))
    assert assignees == ({rep.pk for rep in reps} if route else {None})
