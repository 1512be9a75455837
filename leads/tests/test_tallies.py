"""The dashboard's running counts (leads/tallies.py) equal a count of the leads after every kind of write."""

import io
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db.models import OuterRef
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import client_for
from leads import tallies
from leads.models import SCORE_BANDS, Lead, LeadStatus, LeadTally, LeadWeekTally
from leads.tests.factories import LeadFactory
from organizations.models import User
from organizations.tests.factories import OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db


def band(score):
    if score is None:
        return "unscored"
    return next(name for name, (low, high) in SCORE_BANDS.items() if low <= score <= high)


def monday(moment):
    day = moment.date()
    return day - timedelta(days=day.weekday())


def counted_from_leads(organization):
    """What the tallies must say, counted in Python from the leads themselves."""
    keys, weeks = Counter(), Counter()
    for lead in Lead.objects.filter(organization=organization):
        key = (lead.assigned_to_id, lead.source, lead.status, lead.is_active, band(lead.score))
        keys[key, "leads"] += 1
        keys[key, "score_sum"] += lead.score or 0
        weeks[monday(lead.created_at), lead.source, lead.status == LeadStatus.CONVERTED] += 1
    return +keys, +weeks  # unary + drops zero counts


def key_count(counts):
    return len({key for key, _ in counts})


def tallied(organization):
    keys, weeks = Counter(), Counter()
    for row in LeadTally.objects.filter(organization=organization):
        key = (row.assigned_to_id, row.source, row.status, row.is_active, row.band)
        keys[key, "leads"] += row.leads
        keys[key, "score_sum"] += row.score_sum
    for row in LeadWeekTally.objects.filter(organization=organization):
        weeks[row.week, row.source, row.converted] += row.leads
    return +keys, +weeks


def assert_tallies_match(organization):
    assert tallied(organization) == counted_from_leads(organization)


@pytest.fixture
def admin(organization):
    return UserFactory(organization=organization, role=User.Role.ADMIN, is_staff=True)


@pytest.fixture
def rep(organization):
    return UserFactory(organization=organization)


@pytest.fixture
def leads(organization, rep):
    scores = [None, 0, 33, 34, 66, 67, 100, 50]
    return [
        LeadFactory(organization=organization, score=score, source=source, assigned_to=rep if n % 2 else None)
        for n, (score, source) in enumerate(zip(scores, ["web", None, "fair", "web"] * 2, strict=True))
    ]


def test_every_api_write_keeps_the_tallies(organization, admin, rep, leads):
    api = client_for(admin)
    assert_tallies_match(organization)
    created = api.post("/leads", {"name": "New", "email": "new@example.com", "score": 80, "source": "ad"}, "json")
    assert created.status_code == 201
    lead_id = created.json()["id"]
    assert_tallies_match(organization)
    patch = {"status": "qualified", "score": 20, "source": "fair", "assignedTo": str(rep.pk), "isActive": True}
    assert api.patch(f"/leads/{lead_id}", patch, "json").status_code == 200
    assert_tallies_match(organization)
    assert api.patch(f"/leads/{lead_id}", {"notes": "no counted field changes"}, "json").status_code == 200
    assert api.post(f"/leads/{lead_id}/convert-to-customer", {}, "json").status_code == 201
    assert_tallies_match(organization)
    assert api.post(f"/leads/{lead_id}/unconvert", {}, "json").status_code == 200
    assert_tallies_match(organization)
    merged = api.post(f"/leads/{leads[0].pk}/merge", {"duplicateIds": [str(leads[1].pk)]}, "json")
    assert merged.status_code == 200
    assert_tallies_match(organization)
    successor = UserFactory(organization=organization)
    reassigned = api.post("/leads/reassign", {"fromUserId": str(rep.pk), "toUserId": str(successor.pk)}, "json")
    assert reassigned.status_code == 200
    assert_tallies_match(organization)
    assert api.delete(f"/leads/{leads[2].pk}").status_code == 204
    assert_tallies_match(organization)


def test_writes_around_the_services_keep_the_tallies_too(organization, admin, rep, leads):
    Lead.objects.filter(pk=leads[3].pk).update(created_at=timezone.now() - timedelta(days=400), score=None)
    Lead.objects.filter(organization=organization, source="web").update(is_active=False)
    Lead.objects.bulk_create(Lead(organization=organization, name=f"Bulk {n}", score=n * 10) for n in range(11))
    assert_tallies_match(organization)
    rep.delete()  # its leads become unassigned (SET_NULL)
    assert_tallies_match(organization)
    converted = LeadFactory(organization=organization, status="converted", score=90)
    assert_tallies_match(organization)
    assert client_for(admin).delete(f"/customers/{converted.converted_customer_id}").status_code == 204
    assert Lead.objects.get(pk=converted.pk).status == LeadStatus.QUALIFIED
    assert_tallies_match(organization)
    Lead.objects.filter(pk__in=[leads[4].pk, leads[5].pk]).delete()
    assert_tallies_match(organization)


def test_imports_keep_the_tallies_and_leave_them_folded(organization, rep, leads, tmp_path):
    path = tmp_path / "leads.csv"
    rows = [f"Imported {n},imported{n}@example.com,{n % 101},fair,{rep.email}" for n in range(300)]
    path.write_text("name,email,score,source,assignedTo\n" + "\n".join(rows) + "\n")
    call_command(
        "import_leads", str(path), "--organization", organization.slug, "--batch-size", "50", stdout=io.StringIO()
    )
    assert Lead.objects.filter(organization=organization).count() == 308
    assert_tallies_match(organization)
    # One row per key: the import folded what its six batches added.
    keys, _ = tallied(organization)
    assert LeadTally.objects.filter(organization=organization).count() == key_count(keys)


def test_compacting_folds_rows_into_one_per_key_and_changes_no_figure(organization, leads):
    for score in range(0, 100, 7):
        Lead.objects.filter(pk=leads[0].pk).update(score=score)
    before = tallied(organization)
    rows_before = LeadTally.objects.filter(organization=organization).count()
    tallies.compact(organization_id=organization.pk)
    assert tallied(organization) == before == counted_from_leads(organization)
    rows_after = LeadTally.objects.filter(organization=organization).count()
    assert rows_after == key_count(before[0]) < rows_before
    assert LeadWeekTally.objects.filter(organization=organization).count() == len(before[1])


def test_compacting_one_organization_leaves_the_others_alone(organization, leads):
    other = OrganizationFactory()
    LeadFactory.create_batch(3, organization=other, score=10)
    Lead.objects.filter(organization=other).update(score=20)
    rows = LeadTally.objects.filter(organization=other).count()
    tallies.compact(organization_id=organization.pk)
    assert LeadTally.objects.filter(organization=other).count() == rows
    assert_tallies_match(other)


def test_deleting_the_organization_leaves_nothing_to_count(organization, leads):
    User.objects.filter(organization=organization).delete()
    organization.delete()
    tallies.compact(organization_id=organization.pk)
    assert not LeadTally.objects.filter(organization_id=organization.pk).exists()
    assert not LeadWeekTally.objects.filter(organization_id=organization.pk).exists()


def test_rebuild_recounts_after_writes_that_bypassed_the_triggers(organization, leads):
    LeadTally.objects.all().delete()
    LeadWeekTally.objects.all().delete()
    tallies.rebuild()
    assert_tallies_match(organization)


def test_the_dashboard_folds_the_tallies_once_they_pile_up(organization, admin, leads, monkeypatch):
    monkeypatch.setattr("leads.tallies.COMPACT_AFTER", 10)
    for score in range(30):
        Lead.objects.filter(pk=leads[0].pk).update(score=score)
    assert LeadTally.objects.filter(organization=organization).count() > 30
    staff = Client()
    staff.force_login(admin)
    response = staff.get(reverse("admin:dashboard"))
    assert response.status_code == 200
    keys, _ = tallied(organization)
    assert LeadTally.objects.filter(organization=organization).count() == key_count(keys)
    cache.clear()
    assert staff.get(reverse("admin:dashboard")).context["total"] == len(leads)


def test_the_task_worker_folds_the_tallies_of_organizations_that_piled_up(organization, leads, monkeypatch):
    from leads.tasks import compact_tallies_when_due

    monkeypatch.setattr("leads.tallies.COMPACT_AFTER", 10)
    monkeypatch.setattr("leads.tasks._tallies_swept_at", None)
    quiet = OrganizationFactory()
    LeadFactory(organization=quiet)
    for score in range(30):
        Lead.objects.filter(pk=leads[0].pk).update(score=score)
    quiet_rows = LeadTally.objects.filter(organization=quiet).count()

    compact_tallies_when_due(timezone.now())

    keys, _ = tallied(organization)
    assert LeadTally.objects.filter(organization=organization).count() == key_count(keys)
    assert not LeadTally.objects.filter(organization=organization, folded=False).exists()
    assert_tallies_match(organization)
    assert LeadTally.objects.filter(organization=quiet).count() == quiet_rows  # under the threshold: left alone


def test_routing_reads_a_members_open_leads_from_the_tallies(organization, leads):
    from leads.selectors import open_lead_counts, open_leads_count_of

    rep = UserFactory(organization=organization)
    mine = LeadFactory.create_batch(5, organization=organization, assigned_to=rep, status=LeadStatus.NEW)
    Lead.objects.filter(pk=mine[0].pk).update(status=LeadStatus.UNQUALIFIED)
    Lead.objects.filter(pk=mine[1].pk).update(is_active=False)
    LeadFactory(organization=OrganizationFactory(), assigned_to=rep)  # counted for its own organization only

    counted = User.objects.filter(pk=rep.pk).annotate(n=open_leads_count_of(OuterRef("pk"), organization=organization))
    assert counted.get().n == 3 == open_lead_counts(organization=organization, user_ids=[rep.pk])[rep.pk]


def test_weeks_start_on_monday_in_utc(organization):
    lead = LeadFactory(organization=organization)
    for day in range(1, 9):  # 2026-06-01 is a Monday
        moment = datetime(2026, 6, day, 23, 59, 59, 999999, tzinfo=UTC)
        Lead.objects.filter(pk=lead.pk).update(created_at=moment)
        assert_tallies_match(organization)
